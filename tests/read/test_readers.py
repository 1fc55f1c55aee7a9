"""Readers: CSV/XLSX/XLS/ODS → Table → frames (see docs/DESIGN.md, "Readers contract")."""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from openpyxl.utils.datetime import CALENDAR_MAC_1904

from concord_etl.errors import ConfigError, InputError, InputWarning
from concord_etl.read import open_table, require_columns
from concord_etl.read.dialect import sniff_delimiter
from concord_etl.read.encoding import mojibake_warning
from concord_etl.read.table import column_letter
from tests.helpers import REPO

SAMPLES = REPO / "sample_data"
FIXTURES = REPO / "tests" / "data" / "readers"


def read_all(path: Path, **kwargs: object) -> tuple[object, pd.DataFrame]:
    table = open_table(path, **kwargs)  # type: ignore[arg-type]
    return table, pd.concat(list(table.frames()))


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def workbook(tmp_path: Path, rows: list[list[object]], name: str = "t.xlsx",
             title: str = "Data", epoch: object = None) -> Path:
    book = openpyxl.Workbook()
    if epoch is not None:
        book.epoch = epoch
    sheet = book.active
    sheet.title = title
    for row in rows:
        sheet.append(row)
    path = tmp_path / name
    book.save(path)
    return path


# --- sample data -------------------------------------------------------------------------

def test_sample_leads_csv_is_cp1252_semicolon_with_exact_line_numbers() -> None:
    table, df = read_all(SAMPLES / "leads.csv")
    assert (table.format, table.encoding, table.delimiter) == ("csv", "cp1252", ";")
    assert table.describe().startswith("detected: cp1252, ';', header row 1")
    assert table.columns[:3] == ["First Name", "Last Name", "E-mail"]
    assert len(table.columns) == 18 and len(df) == 40
    first = df.iloc[0]
    assert first["First Name"] == "José" and first["Company"] == "Acme, Inc."
    assert first["Work Phone"] == "0034 91 123 4567" and first["Budget"] == "1,200.50"
    assert pd.isna(df.iloc[1]["Work Phone"])
    rows = dict(zip(df["First Name"].fillna(""), df["_row"], strict=True))
    assert rows["Ada"] == 7                     # her Notes cell spans lines 7-8
    assert rows["Søren"] == 9
    assert rows["Liam"] == 20 and rows["Sofia"] == 22   # blank line 21 in between
    assert df.loc[df["First Name"] == "Ada", "Notes"].item() == "Prefers e-mail;\nno calls before 10am"


def test_sample_companies_csv_has_bom_and_keeps_leading_zeros() -> None:
    table, df = read_all(SAMPLES / "companies.csv")
    assert (table.encoding, table.delimiter) == ("utf-8-sig", ",")
    assert table.columns[0] == "Name"
    numbers = dict(zip(df["Name"], df["Account Number"], strict=True))
    assert (numbers["Globex GmbH"], numbers["Hooli Ltd"]) == ("00102", "00104")
    assert len(df) == 12


def test_sample_deals_csv() -> None:
    table, df = read_all(SAMPLES / "deals.csv")
    assert table.columns == ["Deal Name", "Stage", "Pipeline", "Amount", "Close Date",
                             "Owner", "Company", "Deal Type", "Status"]
    assert set(df["Status"]) == {"open", "won", "lost"} and len(df) == 10


@pytest.mark.parametrize("path", [SAMPLES / "leads.xlsx", FIXTURES / "leads.xls",
                                  FIXTURES / "leads.ods"], ids=["xlsx", "xls-libreoffice",
                                                                "ods-libreoffice"])
def test_sample_leads_workbooks_keep_cell_types(path: Path) -> None:
    table, df = read_all(path)
    assert table.format == path.suffix[1:] and table.sheet == "Leads"
    assert len(table.columns) == 18 and len(df) == 25
    first = df.iloc[0]
    assert first["Mobile"] == "07700900100"           # text cell, leading zero kept
    assert first["Signed Up"] == dt.date(2024, 1, 1)
    assert type(first["Lead Score"]) is int and first["Lead Score"] == 10
    assert type(first["Budget"]) is int and df.iloc[1]["Budget"] == 750.5
    assert first["Notes"] is None and first["_row"] == 2
    assert df["_row"].tolist() == list(range(2, 27))
    assert df.loc[df["_row"] == 17, "Signed Up"].item() == "31/02/2024"   # a text cell


# --- CSV encodings and dialects ----------------------------------------------------------

@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        ("Name,City\nJosé,Köln\n".encode(), "utf-8"),
        (b"\xef\xbb\xbf" + "Name,City\nJosé,Köln\n".encode(), "utf-8-sig"),
        ("Name,City\nJosé,Köln\n".encode("cp1252"), "cp1252"),
        (b"Name,City\nJos\xe9,K\x81ln\n", "latin-1"),         # 0x81 is undefined in cp1252
    ],
)
def test_encoding_detection(tmp_path: Path, data: bytes, encoding: str) -> None:
    table, df = read_all(write(tmp_path, "e.csv", data))
    assert table.encoding == encoding
    assert table.columns == ["Name", "City"]
    assert df["Name"].item() == "José"


def test_non_utf8_byte_after_the_sample_is_still_detected(tmp_path: Path) -> None:
    body = "Name,Note\n" + "Ann,plain ascii line that is long enough\n" * 40_000
    data = body.encode() + "Zoë,late\n".encode("cp1252")
    assert len(data) > 1 << 20
    table, df = read_all(write(tmp_path, "late.csv", data))
    assert table.encoding == "cp1252"
    assert df["Name"].iloc[-1] == "Zoë"


def test_explicit_wrong_encoding_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "w.csv", "A\nok\nJosé\n".encode("cp1252"))
    with pytest.raises(InputError, match=r"line 3: bytes .* cannot be decoded as utf-8"):
        open_table(path, encoding="utf-8")
    with pytest.raises(ConfigError, match="unknown encoding"):
        open_table(path, encoding="klingon")


def test_mojibake_is_reported_not_fatal(tmp_path: Path) -> None:
    double = "Name\nJosé Müller\n".encode().decode("cp1252").encode()
    with pytest.warns(InputWarning, match="double-encoded"):
        table, df = read_all(write(tmp_path, "m.csv", double))
    assert df["Name"].item() == "JosÃ© MÃ¼ller"
    assert "double-encoded" in table.describe() and table.warnings
    assert mojibake_warning("it’s fine, José") is None
    assert mojibake_warning("itâ€™s") is not None


@pytest.mark.parametrize(
    ("text", "delimiter"),
    [
        ('Name;Company;Budget\nA;"Acme, Inc.";1,200.50\nB;Globex, Ltd;900\n', ";"),
        ('Name,Interests\nA,"Analytics; Reporting"\nB,"Support; Automation"\n', ","),
        ("Name\tCity\tZip\nA\tParis, FR\t00123\n", "\t"),
        ("Name\nAnn\n", ","),
    ],
)
def test_delimiter_sniffing_is_quote_aware(text: str, delimiter: str) -> None:
    assert sniff_delimiter(text) == delimiter


def test_quoted_fields_crlf_and_line_numbers(tmp_path: Path) -> None:
    text = ('Id,Note,Zip\r\n1,"a, b",007\r\n2,"two\r\nlines ""quoted""",\r\n\r\n'
            '3,"x\ny\nz",NA\r\n,,\r\n4,null,0\r\n')
    _, df = read_all(write(tmp_path, "q.csv", text.encode()))
    assert df["Id"].tolist() == ["1", "2", "3", "4"]
    assert df["_row"].tolist() == [2, 3, 6, 10]
    assert df["Note"].tolist()[:2] == ["a, b", 'two\r\nlines "quoted"']
    assert df["Zip"].iloc[0] == "007" and pd.isna(df["Zip"].iloc[1])
    assert df["Zip"].iloc[2] == "NA" and df["Note"].iloc[3] == "null"   # not NA markers


def test_many_chunks_keep_exact_lines_across_blocks(tmp_path: Path) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["id", "note", "phone"])
    for i in range(60_000):
        note = f"line one {i}\nline two" if i % 97 == 0 else f"note {i} " + "x" * (i % 50)
        writer.writerow([i, note, f"0{i:09d}"])
        if i % 1000 == 999:
            buffer.write("\n")
    path = write(tmp_path, "big.csv", buffer.getvalue().encode())
    expected: list[int] = []
    with path.open(newline="") as handle:
        reader = csv.reader(handle)
        previous = 0
        for record in reader:
            start, previous = previous + 1, reader.line_num
            if record and start > 1:
                expected.append(start)
    table = open_table(path, chunk_rows=4_000)
    frames = list(table.frames())
    assert len(frames) > 5 and all(len(f) <= 4_000 for f in frames)
    df = pd.concat(frames)
    assert df["_row"].tolist() == expected
    assert df.index.tolist() == list(range(60_000))
    assert df["phone"].iloc[5] == "0000000005"
    again = pd.concat(list(table.frames()))          # frames() is re-iterable
    assert again["_row"].tolist() == expected


def test_ragged_rows_fall_back_and_pad(tmp_path: Path) -> None:
    text = "A;B;C\n1;2;3\n4;5\n6;7;8;;\n9;10;11\n"
    _, df = read_all(write(tmp_path, "r.csv", text.encode()))
    assert df["A"].tolist() == ["1", "4", "6", "9"]
    assert pd.isna(df["C"].iloc[1]) and df["_row"].tolist() == [2, 3, 4, 5]


def test_value_beyond_the_header_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, "x.csv", b"A,B\n1,2\n3,4,surprise\n")
    with pytest.raises(InputError, match=r"line 3: field 3 has a value \('surprise'\)"):
        list(open_table(path).frames())


# --- headers and bad files ----------------------------------------------------------------

def test_duplicate_and_empty_headers_are_named(tmp_path: Path) -> None:
    path = write(tmp_path, "h.csv", b" Email ,Name,,Email\n1,2,3,4\n")
    with pytest.raises(InputError) as info:
        open_table(path)
    message = str(info.value)
    assert "empty header in column 3" in message
    assert "duplicate header 'Email' in column 1, column 4" in message
    xlsx = workbook(tmp_path, [["Name", None, "Name", "Phone"], ["a", "b", "c", "d"]])
    with pytest.raises(InputError, match=r"empty header in column B; duplicate header 'Name' "
                                         r"in column A, column C"):
        open_table(xlsx)


def test_headers_are_stripped_and_trailing_blank_headers_tolerated(tmp_path: Path) -> None:
    table, df = read_all(write(tmp_path, "t.csv", b" First Name ;Age;;\nAnn;3;;\n"))
    assert table.columns == ["First Name", "Age"]
    assert df.columns.tolist() == ["First Name", "Age", "_row"]


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (b"", "empty"),
        (b"\n\n  \n", "empty"),
        (b"\xef\xbb\xbf", "empty"),
    ],
)
def test_empty_files(tmp_path: Path, data: bytes, match: str) -> None:
    with pytest.raises(InputError, match=match):
        open_table(write(tmp_path, "empty.csv", data))


def test_header_only_gives_zero_rows(tmp_path: Path) -> None:
    table = open_table(write(tmp_path, "h.csv", b"A,B\n"))
    frames = list(table.frames())
    assert len(frames) == 1 and frames[0].empty
    assert frames[0].columns.tolist() == ["A", "B", "_row"]
    xlsx = workbook(tmp_path, [["A", "B"]])
    assert sum(len(f) for f in open_table(xlsx).frames()) == 0


def test_missing_corrupt_and_disguised_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        open_table(tmp_path / "nope.csv")
    with pytest.raises(InputError, match="not a file"):
        open_table(tmp_path)
    with pytest.raises(InputError, match="not a xlsx workbook"):
        open_table(write(tmp_path, "fake.xlsx", b"A,B\n1,2\n"))
    with pytest.raises(InputError, match="cannot read the workbook"):
        open_table(write(tmp_path, "broken.xlsx", b"PK\x03\x04 this is not a zip"))
    good = workbook(tmp_path, [["A"], [1]])
    truncated = write(tmp_path, "cut.xlsx", good.read_bytes()[:200])
    with pytest.raises(InputError):
        open_table(truncated)


def test_header_row_hint_and_bad_options(tmp_path: Path) -> None:
    path = write(tmp_path, "p.csv", b"Export of 2024-05-01\n\nName;Zip\nAnn;0123\n")
    table, df = read_all(path, header_row=2)
    assert table.header_row == 3 and table.delimiter == ";"
    assert df.to_dict("records") == [{"Name": "Ann", "Zip": "0123", "_row": 4}]
    with pytest.raises(InputError, match="no header at or after line 9"):
        open_table(path, header_row=9)
    with pytest.raises(ConfigError):
        open_table(path, header_row=0)
    with pytest.raises(ConfigError):
        open_table(path, delimiter="||")


def test_require_columns(tmp_path: Path) -> None:
    table = open_table(write(tmp_path, "c.csv", b"Name,E-mail\n"))
    require_columns(table, ["Name"])
    with pytest.raises(InputError, match=r"missing column\(s\) 'Owner'.*has: 'Name', 'E-mail'"):
        require_columns(table, ["Name", "Owner"])


# --- spreadsheets -------------------------------------------------------------------------

def test_xlsx_types_blank_rows_and_errors(tmp_path: Path) -> None:
    rows: list[list[object]] = [
        ["Name", "Phone", "Score", "Ratio", "Day", "Stamp", "Flag", "Formula"],
        ["Zoë", "0123", 7, 2.5, dt.date(2024, 2, 29), dt.datetime(2024, 1, 2, 3, 4, 5),
         True, "#N/A"],
        [None] * 8,
        ["  x ", None, 3.0, 1e20, None, None, False, None],
    ]
    table, df = read_all(workbook(tmp_path, rows))
    assert table.format == "xlsx" and table.sheet == "Data"
    assert df["_row"].tolist() == [2, 4]                  # blank row 3 skipped
    first, second = df.iloc[0], df.iloc[1]
    assert first["Phone"] == "0123" and first["Day"] == dt.date(2024, 2, 29)
    assert first["Stamp"] == dt.datetime(2024, 1, 2, 3, 4, 5)
    assert first["Flag"] is True and second["Flag"] is False
    assert first["Formula"] is None                       # error cell → NA
    assert type(second["Score"]) is int and second["Score"] == 3
    assert type(second["Ratio"]) is float                 # too big to be an exact int
    assert second["Name"] == "  x " and second["Phone"] is None
    assert all(df[c].dtype == object for c in table.columns)


def test_1904_date_system(tmp_path: Path) -> None:
    day, stamp = dt.date(2024, 2, 29), dt.datetime(1999, 12, 31, 23, 59)
    path = workbook(tmp_path, [["Day", "Stamp"], [day, stamp]], epoch=CALENDAR_MAC_1904)
    with zipfile.ZipFile(path) as archive:
        assert b"date1904" in archive.read("xl/workbook.xml")
        sheet_xml = archive.read("xl/worksheets/sheet1.xml")
    assert b"<v>43889</v>" in sheet_xml                   # 1904 serial (1900 would be 45351)
    _, df = read_all(path)
    assert df.iloc[0]["Day"] == day and df.iloc[0]["Stamp"] == stamp


def test_sheet_selection(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    book.active.title = "Hidden"
    book.active.sheet_state = "hidden"
    book.active.append(["H"])
    for name in ("Leads", "Other"):
        sheet = book.create_sheet(name)
        sheet.append([f"{name} col"])
        sheet.append(["v"])
    path = tmp_path / "s.xlsx"
    book.save(path)
    assert open_table(path).sheet == "Leads"              # first visible worksheet
    assert open_table(path, sheet="other").columns == ["Other col"]
    assert open_table(path, sheet=0).sheet == "Hidden"
    with pytest.raises(InputError, match="no sheet 'Nope'; the workbook has: 'Hidden', "
                                         "'Leads', 'Other'"):
        open_table(path, sheet="Nope")
    with pytest.raises(InputError, match="no sheet 7"):
        open_table(path, sheet=7)


def test_xlsx_offset_header_and_value_without_header(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet["C3"], sheet["D3"] = "Name", "Zip"
    sheet["C4"], sheet["D4"] = "Ann", "007"
    sheet["C6"], sheet["E6"] = "Bob", "stray"
    path = tmp_path / "o.xlsx"
    book.save(path)
    table = open_table(path)
    assert table.header_row == 3 and table.columns == ["Name", "Zip"]
    with pytest.raises(InputError, match=r"row 6: column E has a value \('stray'\)"):
        list(table.frames())


def test_empty_sheet_and_results_header(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="the sheet is empty"):
        open_table(workbook(tmp_path, []))
    table = open_table(workbook(tmp_path, [["A", "_row"], ["x", 7]], name="r.xlsx"))
    assert table.columns == ["A"]                 # a results column is not input
    df = next(iter(table.frames()))
    assert df["_row"].tolist() == [2] and df["A"].tolist() == ["x"]


def test_xlsx_chunks(tmp_path: Path) -> None:
    rows: list[list[object]] = [["n"]] + [[i] for i in range(23)]
    table = open_table(workbook(tmp_path, rows), chunk_rows=5)
    frames = list(table.frames())
    assert [len(f) for f in frames] == [5, 5, 5, 5, 3]
    assert pd.concat(list(table.frames())).equals(pd.concat(frames))   # re-iterable
    df = pd.concat(frames)
    assert df["n"].tolist() == list(range(23)) and df.index.tolist() == list(range(23))
    assert df["_row"].tolist() == list(range(2, 25))


def test_column_letters() -> None:
    assert [column_letter(i) for i in (0, 25, 26, 27, 701, 702)] == [
        "A", "Z", "AA", "AB", "ZZ", "AAA"]


@pytest.mark.parametrize("excel", [False, True])
def test_a_results_file_reads_back_without_its_result_columns(tmp_path: Path, excel: bool) -> None:
    from concord_etl.output.results import ResultsWriter

    path = tmp_path / ("leads.results.xlsx" if excel else "leads.results.csv")
    writer = ResultsWriter(path, ["Name", "E-mail"], excel=excel)
    writer.add(2, "created", 11, [], ["Ada", "ada@example.com"])
    writer.add(3, "rejected", None, ["E-mail: not an e-mail"], ["Bob", "bob@"])
    writer.close()
    table = open_table(path)
    assert table.columns == ["Name", "E-mail"]
    df = pd.concat(list(table.frames()))
    # the earlier outcome travels along (hidden) so a re-import never creates a row twice
    kept = ["__results___action", "__results___concord_id"]
    assert sorted(df.columns) == sorted(["Name", "E-mail", "_row", *kept])
    assert df[kept[0]].tolist() == ["created", "rejected"]
    assert df["Name"].tolist() == ["Ada", "Bob"]
    assert df["_row"].tolist() == [2, 3]          # lines of the results file itself


def test_a_workbook_without_leading_apostrophes_skips_the_unguard_pass(tmp_path: Path) -> None:
    import openpyxl

    plain, guarded = tmp_path / "plain.xlsx", tmp_path / "guarded.xlsx"
    for path, text in ((plain, "Ada"), (guarded, "'=SUM(A1)")):
        book = openpyxl.Workbook()
        sheet = book.active
        sheet.append(["Name", "Phone"])
        sheet.append([text, "0123"])
        book.save(path)
    assert open_table(plain).quotes is False
    table = open_table(guarded)
    assert table.quotes is True
    frame = next(iter(table.frames()))
    assert frame["Name"].tolist() == ["=SUM(A1)"] and frame["Phone"].tolist() == ["0123"]


@pytest.mark.parametrize(("xml", "quoted"), [
    (b"<t>'=SUM(A1)</t>", True),
    (b"<t>&apos;=SUM(A1)</t>", True),
    (b"<t>&#39;=SUM(A1)</t>", True),
    (b"<t>O'Brien &amp; Sons</t>", False),      # an apostrophe inside the text is not a guard
    (b"<?xml version='1.0'?><t>Ada</t>", False),
    (b"<t>&amp;'x</t>", False),
])
def test_the_sheet_scan_finds_text_that_starts_with_an_apostrophe(xml: bytes, quoted: bool) -> None:
    from concord_etl.read.workbook_scan import _starts_with_quote

    assert _starts_with_quote(xml) is quoted


def test_spreadsheet_numbers_read_as_the_user_sees_them(tmp_path: Path) -> None:
    import openpyxl

    path = tmp_path / "prices.xlsx"
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Price", "Qty"])
    for price, qty in ((731.9399999999999, 3.0), (0.1 + 0.2, 2.5), (957.5775, 1e20)):
        sheet.append([price, qty])
    book.save(path)
    df = pd.concat(list(open_table(path).frames()))
    assert df["Price"].tolist() == [731.94, 0.3, 957.5775]     # 15 significant digits, as shown
    assert df["Qty"].tolist() == [3, 2.5, 1e20]
