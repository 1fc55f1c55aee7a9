"""Number (whole), Numeric (decimal(15,3) ≥ 0) and Decimal (may be negative) checks.

Accepted text, decided for concord-etl:

- Number: ``42``, ``-7``, ``+3``, ``12.0``; Excel numbers that are integral. The range is the
  CRM's integer column (−2,147,483,648 … 2,147,483,647). ``1,200`` is rejected with a hint to
  remove the thousands separator (a comma could be a decimal comma; we never guess).
- Numeric/Decimal: ``1200.5``, ``1,200.50`` (commas only as thousands separators in groups of
  three), a currency code or symbol before or after (``USD 1,200.50``, ``€12``, ``12 EUR``), at
  most 3 decimals (``1.2500`` is fine: trailing zeros do not count), below 10¹² in size.
  A decimal comma (``1200,5``, ``1.200,50``) is rejected with a hint to use a point.
  Numeric must not be negative; Decimal may be.

Common plain values go through one vectorised ``pd.to_numeric``; only the others are parsed
one distinct value at a time.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from concord_etl.validate.rules import Outcome, quote, via_uniques
from concord_etl.validate.transforms import arrow_strings, is_text_dtype, object_list, regex_mask

INT_MIN, INT_MAX = -(2**31), 2**31 - 1
DECIMAL_LIMIT = Decimal(10) ** 12

_PLAIN_INT = r"[+-]?\d{1,9}"
_PLAIN_DECIMAL = r"[+-]?(?:\d{1,12}|\d{1,3}(?:,\d{3}){1,3})(?:\.\d{1,3})?"
_INT_TEXT = re.compile(r"[+-]?\d+(?:\.0*)?")
_THOUSANDS_INT = re.compile(r"[+-]?\d{1,3}(?:,\d{3})+")
_CURRENCY = r"(?:[A-Za-z]{3}|[$€£¥])"
_MONEY = re.compile(
    rf"(?P<sign1>[+-]?)\s*(?:{_CURRENCY}\s*)?(?P<sign2>[+-]?)"
    r"(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d*)?|\d+(?:\.\d*)?|\.\d+)"
    rf"(?:\s*{_CURRENCY})?"
)
_DECIMAL_COMMA = re.compile(r"[+-]?[\d.]*\d,\d+")

Problem = str | None  # None = fine, else a reason without the quoted value


def parse_whole(text: str) -> tuple[int | None, Problem]:
    """``"42"`` → (42, None); ``"1,200"`` → (None, "is not a whole number (...)")."""
    cleaned = text.strip()
    if _INT_TEXT.fullmatch(cleaned):
        number = int(cleaned.split(".")[0])
        if INT_MIN <= number <= INT_MAX:
            return number, None
        return None, "is out of range for a whole number"
    if _THOUSANDS_INT.fullmatch(cleaned):
        return None, "is not a whole number (remove the thousands separator)"
    return None, "is not a whole number"


def parse_decimal(text: str, *, allow_negative: bool) -> tuple[float | None, Problem]:
    """Decimal text (see module docstring) → (float, None) or (None, problem)."""
    cleaned = text.strip()
    match = _MONEY.fullmatch(cleaned)
    if match is None or (match["sign1"] and match["sign2"]):
        if _DECIMAL_COMMA.fullmatch(cleaned):
            return None, "is not a number (use a point as the decimal separator)"
        return None, "is not a number"
    sign = "-" if "-" in (match["sign1"] + match["sign2"]) else ""
    try:
        number = Decimal(sign + match["num"].replace(",", ""))
    except InvalidOperation:
        return None, "is not a number"
    return _decimal_problem(number, allow_negative)


def _decimal_problem(number: Decimal, allow_negative: bool) -> tuple[float | None, Problem]:
    if number < 0 and not allow_negative:
        return None, "must not be negative"
    if abs(number) >= DECIMAL_LIMIT:
        return None, "is too large (at most 999999999999.999)"
    exponent = number.normalize().as_tuple().exponent
    if isinstance(exponent, int) and exponent < -3:
        return None, "has more than 3 decimals"
    return float(number), None


def _number_cell(value: object, *, whole: bool, allow_negative: bool) -> tuple[object, Problem]:
    """A typed Excel cell in a number column."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.number)):
        what = "is not a whole number" if whole else "is not a number"
        return None, what
    number = float(value)
    if not math.isfinite(number):
        return None, "is not a number"
    if whole:
        if not number.is_integer():
            return None, "is not a whole number"
        if not INT_MIN <= number <= INT_MAX:
            return None, "is out of range for a whole number"
        return int(value), None
    return _decimal_problem(Decimal(repr(number)), allow_negative)


@dataclass(frozen=True)
class NumberRule:
    """Whole numbers (Number custom fields, Id)."""

    type: str = "Number"
    positive: bool = False  # ids: > 0

    def evaluate(self, series: pd.Series) -> Outcome:
        ok, numbers = _evaluate(series, _PLAIN_INT, self._judge, self._cell)
        if self.positive:
            ok &= ~(numbers <= 0)
        missing = np.isnan(numbers)
        whole = np.where(missing, 0, numbers).astype(np.int64)
        values = pd.arrays.IntegerArray(whole, missing)
        return Outcome(ok, pd.Series(values, index=series.index))

    def _judge(self, text: str) -> tuple[object, Problem]:
        number, problem = parse_whole(text)
        if problem is None and self.positive and number is not None and number <= 0:
            return None, "is not a record id (a positive whole number)"
        return number, problem

    def _cell(self, value: object) -> tuple[object, Problem]:
        return _number_cell(value, whole=True, allow_negative=True)

    def reason(self, value: object) -> str:
        if isinstance(value, str):
            problem = self._judge(value)[1]
        else:
            problem = self._cell(value)[1]
        if problem is None and self.positive:
            problem = "is not a record id (a positive whole number)"
        return f"{quote(value)} {problem or 'is not a whole number'}"


@dataclass(frozen=True)
class DecimalRule:
    """Numeric (≥ 0) and Decimal (any sign): decimal(15,3)."""

    type: str = "Numeric"
    allow_negative: bool = False

    def evaluate(self, series: pd.Series) -> Outcome:
        plain = _PLAIN_DECIMAL if self.allow_negative else _PLAIN_DECIMAL.replace("[+-]?", r"\+?")
        ok, numbers = _evaluate(series, plain, self._judge, self._cell)
        values = pd.arrays.FloatingArray(np.nan_to_num(numbers), np.isnan(numbers))
        return Outcome(ok, pd.Series(values, index=series.index))

    def _judge(self, text: str) -> tuple[object, Problem]:
        return parse_decimal(text, allow_negative=self.allow_negative)

    def _cell(self, value: object) -> tuple[object, Problem]:
        return _number_cell(value, whole=False, allow_negative=self.allow_negative)

    def reason(self, value: object) -> str:
        problem = self._judge(value)[1] if isinstance(value, str) else self._cell(value)[1]
        return f"{quote(value)} {problem or 'is not a number'}"


Judge = Callable[[str], tuple[object, Problem]]
CellJudge = Callable[[object], tuple[object, Problem]]


def _evaluate(
    series: pd.Series, plain: str, judge: Judge, cell: CellJudge
) -> tuple[np.ndarray, np.ndarray]:
    """(ok, numbers as float64 with NaN where empty or bad).

    Plain text is parsed in one pyarrow cast; other text once per distinct value; typed Excel
    cells one by one.
    """
    n = len(series)
    ok = np.ones(n, dtype=bool)
    numbers = np.full(n, np.nan)
    if is_text_dtype(series):
        text, typed = series, np.zeros(n, dtype=bool)
    else:
        raw = series.to_numpy(dtype=object)
        is_text = np.fromiter((isinstance(v, str) for v in raw), dtype=bool, count=n)
        typed = series.notna().to_numpy() & ~is_text
        text = pd.Series(np.where(is_text, raw, None), index=series.index).astype("str")  # type: ignore[call-overload]
    fast = regex_mask(text, plain)
    if fast.any():
        part = text[fast]
        arrow = arrow_strings(part)
        if arrow is None:
            arrow = pa.array(object_list(part), type=pa.string())
        if "," in plain:
            arrow = pc.replace_substring(arrow, ",", "")
        numbers[fast] = pc.cast(arrow, pa.float64()).to_numpy(zero_copy_only=False)
    slow = text.notna().to_numpy() & ~fast
    if slow.any():
        def per_unique(uniques: list[str]) -> tuple[list[bool], list[object]]:
            judged = [judge(u) for u in uniques]
            return [p is None for _, p in judged], [np.nan if p else v for v, p in judged]

        slow_ok, slow_values = via_uniques(text[slow], per_unique)
        ok[slow] = slow_ok
        numbers[slow] = slow_values.to_numpy(dtype=float)
    for i in np.flatnonzero(typed):
        number, problem = cell(series.iat[int(i)])
        ok[i] = problem is None
        numbers[i] = np.nan if problem else float(number)  # type: ignore[arg-type]
    return ok, numbers
