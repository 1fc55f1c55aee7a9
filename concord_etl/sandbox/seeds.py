"""Seeds: ``demo`` (seeds/demo.json), ``empty`` (a subset of it), a JSON file or a dict."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from . import catalogs, records, values
from . import customfields as cfs
from .resources import RESOURCES
from .store import Store
from .validation import HttpError

SEED_DIR = Path(__file__).resolve().parent / "seeds"
ACTIVITY_TYPES = (
    ("Call", "phone", "#a3e635", "call"), ("Meeting", "users", "#64748b", "meeting"),
    ("Task", "calendar", "#f43f5e", "task"), ("Email", "mail", "#818cf8", "email"),
    ("Deadline", "clock", "#f59e0b", "deadline"),
)
CALL_OUTCOMES = (
    ("No Answer", "#f43f5e"), ("Busy", "#f59e0b"), ("Wrong Number", "#64748b"),
    ("Unavailable", "#818cf8"), ("Left voice message", "#a3e635"),
    ("Moved conversation forward", "#22c55e"),
)


class SeedError(ValueError):
    """A seed file that cannot be applied (names the part that failed)."""


def load(spec: Any) -> dict[str, Any]:
    if isinstance(spec, dict):
        return spec
    name = str(spec)
    if name in ("demo", "empty"):
        demo = json.loads((SEED_DIR / "demo.json").read_text(encoding="utf-8"))
        return demo if name == "demo" else _empty(demo)
    path = Path(name)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SeedError(f"cannot read seed file {path}: {exc}") from None
    if not isinstance(data, dict):
        raise SeedError(f"seed file {path}: expected a JSON object at the top level")
    return data


def _empty(demo: dict[str, Any]) -> dict[str, Any]:
    """User 1, the default pipeline and the sources of the demo seed (countries: all)."""
    return {"users": demo["users"][:1], "pipelines": demo["pipelines"][:1],
            "sources": demo["sources"], "settings": demo.get("settings", {})}


def reset(store: Store, spec: Any) -> None:
    seed = load(spec)
    store.wipe()
    apply(store, seed)


def apply(store: Store, seed: dict[str, Any]) -> None:
    """Create everything a seed describes, in one transaction."""
    with store.transaction():
        now = values.stamp()
        _users(store, seed.get("users") or [], now)
        _pipelines(store, seed.get("pipelines") or [], now)
        for key, coll in (("sources", "sources"), ("industries", "industries")):
            for item in seed.get(key) or []:
                _put(store, coll, dict(item), now)
        # Every install ships all ISO 3166 countries; a seed may give its own list instead.
        countries = seed.get("countries")
        for item in catalogs.countries() if countries is None else countries:
            _put(store, "countries", dict(item), now)
        types = seed.get("activity_types") or [
            {"name": n, "icon": i, "swatch_color": c, "flag": f} for n, i, c, f in ACTIVITY_TYPES]
        for item in types:
            _put(store, "activity-types", dict(item), now)
        outcomes = seed.get("call_outcomes") or [
            {"name": n, "swatch_color": c} for n, c in CALL_OUTCOMES]
        for item in outcomes:
            _put(store, "call-outcomes", dict(item), now)
        for i, body in enumerate(seed.get("custom_fields") or []):
            try:
                cfs.create_field(store, dict(body))
            except HttpError as exc:
                raise SeedError(f"custom_fields[{i}] ({body.get('field_id')}): {exc.body}") from None
        store.set_meta("settings", {"contact_phone_unique": True, "currency": "USD",
                                    **(seed.get("settings") or {})})
        _records(store, seed.get("records") or {})
        store.set_meta("seeded", True)


def _put(store: Store, coll: str, row: dict[str, Any], now: str) -> dict[str, Any]:
    row["id"] = int(row.get("id") or store.next_id(coll))
    row.setdefault("created_at", now)
    row.setdefault("updated_at", now)
    if coll in ("sources", "industries", "pipelines"):
        row.setdefault("flag", None)
    store.put(coll, row)
    if row["id"] >= int(store.meta.get(f"seq:{coll}") or 0):
        store.set_meta(f"seq:{coll}", row["id"])
    return row


def _users(store: Store, users: list[dict[str, Any]], now: str) -> None:
    for item in users:
        row = {"super_admin": False, "access_api": True, "timezone": "UTC", "token": None,
               **item}
        _put(store, "users", row, now)
    if store.get("users", 1) is None:
        _put(store, "users", {"id": 1, "name": "Admin User", "email": "admin@example.com",
                              "super_admin": True, "access_api": True, "timezone": "UTC"}, now)


def _pipelines(store: Store, pipelines: list[dict[str, Any]], now: str) -> None:
    for item in pipelines:
        stages = item.get("stages") or []
        row = _put(store, "pipelines", {k: v for k, v in item.items() if k != "stages"}, now)
        for order, stage in enumerate(stages, start=1):
            _put(store, "pipeline-stages", {
                "win_probability": 100, "display_order": order, **stage,
                "pipeline_id": row["id"]}, now)


def _records(store: Store, recs: dict[str, list[dict[str, Any]]]) -> None:
    admin = store.get("users", 1) or {"id": 1}
    for name, items in recs.items():
        resource = RESOURCES.get(name)
        if resource is None:
            raise SeedError(f"records.{name}: unknown resource")
        for i, item in enumerate(items):
            body = dict(item)
            trashed = bool(body.pop("_trashed", False))
            try:
                row = records.create(store, resource, body, admin)
            except HttpError as exc:
                raise SeedError(f"records.{name}[{i}]: {exc.body}") from None
            if trashed:
                records.delete(store, resource, row)
