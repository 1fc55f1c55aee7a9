"""Output paths that must not overwrite what a run reads, nor each other.

``--results leads.csv`` (the input itself), ``--journal leads.yaml`` (the mapping), a report
written over its own definition: each would destroy a file the user needs, and a later rerun
would read the tool's own output (an SQLite journal) as its input. Same file means the same
path after resolving ``..`` and symbolic links, or — when both exist — the same file on disk
(hard links, case-insensitive file systems).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from concord_etl.errors import ConfigError

__all__ = ["check_distinct", "check_writable", "same_file"]


def same_file(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    """True when ``a`` and ``b`` name the same file (existing or not)."""
    first, second = Path(a), Path(b)
    try:
        if first.exists() and second.exists():
            return os.path.samefile(first, second)
    except OSError:
        pass
    return _normal(first) == _normal(second)


def _normal(path: Path) -> str:
    try:
        resolved = path.resolve()
    except (OSError, RuntimeError):
        resolved = Path(os.path.abspath(path))
    return os.path.normcase(str(resolved))


def check_distinct(
    outputs: Mapping[str, str | os.PathLike[str] | None],
    inputs: Mapping[str, str | os.PathLike[str] | None],
) -> None:
    """Raise ``ConfigError`` when an output is one of the inputs, or two outputs coincide.

    Keys are what the user knows the file as (``"--results"``, ``"the mapping"``); ``None``
    values are ignored.
    """
    given_outputs = [(name, Path(path)) for name, path in outputs.items() if path is not None]
    given_inputs = [(name, Path(path)) for name, path in inputs.items() if path is not None]
    for out_name, out_path in given_outputs:
        for in_name, in_path in given_inputs:
            if same_file(out_path, in_path):
                message = (f"{out_name} {out_path} is {in_name}: writing it would destroy "
                           f"{in_name}")
                raise ConfigError(message,
                                  hint=f"choose another file for {out_name}; nothing was sent")
    for i, (name, path) in enumerate(given_outputs):
        for other_name, other in given_outputs[i + 1:]:
            if same_file(path, other):
                message = f"{name} and {other_name} are the same file ({path})"
                raise ConfigError(message, hint="give each its own file; nothing was sent")


def check_writable(output: str | os.PathLike[str]) -> None:
    """Fail early (before any request) when ``output`` cannot be written: a folder, a parent
    that cannot be created or written to, a read-only file."""
    path = Path(output)
    if path.is_dir():
        raise ConfigError(f"cannot write {path}: it is a folder")
    parent = path.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror or exc}") from None
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ConfigError(f"cannot write {path}: no permission to write in {parent}")
    if path.exists() and not os.access(path, os.W_OK):
        raise ConfigError(f"cannot write {path}: the file is read-only")
