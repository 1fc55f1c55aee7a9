"""One entry of a mapping's ``columns:`` section → ``ColumnSpec`` (used by ``loader``)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from concord_etl.mapping.document import DocumentChecker, KeyPath
from concord_etl.mapping.model import (
    FIELD_TYPES,
    LOOKUP_CREATABLE,
    LOOKUP_FIELDS,
    LOOKUP_RESOURCES,
    MULTI_OPTION_TYPES,
    OPTION_TYPES,
    PHONE_TYPES,
    TRANSFORMS,
    ColumnSpec,
    Lookup,
)

COLUMN_KEYS = (
    "field", "type", "transform", "split", "format", "true_values", "false_values",
    "phone_type", "lookup", "create_options", "options", "required",
)
LOOKUP_KEYS = ("resource", "by", "create_missing", "scope")
# Built-in fields whose related resource and type are fixed by Concord.
RELATED_RESOURCES = {
    "user_id": "users", "source_id": "sources", "industry_id": "industries",
    "country_id": "countries", "stage_id": "pipeline-stages", "pipeline_id": "pipelines",
    "parent_company_id": "companies", "activity_type_id": "activity-types",
    "call_outcome_id": "call-outcomes",
    "companies": "companies", "contacts": "contacts", "deals": "deals",
}
FIXED_TYPES = {
    "id": "Id", "phones": "Phone", "tags": "Tags",
    **{name: ("Association" if name in ("companies", "contacts", "deals") else "BelongsTo")
       for name in RELATED_RESOURCES},
}
MULTI_VALUE_TYPES = (*MULTI_OPTION_TYPES, "Tags", "Association", "Phone")
DATE_TYPES = ("Date", "DateTime", "DateOrDateTime")
LOOKUP_TYPES = ("BelongsTo", "Association")
LOOKUP_ALIASES = {
    "stage": "pipeline-stages", "stages": "pipeline-stages", "pipeline_stages": "pipeline-stages",
    "owner": "users", "owners": "users", "user": "users", "source": "sources",
    "industry": "industries", "country": "countries", "company": "companies",
    "contact": "contacts", "deal": "deals", "pipeline": "pipelines", "product": "products",
    "activity_types": "activity-types", "activity-type": "activity-types",
    "type": "activity-types", "call_outcomes": "call-outcomes", "outcome": "call-outcomes",
    "outcomes": "call-outcomes",
}

_CUSTOM_FIELD = re.compile(r"cf_[a-z_]+")
_ATTRIBUTE = re.compile(r"[a-z][a-z0-9_]*")
_LOOKUP_BY = re.compile(r"[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)*")
_FORMAT_SAMPLE = datetime(2024, 11, 23, 13, 45, 30, tzinfo=UTC)


def parse_field_name(rules: DocumentChecker, value: Any, key: KeyPath) -> str:
    """A CRM attribute: ``first_name``, ``user_id``, ``id`` or a custom field ``cf_tier``."""
    name = rules.text(value, key, "a CRM field such as first_name or cf_customer_tier")
    if name.startswith("cf_"):
        if not _CUSTOM_FIELD.fullmatch(name) or len(name) > 64:
            message = (
                f"custom field id {name!r} is malformed: expected 'cf_' followed by lower-case "
                "letters and underscores only (no digits, spaces or capitals), e.g. cf_customer_tier"
            )
            raise rules.error(key, message)
    elif not _ATTRIBUTE.fullmatch(name):
        guess = re.sub(r"[^a-z0-9]+", "_", name.strip().lower()).strip("_")
        message = (
            f"{name!r} is not a CRM field attribute; expected a lower-case attribute such as "
            f"first_name, user_id or cf_customer_tier (perhaps {guess!r}?)"
        )
        raise rules.error(key, message)
    return name


def parse_column(rules: DocumentChecker, header: str, value: Any, key: KeyPath) -> ColumnSpec:
    """``Header: field`` (shorthand) or ``Header: {field: ..., ...}`` (full form)."""
    line = rules.document.line(key)
    if not header.strip():
        raise rules.error(key, "empty column header; expected the header text of the file")
    if isinstance(value, str):
        return ColumnSpec(column=header, field=parse_field_name(rules, value, key), line=line)
    if value is None:
        message = "no field given; write `Header: field` or comment the column out (`# Fax: ?`)"
        raise rules.error(key, message)
    obj = rules.mapping(value, key, "a field name or a mapping with `field:`")
    rules.keys(obj, key, COLUMN_KEYS, required=("field",))
    field = parse_field_name(rules, obj["field"], (*key, "field"))
    ftype = _type(rules, obj, key, field)
    spec: dict[str, Any] = {"column": header, "field": field, "line": line, "type": ftype}
    effective = ftype or FIXED_TYPES.get(field)
    if "transform" in obj:
        spec["transform"] = _transforms(rules, obj["transform"], (*key, "transform"))
    if "split" in obj:
        spec["split"] = _split(rules, obj["split"], (*key, "split"), field, effective)
    if "format" in obj:
        spec["format"] = _format(rules, obj["format"], (*key, "format"), field, effective)
    _booleans(rules, obj, key, field, effective, spec)
    if "phone_type" in obj:
        spec["phone_type"] = _phone_type(rules, obj["phone_type"], (*key, "phone_type"), field)
    if "lookup" in obj:
        spec["lookup"] = _lookup(rules, obj["lookup"], (*key, "lookup"), field, effective)
    if "create_options" in obj:
        spec["create_options"] = _create_options(rules, obj, key, field, effective)
    if "options" in obj:
        spec["options"] = _options(rules, obj["options"], (*key, "options"), field, effective)
    if "required" in obj:
        spec["required"] = rules.flag(obj["required"], (*key, "required"))
    return ColumnSpec(**spec)


def _type(rules: DocumentChecker, obj: dict[str, Any], key: KeyPath, field: str) -> str | None:
    if "type" not in obj:
        return None
    ftype = rules.choice(obj["type"], (*key, "type"), FIELD_TYPES, "type")
    fixed = FIXED_TYPES.get(field)
    if fixed is not None and ftype != fixed:
        message = f"field {field!r} is a {fixed} field in Concord; type {ftype} contradicts it"
        raise rules.error((*key, "type"), message)
    return ftype


def _wrong_type(rules: DocumentChecker, key: KeyPath, what: str, field: str, ftype: str,
                allowed: tuple[str, ...]) -> Exception:
    message = f"{what} only applies to {', '.join(allowed)} fields; {field!r} is {ftype}"
    return rules.error(key, message)


def _transforms(rules: DocumentChecker, value: Any, key: KeyPath) -> tuple[str, ...]:
    if isinstance(value, str):
        return (rules.choice(value, key, TRANSFORMS, "transform"),)
    if not isinstance(value, (list, tuple)) or not value:
        message = f"expected a transform or a list of them ({', '.join(TRANSFORMS)})"
        shown = "an empty list" if value == [] else rules.shown(value, key)
        raise rules.error(key, f"{message}, got {shown}")
    return tuple(
        rules.choice(item, (*key, i), TRANSFORMS, "transform") for i, item in enumerate(value)
    )


def _split(rules: DocumentChecker, value: Any, key: KeyPath, field: str,
           ftype: str | None) -> str:
    if not isinstance(value, str) or value == "":
        message = f"expected a non-empty separator such as ',' or ';', got {rules.shown(value, key)}"
        raise rules.error(key, message)
    if ftype is not None and ftype not in MULTI_VALUE_TYPES:
        raise _wrong_type(rules, key, "split", field, ftype, MULTI_VALUE_TYPES)
    return value


def _format(rules: DocumentChecker, value: Any, key: KeyPath, field: str,
            ftype: str | None) -> str:
    fmt = rules.text(value, key, 'a strptime date format such as "%d/%m/%Y"')
    if ftype is not None and ftype not in DATE_TYPES:
        raise _wrong_type(rules, key, "format", field, ftype, DATE_TYPES)
    problem = format_problem(fmt)
    if problem:
        raise rules.error(key, f"format {fmt!r} {problem}")
    return fmt


def format_problem(fmt: str) -> str | None:
    """Why ``fmt`` cannot read dates back (None when it round-trips 2024-11-23)."""
    if "%" not in fmt:
        return 'has no % directive; expected a strptime format such as "%d/%m/%Y"'
    try:
        text = _FORMAT_SAMPLE.strftime(fmt)
        parsed = datetime.strptime(text, fmt)
    except ValueError as exc:
        return f"is not a valid strptime format ({exc})"
    if parsed.date() != _FORMAT_SAMPLE.date():
        return (
            f"does not round-trip a date: 2024-11-23 is written {text!r} and read back as "
            f"{parsed:%Y-%m-%d}; it needs a day, a month and a year"
        )
    return None


def _booleans(rules: DocumentChecker, obj: dict[str, Any], key: KeyPath, field: str,
              ftype: str | None, spec: dict[str, Any]) -> None:
    for name in ("true_values", "false_values"):
        if name in obj:
            if ftype is not None and ftype != "Boolean":
                raise _wrong_type(rules, (*key, name), name, field, ftype, ("Boolean",))
            spec[name] = rules.labels(obj[name], (*key, name), "a cell value such as yes or x")
    truthy = {v.strip().casefold() for v in spec.get("true_values") or ()}
    for i, label in enumerate(spec.get("false_values") or ()):
        if label.strip().casefold() in truthy:
            many = isinstance(obj["false_values"], (list, tuple))
            item_key = (*key, "false_values", i) if many else (*key, "false_values")
            message = f"{label!r} is in both true_values and false_values; they must not overlap"
            raise rules.error(item_key, message)


def _phone_type(rules: DocumentChecker, value: Any, key: KeyPath, field: str) -> str:
    if field != "phones":
        message = f"phone_type only applies to the phones field, not {field!r}"
        raise rules.error(key, message)
    return rules.choice(value, key, PHONE_TYPES, "phone_type")


def _lookup(rules: DocumentChecker, value: Any, key: KeyPath, field: str,
            ftype: str | None) -> Lookup:
    obj = rules.mapping(value, key, "a lookup (resource, by, create_missing, scope)")
    rules.keys(obj, key, LOOKUP_KEYS, required=("resource",))
    resource = rules.choice(
        obj["resource"], (*key, "resource"), LOOKUP_RESOURCES, "lookup resource", LOOKUP_ALIASES
    )
    if field.startswith("cf_") or (ftype is not None and ftype not in LOOKUP_TYPES):
        shown = ftype or "a custom field"
        message = (
            f"lookup only applies to related-record fields (user_id, source_id, companies, ...); "
            f"{field!r} is {shown}"
        )
        raise rules.error(key, message)
    expected = RELATED_RESOURCES.get(field)
    if expected is not None and resource != expected:
        message = f"field {field!r} refers to {expected}, not {resource}"
        raise rules.error((*key, "resource"), message)
    spec: dict[str, Any] = {"resource": resource}
    if "by" in obj:
        by = rules.text(obj["by"], (*key, "by"), "a field of the related record (name, email, id)")
        if not _LOOKUP_BY.fullmatch(by):
            message = f"expected a field of the related record such as name or email, got {by!r}"
            raise rules.error((*key, "by"), message)
        allowed = LOOKUP_FIELDS.get(resource, ())
        if by != "id" and by not in allowed and not by.startswith("cf_"):
            message = (
                f"{resource} cannot be looked up by {by!r}; use one of: id, {', '.join(allowed)}"
            )
            raise rules.error((*key, "by"), message)
        spec["by"] = by
    if "create_missing" in obj:
        create = rules.flag(obj["create_missing"], (*key, "create_missing"))
        if create and resource not in LOOKUP_CREATABLE:
            message = (
                f"{resource} cannot be created from a cell value; create_missing only works for "
                f"{', '.join(LOOKUP_CREATABLE)}"
            )
            raise rules.error((*key, "create_missing"), message)
        spec["create_missing"] = create
    if "scope" in obj:
        spec["scope"] = _scope(rules, obj["scope"], (*key, "scope"))
    return Lookup(**spec)


def _scope(rules: DocumentChecker, value: Any, key: KeyPath) -> MappingProxyType:
    obj = rules.mapping(value, key, "a mapping such as `{pipeline: Sales Pipeline}`")
    out: dict[str, Any] = {}
    for name, item in obj.items():
        if item is None or isinstance(item, (dict, list)):
            message = f"expected a plain value, got {rules.shown(item, (*key, name))}"
            raise rules.error((*key, name), message)
        out[name] = item
    return MappingProxyType(out)


def _create_options(rules: DocumentChecker, obj: dict[str, Any], key: KeyPath, field: str,
                    ftype: str | None) -> bool:
    value = rules.flag(obj["create_options"], (*key, "create_options"))
    if ftype is not None and ftype not in OPTION_TYPES:
        raise _wrong_type(rules, (*key, "create_options"), "create_options", field, ftype,
                          OPTION_TYPES)
    return value


def _options(rules: DocumentChecker, value: Any, key: KeyPath, field: str,
             ftype: str | None) -> tuple[str, ...]:
    allowed = (*OPTION_TYPES, "Enum")
    if ftype is None:
        message = f"options need a type: add `type:` ({', '.join(allowed)}) to say how to read them"
        raise rules.error(key, message)
    if ftype not in allowed:
        raise _wrong_type(rules, key, "options", field, ftype, allowed)
    labels = rules.labels(value, key, "an option label")
    seen: set[str] = set()
    for i, label in enumerate(labels):
        item_key = (*key, i) if isinstance(value, (list, tuple)) else key
        folded = label.strip().casefold()
        if folded in seen:
            raise rules.error(item_key, f"option {label!r} is listed twice")
        if "," in label and ftype in OPTION_TYPES:
            raise rules.error(item_key, f"option {label!r} contains a comma (Concord forbids it)")
        seen.add(folded)
    return labels
