"""Atomic files: write into a temp file beside the target, rename it into place on success.

A failed or interrupted run never leaves a half-written file, and an existing target is
untouched until the rename. Portable: ``os.replace`` is atomic on Linux, macOS and Windows
(same folder, same volume). On Windows a file that another program (an antivirus scan, a
search indexer, Excel) has open for a moment refuses the rename with a sharing violation, so
the rename is retried briefly; a target that stays open (the workbook is open in Excel) ends
in a clear error and the temp file is removed. On POSIX the folder is also synced, so the
rename itself survives a power cut.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from concord_etl.errors import ConfigError

__all__ = ["atomic_output", "replace_file"]

WINDOWS = sys.platform == "win32"
REPLACE_ATTEMPTS = 10      # Windows: about two seconds in all
REPLACE_PAUSE = 0.2


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def replace_file(source: str | os.PathLike[str], target: str | os.PathLike[str], *,
                 windows: bool = WINDOWS, attempts: int = REPLACE_ATTEMPTS,
                 pause: float = REPLACE_PAUSE) -> None:
    """``os.replace(source, target)``, retried on Windows while another program holds a handle.

    Raises ``PermissionError`` when the target stays locked (e.g. open in Excel).
    """
    for attempt in range(1, attempts + 1):
        try:
            os.replace(source, target)
            break
        except PermissionError:
            if not windows or attempt == attempts:
                raise
            time.sleep(pause)
    _sync_folder(Path(target).parent)


def _sync_folder(folder: Path) -> None:
    """fsync a folder so a rename in it is durable (POSIX; Windows has no folder handles)."""
    if WINDOWS:
        return
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temp path beside ``path``; on success fsync and rename it onto ``path``.

    On any exception (KeyboardInterrupt included) the temp file is removed and ``path`` is left
    exactly as it was. Missing parent directories are created. Only ``kill -9`` can leave a
    hidden ``.NAME.*.tmp`` file behind (never a half-written ``NAME``).
    """
    target = Path(path)
    tmp: Path | None = None
    try:
        tmp = _new_temp(target)          # named before it exists: an interrupt cannot orphan it
        yield tmp
        os.chmod(tmp, 0o666 & ~_umask())  # the temp file is made 0600; give the usual permissions
        with open(tmp, "r+b") as fh:     # Windows flushes only handles open for writing
            os.fsync(fh.fileno())
        try:
            replace_file(tmp, target)
        except PermissionError as exc:
            why = ("; is it open in another program (Excel)? Close it and run again"
                   if WINDOWS else "")
            msg = f"cannot replace {target}: {exc.strerror or exc}{why}"
            raise ConfigError(msg) from None
    except BaseException:
        if tmp is not None:
            with contextlib.suppress(OSError):
                tmp.unlink()
        raise


def _new_temp(target: Path) -> Path:
    """Create an empty, private temp file beside ``target`` and return its path.

    Unlike ``tempfile.mkstemp`` the caller already knows the name when the file appears, so an
    interrupt (Ctrl-C, SIGTERM) arriving at any instant leaves nothing behind.
    """
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        msg = f"cannot write {target}: {exc.strerror or exc}"
        raise ConfigError(msg) from exc
    while True:
        tmp = target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            continue
        except OSError as exc:
            msg = f"cannot write {target}: {exc.strerror or exc}"
            raise ConfigError(msg) from exc
        os.close(fd)
        return tmp
