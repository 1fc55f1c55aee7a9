"""List criteria (``q``, ``search_fields``, ``search_match``, ``order``) and the paginator."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

from . import customfields as cfs
from . import relations as rel
from . import values
from .resources import RELATION_KEYS, Resource
from .store import Row, Store
from .validation import HttpError

Getter = Callable[[Row], list[Any]]
CONDITIONS = ("=", "like", "in")


def searchable(store: Store, resource: Resource) -> dict[str, tuple[str, Getter, bool]]:
    """name → (default condition, value getter, numeric?) for every searchable field."""
    out: dict[str, tuple[str, Getter, bool]] = {}
    for name, cond in resource.search_fields:
        numeric = name == "id" or name.endswith("_id")
        out[name] = (cond, _getter(store, name), numeric)
    if resource.custom_fields:
        for cf in cfs.definitions(store, resource.name):
            ftype = cf["field_type"]
            if ftype in cfs.MULTI_TYPES:
                continue
            if ftype in cfs.OPTION_TYPES:
                out[cf["field_id"]] = ("=", _option_getter(store, cf), False)
            else:
                numeric = ftype in ("Number", "Numeric")
                out[cf["field_id"]] = ("=" if numeric else "like", _getter(store, cf["field_id"]),
                                       numeric)
    return out


def _getter(store: Store, name: str) -> Getter:
    if name == "phones.number":
        return lambda row: [p["number"] for p in row.get("phones") or ()]
    if name == "full_name":
        return lambda row: [rel.full_name(row)]
    if "." in name:
        relation = name.split(".", 1)[0]
        fk, related = RELATION_KEYS[relation]

        def related_name(row: Row) -> list[Any]:
            target = store.get(related, row.get(fk) or 0)
            return [target.get("name")] if target else []
        return related_name
    return lambda row: [row.get(name)]


def _option_getter(store: Store, cf: Row) -> Getter:
    def option_name(row: Row) -> list[Any]:
        option = store.get("options", row.get(cf["field_id"]) or 0)
        return [option["name"]] if option else []
    return option_name


def parse_q(q: str) -> tuple[str | None, dict[str, str]]:
    """``q`` → (plain value, per-field values) — ``field:value;field:value`` form."""
    if ":" not in q or "://" in q:
        return q, {}
    plain: str | None = None
    per_field: dict[str, str] = {}
    for part in q.split(";"):
        if ":" in part:
            name, _, value = part.partition(":")
            per_field[name.strip()] = value.strip()
        elif part.strip():
            plain = part.strip()
    return plain, per_field


def parse_search_fields(raw: str | None, accepted: dict[str, tuple[str, Getter, bool]]
                        ) -> list[tuple[str, str]]:
    if raw is None:
        return [(name, spec[0]) for name, spec in accepted.items()]
    chosen: list[tuple[str, str]] = []
    for part in raw.split(";"):
        name, _, cond = part.partition(":")
        name = name.strip()
        if name in accepted:
            cond = cond.strip().lower()
            chosen.append((name, cond if cond in CONDITIONS else accepted[name][0]))
    if not chosen:
        listed = ", ".join(accepted)
        raise HttpError(403, {"message": f"The provided search fields are not allowed. "
                                         f"Accepted search fields: {listed}."})
    return chosen


def filter_rows(store: Store, resource: Resource, rows: list[Row], params: dict[str, str]) -> list[Row]:
    q = params.get("q")
    if q is None or q.strip() == "":
        return rows
    accepted = searchable(store, resource)
    fields = parse_search_fields(params.get("search_fields"), accepted)
    plain, per_field = parse_q(q.strip())
    tests: list[tuple[Getter, Callable[[Any], bool]]] = []
    for name, cond in fields:
        value = per_field.get(name, plain)
        if value is None or value == "":
            continue
        test = _matcher(cond, value, numeric=accepted[name][2])
        if test is not None:
            tests.append((accepted[name][1], test))
    if not tests:
        raise HttpError(500, {"message": "Invalid search fields."})
    combine = all if str(params.get("search_match", "")).lower() == "and" else any
    return [row for row in rows
            if combine(any(test(v) for v in getter(row) if v is not None) for getter, test in tests)]


def _matcher(cond: str, value: str, *, numeric: bool) -> Callable[[Any], bool] | None:
    if cond == "in":
        items = [v.strip() for v in value.split(",") if v.strip()]
        if numeric:
            wanted_ids = {values.parse_int(v) for v in items} - {None}
            return (lambda v: v in wanted_ids) if wanted_ids else None
        wanted = {v.casefold() for v in items}
        return lambda v: _text(v) in wanted
    if numeric:
        number = values.parse_number(value, currency=False)
        if number is None:
            return None
        return lambda v: isinstance(v, int | float) and not isinstance(v, bool) and v == number[0]
    needle = value.casefold()
    if cond == "like":
        return lambda v: needle in _text(v)
    return lambda v: _text(v) == needle


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip().casefold()


def order_rows(resource: Resource, rows: list[Row], order: str | None) -> list[Row]:
    specs = _parse_order(resource, order)
    result = sorted(rows, key=lambda r: r["id"])
    for attr, direction in reversed(specs):
        present = [r for r in result if r.get(attr) is not None]
        nulls = [r for r in result if r.get(attr) is None]
        present.sort(key=functools.partial(_attr_sort_key, attr), reverse=direction == "desc")
        result = nulls + present if direction == "asc" else present + nulls
    return result


def _parse_order(resource: Resource, order: str | None) -> list[tuple[str, str]]:
    specs = []
    for part in (order or "").split(";"):
        if not part.strip():
            continue
        attr, _, direction = part.partition("|")
        direction = direction.strip().lower() or "asc"
        specs.append((attr.strip(), direction if direction in ("asc", "desc") else "asc"))
    return specs or [resource.default_order]


def _attr_sort_key(attr: str, row: Row) -> Any:
    return _sort_key(row.get(attr))


def _sort_key(value: Any) -> tuple[int, Any]:
    if isinstance(value, bool | int | float):
        return (0, float(value))
    return (1, str(value).casefold())


def page_params(params: dict[str, str], max_per_page: int) -> tuple[int, int]:
    page = values.parse_int(params.get("page") or "")
    per_page = values.parse_int(params.get("per_page") or "")
    page = page if page is not None and page >= 1 else 1
    per_page = per_page if per_page is not None and per_page >= 1 else 15
    return page, min(per_page, max_per_page)


def envelope(data: list[Any], total: int, page: int, per_page: int, path: str) -> dict[str, Any]:
    last = max(1, math.ceil(total / per_page))
    first_item = (page - 1) * per_page + 1
    has = bool(data)

    def url(n: int) -> str:
        return f"{path}?page={n}"

    return {
        "data": data,
        "links": {"first": url(1), "last": url(last),
                  "prev": url(page - 1) if page > 1 else None,
                  "next": url(page + 1) if page < last else None},
        "meta": {"current_page": page, "from": first_item if has else None, "last_page": last,
                 "links": _meta_links(page, last, url), "path": path, "per_page": per_page,
                 "to": first_item + len(data) - 1 if has else None, "total": total},
    }


def _meta_links(page: int, last: int, url: Callable[[int], str]) -> list[dict[str, Any]]:
    links: list[dict[str, Any]] = [
        {"url": url(page - 1) if page > 1 else None, "label": "Previous", "active": False}]
    for item in _window(page, last):
        if item is None:
            links.append({"url": None, "label": "...", "active": False})
        else:
            links.append({"url": url(item), "label": str(item), "active": item == page})
    links.append({"url": url(page + 1) if page < last else None, "label": "Next", "active": False})
    return links


def _window(page: int, last: int, each_side: int = 3) -> list[int | None]:
    """Laravel's UrlWindow: all pages when few, else start … slider … finish."""
    if last < each_side * 2 + 8:
        return list(range(1, last + 1))
    window = each_side + 4
    if page <= window:
        return [*range(1, window + each_side + 1), None, last - 1, last]
    if page > last - window:
        return [1, 2, None, *range(last - (window + each_side - 1), last + 1)]
    return [1, 2, None, *range(page - each_side, page + each_side + 1), None, last - 1, last]


def select_keys(item: dict[str, Any], select: str | None) -> dict[str, Any]:
    if not select:
        return item
    wanted = {s.strip() for s in select.split(";") if s.strip()} | {"id"}
    return {k: v for k, v in item.items() if k in wanted}
