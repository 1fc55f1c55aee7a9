"""`concord-etl report`: sheets, summaries with native charts, watermarks, lock, errors."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from concord_etl.crm.client import ConcordClient
from concord_etl.crm.fields import FieldSpec
from concord_etl.errors import MappingError, RunLocked
from concord_etl.export.report import load_report, run_report
from concord_etl.export.report_state import ReportState, RunLock, lock_path, owner_path
from concord_etl.export.totals import Totals
from tests.helpers import MAPPINGS, REPO, TOKEN, last_json, run_cli, state


def write_report(folder: Path, body: str) -> Path:
    path = folder / "weekly.yaml"
    path.write_text(body, encoding="utf-8")
    return path


def standard_report(tmp_path: Path) -> Path:
    return write_report(tmp_path, f"""\
version: 1
output: "{tmp_path}/out/weekly-{{date:%Y-%m-%d}}.xlsx"
sheets:
  - {{name: Contacts, resource: contacts, mapping: {MAPPINGS / "contacts-export.yaml"}}}
  - {{name: Deals, resource: deals}}
  - {{name: Changed, resource: contacts, since: last_run}}
summary:
  - {{title: Deals amount by stage, resource: deals, group_by: stage_id, value: amount}}
  - {{title: Contacts by source, resource: contacts, group_by: source_id, chart: pie}}
""")


def rows_of(path: Path, sheet: str) -> list[tuple[Any, ...]]:
    return list(openpyxl.load_workbook(path)[sheet].iter_rows(values_only=True))


def test_report_with_sheets_summary_chart_and_run_info(sandbox: Any, tmp_path: Path) -> None:
    report = standard_report(tmp_path)
    result = run_cli(["report", str(report), "--json"], url=sandbox.url, token=TOKEN)
    assert result.returncode == 0, result.stderr
    summary = last_json(result.stdout)
    out = Path(summary["output"])
    assert out.name == f"weekly-{dt.datetime.now().astimezone():%Y-%m-%d}.xlsx"
    assert summary["sheets"] == {"Contacts": 7, "Deals": 4, "Changed": 7}

    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["Contacts", "Deals", "Changed", "Deals amount by stage",
                             "Contacts by source", "Run info"]
    with zipfile.ZipFile(out) as zf:
        names = zf.namelist()
        chart = zf.read("xl/charts/chart1.xml").decode()
    assert "xl/charts/chart1.xml" in names and "xl/charts/chart2.xml" in names
    assert "<c:barChart>" in chart and "Deals amount by stage" in chart
    assert "'Deals amount by stage'!$B$2:$B$5" in chart

    # Totals agree with the CRM's own records.
    deals = [d for d in state(sandbox.url)["deals"] if not d.get("deleted_at")]
    expected: dict[str, float] = {}
    for deal in deals:
        expected[deal["stage"]["name"]] = expected.get(deal["stage"]["name"], 0) + deal["amount"]
    totals = rows_of(out, "Deals amount by stage")
    assert totals[0] == ("Stage", "Amount")
    assert dict(totals[1:]) == expected
    assert [v for _, v in totals[1:]] == sorted(expected.values(), reverse=True)
    by_source = dict(rows_of(out, "Contacts by source")[1:])
    assert by_source["Referrals"] == 1 and sum(by_source.values()) == 7

    info = dict(rows_of(out, "Run info"))
    assert info["Sheet Changed"] == "contacts: 7 records"
    assert TOKEN not in json.dumps(info, default=str)
    # Summaries were totalled from the sheets' own records: fields + one page per sheet.
    assert summary["requests"] == 2 + 3


def test_watermark_advances_between_runs(sandbox: Any, tmp_path: Path) -> None:
    report = standard_report(tmp_path)
    client = ConcordClient(sandbox.url, TOKEN)
    definition = load_report(report)
    first = run_report(client, definition, output=tmp_path / "r1.xlsx")
    assert first.sheets["Changed"] == 7
    saved = ReportState.load(report)
    mark = saved.watermarks["Changed"]
    assert len(mark.ids) == 7 and saved.last_run is not None

    second = run_report(client, definition, output=tmp_path / "r2.xlsx")
    assert second.sheets["Changed"] == 0          # nothing changed since
    assert rows_of(tmp_path / "r2.xlsx", "Changed") == [rows_of(tmp_path / "r1.xlsx",
                                                                "Changed")[0]]

    time.sleep(1.1)                                # updated_at has whole seconds
    client.update("contacts", 3, {"job_title": "Codebreaker"})
    third = run_report(client, definition, output=tmp_path / "r3.xlsx")
    assert third.sheets["Changed"] == 1
    changed = rows_of(tmp_path / "r3.xlsx", "Changed")
    assert len(changed) == 2 and changed[1][0] == 3
    advanced = ReportState.load(report).watermarks["Changed"]
    assert advanced.at > mark.at and advanced.ids == frozenset({3})
    assert third.sheets["Contacts"] == 7          # full sheets stay full

    full = run_report(client, definition, output=tmp_path / "r4.xlsx", full=True)
    assert full.sheets["Changed"] == 7


def test_failed_run_keeps_the_watermark(sandbox: Any, tmp_path: Path) -> None:
    report = standard_report(tmp_path)
    client = ConcordClient(sandbox.url, TOKEN)
    definition = load_report(report)
    run_report(client, definition, output=tmp_path / "r1.xlsx")
    before = (tmp_path / "weekly.state.json").read_text()
    sandbox.stop()
    from concord_etl.crm.client import RetryPolicy
    from concord_etl.errors import Unreachable

    dead = ConcordClient(sandbox.url, TOKEN, retry=RetryPolicy(max_retries=1, backoff=0.01))
    with pytest.raises(Unreachable):
        run_report(dead, definition, output=tmp_path / "r2.xlsx")
    assert not (tmp_path / "r2.xlsx").exists()
    assert (tmp_path / "weekly.state.json").read_text() == before


def test_lock_refuses_an_overlapping_run(sandbox: Any, tmp_path: Path) -> None:
    report = standard_report(tmp_path)
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time\n"
         "from pathlib import Path\n"
         "from concord_etl.export.report_state import RunLock\n"
         "with RunLock(Path(sys.argv[1])):\n"
         "    print('locked', flush=True)\n"
         "    time.sleep(120)\n", str(report)],
        cwd=REPO, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        result = run_cli(["report", str(report)], url=sandbox.url, token=TOKEN)
        assert result.returncode == 3, (result.stdout, result.stderr)
        assert "another run" in result.stderr and str(holder.pid) in result.stderr
        assert "Traceback" not in result.stderr
        assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
    finally:
        holder.kill()
        holder.wait()
    # The holder is gone (killed, not cleaned up): the kernel released its lock.
    assert lock_path(report).exists()
    result = run_cli(["report", str(report)], url=sandbox.url, token=TOKEN)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(("body", "needle"), [
    ("version: 1\nsheets: []\n", "missing required key 'output'"),
    ('version: 2\noutput: "a.xlsx"\nsheets: [{resource: contacts}]\n', "version: must be 1"),
    ('version: 1\noutput: "a.xlsx"\nsheets: [{resource: widgets}]\n', "widgets"),
    ('version: 1\noutput: "a.csv"\nsheets: [{resource: contacts}]\n', "Excel workbook"),
    ('version: 1\noutput: "a-{when}.xlsx"\nsheets: [{resource: contacts}]\n', "placeholder"),
    ('version: 1\noutput: "a.xlsx"\nsheets: [{resource: deals, since: lately}]\n', "since"),
    ('version: 1\noutput: "a.xlsx"\nsheets: [{resource: deals, mapping: nope.yaml}]\n',
     "not found"),
    ('version: 1\noutput: "a.xlsx"\nsheets: [{resource: deals, colour: red}]\n', "colour"),
    ('version: 1\noutput: "a.xlsx"\nsheets:\n  - {resource: deals}\n  - {resource: deals}\n',
     "taken"),
    ('version: 1\noutput: "a.xlsx"\nsheets: [{resource: deals}]\n'
     'summary: [{resource: deals, group_by: stage_id, chart: donut}]\n', "donut"),
    ("version: 1\noutput: [unclosed\n", "invalid YAML"),
])
def test_bad_report_file(sandbox: Any, tmp_path: Path, body: str, needle: str) -> None:
    report = write_report(tmp_path, body)
    result = run_cli(["report", str(report)], url=sandbox.url, token=TOKEN)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert needle in result.stderr and str(report) in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "a.xlsx").exists() and not (REPO / "a.xlsx").exists()


def test_summary_field_errors_name_the_key(sandbox: Any, tmp_path: Path) -> None:
    report = write_report(tmp_path, """\
version: 1
output: "a.xlsx"
sheets: [{resource: deals}]
summary: [{resource: deals, group_by: stage_id, value: name}]
""")
    client = ConcordClient(sandbox.url, TOKEN)
    with pytest.raises(MappingError, match=r"summary\[0\]\.value: .*not a number"):
        run_report(client, load_report(report), output=tmp_path / "a.xlsx")
    assert not (tmp_path / "a.xlsx").exists()


def test_mapping_for_another_resource_is_refused(tmp_path: Path) -> None:
    report = write_report(tmp_path, f"""\
version: 1
output: "a.xlsx"
sheets: [{{resource: deals, mapping: {MAPPINGS / "contacts-export.yaml"}}}]
""")
    with pytest.raises(MappingError, match="is for contacts"):
        load_report(report)


def test_unreachable_crm_exit_3(tmp_path: Path) -> None:
    report = standard_report(tmp_path)
    result = run_cli(["report", str(report)], url="http://127.0.0.1:9", token=TOKEN)
    assert result.returncode == 3 and "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
    assert not (tmp_path / "weekly.state.json").exists()


def test_shipped_weekly_report_runs(sandbox: Any, tmp_path: Path) -> None:
    result = run_cli(["report", str(MAPPINGS / "reports" / "weekly.yaml"), "--json",
                      "-o", str(tmp_path / "weekly.xlsx"), "--full"],
                     url=sandbox.url, token=TOKEN)
    assert result.returncode == 0, result.stderr
    assert last_json(result.stdout)["summaries"] == {"Deals amount by stage": 4,
                                                     "Contacts by source": 4}


# -- totals (pure) -----------------------------------------------------------------------------


def test_totals_tell_equal_labels_apart() -> None:
    stage = FieldSpec(attribute="stage_id", label="Stage", type="BelongsTo")
    amount = FieldSpec(attribute="amount", label="Amount", type="Decimal")
    totals = Totals(stage, amount)
    sales, partner = {"name": "Sales Pipeline"}, {"name": "Partner Pipeline"}
    for stage_id, pipeline, value in [(6, sales, 100), (10, partner, 50), (6, sales, 25.5),
                                      (None, sales, 7), (2, sales, "1,000")]:
        obj = {"id": stage_id, "name": "Closed" if stage_id in (6, 10) else "Contact Made"}
        totals.add({"stage_id": stage_id, "stage": obj if stage_id else None,
                    "pipeline": pipeline, "amount": value})
    assert totals.items() == [("Closed (Sales Pipeline)", 125.5),
                              ("Closed (Partner Pipeline)", 50.0),
                              ("(none)", 7.0), ("Contact Made", 0.0)]


def test_totals_count_multi_valued_groups() -> None:
    interests = FieldSpec(attribute="cf_interests", label="Interests", type="MultiSelect")
    totals = Totals(interests)
    totals.add({"cf_interests": [{"id": 1, "name": "A"}, {"id": 2, "name": "B"}]})
    totals.add({"cf_interests": [{"id": 1, "name": "A"}]})
    totals.add({"cf_interests": []})
    assert totals.items() == [("A", 2.0), ("(none)", 1.0), ("B", 1.0)]


def test_lock_is_exclusive_in_one_process_and_released_after(tmp_path: Path) -> None:
    report = tmp_path / "weekly.yaml"
    with RunLock(report):
        holder = owner_path(report).read_text(encoding="utf-8")
        assert f"pid {os.getpid()}" in holder
        with pytest.raises(RunLocked, match=f"pid {os.getpid()}"), RunLock(report):
            pass
    assert not owner_path(report).exists()
    with RunLock(report):        # free again
        pass
