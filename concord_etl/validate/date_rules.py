"""Date and DateTime checks: one vectorised parse per column, never pandera's coercion.

pandera's datetime coercion falls back to one ``pd.to_datetime`` per row as soon as one
value is bad (docs/performance-baselines.md §5: 7 min per 1M rows), so date columns stay text in the
schema and are parsed here with ``pd.to_datetime(format=..., errors="coerce")`` once per
distinct value.

- With the column's ``format`` (strptime codes) text must match it exactly; nothing is guessed.
- Without a format: Date takes ``YYYY-MM-DD`` (a midnight time such as ``2024-05-01 00:00:00``
  is allowed, so CRM exports re-import); DateTime takes ISO 8601 ``YYYY-MM-DD[ T]HH:MM[:SS]``
  with an optional ``Z``/``±HH:MM`` offset, or a bare date (midnight).
- Excel date cells (``datetime``/``date``) pass through. Naive times are UTC.
- Values: Date → ``"YYYY-MM-DD"``; DateTime → ``"YYYY-MM-DDTHH:MM:SSZ"`` in UTC.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from concord_etl.validate.rules import Outcome, by_cell_kind, quote

ISO_DATE = r"\d{4}-\d{2}-\d{2}(?:[ T]00:00(?::00(?:\.0+)?)?Z?)?"
ISO_DATETIME = r"\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?(?:Z|[+-]\d{2}:?\d{2})?"
DATE_OUT = "%Y-%m-%d"
DATETIME_OUT = "%Y-%m-%dT%H:%M:%SZ"


@dataclass(frozen=True)
class DateRule:
    """Date (``with_time=False``) or DateTime (``with_time=True``) with an optional format."""

    type: str = "Date"
    format: str | None = None

    @property
    def with_time(self) -> bool:
        return self.type == "DateTime"

    def evaluate(self, series: pd.Series) -> Outcome:
        ok, values = by_cell_kind(series, self._judge_texts, self._judge_cell, "str")
        return Outcome(ok, values)

    def _judge_texts(self, uniques: list[str]) -> tuple[list[bool], list[object]]:
        text = pd.Series(uniques, dtype="str").str.strip()
        if self.format is None:
            shape = ISO_DATETIME if self.with_time else ISO_DATE
            text = text.where(text.str.fullmatch(shape).fillna(False))
            fmt = "ISO8601"
        else:
            fmt = self.format
        parsed = pd.to_datetime(text, format=fmt, errors="coerce", utc=self.with_time)
        if not self.with_time and isinstance(parsed.dtype, pd.DatetimeTZDtype):
            parsed = parsed.dt.tz_localize(None)
        out = parsed.dt.strftime(DATETIME_OUT if self.with_time else DATE_OUT)
        good = parsed.notna().to_numpy(dtype=bool)
        values: list[object] = [v if g else pd.NA for v, g in zip(out.tolist(), good, strict=True)]
        return good.tolist(), values

    def _judge_cell(self, value: object) -> tuple[bool, object]:
        if isinstance(value, (dt.datetime, np.datetime64)):
            stamp = pd.Timestamp(value)
        elif isinstance(value, dt.date):
            stamp = pd.Timestamp(value.year, value.month, value.day)
        else:
            return False, pd.NA
        if not self.with_time:
            return True, stamp.strftime(DATE_OUT)
        stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
        return True, stamp.strftime(DATETIME_OUT)

    def expected(self) -> str:
        if self.format is not None:
            return self.format
        if self.with_time:
            return "YYYY-MM-DD HH:MM[:SS][+HH:MM]"
        return "YYYY-MM-DD"

    def reason(self, value: object) -> str:
        what = "a date and time" if self.with_time else "a date"
        return f"{quote(value)} is not {what} in format {self.expected()}"


def is_valid_format(fmt: str) -> bool:
    """A strptime format must contain at least one directive (guards against typos)."""
    return re.search(r"%[a-zA-Z]", fmt) is not None
