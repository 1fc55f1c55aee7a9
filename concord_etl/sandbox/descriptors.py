"""``/api/{resource}/create-fields`` and ``update-fields``: one descriptor per field."""

from __future__ import annotations

from typing import Any

from . import customfields as cfs
from .resources import Field, Resource
from .store import Row, Store

_COMPONENTS = {
    "Text": "text-field", "Textarea": "textarea-field", "Email": "email-field",
    "Url": "url-field", "Number": "numeric-field", "Numeric": "numeric-field",
    "Decimal": "numeric-field", "Date": "date-field", "DateTime": "date-time-field",
    "Boolean": "boolean-field", "ColorSwatch": "color-swatch-field",
    "Timezone": "timezone-field", "Select": "select-field", "Radio": "radio-field",
    "Checkbox": "checkbox-field", "MultiSelect": "select-multiple-field",
    "Enum": "select-field", "BelongsTo": "belongs-to-field", "Phone": "phone-field",
    "Tags": "tags-field", "Association": "associations-field", "Guests": "guests-select-field",
}


def descriptors(store: Store, resource: Resource) -> list[dict[str, Any]]:
    out = [_builtin(f) for f in resource.fields if f.listed]
    if resource.custom_fields:
        for cf in sorted(cfs.definitions(store, resource.name), key=lambda c: c["id"]):
            out.append(_custom(store, cf))
    return out


def _builtin(fld: Field) -> dict[str, Any]:
    return _descriptor(
        fld.attribute, fld.label, fld.type, required=fld.required, unique=fld.unique,
        max_length=fld.max_length if fld.type in ("Text", "Email", "Url") else None,
        related=fld.related, choices=list(fld.choices),
    )


def _custom(store: Store, cf: Row) -> dict[str, Any]:
    ftype = cf["field_type"]
    item = _descriptor(
        cf["field_id"], cf["label"], ftype, unique=bool(cf.get("is_unique")),
        max_length=191 if ftype in ("Text", "Email", "Url") else None,
    )
    item["customField"] = cfs.short_definition(cf)
    if ftype in cfs.OPTION_TYPES:
        item["options"] = [cfs.option_json(o) for o in cfs.options(store, cf)]
    return item


def _descriptor(attribute: str, label: str, ftype: str, *, required: bool = False,
                unique: bool = False, max_length: int | None = None, related: str | None = None,
                choices: list[str] | None = None) -> dict[str, Any]:
    return {
        "attribute": attribute, "label": label, "type": ftype,
        "component": _COMPONENTS.get(ftype, "text-field"), "isRequired": required,
        "isUnique": unique, "customField": None, "options": [], "relatedResource": related,
        "choices": choices or [], "maxLength": max_length, "valueKey": "id", "labelKey": "name",
    }
