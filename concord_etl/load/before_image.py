"""Before-images: what an import changes, kept so that ``revert`` can set it back.

Every update an import sends is journalled with the fields it changes, each with the value the
record had before (``before``) and the value the import wrote (``wrote``), both in the form the
API accepts back:

- Select/Radio: the option id; Checkbox/MultiSelect, ``companies``/``contacts``/``deals``: id
  lists; phones: ``[{number, type}]``; tags: names; BelongsTo: the id; Date: ``YYYY-MM-DD``;
  DateTime and activity dates: as Concord shows them; activity ``guests``:
  ``{users: [ids], contacts: [ids]}``; anything else: the value.

The image is JSON in the journal's ``before`` column, written in the same transaction as the
write's intent (before the request leaves)::

    {"v": 1, "fields": {"job_title": {"type": "Text", "before": "CTO", "wrote": "CEO"}}}

A record restored from the trash by the import adds ``"restored": true`` (``before`` is then
the trashed record's values). A deal line item keeps ``"line": {"before": {...}, "wrote":
{...}}`` (an update) and ``"deal": {"id", "tax_type", "amount"}`` — the billable's tax type and,
when the deal had no line items yet, its amount (Concord recalculates the amount from its lines).

``same_value`` compares a value with a record field the way the import decides "unchanged", so
a revert's conflict check agrees with the import's own comparison.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from concord_etl.crm.fields import FieldSpec, ResourceFields
from concord_etl.load.payloads import changed_fields, jsonable
from concord_etl.mapping.model import basic_type

IMAGE_VERSION = 1
ASSOCIATIONS = ("companies", "contacts", "deals")
# Option fields whose empty value Concord ignores: a revert cannot empty them again.
UNCLEARABLE = ("Select", "Radio")


def field_type(name: str, spec: FieldSpec | None) -> str:
    """The logical type of a field (from its descriptor, else from its well-known name)."""
    if spec is not None:
        return spec.type
    if name == "phones":
        return "Phone"
    if name == "tags":
        return "Tags"
    if name in ASSOCIATIONS or name == "guests":
        return "Association"
    return "Text"


def api_value(record: Mapping[str, Any], name: str, ftype: str) -> Any:
    """A record's value of ``name`` in the form a write accepts back (see the module doc).

    ``None`` for an association list the record came without (unknown, not empty).
    """
    value = record.get(name)
    kind = basic_type(ftype)
    if name == "guests":
        return _guests(value)
    if kind in ("Checkbox", "MultiSelect") or kind == "Association" or name in ASSOCIATIONS:
        if value is None and kind == "Association":
            return None
        return _ids(value)
    if kind == "Phone" or name == "phones":
        return [{"number": p.get("number"), "type": p.get("type") or "mobile"}
                for p in value or () if isinstance(p, Mapping)]
    if kind == "Tags" or name == "tags":
        return [str(t.get("name")) if isinstance(t, Mapping) else str(t) for t in value or ()]
    if kind in ("Select", "Radio", "BelongsTo"):
        return value.get("id") if isinstance(value, Mapping) else value
    if kind == "Date" and isinstance(value, str):
        return value[:10]
    return jsonable(value)


def before_image(changes: Mapping[str, Any], record: Mapping[str, Any], fields: ResourceFields,
                 *, restored: bool = False) -> dict[str, Any]:
    """The image of an update: each field of ``changes`` as ``record`` had it, and as written."""
    image: dict[str, Any] = {"v": IMAGE_VERSION, "fields": {}}
    for name, wrote in changes.items():
        spec = fields.get(name)
        ftype = field_type(name, spec)
        entry: dict[str, Any] = {"type": ftype, "before": api_value(record, name, ftype),
                                 "wrote": jsonable(wrote)}
        if spec is not None and spec.custom:
            entry["custom"] = True
        image["fields"][name] = entry
    if restored:
        image["restored"] = True
    return image


def same_value(value: Any, record: Mapping[str, Any], name: str, ftype: str) -> bool:
    """Whether ``record`` holds ``value`` in ``name`` (the import's own comparison)."""
    spec = FieldSpec(attribute=name, label=name, type=ftype)
    shim = ResourceFields(resource="", fields={name: spec})
    return not changed_fields({name: value}, dict(record), shim)


def cannot_clear(entry: Mapping[str, Any]) -> bool:
    """A field the API cannot set back to empty (an option custom field that was empty)."""
    return entry.get("before") is None and entry.get("type") in UNCLEARABLE \
        and bool(entry.get("custom"))


# -- deal line items --------------------------------------------------------------------------


def line_image(wrote: Mapping[str, Any], current: Mapping[str, Any] | None,
               deal: Mapping[str, Any] | None) -> dict[str, Any]:
    """The image of one line-item write: the line as it was (an update) and the deal's state."""
    image: dict[str, Any] = {"v": IMAGE_VERSION}
    body = {k: jsonable(v) for k, v in wrote.items() if k != "id"}
    if current is not None:
        image["line"] = {"before": {k: jsonable(current.get(k)) for k in body}, "wrote": body}
    if deal:
        image["deal"] = dict(deal)
    return image


# -- helpers ----------------------------------------------------------------------------------


def _ids(value: Any) -> list[Any]:
    if value is None:
        return []
    items = value if isinstance(value, (list, tuple)) else [value]
    out = []
    for item in items:
        if isinstance(item, Mapping):
            item = item.get("id")
        if item is not None and item not in out:
            out.append(item)
    return out


def _guests(value: Any) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {"users": [], "contacts": []}
    for item in value or ():
        if isinstance(item, Mapping) and item.get("resource_name") in out:
            out[str(item["resource_name"])].append(item.get("id"))
    return out
