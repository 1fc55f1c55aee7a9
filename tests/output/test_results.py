"""Results file of an import/validate run: columns, order, highlighting, round trip, atomicity."""

from __future__ import annotations

import csv
import datetime as dt
import random
import tempfile
from pathlib import Path

import openpyxl
import pytest

from concord_etl.output.results import META_COLUMNS, ResultsWriter, results_path

INPUT_COLUMNS = ["First Name", "E-mail", "Phone", "Signed Up"]


def read_csv_rows(path: Path) -> list[list[str]]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.reader(fh))


def fill(cell: openpyxl.cell.cell.Cell) -> str | None:
    return cell.fill.fgColor.rgb if cell.fill.fill_type == "solid" else None


def test_results_path_is_beside_the_input(tmp_path: Path) -> None:
    assert results_path(tmp_path / "leads.csv", excel=False) == tmp_path / "leads.results.csv"
    assert results_path(tmp_path / "leads.xls", excel=True) == tmp_path / "leads.results.xlsx"


def test_csv_results_sorted_with_input_values(tmp_path: Path) -> None:
    path = tmp_path / "leads.results.csv"
    writer = ResultsWriter(path, INPUT_COLUMNS, excel=False)
    writer.add(3, "rejected", None, ["E-mail: 'ada@' is not an email", "Phone: too short"],
               {"First Name": "Ada", "E-mail": "ada@", "Phone": "12", "Signed Up": "05/03/2024"})
    writer.add(2, "created", 101, [], ["Bob", "bob@example.com", "0123 456789", "01/02/2024"])
    writer.add(4, "updated", 7, None, {"First Name": "=cmd", "E-mail": "c@example.com"})
    assert writer.close() == path
    assert read_csv_rows(path) == [
        [*META_COLUMNS, *INPUT_COLUMNS],
        ["2", "created", "101", "", "", "Bob", "bob@example.com", "0123 456789", "01/02/2024"],
        ["3", "rejected", "", "E-mail: 'ada@' is not an email\nPhone: too short", "",
         "Ada", "ada@", "12", "05/03/2024"],
        ["4", "updated", "7", "", "", "'=cmd", "c@example.com", "", ""],
    ]
    assert writer.counts == {"created": 1, "rejected": 1, "updated": 1}


def test_xlsx_results_round_trip_and_highlight(tmp_path: Path) -> None:
    path = tmp_path / "leads.results.xlsx"
    with ResultsWriter(path, INPUT_COLUMNS, excel=True, sheet="Leads") as writer:
        writer.add(5, "failed", None, ["server error 500"],
                   ["Cy", "cy@example.com", "+44 20 7946 0958", dt.datetime(2024, 3, 5)])
        writer.add(2, "created", 11, [], ["Ada", "ada@example.com", "00123", dt.date(2024, 1, 2)])
        writer.add(3, "rejected", None, ["E-mail: bad", "Phone: bad"],
                   ["Bo", "bo@", "1", None])
        writer.add(4, "unverified", None, ["outcome unknown"], ["Di", "di@example.com", None, None])
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["Leads"]
    ws = book["Leads"]
    values = [list(r) for r in ws.iter_rows(values_only=True)]
    assert values[0] == [*META_COLUMNS, *INPUT_COLUMNS]
    assert [r[0] for r in values[1:]] == [2, 3, 4, 5]
    assert values[1] == [2, "created", 11, None, None, "Ada", "ada@example.com", "00123",
                         dt.datetime(2024, 1, 2)]
    assert values[2][3] == "E-mail: bad\nPhone: bad"
    assert values[4][7] == "+44 20 7946 0958"
    assert ws["I2"].is_date and ws["I2"].number_format == "yyyy-mm-dd"
    assert ws["D3"].alignment.wrap_text and ws["E3"].alignment.wrap_text
    assert fill(ws["A2"]) is None                                        # created: plain
    assert all(fill(ws.cell(row=r, column=1)) == "FFFFD9D9" for r in (3, 4, 5))
    assert fill(ws["I3"]) == "FFFFD9D9"                                  # empty cell of a bad row
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref == "A1:I5"
    assert ws["A1"].font.b


def test_results_of_a_results_file_do_not_double_meta_columns(tmp_path: Path) -> None:
    path = tmp_path / "again.results.csv"
    columns = [*META_COLUMNS, "First Name"]
    with ResultsWriter(path, columns, excel=False) as writer:
        writer.add(2, "created", 5, [], [2, "rejected", None, "bad", "odd", "Ada"])
    assert read_csv_rows(path) == [[*META_COLUMNS, "First Name"],
                                   ["2", "created", "5", "", "", "Ada"]]


def test_large_out_of_order_input_is_spilled_and_merged(tmp_path: Path) -> None:
    path = tmp_path / "big.results.csv"
    order = list(range(2, 1002))
    random.Random(7).shuffle(order)
    before = set(Path(tempfile.gettempdir()).glob("concord-results-*"))
    writer = ResultsWriter(path, ["n"], excel=False, chunk_rows=64)
    for row_no in order:
        writer.add(row_no, "created" if row_no % 10 else "rejected", row_no * 10, [], [str(row_no)])
    assert len(writer._runs) >= 15                                       # really spilled
    writer.close()
    rows = read_csv_rows(path)[1:]
    assert [int(r[0]) for r in rows] == list(range(2, 1002))
    assert all(r[2] == str(int(r[0]) * 10) and r[5] == r[0] for r in rows)
    assert set(Path(tempfile.gettempdir()).glob("concord-results-*")) == before


def test_same_row_twice_keeps_arrival_order(tmp_path: Path) -> None:
    path = tmp_path / "dup.results.csv"
    with ResultsWriter(path, ["n"], excel=False, chunk_rows=1) as writer:
        writer.add(2, "failed", None, ["first try"], ["x"])
        writer.add(2, "created", 9, [], ["x"])
    assert [r[1] for r in read_csv_rows(path)[1:]] == ["failed", "created"]


def test_replace_repeats_keeps_the_last_entry_of_a_row(tmp_path: Path) -> None:
    path = tmp_path / "dup.results.csv"
    with ResultsWriter(path, ["n"], excel=False, chunk_rows=1, replace_repeats=True) as writer:
        writer.add(3, "valid", None, [], ["y"], warnings=["n: odd"])
        writer.add(2, "rejected", None, ["n: bad"], ["x"])
        writer.add(3, "rejected", None, ["n: duplicate"], ["y"], warnings=["n: odd"])
    assert read_csv_rows(path)[1:] == [["2", "rejected", "", "n: bad", "", "x"],
                                       ["3", "rejected", "", "n: duplicate", "n: odd", "y"]]


def test_exception_inside_the_block_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "leads.results.xlsx"
    path.write_text("previous run")
    with pytest.raises(RuntimeError), ResultsWriter(path, ["a"], excel=True) as writer:
        writer.add(2, "created", 1, [], ["x"])
        raise RuntimeError("aborted")
    assert path.read_text() == "previous run"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["leads.results.xlsx"]


def test_bad_calls_are_errors(tmp_path: Path) -> None:
    writer = ResultsWriter(tmp_path / "r.csv", ["a", "b"], excel=False)
    with pytest.raises(ValueError, match="2 input columns"):
        writer.add(2, "created", 1, [], ["only one"])
    with pytest.raises(ValueError, match="action"):
        writer.add(2, "", 1, [], ["x", "y"])
    writer.close()
    with pytest.raises(RuntimeError, match="closed"):
        writer.add(3, "created", 1, [], ["x", "y"])


def test_csv_results_can_mirror_the_input_dialect(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    with ResultsWriter(path, ["Name"], excel=False, encoding="cp1252", delimiter=";") as writer:
        writer.add(2, "rejected", None, ["Name: too long"], ["Zoë"])
    assert path.read_bytes().decode("cp1252").splitlines() == [
        "_row;_action;_concord_id;_errors;_warnings;Name", "2;rejected;;Name: too long;;Zoë",
    ]
