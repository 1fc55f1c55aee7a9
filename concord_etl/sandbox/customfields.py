"""Custom fields: definitions, options (global ids), option resolution and the admin API."""

from __future__ import annotations

import re
from typing import Any

from . import values
from .resources import RESOURCES
from .store import Row, Store
from .validation import ErrorBag, HttpError, is_empty, normalize

FIELD_TYPES = ("Text", "Textarea", "Email", "Url", "Number", "Numeric", "Date", "DateTime",
               "Boolean", "ColorSwatch", "Timezone", "Select", "Radio", "Checkbox", "MultiSelect")
OPTION_TYPES = ("Select", "Radio", "Checkbox", "MultiSelect")
MULTI_TYPES = ("Checkbox", "MultiSelect")
UNIQUE_TYPES = ("Text", "Email", "Number", "Url")
CUSTOM_RESOURCES = ("contacts", "companies", "deals", "products")


def definitions(store: Store, resource: str) -> list[Row]:
    key = ("definitions", resource)
    found = store.cache.get(key)
    if found is None:
        found = sorted((cf for cf in store.table("custom_fields").values()
                        if cf["resource_name"] == resource), key=lambda cf: cf["id"])
        store.cache[key] = found
    return found


def by_field_id(store: Store, resource: str, field_id: str) -> Row | None:
    for cf in definitions(store, resource):
        if cf["field_id"] == field_id:
            return cf
    return None


def options(store: Store, cf: Row) -> list[Row]:
    found = [o for o in store.table("options").values() if o["custom_field_id"] == cf["id"]]
    return sorted(found, key=lambda o: (o.get("display_order") or 0, o["id"]))


def option_json(option: Row) -> dict[str, Any]:
    return {"id": option["id"], "name": option["name"], "swatch_color": option.get("swatch_color")}


def find_option(store: Store, cf: Row, value: Any) -> Row | None:
    """An option of ``cf`` by id (int or numeric string) or by label (case-insensitive, trimmed)."""
    opts = options(store, cf)
    as_int = values.parse_int(value) if not isinstance(value, float) else None
    if as_int is not None:
        for opt in opts:
            if opt["id"] == as_int:
                return opt
    key = str(value).strip().casefold()
    for opt in opts:
        if opt["name"].strip().casefold() == key:
            return opt
    return None


def create_option(store: Store, cf: Row, name: str, swatch_color: str | None = None) -> Row:
    order = max((o.get("display_order") or 0 for o in options(store, cf)), default=0) + 1
    option = {"id": store.next_id("options"), "custom_field_id": cf["id"], "name": name,
              "display_order": order, "swatch_color": swatch_color}
    return store.put("options", option)


def split_multi(value: Any) -> list[Any]:
    """Checkbox/MultiSelect input: list, comma string or single scalar → entries."""
    if isinstance(value, list):
        items = value
    elif isinstance(value, str):
        items = value.split(",")
    else:
        items = [value]
    out: list[Any] = []
    for item in items:
        if isinstance(item, dict):
            item = item.get("id", item.get("name"))
        if isinstance(item, str):
            item = item.strip()
        if not is_empty(item):
            out.append(item)
    return out


def definition_json(store: Store, cf: Row) -> dict[str, Any]:
    return {
        "id": cf["id"], "field_type": cf["field_type"], "resource_name": cf["resource_name"],
        "field_id": cf["field_id"], "label": cf["label"],
        "options": [{**option_json(o), "custom_field_id": cf["id"],
                     "display_order": o.get("display_order")} for o in options(store, cf)],
        "is_unique": cf.get("is_unique"),
        "created_at": values.iso_ts(cf.get("created_at")),
        "updated_at": values.iso_ts(cf.get("updated_at")),
    }


# ------------------------------------------------------------------- admin API
def create_field(store: Store, body: dict[str, Any]) -> Row:
    body = normalize(body)
    errors = ErrorBag()
    resource = body.get("resource_name")
    ftype = body.get("field_type")
    if is_empty(resource):
        errors.add("resource_name", "The resource name field is required.")
    elif resource not in CUSTOM_RESOURCES:
        errors.add("resource_name", "The selected resource name is invalid.")
    _check_label(body, errors)
    if is_empty(ftype):
        errors.add("field_type", "The field type field is required.")
    elif ftype not in FIELD_TYPES:
        errors.add("field_type", "Field type is not supported")
    _check_field_id(store, resource, body.get("field_id"), errors)
    unique = body.get("is_unique")
    if unique not in (None, False, 0, "0", "false"):
        res = RESOURCES.get(str(resource))
        if values.parse_bool(unique) is None:
            errors.add("is_unique", "The is unique field must be true or false.")
        elif ftype not in UNIQUE_TYPES or res is None or not res.unique_custom_fields:
            errors.add("is_unique", "The is unique field is prohibited.")
    names = _check_options(ftype, body.get("options"), errors, existing=None)
    errors.raise_if_any()
    now = values.stamp()
    cf = {"id": store.next_id("custom_fields"), "field_type": ftype, "resource_name": resource,
          "field_id": body["field_id"], "label": body["label"],
          "is_unique": True if values.parse_bool(unique) else None,
          "created_at": now, "updated_at": now}
    store.put("custom_fields", cf)
    for i, (name, opt) in enumerate(names, start=1):
        option = create_option(store, cf, name, opt.get("swatch_color"))
        option["display_order"] = opt.get("display_order") or i
    return cf


def update_field(store: Store, cf: Row, body: dict[str, Any]) -> Row:
    body = normalize(body)
    errors = ErrorBag()
    _check_label(body, errors)
    unique = values.parse_bool(body.get("is_unique")) if body.get("is_unique") is not None else None
    if unique and not cf.get("is_unique"):
        errors.add("is_unique", "The is unique field is prohibited.")
    incoming = body.get("options") if "options" in body else None
    names = []
    if "options" in body or cf["field_type"] in OPTION_TYPES:
        names = _check_options(cf["field_type"], incoming if "options" in body else
                               [option_json(o) for o in options(store, cf)], errors, existing=cf)
    errors.raise_if_any()
    cf.update(label=body["label"], updated_at=values.stamp())
    if unique is False and cf.get("is_unique"):
        cf["is_unique"] = False
    store.put("custom_fields", cf)
    if "options" in body and cf["field_type"] in OPTION_TYPES:
        _sync_options(store, cf, names)
    return cf


def delete_field(store: Store, cf: Row) -> None:
    for record in store.table(cf["resource_name"]).values():
        if cf["field_id"] in record:
            record.pop(cf["field_id"])
            store.put(cf["resource_name"], record)
    for option in options(store, cf):
        store.remove("options", option["id"])
    store.remove("custom_fields", cf["id"])


def _check_label(body: dict[str, Any], errors: ErrorBag) -> None:
    label = body.get("label")
    if is_empty(label):
        errors.add("label", "The label field is required.")
    elif not isinstance(label, str):
        errors.add("label", "The label field must be a string.")
    elif len(label) > 191:
        errors.add("label", "The label field must not be greater than 191 characters.")


def _check_field_id(store: Store, resource: Any, field_id: Any, errors: ErrorBag) -> None:
    if is_empty(field_id):
        errors.add("field_id", "The field id field is required.")
        return
    if not isinstance(field_id, str):
        errors.add("field_id", "The field id field must be a string.")
        return
    if len(field_id) < 6:
        errors.add("field_id", "The field id field must be at least 6 characters.")
    if len(field_id) > 64:
        errors.add("field_id", "The field id field must not be greater than 64 characters.")
    if not re.fullmatch(r"[a-z_]+", field_id):
        errors.add("field_id", "Only lowercase alpha characters (a-z) and underscore (_) are accepted.")
    if not field_id.startswith("cf_"):
        errors.add("field_id", "The field id field must start with one of the following: cf_.")
    res = RESOURCES.get(str(resource))
    if res is not None and (by_field_id(store, res.name, field_id) is not None
                            or res.field(field_id) is not None):
        errors.add("field_id", "It looks like field with this ID already exists for the resource.")


def _check_options(ftype: Any, raw: Any, errors: ErrorBag,
                   existing: Row | None) -> list[tuple[str, dict[str, Any]]]:
    if ftype not in OPTION_TYPES:
        if not is_empty(raw) and existing is None:
            errors.add("options", "This field does not support options.")
        return []
    items = raw if isinstance(raw, list) else []
    names: list[tuple[str, dict[str, Any]]] = []
    for item in items:
        opt = item if isinstance(item, dict) else {"name": item}
        name = opt.get("name")
        if not is_empty(name):
            names.append((str(name), opt))
    if not names:
        errors.add("options", "Add options for this field.")
        return []
    if any("," in n for n, _ in names):
        errors.add("options", "Comas are not allowed in option names.")
    if len({n.casefold() for n, _ in names}) != len(names):
        errors.add("options", "All field options must be unique.")
    return names


def _sync_options(store: Store, cf: Row, names: list[tuple[str, dict[str, Any]]]) -> None:
    current = {o["id"]: o for o in options(store, cf)}
    keep: set[int] = set()
    for i, (name, opt) in enumerate(names, start=1):
        oid = values.parse_int(opt.get("id")) if opt.get("id") is not None else None
        if oid in current:
            option = current[oid]
            option.update(name=name, display_order=opt.get("display_order") or i,
                          swatch_color=opt.get("swatch_color", option.get("swatch_color")))
            store.put("options", option)
            keep.add(int(option["id"]))
        else:
            keep.add(create_option(store, cf, name, opt.get("swatch_color"))["id"])
    removed = set(current) - keep
    if not removed:
        return
    for oid in removed:
        store.remove("options", oid)
    for record in store.table(cf["resource_name"]).values():
        value = record.get(cf["field_id"])
        if cf["field_type"] in MULTI_TYPES and isinstance(value, list):
            if set(value) & removed:
                record[cf["field_id"]] = [v for v in value if v not in removed]
                store.put(cf["resource_name"], record)
        elif value in removed:
            record[cf["field_id"]] = None
            store.put(cf["resource_name"], record)


def require_super_admin(user: Row) -> None:
    if not user.get("super_admin"):
        raise HttpError(403, {"message": "Your account is not authorized to perform this action."})
