"""Atomic files: write into a temp file beside the target, rename it into place on success.

A failed or interrupted run never leaves a half-written file, and an existing target is
untouched until the rename.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from concord_etl.errors import ConfigError

__all__ = ["atomic_output"]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temp path beside ``path``; on success fsync and rename it onto ``path``.

    On any exception (KeyboardInterrupt included) the temp file is removed and ``path`` is left
    exactly as it was. Missing parent directories are created. Only ``kill -9`` can leave a
    hidden ``.NAME.*.tmp`` file behind (never a half-written ``NAME``).
    """
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(
            prefix=f".{target.name}.", suffix=".tmp", dir=target.parent
        )
    except OSError as exc:
        msg = f"cannot write {target}: {exc.strerror or exc}"
        raise ConfigError(msg) from exc
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual permissions
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
