"""Deal products ("billable"): line items held by a deal, totals, and the deal amount.

``GET /api/deals/{id}/billable`` shows the billable; ``POST`` adds lines (no ``id``), updates
lines (``id``), deletes ``removed_products`` and recalculates every total and the deal's
``amount``. A line without ``product_id`` finds a catalogue product by name (case-insensitive,
restoring a trashed one) or creates it. Lines are copies: they never change the catalogue.
Totals (a documented guess of Concord's arithmetic): line amount = unit price × qty − discount
(``fixed``: the amount, ``percent``: of unit price × qty); ``exclusive`` tax is added on top,
``inclusive`` tax is already in the price, ``no_tax`` has none; values have 3 decimals.
"""

from __future__ import annotations

from typing import Any

from . import values
from .store import Row, Store
from .validation import ErrorBag, HttpError, is_empty, normalize

TAX_TYPES = ("exclusive", "inclusive", "no_tax")
DISCOUNT_TYPES = ("fixed", "percent")
DEFAULT_TAX_TYPE = "exclusive"
DEFAULT_DISCOUNT_TYPE = "percent"
LINE_KEYS = ("product_id", "name", "description", "unit_price", "qty", "unit", "tax_rate",
             "tax_label", "discount_type", "discount_total", "note", "display_order")


def lines(store: Store, deal_id: int) -> list[Row]:
    rows = [r for r in store.table("billable_products").values() if r["deal_id"] == deal_id]
    return sorted(rows, key=lambda r: (r.get("display_order") or 0, r["id"]))


def show(store: Store, deal: Row) -> dict[str, Any]:
    """The billable JSON of a deal (an empty one when it has never had products)."""
    meta = store.get("billables", int(deal["id"]))
    tax_type = (meta or {}).get("tax_type") or DEFAULT_TAX_TYPE
    items = [_line_json(row, tax_type) for row in lines(store, int(deal["id"]))]
    subtotal = sum(item["amount"] for item in items)
    total_tax = sum(_tax(item, tax_type) for item in items)
    total_discount = sum(_discount(item) for item in items)
    total = subtotal + (total_tax if tax_type == "exclusive" else 0.0)
    return {
        "id": (meta or {}).get("id"),
        "tax_type": tax_type,
        "subtotal": values.json_number(subtotal),
        "total": values.json_number(total),
        "total_tax": values.json_number(total_tax),
        "taxes": _taxes(items, tax_type),
        "has_discount": total_discount > 0,
        "total_discount": values.json_number(total_discount),
        "products": items,
    }


def count(store: Store, deal_id: int) -> int:
    """How many lines a deal has: a plain count, without ``lines``' sort (run per listed deal)."""
    return sum(1 for r in store.table("billable_products").values() if r["deal_id"] == deal_id)


# -- saving ---------------------------------------------------------------------------------


def check(store: Store, deal: Row | None, body: Any, prefix: str = "") -> dict[str, Any]:
    """Validate a billable body; every problem is collected, then a 422 (keys as Laravel's)."""
    if not isinstance(body, dict):
        raise HttpError(400, {"message": "The request body must be a JSON object."})
    data = normalize(body)
    errors = ErrorBag()
    plan: dict[str, Any] = {"tax_type": None, "products": [], "removed": []}
    if not is_empty(data.get("tax_type")):
        if data["tax_type"] not in TAX_TYPES:
            errors.add(f"{prefix}tax_type", "The selected tax type is invalid.")
        plan["tax_type"] = data["tax_type"]
    products = data.get("products")
    if products is not None and not isinstance(products, list):
        errors.add(f"{prefix}products", "The products field must be an array.")
        products = []
    existing = {r["id"] for r in lines(store, int(deal["id"]))} if deal else set()
    for i, item in enumerate(products or []):
        plan["products"].append(_check_line(store, item, f"{prefix}products.{i}", existing, errors))
    removed = data.get("removed_products") or []
    if not isinstance(removed, list):
        errors.add(f"{prefix}removed_products", "The removed products field must be an array.")
        removed = []
    plan["removed"] = [i for i in (values.parse_int(x) for x in removed) if i in existing]
    errors.raise_if_any()
    return plan


def _check_line(store: Store, item: Any, key: str, existing: set[int], errors: ErrorBag
                ) -> dict[str, Any]:
    if not isinstance(item, dict):
        errors.add(key, f"The {key} field must be an array.")
        return {}
    line: dict[str, Any] = {}
    if not is_empty(item.get("id")):
        line_id = values.parse_int(item["id"])
        if line_id not in existing:
            errors.add(f"{key}.id", f"The selected {key}.id is invalid.")
        line["id"] = line_id
    product = None
    if not is_empty(item.get("product_id")):
        product_id = values.parse_int(item["product_id"])
        product = store.get("products", product_id) if product_id is not None else None
        if product is None or product.get("deleted_at"):
            errors.add(f"{key}.product_id", f"The selected {key}.product_id is invalid.")
            product = None
        else:
            line["product_id"] = product["id"]
    if is_empty(item.get("name")) and product is None and "id" not in line \
            and not errors.has(f"{key}.product_id"):
        errors.add(f"{key}.name", f"The {key}.name field is required when {key}.product id is "
                                  "not present.")
    for name in ("name", "description", "unit", "tax_label", "note"):
        if not is_empty(item.get(name)):
            line[name] = str(item[name])
    for name, decimals, minimum in (("unit_price", 3, None), ("qty", 2, 0.0),
                                    ("tax_rate", 3, 0.0), ("discount_total", 3, 0.0)):
        if is_empty(item.get(name)):
            continue
        parsed = values.parse_number(item[name])
        if parsed is None:
            errors.add(f"{key}.{name}", f"The {key}.{name} field must be a number.")
        elif parsed[1] > decimals:
            errors.add(f"{key}.{name}", f"The {key}.{name} field must have 0-{decimals} decimal "
                                        "places.")
        elif minimum is not None and parsed[0] < minimum:
            errors.add(f"{key}.{name}", f"The {key}.{name} field must be at least 0.")
        else:
            line[name] = parsed[0]
    if not is_empty(item.get("discount_type")):
        if item["discount_type"] not in DISCOUNT_TYPES:
            errors.add(f"{key}.discount_type", f"The selected {key}.discount_type is invalid.")
        line["discount_type"] = item["discount_type"]
    if not is_empty(item.get("display_order")):
        line["display_order"] = values.parse_int(item["display_order"])
    return line


def save(store: Store, deal: Row, plan: dict[str, Any]) -> None:
    """Apply a checked billable (inside the caller's transaction); recalculates the amount."""
    deal_id = int(deal["id"])
    meta = store.get("billables", deal_id)
    if meta is None:
        meta = {"id": deal_id, "deal_id": deal_id, "tax_type": DEFAULT_TAX_TYPE}
    if plan.get("tax_type"):
        meta["tax_type"] = plan["tax_type"]
    store.put("billables", meta)
    for line_id in plan.get("removed") or ():
        store.remove("billable_products", line_id)
    order = len(lines(store, deal_id))
    for item in plan.get("products") or ():
        if item.get("id") is not None:
            row = dict(store.get("billable_products", item["id"]) or {})
            row.update({k: v for k, v in item.items() if k != "id"})
        else:
            order += 1
            row = {"id": store.next_id("billable_products"), "deal_id": deal_id,
                   "display_order": order, "discount_type": DEFAULT_DISCOUNT_TYPE,
                   "discount_total": 0, "qty": 1, **item}
        product = _catalogue_product(store, row)
        row["product_id"] = product["id"]
        for key, fallback in (("name", product.get("name")), ("sku", product.get("sku")),
                              ("unit_price", product.get("unit_price") or 0),
                              ("tax_rate", product.get("tax_rate") or 0),
                              ("tax_label", product.get("tax_label")),
                              ("unit", product.get("unit"))):
            if row.get(key) is None:
                row[key] = fallback
        store.put("billable_products", row)
    deal["amount"] = show(store, deal)["total"]
    deal["updated_at"] = values.stamp()
    store.put("deals", deal)


def _catalogue_product(store: Store, line: Row) -> Row:
    if line.get("product_id") is not None:
        found = store.get("products", int(line["product_id"]))
        if found is not None:
            return found
    name = str(line.get("name") or "").strip()
    candidates = sorted(store.table("products").values(),
                        key=lambda r: (bool(r.get("deleted_at")), r["id"]))
    for row in candidates:
        if str(row.get("name") or "").strip().casefold() == name.casefold():
            if row.get("deleted_at"):
                row["deleted_at"] = None
                store.put("products", row)
            return row
    now = values.stamp()
    product = {
        "id": store.next_id("products"), "name": name, "sku": None,
        "description": line.get("description"), "unit_price": line.get("unit_price") or 0,
        "direct_cost": None, "tax_rate": line.get("tax_rate") or 0,
        "tax_label": line.get("tax_label"), "unit": line.get("unit"), "is_active": True,
        "created_by": 1, "created_at": now, "updated_at": now, "deleted_at": None,
    }
    store.put("products", product)
    return product


# -- arithmetic -----------------------------------------------------------------------------


def _line_json(row: Row, tax_type: str) -> dict[str, Any]:
    gross = float(row.get("unit_price") or 0) * float(row.get("qty") or 0)
    discount = _discount_of(row, gross)
    amount = round(gross - discount, 3)
    out = {k: row.get(k) for k in ("id", "product_id", "name", "description", "unit", "tax_label",
                                   "discount_type", "sku", "note", "display_order")}
    out.update(
        unit_price=values.json_number(float(row.get("unit_price") or 0)),
        qty=values.json_number(float(row.get("qty") or 0)),
        tax_rate=values.json_number(float(row.get("tax_rate") or 0)),
        discount_total=values.json_number(float(row.get("discount_total") or 0)),
        amount=amount,
    )
    out["_discount"] = discount
    rate = float(row.get("tax_rate") or 0)
    out["_tax"] = 0.0 if tax_type == "no_tax" else _line_tax(amount, rate, tax_type)
    return out


def _discount_of(row: Row, gross: float) -> float:
    amount = float(row.get("discount_total") or 0)
    if row.get("discount_type") == "fixed":
        return round(amount, 3)
    return round(gross * amount / 100, 3)


def _line_tax(amount: float, rate: float, tax_type: str) -> float:
    if tax_type == "inclusive":
        return round(amount - amount / (1 + rate / 100), 3)
    return round(amount * rate / 100, 3)


def _tax(item: dict[str, Any], tax_type: str) -> float:
    return float(item.get("_tax") or 0.0)


def _discount(item: dict[str, Any]) -> float:
    return float(item.get("_discount") or 0.0)


def _taxes(items: list[dict[str, Any]], tax_type: str) -> list[dict[str, Any]]:
    if tax_type == "no_tax":
        for item in items:
            item.pop("_tax", None)
            item.pop("_discount", None)
        return []
    groups: dict[tuple[Any, Any], float] = {}
    for item in items:
        if item.get("tax_rate"):
            key = (item.get("tax_label"), item["tax_rate"])
            groups[key] = groups.get(key, 0.0) + float(item.get("_tax") or 0.0)
    for item in items:
        item.pop("_tax", None)
        item.pop("_discount", None)
    return [{"label": label, "rate": rate, "total": values.json_number(total)}
            for (label, rate), total in groups.items()]
