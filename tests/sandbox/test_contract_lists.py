"""List contract: pagination envelope, per_page, page, links, meta.links, order, with.

Reference: docs/concord-api.md §5 (pagination), §6 (list parameters).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.helpers.contract import api, base, create, ok, uniq

COUNT = 32
META_KEYS = {"current_page", "from", "last_page", "links", "path", "per_page", "to", "total"}


@pytest.fixture(scope="module")
def batch(shared: Any) -> dict[str, Any]:
    """COUNT companies named '<prefix> NN' (searchable by the prefix)."""
    prefix = uniq("Pagco")
    ids = [create(shared, "companies", {"name": f"{prefix} {i:02d}"})["id"] for i in range(COUNT)]
    return {"prefix": prefix, "ids": ids}


def page(sb: Any, params: dict[str, Any], resource: str = "companies") -> dict[str, Any]:
    return ok(api(sb, "GET", f"/api/{resource}", params=params))


def page_of(url: str | None) -> int | None:
    if url is None:
        return None
    query = parse_qs(urlsplit(url).query)
    assert set(query) == {"page"}, url
    return int(query["page"][0])


def test_envelope_shape(shared: Any, batch: dict[str, Any]) -> None:
    body = page(shared, {"q": batch["prefix"]})
    assert set(body) == {"data", "links", "meta"}
    assert set(body["links"]) == {"first", "last", "prev", "next"}
    assert set(body["meta"]) >= META_KEYS
    assert body["meta"]["path"] == base(shared) + "/api/companies"


def test_default_page_size_is_15(shared: Any, batch: dict[str, Any]) -> None:
    meta_first = page(shared, {"q": batch["prefix"]})
    meta = meta_first["meta"]
    assert len(meta_first["data"]) == 15
    assert (meta["current_page"], meta["from"], meta["to"]) == (1, 1, 15)
    assert (meta["per_page"], meta["total"], meta["last_page"]) == (15, COUNT, 3)


def test_last_page_is_partial(shared: Any, batch: dict[str, Any]) -> None:
    body = page(shared, {"q": batch["prefix"], "page": 3})
    assert len(body["data"]) == COUNT - 30
    assert (body["meta"]["from"], body["meta"]["to"]) == (31, COUNT)
    assert body["links"]["next"] is None
    assert page_of(body["links"]["prev"]) == 2


def test_pages_cover_every_record_once(shared: Any, batch: dict[str, Any]) -> None:
    seen: list[int] = []
    for number in (1, 2, 3):
        seen += [r["id"] for r in page(shared, {"q": batch["prefix"], "page": number,
                                                 "order": "id|asc"})["data"]]
    assert seen == sorted(batch["ids"])


def test_per_page_up_to_100(shared: Any, batch: dict[str, Any]) -> None:
    body = page(shared, {"q": batch["prefix"], "per_page": 100})
    assert len(body["data"]) == COUNT
    assert (body["meta"]["per_page"], body["meta"]["last_page"]) == (100, 1)
    small = page(shared, {"q": batch["prefix"], "per_page": 7})
    assert len(small["data"]) == 7
    assert (small["meta"]["per_page"], small["meta"]["last_page"]) == (7, 5)


@pytest.mark.parametrize("per_page", ["101", "1000", "99999999999999999999999"])
def test_huge_per_page_is_clamped_to_100(shared: Any, batch: dict[str, Any],
                                         per_page: str) -> None:
    body = page(shared, {"per_page": per_page})
    assert body["meta"]["per_page"] == 100
    assert len(body["data"]) <= 100


@pytest.mark.parametrize("per_page", ["0", "abc", ""])
def test_bad_per_page_falls_back_to_15(shared: Any, batch: dict[str, Any],
                                       per_page: str) -> None:
    body = page(shared, {"q": batch["prefix"], "per_page": per_page})
    assert body["meta"]["per_page"] == 15
    assert len(body["data"]) == 15


def test_page_past_the_end_is_empty(shared: Any, batch: dict[str, Any]) -> None:
    body = page(shared, {"q": batch["prefix"], "page": 9})
    assert body["data"] == []
    meta = body["meta"]
    assert (meta["from"], meta["to"]) == (None, None)
    assert (meta["current_page"], meta["last_page"], meta["total"]) == (9, 3, COUNT)


@pytest.mark.parametrize("bad", ["abc", "0", "-2", "1.5x"])
def test_invalid_page_is_page_one(shared: Any, batch: dict[str, Any], bad: str) -> None:
    params = {"q": batch["prefix"], "order": "id|asc"}
    first = page(shared, params)
    body = page(shared, {**params, "page": bad})
    assert body["meta"]["current_page"] == 1
    assert [r["id"] for r in body["data"]] == [r["id"] for r in first["data"]]


def test_empty_result_has_null_from_to(shared: Any) -> None:
    body = page(shared, {"q": uniq("nomatch")})
    assert body["data"] == []
    meta = body["meta"]
    assert (meta["from"], meta["to"], meta["total"]) == (None, None, 0)
    assert (meta["current_page"], meta["last_page"]) == (1, 1)
    assert body["links"]["prev"] is None
    assert body["links"]["next"] is None


def test_links_carry_only_page(shared: Any, batch: dict[str, Any]) -> None:
    body = page(shared, {"q": batch["prefix"], "per_page": 10, "order": "id|desc"})
    links = body["links"]
    for key in ("first", "last", "next"):
        parts = urlsplit(links[key])
        assert f"{parts.scheme}://{parts.netloc}{parts.path}" == body["meta"]["path"]
    assert page_of(links["first"]) == 1
    assert page_of(links["last"]) == 4
    assert page_of(links["next"]) == 2
    assert links["prev"] is None
    for item in body["meta"]["links"]:
        page_of(item["url"])


def test_meta_links_labels(shared: Any, batch: dict[str, Any]) -> None:
    body = page(shared, {"q": batch["prefix"], "page": 2})
    items = body["meta"]["links"]
    assert [i["label"] for i in items] == ["Previous", "1", "2", "3", "Next"]
    assert [i["active"] for i in items] == [False, False, True, False, False]
    assert page_of(items[0]["url"]) == 1
    assert page_of(items[-1]["url"]) == 3
    first = page(shared, {"q": batch["prefix"]})["meta"]["links"]
    assert first[0]["url"] is None
    last = page(shared, {"q": batch["prefix"], "page": 3})["meta"]["links"]
    assert last[-1]["url"] is None


def test_order_by_id_both_ways(shared: Any, batch: dict[str, Any]) -> None:
    params = {"q": batch["prefix"], "per_page": 100}
    asc = [r["id"] for r in page(shared, {**params, "order": "id|asc"})["data"]]
    desc = [r["id"] for r in page(shared, {**params, "order": "id|desc"})["data"]]
    bare = [r["id"] for r in page(shared, {**params, "order": "id"})["data"]]
    assert asc == sorted(batch["ids"])
    assert desc == sorted(batch["ids"], reverse=True)
    assert bare == asc


def test_order_by_name_desc(shared: Any, batch: dict[str, Any]) -> None:
    rows = page(shared, {"q": batch["prefix"], "per_page": 100, "order": "name|desc"})["data"]
    names = [r["name"] for r in rows]
    assert names == sorted(names, reverse=True)
    assert names[0].endswith(f"{COUNT - 1:02d}")


def test_list_items_have_common_keys(shared: Any, batch: dict[str, Any]) -> None:
    item = page(shared, {"q": batch["prefix"]})["data"][0]
    for key in ("id", "display_name", "created_at", "updated_at", "name"):
        assert key in item


def test_with_loads_associations_on_lists(shared: Any) -> None:
    company = create(shared, "companies", {"name": uniq("WithCo")})
    first = uniq("With")
    create(shared, "contacts", {"first_name": first, "companies": [company["id"]]})
    rows = page(shared, {"q": first, "with": "companies;deals"}, "contacts")["data"]
    assert len(rows) == 1
    assert [c["id"] for c in rows[0]["companies"]] == [company["id"]]
    assert rows[0]["deals"] == []
