"""Malformed and hostile input files: each is refused with a message naming the file, line or
cell, or read correctly with a warning; nothing wrong reaches the CRM."""

from __future__ import annotations

import shutil
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from concord_etl.errors import InputError
from concord_etl.read import Limits, open_table, workbook_scan
from tests.helpers import TOKEN, live, read_results, run_cli, state, write_mapping, writes

CONTACTS = """\
version: 1
resource: contacts
match: {on: [email]}
columns:
  First Name: first_name
  Email: email
"""
WITH_SCORE = CONTACTS + "  Score: {field: cf_lead_score, type: Number}\n"


def _run(sandbox: Any, tmp_path: Path, data: Path, mapping_text: str = CONTACTS,
         command: str = "import") -> Any:
    mapping = write_mapping(tmp_path / "m.yaml", mapping_text)
    return run_cli([command, str(data), "-m", str(mapping), "--json"], url=sandbox.url,
                   token=TOKEN)


def _contacts(sandbox: Any) -> dict[str, Any]:
    return {c["email"]: c for c in live(state(sandbox.url)["contacts"])}


# -- CSV quoting -----------------------------------------------------------------------------------
@pytest.mark.parametrize(("text", "line"), [
    ('First Name,Email\nAnn,a@x.com\n"Bob,b@x.com\nCy,c@x.com\nDee,d@x.com\n', 3),
    ('First Name,Email\nAnn,a@x.com\nBob,"b@x.com\nCy,c@x.com\n', 3),         # last column
    ('First Name,Email\nAnn,a@x.com\nBob,b@x.com\nCy,"c@x.com\n', 4),
])
@pytest.mark.parametrize("command", ["validate", "import"])
def test_an_unterminated_quote_is_an_error_naming_its_line(
    sandbox: Any, tmp_path: Path, text: str, line: int, command: str
) -> None:
    """Before: the rest of the file became one cell, exit 0."""
    data = tmp_path / "quote.csv"
    data.write_text(text, encoding="utf-8")
    result = _run(sandbox, tmp_path, data, command=command)
    assert result.returncode == 2
    assert result.stderr == (f"error: {data}, line {line}: a quoted field starts here and is "
                             "never closed, so the rest of the file would be read as one cell\n"
                             'hint: close the quote (") or remove it, then run again; nothing '
                             "was sent\n")
    assert writes(sandbox.url) == []


def test_a_stray_quote_inside_a_field_is_still_text(sandbox: Any, tmp_path: Path) -> None:
    data = tmp_path / "inch.csv"
    data.write_text('First Name,Email\n5" Ann,inch@x.com\n', encoding="utf-8")
    result = _run(sandbox, tmp_path, data)
    assert result.returncode == 0, result.stderr
    assert _contacts(sandbox)["inch@x.com"]["first_name"] == '5" Ann'


def test_malformed_quoting_in_a_ragged_file_names_the_line(sandbox: Any, tmp_path: Path) -> None:
    data = tmp_path / "ragged.csv"
    data.write_text('First Name,Email\nAnn\nBob,"b@x.com"junk\n', encoding="utf-8")
    result = _run(sandbox, tmp_path, data, command="validate")
    assert result.returncode == 2
    assert f"{data}, line 3: malformed quoting" in result.stderr


# -- encodings and control characters -------------------------------------------------------------
def test_mixed_utf8_and_cp1252_lines_are_each_read_right_and_reported(
    sandbox: Any, tmp_path: Path
) -> None:
    """Before: `JosÃ©` was sent, and the warning computed was never shown."""
    data = tmp_path / "mixed.csv"
    data.write_bytes(b"First Name,Email\n" + "José,jose@x.com\n".encode() +
                     "Zoë,zoe@x.com\n".encode("cp1252") + b"Al,al@x.com\n" +
                     "Amélie,amelie@x.com\n".encode("cp1252"))
    result = _run(sandbox, tmp_path, data)
    assert result.returncode == 0, result.stderr
    assert result.stderr == (f"warning: {data}: mixed encodings: lines 3, 5 are cp1252, line 2 "
                             "is UTF-8; each line was read in its own encoding; check those "
                             "rows, and save the file as UTF-8 next time\n")
    contacts = _contacts(sandbox)
    assert [contacts[e]["first_name"] for e in ("jose@x.com", "zoe@x.com", "amelie@x.com")] == \
        ["José", "Zoë", "Amélie"]
    results = read_results(next(tmp_path.glob("mixed*.results.csv")))
    assert [r["First Name"] for r in results] == ["José", "Zoë", "Al", "Amélie"]


def test_control_characters_are_removed_with_a_warning(sandbox: Any, tmp_path: Path) -> None:
    """Before: NUL and BEL reached the CRM."""
    data = tmp_path / "nul.csv"
    data.write_bytes(b"First Name,Email\nNu\x00ll,nul@x.com\nTab\tBell\x07,bell@x.com\n")
    result = _run(sandbox, tmp_path, data)
    assert result.returncode == 0, result.stderr
    assert result.stderr.startswith(f"warning: {data}: removed control characters")
    assert "from 2 cell(s), the first at line 2, column 'First Name'" in result.stderr
    contacts = _contacts(sandbox)
    assert contacts["nul@x.com"]["first_name"] == "Null"
    assert contacts["bell@x.com"]["first_name"] == "Tab\tBell"      # a tab is text


def test_control_characters_in_a_workbook_are_removed_too(sandbox: Any, tmp_path: Path) -> None:
    import xlsxwriter

    data = tmp_path / "ctl.xlsx"
    book = xlsxwriter.Workbook(str(data))
    sheet = book.add_worksheet("Leads")
    sheet.write_row(0, 0, ["First Name", "Email"])
    sheet.write_row(1, 0, ["Bell\x07e", "bell2@x.com"])       # stored as Bell_x0007_e
    book.close()
    result = _run(sandbox, tmp_path, data)
    assert result.returncode == 0, result.stderr
    assert "row 2, column 'First Name'" in result.stderr
    assert _contacts(sandbox)["bell2@x.com"]["first_name"] == "Belle"


# -- spreadsheet error cells -----------------------------------------------------------------------
def _workbook(path: Path, rows: list[list[Any]], errors: dict[str, str]) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Leads"
    for row in rows:
        sheet.append(row)
    for ref, text in errors.items():
        sheet[ref] = text
        sheet[ref].data_type = "e"
    book.save(path)
    return path


def test_error_cells_in_a_mapped_column_refuse_the_file(sandbox: Any, tmp_path: Path) -> None:
    """Before: #VALUE! read as an empty cell, without a word."""
    data = _workbook(tmp_path / "err.xlsx",
                     [["First Name", "Email", "Score"], ["Ann", "ann@x.com", 5],
                      ["Bob", "bob@x.com", None], ["Cy", "cy@x.com", None]],
                     {"C3": "#N/A", "C4": "#DIV/0!"})
    result = _run(sandbox, tmp_path, data, WITH_SCORE)
    assert result.returncode == 2
    assert result.stderr == (
        f"error: {data}, sheet 'Leads': 2 cell(s) cannot be read as values: C3 ('Score', row 3) "
        "holds the spreadsheet error #N/A, C4 ('Score', row 4) holds the spreadsheet error "
        "#DIV/0!\nhint: fix the formulas or clear those cells in the workbook, save it, and run "
        "again; nothing was sent\n")
    assert writes(sandbox.url) == []


def test_error_cells_in_other_columns_are_a_warning(sandbox: Any, tmp_path: Path) -> None:
    data = _workbook(tmp_path / "err.xlsx",
                     [["First Name", "Email", "Score"], ["Ann", "ann2@x.com", None]],
                     {"C2": "#VALUE!"})
    result = _run(sandbox, tmp_path, data)
    assert result.returncode == 0, result.stderr
    assert "warning: " in result.stderr and "C2 ('Score', row 2) holds the spreadsheet " \
        "error #VALUE! (columns the mapping does not use)" in result.stderr


SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")


@pytest.mark.slow
@pytest.mark.skipif(SOFFICE is None, reason="LibreOffice is not installed")
@pytest.mark.parametrize("target", ["ods", "xlsx"])
def test_formula_errors_computed_by_libreoffice_are_found(tmp_path: Path, target: str) -> None:
    source = tmp_path / "formulas.xlsx"
    book = openpyxl.Workbook()
    book.active.append(["Name", "Score"])
    book.active.append(["Ann", "=1/0"])
    book.active.append(["Bob", "=NA()"])
    book.save(source)
    out = tmp_path / "out"
    subprocess.run([SOFFICE, f"-env:UserInstallation={(tmp_path / 'p').as_uri()}", "--headless",
                    "--convert-to", target, "--outdir", str(out), str(source)],
                   check=True, capture_output=True, timeout=180)
    table = open_table(out / f"formulas.{target}")
    assert [(p.where, p.column, p.what) for p in table.problems] == [
        ("B2", "Score", "holds the spreadsheet error #DIV/0!"),
        ("B3", "Score", "holds the spreadsheet error #N/A"),
    ]


# -- workbook bombs --------------------------------------------------------------------------------
_PARTS = {
    "[Content_Types].xml": (
        '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
        'package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.'
        'openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType='
        '"application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.'
        'openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/'
        'worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.'
        'spreadsheetml.worksheet+xml"/></Types>'),
    "_rels/.rels": (
        '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats'
        '.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.'
        'openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/'
        'workbook.xml"/></Relationships>'),
    "xl/workbook.xml": (
        '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org'
        '/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/'
        'relationships"><sheets><sheet name="Leads" sheetId="1" r:id="rId1"/></sheets>'
        '</workbook>'),
    "xl/_rels/workbook.xml.rels": (
        '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats'
        '.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.'
        'openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/'
        'sheet1.xml"/></Relationships>'),
}


def _raw_xlsx(path: Path, sheet_data: str, dimension: str = "") -> Path:
    sheet = ('<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.'
             'openxmlformats.org/spreadsheetml/2006/main">'
             + (f'<dimension ref="{dimension}"/>' if dimension else "")
             + f"<sheetData>{sheet_data}</sheetData></worksheet>")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as package:
        for name, text in _PARTS.items():
            package.writestr(name, text)
        package.writestr("xl/worksheets/sheet1.xml", sheet)
    return path


def _cell(ref: str, text: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'


FAR_APART = (f'<row r="1">{_cell("A1", "First Name")}{_cell("B1", "Email")}</row>'
             f'<row r="2">{_cell("A2", "Ann")}{_cell("B2", "a@x.com")}</row>'
             f'<row r="1048576">{_cell("XFD1048576", "x")}</row>')


def test_a_tiny_workbook_spanning_the_whole_sheet_is_refused(sandbox: Any, tmp_path: Path) -> None:
    """Before: a 600-byte file made the reader ask for a 17-billion-cell grid (abort)."""
    data = _raw_xlsx(tmp_path / "far.xlsx", FAR_APART)
    assert data.stat().st_size < 2000
    result = _run(sandbox, tmp_path, data)
    assert result.returncode == 2, result.stderr
    assert "the used range spans 1,048,576 rows × 16,384 columns" in result.stderr
    assert "hint: delete stray cells" in result.stderr and "Ctrl+End" in result.stderr
    assert writes(sandbox.url) == []


def test_a_large_sheet_lying_about_its_dimension_is_scanned_cell_by_cell(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(workbook_scan, "PRECISE_SCAN", 10)    # every sheet counts as large
    honest = _raw_xlsx(tmp_path / "honest.xlsx",
                       FAR_APART.split('<row r="1048576">')[0], dimension="A1:B2")
    assert next(iter(open_table(honest).frames()))["Email"].tolist() == ["a@x.com"]
    lying = _raw_xlsx(tmp_path / "lying.xlsx", FAR_APART, dimension="A1:B2")
    with pytest.raises(InputError, match="1,048,576 rows × 16,384 columns"):
        open_table(lying)


def test_a_workbook_unpacking_past_the_limit_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "packed.xlsx"
    rows = "".join(f'<row r="{i}">{_cell(f"A{i}", "same text " * 20)}</row>'
                   for i in range(1, 20_000))
    _raw_xlsx(path, rows)
    assert path.stat().st_size < 200_000
    with pytest.raises(InputError) as info:
        open_table(path, limits=Limits(max_unpacked=1024 * 1024))
    assert "unpacks to 5 MB, more than the 1 MB this tool reads" in str(info.value)
    assert "save the sheet as CSV" in info.value.hint  # type: ignore[attr-defined]


@pytest.mark.slow
def test_a_zip_bomb_is_refused_by_the_cli_before_it_is_read(sandbox: Any, tmp_path: Path) -> None:
    """Before: a 1 MB file unpacking to 1 GB took 1.2 GB of memory."""
    path = _raw_xlsx(tmp_path / "bomb.xlsx", FAR_APART.split('<row r="1048576">')[0])
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as package, \
            package.open("xl/media/padding.bin", "w", force_zip64=True) as member:
        block = b"\0" * (1 << 24)
        for _ in range(40):                                   # 640 MB of zeros
            member.write(block)
    assert path.stat().st_size < 2_000_000
    result = _run(sandbox, tmp_path, path)
    assert result.returncode == 2, result.stderr
    assert "the workbook unpacks to 640 MB, more than the 512 MB" in result.stderr
