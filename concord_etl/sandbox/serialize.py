"""Records → the JSON Concord answers with (unwrapped objects, Carbon timestamps, numbers)."""

from __future__ import annotations

from typing import Any

from . import billable as bill
from . import customfields as cfs
from . import relations as rel
from . import values
from .resources import RELATION_KEYS, RESOURCES, Resource
from .store import Row, Store

_AUTH = {"view": True, "update": True, "delete": True}
_RELATION_NAMES = {fk: (name, related) for name, (fk, related) in RELATION_KEYS.items()}


def user_json(user: Row | None) -> dict[str, Any] | None:
    if user is None:
        return None
    return {
        "id": user["id"], "name": user["name"], "email": user.get("email"),
        "timezone": user.get("timezone") or "UTC", "locale": "en", "avatar_url": None,
        "super_admin": bool(user.get("super_admin")), "access_api": bool(user.get("access_api")),
        "time_format": user.get("time_format") or "H:i",
        "date_format": user.get("date_format") or "Y-m-d",
        "display_name": user["name"], "created_at": values.iso_ts(user.get("created_at")),
        "updated_at": values.iso_ts(user.get("updated_at")),
    }


def related_json(store: Store, related: str, rid: Any) -> dict[str, Any] | None:
    row = store.get(related, rid) if isinstance(rid, int) else None
    if row is None:
        return None
    if related == "users":
        return user_json(row)
    keys: tuple[str, ...]
    if related == "countries":
        keys = ("id", "name", "iso_3166_2", "iso_3166_3")
    elif related == "pipeline-stages":
        keys = ("id", "name", "win_probability", "display_order", "pipeline_id")
    elif related == "activity-types":
        keys = ("id", "name", "icon", "swatch_color", "flag")
    elif related == "companies":
        return {"id": row["id"], "name": row["name"], "display_name": row["name"],
                "path": f"/companies/{row['id']}"}
    else:
        keys = ("id", "name", "flag")
    return {k: row.get(k) for k in keys}


def display_name(resource: Resource, row: Row) -> Any:
    if resource.display == "full_name":
        return rel.full_name(row)
    return row.get(resource.display)


def record_json(store: Store, resource: Resource, row: Row, *, full: bool = True,
                with_: frozenset[str] = frozenset(), created: bool = False,
                trashed: bool = False) -> dict[str, Any]:
    """One record as the API shows it (``full``: show/create/update with associations)."""
    if resource.name == "users":
        return {**user_json(row), "authorizations": _AUTH, "was_recently_created": created}  # type: ignore[dict-item]
    out: dict[str, Any] = {"id": row["id"], "display_name": display_name(resource, row)}
    if resource.detail_path:
        out["path"] = f"/{resource.name}/{row['id']}"
    for fld in resource.fields:
        _field_json(store, resource, fld.attribute, fld.type, row, out, full, with_)
    if resource.custom_fields:
        for cf in cfs.definitions(store, resource.name):
            out[cf["field_id"]] = custom_value(store, cf, row.get(cf["field_id"]))
    _extras(store, resource, row, out)
    out["created_at"] = values.iso_ts(row.get("created_at"))
    out["updated_at"] = values.iso_ts(row.get("updated_at"))
    if trashed or row.get("deleted_at"):
        out["deleted_at"] = values.iso_ts(row.get("deleted_at"))
    out["authorizations"] = _AUTH
    out["was_recently_created"] = created
    return out


def _field_json(store: Store, resource: Resource, attr: str, ftype: str, row: Row,
                out: dict[str, Any], full: bool, with_: frozenset[str]) -> None:
    value = row.get(attr)
    if ftype == "BelongsTo":
        out[attr] = value
        name, related = _RELATION_NAMES.get(attr, (attr.removesuffix("_id"), ""))
        out[name] = related_json(store, related, value) if related else None
    elif ftype == "Phone":
        out[attr] = [dict(p) for p in value or ()]
    elif ftype == "Guests":
        out[attr] = rel.guests_json(store, value)
    elif ftype == "Tags":
        tags = store.table("tags")
        out[attr] = [dict(tags[t]) for t in value or () if t in tags]
    elif ftype == "Association":
        ids = [i for i in store.linked((resource.name, int(row["id"])), attr)
               if not (store.get(attr, i) or {}).get("deleted_at")]
        out[f"{attr}_count"] = len(ids)
        if full or attr in with_:
            target = RESOURCES[attr]
            out[attr] = [record_json(store, target, store.table(attr)[i], full=False)
                         for i in ids]
    else:
        out[attr] = scalar_json(ftype, value, date_only_allowed=attr in ("due_date", "end_date"))


def scalar_json(ftype: str, value: Any, *, date_only_allowed: bool = False) -> Any:
    if value is None:
        return None
    if ftype in ("Decimal", "Numeric"):
        return values.json_number(value)
    if ftype == "Date":
        return values.iso_ts(value)
    if ftype == "DateTime":
        if date_only_allowed and len(str(value)) == 10:
            return value
        return values.iso_ts(value)
    return value


def custom_value(store: Store, cf: Row, value: Any) -> Any:
    ftype = cf["field_type"]
    if ftype in cfs.MULTI_TYPES:
        opts = store.table("options")
        return [cfs.option_json(opts[i]) for i in value or () if i in opts]
    if ftype == "Boolean":
        return bool(value)
    return scalar_json(ftype, value)


def _extras(store: Store, resource: Resource, row: Row, out: dict[str, Any]) -> None:
    name = resource.name
    if name == "contacts":
        out["full_name"] = rel.full_name(row)
    if name in ("contacts", "companies", "deals"):
        out["owner_assigned_date"] = values.iso_ts(row.get("owner_assigned_date"))
    if name == "deals":
        for key in ("won_date", "lost_date", "stage_changed_date"):
            out[key] = values.iso_ts(row.get(key))
        out["products_count"] = bill.count(store, int(row["id"]))
    elif name == "activities":
        out["is_completed"] = bool(row.get("is_completed"))
        out["completed_at"] = values.iso_ts(row.get("completed_at"))
        out["created_by"] = row.get("created_by")
    elif name == "products":
        out["created_by"] = row.get("created_by")
    elif name in ("notes", "calls"):
        out["user_id"] = row.get("user_id")
        out["user"] = related_json(store, "users", row.get("user_id"))
        out["comments_count"] = 0
    elif name == "pipelines":
        out["flag"] = row.get("flag")
        stages = [s for s in store.table("pipeline-stages").values() if s["pipeline_id"] == row["id"]]
        out["stages"] = [related_json(store, "pipeline-stages", s["id"])
                         for s in sorted(stages, key=lambda s: (s.get("display_order") or 0, s["id"]))]
    elif name in ("sources", "industries", "activity-types"):
        out["flag"] = row.get("flag")
        if name == "activity-types":
            out["icon"] = row.get("icon")


def country_json(row: Row) -> dict[str, Any]:
    return {k: row.get(k) for k in ("id", "name", "iso_3166_2", "iso_3166_3")}
