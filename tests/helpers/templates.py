"""Report templates for the tests and the benchmark, built here (openpyxl + a Pillow logo)
rather than kept as binaries nobody can read.

``brand_template(path)`` is what an office would design for its weekly report:

- **Cover** (the active sheet): a title in the brand colour, a line of text, a logo image
  (a PNG drawn here) and a tab colour;
- **Summary**: ``B3 = SUM(Deals!B:B)`` (the total of the data sheet's Amount column),
  ``B4 = COUNTA(Deals!A:A)-1`` (its row count), ``B5 = SUM(StageTable)``, and the defined name
  ``StageTable`` (``Summary!$A$8:$B$8``, styled, with a placeholder row) for a summary to fill;
- **Deals**: the sheet a report's ``Deals`` sheet replaces: a white-on-brand header in A1 and a
  custom width for column A, plus two stale sample rows that must disappear.
"""

from __future__ import annotations

import io
from pathlib import Path

import openpyxl
from openpyxl.drawing.image import Image
from openpyxl.styles import Font, PatternFill
from openpyxl.workbook.defined_name import DefinedName
from PIL import Image as PILImage
from PIL import ImageDraw

BRAND = "1F4E79"
TITLE = "Weekly CRM report"
LOGO_SIZE = (160, 48)


def logo_png() -> bytes:
    """A small brand logo: a coloured bar with a white square, as PNG bytes."""
    picture = PILImage.new("RGB", LOGO_SIZE, "#" + BRAND)
    draw = ImageDraw.Draw(picture)
    draw.rectangle((8, 8, 40, 40), fill="white")
    draw.rectangle((50, 20, 150, 28), fill="#9DC3E6")
    out = io.BytesIO()
    picture.save(out, format="PNG")
    return out.getvalue()


def brand_template(path: Path) -> Path:
    wb = openpyxl.Workbook()
    cover = wb.active
    assert cover is not None
    cover.title = "Cover"
    cover["A1"] = TITLE
    cover["A1"].font = Font(size=20, bold=True, color=BRAND)
    cover["A3"] = "Prepared automatically by concord-etl every Monday."
    cover.sheet_properties.tabColor = BRAND
    logo = Image(io.BytesIO(logo_png()))
    logo.width, logo.height = LOGO_SIZE
    cover.add_image(logo, "E1")

    summary = wb.create_sheet("Summary")
    summary["A1"] = "Summary"
    summary["A1"].font = Font(size=14, bold=True, color=BRAND)
    summary["A3"], summary["B3"] = "Total deal amount", "=SUM(Deals!B:B)"
    summary["A4"], summary["B4"] = "Deals", "=COUNTA(Deals!A:A)-1"
    summary["A5"], summary["B5"] = "Amount by stage, total", "=SUM(StageTable)"
    summary["A7"], summary["B7"] = "Stage", "Amount"
    for cell in (summary["A7"], summary["B7"]):
        cell.font = Font(bold=True)
    summary["A8"], summary["B8"] = "placeholder", 999
    summary["B8"].number_format = "#,##0.00"
    summary.column_dimensions["A"].width = 28
    wb.defined_names["StageTable"] = DefinedName("StageTable", attr_text="Summary!$A$8:$B$8")

    deals = wb.create_sheet("Deals")
    deals["A1"], deals["B1"] = "Deal", "Amount"
    deals["A1"].font = Font(bold=True, color="FFFFFF")
    deals["A1"].fill = PatternFill("solid", fgColor=BRAND)
    deals.append(["stale sample", 123456])
    deals.append(["another stale row", 654321])
    deals.column_dimensions["A"].width = 42
    wb.active = 0
    wb.save(path)
    return path


DEALS_MAPPING = """\
version: 1
resource: deals
columns:
  Deal: name
  Amount: amount
  Close Date: expected_close_date
"""


def brand_report(folder: Path, output: Path) -> Path:
    """A report into ``brand_template``: the Deals sheet (name, amount, close date), the stage
    table filled at ``StageTable``, and a pie chart sheet appended."""
    brand_template(folder / "brand.xlsx")
    (folder / "deals-amount.yaml").write_text(DEALS_MAPPING, encoding="utf-8")
    report = folder / "branded.yaml"
    report.write_text(
        "version: 1\n"
        f'output: "{output}"\n'
        "template: brand.xlsx\n"
        "sheets:\n"
        "  - {name: Deals, resource: deals, mapping: deals-amount.yaml}\n"
        "summary:\n"
        "  - {title: Amount by stage, resource: deals, group_by: stage_id, value: amount,"
        " target: StageTable}\n"
        "  - {title: Contacts by source, resource: contacts, group_by: source_id, chart: pie}\n",
        encoding="utf-8")
    return report
