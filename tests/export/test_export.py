"""`concord-etl export`: typed, readable workbooks and CSV, round trip, --since, errors."""

from __future__ import annotations

import csv
import datetime as dt
import shutil
import subprocess
import time
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from concord_etl.crm.client import ConcordClient
from concord_etl.crm.pages import parse_since
from concord_etl.errors import ConfigError
from concord_etl.export.exporter import ExportOptions, export_resource, output_format, public_url
from concord_etl.mapping import load_mapping
from tests.helpers import MAPPINGS, TOKEN, last_json, request_log, run_cli, writes

HOSTILE = ['=HYPERLINK("http://x","y")', "@SUM(1)"]


def client_of(sandbox: Any) -> ConcordClient:
    return ConcordClient(sandbox.url, TOKEN)


def add_contacts(client: ConcordClient, count: int, prefix: str = "bulk") -> list[int]:
    return [client.create("contacts", {"first_name": f"{prefix}{i}", "last_name": "Person",
                                       "email": f"{prefix}{i}@example.net"})["id"]
            for i in range(count)]


def sheet_rows(path: Path, sheet: str | int = 0) -> list[dict[str, Any]]:
    wb = openpyxl.load_workbook(path)
    ws = wb.worksheets[sheet] if isinstance(sheet, int) else wb[sheet]
    rows = list(ws.iter_rows(values_only=True))
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


def list_requests(url: str, resource: str) -> list[dict[str, Any]]:
    return [e for e in request_log(url)
            if e["method"] == "GET" and e["path"] == f"/api/{resource}"]


@pytest.fixture
def hostile(sandbox: Any) -> Any:
    """The demo sandbox plus contacts whose names a spreadsheet would run as formulas."""
    client = client_of(sandbox)
    for i, name in enumerate(HOSTILE):
        client.create("contacts", {"first_name": name, "last_name": "Hostile",
                                   "email": f"hostile{i}@example.net"})
    client.create("contacts", {"first_name": 'Quote "Q", comma', "last_name": "Line\nBreak",
                               "email": "quoted@example.net"})
    return sandbox


# -- workbook ----------------------------------------------------------------------------------


def test_workbook_cells_are_typed_labelled_and_safe(hostile: Any, tmp_path: Path) -> None:
    out = tmp_path / "contacts.xlsx"
    result = run_cli(["export", "contacts", "-o", str(out), "--json"], url=hostile.url,
                     token=TOKEN)
    assert result.returncode == 0, result.stderr
    assert last_json(result.stdout)["records"] == 10  # 7 live demo contacts + 3 created

    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["Contacts", "Run info"]
    ws = wb["Contacts"]
    header = [c.value for c in ws[1]]
    assert header[0] == "ID" and "Customer Tier" in header and "Updated At" in header
    assert all(c.font.bold for c in ws[1])
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == f"A1:{ws.cell(1, len(header)).column_letter}{ws.max_row}"
    assert all((ws.column_dimensions[c.column_letter].width or 0) >= 8 for c in ws[1])

    rows = {r["E-Mail Address"]: r for r in sheet_rows(out)}
    ada = rows["ada@example.com"]
    assert ada["Customer Tier"] == "Gold"                    # option id -> label
    assert ada["Interests"] == "Analytics, Reporting"         # multi labels joined
    assert ada["Owner"] == "Sam Seller"                       # user_id -> name
    assert ada["Source"] == "Referrals"
    assert ada["Country"] == "United Kingdom"
    assert ada["Companies"] == "Acme Ltd"                     # association -> names
    assert ada["Phone"] == "+441234567890"
    assert ada["Signup Date"] == dt.datetime(2024, 1, 15)     # a real date cell
    assert isinstance(ada["Lead Score"], int) and ada["Lead Score"] == 85
    assert isinstance(ada["Budget"], float) and ada["Budget"] == 12000.5
    assert ada["Newsletter"] is True
    assert isinstance(ada["ID"], int)

    date_col = header.index("Signup Date")
    assert ws.cell(2, date_col + 1).number_format == "yyyy-mm-dd"

    # No formula anywhere: hostile text is a literal, neutralised string.
    for row in ws.iter_rows():
        for cell in row:
            assert cell.data_type != "f", cell.coordinate
    firsts = {r["First Name"] for r in rows.values()}
    assert "'" + HOSTILE[0] in firsts and "'" + HOSTILE[1] in firsts
    with zipfile.ZipFile(out) as zf:
        sheet_xml = zf.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet_xml

    info = dict(openpyxl.load_workbook(out)["Run info"].iter_rows(values_only=True))
    assert info["CRM"] == hostile.url and TOKEN not in str(info)
    assert info["Sheet Contacts"] == "contacts: 10 records"
    assert info["Tool"].startswith("concord-etl ")
    assert isinstance(info["Generated at (UTC)"], dt.datetime)


def test_deals_amounts_dates_and_names(sandbox: Any, tmp_path: Path) -> None:
    out = tmp_path / "deals.xlsx"
    summary = export_resource(client_of(sandbox), "deals", out)
    assert summary.records == 4 and summary.format == "xlsx"
    rows = {r["Name"]: r for r in sheet_rows(out)}
    globex = rows["Globex expansion"]
    assert globex["Amount"] == 45000.5
    assert globex["Stage"] == "Presentation Scheduled" and globex["Pipeline"] == "Sales Pipeline"
    assert globex["Products"] == "Core, Analytics"
    assert rows["Acme renewal"]["Expected Close Date"] == dt.datetime(2024, 12, 31)
    assert rows["Northwind partnership"]["Status"] == "lost"


def test_sheets_split_past_the_row_limit(sandbox: Any, tmp_path: Path) -> None:
    out = tmp_path / "split.xlsx"
    summary = export_resource(client_of(sandbox), "contacts", out,
                              ExportOptions(max_rows_per_sheet=4))
    assert summary.sheets == {"Contacts": 3, "Contacts (2)": 3, "Contacts (3)": 1}
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["Contacts", "Contacts (2)", "Contacts (3)", "Run info"]
    assert [c.value for c in wb["Contacts (2)"][1]] == [c.value for c in wb["Contacts"][1]]
    ids = [r["ID"] for name in ("Contacts", "Contacts (2)", "Contacts (3)")
           for r in sheet_rows(out, name)]
    assert ids == sorted(ids) and len(ids) == 7


# -- CSV ---------------------------------------------------------------------------------------


def test_csv_escaping_and_neutralising(hostile: Any, tmp_path: Path) -> None:
    out = tmp_path / "contacts.csv"
    result = run_cli(["export", "contacts", "-o", str(out)], url=hostile.url, token=TOKEN)
    assert result.returncode == 0, result.stderr
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    with open(out, encoding="utf-8-sig", newline="") as fh:
        rows = {r["E-Mail Address"]: r for r in csv.DictReader(fh)}
    assert rows["hostile0@example.net"]["First Name"] == "'" + HOSTILE[0]
    assert rows["hostile1@example.net"]["First Name"] == "'" + HOSTILE[1]
    quoted = rows["quoted@example.net"]
    assert quoted["First Name"] == 'Quote "Q", comma'
    assert quoted["Last Name"] == "Line\nBreak"
    ada = rows["ada@example.com"]
    assert ada["Customer Tier"] == "Gold" and ada["Signup Date"] == "2024-01-15"
    assert ada["Budget"] == "12000.5" and ada["Newsletter"] == "true"
    assert ada["Phone"] == "'+441234567890"  # CSV guards every text starting with +


# -- round trip --------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", ["xlsx", "csv"])
def test_unchanged_export_reimports_with_zero_writes(sandbox: Any, tmp_path: Path,
                                                     suffix: str) -> None:
    mapping = MAPPINGS / "contacts-export.yaml"
    out = tmp_path / f"contacts.{suffix}"
    exported = run_cli(["export", "contacts", "-m", str(mapping), "-o", str(out)],
                       url=sandbox.url, token=TOKEN)
    assert exported.returncode == 0, exported.stderr
    header = next(iter(sheet_rows(out))) if suffix == "xlsx" else None
    if header is not None:
        assert list(header) == [c.column for c in load_mapping(mapping).columns]
    imported = run_cli(["import", str(out), "-m", str(mapping), "--yes", "--json", "--quiet"],
                       url=sandbox.url, token=TOKEN)
    summary = last_json(imported.stdout)
    assert imported.returncode == 0, imported.stderr
    assert summary["unchanged"] == summary["rows"] == 7, summary
    assert writes(sandbox.url) == []


@pytest.mark.parametrize("suffix", ["xlsx", "csv"])
def test_two_phone_columns_share_the_numbers_and_round_trip(sandbox: Any, tmp_path: Path,
                                                            suffix: str) -> None:
    """A lead sheet's Phone 1 / Phone 2 (one phone list in Concord): exported one number per
    column, re-imported as the same two numbers, with no write (the old export repeated the
    joined list in both columns, and its re-import stored "a, b" as one number)."""
    client = client_of(sandbox)
    contact = client.create("contacts", {
        "first_name": "Two", "email": "two.phones@example.com",
        "phones": [{"number": "001-672-799-2170x5610", "type": "mobile"},
                   {"number": "+1-887-577-1205x5686", "type": "mobile"}]})
    mapping = tmp_path / "two-phones.yaml"
    mapping.write_text("""\
version: 1
resource: contacts
match: {on: [email]}
columns:
  First: first_name
  Email: email
  Phone 1: {field: phones, phone_type: mobile}
  Phone 2: {field: phones, phone_type: mobile}
""", encoding="utf-8")
    out = tmp_path / f"two.{suffix}"
    exported = run_cli(["export", "contacts", "-m", str(mapping), "-o", str(out)],
                       url=sandbox.url, token=TOKEN)
    assert exported.returncode == 0, exported.stderr
    if suffix == "xlsx":
        row = next(r for r in sheet_rows(out) if r["Email"] == "two.phones@example.com")
    else:
        with open(out, encoding="utf-8-sig", newline="") as fh:
            row = next(r for r in csv.DictReader(fh) if r["Email"] == "two.phones@example.com")
    assert str(row["Phone 1"]).lstrip("'") == "001-672-799-2170x5610"
    assert str(row["Phone 2"]).lstrip("'") == "+1-887-577-1205x5686"
    imported = run_cli(["import", str(out), "-m", str(mapping), "--json", "--quiet"],
                       url=sandbox.url, token=TOKEN)
    assert imported.returncode == 0, imported.stderr
    assert last_json(imported.stdout)["updated"] == 0
    assert writes(sandbox.url, "contacts") == [w for w in writes(sandbox.url, "contacts")
                                               if w["method"] == "POST"]      # the create only
    phones = client.show("contacts", contact["id"])["phones"]
    assert sorted(p["number"] for p in phones) == ["+1-887-577-1205x5686",
                                                   "001-672-799-2170x5610"]


# -- since, order, pages -----------------------------------------------------------------------


def test_since_stops_early(sandbox: Any, tmp_path: Path) -> None:
    client = client_of(sandbox)
    ids = add_contacts(client, 150)          # 157 contacts: two pages in id order
    time.sleep(1.1)                          # updated_at has whole seconds: separate them
    changed = client.update("contacts", ids[10], {"job_title": "Changed"})
    out = tmp_path / "recent.xlsx"
    result = run_cli(["export", "contacts", "-o", str(out), "--since", changed["updated_at"],
                      "--json"], url=sandbox.url, token=TOKEN)
    assert result.returncode == 0, result.stderr
    rows = sheet_rows(out)
    assert [(r["ID"], r["Job Name"]) for r in rows] == [(ids[10], "Changed")]
    pages = list_requests(sandbox.url, "contacts")
    assert len(pages) == 1                   # newest first, stopped at the first older record
    assert "updated_at" in pages[0]["query"] and "desc" in pages[0]["query"]


def test_since_excludes_older_records(sandbox: Any, tmp_path: Path) -> None:
    out = tmp_path / "none.csv"
    future = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).isoformat()
    result = run_cli(["export", "contacts", "-o", str(out), "--since", future, "--json"],
                     url=sandbox.url, token=TOKEN)
    assert result.returncode == 0, result.stderr
    assert last_json(result.stdout)["records"] == 0
    assert len(list_requests(sandbox.url, "contacts")) == 1   # one page, then stop


def test_pages_are_complete_and_in_id_order(sandbox: Any, tmp_path: Path) -> None:
    add_contacts(client_of(sandbox), 243)
    out = tmp_path / "all.csv"
    summary = export_resource(client_of(sandbox), "contacts", out)
    with open(out, encoding="utf-8-sig", newline="") as fh:
        ids = [int(r["ID"]) for r in csv.DictReader(fh)]
    assert summary.records == len(ids) == 250
    assert ids == sorted(ids) and len(set(ids)) == 250
    pages = list_requests(sandbox.url, "contacts")
    assert len(pages) == 3
    assert all("per_page=100" in p["query"] and "id%7Casc" in p["query"].replace("|", "%7C")
               for p in pages)


def test_query_filters(sandbox: Any, tmp_path: Path) -> None:
    out = tmp_path / "q.csv"
    result = run_cli(["export", "contacts", "-o", str(out), "--query", "ada", "--json"],
                     url=sandbox.url, token=TOKEN)
    assert result.returncode == 0, result.stderr
    with open(out, encoding="utf-8-sig", newline="") as fh:
        emails = [r["E-Mail Address"] for r in csv.DictReader(fh)]
    assert emails == ["ada@example.com"]


# -- errors ------------------------------------------------------------------------------------


def assert_clean_failure(result: subprocess.CompletedProcess[str], code: int) -> None:
    assert result.returncode == code, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    assert TOKEN not in result.stderr + result.stdout


def test_unknown_resource(sandbox: Any, tmp_path: Path) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    out = folder / "x.xlsx"
    result = run_cli(["export", "widgets", "-o", str(out)], url=sandbox.url, token=TOKEN)
    assert_clean_failure(result, 2)
    assert "widgets" in result.stderr and not out.exists()
    with pytest.raises(ConfigError, match="no resource 'widgets'"):
        export_resource(client_of(sandbox), "widgets", out)
    assert list(folder.iterdir()) == []


def test_unwritable_output(sandbox: Any, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    result = run_cli(["export", "contacts", "-o", str(blocker / "out.xlsx")],
                     url=sandbox.url, token=TOKEN)
    assert_clean_failure(result, 2)
    assert "cannot write" in result.stderr
    result = run_cli(["export", "contacts", "-o", str(tmp_path)], url=sandbox.url, token=TOKEN)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert list_requests(sandbox.url, "contacts") == []


def test_unreachable_crm_leaves_no_file(tmp_path: Path) -> None:
    out = tmp_path / "x.xlsx"
    existing = tmp_path / "keep.xlsx"
    existing.write_bytes(b"old")
    port_url = "http://127.0.0.1:9"   # discard port: nothing listens
    result = run_cli(["export", "contacts", "-o", str(out)], url=port_url, token=TOKEN)
    assert_clean_failure(result, 3)
    assert "could not be reached" in result.stderr
    result = run_cli(["export", "contacts", "-o", str(existing)], url=port_url, token=TOKEN)
    assert result.returncode == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.xlsx"]
    assert existing.read_bytes() == b"old"


def test_bad_token_and_bad_since(sandbox: Any, tmp_path: Path) -> None:
    out = tmp_path / "x.xlsx"
    result = run_cli(["export", "contacts", "-o", str(out)], url=sandbox.url, token="wrong")
    assert_clean_failure(result, 3)
    assert "token" in result.stderr and not out.exists()
    result = run_cli(["export", "contacts", "-o", str(out), "--since", "last tuesday"],
                     url=sandbox.url, token=TOKEN)
    assert_clean_failure(result, 2)
    assert "since" in result.stderr


# -- LibreOffice -------------------------------------------------------------------------------


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice is not installed")
def test_libreoffice_opens_the_workbook(hostile: Any, tmp_path: Path) -> None:
    out = tmp_path / "contacts.xlsx"
    export_resource(client_of(hostile), "contacts", out,
                    ExportOptions(mapping=load_mapping(MAPPINGS / "contacts-export.yaml")))
    converted = tmp_path / "converted"
    profile = tmp_path / "lo-profile"
    subprocess.run(
        ["soffice", f"-env:UserInstallation=file://{profile}", "--headless",
         "--convert-to", "csv", "--outdir", str(converted), str(out)],
        check=True, capture_output=True, timeout=180,
    )
    text = (converted / "contacts.csv").read_text(encoding="utf-8", errors="replace")
    assert "ada@example.com" in text and "Gold" in text and "2024-01-15" in text
    assert "'=HYPERLINK" in text     # shown as text, never evaluated to "y"


# -- pure functions ----------------------------------------------------------------------------


def test_parse_since() -> None:
    now = dt.datetime(2024, 5, 10, 12, 0, tzinfo=dt.UTC)
    assert parse_since("7d", now=now) == dt.datetime(2024, 5, 3, 12, 0, tzinfo=dt.UTC)
    assert parse_since("30m", now=now) == dt.datetime(2024, 5, 10, 11, 30, tzinfo=dt.UTC)
    assert parse_since("2024-05-01") == dt.datetime(2024, 5, 1, tzinfo=dt.UTC)
    assert parse_since("2024-05-01T10:00:00.000000Z") == dt.datetime(2024, 5, 1, 10,
                                                                      tzinfo=dt.UTC)
    assert parse_since(None) is None
    with pytest.raises(ConfigError, match="duration"):
        parse_since("yesterday")


def test_output_format_and_public_url() -> None:
    assert output_format(Path("a.xlsx"), None) == "xlsx"
    assert output_format(Path("a.CSV"), None) == "csv"
    assert output_format(Path("a.txt"), "csv") == "csv"
    with pytest.raises(ConfigError):
        output_format(Path("a.xlsx"), "csv")
    with pytest.raises(ConfigError):
        output_format(Path("a.txt"), None)
    assert public_url("https://user:secret@crm.example:8443/base?token=x#f") == \
        "https://crm.example:8443/base"


def test_hostile_names_round_trip_without_writes(hostile: Any, tmp_path: Path) -> None:
    mapping = MAPPINGS / "contacts-export.yaml"
    out = tmp_path / "contacts.xlsx"
    assert run_cli(["export", "contacts", "-m", str(mapping), "-o", str(out)],
                   url=hostile.url, token=TOKEN).returncode == 0
    before = len(writes(hostile.url))
    imported = run_cli(["import", str(out), "-m", str(mapping), "--yes", "--json", "--quiet"],
                       url=hostile.url, token=TOKEN)
    assert len(writes(hostile.url)) == before
    assert last_json(imported.stdout)["unchanged"] == 10
