"""Runs keyed by input + mapping, and one run at a time per input + mapping."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from concord_etl.errors import RunLocked
from concord_etl.load.lock import RunLock
from concord_etl.load.session import default_journal_path, default_results_path
from concord_etl.mapping import mapping_from_dict
from tests.helpers import (
    TOKEN,
    last_json,
    live,
    popen_cli,
    read_results,
    run_cli,
    state,
    write_csv,
    write_mapping,
)

COMPANIES = """\
version: 1
resource: companies
match: {on: [name]}
columns:
  Company: name
"""
CONTACTS = """\
version: 1
resource: contacts
match: {on: [email]}
columns:
  First: first_name
  Email: email
  Company: {field: companies, lookup: {resource: companies, by: name}}
"""


def lead_sheet(path: Path, n: int) -> Path:
    return write_csv(path, ["First", "Email", "Company"],
                     [[f"Lead {i}", f"lead{i}@fair.example", f"Fair Co {i}"] for i in range(n)])


def test_default_paths_are_named_after_input_and_mapping(tmp_path: Path) -> None:
    mapping = mapping_from_dict({"version": 1, "resource": "companies",
                                 "columns": {"Company": "name"}}, tmp_path / "companies.yaml")
    data = tmp_path / "leads.csv"
    assert default_journal_path(data, mapping) == tmp_path / "leads.csv.companies.journal.sqlite"
    assert default_results_path(data, mapping, excel=False) == tmp_path / "leads.companies.results.csv"
    assert default_results_path(tmp_path / "leads.xlsx", mapping, excel=True) == \
        tmp_path / "leads.companies.results.xlsx"
    again = tmp_path / "leads.companies.results.csv"   # a results file imported again
    assert default_results_path(again, mapping, excel=False) == \
        tmp_path / "leads.companies.results.results.csv"
    assert default_journal_path(again, mapping) == \
        tmp_path / "leads.companies.results.csv.journal.sqlite"
    assert default_results_path(tmp_path / "companies.csv", mapping, excel=False) == \
        tmp_path / "companies.results.csv"
    unnamed = mapping_from_dict({"version": 1, "resource": "notes", "columns": {"N": "body"}})
    assert default_results_path(data, unnamed, excel=False) == tmp_path / "leads.notes.results.csv"


def test_one_sheet_feeds_companies_then_contacts(sandbox, tmp_path: Path) -> None:
    data = lead_sheet(tmp_path / "leads.csv", 6)
    companies = write_mapping(tmp_path / "companies.yaml", COMPANIES)
    contacts = write_mapping(tmp_path / "contacts.yaml", CONTACTS)
    first = run_cli(["import", str(data), "-m", str(companies), "--json"],
                    url=sandbox.url, token=TOKEN)
    assert first.returncode == 0, first.stderr
    second = run_cli(["import", str(data), "-m", str(contacts), "--json"],
                     url=sandbox.url, token=TOKEN)
    assert second.returncode == 0, second.stderr
    one, two = last_json(first.stdout), last_json(second.stdout)
    assert (one["created"], two["created"]) == (6, 6)
    assert one["results"] == str(tmp_path / "leads.companies.results.csv")
    assert two["results"] == str(tmp_path / "leads.contacts.results.csv")
    assert one["journal"] != two["journal"]
    assert {r["_action"] for r in read_results(Path(one["results"]))} == {"created"}
    assert {r["_action"] for r in read_results(Path(two["results"]))} == {"created"}
    crm = state(sandbox.url)
    names = Counter(c["name"] for c in live(crm["companies"]) if c["name"].startswith("Fair Co"))
    assert len(names) == 6 and max(names.values()) == 1
    linked = [c for c in live(crm["contacts"]) if c["email"].endswith("@fair.example")]
    assert len(linked) == 6
    # each run is finished: running the first again writes nothing and says nothing odd
    again = run_cli(["import", str(data), "-m", str(companies), "--json"],
                    url=sandbox.url, token=TOKEN)
    assert again.returncode == 0, again.stderr
    assert last_json(again.stdout)["created"] == 6


def test_a_changed_mapping_after_a_finished_run_says_finished(sandbox, tmp_path: Path) -> None:
    data = lead_sheet(tmp_path / "leads.csv", 2)
    companies = write_mapping(tmp_path / "companies.yaml", COMPANIES)
    assert run_cli(["import", str(data), "-m", str(companies)], url=sandbox.url,
                   token=TOKEN).returncode == 0
    write_mapping(companies, COMPANIES.replace("match: {on: [name]}\n", ""))
    refused = run_cli(["import", str(data), "-m", str(companies)], url=sandbox.url, token=TOKEN)
    assert refused.returncode == 2
    assert "the mapping companies.yaml changed since the import of" in refused.stderr
    assert "finished" in refused.stderr and "interrupted" not in refused.stderr
    assert "--restart" in refused.stderr


def test_the_lock_refuses_a_second_holder(tmp_path: Path) -> None:
    journal = tmp_path / "leads.csv.companies.journal.sqlite"
    with RunLock(journal, input_name="leads.csv", mapping_name="companies.yaml"):
        with pytest.raises(RunLocked) as info:
            RunLock(journal, input_name="leads.csv", mapping_name="companies.yaml").acquire()
        assert "another import of leads.csv with companies.yaml is running" in str(info.value)
    # released: the next run gets it
    RunLock(journal, input_name="leads.csv", mapping_name="companies.yaml").acquire().release()


def test_two_copies_started_together_write_once(sandbox_process, tmp_path: Path) -> None:
    sb = sandbox_process("--latency-ms", "20", "--rate-limit", "100000")
    data = lead_sheet(tmp_path / "leads.csv", 60)
    companies = write_mapping(tmp_path / "companies.yaml", COMPANIES)
    args = ["import", str(data), "-m", str(companies), "--json", "--quiet"]
    procs = [popen_cli(args, url=sb.url, token=TOKEN) for _ in range(2)]
    outcomes = []
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        outcomes.append((proc.returncode, out, err))
    codes = sorted(code for code, _, _ in outcomes)
    assert codes == [0, 3], outcomes
    _, _, err = next(o for o in outcomes if o[0] == 3)
    pids = {str(p.pid) for p in procs}
    assert f"another import of {data} with companies.yaml is running (pid " in err
    assert any(f"(pid {pid})" in err for pid in pids), err
    assert "Traceback" not in err
    names = Counter(c["name"] for c in live(state(sb.url)["companies"])
                    if c["name"].startswith("Fair Co"))
    assert len(names) == 60 and max(names.values()) == 1
    # the winner's results say created, never rejected
    winner = next(o for o in outcomes if o[0] == 0)
    summary = last_json(winner[1])
    assert (summary["created"], summary["rejected"]) == (60, 0)
    again = run_cli(args, url=sb.url, token=TOKEN)
    assert again.returncode == 0, again.stderr
