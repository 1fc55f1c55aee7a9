"""Mapping + the CRM's field types → a ``Validator``: the pandera schema that validates chunks.

One pandera column per *feed* (a mapped input column; ``split_name`` makes one column feed
``first_name`` and ``last_name``), built from the feed's field type (``rule_for``): the type's
parser normalises the text, its named checks judge each cell, and the schema adds ``required``
where the field needs a value. Rows are judged by dataframe-level checks: a required field fed
by several columns, and the file's duplicates (``duplicates.DuplicateBook``). Nothing is
coerced by pandera; each type converts its accepted cells afterwards (``chunk``).

The per-type schemas live in ``text_types``, ``number_types``, ``date_types``, ``choice_types``
and ``key_types``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property
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
from concord_etl.validate.checks import ROW_COLUMN, TEXT_LIMIT, FieldType, FrameCheck
from concord_etl.validate.choice_types import (
    DEFAULT_FALSE,
    DEFAULT_TRUE,
    boolean_type,
    enum_type,
    option_type,
    timezone_type,
)
from concord_etl.validate.date_types import date_type
from concord_etl.validate.declared_fields import (
    check_against_crm,
    fields_from_mapping,
    mapping_path,
)
from concord_etl.validate.duplicates import DuplicateBook
from concord_etl.validate.key_types import association_type, belongs_to_type, tags_type
from concord_etl.validate.number_types import decimal_type, whole_number_type
from concord_etl.validate.text_types import (
    colour_type,
    email_type,
    phone_type,
    text_type,
    textarea_type,
    url_type,
)
from concord_etl.validate.transforms import (
    apply_transforms,
    as_text,
    blank_to_na,
    plain,
    split_full_name,
)

__all__ = [
    "ROW_COLUMN",
    "Feed",
    "FrameCheck",
    "Validator",
    "build_checks",
    "build_validator",
    "fields_from_mapping",
    "rule_for",
]


@dataclass(frozen=True)
class Feed:
    """One mapped input column feeding one field: a column of the prepared frame."""

    key: str                   # column of the prepared frame and of the schema
    column: str                # the input column it comes from (named in every reason)
    spec: ColumnSpec
    field: FieldSpec
    kind: FieldType
    required: bool = False     # this column alone must be non-empty
    part: str | None = None    # split_name: "first" or "last"


@dataclass
class Validator:
    """Everything needed to validate the chunks of one input file against one mapping."""

    mapping: Mapping
    fields: ResourceFields
    feeds: tuple[Feed, ...]
    defaults: dict[str, Any]                     # field → default in the form sent to the CRM
    schema: pa.DataFrameSchema = field(default_factory=pa.DataFrameSchema)
    frame_checks: dict[str, FrameCheck] = field(default_factory=dict)
    duplicates: Any = None                       # duplicates.DuplicateBook, set by build_validator

    # ``feeds`` and the keys of ``defaults`` are fixed once built (``relations`` only replaces
    # default values), so the two below are computed once: ``ValidatedChunk.record`` reads them
    # for every row.
    @cached_property
    def field_names(self) -> tuple[str, ...]:
        names = dict.fromkeys(f.field.attribute for f in self.feeds)
        names.update(dict.fromkeys(self.defaults))
        return tuple(names)

    @cached_property
    def _feeds_by_field(self) -> dict[str, tuple[Feed, ...]]:
        by_field: dict[str, list[Feed]] = {}
        for feed in self.feeds:
            by_field.setdefault(feed.field.attribute, []).append(feed)
        return {name: tuple(feeds) for name, feeds in by_field.items()}

    def feeds_of(self, field_name: str) -> tuple[Feed, ...]:
        return self._feeds_by_field.get(field_name, ())

    def column_label(self, field_name: str) -> str:
        """The input columns feeding ``field_name`` as reasons name them ("Mobile / Work")."""
        return " / ".join(dict.fromkeys(f.column for f in self.feeds_of(field_name)))

    def feed(self, key: str) -> Feed:
        for feed in self.feeds:
            if feed.key == key:
                return feed
        raise KeyError(key)

    def column(self, name: str) -> Feed:
        """The first feed of input column ``name``."""
        for feed in self.feeds:
            if feed.column == name:
                return feed
        raise KeyError(name)

    def missing_columns(self, present: Iterable[str]) -> list[str]:
        """Mapped columns absent from the input that have no default to stand in for them."""
        have = set(present)
        return list(dict.fromkeys(
            f.column for f in self.feeds
            if f.column not in have and f.field.attribute not in self.defaults
        ))

    # -- preparing a chunk ---------------------------------------------------------------------
    def prepare(self, frame: pd.DataFrame) -> pd.DataFrame:
        """One text column per feed (typed Excel cells as text, transforms applied, blanks NA),
        plus ``_row``; ``frame`` is untouched."""
        data: dict[str, pd.Series] = {}
        names: dict[str, tuple[pd.Series, pd.Series]] = {}
        for feed in self.feeds:
            if feed.column in frame.columns:
                series = as_text(frame[feed.column], feed.kind.cell_text)
            else:
                series = pd.Series(pd.NA, index=frame.index, dtype="str")
            transforms = [t for t in feed.spec.transform if t != "split_name"]
            if transforms:
                series = apply_transforms(series, transforms)
            if feed.part is not None:
                if feed.column not in names:
                    names[feed.column] = split_full_name(series)
                series = names[feed.column][0 if feed.part == "first" else 1]
            data[feed.key] = blank_to_na(series)
        data[ROW_COLUMN] = row_numbers(frame)
        return pd.DataFrame(data, index=frame.index)


def row_numbers(frame: pd.DataFrame) -> pd.Series:
    """The ``_row`` column (source line numbers); header-on-line-1 numbering if it is absent."""
    if ROW_COLUMN in frame.columns:
        return frame[ROW_COLUMN].astype("int64")
    return pd.Series(np.arange(len(frame), dtype=np.int64) + 2, index=frame.index)


# -- building ------------------------------------------------------------------------------------


def build_validator(mapping: Mapping, fields: ResourceFields | None = None) -> Validator:
    """The validator for ``mapping``; ``fields`` default to the mapping's declarations.

    Raises ``MappingError`` when a column's declared type contradicts the CRM's, a mapped field
    does not exist in the CRM, or a default value is not valid for its field.
    """
    if fields is None:
        fields = fields_from_mapping(mapping)
    check_against_crm(mapping, fields)
    offline = fields_from_mapping(mapping) if fields.online else fields
    field_of = {name: fields.get(name) or offline.fields[name] for name in offline.fields}
    feeds = _required(_feeds(mapping, field_of, fields.online), mapping)
    defaults = {
        name: _normalised_default(mapping, name, value, field_of[name], fields.online)
        for name, value in mapping.defaults.items()
    }
    validator = Validator(mapping=mapping, fields=fields, feeds=feeds, defaults=defaults)
    validator.duplicates = DuplicateBook(validator)
    checks = [
        *_required_groups(validator), *_one_value_fields(validator),
        *validator.duplicates.frame_checks(),
    ]
    validator.frame_checks = {check.name: check for check in checks}
    validator.schema = pa.DataFrameSchema(
        {feed.key: feed.kind.column(feed.key, required=feed.required) for feed in feeds},
        checks=[check.as_pandera() for check in checks],
        coerce=False,
        strict=False,
    )
    return validator


build_checks = build_validator  # the name used in docs/DESIGN.md


def _feeds(
    mapping: Mapping, field_of: dict[str, FieldSpec], online: bool
) -> list[Feed]:
    feeds: list[Feed] = []
    for spec in mapping.columns:
        field_spec = field_of[spec.field]
        kind = rule_for(spec, field_spec, online=online)
        if "split_name" in spec.transform:
            last = field_of.get("last_name") or FieldSpec("last_name", "Last Name", "Text")
            feeds.append(Feed(spec.column, spec.column, spec, field_spec, kind, part="first"))
            last_kind = rule_for(spec, last, online=online)
            feeds.append(
                Feed(f"{spec.column} → last_name", spec.column, spec, last, last_kind, part="last")
            )
        else:
            feeds.append(Feed(spec.column, spec.column, spec, field_spec, kind))
    return feeds


def rule_for(spec: ColumnSpec, field_spec: FieldSpec, *, online: bool) -> FieldType:
    """The field type (pandera column parts) for one column of a field of ``field_spec.type``.

    Every type of ``mapping.model.FIELD_TYPES`` has one; the logical types beyond the basic
    ones are judged like the type they behave like (Domain → Text, Editor → Textarea,
    Reminder → Number; ``basic_type``).
    """
    kind = basic_type(field_spec.type)
    limit = field_spec.max_length or TEXT_LIMIT
    if kind in OPTION_TYPES:
        return _option_type(spec, field_spec, online)
    by_id = spec.lookup is not None and spec.lookup.by == "id"
    done = spec.transform       # what the column's transforms did: parsers skip it
    simple: dict[str, Callable[[], FieldType]] = {
        "Text": lambda: text_type("Text", limit),
        "Textarea": textarea_type,
        "Email": lambda: email_type(limit, done),
        "Url": lambda: url_type(limit, done),
        "ColorSwatch": lambda: colour_type(done),
        "Number": lambda: whole_number_type("Number", done=done),
        "Id": lambda: whole_number_type("Id", positive=True, done=done),
        "Numeric": lambda: decimal_type("Numeric", allow_negative=False, done=done),
        "Decimal": lambda: decimal_type("Decimal", allow_negative=True, done=done),
        # Concord reads "a, b" in a phone cell as two numbers: so does the default split
        "Phone": lambda: phone_type(spec.phone_type or "mobile", spec.split or ",", done),
        "BelongsTo": lambda: belongs_to_type(by_id=by_id),
        "Association": lambda: association_type(spec.split, by_id=by_id),
        "Tags": lambda: tags_type(spec.split or ","),
        "Date": lambda: date_type("Date", spec.format),
        "DateTime": lambda: date_type("DateTime", spec.format),
        "DateOrDateTime": lambda: date_type("DateOrDateTime", spec.format),
        "Timezone": timezone_type,
        "Enum": lambda: enum_type(field_spec.choices),
        "Boolean": lambda: boolean_type(
            spec.true_values or DEFAULT_TRUE, spec.false_values or DEFAULT_FALSE
        ),
    }
    if kind in simple:
        return simple[kind]()
    return text_type(kind, field_spec.max_length)


def _option_type(spec: ColumnSpec, field_spec: FieldSpec, online: bool) -> FieldType:
    multi = field_spec.type in MULTI_OPTION_TYPES
    pairs = [(o.name, o.id if online else o.name) for o in field_spec.options]
    open_ended = spec.create_options or not pairs
    return option_type(
        field_spec.type, pairs, multi=multi, split=spec.split or ",", open_ended=open_ended,
        value_dtype="Int64" if online else "str",
    )


def _required(feeds: list[Feed], mapping: Mapping) -> tuple[Feed, ...]:
    """Mark the feeds that must be filled (a default or another feed of the field excuses)."""
    count: dict[str, int] = {}
    for feed in feeds:
        count[feed.field.attribute] = count.get(feed.field.attribute, 0) + 1
    marked: list[Feed] = []
    for feed in feeds:
        flag = _declared_required(feed)
        if feed.part == "last":
            flag = False
        needed = bool(flag) and feed.field.attribute not in mapping.defaults
        needed = needed and count[feed.field.attribute] == 1
        marked.append(Feed(feed.key, feed.column, feed.spec, feed.field, feed.kind, needed,
                           feed.part))
    return tuple(marked)


def _declared_required(feed: Feed) -> bool:
    """Whether the mapping column says its field is required, else whether the field is."""
    return feed.spec.required if feed.spec.required is not None else feed.field.required


def _required_groups(validator: Validator) -> list[FrameCheck]:
    """A required field fed by several columns needs one of them filled."""
    checks: list[FrameCheck] = []
    seen: set[str] = set()
    for feed in validator.feeds:
        name = feed.field.attribute
        members = validator.feeds_of(name)
        flags = [_declared_required(f) for f in members]
        if name in seen or len(members) < 2 or not any(flags) or name in validator.defaults:
            continue
        seen.add(name)
        keys = [f.key for f in members]

        def test(frame: pd.DataFrame, keys: list[str] = keys) -> pd.Series:
            return frame[keys].notna().any(axis=1)

        label = validator.column_label(name)

        def reason(_row: int, label: str = label) -> str:
            return f"{label}: a value is required"

        checks.append(FrameCheck(f"required({name})", test, label, name, reason))
    return checks


def _one_value_fields(validator: Validator) -> list[FrameCheck]:
    """A single-valued field fed by several columns takes the first non-empty one; a row where
    a later column holds another value gets a warning (that value is not imported)."""
    checks: list[FrameCheck] = []
    seen: set[str] = set()
    for feed in validator.feeds:
        name = feed.field.attribute
        members = validator.feeds_of(name)
        if name in seen or len(members) < 2 or feed.kind.many:
            continue
        seen.add(name)
        keys = [f.key for f in members]

        def test(frame: pd.DataFrame, keys: list[str] = keys) -> pd.Series:
            texts = [frame[k].astype("str").str.strip().str.lower() for k in keys]
            first = texts[0]
            for other in texts[1:]:
                first = first.fillna(other)
            agree = pd.Series(True, index=frame.index)
            for other in texts:
                agree &= other.isna() | (other == first).fillna(True).astype(bool)
            return agree

        label = validator.column_label(name)
        order = ", then ".join(dict.fromkeys(f.column for f in members))

        def reason(_row: int, label: str = label, order: str = order, name: str = name) -> str:
            return (f"{label}: several different values; {name} takes one, so the first "
                    f"non-empty column is used ({order})")

        checks.append(FrameCheck(f"one_value({name})", test, label, name, reason, "warning"))
    return checks


def _normalised_default(
    mapping: Mapping, name: str, value: Any, field_spec: FieldSpec, online: bool
) -> Any:
    """A ``defaults:`` value checked like a cell of its field, in the form sent to the CRM."""
    specs = mapping.for_field(name)
    spec = specs[0] if specs else ColumnSpec(column=f"defaults.{name}", field=name)
    kind = rule_for(spec, field_spec, online=online)
    items = list(value) if isinstance(value, (list, tuple)) else [value]
    if len(items) != 1 and not kind.many:
        message = f"a {field_spec.type} field takes one value, not a list"
        raise MappingError(message, path=mapping_path(mapping), key=f"defaults.{name}")
    text = pd.Series([kind.cell_text(item) for item in items], dtype="str")
    parsed = kind.parse(text) if kind.parse is not None else text
    for check in kind.checks:
        if check.severity != "error":
            continue
        ok = check.test(parsed).to_numpy(dtype=bool)
        for item, good in zip(parsed.tolist(), ok, strict=True):
            if not good:
                raise MappingError(check.reason(item), path=mapping_path(mapping),
                                   key=f"defaults.{name}")
    values = [kind.to_wire(v) if kind.to_wire else v for v in kind.convert(parsed).tolist()]
    if kind.many:
        merged: list[Any] = []
        for part in values:
            for item in part if isinstance(part, list) else [part]:
                if item not in merged:
                    merged.append(item)
        return merged
    return plain(values[0])

