"""Whole leads in one run: several records per row, deal products, notes/activities/calls.

Everything goes through the real CLI against a sandbox; outcomes are read from the sandbox's
own state.
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

from tests.helpers import (
    MAPPINGS,
    SAMPLE_DATA,
    TOKEN,
    last_json,
    live,
    read_results,
    request_log,
    run_cli,
    state,
    write_csv,
    write_mapping,
    writes,
)

TRADE_FAIR = MAPPINGS / "trade-fair.yaml"


def _import(sb: Any, data: Path, mapping: Path, *extra: str) -> tuple[int, dict[str, Any], str]:
    result = run_cli(["import", str(data), "-m", str(mapping), "--json", *extra],
                     url=sb.url, token=TOKEN)
    return result.returncode, last_json(result.stdout), result.stderr


def _ids(items: list[dict[str, Any]]) -> set[int]:
    return {int(i["id"]) for i in items}


def _by(records: list[dict[str, Any]], key: str) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for record in live(records):
        out.setdefault(str(record.get(key)), []).append(record)
    return out


def test_the_trade_fair_sheet_imports_every_record_once(sandbox, tmp_path: Path) -> None:
    data = Path(shutil.copy(SAMPLE_DATA / "trade-fair-leads.csv", tmp_path))
    code, summary, err = _import(sandbox, data, TRADE_FAIR)
    assert code == 0, err
    assert summary["records"]["company"] == {"created": 3, "duplicate": 3, "unchanged": 1,
                                             "skipped": 1}
    assert summary["products"] == {"created": 5}
    crm = state(sandbox.url)
    companies = _by(crm["companies"], "name")
    for name in ("Brightwave Logistics", "Solstice Foods", "Kestrel Analytics",
                 "Northwind Traders"):
        assert len(companies[name]) == 1, name
    contacts = _by(crm["contacts"], "email")
    assert all(len(contacts[e]) == 1 for e in contacts)
    maria = contacts["maria.lopez@brightwave.example"][0]
    tom = contacts["tom.becker@brightwave.example"][0]
    brightwave = companies["Brightwave Logistics"][0]
    assert _ids(maria["companies"]) == _ids(tom["companies"]) == {brightwave["id"]}
    assert "trade-fair-2025" in {t["name"] for t in maria["tags"]}
    deals = _by(crm["deals"], "name")
    fleet = deals["Brightwave fleet CRM"][0]
    assert _ids(fleet["contacts"]) == {maria["id"], tom["id"]}
    assert _ids(fleet["companies"]) == {brightwave["id"]}
    lines = crm["billables"][str(fleet["id"])]["products"]
    assert sorted((line["sku"], float(line["qty"])) for line in lines) == [
        ("CC-SEAT", 25.0), ("ONB-1", 1.0)]
    assert float(fleet["amount"]) == float(crm["billables"][str(fleet["id"])]["total"])
    kestrel = deals["Kestrel analytics rollout"][0]
    assert len(crm["billables"][str(kestrel["id"])]["products"]) == 2
    notes = _by(crm["notes"], "body")
    sso = notes["Asked about single sign-on"][0]
    assert _ids(sso["contacts"]) == {tom["id"]}
    assert len(crm["notes"]) == 6
    tasks = _by(crm["activities"], "title")
    assert tasks["Send demo invite"][0]["due_date"] == "2025-03-10"
    assert tasks["Call about SSO"][0]["due_date"] == "2025-03-12T14:00:00.000000Z"
    assert _ids(tasks["Call about SSO"][0]["contacts"]) == {tom["id"]}
    assert all(t["user_id"] == 1 for t in live(crm["activities"]))
    results = read_results(Path(summary["results"]))
    assert Path(summary["results"]).name == "trade-fair-leads.trade-fair.results.csv"
    assert [r["_contact_id"] for r in results[:2]] == [str(maria["id"]), str(tom["id"])]
    assert results[1]["_company_action"] == "duplicate"
    assert results[1]["_deal_products_action"] == "created"
    assert results[4]["_note_action"] == "skipped" and results[4]["_errors"] == ""

    before = len(request_log(sandbox.url))
    code, again, err = _import(sandbox, data, TRADE_FAIR)
    assert code == 0, err
    writes = [r for r in request_log(sandbox.url)[before:] if r["method"] != "GET"]
    assert writes == []
    assert again["records"] == summary["records"]


def test_a_rejected_record_skips_the_records_that_link_to_it(sandbox, tmp_path: Path) -> None:
    source = (SAMPLE_DATA / "trade-fair-leads.csv").read_text(encoding="utf-8")
    data = tmp_path / "fair.csv"
    data.write_text(source.replace("maria.lopez@brightwave.example", "maria.lopez@@bw"),
                    encoding="utf-8")
    code, summary, err = _import(sandbox, data, TRADE_FAIR)
    assert code == 1, err
    row = read_results(Path(summary["results"]))[0]
    assert (row["_company_action"], row["_contact_action"], row["_deal_action"],
            row["_note_action"], row["_task_action"]) == (
        "created", "rejected", "skipped", "skipped", "skipped")
    errors = row["_errors"]
    assert "contact: Email:" in errors
    assert "note: not written: the contact of this row was rejected" in errors
    crm = state(sandbox.url)
    assert "Met at booth B12; wants a demo for 25 dispatchers" not in {
        n["body"] for n in crm["notes"]}
    # the deal is still written, from the next row that names it
    deal = _by(crm["deals"], "name")["Brightwave fleet CRM"][0]
    assert {c["email"] for c in deal["contacts"]} == {"tom.becker@brightwave.example"}


RECORDS = """\
version: 1
records:
  company:
    resource: companies
    match: {on: [name]}
    columns: {Company: name, Website: domain}
  contact:
    resource: contacts
    match: {on: [email]}
    columns: {First: first_name, Email: email}
    link: {companies: company}
"""


def test_rows_that_disagree_about_a_record_are_rejected_naming_each_other(
    sandbox, tmp_path: Path
) -> None:
    data = write_csv(tmp_path / "leads.csv", ["Company", "Website", "First", "Email"], [
        ["Hollow Pine", "hollowpine.example", "Ann", "ann@hollowpine.example"],
        ["Hollow Pine", "", "Ben", "ben@hollowpine.example"],
        ["Hollow Pine", "hollow-pine.example", "Cai", "cai@hollowpine.example"],
    ])
    mapping = write_mapping(tmp_path / "leads.yaml", RECORDS)
    code, summary, err = _import(sandbox, data, mapping)
    assert code == 1, err
    rows = read_results(Path(summary["results"]))
    assert [r["_company_action"] for r in rows] == ["created", "duplicate", "rejected"]
    assert "row 2 has the same Company with another Website" in rows[2]["_errors"]
    assert rows[2]["_contact_action"] == "skipped"
    pines = [c for c in live(state(sandbox.url)["companies"]) if c["name"] == "Hollow Pine"]
    assert len(pines) == 1 and pines[0]["domain"] == "hollowpine.example"
    assert len(pines[0]["contacts"]) == 2


def test_a_value_only_a_later_row_has_is_not_lost(sandbox, tmp_path: Path) -> None:
    data = write_csv(tmp_path / "leads.csv", ["Company", "Website", "First", "Email"], [
        ["Quiet Harbor", "", "Ann", "ann@quietharbor.example"],
        ["Quiet Harbor", "quietharbor.example", "Ben", "ben@quietharbor.example"],
    ])
    mapping = write_mapping(tmp_path / "leads.yaml", RECORDS)
    code, _summary, err = _import(sandbox, data, mapping)
    assert code == 0, err
    found = [c for c in live(state(sandbox.url)["companies"]) if c["name"] == "Quiet Harbor"]
    assert len(found) == 1 and found[0]["domain"] == "quietharbor.example"


def test_links_add_to_what_a_record_has(sandbox, tmp_path: Path) -> None:
    data = write_csv(tmp_path / "leads.csv", ["Company", "Website", "First", "Email"],
                     [["Initech", "", "Peter", "peter@initech.example"]])
    mapping = write_mapping(tmp_path / "leads.yaml", RECORDS)
    before = {c["name"]: len(c["contacts"]) for c in state(sandbox.url)["companies"]}
    code, summary, err = _import(sandbox, data, mapping)
    assert code == 0, err
    initech = next(c for c in state(sandbox.url)["companies"] if c["name"] == "Initech")
    assert len(initech["contacts"]) == before["Initech"] + 1
    assert summary["records"]["company"] == {"unchanged": 1}


NOTES = """\
version: 1
resource: notes
columns:
  Notes: body
  Email: {field: contacts, lookup: {resource: contacts, by: email}}
"""


def test_notes_attach_to_their_contacts_and_a_rerun_writes_nothing(sandbox, tmp_path: Path) -> None:
    data = write_csv(tmp_path / "notes.csv", ["Email", "Notes"], [
        ["ada@example.com", "Wants a demo"],
        ["grace@example.com", ""],
        ["nobody@nowhere.example", "Lost lead"],
    ])
    mapping = write_mapping(tmp_path / "notes.yaml", NOTES)
    code, summary, err = _import(sandbox, data, mapping)
    assert code == 1, err                          # the unknown contact
    rows = read_results(Path(summary["results"]))
    assert [r["_action"] for r in rows] == ["created", "skipped", "rejected"]
    assert "contact 'nobody@nowhere.example' not found" in rows[2]["_errors"]
    crm = state(sandbox.url)
    note = next(n for n in crm["notes"] if n["body"] == "Wants a demo")
    ada = next(c for c in crm["contacts"] if c["email"] == "ada@example.com")
    assert _ids(note["contacts"]) == {ada["id"]}
    before = len(request_log(sandbox.url))
    code, _again, _ = _import(sandbox, data, mapping)
    assert code == 1
    assert [r for r in request_log(sandbox.url)[before:] if r["method"] != "GET"] == []
    assert sum(1 for n in state(sandbox.url)["notes"] if n["body"] == "Wants a demo") == 1


def test_lost_answers_of_notes_are_reconciled_by_content(sandbox_factory, tmp_path: Path) -> None:
    sb = sandbox_factory(drop_after_commit_rate=0.4, fault_seed=3)
    rows = [["ada@example.com", f"Note number {i}"] for i in range(30)]
    rows.append(["ada@example.com", "Note number 0"])        # the same note twice, on purpose
    data = write_csv(tmp_path / "notes.csv", ["Email", "Notes"], rows)
    mapping = write_mapping(tmp_path / "notes.yaml", NOTES)
    # one write at a time: the twin note of row 32 is sent after row 2's outcome is known
    code, summary, err = _import(sb, data, mapping, "--concurrency", "1")
    assert code == 0, err
    bodies = Counter(n["body"] for n in state(sb.url)["notes"] if n["body"].startswith("Note"))
    assert bodies["Note number 0"] == 2
    assert all(bodies[f"Note number {i}"] == 1 for i in range(1, 30))
    assert summary["created"] == 31


ACTIVITIES = """\
version: 1
resource: activities
columns:
  Task: title
  Due: due_date
  Type: {field: activity_type_id, lookup: {resource: activity-types, by: name}}
  Email: {field: contacts, lookup: {resource: contacts, by: email}}
  Guest: {field: guests, lookup: {resource: contacts, by: email}}
"""


def test_activities_keep_dates_and_times_and_belong_to_the_importer(
    sandbox, tmp_path: Path
) -> None:
    data = write_csv(tmp_path / "tasks.csv", ["Task", "Due", "Type", "Email", "Guest"], [
        ["Call back", "2025-04-01", "Call", "ada@example.com", ""],
        ["Demo", "2025-04-02 15:30", "Meeting", "ada@example.com", "grace@example.com"],
        ["Typo", "2025-04-03", "Lunch", "", ""],
    ])
    mapping = write_mapping(tmp_path / "tasks.yaml", ACTIVITIES)
    code, summary, err = _import(sandbox, data, mapping)
    assert code == 1, err
    rows = read_results(Path(summary["results"]))
    assert [r["_action"] for r in rows] == ["created", "created", "rejected"]
    assert "activity type 'Lunch' not found" in rows[2]["_errors"]
    tasks = {a["title"]: a for a in state(sandbox.url)["activities"]}
    assert tasks["Call back"]["due_date"] == "2025-04-01"
    assert tasks["Call back"]["type"]["name"] == "Call"
    assert tasks["Demo"]["due_date"] == "2025-04-02T15:30:00.000000Z"
    assert tasks["Demo"]["user_id"] == 1
    assert "grace@example.com" in {g.get("email") for g in tasks["Demo"]["guests"]}


CALLS = """\
version: 1
resource: calls
columns:
  When: date
  Outcome: {field: call_outcome_id, lookup: {resource: call-outcomes, by: name}}
  Summary: body
  Company: {field: companies, lookup: {resource: companies, by: name}}
"""


def test_calls_are_logged_against_their_company(sandbox, tmp_path: Path) -> None:
    data = write_csv(tmp_path / "calls.csv", ["When", "Outcome", "Summary", "Company"],
                     [["2025-04-01 10:00", "Busy", "Line busy, try Friday", "Initech"]])
    mapping = write_mapping(tmp_path / "calls.yaml", CALLS)
    code, _summary, err = _import(sandbox, data, mapping)
    assert code == 0, err
    crm = state(sandbox.url)
    call = next(c for c in crm["calls"] if c["body"] == "Line busy, try Friday")
    initech = next(c for c in crm["companies"] if c["name"] == "Initech")
    assert call["outcome"]["name"] == "Busy" and _ids(call["companies"]) == {initech["id"]}


PRODUCTS = """\
version: 1
resource: deals
match: {on: [name]}
columns:
  Deal: name
  Stage: {field: stage_id, lookup: {resource: pipeline-stages, by: name,
                                     scope: {pipeline: Sales Pipeline}}}
products:
  columns:
    Product: {field: product_id, lookup: {resource: products, by: name}}
    Qty: qty
    Price: unit_price
"""


def test_deal_lines_are_updated_in_place_on_a_second_import(sandbox, tmp_path: Path) -> None:
    header = ["Deal", "Stage", "Product", "Qty", "Price"]
    data = write_csv(tmp_path / "deals.csv", header, [
        ["Harbor rollout", "Proposal Made", "Concord Cloud Seat", "10", "45"],
        ["Harbor rollout", "Proposal Made", "Premium Support", "1", "299"],
    ])
    mapping = write_mapping(tmp_path / "deals.yaml", PRODUCTS)
    code, summary, err = _import(sandbox, data, mapping)
    assert code == 0, err
    assert summary["products"] == {"created": 2}
    write_csv(data, header, [
        ["Harbor rollout", "Proposal Made", "Concord Cloud Seat", "12", "45"],
        ["Harbor rollout", "Proposal Made", "Premium Support", "1", "299"],
    ])
    code, summary, err = _import(sandbox, data, mapping, "--restart")
    assert code == 0, err
    assert summary["products"] == {"updated": 1, "unchanged": 1}
    crm = state(sandbox.url)
    deal = next(d for d in live(crm["deals"]) if d["name"] == "Harbor rollout")
    lines = crm["billables"][str(deal["id"])]["products"]
    assert sorted((line["name"], float(line["qty"])) for line in lines) == [
        ("Concord Cloud Seat", 12.0), ("Premium Support", 1.0)]
    assert float(deal["amount"]) == float(crm["billables"][str(deal["id"])]["total"])


def test_dry_run_and_plan_cover_every_record(sandbox, tmp_path: Path) -> None:
    data = Path(shutil.copy(SAMPLE_DATA / "trade-fair-leads.csv", tmp_path))
    plan = tmp_path / "plan.jsonl"
    code, summary, err = _import(sandbox, data, TRADE_FAIR, "--dry-run", "--plan", str(plan))
    assert code == 0, err
    assert summary["dry_run"] is True and summary["records"]["note"] == {"created": 6,
                                                                         "skipped": 2}
    assert [r for r in request_log(sandbox.url) if r["method"] != "GET"] == []
    lines = [json.loads(line) for line in plan.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == 8
    first = lines[0]["records"]
    assert first["contact"]["action"] == "create"
    assert first["contact"]["payload"]["companies"] == ["(new company of row 2)"]
    assert first["note"]["payload"]["via_resource"] == "contacts"
    assert first["deal"]["line"]["action"] == "create"
    assert lines[1]["records"]["company"]["action"] == "duplicate"


def test_validate_names_the_record_of_every_problem(tmp_path: Path) -> None:
    source = (SAMPLE_DATA / "trade-fair-leads.csv").read_text(encoding="utf-8")
    data = tmp_path / "fair.csv"
    data.write_text(source.replace("maria.lopez@brightwave.example", "maria@@bw")
                    .replace(",25,10,", ",lots,10,"), encoding="utf-8")
    result = run_cli(["validate", str(data), "-m", str(TRADE_FAIR), "--json"],
                     url="http://127.0.0.1:9", token=TOKEN)
    assert result.returncode == 1, result.stderr
    assert last_json(result.stdout)["rejected"] == 1
    text = run_cli(["validate", str(data), "-m", str(TRADE_FAIR)], url="http://127.0.0.1:9",
                   token=TOKEN).stdout
    assert "row 2: contact: Email:" in text and "row 2: deal products: Qty:" in text


def test_rows_of_one_deal_may_give_its_required_values_once(sandbox, tmp_path: Path) -> None:
    header = ["Deal", "Stage", "Product", "Qty", "Price"]
    data = write_csv(tmp_path / "deals.csv", header, [
        ["Cove rollout", "Proposal Made", "Concord Cloud Seat", "10", "45"],
        ["Cove rollout", "", "Premium Support", "1", "299"],
        ["Orphan deal", "", "Premium Support", "1", "299"],
    ])
    mapping = write_mapping(tmp_path / "deals.yaml", PRODUCTS)
    code, summary, err = _import(sandbox, data, mapping)
    assert code == 1, err
    rows = read_results(Path(summary["results"]))
    assert [r["_action"] for r in rows] == ["created", "duplicate", "rejected"]
    assert rows[2]["_errors"].startswith("Stage: a value is required")
    assert [r["_products_action"] for r in rows] == ["created", "created", "skipped"]
    online = run_cli(["validate", str(data), "-m", str(mapping), "--online", "--json"],
                     url=sandbox.url, token=TOKEN)
    assert last_json(online.stdout)["rejected"] == 1


def test_limit_sends_only_the_first_rows_of_a_records_sheet(sandbox, tmp_path: Path) -> None:
    data = Path(shutil.copy(SAMPLE_DATA / "trade-fair-leads.csv", tmp_path))
    code, summary, err = _import(sandbox, data, TRADE_FAIR, "--limit", "2")
    assert code == 0, err
    contacts = _by(state(sandbox.url)["contacts"], "email")
    assert set(contacts) >= {"maria.lopez@brightwave.example", "tom.becker@brightwave.example"}
    third = data.read_text(encoding="utf-8").splitlines()[3].split(",")[4]
    assert third not in contacts
    assert summary["records"]["contact"]["created"] == 2


def test_rows_in_later_batches_never_update_a_line_this_run_wrote(sandbox, tmp_path: Path) -> None:
    header = ["Deal", "Stage", "Product", "Qty", "Price"]
    seat = ["Harbor rollout", "Proposal Made", "Concord Cloud Seat"]
    filler = [["", "", "", "", ""]] * 600           # rows without a deal: the next batch starts
    data = write_csv(tmp_path / "deals.csv", header, [
        [*seat, "10", "45"], *filler, [*seat, "12", "45"], [*seat, "10", "45"]])
    mapping = write_mapping(tmp_path / "deals.yaml", PRODUCTS)
    code, summary, err = _import(sandbox, data, mapping)
    assert code == 1, err
    rows = {r["_row"]: r for r in read_results(tmp_path / "deals.results.csv")}
    assert rows["2"]["_products_action"] == "created"
    assert rows["603"]["_products_action"] == "rejected"
    assert "row 2 gives this deal the same product with other values" in rows["603"]["_errors"]
    assert rows["604"]["_products_action"] == "duplicate"
    crm = state(sandbox.url)
    deal = next(d for d in live(crm["deals"]) if d["name"] == "Harbor rollout")
    lines = crm["billables"][str(deal["id"])]["products"]
    assert [(line["name"], float(line["qty"])) for line in lines] == [("Concord Cloud Seat", 10.0)]
    sent = len(writes(sandbox.url))
    code, summary, err = _import(sandbox, data, mapping)            # the rerun agrees
    assert code == 1, err
    assert summary["products"].get("rejected") == 1
    assert len(writes(sandbox.url)) == sent
    again = {r["_row"]: r for r in read_results(tmp_path / "deals.results.csv")}
    assert again["603"]["_products_action"] == "rejected"
