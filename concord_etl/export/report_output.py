"""Where a report's workbook goes: its ``output`` template, filled with the run's date.

* ``{date:FORMAT}`` is the only placeholder (strftime codes, the run's local date). A format
  whose text contains a path separator (``%Y/%m``, ``%D``, a locale's ``%x``) is refused: a date
  must not create folders, nor climb out of one.
* A relative ``output`` is resolved against the folder of the report file — not against the
  directory cron happens to start in — and may not leave that folder with ``..``. An absolute
  path is the author's explicit choice and is allowed.
"""

from __future__ import annotations

import os
import string
from datetime import datetime
from pathlib import Path, PurePath

__all__ = ["OutputError", "fill_output", "resolve_output"]

_SEPARATORS = tuple({"/", "\\", os.sep, *((os.altsep,) if os.altsep else ())})


class OutputError(ValueError):
    """The ``output`` template cannot name a file (the message says why)."""


def fill_output(template: str, now: datetime) -> str:
    """``template`` with each ``{date:FORMAT}`` filled in; ``OutputError`` when a placeholder
    is unknown or a date would contain a path separator."""
    parts: list[str] = []
    try:
        fields = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise OutputError(f"bad placeholder ({exc})") from None
    for literal, name, spec, conversion in fields:
        parts.append(literal)
        if name is None:
            continue
        if name != "date" or conversion:
            shown = "{" + name + (f"!{conversion}" if conversion else "") + "}"
            raise OutputError(f"bad placeholder {shown}")
        try:
            value = format(now, spec or "%Y-%m-%d")
        except ValueError as exc:
            raise OutputError(f"bad date format {spec!r} ({exc})") from None
        if any(sep in value for sep in _SEPARATORS):
            raise OutputError(
                f"the date format {spec!r} gives {value!r}, which contains a path separator; "
                "use - or _ between date parts, e.g. {date:%Y-%m-%d}")
        parts.append(value)
    return "".join(parts)


def resolve_output(report_file: Path, template: str, now: datetime) -> Path:
    """The workbook's path for a run at ``now`` (see the module doc)."""
    filled = fill_output(template, now)
    path = Path(filled)
    if path.is_absolute() or PurePath(filled).drive:
        return path
    normal = os.path.normpath(filled)
    if normal == ".." or normal.startswith(".." + os.sep) or normal.startswith("../"):
        raise OutputError(
            f"{filled!r} climbs out of the report's folder ({report_file.parent}) with '..'; "
            "write an absolute path if the workbook must go elsewhere")
    return report_file.parent / normal
