"""Immutable model of a mapping file (SPEC §3). No I/O here; see ``loader``."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

RESOURCES = ("contacts", "companies", "deals", "products", "activities", "notes")

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
)
OPTION_TYPES = ("Select", "Radio", "Checkbox", "MultiSelect")
MULTI_OPTION_TYPES = ("Checkbox", "MultiSelect")

# Cell transforms a column may name (``transform:``), applied in the order given.
# ``split_name`` (first_name columns) sends the last word(s) of a full name to last_name;
# ``drop_extension`` (phones) removes a trailing extension such as ``x5610`` or ``ext. 12``.
TRANSFORMS = (
    "strip", "lower", "upper", "title", "collapse_spaces", "digits", "split_name",
    "drop_extension",
)
PHONE_TYPES = ("mobile", "work", "other")
# Resources a ``lookup:`` may resolve cells against.
LOOKUP_RESOURCES = (
    "users", "sources", "industries", "countries", "companies", "contacts", "deals",
    "pipeline-stages", "pipelines", "products",
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
}
# Related records that can be created from a name alone (``create_missing: true``).
LOOKUP_CREATABLE = ("sources", "industries", "companies")

WhenFound = Literal["update", "skip", "error"]
WhenMissing = Literal["create", "skip"]
# What a lookup does with a key it cannot find: reject the row, leave the field empty, or use
# the field's value from ``defaults:``.
WHEN_NOT_FOUND = ("reject", "blank", "default")


@dataclass(frozen=True)
class Lookup:
    """Resolve a cell (a name, email, ...) to the id of a related record."""

    resource: str                 # users, sources, industries, companies, contacts, deals,
                                  # pipeline-stages, pipelines, countries, products
    by: str = "name"              # field of the related record the cell holds (name, email, id, ...)
    create_missing: bool = False  # create the related record once if not found (opt-in, reported)
    when_not_found: str = "reject"  # reject | blank | default (see WHEN_NOT_FOUND)
    scope: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))
    # e.g. {"pipeline": "Sales Pipeline"} to choose among stages with the same name


@dataclass(frozen=True)
class ColumnSpec:
    """One spreadsheet column and the CRM field it feeds (and is exported from)."""

    column: str                               # header in the file
    field: str                                # CRM attribute, e.g. "email", "cf_tier", "user_id"
    type: str | None = None                   # declared type for offline validation
    transform: tuple[str, ...] = ()           # names from TRANSFORMS, applied in order
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

    def default(self, field_name: str, fallback: Any = None) -> Any:
        return self.defaults.get(field_name, fallback)
