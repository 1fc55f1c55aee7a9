"""Undoing an import: `concord-etl revert` against a sandbox, outcomes read from its own state.

The headline scenario goes through the real CLI; the finer cases call ``revert_import``.
"""

from __future__ import annotations

import os
import select
import shutil
import signal
import sqlite3
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import requests

from concord_etl.crm.client import ConcordClient
from concord_etl.errors import JournalError, RunLocked
from concord_etl.load.lock import RunLock
from concord_etl.load.revert import RevertOptions, revert_import
from concord_etl.load.run import run_import
from concord_etl.mapping import load_import_mapping
from tests.helpers import (
    MAPPINGS,
    SAMPLE_DATA,
    TOKEN,
    cli_env,
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

CONTACTS = """\
version: 1
resource: contacts
match: {on: [email]}
columns:
  First Name: first_name
  Email: email
  Job Title: job_title
  Tier: cf_customer_tier
  Interests: {field: cf_interests, split: ";"}
  Phone: {field: phones, phone_type: work}
  Tags: {field: tags, split: ";"}
  Signup: {field: cf_signup_date, type: Date}
  Score: cf_lead_score
"""
HEADER = ["First Name", "Email", "Job Title", "Tier", "Interests", "Phone", "Tags", "Signup",
          "Score"]
# Five contacts of the demo seed, each with fields the import changes.
UPDATES = [
    ["Ada", "ada@example.com", "CEO", "Silver", "Reporting", "+441234567891", "VIP;Board",
     "2024-03-01", "90"],
    ["Grace", "grace@example.com", "Admiral", "Gold", "", "", "", "", ""],
    ["Alan", "alan@example.com", "Mathematician", "Gold", "Analytics", "", "", "", ""],
    ["Katherine", "katherine@example.com", "Physicist", "", "", "", "", "2023-01-01", ""],
    ["Linus", "linus@example.com", "Kernel hacker", "", "", "", "", "", "5"],
]


def view(url: str, *resources: str) -> dict[str, dict[int, dict[str, Any]]]:
    """The live records of the CRM, comparable across writes (no timestamps, ids as sets)."""
    crm = state(url)
    out: dict[str, dict[int, dict[str, Any]]] = {}
    for resource in resources:
        out[resource] = {r["id"]: _plain(r) for r in live(crm[resource])}
    if "deals" in resources:
        out["billables"] = {
            int(k): {"products": sorted((p["product_id"], float(p["qty"])) for p in b["products"])}
            for k, b in crm["billables"].items() if int(k) in out["deals"]}
    return out


def _plain(record: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in record.items():
        if key in ("updated_at", "user", "source", "country", "stage", "pipeline", "type"):
            continue
        if key == "phones":
            value = sorted((p["number"], p["type"]) for p in value or ())
        elif isinstance(value, list) and all(isinstance(v, dict) for v in value):
            value = sorted(str(v.get("id", v.get("name"))) for v in value)
        out[key] = value
    return out


def contacts_file(path: Path) -> Path:
    rows = [[f"P{i}", f"p{i}@example.com", "Engineer", "Bronze", "Analytics",
             f"+1555010{i:04d}", "new", f"2024-02-{1 + i % 9:02d}", str(i)] for i in range(20)]
    return write_csv(path, HEADER, rows + UPDATES)


def _revert(url: str, data: Path, mapping: Path, *extra: str) -> tuple[int, dict[str, Any], str]:
    result = run_cli(["revert", str(data), "-m", str(mapping), "--json", *extra], url=url,
                     token=TOKEN)
    return result.returncode, last_json(result.stdout) if "{" in result.stdout else {}, \
        result.stderr


def _by_email(url: str) -> dict[str, dict[str, Any]]:
    return {c["email"]: c for c in state(url)["contacts"]}


def test_revert_deletes_creates_sets_back_updates_and_leaves_a_hand_change(
        sandbox, tmp_path: Path) -> None:
    data = contacts_file(tmp_path / "leads.csv")
    mapping = write_mapping(tmp_path / "leads.yaml", CONTACTS)
    before = view(sandbox.url, "contacts")
    result = run_cli(["import", str(data), "-m", str(mapping), "--json"], url=sandbox.url,
                     token=TOKEN)
    assert result.returncode == 0, result.stderr
    assert last_json(result.stdout)["created"] == 20
    assert last_json(result.stdout)["updated"] == 5
    grace = _by_email(sandbox.url)["grace@example.com"]
    assert grace["job_title"] == "Admiral"
    # someone changes a field the import wrote, by hand
    answer = requests.put(f"{sandbox.url}/api/contacts/{grace['id']}",
                          json={"job_title": "Commodore"},
                          headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30)
    assert answer.status_code == 200

    code, summary, err = _revert(sandbox.url, data, mapping)
    assert code == 1, err
    assert (summary["deleted"], summary["reverted"], summary["conflict"]) == (20, 4, 1)
    contacts = _by_email(sandbox.url)
    created = [contacts[f"p{i}@example.com"] for i in range(20)]
    assert all(c.get("deleted_at") for c in created), "the 20 created contacts are in the trash"
    after = view(sandbox.url, "contacts")["contacts"]
    for email in ("ada@example.com", "alan@example.com", "katherine@example.com",
                  "linus@example.com"):
        ident = contacts[email]["id"]
        assert after[ident] == before["contacts"][ident], email
    grace_now = after[grace["id"]]
    assert grace_now["job_title"] == "Commodore", "the hand-changed field is untouched"
    assert grace_now["cf_customer_tier"] == before["contacts"][grace["id"]]["cf_customer_tier"]
    results = {int(r["_row"]): r for r in read_results(Path(summary["results"]))}
    assert len(results) == 25
    conflict = results[23]
    assert conflict["_action"] == "conflict"
    assert 'job_title: the import wrote "Admiral", the CRM now has "Commodore"' in \
        conflict["_errors"]
    assert Counter(r["_action"] for r in results.values()) == {
        "deleted": 20, "reverted": 4, "conflict": 1}

    code, summary, err = _revert(sandbox.url, data, mapping, "--force")
    assert code == 0, err
    assert summary["conflict"] == 0 and summary["reverted"] == 5
    assert view(sandbox.url, "contacts") == before, "the CRM is as before the import"

    writes_so_far = len(writes(sandbox.url))
    code, summary, err = _revert(sandbox.url, data, mapping)
    assert code == 0, err
    assert len(writes(sandbox.url)) == writes_so_far, "a second revert writes nothing"
    assert summary["requests"] == 0


def test_an_import_refuses_a_reverted_journal_until_restart(sandbox, tmp_path: Path) -> None:
    data = write_csv(tmp_path / "leads.csv", HEADER, UPDATES[:2])
    mapping = write_mapping(tmp_path / "leads.yaml", CONTACTS)
    assert run_cli(["import", str(data), "-m", str(mapping)], url=sandbox.url,
                   token=TOKEN).returncode == 0
    code, _summary, err = _revert(sandbox.url, data, mapping, "--yes")
    assert code == 0, err
    again = run_cli(["import", str(data), "-m", str(mapping)], url=sandbox.url, token=TOKEN)
    assert again.returncode == 2
    assert "was reverted" in again.stderr and "--restart" in again.stderr
    restart = run_cli(["import", str(data), "-m", str(mapping), "--restart", "--json"],
                      url=sandbox.url, token=TOKEN)
    assert restart.returncode == 0, restart.stderr
    assert last_json(restart.stdout)["updated"] == 2


def test_nothing_to_revert_without_a_journal_is_a_usage_error(sandbox, tmp_path: Path) -> None:
    data = write_csv(tmp_path / "leads.csv", HEADER, UPDATES[:1])
    mapping = write_mapping(tmp_path / "leads.yaml", CONTACTS)
    code, _summary, err = _revert(sandbox.url, data, mapping)
    assert code == 2
    assert "nothing to revert" in err and "leads.csv.leads.journal.sqlite" in err


def test_a_dry_run_lists_every_undo_and_writes_nothing(sandbox, tmp_path: Path) -> None:
    data = contacts_file(tmp_path / "leads.csv")
    mapping = write_mapping(tmp_path / "leads.yaml", CONTACTS)
    assert run_cli(["import", str(data), "-m", str(mapping)], url=sandbox.url,
                   token=TOKEN).returncode == 0
    writes_so_far = len(writes(sandbox.url))
    result = run_cli(["revert", str(data), "-m", str(mapping), "--dry-run"], url=sandbox.url,
                     token=TOKEN)
    assert result.returncode == 0, result.stderr
    assert len(writes(sandbox.url)) == writes_so_far
    lines = [line.strip() for line in result.stdout.splitlines() if line.strip()[:4] == "row "]
    assert len(lines) == 25
    assert sum(": delete contacts " in line for line in lines) == 20
    assert sum(": revert contacts " in line for line in lines) == 5
    assert "would delete" in result.stdout
    # and the real revert is still to do
    code, summary, err = _revert(sandbox.url, data, mapping)
    assert code == 0, err
    assert summary["deleted"] == 20
    # a dry run afterwards says it was done, and would do nothing
    result = run_cli(["revert", str(data), "-m", str(mapping), "--dry-run"], url=sandbox.url,
                     token=TOKEN)
    assert result.returncode == 0, result.stderr
    assert ": delete contacts" not in result.stdout
    assert result.stdout.count("(by an earlier revert)") == 26     # 25 rows + the summary
    assert "would delete" not in result.stdout
    assert len(writes(sandbox.url)) == writes_so_far + 25


def test_a_revert_waits_for_no_one_while_the_import_holds_the_lock(sandbox,
                                                                   tmp_path: Path) -> None:
    data = write_csv(tmp_path / "leads.csv", HEADER, UPDATES[:1])
    mapping_path = write_mapping(tmp_path / "leads.yaml", CONTACTS)
    client = ConcordClient(sandbox.url, TOKEN)
    mapping = load_import_mapping(mapping_path)
    run_import(data, mapping, client)
    journal = tmp_path / "leads.csv.leads.journal.sqlite"
    with RunLock(journal, input_name=str(data), mapping_name="leads.yaml"), \
            pytest.raises(RunLocked):
        revert_import(data, mapping, client)
    assert revert_import(data, mapping, client).counts["reverted"] == 1


def test_a_declined_confirmation_changes_nothing(sandbox, tmp_path: Path) -> None:
    data = contacts_file(tmp_path / "leads.csv")
    mapping_path = write_mapping(tmp_path / "leads.yaml", CONTACTS)
    client = ConcordClient(sandbox.url, TOKEN)
    mapping = load_import_mapping(mapping_path)
    run_import(data, mapping, client)
    shown: list[str] = []

    def confirm(lines: list[str]) -> bool:
        shown.extend(lines)
        return False

    writes_so_far = len(writes(sandbox.url))
    summary = revert_import(data, mapping, client, confirm=confirm)
    assert summary.declined and summary.exit_code == 1
    assert len(writes(sandbox.url)) == writes_so_far
    assert "delete 20 contacts the import created (to the trash)" in shown
    assert "set back the fields the import changed on 5 contacts" in shown


# -- records restored from the trash, option fields, lookups -------------------------------------


def test_a_contact_restored_from_the_trash_goes_back_there(sandbox, tmp_path: Path) -> None:
    trashed = next(c for c in state(sandbox.url)["contacts"] if c.get("deleted_at"))
    data = write_csv(tmp_path / "leads.csv", HEADER,
                     [["Back", trashed["email"], "Returned", "", "", "", "", "", ""]])
    mapping_path = write_mapping(tmp_path / "leads.yaml", CONTACTS)
    client = ConcordClient(sandbox.url, TOKEN)
    mapping = load_import_mapping(mapping_path)
    assert run_import(data, mapping, client).counts["updated"] == 1
    assert not _by_email(sandbox.url)[trashed["email"]].get("deleted_at")
    summary = revert_import(data, mapping, client)
    assert summary.counts["reverted"] == 1 and summary.exit_code == 0
    again = _by_email(sandbox.url)[trashed["email"]]
    assert again.get("deleted_at"), "back in the trash"
    assert (again["first_name"], again["job_title"]) == (trashed["first_name"],
                                                         trashed["job_title"])


def test_an_option_field_that_was_empty_cannot_be_emptied_and_says_so(sandbox,
                                                                      tmp_path: Path) -> None:
    linus = _by_email(sandbox.url)["linus@example.com"]
    assert linus["cf_customer_tier"] is None
    data = write_csv(tmp_path / "leads.csv", HEADER,
                     [["Linus", "linus@example.com", "Kernel", "Gold", "", "", "", "", ""]])
    mapping_path = write_mapping(tmp_path / "leads.yaml", CONTACTS)
    client = ConcordClient(sandbox.url, TOKEN)
    mapping = load_import_mapping(mapping_path)
    run_import(data, mapping, client)
    summary = revert_import(data, mapping, client)
    assert summary.counts["failed"] == 1 and summary.exit_code == 1
    now = _by_email(sandbox.url)["linus@example.com"]
    assert now["job_title"] is None, "the other fields are set back"
    assert now["cf_customer_tier"] is not None
    row = read_results(Path(summary.results or ""))[0]
    assert row["_action"] == "failed"
    assert "cf_customer_tier: was empty before the import" in row["_errors"]
    assert "clear it in Concord" in row["_errors"]


LINKED = """\
version: 1
resource: contacts
match: {on: [email]}
columns:
  First Name: first_name
  Email: email
  Company: {field: companies, lookup: {resource: companies, by: name, create_missing: true}}
"""


def test_lookup_created_companies_go_unless_something_else_uses_them(sandbox,
                                                                     tmp_path: Path) -> None:
    data = write_csv(tmp_path / "leads.csv", ["First Name", "Email", "Company"], [
        ["Ann", "ann@example.com", "Fjord Works"],
        ["Bo", "bo@example.com", "Harbor Labs"],
        ["Ada", "ada@example.com", "Fjord Works"],
    ])
    mapping_path = write_mapping(tmp_path / "leads.yaml", LINKED)
    before = view(sandbox.url, "contacts", "companies")
    client = ConcordClient(sandbox.url, TOKEN)
    mapping = load_import_mapping(mapping_path)
    imported = run_import(data, mapping, client)
    assert len(imported.created_related) == 2
    companies = {c["name"]: c for c in live(state(sandbox.url)["companies"])}
    harbor = companies["Harbor Labs"]
    # someone else starts using Harbor Labs
    requests.post(f"{sandbox.url}/api/contacts", json={
        "first_name": "Cy", "email": "cy@example.com", "companies": [harbor["id"]]},
        headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30).raise_for_status()
    summary = revert_import(data, mapping, client)
    assert summary.exit_code == 1
    assert any('companies "Fjord Works"' in line and ": deleted" in line
               for line in summary.related)
    kept = next(line for line in summary.related if "Harbor Labs" in line)
    assert ": conflict" in kept and "still used by contacts" in kept
    now = view(sandbox.url, "contacts", "companies")
    ada = next(c for c in now["contacts"].values() if c["email"] == "ada@example.com")
    assert ada == before["contacts"][ada["id"]], "Ada's companies are as before"
    assert harbor["id"] in now["companies"]
    assert not any(c["name"] == "Fjord Works" for c in now["companies"].values())
    forced = revert_import(data, mapping, client, RevertOptions(force=True))
    assert forced.exit_code == 0
    assert harbor["id"] not in view(sandbox.url, "companies")["companies"]


# -- deal line items -------------------------------------------------------------------------------

LINES = """\
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
"""


def test_line_items_are_removed_or_set_back_and_the_amount_returns(sandbox,
                                                                   tmp_path: Path) -> None:
    crm = state(sandbox.url)
    deals = {d["name"]: d for d in live(crm["deals"])}
    globex = deals["Globex expansion"]
    seat = next(p for p in crm["products"] if p["name"] == "Concord Cloud Seat")
    requests.post(f"{sandbox.url}/api/deals/{globex['id']}/billable",
                  json={"products": [{"product_id": seat["id"], "qty": 10}]},
                  headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30).raise_for_status()
    before = view(sandbox.url, "deals")
    data = write_csv(tmp_path / "deals.csv", ["Deal", "Stage", "Product", "Qty"], [
        ["Acme renewal", "Qualified To Buy", "Premium Support", "2"],
        ["Globex expansion", "Presentation Scheduled", "Concord Cloud Seat", "12"],
        ["Globex expansion", "Presentation Scheduled", "Analytics Add-on", "3"],
    ])
    mapping_path = write_mapping(tmp_path / "deals.yaml", LINES)
    client = ConcordClient(sandbox.url, TOKEN)
    mapping = load_import_mapping(mapping_path)
    imported = run_import(data, mapping, client)
    assert imported.lines == {"created": 2, "updated": 1}, imported.as_dict()
    acme = view(sandbox.url, "deals")["deals"][deals["Acme renewal"]["id"]]
    assert float(acme["amount"]) != 1200.0
    summary = revert_import(data, mapping, client)
    assert summary.exit_code == 0, summary.as_dict()
    assert summary.lines == {"deleted": 2, "reverted": 1}
    assert view(sandbox.url, "deals") == before


# -- records: mappings -------------------------------------------------------------------------


def test_the_trade_fair_run_reverts_in_reverse_order_to_the_crm_as_before(
        sandbox, tmp_path: Path) -> None:
    data = Path(shutil.copy(SAMPLE_DATA / "trade-fair-leads.csv", tmp_path))
    mapping = MAPPINGS / "trade-fair.yaml"
    resources = ("companies", "contacts", "deals", "notes", "activities")
    before = view(sandbox.url, *resources)
    result = run_cli(["import", str(data), "-m", str(mapping), "--json"], url=sandbox.url,
                     token=TOKEN)
    assert result.returncode == 0, result.stderr
    first = len(request_log(sandbox.url))
    code, summary, err = _revert(sandbox.url, data, mapping)
    assert code == 0, err
    assert summary["records"]["company"]["deleted"] == 3
    assert summary["records"]["note"] == {"deleted": 6}
    assert view(sandbox.url, *resources) == before
    deletes = [e["path"].split("/")[2] for e in request_log(sandbox.url)[first:]
               if e["method"] == "DELETE"]
    order = list(dict.fromkeys(deletes))
    assert order == ["activities", "notes", "deals", "contacts", "companies"]
    rows = read_results(Path(summary["results"]))
    assert {"_company_action", "_contact_id", "_deal_products_action", "_note_action",
            "_errors"} <= set(rows[0])
    assert rows[0]["_contact_action"] == "deleted"


def test_an_update_journalled_without_before_image_is_reported(sandbox, tmp_path: Path) -> None:
    data = write_csv(tmp_path / "leads.csv", HEADER, [
        ["New", "new@example.com", "", "", "", "", "", "", ""], UPDATES[1]])
    mapping_path = write_mapping(tmp_path / "leads.yaml", CONTACTS)
    client = ConcordClient(sandbox.url, TOKEN)
    mapping = load_import_mapping(mapping_path)
    run_import(data, mapping, client)
    journal = tmp_path / "leads.csv.leads.journal.sqlite"
    with sqlite3.connect(journal) as db:          # as an older concord-etl left it
        db.execute("UPDATE ops SET before = NULL")
    summary = revert_import(data, mapping, client)
    assert summary.counts["deleted"] == 1 and summary.counts["failed"] == 1
    assert any("no before-images" in w for w in summary.warnings)
    rows = {r["_row"]: r for r in read_results(Path(summary.results or ""))}
    assert "cannot be undone" in rows["3"]["_errors"]
    assert _by_email(sandbox.url)["new@example.com"].get("deleted_at")


def test_a_create_the_interrupted_import_never_heard_back_from_is_found_and_deleted(
        sandbox, tmp_path: Path) -> None:
    data = write_csv(tmp_path / "leads.csv", HEADER, [
        ["New", "new@example.com", "", "", "", "", "", "", ""]])
    mapping_path = write_mapping(tmp_path / "leads.yaml", CONTACTS)
    client = ConcordClient(sandbox.url, TOKEN)
    mapping = load_import_mapping(mapping_path)
    run_import(data, mapping, client)
    journal = tmp_path / "leads.csv.leads.journal.sqlite"
    with sqlite3.connect(journal) as db:          # killed after sending, before the answer
        db.execute("UPDATE ops SET state = 'sent', action = 'create', concord_id = NULL")
        db.execute("UPDATE meta SET value = 'interrupted' WHERE key = 'run_state'")
    summary = revert_import(data, mapping, client)
    assert summary.counts["deleted"] == 1, summary.as_dict()
    assert _by_email(sandbox.url)["new@example.com"].get("deleted_at")
    assert any("interrupted" in w for w in summary.warnings)


def test_the_revert_keeps_its_progress_in_the_import_journal(sandbox, tmp_path: Path) -> None:
    data = write_csv(tmp_path / "leads.csv", HEADER, UPDATES[:2])
    mapping_path = write_mapping(tmp_path / "leads.yaml", CONTACTS)
    client = ConcordClient(sandbox.url, TOKEN)
    mapping = load_import_mapping(mapping_path)
    run_import(data, mapping, client)
    revert_import(data, mapping, client)
    journal = tmp_path / "leads.csv.leads.journal.sqlite"
    with sqlite3.connect(journal) as db:
        meta = dict(db.execute("SELECT key, value FROM meta"))
        done = db.execute("SELECT state, action FROM revert_ops").fetchall()
    assert meta["revert_state"] == "finished" and meta["reverted_at"]
    assert sorted(done) == [("done", "reverted"), ("done", "reverted")]
    assert TOKEN not in journal.read_bytes().decode("utf-8", "replace")
    with pytest.raises(JournalError):
        run_import(data, mapping, client)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs a pseudo-terminal")
def test_on_a_terminal_the_cli_asks_first_and_no_changes_nothing(sandbox,
                                                                 tmp_path: Path) -> None:
    import pty

    data = contacts_file(tmp_path / "leads.csv")
    mapping = write_mapping(tmp_path / "leads.yaml", CONTACTS)
    assert run_cli(["import", str(data), "-m", str(mapping)], url=sandbox.url,
                   token=TOKEN).returncode == 0
    writes_so_far = len(writes(sandbox.url))
    pid, fd = pty.fork()
    if pid == 0:                                   # the child: the CLI on a terminal
        os.execve(sys.executable, [sys.executable, "-m", "concord_etl", "revert", str(data),
                                   "-m", str(mapping)], cli_env(sandbox.url, TOKEN))
    seen, answered = b"", False
    while True:
        ready, _, _ = select.select([fd], [], [], 60)
        if not ready:                              # a hang would otherwise block the suite
            os.kill(pid, signal.SIGKILL)
            break
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
        if b"Go on?" in seen and not answered:
            os.write(fd, b"n\n")
            answered = True
    _, status = os.waitpid(pid, 0)
    text = seen.decode("utf-8", "replace")
    assert "delete 20 contacts the import created (to the trash)" in text
    assert "nothing was changed" in text
    assert os.waitstatus_to_exitcode(status) == 1
    assert len(writes(sandbox.url)) == writes_so_far


def test_lost_answers_during_a_revert_are_settled_without_undoing_twice(sandbox,
                                                                        tmp_path: Path) -> None:
    data = contacts_file(tmp_path / "leads.csv")
    mapping = write_mapping(tmp_path / "leads.yaml", CONTACTS)
    before = view(sandbox.url, "contacts")
    assert run_cli(["import", str(data), "-m", str(mapping)], url=sandbox.url,
                   token=TOKEN).returncode == 0
    first = len(request_log(sandbox.url))
    requests.post(f"{sandbox.url}/_sandbox/config", json={
        "drop_after_commit_rate": 0.3, "fault_rate": 0.2, "fault_seed": 3},
        timeout=30).raise_for_status()
    for _run in range(5):                       # "rerun to retry" until nothing failed
        code, summary, err = _revert(sandbox.url, data, mapping)
        assert code in (0, 1), err
        if code == 0:
            break
        assert summary["failed"] and not summary["missing"], summary
    assert code == 0
    requests.post(f"{sandbox.url}/_sandbox/config", json={
        "drop_after_commit_rate": 0, "fault_rate": 0}, timeout=30).raise_for_status()
    assert view(sandbox.url, "contacts") == before
    deleted = Counter(e["path"] for e in request_log(sandbox.url)[first:]
                      if e["method"] == "DELETE" and e["status"] == 204)
    assert len(deleted) == 20 and max(deleted.values()) == 1


def test_an_import_started_during_a_revert_names_the_revert(tmp_path: Path) -> None:
    from concord_etl.load.journal import Journal
    from concord_etl.load.revert_journal import RevertJournal

    journal_path = tmp_path / "leads.csv.leads.journal.sqlite"
    Journal.open(journal_path, input_hash="i", mapping_hash="m").close()
    with RunLock(journal_path, input_name="leads.csv", mapping_name="leads.yaml"):
        reverting = RevertJournal.open(journal_path)
        try:
            with pytest.raises(RunLocked) as info:
                RunLock(journal_path, input_name="leads.csv", mapping_name="leads.yaml").acquire()
        finally:
            reverting.close()
    assert f"another revert of leads.csv with leads.yaml is running (pid {os.getpid()})" in \
        str(info.value)
