"""Date and DateTime field types: parsed once per distinct value, never by pandera's coercion.

pandera's datetime coercion falls back to one ``pd.to_datetime`` per row as soon as one value
is bad (minutes per million rows), so date columns stay text in the schema: the parser makes
them categorical and the check parses each distinct text once with
``pd.to_datetime(format=..., errors="coerce")``.

- With the column's ``format`` (strptime codes) text must match it exactly; nothing is guessed.
  Excel date cells are written in that format first, so they always pass.
- Without a format, what Concord's date rule reads is accepted: ISO 8601 (``2024-05-01``,
  ``2024-05-01 14:30[:00]``, ``2024-05-01T14:30:00+02:00``, ``…Z``), ``2024/05/01``,
  ``05/01/2024`` (month first, as Concord reads slashes), ``01-05-2024`` and ``01.05.2024``
  (day first), ``1 May 2024``, ``May 1, 2024``; each with an optional ``HH:MM[:SS]`` time.
  A slashed date whose day could be a month (``03/04/2024``) gets a warning: Concord reads it
  as 4 March. Relative words (``tomorrow``) are refused: their meaning depends on the day of
  the import.
- A Date with a time of day keeps its date, with a warning. Naive times are UTC.
- Values: Date → ``"YYYY-MM-DD"``; DateTime → ``"YYYY-MM-DDTHH:MM:SSZ"`` in UTC.
- DateOrDateTime (an activity's due/end date) takes either: a text without a time of day
  stays a date (``"YYYY-MM-DD"``, an all-day activity), one with a time becomes a DateTime
  value (a timed activity). An Excel cell at midnight counts as a date; with a ``format``,
  a time directive in it (``%H``...) makes every value timed.
"""

from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from concord_etl.validate.checks import (
    CellCheck,
    FieldType,
    as_category,
    convert_per_value,
    per_value,
    quote,
)
from concord_etl.validate.transforms import cell_text

DATE_OUT = "%Y-%m-%d"
DATETIME_OUT = "%Y-%m-%dT%H:%M:%SZ"
_TIME = r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"
# (shape, strptime formats tried in order) for dates without a column format
_FORMS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (r"\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?(?:Z|[+-]\d{2}:?\d{2})?",
     ("ISO8601",)),
    (r"\d{4}/\d{1,2}/\d{1,2}" + _TIME, ("%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y/%m/%d")),
    (r"\d{1,2}/\d{1,2}/\d{4}" + _TIME, ("%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M", "%m/%d/%Y")),
    (r"\d{1,2}[-.]\d{1,2}[-.]\d{4}" + _TIME,
     ("%d-%m-%Y %H:%M:%S", "%d-%m-%Y %H:%M", "%d-%m-%Y", "%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M",
      "%d.%m.%Y")),
    (r"\d{1,2}[ -][A-Za-z]{3,9}\.?[ -,]*\d{4}" + _TIME,
     ("%d %B %Y", "%d %b %Y", "%d-%b-%Y", "%d-%B-%Y", "%d %B %Y %H:%M", "%d %b %Y %H:%M")),
    (r"[A-Za-z]{3,9}\.? \d{1,2},? \d{4}" + _TIME,
     ("%B %d, %Y", "%b %d, %Y", "%B %d %Y", "%b %d %Y", "%B %d, %Y %H:%M", "%b %d, %Y %H:%M")),
)
_AMBIGUOUS = re.compile(r"(\d{1,2})/(\d{1,2})/\d{4}")
# DateOrDateTime: a text with a time of day is a timed value; a format with a time directive
TIME_DIRECTIVES = re.compile(r"%[HIMSpfXcTRr]")
HAS_TIME = re.compile(r"\d:\d{2}")


def parse_dates(values: list[str], fmt: str | None, *, utc: bool) -> pd.Series:
    """Distinct date texts → timestamps (NaT where not a date the column accepts).

    The checks and the conversion of one column ask for the same distinct values in turn:
    the last few answers are kept (``_parsed``) so that each is parsed once."""
    return _parsed(tuple(values), fmt, utc).copy()


@lru_cache(maxsize=8)
def _parsed(values: tuple[str, ...], fmt: str | None, utc: bool) -> pd.Series:
    return _parse_dates(list(values), fmt, utc=utc)


def _parse_dates(values: list[str], fmt: str | None, *, utc: bool) -> pd.Series:
    text = pd.Series(values, dtype=object).str.strip()
    text = text.str.replace(r"(\d)(?:st|nd|rd|th)\b", r"\1", regex=True)
    if not utc:   # a Date keeps the calendar date as written, whatever its offset
        text = text.str.replace(r"(?<=\d)(?:Z|[+-]\d{2}:?\d{2})$", "", regex=True)
    if fmt is not None:
        return pd.to_datetime(text, format=fmt, errors="coerce", utc=utc)
    out = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns, UTC]" if utc else
                    "datetime64[ns]")
    for shape, formats in _FORMS:
        todo = out.isna() & text.str.fullmatch(shape).fillna(False).astype(bool)
        for form in formats:
            if not todo.any():
                break
            parsed = pd.to_datetime(text[todo], format=form, errors="coerce", utc=True)
            if not utc:
                parsed = parsed.dt.tz_localize(None)
            good = parsed.notna()
            out.loc[good[good].index] = parsed[good]
            todo &= ~good.reindex(todo.index, fill_value=False)
    return out


def date_type(name: str = "Date", fmt: str | None = None) -> FieldType:
    """Date (``name="Date"``), DateTime (``"DateTime"``) or DateOrDateTime (an activity's
    due/end date: a date stays an all-day date, a date and time is a timed UTC value), with an
    optional format."""
    either = name == "DateOrDateTime"
    with_time = name == "DateTime"

    def parsed(values: list[str]) -> pd.Series:
        return parse_dates(values, fmt, utc=with_time)

    def is_date(values: list[str]) -> list[bool]:
        if either:
            return [isinstance(v, str) for v in _convert_either(values, fmt)]
        return parsed(values).notna().tolist()

    def reason(value: Any) -> str:
        what = ("a date or a date and time" if either
                else "a date and time" if with_time else "a date")
        if fmt is not None:
            return f"{quote(value)} is not {what} in format {fmt}"
        example = ("2024-05-01 or 2024-05-01 14:30" if either
                   else "2024-05-01 14:30" if with_time else "2024-05-01")
        return f"{quote(value)} is not {what} (for example {example}, or set `format:`)"

    def convert_values(values: list[str]) -> list[object]:
        if either:
            return _convert_either(values, fmt)
        stamps = parsed(values)
        text = stamps.dt.strftime(DATETIME_OUT if with_time else DATE_OUT)
        return [t if isinstance(t, str) else pd.NA for t in text.tolist()]

    checks = [CellCheck("date", per_value(is_date), reason)]
    if fmt is None:
        checks.append(CellCheck(
            "ambiguous_date", per_value(_unambiguous),
            lambda v: f"{quote(v)} is read month first ({_us_reading(str(v))}), as Concord reads "
                      "it; add `format:` to the column to be sure",
            severity="warning",
        ))
    if name == "Date":
        def midnight(values: list[str]) -> list[bool]:
            stamps = pd.to_datetime(parse_dates(values, fmt, utc=False), errors="coerce")
            return (stamps.isna() | (stamps == stamps.dt.normalize())).tolist()

        checks.append(CellCheck(
            "time_of_day", per_value(midnight),
            lambda v: f"{quote(v)} has a time of day; a Date field keeps only the date",
            severity="warning",
        ))

    def text_of(value: Any) -> str:
        return _date_cell_text(value, fmt, with_time)

    return FieldType(
        name, checks=tuple(checks), parse=as_category,
        convert=convert_per_value(convert_values, "str"), cell_text=text_of,
    )


def _timed(values: list[str], fmt: str | None) -> list[bool]:
    """DateOrDateTime: which texts carry a time of day (with a format: whether it has one)."""
    if fmt is not None:
        return [TIME_DIRECTIVES.search(fmt) is not None] * len(values)
    return [HAS_TIME.search(v) is not None for v in values]


def _convert_either(values: list[str], fmt: str | None) -> list[object]:
    timed = _timed(values, fmt)
    dates = [v for v, t in zip(values, timed, strict=True) if not t]
    times = [v for v, t in zip(values, timed, strict=True) if t]
    as_dates = iter(parse_dates(dates, fmt, utc=False).dt.strftime(DATE_OUT).tolist())
    as_times = iter(parse_dates(times, fmt, utc=True).dt.strftime(DATETIME_OUT).tolist())
    out: list[object] = []
    for t in timed:
        text = next(as_times) if t else next(as_dates)
        out.append(text if isinstance(text, str) else pd.NA)
    return out


def _unambiguous(values: list[str]) -> list[bool]:
    out = []
    for value in values:
        match = _AMBIGUOUS.match(value.strip())
        out.append(match is None or int(match[2]) > 12 or match[1] == match[2])
    return out


def _us_reading(text: str) -> str:
    match = _AMBIGUOUS.match(text.strip())
    if match is None:
        return text
    months = ("January", "February", "March", "April", "May", "June", "July", "August",
              "September", "October", "November", "December")
    month = int(match[1])
    return f"{int(match[2])} {months[month - 1]}" if 1 <= month <= 12 else text


def _date_cell_text(value: Any, fmt: str | None, with_time: bool) -> str:
    """An Excel date cell in the text form the column reads (its format, else ISO)."""
    if isinstance(value, (dt.datetime, np.datetime64, pd.Timestamp)):
        stamp = pd.Timestamp(value)
    elif isinstance(value, dt.date):
        stamp = pd.Timestamp(value.year, value.month, value.day)
    else:
        return cell_text(value)
    if fmt is not None:
        return stamp.strftime(fmt)
    if with_time or (stamp.hour, stamp.minute, stamp.second) != (0, 0, 0):
        return stamp.strftime("%Y-%m-%d %H:%M:%S")
    return stamp.strftime(DATE_OUT)


def is_valid_format(fmt: str) -> bool:
    """A strptime format must contain at least one directive (guards against typos)."""
    return re.search(r"%[a-zA-Z]", fmt) is not None
