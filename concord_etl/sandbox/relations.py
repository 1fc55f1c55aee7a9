"""Related values sent on a record: BelongsTo keys, phones, tags and association keys."""

from __future__ import annotations

from typing import Any

from . import values
from .resources import Field, Resource
from .store import Row, Store
from .validation import HttpError, is_empty

PHONE_TYPES = ("mobile", "work", "other")
USER_UNKNOWN = "You provided a user that don't exists. You must add the user ID or the user full name."


def live(store: Store, resource: str) -> list[Row]:
    return [r for r in store.table(resource).values() if not r.get("deleted_at")]


def full_name(row: Row) -> str:
    return " ".join(p for p in (row.get("first_name"), row.get("last_name")) if p)


# --------------------------------------------------------------------- BelongsTo
def resolve_belongs_to(store: Store, field: Field, value: Any) -> tuple[int | None, str | None, str | None]:
    """→ (existing id, name to create, error message)."""
    related = field.related or ""
    invalid = USER_UNKNOWN if related == "users" else f"The selected {field.label} is invalid."
    if isinstance(value, (bool, list | dict)):
        return None, None, invalid
    as_int = values.parse_int(value)
    rows = store.table(related)
    if as_int is not None and as_int in rows and not rows[as_int].get("deleted_at"):
        return as_int, None, None
    text = str(value).strip()
    match = by_label(store, related, text)
    if match is not None:
        return match, None, None
    if field.creates:
        return None, text, None
    return None, None, invalid


def by_label(store: Store, related: str, text: str) -> int | None:
    key = text.casefold()
    for row in live(store, related):
        if related == "countries" and text in (row.get("iso_3166_2"), row.get("iso_3166_3")):
            return int(row["id"])
        name = row.get("name")
        if isinstance(name, str) and name.strip().casefold() == key:
            return int(row["id"])
    return None


def create_named(store: Store, related: str, name: str) -> int:
    now = values.stamp()
    row: Row = {"id": store.next_id(related), "name": name, "created_at": now, "updated_at": now}
    if related in ("sources", "pipelines"):
        row["flag"] = None
    store.put(related, row)
    return int(row["id"])


# ------------------------------------------------------------------------ phones
def parse_phones(value: Any) -> list[dict[str, str]] | None:
    """All accepted phone forms → [{number, type}]; None when the shape is unusable."""
    if isinstance(value, dict):
        value = [value]
    if isinstance(value, str | int):
        value = str(value).split(",")
    if not isinstance(value, list):
        return None
    phones: list[dict[str, str]] = []
    for item in value:
        if isinstance(item, dict):
            number, ptype = item.get("number"), item.get("type")
        elif isinstance(item, str | int) and not isinstance(item, bool):
            number, _, ptype = str(item).partition("|")
        else:
            return None
        number = str(number).strip() if number is not None else ""
        if not number:
            continue
        ptype = str(ptype or "").strip().lower()
        phones.append({"number": number, "type": ptype if ptype in PHONE_TYPES else "mobile"})
    return phones


def phone_owner(store: Store, resource: str, number: str, exclude: int | None) -> int | None:
    for row in store.find(resource, "phones.number", number):
        if row["id"] == exclude:
            continue
        if any(phone["number"] == number for phone in row.get("phones") or ()):
            return int(row["id"])
    return None


def sync_phones(store: Store, record: Row, phones: list[dict[str, str]]) -> None:
    current = {p["number"]: p for p in record.get("phones") or ()}
    result = []
    for phone in phones:
        old = current.get(phone["number"])
        pid = old["id"] if old else store.next_id("phones")
        result.append({"id": pid, "number": phone["number"], "type": phone["type"]})
    record["phones"] = result


# -------------------------------------------------------------------------- tags
def parse_tags(value: Any) -> list[str] | None:
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list):
        return None
    names: list[str] = []
    for item in value:
        if isinstance(item, dict):
            item = item.get("name")
        if is_empty(item):
            continue
        name = str(item).strip()
        if name.casefold() not in {n.casefold() for n in names}:
            names.append(name)
    return names


def tag_ids(store: Store, tag_type: str, names: list[str]) -> list[int]:
    existing = {t["name"].casefold(): t["id"] for t in store.table("tags").values()
                if t["type"] == tag_type}
    ids = []
    for name in names:
        tid = existing.get(name.casefold())
        if tid is None:
            order = len(store.table("tags")) + 1
            tid = store.next_id("tags")
            store.put("tags", {"id": tid, "name": name, "swatch_color": None,
                               "display_order": order, "type": tag_type})
            existing[name.casefold()] = tid
        ids.append(tid)
    return ids


# ------------------------------------------------------------------ associations
def split_keys(value: Any) -> list[Any]:
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list):
        value = [value]
    out = []
    for item in value:
        if isinstance(item, dict):
            item = item.get("id")
        if isinstance(item, str):
            item = item.strip()
        if not is_empty(item):
            out.append(item)
    return out


def resolve_association_keys(store: Store, related: str, keys: list[Any]) -> list[int]:
    """Ids or names (contacts also by e-mail) → ids; unknown keys are ignored."""
    ids: list[int] = []
    rows = store.table(related)
    for key in keys:
        as_int = values.parse_int(key) if not isinstance(key, float) else None
        if as_int is not None and as_int in rows and not rows[as_int].get("deleted_at"):
            ids.append(as_int)
            continue
        match = _association_by_name(store, related, str(key))
        if match is not None:
            ids.append(match)
    return list(dict.fromkeys(ids))


def _association_by_name(store: Store, related: str, key: str) -> int | None:
    needle = key.strip().casefold()
    candidates = sorted(store.table(related).values(), key=lambda r: (bool(r.get("deleted_at")), r["id"]))
    for row in candidates:
        names = [full_name(row), row.get("email")] if related == "contacts" else [row.get("name")]
        if any(isinstance(n, str) and n.strip().casefold() == needle for n in names):
            if row.get("deleted_at"):
                row["deleted_at"] = None
                store.put(related, row)
            return int(row["id"])
    return None


def association_object(resource: Resource, value: Any) -> dict[str, list[Any]]:
    """The generic ``associations`` body key; 400 for a resource that cannot be associated."""
    if not isinstance(value, dict):
        return {}
    out: dict[str, list[Any]] = {}
    for name, ids in value.items():
        if name not in resource.associable:
            text = f'The provided resource name "{name}" cannot be associated to the {resource.singular}'
            raise HttpError(400, {"message": text})
        out[name] = [i for i in split_keys(ids) if values.parse_int(i) is not None]
    return out


def apply_links(store: Store, resource: Resource, record: Row,
                links: dict[str, list[int]], creating: bool) -> None:
    me = (resource.name, int(record["id"]))
    for related, ids in links.items():
        if not creating:
            for old in store.linked(me, related):
                if old not in ids:
                    store.unlink(me, (related, old))
        for rid in ids:
            store.link(me, (related, rid))


# ------------------------------------------------------------------------ guests
GUEST_RESOURCES = ("users", "contacts")


def parse_guests(store: Store, value: Any) -> dict[str, list[int]] | None:
    """Activity guests ``{users: [ids], contacts: [ids]}``; unknown ids are dropped."""
    if not isinstance(value, dict):
        return None
    out: dict[str, list[int]] = {}
    for name in GUEST_RESOURCES:
        ids = [values.parse_int(i) for i in split_keys(value.get(name) or [])]
        out[name] = [i for i in dict.fromkeys(ids)
                     if i is not None and (row := store.get(name, i)) is not None
                     and not row.get("deleted_at")]
    return out


def guests_json(store: Store, guests: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for name in GUEST_RESOURCES:
        for gid in (guests or {}).get(name) or ():
            row = store.get(name, gid)
            if row is None:
                continue
            shown = row.get("name") if name == "users" else full_name(row)
            out.append({"id": gid, "resource_name": name, "display_name": shown,
                        "email": row.get("email")})
    return out
