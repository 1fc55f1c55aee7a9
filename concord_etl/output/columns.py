"""What an output column holds: ``ColumnDef`` (header, cell kind, width, number format).

Everything written for people to open (exports, reports, results files) is described column by
column, so cells are typed (numbers stay numbers, dates are real dates) and widths are sensible.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Kind = Literal["text", "integer", "number", "date", "datetime", "bool"]
KINDS: tuple[str, ...] = ("text", "integer", "number", "date", "datetime", "bool")

__all__ = ["KINDS", "ColumnDef", "Kind", "is_missing"]


@dataclass(frozen=True)
class ColumnDef:
    """One output column: header text, cell kind, optional width and Excel number format.

    ``wrap`` wraps long text (used for the ``_errors`` column of results files).
    """

    name: str
    kind: Kind = "text"
    width: float | None = None
    num_format: str | None = None
    wrap: bool = False

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            msg = f"column {self.name!r}: kind {self.kind!r} is not one of {', '.join(KINDS)}"
            raise ValueError(msg)


def is_missing(value: Any) -> bool:
    """pandas NA/NaT and float NaN, without importing pandas."""
    name = type(value).__name__
    if name in ("NAType", "NaTType"):
        return True
    try:
        return bool(value != value)
    except (TypeError, ValueError):
        return False
