"""Validate one chunk of an input file against a ``Validator``'s pandera schema.

``validate_frame`` prepares the chunk (one text column per feed), runs the schema lazily (every
failing cell and row at once), turns pandera's failure cases into problems — one reason per
failing check, naming its column, errors and warnings apart — and converts the accepted cells
to typed values. Nothing here loops over rows: reasons are written once per distinct failing
value, values are converted per column. ``ValidatedChunk.record`` builds one row's field values
(the body sent to the CRM) on demand, when a row is about to be sent or planned.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, MutableMapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pdr
import pyarrow as pa
import pyarrow.compute as pc

from concord_etl.errors import InputError
from concord_etl.validate.schema import ROW_COLUMN, Feed, Validator
from concord_etl.validate.transforms import arrow_strings, object_array, plain

ERROR_COLUMNS = [ROW_COLUMN, "column", "field", "value", "reason"]
PROBLEM_COLUMNS = ["position", *ERROR_COLUMNS, "severity", "rank"]


@dataclass
class ValidatedChunk:
    """One validated chunk.

    - ``values``: one column per feed key (see ``Validator.feeds``), typed values of accepted
      cells (NA where empty or refused); lookup columns hold ids once ``relations`` ran.
    - ``problems``: one row per problem: ``position`` (in the chunk), ``_row``, ``column``,
      ``field``, ``value`` (the cell as read), ``reason`` (starting with the column),
      ``severity`` (``error`` rejects the row, ``warning`` does not), ``rank`` (column order).
    """

    frame: pd.DataFrame
    validator: Validator
    rows: np.ndarray
    values: pd.DataFrame
    problems: pd.DataFrame
    _arrays: dict[str, np.ndarray] | None = field(default=None, repr=False)
    _by_position: dict[str, dict[int, list[str]]] | None = field(default=None, repr=False)
    _rejected: np.ndarray | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return len(self.rows)

    # -- problems --------------------------------------------------------------------------
    def add_problems(self, problems: pd.DataFrame) -> None:
        """Add problems found later (lookups, duplicates); keeps rows' problems in order."""
        if not len(problems):
            return
        merged = pd.concat([self.problems, problems[PROBLEM_COLUMNS]], ignore_index=True)
        self.problems = _ordered(merged)
        self._by_position = None
        self._rejected = None

    def _select(self, severity: str) -> pd.DataFrame:
        chosen = self.problems[self.problems["severity"] == severity]
        out = chosen[ERROR_COLUMNS].copy()
        out.index = self.frame.index[chosen["position"].to_numpy(dtype=np.intp)]
        return out

    @property
    def errors(self) -> pd.DataFrame:
        """``_row, column, field, value, reason`` per error; index = the chunk's index labels."""
        return self._select("error")

    @property
    def warnings(self) -> pd.DataFrame:
        return self._select("warning")

    @property
    def rejected_mask(self) -> np.ndarray:
        """True for each position with at least one error."""
        if self._rejected is None:
            mask = np.zeros(len(self.rows), dtype=bool)
            errors = self.problems[self.problems["severity"] == "error"]
            mask[errors["position"].to_numpy(dtype=np.intp)] = True
            self._rejected = mask
        return self._rejected

    @property
    def rejected(self) -> set[Any]:
        """Index labels of the rejected rows."""
        return set(self.frame.index[self.rejected_mask])

    def reasons(self, position: int) -> list[str]:
        """The errors of one row, in column order."""
        return self._grouped()["error"].get(position, [])

    def warnings_of(self, position: int) -> list[str]:
        return self._grouped()["warning"].get(position, [])

    def problems_by_position(self) -> tuple[dict[int, list[str]], dict[int, list[str]]]:
        """(errors, warnings) of the rows that have any, by position (read-only lists)."""
        grouped = self._grouped()
        return grouped["error"], grouped["warning"]

    def _grouped(self) -> dict[str, dict[int, list[str]]]:
        if self._by_position is None:
            grouped: dict[str, dict[int, list[str]]] = {"error": {}, "warning": {}}
            for position, reason, severity in zip(
                self.problems["position"].tolist(), self.problems["reason"].tolist(),
                self.problems["severity"].tolist(), strict=True,
            ):
                grouped[severity].setdefault(int(position), []).append(str(reason))
            self._by_position = grouped
        return self._by_position

    # -- values ----------------------------------------------------------------------------
    def set_values(self, key: str, series: pd.Series) -> None:
        self.values[key] = series
        self._arrays = None

    def field_series(self, name: str) -> pd.Series:
        """A single-valued field per row: its first non-empty feed, else its default (NA)."""
        feeds = self.validator.feeds_of(name)
        series: pd.Series | None = None
        for feed in feeds:
            part = self.values[feed.key]
            series = part if series is None else series.combine_first(part)
        if series is None:
            series = pd.Series(pd.NA, index=self.values.index, dtype=object)
        default = self.validator.defaults.get(name)
        if default is not None and not isinstance(default, list):
            series = series.astype(object).where(series.notna(), default)
        return series

    def record(self, position: int) -> dict[str, Any]:
        """One row's field values in the form sent to the CRM (empty fields left out)."""
        arrays = self._object_arrays()
        out: dict[str, Any] = {}
        feeds_of, defaults = self.validator.feeds_of, self.validator.defaults
        for name in self.validator.field_names:
            value = _combine(feeds_of(name), arrays, position)
            if value is None and name in defaults:
                value = defaults[name]
            if value is not None:
                out[name] = value
        return out

    def defaulted(self, position: int) -> frozenset[str]:
        """The fields of one row whose value comes from ``defaults:``."""
        arrays = self._object_arrays()
        feeds_of = self.validator.feeds_of
        names = [
            name for name in self.validator.defaults
            if _combine(feeds_of(name), arrays, position) is None
        ]
        return frozenset(names)

    def _object_arrays(self) -> dict[str, np.ndarray]:
        if self._arrays is None:
            self._arrays = {
                key: self.values[key].to_numpy(dtype=object) for key in self.values.columns
            }
        return self._arrays


class RowRecord(MutableMapping[str, Any]):
    """One row's field values, built from its chunk only when first read (or written).

    An import keeps one per row: most rows of a big file are never read value by value (a
    create's body is built when it is sent), so most of them never cost a dict.
    """

    __slots__ = ("_chunk", "_data", "_position")

    def __init__(self, chunk: ValidatedChunk, position: int) -> None:
        self._chunk: ValidatedChunk | None = chunk
        self._position = position
        self._data: dict[str, Any] | None = None

    def _values(self) -> dict[str, Any]:
        if self._data is None:
            assert self._chunk is not None
            self._data = self._chunk.record(self._position)
        return self._data

    @property
    def defaulted(self) -> frozenset[str]:
        """The fields whose value comes from ``defaults:``."""
        if self._chunk is None:
            return frozenset()
        return self._chunk.defaulted(self._position)

    def __getitem__(self, key: str) -> Any:
        return self._values()[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self._values()[key] = value

    def __delitem__(self, key: str) -> None:
        del self._values()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values())

    def __len__(self) -> int:
        return len(self._values())

    def __repr__(self) -> str:
        return f"RowRecord({self._values()!r})"


def _combine(feeds: tuple[Feed, ...], arrays: dict[str, np.ndarray], position: int) -> Any:
    """The value of one field for one row from its feeds: lists merge, else the first value."""
    merged: list[Any] | None = None
    for feed in feeds:
        value = arrays[feed.key][position]
        if value is None or value is pd.NA or (isinstance(value, float) and value != value):
            continue
        if feed.kind.to_wire is not None:
            value = feed.kind.to_wire(value)
            if value is None:
                continue
        if not feed.kind.many:
            return plain(value)
        for item in value if isinstance(value, list) else [value]:
            merged = merged if merged is not None else []
            item = plain(item)
            if item not in merged:
                merged.append(item)
    return merged or None


# -- validating ----------------------------------------------------------------------------------


def validate_frame(frame: pd.DataFrame, validator: Validator) -> ValidatedChunk:
    """Validate one chunk from ``Table.frames()`` (or any frame with the mapped columns)."""
    missing = validator.missing_columns(frame.columns)
    if missing:
        found = ", ".join(str(c) for c in frame.columns if c != ROW_COLUMN)
        message = f"missing column(s) {', '.join(missing)}; the file has: {found}"
        raise InputError(message, column=missing[0])
    prepared = validator.prepare(frame)
    try:
        parsed = validator.schema.validate(prepared, lazy=True, inplace=True)
        failures = None
    except pdr.errors.SchemaErrors as exc:
        failures = exc.failure_cases
        parsed = exc.data if isinstance(exc.data, pd.DataFrame) else prepared
    rows = prepared[ROW_COLUMN].to_numpy(dtype=np.int64)
    problems = _problems(failures, validator, prepared, frame, rows)
    values = _values(parsed, validator, problems)
    return ValidatedChunk(frame=frame, validator=validator, rows=rows, values=values,
                          problems=problems)


def problem_frame(
    positions: Iterable[int] | np.ndarray,
    rows: np.ndarray,
    *,
    column: str,
    field_name: str,
    values: Iterable[Any],
    reasons: Iterable[str],
    severity: str = "error",
    rank: int = 0,
) -> pd.DataFrame:
    """Problems in the ``ValidatedChunk.problems`` layout (for lookups and duplicates)."""
    where = np.asarray(list(positions) if not isinstance(positions, np.ndarray) else positions,
                       dtype=np.intp)
    count = len(where)
    return pd.DataFrame({
        "position": where,
        ROW_COLUMN: rows[where] if count else np.zeros(0, dtype=np.int64),
        "column": [column] * count,
        "field": [field_name] * count,
        "value": object_array(list(values)),
        "reason": list(reasons),
        "severity": [severity] * count,
        "rank": np.full(count, rank, dtype=np.int64),
    })


def _empty_problems() -> pd.DataFrame:
    return problem_frame([], np.zeros(0, dtype=np.int64), column="", field_name="", values=[],
                         reasons=[])


def _ordered(problems: pd.DataFrame) -> pd.DataFrame:
    order = np.lexsort((problems["rank"].to_numpy(), problems[ROW_COLUMN].to_numpy()))
    return problems.iloc[order].reset_index(drop=True)


def _problems(
    failures: pd.DataFrame | None,
    validator: Validator,
    prepared: pd.DataFrame,
    frame: pd.DataFrame,
    rows: np.ndarray,
) -> pd.DataFrame:
    if failures is None or failures.empty:
        return _empty_problems()
    located = failures[failures["index"].notna()]
    _refuse_schema_failures(failures.drop(located.index), validator)
    parts: list[pd.DataFrame] = []
    columns = located[located["schema_context"] == "Column"]
    columns = columns.sort_values("check_number", kind="stable")
    columns = columns.drop_duplicates(subset=["index", "column"], keep="first")
    rank = {feed.key: i for i, feed in enumerate(validator.feeds)}
    for (key, check_name), group in columns.groupby(["column", "check"], sort=False):
        feed = validator.feed(str(key))
        check = feed.kind.check(str(check_name))
        positions = prepared.index.get_indexer(pd.Index(group["index"].to_numpy()))
        cache: dict[Any, str] = {}
        reasons = []
        for value in group["failure_case"].tolist():
            if value not in cache:
                cache[value] = f"{feed.column}: {check.reason(value)}"
            reasons.append(cache[value])
        source = frame[feed.column] if feed.column in frame.columns else prepared[feed.key]
        cells = source.iloc[positions].to_numpy(dtype=object)
        parts.append(problem_frame(
            positions, rows, column=feed.column, field_name=feed.field.attribute,
            values=[None if _is_na(v) else v for v in cells], reasons=reasons,
            severity=check.severity, rank=rank[feed.key],
        ))
    tables = located[located["schema_context"] != "Column"]
    for check_name, group in tables.groupby("check", sort=False):
        frame_check = validator.frame_checks.get(str(check_name))
        if frame_check is None:
            _refuse_schema_failures(group, validator)
            continue
        labels = pd.Index(group["index"].drop_duplicates().to_numpy())
        positions = prepared.index.get_indexer(labels)
        reasons = [frame_check.reason(int(rows[p])) for p in positions]
        parts.append(problem_frame(
            positions, rows, column=frame_check.label, field_name=frame_check.field,
            values=[None] * len(positions), reasons=reasons, severity=frame_check.severity,
            rank=len(rank),
        ))
    if not parts:
        return _empty_problems()
    return _ordered(pd.concat(parts, ignore_index=True))


def _refuse_schema_failures(other: pd.DataFrame, validator: Validator) -> None:
    """Failures not tied to a cell mean the plan and the frame disagree: a bug, not bad data."""
    unknown = other[~other["check"].isin(list(validator.frame_checks))]
    if len(unknown):
        first = unknown.iloc[0]
        message = f"validation could not run: {first['check']} ({first['failure_case']})"
        raise InputError(message)


def _is_na(value: Any) -> bool:
    return value is None or (not isinstance(value, (list, tuple, dict)) and bool(pd.isna(value)))


def _values(parsed: pd.DataFrame, validator: Validator, problems: pd.DataFrame) -> pd.DataFrame:
    """Typed values per feed; cells that failed an error check of their column become NA."""
    refused: dict[str, np.ndarray] = {}
    errors = problems[problems["severity"] == "error"]
    for label, group in errors.groupby("column", sort=False):
        refused[str(label)] = group["position"].to_numpy(dtype=np.intp)
    data: dict[str, pd.Series] = {}
    for feed in validator.feeds:
        series = feed.kind.convert(parsed[feed.key])
        bad = refused.get(feed.column)
        if bad is not None and len(bad):      # a refused key is not looked up, for one
            series = _blanked(series, bad)
        data[feed.key] = series
    return pd.DataFrame(data, index=parsed.index)


def _blanked(series: pd.Series, positions: np.ndarray) -> pd.Series:
    """``series`` with NA at ``positions``, without a pass over every cell in Python."""
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        codes = series.cat.codes.to_numpy().copy()
        codes[positions] = -1
        return pd.Series(pd.Categorical.from_codes(codes, dtype=dtype), index=series.index)
    arrow = arrow_strings(series)
    if arrow is not None:
        mask = np.zeros(len(series), dtype=bool)
        mask[positions] = True
        blanked = pc.if_else(pa.array(mask), pa.scalar(None, arrow.type), arrow)
        return pd.Series(pd.arrays.ArrowStringArray(blanked), index=series.index, dtype=dtype)
    values = series.array.copy()
    values[positions] = None if dtype is np.dtype(object) else pd.NA
    return pd.Series(values, index=series.index)
