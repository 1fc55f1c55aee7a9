"""Deal products ("billable"): lines are copies of catalogue products, a line without a
product finds or creates one by name, saving recalculates the deal amount."""

from __future__ import annotations

from typing import Any

from tests.helpers.contract import api, create, invalid, ok, show, stage_id, uniq, update


def _deal(sb: Any, **extra: Any) -> dict[str, Any]:
    stage = stage_id(sb, "Sales Pipeline", "Proposal Made")
    return create(sb, "deals", {"name": uniq("Billed"), "stage_id": stage, **extra})


def _product(sb: Any, price: float = 100) -> dict[str, Any]:
    return create(sb, "products", {"name": uniq("Widget"), "sku": uniq("SKU"),
                                   "unit_price": price})


def _save(sb: Any, deal_id: int, body: dict[str, Any]) -> dict[str, Any]:
    return ok(api(sb, "POST", f"/api/deals/{deal_id}/billable", json=body))


def test_saving_products_recalculates_the_deal_amount(shared: Any) -> None:
    deal = _deal(shared, amount=999)
    product = _product(shared, 100)
    billable = _save(shared, deal["id"], {"tax_type": "no_tax", "products": [
        {"product_id": product["id"], "qty": 3, "unit_price": 100}]})
    assert billable["tax_type"] == "no_tax"
    assert [line["product_id"] for line in billable["products"]] == [product["id"]]
    assert billable["products"][0]["name"] == product["name"]   # copied from the product
    assert float(billable["total"]) == 300
    assert float(show(shared, "deals", deal["id"])["amount"]) == 300
    again = ok(api(shared, "GET", f"/api/deals/{deal['id']}/billable"))
    assert [line["id"] for line in again["products"]] == [billable["products"][0]["id"]]


def test_a_line_without_product_id_finds_or_creates_the_catalogue_product(shared: Any) -> None:
    deal = _deal(shared)
    existing = _product(shared, 10)
    name = uniq("Brand new")
    billable = _save(shared, deal["id"], {"products": [
        {"name": existing["name"].upper(), "unit_price": 10, "qty": 1},
        {"name": name, "unit_price": 25, "qty": 2}]})
    first, second = billable["products"]
    assert first["product_id"] == existing["id"]
    found = ok(api(shared, "GET", "/api/products/search",
                   params={"q": name, "search_fields": "name:="}))
    assert [p["id"] for p in found] == [second["product_id"]]


def test_lines_are_copies_that_never_change_the_catalogue(shared: Any) -> None:
    deal = _deal(shared)
    product = _product(shared, 100)
    _save(shared, deal["id"], {"products": [{"product_id": product["id"], "unit_price": 80,
                                             "qty": 1, "name": "Renamed line"}]})
    assert float(show(shared, "products", product["id"])["unit_price"]) == 100
    assert show(shared, "products", product["id"])["name"] == product["name"]


def test_an_id_updates_a_line_and_removed_products_deletes_one(shared: Any) -> None:
    deal = _deal(shared)
    one, two = _product(shared, 10), _product(shared, 20)
    billable = _save(shared, deal["id"], {"tax_type": "no_tax", "products": [
        {"product_id": one["id"], "qty": 1, "unit_price": 10},
        {"product_id": two["id"], "qty": 1, "unit_price": 20}]})
    first, second = (line["id"] for line in billable["products"])
    billable = _save(shared, deal["id"], {"products": [{"id": first, "qty": 5}],
                                          "removed_products": [second]})
    assert [(line["id"], float(line["qty"])) for line in billable["products"]] == [(first, 5.0)]
    assert float(show(shared, "deals", deal["id"])["amount"]) == 50


def test_the_amount_is_read_only_once_the_deal_has_products(shared: Any) -> None:
    deal = _deal(shared)
    product = _product(shared, 40)
    _save(shared, deal["id"], {"tax_type": "no_tax",
                               "products": [{"product_id": product["id"], "qty": 1}]})
    changed = update(shared, "deals", deal["id"], {"amount": 5})
    assert float(changed["amount"]) == 40


def test_a_billable_on_create_is_saved_only_with_products(shared: Any) -> None:
    typed = _deal(shared, amount=1234, billable={"products": []})
    assert float(typed["amount"]) == 1234
    product = _product(shared, 7)
    billed = _deal(shared, amount=1234, billable={"tax_type": "no_tax", "products": [
        {"product_id": product["id"], "qty": 2, "unit_price": 7}]})
    assert float(billed["amount"]) == 14


def test_line_rules(shared: Any) -> None:
    deal = _deal(shared)
    payload = invalid(shared, "POST", f"/api/deals/{deal['id']}/billable", {
        "tax_type": "sometimes", "products": [{"qty": 1}, {"product_id": 99999999, "qty": 1}]})
    assert {"tax_type", "products.0.name", "products.1.product_id"} <= set(payload["errors"])


def test_billable_of_an_unknown_deal_is_404(shared: Any) -> None:
    assert api(shared, "GET", "/api/deals/99999999/billable").status_code == 404
