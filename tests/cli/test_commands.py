"""The read-only commands through the real CLI: fields, mapping init, validate; lookup rules."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import requests

from tests.helpers import (
    MAPPINGS,
    SAMPLE_DATA,
    TOKEN,
    last_json,
    live,
    read_results,
    run_cli,
    state,
    write_csv,
    write_mapping,
    writes,
)


def test_fields_lists_custom_fields_with_option_ids(sandbox) -> None:
    result = run_cli(["fields", "contacts"], url=sandbox.url, token=TOKEN)
    assert result.returncode == 0, result.stderr
    line = next(ln for ln in result.stdout.splitlines() if ln.startswith("cf_customer_tier"))
    assert "Select" in line and "=Gold" in line
    as_json = json.loads(run_cli(["fields", "contacts", "--json"], url=sandbox.url, token=TOKEN).stdout)
    assert as_json["email"]["unique"] is True
    assert as_json["first_name"]["required"] is True
    assert {o["name"] for o in as_json["cf_interests"]["options"]} >= {"Analytics", "Support"}
    assert as_json["user_id"]["related"] == "users"


def test_mapping_init_drafts_a_mapping_that_validates(sandbox, tmp_path: Path) -> None:
    data = shutil.copy(SAMPLE_DATA / "leads.csv", tmp_path / "leads.csv")
    draft = tmp_path / "draft.yaml"
    result = run_cli(["mapping", "init", str(data), "--resource", "contacts", "-o", str(draft)],
                     url=sandbox.url, token=TOKEN)
    assert result.returncode == 0, result.stderr
    text = draft.read_text()
    assert "E-mail: " in text and "email" in text
    check = run_cli(["validate", str(data), "--mapping", str(draft), "--online", "--json"],
                    url=sandbox.url, token=TOKEN)
    assert check.returncode in (0, 1), check.stderr
    assert last_json(check.stdout)["rows"] == 40
    assert writes(sandbox.url) == []


def test_validate_offline_needs_no_crm_and_writes_rejected_rows(tmp_path: Path) -> None:
    data = shutil.copy(SAMPLE_DATA / "leads.csv", tmp_path / "leads.csv")
    out = tmp_path / "rejected.csv"
    result = run_cli(["validate", str(data), "-m", str(MAPPINGS / "leads-contacts.yaml"),
                      "--results", str(out), "--json"], url="http://127.0.0.1:9", token=TOKEN)
    assert result.returncode == 1, result.stderr
    summary = last_json(result.stdout)
    assert summary["rows"] == 40 and summary["requests"] == 0
    flagged = read_results(out)
    rejected = [r for r in flagged if r["_action"] == "rejected"]
    assert len(rejected) == summary["rejected"] >= 5
    reasons = " ".join(r["_errors"] for r in rejected)
    assert "Diamond" in reasons and "31/02/2024" in reasons and "duplicate" in reasons
    warned = [r for r in flagged if r["_action"] == "valid"]
    assert len(warned) == summary["warnings"] and all(r["_warnings"] for r in warned)


def test_validate_online_also_checks_lookups_read_only(sandbox, tmp_path: Path) -> None:
    data = shutil.copy(SAMPLE_DATA / "leads.csv", tmp_path / "leads.csv")
    mapping = MAPPINGS / "leads-contacts.yaml"
    offline = last_json(run_cli(["validate", str(data), "-m", str(mapping), "--json"],
                                url=sandbox.url, token=TOKEN).stdout)
    online = run_cli(["validate", str(data), "-m", str(mapping), "--online", "--json"],
                     url=sandbox.url, token=TOKEN)
    summary = last_json(online.stdout)
    assert summary["rejected"] == offline["rejected"] + 1   # the owner nobody has
    assert summary["requests"] > 0
    assert writes(sandbox.url) == []


STAGES = """\
version: 1
resource: deals
columns:
  Deal: name
  Stage: {field: stage_id, lookup: {resource: pipeline-stages, by: name}}
  Pipeline: {field: pipeline_id, lookup: {resource: pipelines, by: name}}
  Owner: {field: user_id, lookup: {resource: users, by: name}}
"""
SOURCES = """\
version: 1
resource: contacts
columns:
  Name: first_name
  Source: {field: source_id, lookup: {resource: sources, by: name}}
  Industry Tier: cf_customer_tier
"""


def test_ambiguous_and_missing_lookups_reject_rows_and_create_nothing(
    sandbox, tmp_path: Path
) -> None:
    rows = [
        ["Needs pipeline", "Contact Made", "", "Sam Seller"],      # stage in 2 pipelines
        ["Scoped", "Contact Made", "Partner Pipeline", "Sam Seller"],
        ["Two Chris", "Negotiation", "", "Chris Lee"],            # 2 users of that name
        ["Nobody", "Negotiation", "", "Ghost Rider"],             # no such user
    ]
    data = write_csv(tmp_path / "deals.csv", ["Deal", "Stage", "Pipeline", "Owner"], rows)
    mapping = write_mapping(tmp_path / "m.yaml", STAGES)
    result = run_cli(["import", str(data), "-m", str(mapping), "--json"], url=sandbox.url, token=TOKEN)
    assert result.returncode == 1, result.stderr
    summary = last_json(result.stdout)
    assert (summary["created"], summary["rejected"]) == (1, 3)
    by_row = {int(r["_row"]): r for r in read_results(Path(summary["results"]))}
    assert "several pipelines" in by_row[2]["_errors"]
    assert by_row[3]["_action"] == "created"
    assert "ambiguous" in by_row[4]["_errors"]
    assert "Ghost Rider" in by_row[5]["_errors"] and "not found" in by_row[5]["_errors"]
    deal = next(d for d in live(state(sandbox.url)["deals"]) if d["name"] == "Scoped")
    stage = requests.get(f"{sandbox.url}/api/pipeline-stages/{deal['stage_id']}",
                         headers={"Authorization": f"Bearer {TOKEN}",
                                  "Accept": "application/json"}, timeout=10).json()
    assert stage["name"] == "Contact Made"
    assert deal["pipeline_id"] == stage["pipeline_id"]


def test_unknown_source_or_option_label_is_rejected_never_created(sandbox, tmp_path: Path) -> None:
    rows = [["Ann", "Referrals", "Gold"], ["Bob", "Billboard", "Gold"], ["Cy", "Referrals", "Iron"]]
    data = write_csv(tmp_path / "c.csv", ["Name", "Source", "Industry Tier"], rows)
    mapping = write_mapping(tmp_path / "m.yaml", SOURCES)
    before = state(sandbox.url)
    result = run_cli(["import", str(data), "-m", str(mapping), "--json"], url=sandbox.url, token=TOKEN)
    summary = last_json(result.stdout)
    assert (summary["created"], summary["rejected"]) == (1, 2)
    by_row = {int(r["_row"]): r for r in read_results(Path(summary["results"]))}
    assert "Billboard" in by_row[3]["_errors"]
    assert "Iron" in by_row[4]["_errors"] and "Platinum" in by_row[4]["_errors"]
    after = state(sandbox.url)
    assert len(after["sources"]) == len(before["sources"])
    assert len(after["options"]) == len(before["options"])


def test_mapping_init_takes_ids_for_concord_ids_only_when_the_crm_agrees(
    sandbox, tmp_path: Path
) -> None:
    """A sheet exported from Concord updates its records by id; another system's numbering
    (ids 1, 2, 3 too) must never update whichever Concord records carry those numbers."""
    crm = state(sandbox.url)
    ada = next(c for c in crm["contacts"] if c["email"] == "ada@example.com")
    ours = write_csv(tmp_path / "ours.csv", ["id", "first_name", "email"],
                     [[str(ada["id"]), "Ada", "ada@example.com"]])
    theirs = write_csv(tmp_path / "theirs.csv", ["id", "first_name", "email"],
                       [[str(ada["id"] + i), name, f"{name.lower()}@example.net"]
                        for i, name in enumerate(["Shelley", "Manuel", "Walter"])])
    guessed = {}
    for data in (ours, theirs):
        draft = tmp_path / f"{data.stem}.yaml"
        result = run_cli(["mapping", "init", str(data), "--resource", "contacts", "-o", str(draft)],
                         url=sandbox.url, token=TOKEN)
        assert result.returncode == 0, result.stderr
        guessed[data.stem] = next(line for line in draft.read_text().splitlines()
                                  if line.strip().startswith("id:"))
    assert "{field: id," in guessed["ours"]
    assert "{field: cf_external_id," in guessed["theirs"]
    assert "not Concord ids" in guessed["theirs"]
