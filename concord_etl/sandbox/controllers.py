"""``/api`` controllers: each takes ``(app, request)`` and returns a ``Response``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import billable as bill
from . import catalogs, records, values
from . import customfields as cfs
from . import relations as rel
from . import search as crit
from .descriptors import descriptors
from .exchange import Request, Response
from .resources import RESOURCES, Resource
from .serialize import country_json, record_json, user_json
from .store import Row
from .validation import HttpError

if TYPE_CHECKING:
    from .app import App


# ------------------------------------------------------------------- helpers
def _resource(req: Request, *, trash: bool = False, searchable: bool = False) -> Resource:
    resource = RESOURCES.get(req.params.get("resource", ""))
    if resource is None or (trash and not resource.soft_delete) or (searchable and not resource.searchable):
        raise HttpError(404, {"message": ""})
    return resource


def _find(app: App, resource: Resource, rid: Any, *, trashed: bool = False) -> Row:
    row = app.store.get(resource.name, int(rid))
    if row is None or bool(row.get("deleted_at")) != trashed:
        raise HttpError(404, {"message": f"No query results for model [{resource.model}] {rid}"})
    return row


def _authorize_write(req: Request, resource: Resource) -> None:
    if resource.admin_write and not (req.user or {}).get("super_admin"):
        raise HttpError(403, {"message": "This action is unauthorized."})


def _with(req: Request) -> frozenset[str]:
    return frozenset(p.strip() for p in req.query.get("with", "").split(";") if p.strip())


def _rows(app: App, resource: Resource, *, trashed: bool = False) -> list[Row]:
    return [r for r in app.store.table(resource.name).values()
            if bool(r.get("deleted_at")) == trashed]


def _page(app: App, req: Request, resource: Resource, rows: list[Row], path: str,
          *, trashed: bool = False) -> Response:
    rows = crit.filter_rows(app.store, resource, rows, req.query)
    rows = crit.order_rows(resource, rows, req.query.get("order"))
    page, per_page = crit.page_params(req.query, app.config.max_per_page)
    chunk = rows[(page - 1) * per_page: page * per_page]
    with_ = _with(req)
    data = [crit.select_keys(record_json(app.store, resource, r, full=False, with_=with_,
                                         trashed=trashed), req.query.get("select"))
            for r in chunk]
    return Response(200, crit.envelope(data, len(rows), page, per_page, f"{req.base_url}{path}"),
                    resource=resource.name)


def _bare(app: App, req: Request, resource: Resource, *, trashed: bool = False) -> Response:
    if not (req.query.get("q") or "").strip():
        return Response(200, [], resource=resource.name)
    rows = crit.filter_rows(app.store, resource, _rows(app, resource, trashed=trashed), req.query)
    rows = crit.order_rows(resource, rows, req.query.get("order"))
    take = values.parse_int(req.query.get("take") or "")
    if take is not None and take > 0:
        rows = rows[:take]
    with_ = _with(req)
    data = [crit.select_keys(record_json(app.store, resource, r, full=False, with_=with_,
                                         trashed=trashed), req.query.get("select"))
            for r in rows]
    return Response(200, data, resource=resource.name)


def _record(app: App, resource: Resource, row: Row, status: int = 200,
            created: bool = False) -> Response:
    body = record_json(app.store, resource, row, full=True, created=created)
    return Response(status, body, resource=resource.name, record_id=int(row["id"]))


# ------------------------------------------------------------------ resources
def index(app: App, req: Request) -> Response:
    resource = _resource(req)
    with app.store.lock:
        return _page(app, req, resource, _rows(app, resource), f"/api/{resource.name}")


def search(app: App, req: Request) -> Response:
    resource = _resource(req, searchable=True)
    with app.store.lock:
        return _bare(app, req, resource)


def show(app: App, req: Request) -> Response:
    resource = _resource(req)
    with app.store.lock:
        return _record(app, resource, _find(app, resource, req.params["id"]))


def store(app: App, req: Request) -> Response:
    resource = _resource(req)
    _authorize_write(req, resource)
    body = req.json()
    records.check_body(body)
    with app.store.lock:
        row = records.create(app.store, resource, body or {}, req.user or {})
        return _record(app, resource, row, 201, created=True)


def update(app: App, req: Request) -> Response:
    resource = _resource(req)
    _authorize_write(req, resource)
    body = req.json()
    records.check_body(body)
    with app.store.lock:
        row = _find(app, resource, req.params["id"])
        records.update(app.store, resource, row, body or {}, req.user or {})
        return _record(app, resource, row)


def destroy(app: App, req: Request) -> Response:
    resource = _resource(req)
    _authorize_write(req, resource)
    with app.store.lock:
        row = _find(app, resource, req.params["id"])
        _check_in_use(app, req, resource, row)
        records.delete(app.store, resource, row)
        return Response(204, None, resource=resource.name, record_id=int(row["id"]))


def _check_in_use(app: App, req: Request, resource: Resource, row: Row) -> None:
    deals = app.store.table("deals").values()
    if resource.name == "pipelines":
        if row.get("flag") == "default":
            raise HttpError(409, {"message": "The primary pipeline cannot be deleted."})
        if any(d.get("pipeline_id") == row["id"] for d in deals):
            raise HttpError(409, {"message": "The pipeline has deals and cannot be deleted."})
    if resource.name == "pipeline-stages" and any(d.get("stage_id") == row["id"] for d in deals):
        raise HttpError(409, {"message": "The stage has deals and cannot be deleted."})
    if resource.name == "users" and (req.user or {}).get("id") == row["id"]:
        raise HttpError(409, {"message": "You cannot delete your own account."})


def form_fields(app: App, req: Request) -> Response:
    """``/api/{resource}/create-fields`` and ``/api/fields/{resource}/create|update``: the
    descriptors of that form (no record)."""
    resource = _resource(req)
    form = "update" if req.path.rstrip("/").endswith("/update") else "create"
    with app.store.lock:
        body = descriptors(app.store, resource, form=form, intent=req.query.get("intent"),
                           user=req.user)
        return Response(200, body, resource=resource.name)


def update_fields(app: App, req: Request) -> Response:
    resource = _resource(req)
    with app.store.lock:
        _find(app, resource, req.params["id"])            # 404 for a missing record
        body = descriptors(app.store, resource, form="update", intent=req.query.get("intent"),
                           user=req.user)
        return Response(200, body, resource=resource.name)


def associated_index(app: App, req: Request) -> Response:
    resource = _resource(req)
    related = RESOURCES.get(req.params["related"])
    if related is None or related.name not in resource.associable:
        raise HttpError(404, {"message": ""})
    with app.store.lock:
        row = _find(app, resource, req.params["id"])
        ids = app.store.linked((resource.name, int(row["id"])), related.name)
        rows = [r for i in ids if (r := app.store.get(related.name, i)) and not r.get("deleted_at")]
        path = f"/api/{resource.name}/{row['id']}/{related.name}"
        return _page(app, req, related, rows, path)


def _billable_deal(app: App, req: Request) -> tuple[Resource, Row]:
    resource = _resource(req)
    if resource.name != "deals":        # documents are not emulated
        raise HttpError(404, {"message": ""})
    return resource, _find(app, resource, req.params["id"])


def billable_show(app: App, req: Request) -> Response:
    with app.store.lock:
        resource, deal = _billable_deal(app, req)
        return Response(200, bill.show(app.store, deal), resource=resource.name,
                        record_id=int(deal["id"]))


def billable_save(app: App, req: Request) -> Response:
    body = req.json()
    records.check_body(body)
    with app.store.lock:
        resource, deal = _billable_deal(app, req)
        plan = bill.check(app.store, deal, body or {})
        with app.store.transaction():
            bill.save(app.store, deal, plan)
        return Response(200, bill.show(app.store, deal), resource=resource.name,
                        record_id=int(deal["id"]))


# ---------------------------------------------------------------------- trash
def trashed_index(app: App, req: Request) -> Response:
    resource = _resource(req, trash=True)
    with app.store.lock:
        rows = _rows(app, resource, trashed=True)
        return _page(app, req, resource, rows, f"/api/trashed/{resource.name}", trashed=True)


def trashed_search(app: App, req: Request) -> Response:
    resource = _resource(req, trash=True)
    with app.store.lock:
        return _bare(app, req, resource, trashed=True)


def trashed_show(app: App, req: Request) -> Response:
    resource = _resource(req, trash=True)
    with app.store.lock:
        row = _find(app, resource, req.params["id"], trashed=True)
        body = record_json(app.store, resource, row, full=True, trashed=True)
        return Response(200, body, resource=resource.name, record_id=int(row["id"]))


def trashed_restore(app: App, req: Request) -> Response:
    resource = _resource(req, trash=True)
    with app.store.lock:
        row = _find(app, resource, req.params["id"], trashed=True)
        records.restore(app.store, resource, row)
        return _record(app, resource, row)


def trashed_destroy(app: App, req: Request) -> Response:
    resource = _resource(req, trash=True)
    with app.store.lock:
        row = _find(app, resource, req.params["id"], trashed=True)
        records.delete(app.store, resource, row, force=True)
        return Response(204, None, resource=resource.name, record_id=int(row["id"]))


def trashed_empty(app: App, req: Request) -> Response:
    resource = _resource(req, trash=True)
    limit = values.parse_int(req.query.get("limit") or "") or 500
    with app.store.lock, app.store.transaction():
        rows = _rows(app, resource, trashed=True)[:limit]
        for row in rows:
            app.store.remove(resource.name, int(row["id"]))
    return Response(200, {"deleted": len(rows)}, resource=resource.name)


# ---------------------------------------------------------------- associations
def _assoc_body(req: Request, resource: Resource) -> dict[str, list[int]]:
    body = req.json()
    records.check_body(body)
    out: dict[str, list[int]] = {}
    for name, ids in (body or {}).items():
        if name not in resource.associable:
            raise HttpError(409, {"message": f'The provided resource name "{name}" cannot be '
                                             f"associated to the {resource.singular}"})
        out[name] = [i for i in (values.parse_int(x) for x in rel.split_keys(ids)) if i is not None]
    return out


def _associate(app: App, req: Request, mode: str) -> Response:
    resource = _resource(req)
    links = _assoc_body(req, resource)
    with app.store.lock:
        row = _find(app, resource, req.params["id"])
        me = (resource.name, int(row["id"]))
        if mode == "attach" and len(links) == 1:
            (name, ids), = links.items()
            if len(ids) == 1 and ids[0] in app.store.linked(me, name):
                raise HttpError(409, {"message": "This record is already associated"})
        with app.store.transaction():
            for name, ids in links.items():
                ids = [i for i in ids if (r := app.store.get(name, i)) and not r.get("deleted_at")]
                if mode == "detach":
                    for i in ids:
                        app.store.unlink(me, (name, i))
                else:
                    rel.apply_links(app.store, resource, row, {name: ids}, creating=mode == "attach")
        return _record(app, resource, row)


def associations_show(app: App, req: Request) -> Response:
    resource = _resource(req)
    with app.store.lock:
        row = _find(app, resource, req.params["id"])
        out = {}
        for name in resource.associable:
            ids = app.store.linked((resource.name, int(row["id"])), name)
            out[name] = [record_json(app.store, RESOURCES[name], r, full=False)
                         for i in ids if (r := app.store.get(name, i)) and not r.get("deleted_at")]
        return Response(200, out, resource=resource.name)


def associations_attach(app: App, req: Request) -> Response:
    return _associate(app, req, "attach")


def associations_sync(app: App, req: Request) -> Response:
    return _associate(app, req, "sync")


def associations_detach(app: App, req: Request) -> Response:
    return _associate(app, req, "detach")


# ------------------------------------------------------------------- misc
def me(app: App, req: Request) -> Response:
    return Response(200, user_json(req.user), resource="users")


def countries(app: App, req: Request) -> Response:
    with app.store.lock:
        rows = sorted(app.store.table("countries").values(), key=lambda r: r["name"])
        return Response(200, [country_json(r) for r in rows], resource="countries")


def timezones(app: App, req: Request) -> Response:
    return Response(200, list(catalogs.timezones()), resource="timezones")


def currencies(app: App, req: Request) -> Response:
    return Response(200, catalogs.currencies(), resource="currencies")


# ---------------------------------------------------------------- custom fields
def custom_fields_index(app: App, req: Request) -> Response:
    cfs.require_super_admin(req.user or {})
    with app.store.lock:
        rows = sorted(app.store.table("custom_fields").values(), key=lambda r: -r["id"])
        page, per_page = crit.page_params(req.query, app.config.max_per_page)
        chunk = rows[(page - 1) * per_page: page * per_page]
        data = [cfs.definition_json(app.store, cf) for cf in chunk]
        path = f"{req.base_url}/api/custom-fields"
        return Response(200, crit.envelope(data, len(rows), page, per_page, path),
                        resource="custom-fields")


def _custom_field(app: App, req: Request) -> Row:
    cf = app.store.get("custom_fields", int(req.params["id"]))
    if cf is None:
        text = f"No query results for model [Modules\\Core\\Models\\CustomField] {req.params['id']}"
        raise HttpError(404, {"message": text})
    return cf


def custom_fields_show(app: App, req: Request) -> Response:
    cfs.require_super_admin(req.user or {})
    with app.store.lock:
        cf = _custom_field(app, req)
        return Response(200, cfs.definition_json(app.store, cf), resource="custom-fields",
                        record_id=cf["id"])


def custom_fields_store(app: App, req: Request) -> Response:
    cfs.require_super_admin(req.user or {})
    body = req.json()
    records.check_body(body)
    with app.store.lock, app.store.transaction():
        cf = cfs.create_field(app.store, body or {})
    return Response(201, cfs.definition_json(app.store, cf), resource="custom-fields",
                    record_id=cf["id"])


def custom_fields_update(app: App, req: Request) -> Response:
    cfs.require_super_admin(req.user or {})
    body = req.json()
    records.check_body(body)
    with app.store.lock:
        cf = _custom_field(app, req)
        with app.store.transaction():
            cfs.update_field(app.store, cf, body or {})
        return Response(200, cfs.definition_json(app.store, cf), resource="custom-fields",
                        record_id=cf["id"])


def custom_fields_destroy(app: App, req: Request) -> Response:
    cfs.require_super_admin(req.user or {})
    with app.store.lock:
        cf = _custom_field(app, req)
        with app.store.transaction():
            cfs.delete_field(app.store, cf)
    return Response(204, None, resource="custom-fields", record_id=cf["id"])
