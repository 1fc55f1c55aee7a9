"""BelongsTo by id or label: sources/industries auto-create, owner by name (unknown -> 422,
ambiguous -> first match), country by name/ISO2/ISO3, stage by id or name, never created.

Reference: docs/concord-api.md §11, §12, §13.1 (field tables), §19.1 (BelongsTo by id or name).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers.contract import SAM, api, create, invalid, lookup_id, ok, stage_id, uniq, update

UNKNOWN_USER = ("You provided a user that don't exists. You must add the user ID or the user "
                "full name.")


def names(sb: Any, resource: str) -> list[str]:
    return [r["name"] for r in ok(api(sb, "GET", f"/api/{resource}",
                                      params={"per_page": 100}))["data"]]


def test_source_by_id_and_by_name(shared: Any) -> None:
    ref = lookup_id(shared, "sources", "Referrals")
    by_id = create(shared, "contacts", {"first_name": uniq("S"), "source_id": ref})
    by_name = create(shared, "contacts", {"first_name": uniq("S"), "source_id": " referrals "})
    for rec in (by_id, by_name):
        assert rec["source_id"] == ref
        assert rec["source"]["id"] == ref
        assert rec["source"]["name"] == "Referrals"
    assert names(shared, "sources").count("Referrals") == 1


def test_unknown_source_name_is_created(shared: Any) -> None:
    label = uniq("Trade Show ")
    rec = create(shared, "contacts", {"first_name": uniq("S"), "source_id": label})
    assert rec["source"]["name"] == label
    assert lookup_id(shared, "sources", label) == rec["source_id"]
    again = create(shared, "contacts", {"first_name": uniq("S"), "source_id": label.lower()})
    assert again["source_id"] == rec["source_id"]
    assert names(shared, "sources").count(label) == 1


def test_source_auto_create_works_for_a_regular_user(shared: Any) -> None:
    label = uniq("Sam Source ")
    rec = create(shared, "contacts", {"first_name": uniq("S"), "source_id": label}, SAM)
    assert rec["source"]["name"] == label


def test_unknown_industry_name_is_created(shared: Any) -> None:
    software = lookup_id(shared, "industries", "Software")
    assert create(shared, "companies", {"name": uniq("Ind"),
                                        "industry_id": "software"})["industry_id"] == software
    label = uniq("Quantum Farming ")
    rec = create(shared, "companies", {"name": uniq("Ind"), "industry_id": label})
    assert rec["industry"]["name"] == label
    assert lookup_id(shared, "industries", label) == rec["industry_id"]


def test_owner_by_id_and_by_name(shared: Any) -> None:
    by_id = create(shared, "contacts", {"first_name": uniq("O"), "user_id": 2})
    by_name = create(shared, "contacts", {"first_name": uniq("O"), "user_id": "Sam Seller"})
    for rec in (by_id, by_name):
        assert rec["user_id"] == 2
        assert rec["user"]["id"] == 2
        assert rec["user"]["name"] == "Sam Seller"


@pytest.mark.parametrize("owner", ["Nobody Here", 999])
def test_unknown_owner_is_422(shared: Any, owner: Any) -> None:
    payload = invalid(shared, "POST", "/api/contacts", {"first_name": uniq("O"),
                                                        "user_id": owner})
    assert payload == {"message": UNKNOWN_USER, "errors": {"user_id": [UNKNOWN_USER]}}


def test_unknown_owner_on_update_is_422(shared: Any) -> None:
    rec = create(shared, "contacts", {"first_name": uniq("O"), "user_id": 1})
    payload = invalid(shared, "PUT", f"/api/contacts/{rec['id']}", {"user_id": "Ghost"})
    assert payload["errors"] == {"user_id": [UNKNOWN_USER]}


def test_ambiguous_owner_name_takes_the_first_match(shared: Any) -> None:
    # Two demo users are called "Chris Lee" (ids 4 and 5). docs/concord-api.md §19.1: a name
    # lookup with no ambiguity error, i.e. the first match (lowest id) wins.
    rec = create(shared, "contacts", {"first_name": uniq("O"), "user_id": "Chris Lee"})
    assert rec["user_id"] == 4


def test_owner_on_deals_and_companies(shared: Any) -> None:
    stage = stage_id(shared, "Sales Pipeline", "Contact Made")
    deal = create(shared, "deals", {"name": uniq("D"), "stage_id": stage,
                                    "user_id": "Alex Manager"})
    assert deal["user_id"] == 3
    company = create(shared, "companies", {"name": uniq("C"), "user_id": "Sam Seller"})
    assert company["user_id"] == 2


@pytest.mark.parametrize("value", ["United Kingdom", "GB", "GBR", 826])
def test_country_by_name_iso2_iso3_or_id(shared: Any, value: Any) -> None:
    rec = create(shared, "contacts", {"first_name": uniq("Ctry"), "country_id": value})
    assert rec["country_id"] == 826
    assert rec["country"]["name"] == "United Kingdom"


def test_unknown_country_is_422_and_not_created(shared: Any) -> None:
    before = len(ok(api(shared, "GET", "/api/countries")))
    payload = invalid(shared, "POST", "/api/contacts",
                      {"first_name": uniq("Ctry"), "country_id": "Atlantis"})
    assert list(payload["errors"]) == ["country_id"]
    countries = ok(api(shared, "GET", "/api/countries"))
    assert len(countries) == before
    assert "Atlantis" not in {c["name"] for c in countries}


def test_stage_by_id_and_by_name(shared: Any) -> None:
    proposal = stage_id(shared, "Sales Pipeline", "Proposal Made")
    sales = lookup_id(shared, "pipelines", "Sales Pipeline")
    for value in (proposal, "Proposal Made", "proposal made"):
        deal = create(shared, "deals", {"name": uniq("Stg"), "stage_id": value})
        assert deal["stage_id"] == proposal
        assert deal["pipeline_id"] == sales
        assert deal["stage"]["name"] == "Proposal Made"


def test_stage_name_in_the_partner_pipeline(shared: Any) -> None:
    deal = create(shared, "deals", {"name": uniq("Stg"), "stage_id": "Negotiation"})
    assert deal["stage_id"] == stage_id(shared, "Partner Pipeline", "Negotiation")
    assert deal["pipeline_id"] == lookup_id(shared, "pipelines", "Partner Pipeline")


def test_ambiguous_stage_name_takes_the_first_match(shared: Any) -> None:
    # "Qualified To Buy" is in both pipelines: the first match wins (docs/concord-api.md §13.1).
    deal = create(shared, "deals", {"name": uniq("Stg"), "stage_id": "Qualified To Buy"})
    assert deal["stage_id"] == stage_id(shared, "Sales Pipeline", "Qualified To Buy")


def test_unknown_stage_is_422_and_not_created(shared: Any) -> None:
    label = uniq("Nowhere ")
    for value in (label, 987654):
        payload = invalid(shared, "POST", "/api/deals", {"name": uniq("Stg"), "stage_id": value})
        assert list(payload["errors"]) == ["stage_id"]
    assert label not in names(shared, "pipeline-stages")


def test_stage_required_on_create(shared: Any) -> None:
    payload = invalid(shared, "POST", "/api/deals", {"name": uniq("NoStage")})
    assert list(payload["errors"]) == ["stage_id"]


def test_changing_stage_moves_the_pipeline(shared: Any) -> None:
    deal = create(shared, "deals", {"name": uniq("Mv"),
                                    "stage_id": stage_id(shared, "Sales Pipeline", "Closed")})
    moved = update(shared, "deals", deal["id"],
                   {"stage_id": stage_id(shared, "Partner Pipeline", "Negotiation")})
    assert moved["pipeline_id"] == lookup_id(shared, "pipelines", "Partner Pipeline")
