"""SIGTERM and SIGHUP stop a command the way Ctrl-C does.

cron, systemd, docker and CI stop a job with SIGTERM; a closed terminal sends SIGHUP. By default
Python dies on both at once: no results file, requests in flight never reconciled. Inside
:func:`stop_signals` both raise :class:`~concord_etl.errors.Interrupted` (a KeyboardInterrupt)
in the main thread, so every path that handles Ctrl-C — stop sending, wait for the requests in
flight, journal their outcome, write the results file, exit 3 — handles them too. A repeated
SIGTERM/SIGHUP while the command is already stopping is ignored, so the results file is
finished (a supervisor's SIGKILL still ends it). Signals a platform lacks (SIGHUP on Windows)
are skipped; SIGBREAK (Ctrl-Break on Windows) is handled where it exists; a signal the
process was told to ignore (``nohup``) stays ignored.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType
from typing import Any

from concord_etl.errors import Interrupted

__all__ = ["STOP_SIGNALS", "stop_signals"]

STOP_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGTERM", "SIGHUP", "SIGBREAK") if hasattr(signal, name)
)


@contextlib.contextmanager
def stop_signals() -> Iterator[None]:
    """Within the block, SIGTERM/SIGHUP (and SIGBREAK) raise ``Interrupted`` once."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    stopping = False

    def handler(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        if stopping:
            return                    # already stopping: let the results file be finished
        stopping = True
        raise Interrupted(signal.Signals(signum).name)

    previous: dict[int, Any] = {}
    for sig in STOP_SIGNALS:
        with contextlib.suppress(OSError, ValueError, RuntimeError):
            if signal.getsignal(sig) == signal.SIG_IGN:
                continue              # `nohup` and friends asked for it to be ignored
            previous[sig] = signal.signal(sig, handler)
    try:
        yield
    finally:
        for sig, old in previous.items():
            with contextlib.suppress(OSError, ValueError, RuntimeError, TypeError):
                signal.signal(sig, old)
