"""Full disks and dangerous paths: a write error after sending is exit 3 and resumes; outputs
never overwrite the input, the mapping or each other; a report stays in its folder."""

from __future__ import annotations

import datetime as dt
import signal
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from concord_etl.errors import ConfigError
from concord_etl.export.report_output import OutputError, fill_output, resolve_output
from concord_etl.output.paths import check_distinct
from tests.helpers import (
    MAPPINGS,
    TOKEN,
    last_json,
    live,
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
"""


def _small_disk(limit: int) -> Any:
    """A child process whose files cannot grow past ``limit`` bytes (a full disk, portably
    enough: writes fail with EFBIG instead of ENOSPC)."""
    import resource

    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


@pytest.mark.skipif(sys.platform == "win32" or not hasattr(signal, "SIGXFSZ"),
                    reason="needs RLIMIT_FSIZE")
def test_a_full_disk_after_sending_is_exit_3_and_the_rerun_resumes(
    sandbox: Any, tmp_path: Path
) -> None:
    """Before: exit 2 ("nothing was sent") after 192 records had been created."""
    data = write_csv(tmp_path / "c.csv", ["First Name", "Email"],
                     [[f"D{i}", f"d{i}@example.com"] for i in range(400)])
    mapping = write_mapping(tmp_path / "m.yaml", CONTACTS)
    args = ["import", str(data), "-m", str(mapping), "--json", "--quiet"]
    for kib in (32, 64, 128, 192, 256, 320):        # the disk fills up at some point
        full = run_cli(args, url=sandbox.url, token=TOKEN, preexec_fn=_small_disk(kib * 1024))
        sent = len(writes(sandbox.url, "contacts"))
        if sent == 0:                               # full before the first write: exit 2
            assert full.returncode == 2, full.stderr
            assert "--restart" not in full.stderr, full.stderr
            for leftover in tmp_path.glob("c.csv*.journal.sqlite*"):
                leftover.unlink()                   # an empty journal, from a run that never ran
            continue
        break
    assert full.returncode == 3, full.stderr
    assert 0 < sent < 400
    assert full.stderr.startswith("error: cannot write ")
    assert f"after {sent} write(s) to the CRM" in full.stderr
    assert "the journal knows what was sent" in full.stderr and "rerun" in full.stderr
    assert "Traceback" not in full.stderr
    again = run_cli(args, url=sandbox.url, token=TOKEN)
    assert again.returncode == 0, again.stderr
    summary = last_json(again.stdout)
    assert summary["created"] + summary["unchanged"] == 400
    emails = Counter(c["email"] for c in live(state(sandbox.url)["contacts"])
                     if c["email"].startswith("d"))
    assert len(emails) == 400 and max(emails.values()) == 1


def test_an_unwritable_results_path_is_found_before_sending(sandbox: Any, tmp_path: Path) -> None:
    data = write_csv(tmp_path / "c.csv", ["First Name", "Email"], [["A", "a1@example.com"]])
    mapping = write_mapping(tmp_path / "m.yaml", CONTACTS)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = run_cli(["import", str(data), "-m", str(mapping), "--results",
                      str(blocker / "r.csv")], url=sandbox.url, token=TOKEN)
    assert result.returncode == 2
    assert result.stderr.startswith(f"error: cannot write {blocker / 'r.csv'}")
    assert writes(sandbox.url) == []


# -- outputs that are inputs -----------------------------------------------------------------------
@pytest.mark.parametrize(("option", "target", "said"), [
    ("--results", "input", "--results {path} is the input file"),
    ("--results", "mapping", "--results {path} is the mapping"),
    ("--journal", "input", "--journal {path} is the input file"),
    ("--journal", "mapping", "--journal {path} is the mapping"),
])
def test_an_output_may_not_be_an_input(
    sandbox: Any, tmp_path: Path, option: str, target: str, said: str
) -> None:
    data = write_csv(tmp_path / "c.csv", ["First Name", "Email"], [["A", "a2@example.com"]])
    mapping = write_mapping(tmp_path / "m.yaml", CONTACTS)
    path = data if target == "input" else mapping
    before = path.read_bytes()
    result = run_cli(["import", str(data), "-m", str(mapping), option, str(path)],
                     url=sandbox.url, token=TOKEN)
    assert result.returncode == 2
    assert said.format(path=path) in result.stderr
    assert path.read_bytes() == before and writes(sandbox.url) == []


def test_the_plan_may_not_be_the_input_nor_the_results(sandbox: Any, tmp_path: Path) -> None:
    data = write_csv(tmp_path / "c.csv", ["First Name", "Email"], [["A", "a3@example.com"]])
    mapping = write_mapping(tmp_path / "m.yaml", CONTACTS)
    first = run_cli(["import", str(data), "-m", str(mapping), "--dry-run", "--plan", str(data)],
                    url=sandbox.url, token=TOKEN)
    assert first.returncode == 2 and "--plan" in first.stderr and "is the input file" in first.stderr
    same = tmp_path / "same.csv"
    second = run_cli(["import", str(data), "-m", str(mapping), "--dry-run", "--plan", str(same),
                      "--results", str(same)], url=sandbox.url, token=TOKEN)
    assert second.returncode == 2 and "are the same file" in second.stderr


@pytest.mark.skipif(sys.platform == "win32", reason="links need privileges on Windows")
def test_links_to_an_input_count_as_the_input(tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text("a\n1\n")
    link = tmp_path / "link.csv"
    link.symlink_to(source)
    hard = tmp_path / "hard.csv"
    hard.hardlink_to(source)
    for alias in (link, hard, tmp_path / "sub" / ".." / "in.csv"):
        with pytest.raises(ConfigError):
            check_distinct({"--results": alias}, {"the input file": source})


def test_the_journal_given_as_input_is_named(sandbox: Any, tmp_path: Path) -> None:
    data = write_csv(tmp_path / "c.csv", ["First Name", "Email"], [["A", "a4@example.com"]])
    mapping = write_mapping(tmp_path / "m.yaml", CONTACTS)
    assert run_cli(["import", str(data), "-m", str(mapping)], url=sandbox.url,
                   token=TOKEN).returncode == 0
    journal = next(tmp_path.glob("c.csv*.journal.sqlite"))
    result = run_cli(["import", str(journal), "-m", str(mapping)], url=sandbox.url, token=TOKEN)
    assert result.returncode == 2
    assert "is an SQLite database (a concord-etl journal?)" in result.stderr


def test_export_may_not_overwrite_its_mapping(sandbox: Any, tmp_path: Path) -> None:
    mapping = tmp_path / "export.yaml"
    mapping.write_bytes((MAPPINGS / "contacts-export.yaml").read_bytes())
    result = run_cli(["export", "contacts", "-o", str(mapping), "--format", "csv", "--mapping",
                      str(mapping)], url=sandbox.url, token=TOKEN)
    assert result.returncode == 2 and "is the mapping" in result.stderr
    assert mapping.read_bytes() == (MAPPINGS / "contacts-export.yaml").read_bytes()


# -- report output paths ---------------------------------------------------------------------------
NOW = dt.datetime(2024, 11, 25, 7, 0).astimezone()


def test_a_relative_report_output_is_beside_the_report(tmp_path: Path) -> None:
    report = tmp_path / "reports" / "weekly.yaml"
    assert resolve_output(report, "out/w-{date:%Y-%m-%d}.xlsx", NOW) == \
        tmp_path / "reports" / "out" / "w-2024-11-25.xlsx"
    assert resolve_output(report, "a/../w.xlsx", NOW) == tmp_path / "reports" / "w.xlsx"
    assert resolve_output(report, str(tmp_path / "abs.xlsx"), NOW) == tmp_path / "abs.xlsx"


@pytest.mark.parametrize(("template", "said"), [
    ("../../x.xlsx", "climbs out of the report's folder"),
    ("a/../../x.xlsx", "climbs out of the report's folder"),
    ("w-{date:%Y/../..}.xlsx", "contains a path separator"),
    ("w-{date:%Y/%m}.xlsx", "contains a path separator"),
    ("w-{date:%D}.xlsx", "contains a path separator"),
    ("w-{when}.xlsx", "bad placeholder {when}"),
])
def test_report_outputs_that_escape_are_refused(template: str, said: str) -> None:
    with pytest.raises(OutputError) as info:
        resolve_output(Path("/srv/reports/weekly.yaml"), template, NOW)
    assert said in str(info.value)


def test_fill_output_keeps_the_date_placeholder() -> None:
    assert fill_output("w-{date:%Y-%m-%d}.xlsx", NOW) == "w-2024-11-25.xlsx"
    assert fill_output("w-{date}.xlsx", NOW) == "w-2024-11-25.xlsx"


def test_a_report_climbing_out_is_a_mapping_error_naming_the_key(
    sandbox: Any, tmp_path: Path
) -> None:
    report = tmp_path / "r" / "weekly.yaml"
    report.parent.mkdir()
    report.write_text('version: 1\noutput: "../../escape.xlsx"\nsheets: [{resource: deals}]\n')
    result = run_cli(["report", str(report)], url=sandbox.url, token=TOKEN)
    assert result.returncode == 2
    assert f"error: {report}:2: output: " in result.stderr and "climbs out" in result.stderr
    assert not (tmp_path.parent / "escape.xlsx").exists()


def test_a_report_run_from_elsewhere_writes_beside_the_report(
    sandbox: Any, tmp_path: Path
) -> None:
    report = tmp_path / "r" / "weekly.yaml"
    report.parent.mkdir()
    report.write_text('version: 1\noutput: "out/weekly.xlsx"\nsheets: [{resource: deals}]\n')
    result = run_cli(["report", str(report), "--json"], url=sandbox.url, token=TOKEN)
    assert result.returncode == 0, result.stderr
    assert Path(last_json(result.stdout)["output"]) == report.parent / "out" / "weekly.xlsx"
    assert (report.parent / "out" / "weekly.xlsx").exists()
