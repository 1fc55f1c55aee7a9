"""Mapping + ResourceFields → a ``Validator``: the pandera schema and its converters.

The schema is built over the *prepared* frame (``Validator.prepare``): one column per mapped
input column after its transforms, with blank cells turned into NA, plus hidden columns for
the match-key duplicate check and for required fields fed by several columns. Every column
stays text/object in the schema — no pandera coercion (docs/performance-baselines.md §5) — and each
carries at most two checks: ``required`` and one vectorised check named after the field type.
A type check also leaves its normalised values behind, so ``validate_frame`` does not parse
a column twice.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa

from concord_etl.crm.fields import FieldSpec, ResourceFields
from concord_etl.errors import MappingError
from concord_etl.mapping.model import (
    MULTI_OPTION_TYPES,
    OPTION_TYPES,
    ColumnSpec,
    Mapping,
    basic_type,
)
from concord_etl.validate.date_rules import DateRule
from concord_etl.validate.declared_fields import check_against_crm, fields_from_mapping
from concord_etl.validate.duplicates import KeyTracker, match_keys
from concord_etl.validate.number_rules import DecimalRule, NumberRule
from concord_etl.validate.rules import (
    COLOR_PATTERN,
    DEFAULT_FALSE,
    DEFAULT_TRUE,
    EMAIL_PATTERN,
    TEXT_LIMIT,
    URL_PATTERN,
    BooleanRule,
    ChoiceRule,
    KeyRule,
    Outcome,
    PhoneRule,
    Rule,
    TextRule,
    timezone_rule,
)
from concord_etl.validate.transforms import apply_transforms, blank_to_na

__all__ = [
    "DUPLICATE_COLUMN",
    "ROW_COLUMN",
    "ColumnCheck",
    "Validator",
    "build_checks",
    "build_validator",
    "fields_from_mapping",
    "rule_for",
]

ROW_COLUMN = "_row"
DUPLICATE_COLUMN = "\x00duplicate"
REQUIRED_PREFIX = "\x00required:"
LIST_TYPES = (*MULTI_OPTION_TYPES, "Phone", "Tags", "Association")


@dataclass(frozen=True)
class ColumnCheck:
    """One mapped input column: where it goes and how it is judged."""

    column: str
    spec: ColumnSpec
    field: FieldSpec
    rule: Rule
    required: bool           # this column alone must be non-empty


@dataclass
class Validator:
    """Everything needed to validate chunks of one input against one mapping.

    The plan remembers the match keys it has seen (``keys``) so that duplicates are found
    across chunks; use one plan per input file, or call ``reset()`` between files.
    """

    mapping: Mapping
    fields: ResourceFields
    columns: tuple[ColumnCheck, ...]
    schema: pa.DataFrameSchema
    defaults: dict[str, Any]                           # field → normalised default value
    key_columns: tuple[str, ...] = ()
    required_groups: dict[str, tuple[str, ...]] = field(default_factory=dict)
    keys: KeyTracker = field(default_factory=KeyTracker)
    _local: threading.local = field(default_factory=threading.local, repr=False)

    @property
    def field_names(self) -> tuple[str, ...]:
        names = dict.fromkeys(c.field.attribute for c in self.columns)
        names.update(dict.fromkeys(self.defaults))
        return tuple(names)

    def column(self, name: str) -> ColumnCheck:
        for plan in self.columns:
            if plan.column == name:
                return plan
        raise KeyError(name)

    def reset(self) -> None:
        """Forget the match keys seen so far (before validating another file)."""
        self.keys.reset()

    def missing_columns(self, present: Iterable[str]) -> list[str]:
        """Mapped columns absent from the input that have no default to stand in for them."""
        have = set(present)
        return [
            c.column for c in self.columns
            if c.column not in have and c.field.attribute not in self.defaults
        ]

    # -- preparing a chunk ------------------------------------------------------------------
    def prepare(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Transforms applied, blanks → NA, hidden check columns added; ``frame`` is untouched."""
        data: dict[str, pd.Series] = {}
        for plan in self.columns:
            if plan.column in frame.columns:
                series = frame[plan.column]
            else:
                series = pd.Series(pd.NA, index=frame.index, dtype=object)
            if plan.spec.transform:
                series = apply_transforms(series, plan.spec.transform)
            data[plan.column] = blank_to_na(series)
        rows = row_numbers(frame)
        data[ROW_COLUMN] = rows
        for hidden, members in self.required_groups.items():
            filled = np.logical_or.reduce([data[m].notna().to_numpy() for m in members])
            data[hidden] = pd.Series(np.where(filled, True, None), index=frame.index, dtype=object)  # type: ignore[call-overload, arg-type]
        if self.key_columns:
            keys = match_keys([data[c] for c in self.key_columns])
            data[DUPLICATE_COLUMN] = self.keys.first_rows(keys, rows)
        return pd.DataFrame(data, index=frame.index)

    # -- outcomes left behind by the type checks -------------------------------------------
    @contextmanager
    def collecting(self) -> Iterator[dict[str, Outcome]]:
        """Collect the outcomes of the type checks run inside the block, keyed by column."""
        outcomes: dict[str, Outcome] = {}
        previous = getattr(self._local, "outcomes", None)
        self._local.outcomes = outcomes
        try:
            yield outcomes
        finally:
            self._local.outcomes = previous

    def judge(self, plan: ColumnCheck, series: pd.Series) -> pd.Series:
        outcome = plan.rule.evaluate(series)
        sink = getattr(self._local, "outcomes", None)
        if sink is not None:
            sink[plan.column] = outcome
        return pd.Series(outcome.ok, index=series.index)


def row_numbers(frame: pd.DataFrame) -> pd.Series:
    """The ``_row`` column (source line numbers); header-on-line-1 numbering if it is absent."""
    if ROW_COLUMN in frame.columns:
        return frame[ROW_COLUMN].astype("int64")
    return pd.Series(np.arange(len(frame), dtype=np.int64) + 2, index=frame.index)


# -- building ------------------------------------------------------------------------------


def build_validator(mapping: Mapping, fields: ResourceFields | None = None) -> Validator:
    """The validation plan for ``mapping``; ``fields`` default to the mapping's declarations.

    Raises ``MappingError`` when a column's declared type contradicts the CRM's, a mapped field
    does not exist in the CRM, or a default value is not valid for its field.
    """
    if fields is None:
        fields = fields_from_mapping(mapping)
    check_against_crm(mapping, fields)
    offline = fields_from_mapping(mapping) if fields.online else fields
    field_of = {name: fields.get(name) or offline.fields[name] for name in offline.fields}
    defaults = {
        name: _normalised_default(mapping, name, value, field_of[name], fields.online)
        for name, value in mapping.defaults.items()
    }
    columns = tuple(
        ColumnCheck(
            column=spec.column,
            spec=spec,
            field=field_of[spec.field],
            rule=rule_for(spec, field_of[spec.field], online=fields.online),
            required=False,
        )
        for spec in mapping.columns
    )
    columns, groups = _required(columns, defaults)
    plan = Validator(
        mapping=mapping,
        fields=fields,
        columns=columns,
        schema=pa.DataFrameSchema(),
        defaults=defaults,
        key_columns=_key_columns(mapping),
        required_groups=groups,
    )
    plan.schema = _schema(plan)
    return plan


build_checks = build_validator  # the name used in docs/DESIGN.md


def rule_for(spec: ColumnSpec, field_spec: FieldSpec, *, online: bool) -> Rule:
    """The vectorised check for one column of a field of ``field_spec.type``."""
    kind = basic_type(field_spec.type)  # Domain → Text, Editor → Textarea, Reminder → Number...
    limit = field_spec.max_length or TEXT_LIMIT
    if kind in OPTION_TYPES:
        return _option_rule(spec, field_spec, online)
    simple: dict[str, Rule] = {
        "Text": TextRule("Text", max_length=limit),
        "Textarea": TextRule("Textarea", max_length=None),
        "Email": TextRule("Email", max_length=limit, pattern=EMAIL_PATTERN, lower=True),
        "Url": TextRule("Url", max_length=limit, pattern=URL_PATTERN),
        "ColorSwatch": TextRule("ColorSwatch", max_length=None, pattern=COLOR_PATTERN),
        "Number": NumberRule("Number"),
        "Id": NumberRule("Id", positive=True),
        "Numeric": DecimalRule("Numeric", allow_negative=False),
        "Decimal": DecimalRule("Decimal", allow_negative=True),
        "Phone": PhoneRule(phone_type=spec.phone_type or "mobile", split=spec.split),
        "BelongsTo": KeyRule("BelongsTo"),
        "Association": KeyRule("Association", split=spec.split),
        "Tags": KeyRule("Tags", split=spec.split or ","),
    }
    if kind in simple:
        return simple[kind]
    if kind in ("Date", "DateTime", "DateOrDateTime"):
        return DateRule(kind, spec.format)
    if kind == "Boolean":
        return BooleanRule(
            true_values=spec.true_values or DEFAULT_TRUE,
            false_values=spec.false_values or DEFAULT_FALSE,
        )
    if kind == "Timezone":
        return timezone_rule()
    if kind == "Enum":
        choices = tuple((c, c) for c in field_spec.choices)
        return ChoiceRule("Enum", choices, open_ended=not choices, dtype="str")
    return TextRule(kind, max_length=field_spec.max_length)


def _option_rule(spec: ColumnSpec, field_spec: FieldSpec, online: bool) -> ChoiceRule:
    multi = field_spec.type in MULTI_OPTION_TYPES
    choices = tuple((o.name, o.id if online else o.name) for o in field_spec.options)
    open_ended = spec.create_options or not choices
    if multi:
        dtype = "object"
    elif online:
        dtype = "object" if open_ended else "Int64"
    else:
        dtype = "str"
    return ChoiceRule(
        field_spec.type, choices, multi=multi, split=spec.split or ",",
        open_ended=open_ended, dtype=dtype,
    )


def _required(
    columns: tuple[ColumnCheck, ...], defaults: dict[str, Any]
) -> tuple[tuple[ColumnCheck, ...], dict[str, tuple[str, ...]]]:
    """Mark required columns; a required field fed by several columns gets a hidden group."""
    by_field: dict[str, list[ColumnCheck]] = {}
    for plan in columns:
        by_field.setdefault(plan.field.attribute, []).append(plan)
    groups: dict[str, tuple[str, ...]] = {}
    marked: list[ColumnCheck] = []
    for plan in columns:
        flag = plan.spec.required if plan.spec.required is not None else plan.field.required
        needed = bool(flag) and plan.field.attribute not in defaults
        siblings = by_field[plan.field.attribute]
        if needed and len(siblings) > 1:
            groups[REQUIRED_PREFIX + plan.field.attribute] = tuple(p.column for p in siblings)
            needed = False
        marked.append(ColumnCheck(plan.column, plan.spec, plan.field, plan.rule, needed))
    return tuple(marked), groups


def _key_columns(mapping: Mapping) -> tuple[str, ...]:
    columns: list[str] = []
    for name in mapping.match.on:
        specs = mapping.for_field(name)
        if not specs:
            return ()
        columns.append(specs[0].column)
    return tuple(columns)


def _schema(plan: Validator) -> pa.DataFrameSchema:
    columns: dict[str, pa.Column] = {}
    for column in plan.columns:
        checks = []
        if column.required:
            checks.append(pa.Check(_present, name="required", ignore_na=False))
        if not isinstance(column.rule, KeyRule):
            checks.append(
                pa.Check(
                    lambda s, c=column: plan.judge(c, s), name=column.rule.type, ignore_na=False
                )
            )
        columns[column.column] = pa.Column(checks=checks, nullable=True, name=column.column)
    for hidden in plan.required_groups:
        check = pa.Check(_present, name="required", ignore_na=False)
        columns[hidden] = pa.Column(checks=[check], nullable=True, name=hidden)
    if plan.key_columns:
        check = pa.Check(_absent, name="duplicate", ignore_na=False)
        columns[DUPLICATE_COLUMN] = pa.Column(checks=[check], nullable=True, name=DUPLICATE_COLUMN)
    return pa.DataFrameSchema(columns, coerce=False, strict=False)


def _present(series: pd.Series) -> pd.Series:
    return series.notna()


def _absent(series: pd.Series) -> pd.Series:
    return series.isna()


def _normalised_default(
    mapping: Mapping, name: str, value: Any, field_spec: FieldSpec, online: bool
) -> Any:
    specs = mapping.for_field(name)
    spec = specs[0] if specs else ColumnSpec(column=f"defaults.{name}", field=name)
    rule = rule_for(spec, field_spec, online=online)
    items = list(value) if isinstance(value, (list, tuple)) else [value]
    if len(items) != 1 and field_spec.type not in LIST_TYPES:
        message = f"a {field_spec.type} field takes one value, not a list"
        raise MappingError(message, path=_mapping_path(mapping), key=f"defaults.{name}")
    cells = pd.Series(items, dtype=object)
    outcome = rule.evaluate(cells)
    for item, good in zip(items, outcome.ok, strict=True):
        if not good:
            message = rule.reason(item)
            raise MappingError(message, path=_mapping_path(mapping), key=f"defaults.{name}")
    normalised = outcome.values.tolist()
    if field_spec.type in LIST_TYPES:
        merged: list[Any] = []
        for part in normalised:
            merged.extend(part if isinstance(part, list) else [])
        return merged
    return normalised[0]


def _mapping_path(mapping: Mapping) -> str | None:
    return str(mapping.path) if mapping.path is not None else None
