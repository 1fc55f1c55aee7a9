"""Streaming XLSX/CSV writers: typed cells, formatting, splitting, injection guard, atomicity."""

from __future__ import annotations

import csv
import datetime as dt
import io
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from concord_etl.errors import ConfigError
from concord_etl.formula_guard import neutralise, unneutralise
from concord_etl.output.atomic import atomic_output
from concord_etl.output.columns import ColumnDef
from concord_etl.output.csv_writer import CsvWriter, csv_text, write_csv
from concord_etl.output.xlsx_writer import (
    EXCEL_MAX_ROWS,
    WorkbookWriter,
    sanitise_sheet_name,
    text_width,
)

COLUMNS = [
    ColumnDef("Id", "integer"),
    ColumnDef("Name"),
    ColumnDef("Amount", "number", num_format="#,##0.00"),
    ColumnDef("Signed up", "date"),
    ColumnDef("Last seen", "datetime"),
    ColumnDef("Newsletter", "bool"),
    ColumnDef("Notes"),
]


def sample_rows(n: int = 5) -> list[list[Any]]:
    return [
        [
            i,
            f"Person {i}",
            -1250.5 + i,
            dt.date(2024, 5, 1) + dt.timedelta(days=i),
            dt.datetime(2024, 5, 1, 10, 30) + dt.timedelta(hours=i),
            i % 2 == 0,
            None if i % 3 == 0 else f"note {i}",
        ]
        for i in range(1, n + 1)
    ]


def write_book(path: Path, columns: list[ColumnDef], rows: Any, **kwargs: Any) -> Any:
    with WorkbookWriter(path, **kwargs.pop("writer", {})) as book:
        return book.add_sheet("Contacts", columns, rows, **kwargs)


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


# -- neutralise -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("=SUM(A1)", "'=SUM(A1)"),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
        ("@SUM(1+1)", "'@SUM(1+1)"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("＝HYPERLINK(\"x\")", "'＝HYPERLINK(\"x\")"),
        ("＋1", "'＋1"),
        ("－1", "'－1"),
        ("＠x", "'＠x"),
        ("- a bullet", "'- a bullet"),
        ("+44 20 7946 0958", "'+44 20 7946 0958"),      # a CSV guards phones too
        ("+1 (555) 010-0100", "'+1 (555) 010-0100"),
        ("+1+2", "'+1+2"),
        ("-3-4", "'-3-4"),
        ("-12.5", "-12.5"),
        ("-", "-"),
        ("plain text", "plain text"),
        ("a=b", "a=b"),
        ("", ""),
    ],
)
def test_neutralise(text: str, expected: str) -> None:
    assert neutralise(text) == expected


@pytest.mark.parametrize("text", ["=SUM(A1)", "@x", "- bullet", "\tx", "'quoted'", "'", "+44 1"])
def test_unneutralise_is_the_inverse(text: str) -> None:
    assert unneutralise(neutralise(text)) == text


# -- XLSX cells -------------------------------------------------------------------------------------


def test_cells_are_typed(tmp_path: Path) -> None:
    path = tmp_path / "out.xlsx"
    rows = sample_rows(3)
    stats = write_book(path, COLUMNS, rows)
    assert stats.rows == 3 and stats.sheets == ["Contacts"]

    ws = openpyxl.load_workbook(path)["Contacts"]
    assert [c.value for c in ws[1]] == [c.name for c in COLUMNS]
    r = ws[2]
    assert r[0].value == 1 and r[0].data_type == "n"
    assert r[1].value == "Person 1" and r[1].data_type == "s"
    assert r[2].value == -1249.5 and r[2].data_type == "n"          # negative number untouched
    assert r[2].number_format == "#,##0.00"
    assert r[3].is_date and r[3].value == dt.datetime(2024, 5, 2)
    assert r[3].number_format == "yyyy-mm-dd"
    assert r[4].is_date and r[4].value == dt.datetime(2024, 5, 1, 11, 30)
    assert r[4].number_format == "yyyy-mm-dd hh:mm"
    assert r[5].value is False and r[5].data_type == "b"
    assert r[6].value == "note 1"
    assert ws["G4"].value is None                                     # None → empty cell


def test_text_is_never_a_formula_number_or_link(tmp_path: Path) -> None:
    path = tmp_path / "out.xlsx"
    texts = ["=SUM(A1)", "00123", "1e5", "http://example.com", "@cmd", "+44 20 7946 0958"]
    write_book(path, [ColumnDef("Text")], [[t] for t in texts])
    ws = openpyxl.load_workbook(path)["Contacts"]
    cells = [ws.cell(row=i + 2, column=1) for i in range(len(texts))]
    assert [c.value for c in cells] == [
        "'=SUM(A1)", "00123", "1e5", "http://example.com", "'@cmd", "+44 20 7946 0958",
    ]
    assert all(c.data_type == "s" for c in cells)
    assert all(c.data_type != "f" for c in cells)
    assert all(c.hyperlink is None for c in cells)


def test_values_of_another_type_are_written_by_their_own_type(tmp_path: Path) -> None:
    path = tmp_path / "out.xlsx"
    aware = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    rows = [[dt.date(2024, 1, 2), "n/a", aware, float("nan"), 7]]
    cols = [ColumnDef("A"), ColumnDef("B", "integer"), ColumnDef("C", "datetime"),
            ColumnDef("D", "number"), ColumnDef("E", "bool")]
    write_book(path, cols, rows)
    ws = openpyxl.load_workbook(path)["Contacts"]
    assert ws["A2"].is_date and ws["A2"].value == dt.datetime(2024, 1, 2)
    assert ws["B2"].value == "n/a"
    assert ws["C2"].value == dt.datetime(2024, 5, 1, 10, 0)          # converted to UTC
    assert ws["D2"].value is None                                     # NaN → empty
    assert ws["E2"].value == 7 and ws["E2"].data_type == "n"


def test_header_bold_frozen_with_autofilter(tmp_path: Path) -> None:
    path = tmp_path / "out.xlsx"
    write_book(path, COLUMNS, sample_rows(5))
    ws = openpyxl.load_workbook(path)["Contacts"]
    assert all(c.font.b for c in ws[1])
    assert not ws["A2"].font.b
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == "A1:G6"


def test_empty_sheet_has_header_and_filter(tmp_path: Path) -> None:
    path = tmp_path / "out.xlsx"
    stats = write_book(path, COLUMNS, [])
    ws = openpyxl.load_workbook(path)["Contacts"]
    assert stats.rows == 0
    assert [c.value for c in ws[1]] == [c.name for c in COLUMNS]
    assert ws.auto_filter.ref == "A1:G1"


def test_widths_are_sensible(tmp_path: Path) -> None:
    path = tmp_path / "out.xlsx"
    cols = [
        ColumnDef("Id", "integer"),
        ColumnDef("Long text"),
        ColumnDef("When", "date"),
        ColumnDef("Stamp", "datetime"),
        ColumnDef("Fixed", width=33),
        ColumnDef("Medium"),
    ]
    rows = [[1, "x" * 500, dt.date(2024, 1, 1), dt.datetime(2024, 1, 1, 1, 1), "a", "y" * 25]]
    write_book(path, cols, rows)
    widths = {k: v.width for k, v in openpyxl.load_workbook(path)["Contacts"].column_dimensions.items()}
    assert 8 <= widths["A"] < 12
    assert 59 <= widths["B"] <= 61                                     # clamped at 60
    assert widths["C"] >= 12                                           # never '#####'
    assert widths["D"] >= 17
    assert 32 <= widths["E"] <= 34                                     # explicit width kept
    assert 26 <= widths["F"] <= 30                                     # from the content


def test_text_width_counts_wide_characters() -> None:
    assert text_width("abc") == 3
    assert text_width("東京") == 4
    assert text_width("short\nlonger line") == 11


def test_sheet_is_split_past_the_row_limit(tmp_path: Path) -> None:
    path = tmp_path / "out.xlsx"
    stats = write_book(path, COLUMNS, iter(sample_rows(7)), writer={"max_rows_per_sheet": 4})
    assert stats.sheets == ["Contacts", "Contacts (2)", "Contacts (3)"]
    assert stats.rows == 7
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == stats.sheets
    ids = []
    for name in stats.sheets:
        ws = book[name]
        assert [c.value for c in ws[1]] == [c.name for c in COLUMNS]   # header repeated
        assert ws.freeze_panes == "A2"
        ids += [row[0] for row in ws.iter_rows(min_row=2, values_only=True)]
    assert ids == [1, 2, 3, 4, 5, 6, 7]
    assert book["Contacts (3)"].auto_filter.ref == "A1:G2"
    assert EXCEL_MAX_ROWS == 1_048_576


@pytest.mark.parametrize(
    ("name", "taken", "expected"),
    [
        ("Deals: won/lost [2024]?*", [], "Deals_ won_lost _2024___"),
        ("x" * 40, [], "x" * 31),
        ("Contacts", ["contacts"], "Contacts (2)"),
        ("Contacts", ["Contacts", "Contacts (2)"], "Contacts (3)"),
        ("y" * 31, ["y" * 31], "y" * 27 + " (2)"),
        ("'quoted'", [], "quoted"),
        ("", [], "Sheet"),
        ("History", [], "History_"),
    ],
)
def test_sanitise_sheet_name(name: str, taken: list[str], expected: str) -> None:
    assert sanitise_sheet_name(name, taken) == expected


def test_duplicate_sheet_names_are_made_unique(tmp_path: Path) -> None:
    path = tmp_path / "out.xlsx"
    with WorkbookWriter(path) as book:
        first = book.add_sheet("Deals", COLUMNS, [])
        second = book.add_sheet("deals", COLUMNS, [])
    assert first.sheets == ["Deals"] and second.sheets == ["deals (2)"]
    assert openpyxl.load_workbook(path).sheetnames == ["Deals", "deals (2)"]


def test_highlighted_rows_are_filled_across_the_row(tmp_path: Path) -> None:
    path = tmp_path / "out.xlsx"
    stats = write_book(path, COLUMNS, sample_rows(6), highlight=lambda row: row[0] in (2, 3))
    assert stats.highlighted == 2
    ws = openpyxl.load_workbook(path)["Contacts"]

    def fill(cell: Any) -> str | None:
        return cell.fill.fgColor.rgb if cell.fill.fill_type == "solid" else None

    assert [fill(c) for c in ws[2]] == [None] * 7
    assert [fill(c) for c in ws[3]] == ["FFFFD9D9"] * 7
    assert ws["G4"].value is None and fill(ws["G4"]) == "FFFFD9D9"      # empty cell filled too
    assert ws["D3"].is_date and ws["D3"].number_format == "yyyy-mm-dd"  # keeps its format
    assert ws["C3"].number_format == "#,##0.00"
    assert ws["G7"].value is None and fill(ws["G7"]) is None           # plain row, empty cell


def test_note_is_a_comment_on_the_header(tmp_path: Path) -> None:
    path = tmp_path / "out.xlsx"
    write_book(path, COLUMNS, sample_rows(1), note="Filtered: updated since 2024-05-01")
    ws = openpyxl.load_workbook(path)["Contacts"]
    assert ws["A1"].comment is not None
    assert "updated since 2024-05-01" in ws["A1"].comment.text


def test_key_value_sheet(tmp_path: Path) -> None:
    path = tmp_path / "out.xlsx"
    when = dt.datetime(2024, 5, 1, 9, 15)
    with WorkbookWriter(path) as book:
        name = book.add_key_value_sheet(
            "Run info", {"Exported at": when, "Rows": 120, "Filter": "=cmd", "Since": None}
        )
    ws = openpyxl.load_workbook(path)[name]
    assert [[c.value for c in row] for row in ws.iter_rows()] == [
        ["Exported at", when], ["Rows", 120], ["Filter", "'=cmd"], ["Since", None],
    ]
    assert ws["A1"].font.b and ws["B1"].is_date


@pytest.mark.parametrize(("chart", "tag"), [("bar", "c:barChart"), ("column", "c:barChart"),
                                            ("pie", "c:pieChart")])
def test_chart_sheet_has_data_and_native_chart(tmp_path: Path, chart: str, tag: str) -> None:
    path = tmp_path / "out.xlsx"
    with WorkbookWriter(path) as book:
        name = book.add_chart_sheet(
            "Deals by stage", "Deals by stage", ["Qualified", "Proposal", "Won"], [1200, 560.5, 0],
            chart=chart, value_label="Amount", category_label="Stage",  # type: ignore[arg-type]
        )
    ws = openpyxl.load_workbook(path)[name]
    assert [list(r) for r in ws.iter_rows(values_only=True)] == [
        ["Stage", "Amount"], ["Qualified", 1200], ["Proposal", 560.5], ["Won", 0],
    ]
    with zipfile.ZipFile(path) as archive:
        xml = archive.read("xl/charts/chart1.xml").decode()
    assert tag in xml
    assert "'Deals by stage'!$B$2:$B$4" in xml
    assert "'Deals by stage'!$A$2:$A$4" in xml
    if chart != "pie":
        assert ('<c:barDir val="bar"/>' in xml) == (chart == "bar")


def test_chart_sheet_without_data_has_no_chart(tmp_path: Path) -> None:
    path = tmp_path / "out.xlsx"
    with WorkbookWriter(path) as book:
        book.add_chart_sheet("Empty", "Nothing", [], [])
    with zipfile.ZipFile(path) as archive:
        assert not [n for n in archive.namelist() if n.startswith("xl/charts/")]


# -- atomicity ------------------------------------------------------------------------------------


def failing_rows(after: int, exc: BaseException) -> Iterator[list[Any]]:
    yield from sample_rows(after)
    raise exc


@pytest.mark.parametrize("exc", [RuntimeError("CRM went away"), KeyboardInterrupt()])
def test_failure_mid_write_leaves_nothing(tmp_path: Path, exc: BaseException) -> None:
    out = tmp_path / "reports"
    path = out / "weekly.xlsx"
    before = set(Path(tempfile.gettempdir()).glob("concord-xlsx-*"))
    with pytest.raises(type(exc)):
        write_book(path, COLUMNS, failing_rows(300, exc))               # past the width sample
    assert leftovers(out) == []                                        # no target, no temp file
    assert set(Path(tempfile.gettempdir()).glob("concord-xlsx-*")) == before


def test_failure_leaves_an_existing_target_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "weekly.xlsx"
    write_book(path, COLUMNS, sample_rows(2))
    original = path.read_bytes()
    with pytest.raises(RuntimeError):
        write_book(path, COLUMNS, failing_rows(10, RuntimeError("boom")))
    assert path.read_bytes() == original
    assert leftovers(tmp_path) == ["weekly.xlsx"]


def test_bad_row_length_is_an_error_and_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "out.xlsx"
    with pytest.raises(ValueError, match=r"sheet 'Contacts', data row 2: 2 values for 7 columns"):
        write_book(path, COLUMNS, [sample_rows(1)[0], [1, "x"]])
    assert leftovers(tmp_path) == []


def test_success_replaces_the_target(tmp_path: Path) -> None:
    path = tmp_path / "out.xlsx"
    path.write_text("old")
    write_book(path, COLUMNS, sample_rows(1))
    assert zipfile.is_zipfile(path)
    assert leftovers(tmp_path) == ["out.xlsx"]
    assert path.stat().st_mode & 0o777 != 0o600                       # not mkstemp's private mode


def test_atomic_output_unwritable_place_is_a_config_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ConfigError, match="cannot write"), atomic_output(blocker / "x.csv"):
        pass


def test_column_kind_is_checked() -> None:
    with pytest.raises(ValueError, match="kind 'money'"):
        ColumnDef("Amount", "money")  # type: ignore[arg-type]


# -- CSV --------------------------------------------------------------------------------------------


def read_csv(path: Path) -> list[list[str]]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.reader(fh))


def test_csv_escaping_and_injection(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    rows = [
        ["Acme, Inc.", 'She said "hi"', "line one\nline two", "=HYPERLINK(\"http://x\")", -5],
        ["+44 20 7946 0958", "@SUM(1)", "\tx", "plain", 2.5],
    ]
    count = write_csv(path, ["Company", "Quote", "Notes", "Formula", "Number"], rows)
    assert count == 2
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")                               # BOM by default
    assert b"\r\n" in raw
    assert b'"Acme, Inc."' in raw and b'"She said ""hi"""' in raw
    assert read_csv(path) == [
        ["Company", "Quote", "Notes", "Formula", "Number"],
        ["Acme, Inc.", 'She said "hi"', "line one\nline two", "'=HYPERLINK(\"http://x\")", "-5"],
        ["'+44 20 7946 0958", "'@SUM(1)", "'\tx", "plain", "2.5"],
    ]


def test_csv_values_and_options(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    aware = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    with CsvWriter(path, ["a", "b", "c", "d", "e", "f", "g"], bom=False, delimiter=";") as w:
        w.writerow([dt.date(2024, 5, 1), dt.datetime(2024, 5, 1, 10, 30), aware, True, None,
                    1250.0, float("nan")])
    text = path.read_bytes().decode("utf-8")
    assert not text.startswith("\ufeff")
    assert text.splitlines()[1] == "2024-05-01;2024-05-01 10:30:00;2024-05-01 10:00:00;true;;1250;"


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, ""), (0.1, "0.1"), (10**20 * 1.0, "1e+20"), (7, "7"), (False, "false"),
     ("-x", "'-x"), (dt.datetime(2024, 1, 1, 0, 0, 0, 5), "2024-01-01 00:00:00.000005")],
)
def test_csv_text(value: Any, expected: str) -> None:
    assert csv_text(value) == expected


def test_csv_failure_leaves_nothing(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    path.write_text("previous")
    with pytest.raises(RuntimeError), CsvWriter(path, ["a"]) as writer:
        writer.writerow(["x"])
        raise RuntimeError("interrupted")
    assert path.read_text() == "previous"
    assert leftovers(tmp_path) == ["out.csv"]


def test_csv_legacy_encoding_replaces_what_it_cannot_encode(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    with CsvWriter(path, ["name"], encoding="cp1252") as w:
        w.writerow(["Zoë → 東京"])
    assert list(csv.reader(io.StringIO(path.read_bytes().decode("cp1252")))) == [
        ["name"], ["Zoë ? ??"],
    ]
