"""Validate chunks of an input file against a ``Validator`` (docs/DESIGN.md).

``validate_frame`` runs the validator's pandera schema lazily (all failures at once), turns
pandera's ``failure_cases`` into one human reason per failing cell, and builds the normalised
field values of the chunk. Whole files are validated by ``validate.file.validate_file``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa

from concord_etl.errors import InputError
from concord_etl.validate.rules import Outcome, quote
from concord_etl.validate.schema import (
    DUPLICATE_COLUMN,
    LIST_TYPES,
    REQUIRED_PREFIX,
    ROW_COLUMN,
    ColumnCheck,
    Validator,
)
from concord_etl.validate.transforms import object_array, take_objects

ERROR_COLUMNS = [ROW_COLUMN, "column", "field", "value", "reason"]


@dataclass
class ValidatedChunk:
    """The result of validating one chunk.

    - ``values``: index = the chunk's index, one column per field, normalised values (NA where
      empty; every field NA on rejected rows). List cells may be shared: treat as read-only.
    - ``errors``: ``_row, column, field, value, reason``, one row per failing cell; its index
      is the chunk index of the failing row.
    - ``rejected``: chunk index labels of the rows with at least one error.
    """

    values: pd.DataFrame
    errors: pd.DataFrame
    rejected: set[Any]


def validate_frame(frame: pd.DataFrame, plan: Validator) -> ValidatedChunk:
    """Validate one chunk from ``Table.frames()`` (or any frame with the mapped columns)."""
    missing = plan.missing_columns(frame.columns)
    if missing:
        found = ", ".join(str(c) for c in frame.columns if c != ROW_COLUMN)
        message = f"missing column(s) {', '.join(missing)}; the file has: {found}"
        raise InputError(message, column=missing[0])
    prepared = plan.prepare(frame)
    with plan.collecting() as outcomes:
        try:
            plan.schema.validate(prepared, lazy=True, inplace=True)
            failures = None
        except pa.errors.SchemaErrors as exc:
            failures = exc.failure_cases
    errors = _errors(failures, prepared, frame, plan)
    rejected = set(errors.index.unique()) if len(errors) else set()
    values = _values(prepared, plan, outcomes, errors.index.unique())
    return ValidatedChunk(values=values, errors=errors, rejected=rejected)


def reasons_by_row(errors: Any) -> dict[int, list[str]]:
    """The validation errors of a chunk (``_row``, ``reason`` columns) grouped by row."""
    reasons: dict[int, list[str]] = {}
    if len(errors):
        for row_no, reason in zip(errors["_row"].tolist(), errors["reason"].tolist(), strict=True):
            reasons.setdefault(int(row_no), []).append(str(reason))
    return reasons


# -- errors --------------------------------------------------------------------------------


def _errors(
    failures: pd.DataFrame | None,
    prepared: pd.DataFrame,
    frame: pd.DataFrame,
    plan: Validator,
) -> pd.DataFrame:
    if failures is None or failures.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in ERROR_COLUMNS})
    cells = failures[failures["index"].notna() & failures["column"].notna()]
    _refuse_schema_failures(failures.drop(cells.index))
    cells = cells.drop_duplicates(subset=["index", "column"], keep="first")
    found = _Found()
    for (column, check), group in cells.groupby(["column", "check"], sort=False):
        _collect(found, group, str(column), str(check), prepared, frame, plan)
    rank = _column_order(plan)
    ranks = np.fromiter((rank.get(c, len(rank)) for c in found.labels), dtype=np.int64)
    rows = np.concatenate(found.rows)
    order = np.lexsort((ranks, rows))
    index = np.concatenate(found.index)[order]
    return pd.DataFrame(
        {
            ROW_COLUMN: rows[order],
            "column": np.asarray(found.labels, dtype=object)[order],
            "field": np.asarray(found.fields, dtype=object)[order],
            "value": object_array(found.values)[order],
            "reason": np.asarray(found.reasons, dtype=object)[order],
        },
        index=prepared.index[index] if len(index) else None,
    )


@dataclass
class _Found:
    """Failing cells gathered group by group before one DataFrame is built."""

    index: list[np.ndarray] = field(default_factory=list)     # positions in the chunk
    rows: list[np.ndarray] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    fields: list[str] = field(default_factory=list)
    values: list[Any] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)


def _refuse_schema_failures(other: pd.DataFrame) -> None:
    """Failures not tied to a cell mean the plan and the frame disagree: a bug, not bad data."""
    if len(other):
        first = other.iloc[0]
        message = f"validation could not run: {first['check']} ({first['failure_case']})"
        raise InputError(message)


def _collect(
    found: _Found,
    group: pd.DataFrame,
    column: str,
    check: str,
    prepared: pd.DataFrame,
    frame: pd.DataFrame,
    plan: Validator,
) -> None:
    positions = prepared.index.get_indexer(pd.Index(group["index"].to_numpy()))
    count = len(positions)
    failing = group["failure_case"].tolist()
    if column == DUPLICATE_COLUMN:
        label = " + ".join(plan.key_columns)
        field_name = ", ".join(plan.mapping.match.on)
        values = _cells(frame, plan.key_columns[0], positions)
        reasons = [
            f"{label}: {quote(v)} is a duplicate of row {int(first)}"
            for v, first in zip(values, failing, strict=True)
        ]
    elif column.startswith(REQUIRED_PREFIX):
        field_name = column[len(REQUIRED_PREFIX):]
        label = " / ".join(plan.required_groups[column])
        values = [None] * count
        reasons = [f"{label}: a value is required"] * count
    else:
        column_plan = plan.column(column)
        label, field_name = column, column_plan.field.attribute
        values = _cells(frame if column in frame.columns else prepared, column, positions)
        if check == "required":
            reasons = [f"{label}: a value is required"] * count
        else:
            reasons = _type_reasons(column_plan, failing)
    found.index.append(positions)
    found.rows.append(prepared[ROW_COLUMN].to_numpy(dtype=np.int64)[positions])
    found.labels.extend([label] * count)
    found.fields.extend([field_name] * count)
    found.values.extend(values)
    found.reasons.extend(reasons)


def _cells(source: pd.DataFrame, column: str, positions: np.ndarray) -> list[Any]:
    """The original cells (None where empty) at ``positions`` of ``column``."""
    taken = source[column].iloc[positions].to_numpy(dtype=object)
    return [None if _is_na(v) else v for v in taken]


def _type_reasons(column_plan: ColumnCheck, failing: list[Any]) -> list[str]:
    cache: dict[tuple[type, Any], str] = {}
    reasons: list[str] = []
    for value in failing:
        key = (type(value), value)
        if key not in cache:
            cache[key] = f"{column_plan.column}: {column_plan.rule.reason(value)}"
        reasons.append(cache[key])
    return reasons


def _column_order(plan: Validator) -> dict[str, int]:
    """Errors of a row are listed in the mapping's column order."""
    order = {c.column: i for i, c in enumerate(plan.columns)}
    order.setdefault(" + ".join(plan.key_columns), len(order))
    return order


def _is_na(value: Any) -> bool:
    return value is None or (not isinstance(value, (list, tuple, dict)) and bool(pd.isna(value)))


# -- values --------------------------------------------------------------------------------


def _values(
    prepared: pd.DataFrame,
    plan: Validator,
    outcomes: dict[str, Outcome],
    rejected: pd.Index,
) -> pd.DataFrame:
    by_field: dict[str, list[pd.Series]] = {}
    for column in plan.columns:
        outcome = outcomes.get(column.column) or column.rule.evaluate(prepared[column.column])
        values = outcome.values
        by_field.setdefault(column.field.attribute, []).append(values)
    data: dict[str, pd.Series] = {}
    for name in plan.field_names:
        parts = by_field.get(name, [])
        series = _combine(parts, prepared.index, name in plan.fields and _is_list(plan, name))
        if name in plan.defaults:
            series = _fill(series, plan.defaults[name])
        data[name] = series
    frame = pd.DataFrame(data, index=prepared.index)
    if len(rejected):
        frame.loc[rejected] = pd.NA
    return frame


def _is_list(plan: Validator, name: str) -> bool:
    spec = plan.fields.get(name)
    return spec is not None and spec.type in LIST_TYPES


def _combine(parts: list[pd.Series], index: pd.Index, is_list: bool) -> pd.Series:
    if not parts:
        return pd.Series(pd.NA, index=index, dtype=object)
    if len(parts) == 1:
        return parts[0]
    if not is_list:
        combined = parts[0]
        for part in parts[1:]:
            combined = combined.combine_first(part)
        return combined
    arrays = [p.to_numpy(dtype=object) for p in parts]
    merged = [_merge_lists(cells) for cells in zip(*arrays, strict=True)]
    return pd.Series(merged, index=index, dtype=object)


def _merge_lists(cells: Iterable[Any]) -> Any:
    out: list[Any] = []
    for cell in cells:
        if isinstance(cell, list):
            out.extend(item for item in cell if item not in out)
    return out or pd.NA


def _fill(series: pd.Series, default: Any) -> pd.Series:
    missing = series.isna().to_numpy()
    if not missing.any():
        return series
    if isinstance(default, list):
        filled = series.to_numpy(dtype=object).copy()
        filled[missing] = take_objects([default], np.zeros(int(missing.sum()), dtype=np.intp))
        return pd.Series(filled, index=series.index, dtype=object)
    return series.where(~missing, default)
