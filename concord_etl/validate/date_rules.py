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
- DateOrDateTime (an activity's due/end date) takes either: a date stays a date (an all-day
  activity), a date and time becomes a DateTime value (a timed one); an Excel cell at midnight
  counts as a date, a ``format`` without a time directive reads dates.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from concord_etl.validate.rules import Outcome, by_cell_kind, quote

ISO_DATE = r"\d{4}-\d{2}-\d{2}(?:[ T]00:00(?::00(?:\.0+)?)?Z?)?"
DATE_ONLY = r"\d{4}-\d{2}-\d{2}"
TIME_DIRECTIVES = re.compile(r"%[HIMSpfXcT]")
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
        return self.type != "Date"

    @property
    def either(self) -> bool:
        """A date or a date and time (each kept as given)."""
        return self.type == "DateOrDateTime"

    def evaluate(self, series: pd.Series) -> Outcome:
        ok, values = by_cell_kind(series, self._judge_texts, self._judge_cell, "str")
        return Outcome(ok, values)

    def _judge_texts(self, uniques: list[str]) -> tuple[list[bool], list[object]]:
        if not self.either:
            return self._judge_kind(uniques)
        if self.format is not None:
            kind = "DateTime" if TIME_DIRECTIVES.search(self.format) else "Date"
            return DateRule(kind, self.format)._judge_kind(uniques)
        dates = pd.Series(uniques, dtype="str").str.strip().str.fullmatch(DATE_ONLY).fillna(False)
        flags = dates.tolist()
        ok_d, values_d = DateRule("Date")._judge_kind([u for u, d in zip(uniques, flags, strict=True) if d])
        ok_t, values_t = DateRule("DateTime")._judge_kind(
            [u for u, d in zip(uniques, flags, strict=True) if not d])
        ok: list[bool] = []
        values: list[object] = []
        taken_d = iter(zip(ok_d, values_d, strict=True))
        taken_t = iter(zip(ok_t, values_t, strict=True))
        for is_date in flags:
            good, value = next(taken_d) if is_date else next(taken_t)
            ok.append(good)
            values.append(value)
        return ok, values

    def _judge_kind(self, uniques: list[str]) -> tuple[list[bool], list[object]]:
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
        if self.either and stamp == stamp.normalize():
            return True, stamp.strftime(DATE_OUT)
        if not self.with_time:
            return True, stamp.strftime(DATE_OUT)
        stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
        return True, stamp.strftime(DATETIME_OUT)

    def expected(self) -> str:
        if self.format is not None:
            return self.format
        if self.either:
            return "YYYY-MM-DD or YYYY-MM-DD HH:MM[:SS][+HH:MM]"
        if self.with_time:
            return "YYYY-MM-DD HH:MM[:SS][+HH:MM]"
        return "YYYY-MM-DD"

    def reason(self, value: object) -> str:
        what = "a date or a date and time" if self.either else (
            "a date and time" if self.with_time else "a date")
        return f"{quote(value)} is not {what} in format {self.expected()}"


def is_valid_format(fmt: str) -> bool:
    """A strptime format must contain at least one directive (guards against typos)."""
    return re.search(r"%[a-zA-Z]", fmt) is not None
