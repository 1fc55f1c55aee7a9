"""Validation of every record of a multi-record mapping, chunk by chunk.

Each record of a ``records:`` mapping (and a deal's line items) is validated with its own
``Validator`` (the same pandera schema as a one-resource mapping: every problem of a cell at
once, warnings apart) over the same chunk. A record is *present* on a row when one of its own
value columns is filled (relation columns such as owner, stage or companies do not count): a
row without a deal simply has no deal, and a note with an empty body is skipped, not rejected.

Repeated match keys are not settled here: the same company named on several rows is one company,
folded by the importer (``load.record_fold``), whose rows may complete each other. For the same
reason a record with a match key gets its required values checked across the rows that name it
(``missing_required``): the rows of one deal may give its stage once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from collections.abc import Mapping as MappingOf
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from concord_etl.crm.fields import FieldSpec, ResourceFields
from concord_etl.mapping.model import (
    DISCOUNT_TYPES,
    Mapping,
    MatchSpec,
    RecordsMapping,
    RecordSpec,
)
from concord_etl.read import Table, open_table, require_columns
from concord_etl.read.inputs import check_problems
from concord_etl.validate.chunk import ValidatedChunk, validate_frame
from concord_etl.validate.declared_fields import check_required_fed
from concord_etl.validate.duplicates import KEY_SEPARATOR
from concord_etl.validate.lookups import match_key
from concord_etl.validate.schema import Validator, build_validator
from concord_etl.validate.transforms import blank_to_na, is_empty

RELATION_TYPES = ("BelongsTo", "Association", "Id")
LINES_RESOURCE = "deal-products"


def line_fields() -> ResourceFields:
    """The fields of one line item of a deal's billable."""
    specs = [
        FieldSpec(attribute="product_id", label="Product", type="BelongsTo", related="products"),
        FieldSpec(attribute="name", label="Name", type="Text", max_length=191),
        FieldSpec(attribute="description", label="Description", type="Textarea"),
        FieldSpec(attribute="unit_price", label="Unit Price", type="Decimal"),
        FieldSpec(attribute="qty", label="Quantity", type="Numeric"),
        FieldSpec(attribute="unit", label="Unit", type="Text", max_length=191),
        FieldSpec(attribute="tax_rate", label="Tax Rate", type="Numeric"),
        FieldSpec(attribute="tax_label", label="Tax Label", type="Text", max_length=191),
        FieldSpec(attribute="discount_type", label="Discount Type", type="Enum",
                  choices=DISCOUNT_TYPES),
        FieldSpec(attribute="discount_total", label="Discount", type="Numeric"),
        FieldSpec(attribute="note", label="Note", type="Textarea"),
    ]
    return ResourceFields(resource=LINES_RESOURCE, fields={s.attribute: s for s in specs},
                          online=True)


@dataclass(frozen=True)
class LineCheck:
    """A deal's line items: their pseudo-mapping, fields and validator."""

    mapping: Mapping
    fields: ResourceFields
    validator: Validator
    presence: tuple[str, ...]


@dataclass(frozen=True)
class RecordCheck:
    """One record of the mapping, ready to validate chunks."""

    spec: RecordSpec
    fields: ResourceFields
    validator: Validator
    presence: tuple[str, ...]           # columns that make the record present on a row
    lines: LineCheck | None = None
    required: tuple[tuple[str, str], ...] = ()   # (field, columns) checked per record key

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def mapping(self) -> Mapping:
        return self.spec.mapping

    def label(self, reason: str, *, lines: bool = False) -> str:
        """A reason as the results file shows it: ``contact: Email: ...``."""
        prefix = f"{self.name} products" if lines else self.name
        if not prefix:
            return f"products: {reason}" if lines else reason
        return f"{prefix}: {reason}"


def build_checks(mapping: RecordsMapping, fields_for: Callable[[Mapping], ResourceFields]
                 ) -> tuple[RecordCheck, ...]:
    """The checks of every record, in the mapping's dependency order."""
    checks = []
    for spec in mapping.records:
        fields = fields_for(spec.mapping)
        owner = ("user_id",) if spec.resource == "activities" else ()   # the engine sets you
        check_required_fed(spec.mapping, fields, provided=(*spec.link, *owner),
                           record=spec.name or None)
        unkeyed = replace(spec.mapping, match=MatchSpec())     # repeats fold, never reject
        validator = build_validator(unkeyed, fields)
        required: tuple[tuple[str, str], ...] = ()
        if _keyed(spec.mapping):
            required = _required_fields(validator)
            relaxed = replace(unkeyed, columns=tuple(
                replace(c, required=False) for c in unkeyed.columns))
            validator = build_validator(relaxed, fields)
        lines = _line_check(spec.mapping) if spec.mapping.products is not None else None
        checks.append(RecordCheck(spec=spec, fields=fields, validator=validator,
                                  presence=_presence(validator), lines=lines, required=required))
    return tuple(checks)


def _keyed(mapping: Mapping) -> bool:
    return bool(mapping.match.on) and "id" not in mapping.match.on


def _required_fields(validator: Validator) -> tuple[tuple[str, str], ...]:
    out = [(feed.field.attribute, feed.column) for feed in validator.feeds if feed.required]
    out += [(check.field, check.label) for check in validator.frame_checks.values()
            if check.name.startswith("required(")]
    return tuple(out)


def record_key(match_on: tuple[str, ...], values: MappingOf[str, Any]) -> str | None:
    """A record's match key on a row (None when a part is empty), in the form the file's
    duplicates and the existing records are compared in (``lookups.match_key``)."""
    parts = [values.get(name) for name in match_on]
    if not parts or any(is_empty(p) or isinstance(p, (list, tuple)) for p in parts):
        return None
    return KEY_SEPARATOR.join(match_key(p) for p in parts)


def fold_key(match_on: tuple[str, ...], values: MappingOf[str, Any]) -> str | None:
    """The key rows of one record fold by: the match key, unless it is the record's id."""
    return record_key(match_on, values) if match_on and "id" not in match_on else None


def missing_required(check: RecordCheck, items: Iterable[tuple[int, MappingOf[str, Any]]],
                     written: Callable[[str], bool] = lambda _key: False,
                     filled_elsewhere: Callable[[int], set[str]] = lambda _row: set(),
                     rejected: Iterable[tuple[int, MappingOf[str, Any]]] = (),
                     ) -> dict[int, list[str]]:
    """Required values absent from a row *and* from every other row naming the same record
    (by match key) — ``written`` keys are records that exist already (updates need nothing);
    ``filled_elsewhere(row)``: fields of a row whose value is on its way (a record
    ``create_missing`` will create). ``rejected`` rows (rejected for other reasons) get their
    missing values listed too, but give none to the other rows of their record."""
    if not check.required:
        return {}
    items = list(items)
    refused = list(rejected)

    def have_of(row: int, values: MappingOf[str, Any]) -> set[str]:
        extra = filled_elsewhere(row)
        return {f for f, _ in check.required if not is_empty(values.get(f)) or f in extra}

    filled: dict[str, set[str]] = {}
    for row, values in items:
        key = fold_key(check.mapping.match.on, values)
        if key is not None:
            filled.setdefault(key, set()).update(have_of(row, values))
    out: dict[int, list[str]] = {}
    for row, values in [*items, *refused]:
        key = fold_key(check.mapping.match.on, values)
        if key is not None and written(key):
            continue
        have = have_of(row, values) | (filled.get(key, set()) if key is not None else set())
        missing = [f"{columns}: a value is required" for f, columns in check.required
                   if f not in have]
        if missing:
            out[row] = missing
    return out


def _line_check(mapping: Mapping) -> LineCheck:
    products = mapping.products
    assert products is not None
    pseudo = Mapping(resource=LINES_RESOURCE, columns=products.columns,
                     defaults=products.defaults, source=mapping.source, path=mapping.path)
    fields = line_fields()
    validator = build_validator(pseudo, fields)
    presence = tuple(dict.fromkeys(feed.column for feed in validator.feeds))
    return LineCheck(mapping=pseudo, fields=fields, validator=validator, presence=presence)


def _presence(validator: Validator) -> tuple[str, ...]:
    own = tuple(dict.fromkeys(feed.column for feed in validator.feeds
                              if feed.field.type not in RELATION_TYPES))
    return own or tuple(dict.fromkeys(feed.column for feed in validator.feeds))


def required_columns(mapping: RecordsMapping) -> list[str]:
    """Columns every row needs in the file (a column whose field has a default may be absent)."""
    needed: dict[str, None] = {}
    for spec in mapping.records:
        for column in spec.mapping.columns:
            if column.field not in spec.mapping.defaults:
                needed.setdefault(column.column, None)
        products = spec.mapping.products
        for column in products.columns if products else ():
            if column.field not in products.defaults:  # type: ignore[union-attr]
                needed.setdefault(column.column, None)
    return list(needed)


def open_records_input(path: Path, mapping: RecordsMapping, *, sheet: str | int | None = None,
                       chunk_rows: int = 50_000) -> Table:
    """Open the input with the mapping's reader hints; every needed column must be there."""
    hints = mapping.source
    table = open_table(
        path, sheet=sheet if sheet is not None else hints.sheet, header_row=hints.header_row,
        encoding=hints.encoding, delimiter=hints.delimiter, chunk_rows=chunk_rows,
    )
    require_columns(table, required_columns(mapping))
    check_problems(table, set(mapping.columns))      # unreadable cells (#N/A) in used columns
    return table


@dataclass
class CheckedRecord:
    """One record over one chunk, by position in the chunk: the validated chunk (values,
    every problem of every cell; lookup problems join it once resolved) and presence, and the
    same for the record's line items."""

    chunk: ValidatedChunk
    present: np.ndarray
    lines: ValidatedChunk | None = None
    line_present: np.ndarray | None = None

    def values(self, position: int) -> dict[str, Any]:
        """The record's field values on one row, as sent (ids once lookups ran)."""
        return dict(self.chunk.record(position))

    def errors(self, position: int) -> list[str]:
        return list(self.chunk.reasons(position))

    def warnings(self, position: int) -> list[str]:
        return list(self.chunk.warnings_of(position))

    def defaulted(self, position: int) -> frozenset[str]:
        return self.chunk.defaulted(position)

    def has_line(self, position: int) -> bool:
        return self.line_present is not None and bool(self.line_present[position])


def check_records(frame: pd.DataFrame, checks: tuple[RecordCheck, ...]) -> dict[str, CheckedRecord]:
    """Validate every record of ``checks`` over one chunk of the input."""
    out: dict[str, CheckedRecord] = {}
    for check in checks:
        checked = CheckedRecord(chunk=validate_frame(frame, check.validator),
                                present=_present(frame, check.presence))
        if check.lines is not None:
            checked.lines = validate_frame(frame, check.lines.validator)
            checked.line_present = _present(frame, check.lines.presence)
        out[check.name] = checked
    return out


def _present(frame: pd.DataFrame, columns: tuple[str, ...]) -> np.ndarray:
    here = [c for c in columns if c in frame.columns]
    if not here:
        return np.zeros(len(frame), dtype=bool)
    filled = np.zeros(len(frame), dtype=bool)
    for column in here:
        filled |= blank_to_na(frame[column]).notna().to_numpy(dtype=bool)
    return filled
