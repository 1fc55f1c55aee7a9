"""Reports written into a template: what the template had stays, the data goes where it should,
the formulas recalculate (checked in LibreOffice, the way a person opens the file)."""

from __future__ import annotations

import csv
import datetime as dt
import re
import shutil
import subprocess
import zipfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from concord_etl.crm.client import ConcordClient
from concord_etl.errors import ConfigError, MappingError
from concord_etl.export.report import load_report, run_report
from concord_etl.output.columns import ColumnDef
from concord_etl.output.xlsx_template import TemplateWorkbookWriter
from tests.helpers import TOKEN, live, run_cli, state
from tests.helpers.templates import BRAND, LOGO_SIZE, TITLE, brand_report, brand_template


def live_deals(url: str) -> list[dict[str, Any]]:
    return live(state(url)["deals"])


@pytest.fixture
def branded(sandbox: Any, tmp_path: Path) -> Path:
    """The brand template's report, run through the CLI; the workbook's path."""
    out = tmp_path / "out" / "weekly.xlsx"
    result = run_cli(["report", str(brand_report(tmp_path, out)), "--json"], url=sandbox.url,
                     token=TOKEN, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    return out


def test_the_template_is_kept_and_the_data_goes_in(branded: Path, sandbox: Any) -> None:
    wb = openpyxl.load_workbook(branded)
    assert wb.sheetnames == ["Cover", "Summary", "Deals", "Contacts by source", "Run info"]
    assert wb.active.title == "Cover"
    cover = wb["Cover"]
    assert cover["A1"].value == TITLE and cover["A1"].font.color.rgb.endswith(BRAND)
    assert len(cover._images) == 1 and cover.sheet_properties.tabColor.rgb.endswith(BRAND)
    summary = wb["Summary"]
    assert [summary[c].value for c in ("B3", "B4", "B5")] == [
        "=SUM(Deals!B:B)", "=COUNTA(Deals!A:A)-1", "=SUM(StageTable)"]
    assert wb.calculation.fullCalcOnLoad is True
    deals = wb["Deals"]
    rows = list(deals.iter_rows(values_only=True))
    assert rows[0] == ("Deal", "Amount", "Close Date")
    names = {r[0] for r in rows[1:]}
    assert "stale sample" not in names and len(rows) - 1 == len(live_deals(sandbox.url))
    assert deals["A1"].fill.fgColor.rgb.endswith(BRAND)          # the template's header style
    assert deals.column_dimensions["A"].width == 42               # the template's width
    assert deals.freeze_panes == "A2" and deals.auto_filter.ref == f"A1:C{len(rows)}"
    assert all(isinstance(r[1], float | int) for r in rows[1:] if r[1] is not None)
    assert any(isinstance(r[2], dt.datetime) and deals.cell(i + 2, 3).number_format ==
               "yyyy-mm-dd" for i, r in enumerate(rows[1:]))
    table = wb.defined_names["StageTable"].attr_text
    stages = re.fullmatch(r"'Summary'!\$A\$8:\$B\$(\d+)", table)
    assert stages is not None
    filled = list(summary.iter_rows(min_row=8, max_row=int(stages.group(1)), values_only=True))
    assert "placeholder" not in {r[0] for r in filled}
    assert sum(r[1] for r in filled) == pytest.approx(sum(float(r[1]) for r in rows[1:] if r[1]))
    assert len(wb["Contacts by source"]._charts) == 1
    assert dict(wb["Run info"].iter_rows(values_only=True))["Tool"].startswith("concord-etl")


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice is not installed")
def test_libreoffice_shows_cover_logo_and_the_total(branded: Path, sandbox: Any, tmp_path: Path
                                                    ) -> None:
    converted, profile = tmp_path / "converted", tmp_path / "lo-profile"
    every_sheet = "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1"
    for target in (every_sheet, "pdf"):
        subprocess.run(["soffice", f"-env:UserInstallation=file://{profile}", "--headless",
                        "--convert-to", target, "--outdir", str(converted), str(branded)],
                       check=True, capture_output=True, timeout=180)
    cover = (converted / "weekly-Cover.csv").read_text(encoding="utf-8")
    assert TITLE in cover
    with open(converted / "weekly-Summary.csv", encoding="utf-8", newline="") as fh:
        values = {row[0]: row[-1] for row in csv.reader(fh) if row}
    total = sum(float(d["amount"] or 0) for d in live_deals(sandbox.url))
    assert float(values["Total deal amount"]) == pytest.approx(total)      # formula recalculated
    assert float(values["Amount by stage, total"]) == pytest.approx(total)  # the name moved
    assert int(values["Deals"]) == len(live_deals(sandbox.url))
    deals = (converted / "weekly-Deals.csv").read_text(encoding="utf-8")
    assert "stale sample" not in deals and re.search(r",\d{4}-\d\d-\d\d\b", deals)
    pdf = (converted / "weekly.pdf").read_bytes()
    width, height = LOGO_SIZE
    assert re.search(rb"/Subtype\s*/Image\s*/Width\s+%d\s*/Height\s+%d" % (width, height), pdf)


def test_template_mistakes_are_found_before_any_request(tmp_path: Path) -> None:
    report = brand_report(tmp_path, tmp_path / "out.xlsx")
    text = report.read_text(encoding="utf-8")

    def error_of(body: str) -> str:
        report.write_text(body, encoding="utf-8")
        with pytest.raises(MappingError) as caught:
            load_report(report)
        return str(caught.value)

    assert "StageTabel" in error_of(text.replace("target: StageTable", "target: StageTabel"))
    assert "its names: StageTable" in error_of(text.replace("StageTable", "Nope"))
    assert "template not found" in error_of(text.replace("brand.xlsx", "missing.xlsx"))
    (tmp_path / "not-a-workbook.xlsx").write_text("hello", encoding="utf-8")
    assert "cannot read the template" in error_of(text.replace("brand.xlsx", "not-a-workbook.xlsx"))
    assert "macros" in error_of(text.replace("brand.xlsx", "brand.xlsm"))
    assert "add template:" in error_of(text.replace("template: brand.xlsx\n", ""))


def test_the_output_may_not_be_the_template(sandbox: Any, tmp_path: Path) -> None:
    report = load_report(brand_report(tmp_path, tmp_path / "brand.xlsx"))
    before = (tmp_path / "brand.xlsx").read_bytes()
    with pytest.raises(MappingError, match="the template itself"):
        run_report(ConcordClient(sandbox.url, TOKEN), report)
    assert (tmp_path / "brand.xlsx").read_bytes() == before


def test_formula_looking_text_stays_text(sandbox: Any, tmp_path: Path) -> None:
    client = ConcordClient(sandbox.url, TOKEN)
    client.create("deals", {"name": "=HYPERLINK(\"http://evil.example\",\"y\")", "amount": 1,
                            "pipeline_id": 1, "stage_id": 1})
    out = tmp_path / "out.xlsx"
    run_report(client, load_report(brand_report(tmp_path, out)))
    cells = [c for (c,) in openpyxl.load_workbook(out)["Deals"].iter_rows(min_col=1, max_col=1)]
    evil = [c for c in cells if "HYPERLINK" in str(c.value)]
    assert len(evil) == 1 and evil[0].data_type == "s" and evil[0].value.startswith("'=")


# -- the writer ------------------------------------------------------------------------------


def test_cells_are_typed_and_sheets_split(tmp_path: Path) -> None:
    template = brand_template(tmp_path / "brand.xlsx")
    out = tmp_path / "out.xlsx"
    columns = [ColumnDef("Text"), ColumnDef("Number", "number"), ColumnDef("When", "datetime"),
               ColumnDef("Day", "date"), ColumnDef("Flag", "bool"), ColumnDef("Any")]
    aware = dt.datetime(2024, 5, 1, 12, 30, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    rows = [["a & <b>", 1.5, aware, dt.date(2024, 5, 2), True, Decimal("2.25")],
            ["ctl\x01char", float("nan"), None, None, False, ["x", "y"]],
            ["", 7, dt.datetime(2024, 5, 3), dt.date(2024, 5, 4), None, "_x0041_ literal"]]
    with TemplateWorkbookWriter(out, template, max_rows_per_sheet=3) as book:
        stats = book.add_sheet("Data", columns, rows)
        empty = book.add_sheet("Empty", columns, [])
    assert stats.sheets == ["Data", "Data (2)"] and stats.rows == 3 and empty.rows == 0
    wb = openpyxl.load_workbook(out)
    first = list(wb["Data"].iter_rows(values_only=True))
    assert first[1] == ("a & <b>", 1.5, dt.datetime(2024, 5, 1, 10, 30),
                        dt.datetime(2024, 5, 2), True, 2.25)
    assert first[2][1:] == (None, None, None, False, "x, y")
    second = list(wb["Data (2)"].iter_rows(values_only=True))
    assert second[0] == first[0] and second[1][0] is None and second[1][1] == 7
    assert list(wb["Empty"].iter_rows(values_only=True)) == [first[0]]
    with zipfile.ZipFile(out) as package:     # Excel's own escapes, as xlsxwriter writes them
        xml = "".join(package.read(n).decode() for n in package.namelist()
                      if n.startswith("xl/worksheets/"))
    assert ">ctl_x0001_char<" in xml and ">_x005F_x0041_ literal<" in xml
    assert wb.sheetnames[:3] == ["Cover", "Summary", "Deals"]


def test_a_failed_run_leaves_the_old_report(tmp_path: Path) -> None:
    template = brand_template(tmp_path / "brand.xlsx")
    out = tmp_path / "out.xlsx"
    out.write_bytes(b"previous report")

    def rows() -> Any:
        yield ["one"]
        raise RuntimeError("the CRM went away")

    with pytest.raises(RuntimeError), TemplateWorkbookWriter(out, template) as book:
        book.add_sheet("Data", [ColumnDef("Text")], rows())
    assert out.read_bytes() == b"previous report"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["brand.xlsx", "out.xlsx"]


def test_a_1904_template_gets_1904_dates(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    wb.epoch = openpyxl.utils.datetime.CALENDAR_MAC_1904
    wb.save(tmp_path / "mac.xlsx")
    out = tmp_path / "out.xlsx"
    with TemplateWorkbookWriter(out, tmp_path / "mac.xlsx") as book:
        book.add_sheet("Data", [ColumnDef("Day", "date")], [[dt.date(2024, 5, 2)]])
    with zipfile.ZipFile(out) as package:
        names = [n for n in package.namelist() if n.startswith("xl/worksheets/")]
        xml = "".join(package.read(n).decode() for n in names)
    assert "<v>43952.0</v>" in xml          # 2024-05-02 counted from 1904-01-01
    assert openpyxl.load_workbook(out)["Data"]["A2"].value == dt.datetime(2024, 5, 2)


def test_a_template_that_is_not_a_workbook(tmp_path: Path) -> None:
    (tmp_path / "t.xlsx").write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(ConfigError, match="cannot read the template"), \
            TemplateWorkbookWriter(tmp_path / "o.xlsx", tmp_path / "t.xlsx"):
        pass
