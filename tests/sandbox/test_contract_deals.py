"""Deals: pipeline from stage, status rules (409), won/lost dates, amounts as JSON numbers,
timestamp and date formats.

Reference: docs/concord-api.md §10 (record JSON, dates), §13 (deals).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers.contract import (
    MIDNIGHT_RE,
    TS_RE,
    api,
    create,
    js,
    lookup_id,
    show,
    stage_id,
    uniq,
    update,
)


def lock_message(status: str) -> dict[str, str]:
    return {"message": f'The deal first must be marked as open in order to apply the "{status}" status.'}


@pytest.fixture(scope="module")
def stages(shared: Any) -> dict[str, int]:
    return {
        "sales": lookup_id(shared, "pipelines", "Sales Pipeline"),
        "partner": lookup_id(shared, "pipelines", "Partner Pipeline"),
        "proposal": stage_id(shared, "Sales Pipeline", "Proposal Made"),
        "negotiation": stage_id(shared, "Partner Pipeline", "Negotiation"),
    }


def deal(sb: Any, stages: dict[str, int], **values: Any) -> dict[str, Any]:
    return create(sb, "deals", {"name": uniq("Deal"), "stage_id": stages["proposal"], **values})


def test_pipeline_comes_from_the_stage(shared: Any, stages: dict[str, int]) -> None:
    rec = deal(shared, stages, pipeline_id=stages["partner"])
    assert rec["pipeline_id"] == stages["sales"]
    assert rec["pipeline"]["id"] == stages["sales"]
    assert rec["stage"]["id"] == stages["proposal"]
    assert {"id", "name", "win_probability", "pipeline_id"} <= set(rec["stage"])
    got = update(shared, "deals", rec["id"],
                 {"pipeline_id": stages["partner"], "stage_id": stages["proposal"]})
    assert got["pipeline_id"] == stages["sales"]


def test_pipeline_without_stage_on_update_is_422(shared: Any, stages: dict[str, int]) -> None:
    # docs/concord-api.md §13.1: stage_id is `required_with:pipeline_id` on update
    rec = deal(shared, stages)
    resp = api(shared, "PUT", f"/api/deals/{rec['id']}", json={"pipeline_id": stages["partner"]})
    assert resp.status_code == 422
    assert list(js(resp)["errors"]) == ["stage_id"]


def test_status_defaults_to_open(shared: Any, stages: dict[str, int]) -> None:
    rec = deal(shared, stages)
    assert rec["status"] == "open"
    assert rec["won_date"] is None
    assert rec["lost_date"] is None


def test_won_sets_won_date(shared: Any, stages: dict[str, int]) -> None:
    rec = deal(shared, stages, status="won")
    assert rec["status"] == "won"
    assert TS_RE.match(rec["won_date"]), rec["won_date"]
    assert rec["lost_date"] is None


def test_won_to_lost_is_409(shared: Any, stages: dict[str, int]) -> None:
    rec = deal(shared, stages, status="won")
    resp = api(shared, "PUT", f"/api/deals/{rec['id']}", json={"status": "lost"})
    assert resp.status_code == 409
    assert js(resp) == lock_message("lost")
    assert show(shared, "deals", rec["id"])["status"] == "won"


def test_lost_to_won_is_409(shared: Any, stages: dict[str, int]) -> None:
    rec = deal(shared, stages, status="lost", lost_reason="Too pricey")
    resp = api(shared, "PUT", f"/api/deals/{rec['id']}", json={"status": "won"})
    assert resp.status_code == 409
    assert js(resp) == lock_message("won")


def test_status_cycle_through_open(shared: Any, stages: dict[str, int]) -> None:
    rec = deal(shared, stages, status="won")
    opened = update(shared, "deals", rec["id"], {"status": "open"})
    assert (opened["status"], opened["won_date"], opened["lost_date"]) == ("open", None, None)
    lost = update(shared, "deals", rec["id"], {"status": "lost", "lost_reason": "Budget"})
    assert lost["status"] == "lost"
    assert TS_RE.match(lost["lost_date"])
    assert lost["won_date"] is None
    assert lost["lost_reason"] == "Budget"
    reopened = update(shared, "deals", rec["id"], {"status": "open"})
    assert (reopened["lost_date"], reopened["lost_reason"]) == (None, None)


def test_lost_reason_only_kept_when_lost(shared: Any, stages: dict[str, int]) -> None:
    rec = deal(shared, stages, lost_reason="Ignored")
    assert rec["lost_reason"] is None


def test_invalid_status_is_422(shared: Any, stages: dict[str, int]) -> None:
    resp = api(shared, "POST", "/api/deals",
               json={"name": uniq("Bad"), "stage_id": stages["proposal"], "status": "pending"})
    assert resp.status_code == 422
    assert list(js(resp)["errors"]) == ["status"]


def test_amount_is_a_json_number(shared: Any, stages: dict[str, int]) -> None:
    resp = api(shared, "POST", "/api/deals",
               json={"name": uniq("Amt"), "stage_id": stages["proposal"], "amount": 1200.5})
    assert resp.status_code == 201
    body = resp.json()
    assert body["amount"] == 1200.5
    assert isinstance(body["amount"], float)
    whole = deal(shared, stages, amount=1250)
    assert whole["amount"] == 1250
    assert isinstance(whole["amount"], (int, float)) and not isinstance(whole["amount"], bool)


def test_negative_amount_allowed(shared: Any, stages: dict[str, int]) -> None:
    rec = deal(shared, stages, amount=-150.25)
    assert rec["amount"] == -150.25
    assert show(shared, "deals", rec["id"])["amount"] == -150.25


def test_amount_string_is_accepted_as_number(shared: Any, stages: dict[str, int]) -> None:
    rec = deal(shared, stages, amount="99.990")
    assert rec["amount"] == 99.99


def test_non_numeric_amount_is_422(shared: Any, stages: dict[str, int]) -> None:
    resp = api(shared, "POST", "/api/deals",
               json={"name": uniq("Bad"), "stage_id": stages["proposal"], "amount": "lots"})
    assert resp.status_code == 422
    assert list(js(resp)["errors"]) == ["amount"]


def test_timestamps_format(shared: Any, stages: dict[str, int]) -> None:
    rec = deal(shared, stages)
    for key in ("created_at", "updated_at"):
        assert TS_RE.match(rec[key]), (key, rec[key])
    for resource in ("contacts", "companies", "deals"):
        rows = js(api(shared, "GET", f"/api/{resource}"))["data"]
        for row in rows:
            assert TS_RE.match(row["created_at"]), (resource, row["created_at"])


def test_expected_close_date_at_midnight(shared: Any, stages: dict[str, int]) -> None:
    rec = deal(shared, stages, expected_close_date="2024-06-30")
    assert rec["expected_close_date"] == "2024-06-30T00:00:00.000000Z"
    assert MIDNIGHT_RE.match(rec["expected_close_date"])
    got = update(shared, "deals", rec["id"], {"expected_close_date": "2025-01-15"})
    assert got["expected_close_date"] == "2025-01-15T00:00:00.000000Z"


def test_deal_custom_field_date_at_midnight(shared: Any, stages: dict[str, int]) -> None:
    rec = deal(shared, stages, cf_contract_start="2024-02-29")
    assert rec["cf_contract_start"] == "2024-02-29T00:00:00.000000Z"


def test_deal_display_name_and_path(shared: Any, stages: dict[str, int]) -> None:
    rec = deal(shared, stages)
    assert rec["display_name"] == rec["name"]
    assert rec["path"] == f"/deals/{rec['id']}"
