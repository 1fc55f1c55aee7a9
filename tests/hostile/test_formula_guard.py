"""The formula guard: what each writer guards, what the readers remove, and round trips of a
results file edited as plain text, in LibreOffice and with openpyxl."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from concord_etl.formula_guard import neutralise, neutralise_cell, unneutralise
from concord_etl.output.csv_writer import csv_text
from concord_etl.read import open_table
from tests.helpers import TOKEN, live, run_cli, state, write_csv, write_mapping

TRICKY = [
    "=SUM(A1)", "+1+2", "-3-4", "@SUM(1)", "\t=1", "\r=1", "＝1", "＋1", "－1", "＠x",
    "+1-887-577-1205x5686", "+1-887-577-1205", "+1-532-344-1362", "+44 20 7946 0958",
    "-12.5", "-3", "-0012", "- a bullet", "-2+3+cmd|' /C calc'!A0", "'=x", "''=x", "'+1",
    "'tis", "'quoted'", "'", "''", "+", "-", "=", "plain", "a=b", "", "+15325551234",
]


@pytest.mark.parametrize("text", TRICKY)
def test_every_text_survives_either_guard(text: str) -> None:
    assert unneutralise(neutralise(text)) == text
    assert unneutralise(neutralise_cell(text)) == text


@pytest.mark.parametrize("text", ["+1+2", "-3-4", "=1+1", "@x", "\t=1", "\r=1", "+44 20 7946 0958",
                                  "+1-532-344-1362", "+1-887-577-1205x5686", "+15325551234",
                                  "-2+3+cmd|' /C calc'!A0", "－1"])
def test_csv_guards_every_text_starting_with_a_trigger(text: str) -> None:
    assert neutralise(text) == "'" + text
    assert csv_text(text) == "'" + text


@pytest.mark.parametrize("value", [-12.5, -3, 0, 2.5])
def test_numbers_written_as_numbers_are_untouched(value: float) -> None:
    assert not csv_text(value).startswith("'")


def test_a_plain_negative_number_is_not_a_formula() -> None:
    assert neutralise("-12.5") == "-12.5" and neutralise("-3") == "-3"
    assert neutralise("-0012") == "'-0012"          # leading zeros: a spreadsheet drops them


def test_phone_like_text_is_guarded_consistently() -> None:
    with_ext, without = "+1-887-577-1205x5686", "+1-532-344-1362"
    assert neutralise(with_ext).startswith("'") and neutralise(without).startswith("'")
    # a workbook text cell never runs: neither phone is guarded there
    assert neutralise_cell(with_ext) == with_ext and neutralise_cell(without) == without
    assert neutralise_cell("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert neutralise_cell("-2+3+cmd|' /C calc'!A0").startswith("'")


@pytest.mark.parametrize(("cell", "expected"), [
    ("'+1-887-577-1205", "+1-887-577-1205"),       # guard kept after an edit of the rest
    ("'=SUM(B2:B9)", "=SUM(B2:B9)"),
    ("''=x", "'=x"),
    ("'tis", "'tis"),                              # typed by the user on purpose: kept
    ("'quoted'", "'quoted'"),
    ("'", "'"),
])
def test_the_reader_removes_one_guard_before_a_trigger(cell: str, expected: str) -> None:
    assert unneutralise(cell) == expected


def test_any_input_file_is_unguarded_on_reading(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "in.csv", ["A", "B"],
                     [["'+1-887-577-1205", "'tis"], ["'=1+1", "'quoted'"]])
    frame = next(iter(open_table(path).frames()))
    assert frame["A"].tolist() == ["+1-887-577-1205", "=1+1"]
    assert frame["B"].tolist() == ["'tis", "'quoted'"]


# -- round trips of a results file ------------------------------------------------------------
MAPPING = """\
version: 1
resource: contacts
match: {on: [email]}
columns:
  First Name: first_name
  Email: email
  Mobile: {field: phones, phone_type: mobile}
  Direct Line: cf_bio
  Code: cf_external_id
"""
ROWS = [
    ["Ada", "ada@example.com", "+1-532-344-1362", "+1-887-577-1205x5686", "+1+2"],
    # a bad e-mail that Concord refuses too (``bob@example``, without a dot, it would accept)
    ["Bob", "bob@@example", "+44 20 7946 0958", "+1-887-577-1205x5686", "-3-4"],
    ["Cy", "cy@example.com", "+1 (555) 010-0100", "'tis mine", "=1+1"],
]


def _first_import(sandbox: Any, tmp_path: Path, *, excel: bool = False) -> tuple[Path, Path]:
    mapping = write_mapping(tmp_path / "m.yaml", MAPPING)
    header = ["First Name", "Email", "Mobile", "Direct Line", "Code"]
    if excel:
        source = tmp_path / "leads.xlsx"
        book = openpyxl.Workbook()
        book.active.append(header)
        for row in ROWS:
            book.active.append(row)
        for line in book.active.iter_rows():
            for cell in line:
                cell.data_type = "s"                   # text, even "=1+1" (not a formula)
        book.save(source)
    else:
        source = write_csv(tmp_path / "leads.csv", header, ROWS)
    first = run_cli(["import", str(source), "-m", str(mapping), "--json"], url=sandbox.url,
                    token=TOKEN)
    assert first.returncode == 1, first.stderr                    # Bob is rejected
    results = next(tmp_path.glob("leads*.results.xlsx" if excel else "leads*.results.csv"))
    return results, mapping


def _reimport(sandbox: Any, path: Path, mapping: Path) -> dict[str, Any]:
    again = run_cli(["import", str(path), "-m", str(mapping), "--json"], url=sandbox.url,
                    token=TOKEN)
    assert again.returncode == 0, again.stderr
    contacts = {c["email"]: c for c in live(state(sandbox.url)["contacts"])}
    assert sum(1 for e in contacts if e in ("ada@example.com", "cy@example.com")) == 2
    return contacts


def _check_bob(contacts: dict[str, Any]) -> None:
    bob = contacts["bob@example.com"]
    assert bob["cf_bio"] == "+1-887-577-1205"          # the guard went, the edit stayed
    assert bob["cf_external_id"] == "-3-4"
    assert [p["number"] for p in bob["phones"]] == ["+44 20 7946 0958"]
    assert contacts["cy@example.com"]["cf_bio"] == "'tis mine"
    assert contacts["cy@example.com"]["cf_external_id"] == "=1+1"


def test_results_csv_fixed_in_a_text_editor_reimports_without_false_rejects(
    sandbox: Any, tmp_path: Path
) -> None:
    results, mapping = _first_import(sandbox, tmp_path)
    text = results.read_text(encoding="utf-8-sig")
    assert "'+1-532-344-1362" in text and "'+1-887-577-1205x5686" in text   # consistent
    # the user fixes Bob's e-mail and drops the extension, by hand, as plain text
    fixed = text.replace("bob@@example,", "bob@example.com,").replace(
        "'+1-887-577-1205x5686,'-3-4", "'+1-887-577-1205,'-3-4")
    assert fixed != text
    results.write_text(fixed, encoding="utf-8-sig")
    _check_bob(_reimport(sandbox, results, mapping))


def test_results_xlsx_edited_with_openpyxl_reimports(sandbox: Any, tmp_path: Path) -> None:
    results, mapping = _first_import(sandbox, tmp_path, excel=True)
    book = openpyxl.load_workbook(results)
    sheet = book.worksheets[0]
    header = [c.value for c in sheet[1]]
    for row in sheet.iter_rows(min_row=2):
        cells = dict(zip(header, row, strict=True))
        if cells["Email"].value == "bob@@example":
            cells["Email"].value = "bob@example.com"
            cells["Direct Line"].value = str(cells["Direct Line"].value).replace("x5686", "")
    book.save(results)
    _check_bob(_reimport(sandbox, results, mapping))


SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")


def _soffice(tmp_path: Path, source: Path, target: str) -> Path:
    out = tmp_path / f"lo-{target.split(':')[0]}"
    out.mkdir(exist_ok=True)
    profile = (tmp_path / "lo-profile").as_uri()
    subprocess.run(
        [SOFFICE, f"-env:UserInstallation={profile}", "--headless", "--convert-to", target,
         "--outdir", str(out), str(source)],
        check=True, capture_output=True, timeout=180, env={**os.environ, "HOME": str(tmp_path)},
    )
    made = sorted(p for p in out.iterdir() if p.is_file())
    assert made, f"LibreOffice wrote nothing for {source}"
    return made[0]


@pytest.mark.slow
@pytest.mark.skipif(SOFFICE is None, reason="LibreOffice is not installed")
def test_results_csv_through_libreoffice_reimports(sandbox: Any, tmp_path: Path) -> None:
    """The results CSV opened and saved by LibreOffice (as CSV, as XLSX, as ODS): the guarded
    phones come back as the same text, never as numbers or computed formulas."""
    results, _mapping = _first_import(sandbox, tmp_path)
    for target in ("xlsx", "ods", 'csv:Text - txt - csv (StarCalc):44,34,76,1'):
        copy = _soffice(tmp_path, results, target)
        table = open_table(copy)
        values = [row for frame in table.frames() for row in frame.to_dict("records")]
        assert [v["Mobile"] for v in values] == [r[2] for r in ROWS], target
        assert [v["Direct Line"] for v in values] == [r[3] for r in ROWS], target
        assert [v["Code"] for v in values] == [r[4] for r in ROWS], target


@pytest.mark.slow
@pytest.mark.skipif(SOFFICE is None, reason="LibreOffice is not installed")
def test_results_xlsx_through_libreoffice_then_fixed_reimports(
    sandbox: Any, tmp_path: Path
) -> None:
    results, mapping = _first_import(sandbox, tmp_path, excel=True)
    saved = _soffice(tmp_path, results, "xlsx")     # LibreOffice opens and saves it again
    book = openpyxl.load_workbook(saved)
    sheet = book.worksheets[0]
    header = [c.value for c in sheet[1]]
    for row in sheet.iter_rows(min_row=2):
        cells = dict(zip(header, row, strict=True))
        if cells["Email"].value == "bob@@example":
            cells["Email"].value = "bob@example.com"
            cells["Direct Line"].value = str(cells["Direct Line"].value).replace("x5686", "")
    book.save(saved)
    _check_bob(_reimport(sandbox, saved, mapping))


def test_guard_characters_in_a_results_csv_are_what_the_writer_wrote(tmp_path: Path) -> None:
    from concord_etl.output.csv_writer import write_csv as write_out

    path = tmp_path / "out.csv"
    write_out(path, ["v"], [[t] for t in TRICKY])
    with open(path, encoding="utf-8-sig", newline="") as fh:
        written = [row[0] if row else "" for row in list(csv.reader(fh))[1:]]
    assert written == [neutralise(t) for t in TRICKY]
    back = [row["v"] for frame in open_table(path).frames() for row in frame.to_dict("records")]
    assert back == [t for t in TRICKY if t != ""]          # an empty row is a blank line
