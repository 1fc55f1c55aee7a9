"""Number (whole), Id, Numeric (decimal(15,3) ≥ 0) and Decimal (may be negative) field types.

Accepted text, decided for concord-etl:

- Number: ``42``, ``-7``, ``+3``, ``12.0``; Excel numbers that are integral. The range is the
  CRM's integer column (−2,147,483,648 … 2,147,483,647). ``1,200`` is rejected with a hint to
  remove the thousands separator (a comma could be a decimal comma; we never guess).
- Id: a positive whole number (update by Concord id).
- Numeric/Decimal: ``1200.5``, ``1,200.50`` (commas only as thousands separators in groups of
  three), a currency code or symbol before or after (``USD 1,200.50``, ``€12``, ``12 EUR``), at
  most 3 decimals (``1.2500`` is fine: trailing zeros do not count), below 10¹² in size.
  A decimal comma (``1200,5``, ``1.200,50``) is rejected with a hint to use a point: Concord
  would drop the comma and store 12005. Numeric must not be negative; Decimal may be.

Common plain values are checked and converted with one RE2 match and one pyarrow cast; only the
others are parsed in Python, once per distinct value.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from concord_etl.validate.checks import CellCheck, FieldType, categories, cleaner, quote
from concord_etl.validate.transforms import arrow_strings, object_list, regex_mask

INT_MIN, INT_MAX = -(2**31), 2**31 - 1
DECIMAL_LIMIT = Decimal(10) ** 12

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


Judge = Callable[[str], tuple[Any, Problem]]

_PLAIN_WHOLE = r"[+-]?\d{1,9}"
_PLAIN_NUMBER = r"[+-]?(?:\d{1,12}|\d{1,3}(?:,\d{3}){1,3})(?:\.\d{1,3})?"


def _judged(plain: str, judge: Judge) -> Callable[[pd.Series], pd.Series]:
    """A check: plain text passes at once, any other text is judged once per distinct value."""

    def test(series: pd.Series) -> pd.Series:
        ok = regex_mask(series, plain)
        slow = ~ok
        if slow.any():
            values, codes = categories(series[slow])
            good = np.append([judge(v)[1] is None for v in values], True)
            ok[slow] = good[codes]
        return pd.Series(ok, index=series.index)

    return test


def _numbers(series: pd.Series, plain: str, judge: Judge) -> np.ndarray:
    """Accepted text → float64 (NaN where empty or not accepted)."""
    numbers = np.full(len(series), np.nan)
    present = series.notna().to_numpy()
    fast = regex_mask(series, plain)
    if fast.any():
        arrow = arrow_strings(series[fast])
        if arrow is None:
            arrow = pa.array(object_list(series[fast]), type=pa.string())
        if "," in plain:
            arrow = pc.replace_substring(arrow, ",", "")
        numbers[fast] = pc.cast(arrow, pa.float64()).to_numpy(zero_copy_only=False)
    slow = present & ~fast
    if slow.any():
        values, codes = categories(series[slow])
        parsed = [judge(v) for v in values]
        table = np.append([np.nan if p else float(v) for v, p in parsed], np.nan)
        numbers[slow] = table[codes]
    return numbers


def whole_number_type(
    name: str = "Number", *, positive: bool = False, done: Iterable[str] = ()
) -> FieldType:
    """Number custom fields (and Id, a positive whole number)."""

    def judge(text: str) -> tuple[Any, Problem]:
        number, problem = parse_whole(text)
        if problem is None and positive and number is not None and number <= 0:
            return None, "is not a record id (a positive whole number)"
        return number, problem

    def reason(value: Any) -> str:
        problem = judge(str(value))[1]
        return f"{quote(value)} {problem or 'is not a whole number'}"

    plain = r"\+?0*[1-9]\d{0,8}" if positive else _PLAIN_WHOLE

    def convert(series: pd.Series) -> pd.Series:
        numbers = _numbers(series, plain, judge)
        missing = np.isnan(numbers)
        whole = np.where(missing, 0, numbers).astype(np.int64)
        return pd.Series(pd.arrays.IntegerArray(whole, missing), index=series.index)

    check = CellCheck("record_id" if positive else "whole_number", _judged(plain, judge), reason)
    return FieldType(name, checks=(check,), parse=cleaner(done), convert=convert,
                     cell_text=_number_text)


def decimal_type(
    name: str = "Numeric", *, allow_negative: bool = False, done: Iterable[str] = ()
) -> FieldType:
    """Numeric custom fields (≥ 0) and Decimal (deal amounts, may be negative): decimal(15,3)."""

    def judge(text: str) -> tuple[Any, Problem]:
        return parse_decimal(text, allow_negative=allow_negative)

    def reason(value: Any) -> str:
        return f"{quote(value)} {judge(str(value))[1] or 'is not a number'}"

    plain = _PLAIN_NUMBER if allow_negative else _PLAIN_NUMBER.replace("[+-]?", r"\+?")

    def convert(series: pd.Series) -> pd.Series:
        numbers = _numbers(series, plain, judge)
        values = pd.arrays.FloatingArray(np.nan_to_num(numbers), np.isnan(numbers))
        return pd.Series(values, index=series.index)

    check = CellCheck("number", _judged(plain, judge), reason)
    return FieldType(name, checks=(check,), parse=cleaner(done), convert=convert,
                     cell_text=_number_text)


def _number_text(value: Any) -> str:
    """A typed Excel cell in a number column, as text (booleans stay words: not numbers)."""
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, float):
        return repr(value)
    return str(value)
