"""``ResourceFields`` built offline from a mapping's own declarations (``concord-etl validate``
without ``--online``), and the cross-check of those declarations against the CRM's fields.

A column's ``type:``, ``options:`` and ``required:`` win. Fields without a declared type get the
type the online typing gives Concord's built-in field of that name (``crm.known_fields``, typed
by the same function as live descriptors: e-mail → Email, phones → Phone, owner/source/country
ids → BelongsTo, companies → Association, deal amount → Decimal, deal status → Enum, ...),
else Text.
"""

from __future__ import annotations

import difflib

from concord_etl.crm.fields import FieldOption, FieldSpec, ResourceFields, known_fields
from concord_etl.errors import MappingError
from concord_etl.mapping.model import ColumnSpec, Mapping, basic_type

# A declared type that fits a field of another (finer) type: ``type: Date`` on an activity date.
COMPATIBLE = {("DateOrDateTime", "Date"), ("DateOrDateTime", "DateTime")}
REQUIRED_OFFLINE = {
    "contacts": ("first_name",),
    "companies": ("name",),
    "deals": ("name",),
    "products": ("name",),
    "notes": ("body",),
    "activities": ("title", "due_date"),
    "calls": ("call_outcome_id", "date", "body"),
}


def fields_from_mapping(mapping: Mapping) -> ResourceFields:
    """The fields a mapping declares, for validation without the CRM (``online=False``)."""
    known = known_fields(mapping.resource)
    specs: dict[str, FieldSpec] = {}
    names = list(mapping.fields) + [f for f in mapping.defaults if f not in mapping.fields]
    for name in names:
        columns = mapping.for_field(name)
        base = known.get(name)
        specs[name] = FieldSpec(
            attribute=name,
            label=columns[0].column if columns else name,
            type=_declared_type(mapping, name, columns, base),
            required=_declared_required(mapping.resource, name, columns),
            custom=name.startswith("cf_"),
            options=_declared_options(columns),
            related=base.related if base is not None else None,
            choices=base.choices if base is not None else (),
            max_length=None,
        )
    return ResourceFields(resource=mapping.resource, fields=specs, online=False)


def _declared_type(
    mapping: Mapping, name: str, columns: tuple[ColumnSpec, ...], base: FieldSpec | None
) -> str:
    declared = {c.type for c in columns if c.type}
    if len(declared) > 1:
        where = columns[-1]
        message = (
            f"field {name!r} is declared with different types: {', '.join(sorted(declared))}"
        )
        raise MappingError(
            message, path=mapping_path(mapping), key=_key(where, "type"), line=where.line
        )
    if declared:
        ftype = declared.pop()
        if base is not None and not fits(ftype, base.type):
            where = next(c for c in columns if c.type)
            message = (
                f"column {where.column!r} declares type {ftype} but Concord's field {name!r} "
                f"is {base.type}"
            )
            raise MappingError(
                message, path=mapping_path(mapping), key=_key(where, "type"), line=where.line
            )
        return ftype
    if base is not None:
        return base.type
    return "Id" if name == "id" else "Text"


def _declared_required(resource: str, name: str, columns: tuple[ColumnSpec, ...]) -> bool:
    flags = [c.required for c in columns if c.required is not None]
    if flags:
        return any(flags)
    return name in REQUIRED_OFFLINE.get(resource, ())


def _declared_options(columns: tuple[ColumnSpec, ...]) -> tuple[FieldOption, ...]:
    labels: dict[str, None] = {}
    for column in columns:
        for label in column.options or ():
            labels.setdefault(str(label), None)
    return tuple(FieldOption(id=0, name=label) for label in labels)


def check_against_crm(mapping: Mapping, fields: ResourceFields) -> None:
    """Every mapped field must exist in the CRM, with the type the column declares."""
    if not fields.online:
        return
    for column in mapping.columns:
        spec = fields.get(column.field)
        if spec is None:
            if column.field == "id":
                continue
            known = [f.attribute for f in fields]
            close = difflib.get_close_matches(column.field, known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            message = f"{column.field!r} is not a field of {fields.resource}{hint}"
            raise MappingError(
                message, path=mapping_path(mapping), key=_key(column, "field"), line=column.line
            )
        if column.type and not fits(column.type, spec.type):
            message = (
                f"column {column.column!r} declares type {column.type} but the CRM's field "
                f"{column.field!r} is {spec.type}"
            )
            raise MappingError(
                message, path=mapping_path(mapping), key=_key(column, "type"), line=column.line
            )


def fits(declared: str, actual: str) -> bool:
    """Whether a column's declared type agrees with the CRM's type of its field."""
    return declared in (actual, basic_type(actual)) or (actual, declared) in COMPATIBLE


def mapping_path(mapping: Mapping) -> str | None:
    """The mapping file's path as ``MappingError`` names it (None for a mapping built in code)."""
    return str(mapping.path) if mapping.path is not None else None


def _key(column: ColumnSpec, attr: str) -> str:
    return f'columns."{column.column}".{attr}'


def unfed_required(
    mapping: Mapping, fields: ResourceFields, provided: tuple[str, ...] = ()
) -> list[FieldSpec]:
    """The fields the CRM requires to create a record that nothing of the mapping fills.

    Only when the run may create records (no match key, or ``when_missing: create``) and the
    fields are the CRM's own (``online``). ``provided`` are fields filled otherwise (a records
    mapping's ``link:``, the owner the engine sets on an activity).
    """
    if not fields.online or (mapping.match.on and mapping.match.when_missing != "create"):
        return []
    fed = {c.field for c in mapping.columns} | set(mapping.defaults) | set(provided)
    if any("split_name" in c.transform for c in mapping.columns):
        fed |= {"first_name", "last_name"}
    return [spec for spec in fields if spec.required and spec.attribute not in fed]


def check_required_fed(
    mapping: Mapping, fields: ResourceFields, *, provided: tuple[str, ...] = (),
    record: str | None = None,
) -> None:
    """Refuse, before any row is read, a mapping that leaves a field the CRM requires on create
    without a column or a default: every row would be sent only to be refused."""
    missing = unfed_required(mapping, fields, provided)
    if not missing:
        return
    names = ", ".join(f"{spec.label} ({spec.attribute})" if spec.label else spec.attribute
                      for spec in missing)
    where = f"record {record!r}: " if record else ""
    message = (
        f"{where}no column or default gives {names}, which Concord requires to create "
        f"{fields.resource}; map a column to each (or add it under defaults:), or set "
        f"match.when_missing: skip to update existing records only"
    )
    key = f"records.{record}.columns" if record else "columns"
    raise MappingError(message, path=mapping_path(mapping), key=key)
