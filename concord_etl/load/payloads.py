"""Turn validated, resolved row values into Concord API bodies — and compare them to records.

Bodies are built one row at a time, just before they are sent (never all held in memory).
``changed_fields`` decides what an update must send: only fields whose value differs from the
CRM record, so a row equal to its record costs no write.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from concord_etl.crm.fields import FieldSpec, ResourceFields
from concord_etl.crm.wire import as_datetime
from concord_etl.mapping.model import basic_type
from concord_etl.validate.transforms import is_empty

Body = dict[str, Any]


def build_body(values: dict[str, Any], *, skip: Iterable[str] = ()) -> Body:
    """A create/update body from one row's field values; empty values are left out."""
    skipped = set(skip)
    body: Body = {}
    for field_name, value in values.items():
        if field_name in skipped or field_name == "id" or is_empty(value):
            continue
        body[field_name] = _plain(value)
    return body


def _plain(value: Any) -> Any:
    """Numpy/pandas scalars → Python scalars, recursively for lists and dicts."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    item = getattr(value, "item", None)
    if callable(item) and not isinstance(value, (str, bytes)):
        try:
            return item()
        except (TypeError, ValueError):
            return value
    return value


def jsonable(value: Any) -> Any:
    """A value as plain JSON data: numpy/pandas scalars unboxed, NA as None."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if is_empty(value):
        return None
    item = getattr(value, "item", None)
    return item() if callable(item) else str(value)


# -- comparing a body with a CRM record (updates send only what changed) ----------------------


def changed_fields(body: Body, record: dict[str, Any], fields: ResourceFields) -> Body:
    """The part of ``body`` that differs from ``record``."""
    changes: Body = {}
    for name, value in body.items():
        spec = fields.get(name)
        if not _same(value, record, name, spec):
            changes[name] = value
    return changes


def _same(value: Any, record: dict[str, Any], name: str, spec: FieldSpec | None) -> bool:
    if name not in record and name not in _RELATION_KEYS:
        return False
    current = record.get(name)
    if spec is not None and spec.type == "Domain":
        return _host(current) == _host(value)
    kind = basic_type(spec.type) if spec else "Text"
    if kind in ("Checkbox", "MultiSelect"):
        return _id_set(current) == _id_set(value)
    if kind == "Association" or name in _RELATION_KEYS:
        if current is None:
            return False  # the record came without its associations: cannot prove equality
        return _id_set(current) == _id_set(value)
    if kind == "Phone" or name == "phones":
        return _phone_set(current) == _phone_set(value)
    if kind == "Tags" or name == "tags":
        return _name_set(current) == _name_set(value)
    if kind in ("Number",):
        return _num(current) == _num(value)
    if kind in ("Numeric", "Decimal"):
        a, b = _num(current), _num(value)
        return a is not None and b is not None and abs(a - b) < 5e-4
    if kind == "Date":
        return _date_part(current) == _date_part(value)
    if kind == "DateTime":
        return _instant(current) == _instant(value)
    if kind == "DateOrDateTime":
        if len(_text(value)) == 10 or len(_text(current)) == 10:
            return _date_part(current) == _date_part(value) and len(_text(current)) == len(
                _text(value))
        return _instant(current) == _instant(value)
    if kind == "Boolean":
        return _bool(current) == _bool(value)
    if kind in ("Select", "Radio", "BelongsTo"):
        return _scalar_id(current) == _scalar_id(value)
    if kind == "Email":
        return _text(current).casefold() == _text(value).casefold()
    return _text(current) == _text(value)


_RELATION_KEYS = ("companies", "contacts", "deals")


def _id_set(value: Any) -> frozenset[str]:
    if value is None:
        return frozenset()
    items = value if isinstance(value, (list, tuple)) else [value]
    out = set()
    for item in items:
        if isinstance(item, dict):
            item = item.get("id", item.get("name"))
        out.add(str(item).strip().casefold())
    return frozenset(out)


def _phone_set(value: Any) -> frozenset[tuple[str, str]]:
    if not value:
        return frozenset()
    out = set()
    for item in value if isinstance(value, (list, tuple)) else [value]:
        if isinstance(item, dict):
            number, kind = item.get("number", ""), item.get("type") or "mobile"
        else:
            number, _, kind = str(item).partition("|")
            kind = kind or "mobile"
        out.add((re.sub(r"[^\d+]", "", str(number)), str(kind)))
    return frozenset(out)


def _name_set(value: Any) -> frozenset[str]:
    if not value:
        return frozenset()
    items = value if isinstance(value, (list, tuple)) else str(value).split(",")
    return frozenset(
        str(i.get("name") if isinstance(i, dict) else i).strip().casefold() for i in items
    )


def _num(value: Any) -> float | None:
    if value is None or value == "":
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _date_part(value: Any) -> str | None:
    if value is None:
        return None
    return str(value)[:10]


def _instant(value: Any) -> datetime | None:
    moment = as_datetime(value)
    return None if moment is None else moment.replace(microsecond=0)


def _bool(value: Any) -> bool | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def _scalar_id(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, dict):
        value = value.get("id")
    return str(value)


def _host(value: Any) -> str:
    """A domain as Concord stores it: the host of an ``http(s)://`` URL, else the text."""
    text = _text(value)
    found = re.match(r"^https?://([^/?#:]+)", text, re.IGNORECASE)
    return (found.group(1) if found else text).casefold()


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()
