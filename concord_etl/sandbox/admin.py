"""The ``/_sandbox/*`` admin surface: no auth, not rate limited, never logged."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import billable as bill
from . import customfields as cfs
from . import seeds
from .exchange import Request, Response
from .resources import LOOKUP_RESOURCES, RECORD_RESOURCES, RESOURCES
from .serialize import country_json, record_json, user_json
from .validation import HttpError

if TYPE_CHECKING:
    from .app import App

ENDPOINTS = {
    "GET /_sandbox/stats": "request counters and record counts",
    "GET /_sandbox/requests?since=ID": "request log entries after ID",
    "GET /_sandbox/state": "full state dump",
    "POST /_sandbox/reset": 'wipe and re-seed; body {"seed": "demo"|"empty"|{...}}',
    "GET|POST /_sandbox/config": "runtime configuration (POST changes it)",
}


def handle(app: App, req: Request) -> Response:
    sub = req.path[len("/_sandbox"):].strip("/")
    route = (req.method, sub)
    try:
        if route == ("GET", ""):
            return Response(200, {"sandbox": "concord", "endpoints": ENDPOINTS})
        if route == ("GET", "stats"):
            return Response(200, stats(app))
        if route == ("GET", "requests"):
            since = int(req.query.get("since") or 0)
            return Response(200, app.store.requests_since(since))
        if route == ("GET", "state"):
            return Response(200, state(app))
        if route == ("POST", "reset"):
            return reset(app, req)
        if sub == "config" and req.method in ("GET", "POST"):
            body = req.json() if req.method == "POST" else None
            if body is not None and not isinstance(body, dict):
                raise HttpError(400, {"message": "Expected a JSON object."})
            return Response(200, app.reconfigure(body or {}))
    except HttpError as exc:
        return Response(exc.status, exc.body)
    except (ValueError, TypeError) as exc:
        return Response(400, {"message": str(exc)})
    return Response(404, {"message": f"Unknown sandbox admin route: {req.method} {req.path}"})


def stats(app: App) -> dict[str, Any]:
    out = app.store.request_stats()
    with app.store.lock:
        live: dict[str, int] = {}
        trashed: dict[str, int] = {}
        for name in (*RECORD_RESOURCES, *LOOKUP_RESOURCES):
            rows = app.store.table(name).values()
            live[name] = sum(1 for r in rows if not r.get("deleted_at"))
            if RESOURCES.get(name) is not None and RESOURCES[name].soft_delete:
                trashed[name] = sum(1 for r in rows if r.get("deleted_at"))
        live["custom_fields"] = len(app.store.table("custom_fields"))
        live["options"] = len(app.store.table("options"))
        live["tags"] = len(app.store.table("tags"))
    out["records"] = live
    out["trashed"] = trashed
    return out


def state(app: App) -> dict[str, Any]:
    store = app.store
    with store.lock:
        out: dict[str, Any] = {}
        for name in (*RECORD_RESOURCES, *LOOKUP_RESOURCES):
            rows = sorted(store.table(name).values(), key=lambda r: r["id"])
            if name == "countries":
                out[name] = [country_json(r) for r in rows]
            elif name == "users":
                out[name] = [user_json(r) for r in rows]
            else:
                out[name] = [record_json(store, RESOURCES[name], r, full=True) for r in rows]
        out["custom_fields"] = [cfs.definition_json(store, cf) for cf in
                                sorted(store.table("custom_fields").values(), key=lambda r: r["id"])]
        out["options"] = sorted(store.table("options").values(), key=lambda r: r["id"])
        out["tags"] = sorted(store.table("tags").values(), key=lambda r: r["id"])
        out["billables"] = {str(d["id"]): bill.show(store, d) for d in
                            sorted(store.table("deals").values(), key=lambda r: r["id"])
                            if bill.count(store, int(d["id"]))}
        out["settings"] = store.meta.get("settings", {})
    return out


def reset(app: App, req: Request) -> Response:
    body = req.json()
    seed = body.get("seed") if isinstance(body, dict) and body.get("seed") is not None \
        else app.config.seed
    try:
        with app.store.lock:
            seeds.reset(app.store, seed)
    except seeds.SeedError as exc:
        return Response(400, {"message": str(exc)})
    app.limiter.configure(app.config.rate_limit, app.config.rate_window)
    return Response(200, {"reset": True, "records": stats(app)["records"]})
