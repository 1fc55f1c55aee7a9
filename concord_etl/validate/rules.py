"""Per-field-type vectorised checks: one ``Rule`` per mapped column.

A rule looks at a *prepared* column (transforms applied, blanks turned into NA) and returns an
``Outcome``: a boolean ``ok`` array (NA cells count as ok, "required" is checked separately)
and the normalised ``values`` of the cells (NA where empty or invalid). ``reason(value)`` explains
a failing cell, without the column prefix. Low-cardinality types (options, booleans, numbers,
dates, time zones) are judged once per distinct value and the answers spread back with the
factorize codes; free text is judged with whole-column ``.str`` operations.

Rules for numbers and dates live in ``number_checks`` and ``date_checks``.
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Protocol

import numpy as np
import pandas as pd

from concord_etl.validate.transforms import (
    as_text,
    cell_text,
    is_text_dtype,
    no_gc,
    object_array,
    object_list,
    regex_mask,
    split_items,
    take_objects,
)

TEXT_LIMIT = 191


@dataclass(frozen=True)
class Outcome:
    """What a rule found in one column: ``ok`` per cell and the normalised ``values``."""

    ok: np.ndarray
    values: pd.Series


class Rule(Protocol):
    @property
    def type(self) -> str: ...

    def evaluate(self, series: pd.Series) -> Outcome: ...

    def reason(self, value: object) -> str: ...


UniqueFn = Callable[[list[str]], tuple[list[bool], list[object]]]
CellFn = Callable[[object], tuple[bool, object]]


def quote(value: object, limit: int = 60) -> str:
    """A cell value as it appears inside a reason: ``"text"``, shortened when long."""
    text = cell_text(value)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return f'"{text}"'


def listing(items: Iterable[str]) -> str:
    return ", ".join(items)


def via_uniques(
    series: pd.Series, fn: UniqueFn, dtype: str = "object"
) -> tuple[np.ndarray, pd.Series]:
    """Judge each distinct text once; (ok, values) per cell, NA cells ok with NA values."""
    codes, uniques = pd.factorize(series)
    ok_u, values_u = fn([str(u) for u in object_list(uniques)])
    ok = np.append(np.asarray(ok_u, dtype=bool), True)[codes]
    return ok, spread(values_u, codes, dtype, series.index)


def spread(values: list[object], codes: np.ndarray, dtype: str, index: pd.Index) -> pd.Series:
    """``values[code]`` per cell as a Series of ``dtype``; code -1 gives NA."""
    if dtype == "object":
        return pd.Series(take_objects(values, codes), index=index, dtype=object)
    small = pd.array(values, dtype=dtype)  # type: ignore[call-overload]
    return pd.Series(small.take(codes, allow_fill=True), index=index)


def by_cell_kind(
    series: pd.Series, text_fn: UniqueFn, cell_fn: CellFn, dtype: str = "object"
) -> tuple[np.ndarray, pd.Series]:
    """Text cells through ``text_fn`` (per distinct value), typed Excel cells through ``cell_fn``."""
    if is_text_dtype(series):
        return via_uniques(series, text_fn, dtype)
    n = len(series)
    ok = np.ones(n, dtype=bool)
    values = take_objects([], np.full(n, -1, dtype=np.intp))
    raw = series.to_numpy(dtype=object)
    present = series.notna().to_numpy()
    is_text = np.fromiter((isinstance(v, str) for v in raw), dtype=bool, count=n)
    if is_text.any():
        text_ok, text_values = via_uniques(pd.Series(raw[is_text], dtype="str"), text_fn)
        ok[is_text], values[is_text] = text_ok, text_values.to_numpy(dtype=object)
    for i in np.flatnonzero(present & ~is_text):
        ok[i], values[i] = cell_fn(raw[i])
    return ok, typed_series(values, series.index, dtype)


def typed_series(values: np.ndarray, index: pd.Index, dtype: str) -> pd.Series:
    """Normalised values as a Series of ``dtype`` (object arrays with NA converted)."""
    if dtype == "object":
        return pd.Series(values, index=index, dtype=object)
    return pd.Series(pd.array(values, dtype=dtype), index=index)  # type: ignore[call-overload]


def _text_as_cell(fn: UniqueFn) -> CellFn:
    def cell(value: object) -> tuple[bool, object]:
        ok, values = fn([cell_text(value)])
        return ok[0], values[0]

    return cell


# -- free text: Text, Textarea, Email, Url, ColorSwatch -----------------------------------------

EMAIL_PATTERN = r"[^@\s]+@[^@\s.]+(?:\.[^@\s.]+)+"
URL_PATTERN = r"(?i:https?)://(?:[^\s/?#@]+@)?[^\s/?#@:.]+(?:\.[^\s/?#@:.]+)*(?::\d{1,5})?(?:[/?#]\S*)?"
COLOR_PATTERN = r"#[0-9A-Fa-f]{6}"

_PATTERN_WHAT = {
    "Email": "is not a valid e-mail address",
    "Url": "is not a valid URL (http:// or https:// followed by a host)",
    "ColorSwatch": "is not a colour like #1a2b3c",
}


@dataclass(frozen=True)
class TextRule:
    """Text/Textarea/Email/Url/ColorSwatch: optional pattern and length limit."""

    type: str
    max_length: int | None = TEXT_LIMIT
    pattern: str | None = None
    lower: bool = False

    def evaluate(self, series: pd.Series) -> Outcome:
        text = as_text(series)
        absent = text.isna().to_numpy()
        ok = np.ones(len(text), dtype=bool)
        if self.pattern is not None:
            ok &= regex_mask(text, self.pattern) | absent
        if self.max_length is not None:
            ok &= (text.str.len() <= self.max_length).to_numpy(dtype=bool) | absent
        values = text.str.lower() if self.lower else text
        return Outcome(ok, values)

    def reason(self, value: object) -> str:
        text = cell_text(value)
        if self.pattern is not None and not re.fullmatch(self.pattern, text):
            return f"{quote(text)} {_PATTERN_WHAT.get(self.type, 'has the wrong format')}"
        return f"{quote(text, 30)} is too long ({len(text)} characters, at most {self.max_length})"


# -- phones ---------------------------------------------------------------------------------------

PHONE_PATTERN = r"[0-9+\-(). /]+"
PHONE_DIGITS = r"(?:[^0-9]*[0-9]){5}"


@dataclass(frozen=True)
class PhoneRule:
    """Phone numbers: ≥ 5 digits, only digits and ``+ - ( ) . /`` and spaces, ≤ 191."""

    type: str = "Phone"
    phone_type: str = "mobile"
    split: str | None = None

    def evaluate(self, series: pd.Series) -> Outcome:
        text = as_text(series)
        if self.split:
            return self._evaluate_split(text)
        absent = text.isna().to_numpy()
        ok = self._good(text) | absent
        kind = self.phone_type
        values = take_objects([], np.full(len(text), -1, dtype=np.intp))
        present = ~absent
        with no_gc():
            lists = [[{"number": v, "type": kind}] for v in object_list(text[present])]
        values[present] = object_array(lists)
        return Outcome(ok, pd.Series(values, index=text.index, dtype=object))

    def _evaluate_split(self, text: pd.Series) -> Outcome:
        def judge(uniques: list[str]) -> tuple[list[bool], list[object]]:
            oks: list[bool] = []
            vals: list[object] = []
            for cell in uniques:
                items = [p.strip() for p in cell.split(self.split) if p.strip()]
                oks.append(all(_phone_ok(p) for p in items))
                vals.append([{"number": p, "type": self.phone_type} for p in items] or pd.NA)
            return oks, vals

        ok, values = via_uniques(text, judge)
        return Outcome(ok, values)

    @staticmethod
    def _good(text: pd.Series) -> np.ndarray:
        shape = regex_mask(text, PHONE_PATTERN)
        digits = regex_mask(text, PHONE_DIGITS, full=False)
        short = (text.str.len() <= TEXT_LIMIT).to_numpy(dtype=bool)
        return shape & digits & short

    def reason(self, value: object) -> str:
        text = cell_text(value)
        items = [p.strip() for p in text.split(self.split)] if self.split else [text]
        bad = [p for p in items if p and not _phone_ok(p)] or [text]
        return (
            f"{quote(bad[0])} is not a phone number "
            "(at least 5 digits; only digits, spaces and + - ( ) . /)"
        )


def _phone_ok(text: str) -> bool:
    return (
        re.fullmatch(PHONE_PATTERN, text) is not None
        and sum(c.isdigit() for c in text) >= 5
        and len(text) <= TEXT_LIMIT
    )


# -- options, enum choices, time zones -----------------------------------------------------------


@dataclass(frozen=True)
class ChoiceRule:
    """A label from a known list (case-insensitive, trimmed) → its value (id or label).

    ``multi`` cells are split on ``split`` and every item must be known. ``open_ended``
    (``create_options: true``, or no options known offline) accepts unknown labels as given.
    """

    type: str
    choices: tuple[tuple[str, object], ...]           # (label, value) in display order
    multi: bool = False
    split: str = ","
    open_ended: bool = False
    describe: str | None = None                       # replaces the list of labels in reasons
    dtype: str = "object"
    table: dict[str, object] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        table: dict[str, object] = {}
        for label, value in self.choices:
            table.setdefault(label.strip().casefold(), value)
        object.__setattr__(self, "table", table)

    def evaluate(self, series: pd.Series) -> Outcome:
        fn = self._judge_multi if self.multi else self._judge_single
        ok, values = by_cell_kind(series, fn, _text_as_cell(fn), self.dtype)
        return Outcome(ok, values)

    def _lookup(self, label: str) -> tuple[bool, object]:
        key = label.strip().casefold()
        if key in self.table:
            return True, self.table[key]
        if self.open_ended:
            return True, label.strip()
        return False, pd.NA

    def _judge_single(self, uniques: list[str]) -> tuple[list[bool], list[object]]:
        pairs = [self._lookup(u) for u in uniques]
        return [p[0] for p in pairs], [p[1] for p in pairs]

    def _judge_multi(self, uniques: list[str]) -> tuple[list[bool], list[object]]:
        oks: list[bool] = []
        vals: list[object] = []
        for cell in uniques:
            pairs = [self._lookup(item) for item in _split(cell, self.split)]
            good = all(p[0] for p in pairs)
            oks.append(good)
            vals.append((_dedupe(p[1] for p in pairs) or pd.NA) if good else pd.NA)
        return oks, vals

    def unknown(self, value: object) -> list[str]:
        items = _split(cell_text(value), self.split) if self.multi else [cell_text(value).strip()]
        return [item for item in items if not self._lookup(item)[0]]

    def reason(self, value: object) -> str:
        bad = self.unknown(value) or [cell_text(value)]
        allowed = self.describe or "one of " + listing(label for label, _ in self.choices)
        if len(bad) == 1:
            return f"{quote(bad[0])} is not {allowed}"
        return f"{listing(quote(b) for b in bad)} are not {allowed}"


def _split(cell: str, sep: str) -> list[str]:
    return [part.strip() for part in cell.split(sep) if part.strip()]


def _dedupe(values: Iterable[object]) -> list[object]:
    seen: dict[Any, None] = {}
    for value in values:
        seen.setdefault(value, None)
    return list(seen)


@lru_cache(maxsize=1)
def timezone_choices() -> tuple[tuple[str, object], ...]:
    names = sorted(zoneinfo.available_timezones())
    return tuple((name, name) for name in names)


def timezone_rule() -> ChoiceRule:
    return ChoiceRule(
        type="Timezone",
        choices=timezone_choices(),
        describe="an IANA time zone such as Europe/London",
        dtype="str",
    )


# -- yes/no ------------------------------------------------------------------------------------

DEFAULT_TRUE = ("true", "1", "yes")
DEFAULT_FALSE = ("false", "0", "no")


@dataclass(frozen=True)
class BooleanRule:
    type: str = "Boolean"
    true_values: tuple[str, ...] = DEFAULT_TRUE
    false_values: tuple[str, ...] = DEFAULT_FALSE

    def evaluate(self, series: pd.Series) -> Outcome:
        table = {v.strip().casefold(): True for v in self.true_values}
        for v in self.false_values:
            table.setdefault(v.strip().casefold(), False)

        def judge(uniques: list[str]) -> tuple[list[bool], list[object]]:
            found = [table.get(u.strip().casefold()) for u in uniques]
            return [f is not None for f in found], [pd.NA if f is None else f for f in found]

        def cell(value: object) -> tuple[bool, object]:
            if isinstance(value, (bool, np.bool_)):
                return True, bool(value)
            oks, vals = judge([cell_text(value)])
            return oks[0], vals[0]

        ok, values = by_cell_kind(series, judge, cell, "boolean")
        return Outcome(ok, values)

    def reason(self, value: object) -> str:
        return (
            f"{quote(value)} is not a yes/no value "
            f"(true: {listing(self.true_values)}; false: {listing(self.false_values)})"
        )


# -- keys to resolve later: BelongsTo, Association, Tags ----------------------------------------


@dataclass(frozen=True)
class KeyRule:
    """Names/emails/ids resolved by lookups later; only "required" applies here."""

    type: str
    split: str | None = None

    def evaluate(self, series: pd.Series) -> Outcome:
        ok = np.ones(len(series), dtype=bool)
        if self.type == "BelongsTo":
            return Outcome(ok, as_text(series).str.strip())
        if self.split:
            return Outcome(ok, split_items(series, self.split))
        text = as_text(series).str.strip()
        return Outcome(ok, via_uniques(text, lambda u: ([True] * len(u), [[x] for x in u]))[1])

    def reason(self, value: object) -> str:  # pragma: no cover - never fails
        return f"{quote(value)} is not valid"


def seq(values: Sequence[object] | None) -> tuple[str, ...] | None:
    return None if values is None else tuple(str(v) for v in values)
