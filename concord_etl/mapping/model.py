"""Immutable model of a mapping file (README "Mapping reference"). No I/O here; see ``loader``.

A mapping is either one resource (``Mapping``: ``resource:`` + ``columns:``) or several records
per row (``RecordsMapping``: a ``records:`` block of named ``Mapping``s tied by ``link:``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

RESOURCES = ("contacts", "companies", "deals", "products", "activities", "notes", "calls")
# Resources without a natural key: each row creates one record, made exactly-once by the journal.
KEYLESS_RESOURCES = ("notes", "activities", "calls")

# Field types understood offline (``type:`` in a column) and reported by the CRM.
# The first 15 are Concord's custom-field types; the rest describe built-in fields.
FIELD_TYPES = (
    "Text", "Textarea", "Email", "Url", "Number", "Numeric", "Date", "DateTime",
    "Boolean", "ColorSwatch", "Timezone", "Select", "Radio", "Checkbox", "MultiSelect",
    "Decimal",      # built-in decimal that may be negative (deal amount)
    "Enum",         # built-in fixed choices (deal status: open/won/lost)
    "BelongsTo",    # one related record by id or name (user_id, source_id, stage_id...)
    "Phone",        # phones: list of {number, type}
    "Tags",         # tags by name
    "Association",  # companies/contacts/deals: list of related record ids
    "Id",           # primary key (update by id)
    "Domain",       # company domain (Concord keeps only the host of a URL)
    "Editor",       # HTML text (activity description/note, note body)
    "DateOrDateTime",  # activity due/end date: a date (all-day) or a date and time
    "Reminder",     # minutes before an activity's due time
)
# How each type beyond the basic ones is checked, compared and exported: like this basic type.
BEHAVES_LIKE = {
    "Domain": "Text", "Editor": "Textarea", "Reminder": "Number",
}


def basic_type(ftype: str) -> str:
    """``ftype`` itself, or the basic type it behaves like (``Editor`` → ``Textarea``)."""
    return BEHAVES_LIKE.get(ftype, ftype)
OPTION_TYPES = ("Select", "Radio", "Checkbox", "MultiSelect")
MULTI_OPTION_TYPES = ("Checkbox", "MultiSelect")

# Cell transforms a column may name (``transform:``), applied in the order given.
TRANSFORMS = ("strip", "lower", "upper", "title", "collapse_spaces", "digits")
PHONE_TYPES = ("mobile", "work", "other")
# Resources a ``lookup:`` may resolve cells against.
LOOKUP_RESOURCES = (
    "users", "sources", "industries", "countries", "companies", "contacts", "deals",
    "pipeline-stages", "pipelines", "products", "activity-types", "call-outcomes",
)

# Fields a ``lookup.by`` may name per resource (besides ``id`` and custom fields ``cf_*``).
LOOKUP_FIELDS = {
    "users": ("email", "name"),
    "sources": ("name",),
    "industries": ("name",),
    "countries": ("name", "iso_3166_2", "iso_3166_3"),
    "pipelines": ("name",),
    "pipeline-stages": ("name",),
    "companies": ("name", "email", "domain"),
    "contacts": ("email", "full_name", "name"),
    "deals": ("name",),
    "products": ("name", "sku"),
    "activity-types": ("name",),
    "call-outcomes": ("name",),
}
# Related records that can be created from a name alone (``create_missing: true``).
LOOKUP_CREATABLE = ("sources", "industries", "companies")

WhenFound = Literal["update", "skip", "error"]
WhenMissing = Literal["create", "skip"]


@dataclass(frozen=True)
class Lookup:
    """Resolve a cell (a name, email, ...) to the id of a related record."""

    resource: str                 # users, sources, industries, companies, contacts, deals,
                                  # pipeline-stages, pipelines, countries, products
    by: str = "name"              # field of the related record the cell holds (name, email, id, ...)
    create_missing: bool = False  # create the related record once if not found (opt-in, reported)
    scope: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))
    # e.g. {"pipeline": "Sales Pipeline"} to choose among stages with the same name


@dataclass(frozen=True)
class ColumnSpec:
    """One spreadsheet column and the CRM field it feeds (and is exported from)."""

    column: str                               # header in the file
    field: str                                # CRM attribute, e.g. "email", "cf_tier", "user_id"
    type: str | None = None                   # declared type for offline validation
    transform: tuple[str, ...] = ()           # strip, lower, upper, title, collapse_spaces, digits
    split: str | None = None                  # separator for multi-valued cells
    format: str | None = None                 # strptime format for Date/DateTime text cells
    true_values: tuple[str, ...] | None = None
    false_values: tuple[str, ...] | None = None
    phone_type: str | None = None             # mobile | work | other
    lookup: Lookup | None = None
    create_options: bool = False              # allow unknown option labels to create options
    options: tuple[str, ...] | None = None    # declared option labels for offline validation
    required: bool | None = None              # override the CRM's required flag
    line: int | None = None                   # line in the YAML file, for messages


@dataclass(frozen=True)
class MatchSpec:
    on: tuple[str, ...] = ()                  # CRM fields identifying an existing record
    when_found: WhenFound = "update"
    when_missing: WhenMissing = "create"


@dataclass(frozen=True)
class SourceHints:
    sheet: str | int | None = None
    header_row: int = 1
    encoding: str = "auto"
    delimiter: str = "auto"


# A deal's line items (``products:``): the fields of one line of the deal's billable.
LINE_FIELDS = (
    "product_id", "name", "description", "unit_price", "qty", "unit", "tax_rate", "tax_label",
    "discount_type", "discount_total", "note",
)
TAX_TYPES = ("exclusive", "inclusive", "no_tax")
DISCOUNT_TYPES = ("fixed", "percent")


@dataclass(frozen=True)
class ProductLines:
    """``products:`` of a deals mapping: one line item per row, sent to the deal's billable.

    Rows naming the same deal (by its match key) add their lines to that one deal; a line is
    matched to the deal's existing lines by product (or name), so re-imports never double it.
    """

    columns: tuple[ColumnSpec, ...]
    defaults: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))
    tax_type: str | None = None               # exclusive | inclusive | no_tax (CRM default)
    line: int | None = None

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(c.field for c in self.columns))


def run_name(path: Path | None, fallback: str) -> str:
    """A short name for the runs of a mapping: its file's stem (``companies.yaml`` →
    ``companies``), else ``fallback``; safe in a file name."""
    stem = path.stem if path is not None else ""
    name = re.sub(r"[^A-Za-z0-9_-]+", "-", stem).strip("-")
    return name or fallback


@dataclass(frozen=True)
class Mapping:
    resource: str
    columns: tuple[ColumnSpec, ...]
    match: MatchSpec = MatchSpec()
    source: SourceHints = SourceHints()
    defaults: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))
    version: int = 1
    path: Path | None = None
    digest: str = ""                          # sha256 of the canonical mapping content
    products: ProductLines | None = None      # deals only: line items of the deal's billable

    @property
    def run_name(self) -> str:
        """Names this mapping's journal and results files beside the input."""
        return run_name(self.path, self.resource)

    def column(self, name: str) -> ColumnSpec:
        for spec in self.columns:
            if spec.column == name:
                return spec
        raise KeyError(name)

    def for_field(self, field_name: str) -> tuple[ColumnSpec, ...]:
        return tuple(c for c in self.columns if c.field == field_name)

    @property
    def fields(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for c in self.columns:
            seen.setdefault(c.field, None)
        return tuple(seen)

    @property
    def plans_updates(self) -> bool:
        """Whether an import may update existing records (matched and ``when_found: update``)."""
        return bool(self.match.on) and self.match.when_found == "update"

    def default(self, field_name: str, fallback: Any = None) -> Any:
        return self.defaults.get(field_name, fallback)


@dataclass(frozen=True)
class RecordSpec:
    """One named record of a ``records:`` mapping, e.g. ``contact``.

    ``mapping`` holds its resource, columns, match and defaults (and the file's reader hints);
    ``link`` fills a field with the id of another record of the same row:
    ``{"companies": "company"}``.
    """

    name: str
    mapping: Mapping
    link: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))
    line: int | None = None

    @property
    def resource(self) -> str:
        return self.mapping.resource

    @property
    def needs(self) -> tuple[str, ...]:
        """The records this one links to (written before it on every row)."""
        return tuple(dict.fromkeys(self.link.values()))


@dataclass(frozen=True)
class RecordsMapping:
    """Several records per row: ``records`` in dependency order (a record after those it links)."""

    records: tuple[RecordSpec, ...]
    source: SourceHints = SourceHints()
    version: int = 1
    path: Path | None = None
    digest: str = ""

    def record(self, name: str) -> RecordSpec:
        for spec in self.records:
            if spec.name == name:
                return spec
        raise KeyError(name)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(spec.name for spec in self.records)

    @property
    def columns(self) -> tuple[str, ...]:
        """Every input column some record reads, in order of first use."""
        seen: dict[str, None] = {}
        for spec in self.records:
            for column in spec.mapping.columns:
                seen.setdefault(column.column, None)
            for column in spec.mapping.products.columns if spec.mapping.products else ():
                seen.setdefault(column.column, None)
        return tuple(seen)

    @property
    def run_name(self) -> str:
        return run_name(self.path, "records")


AnyMapping = Mapping | RecordsMapping


def runs_as_records(mapping: AnyMapping) -> bool:
    """Whether an import of ``mapping`` runs through the multi-record engine: a ``records:``
    mapping, a deals mapping with line items, or notes/activities/calls (no natural key)."""
    if isinstance(mapping, RecordsMapping):
        return True
    return mapping.products is not None or mapping.resource in KEYLESS_RESOURCES


def as_records(mapping: AnyMapping) -> RecordsMapping:
    """A ``RecordsMapping``; a one-resource mapping becomes one unnamed record."""
    if isinstance(mapping, RecordsMapping):
        return mapping
    return RecordsMapping(records=(RecordSpec(name="", mapping=mapping),), source=mapping.source,
                          version=mapping.version, path=mapping.path, digest=mapping.digest)
