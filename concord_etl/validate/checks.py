"""The pieces a field type's pandera column is made of: named cell checks and the field type.

A ``FieldType`` says how the cells of one CRM field type are read:

- ``parse``: the pandera parser of the column — prepared text in, normalised text out (trimmed,
  lower-cased e-mails, ...). Low-cardinality types parse into a *categorical* column so that
  their checks and conversion look at each distinct value once.
- ``checks``: named, vectorised ``CellCheck``s run by pandera on the parsed column (empty cells
  are not checked: ``required`` is its own check). Each check's ``name`` is the pandera check
  name, and its ``reason`` turns a failing cell into the sentence the user reads. A check of
  severity ``warning`` flags a value Concord accepts but that looks wrong.
- ``convert``: the parsed column → the typed values the CRM gets (ids, numbers, ISO dates...).
- ``to_wire``: one typed value → the request body value, used per row only when a body is built.
- ``cell_text``: how a typed Excel cell (number, date, boolean) reads as text for this type.

Nothing here coerces through pandera's dtypes: dates never go through pandera's per-element
datetime coercion, which costs minutes per million rows as soon as one value is bad.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
import pandera.pandas as pa

from concord_etl.validate.transforms import cell_text, object_list, take_objects

Severity = Literal["error", "warning"]
Test = Callable[[pd.Series], pd.Series]
Reason = Callable[[Any], str]
Convert = Callable[[pd.Series], pd.Series]

TEXT_LIMIT = 191
ROW_COLUMN = "_row"


def quote(value: object, limit: int = 60) -> str:
    """A cell value as it appears inside a reason: ``"text"``, shortened when long."""
    text = cell_text(value)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return f'"{text}"'


def listing(items: Sequence[str] | Any) -> str:
    return ", ".join(items)


@dataclass(frozen=True)
class CellCheck:
    """One named check of a field type: ``test`` is True for the cells that pass."""

    name: str
    test: Test
    reason: Reason
    severity: Severity = "error"

    def as_pandera(self) -> pa.Check:
        return pa.Check(self.test, name=self.name, ignore_na=True)


@dataclass(frozen=True)
class FrameCheck:
    """A check over whole rows: a pandera dataframe check and how its failures read."""

    name: str
    test: Callable[[pd.DataFrame], pd.Series]
    label: str                               # the column(s) the check is about
    field: str
    reason: Callable[[int], str]             # row number → reason, starting with the column(s)
    severity: Severity = "error"

    def as_pandera(self) -> pa.Check:
        return pa.Check(self.test, name=self.name, ignore_na=False)


def _same(series: pd.Series) -> pd.Series:
    return series


@dataclass(frozen=True)
class FieldType:
    """How cells of one CRM field type are read (see the module docstring)."""

    name: str
    checks: tuple[CellCheck, ...] = ()
    parse: Convert | None = None
    convert: Convert = _same
    to_wire: Callable[[Any], Any] | None = None
    cell_text: Callable[[Any], str] = cell_text
    many: bool = False                       # values are lists (several columns merge)

    def column(self, key: str, *, required: bool) -> pa.Column:
        """The pandera column for one mapped input column of this type."""
        checks = [check.as_pandera() for check in self.checks]
        if required:
            checks.insert(0, REQUIRED.as_pandera_required())
        parsers = [pa.Parser(self.parse)] if self.parse is not None else None
        return pa.Column(nullable=True, checks=checks, parsers=parsers, name=key)

    def check(self, name: str) -> CellCheck:
        if name == REQUIRED.name:
            return REQUIRED
        for check in self.checks:
            if check.name == name:
                return check
        raise KeyError(name)


class _Required(CellCheck):
    def as_pandera_required(self) -> pa.Check:
        return pa.Check(self.test, name=self.name, ignore_na=False)


def _present(series: pd.Series) -> pd.Series:
    return series.notna()


REQUIRED = _Required("required", _present, lambda _value: "a value is required")


# -- vectorised helpers ------------------------------------------------------------------------


def as_category(series: pd.Series) -> pd.Series:
    """A text column as a categorical column of its trimmed text: each distinct value is stored
    (and trimmed) once, and values equal once trimmed share a category."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        return series
    codes, uniques = pd.factorize(series)
    trimmed = pd.Index([str(u).strip() for u in object_list(uniques)], dtype=object)
    merged, categories_ = pd.factorize(trimmed)
    codes = np.where(codes >= 0, np.append(merged, -1)[codes], -1)
    categorical = pd.Categorical.from_codes(codes, categories=pd.Index(categories_, dtype=object))
    return pd.Series(categorical, index=series.index)


def cleaner(done: Iterable[str] = (), *, lower: bool = False) -> Convert | None:
    """The parser that trims (and lower-cases) cells, leaving out what the column's own
    ``transform:`` already did; None when nothing is left to do."""
    strip = "strip" not in done
    lower = lower and "lower" not in done
    if strip and lower:
        return _strip_lower
    if strip:
        return _strip
    if lower:
        return _lower
    return None


def _strip(series: pd.Series) -> pd.Series:
    return series.str.strip()


def _lower(series: pd.Series) -> pd.Series:
    return series.str.lower()


def _strip_lower(series: pd.Series) -> pd.Series:
    return series.str.strip().str.lower()


def categories(series: pd.Series) -> tuple[list[str], np.ndarray]:
    """(distinct values as str, code per cell; -1 for NA) of a categorical or text column."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        values = [str(v) for v in object_list(series.cat.categories)]
        return values, series.cat.codes.to_numpy()
    codes, uniques = pd.factorize(series)
    return [str(v) for v in object_list(uniques)], codes


def per_value(judge: Callable[[list[str]], Sequence[bool]]) -> Test:
    """A check that judges each distinct value once and spreads the answers to the cells."""

    def test(series: pd.Series) -> pd.Series:
        values, codes = categories(series)
        ok = np.append(np.asarray(judge(values), dtype=bool), True)
        return pd.Series(ok[codes], index=series.index)

    return test


def convert_per_value(fn: Callable[[list[str]], list[object]], dtype: str = "object") -> Convert:
    """A conversion computed once per distinct value (NA cells stay NA)."""

    def convert(series: pd.Series) -> pd.Series:
        values, codes = categories(series)
        converted = fn(values)
        if dtype == "object":
            return pd.Series(take_objects(converted, codes), index=series.index, dtype=object)
        small = pd.array([*converted, None], dtype=dtype)  # type: ignore[call-overload]
        return pd.Series(small.take(codes), index=series.index)

    return convert


def text_length(series: pd.Series) -> pd.Series:
    return series.str.len()
