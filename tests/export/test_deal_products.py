"""The "Products" sheet of a report: every deal's line items, one row per line."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from concord_etl.errors import MappingError
from concord_etl.export.report import load_report
from tests.helpers import MAPPINGS, SAMPLE_DATA, TOKEN, last_json, run_cli

REPORT = """\
version: 1
output: "{out}"
sheets:
  - {{name: Deals, resource: deals}}
  - {{resource: deal-products}}
"""


def test_the_products_sheet_lists_the_lines_the_import_wrote(sandbox: Any, tmp_path: Path) -> None:
    data = Path(shutil.copy(SAMPLE_DATA / "trade-fair-leads.csv", tmp_path))
    imported = run_cli(["import", str(data), "-m", str(MAPPINGS / "trade-fair.yaml")],
                       url=sandbox.url, token=TOKEN)
    assert imported.returncode == 0, imported.stderr
    out = tmp_path / "report.xlsx"
    report = tmp_path / "report.yaml"
    report.write_text(REPORT.format(out=out), encoding="utf-8")
    result = run_cli(["report", str(report), "--json", "--full"], url=sandbox.url, token=TOKEN)
    assert result.returncode == 0, result.stderr
    assert last_json(result.stdout)["sheets"]["Products"] == 5
    sheet = openpyxl.load_workbook(out, read_only=True)["Products"]
    rows = list(sheet.iter_rows(values_only=True))
    header = list(rows[0])
    assert header[:5] == ["Deal ID", "Deal", "Product", "SKU", "Quantity"]
    lines = {(r[1], r[3]): r for r in rows[1:]}
    assert set(lines) == {("Brightwave fleet CRM", "CC-SEAT"), ("Brightwave fleet CRM", "ONB-1"),
                          ("Northwind expansion", "SUP-PREM"),
                          ("Kestrel analytics rollout", "CC-SEAT"),
                          ("Kestrel analytics rollout", "ANA-ADD")}
    seats = lines[("Brightwave fleet CRM", "CC-SEAT")]
    assert (seats[4], seats[5], seats[header.index("Discount")]) == (25, 49, 10)
    assert isinstance(seats[0], int)


def test_a_products_sheet_takes_no_mapping(tmp_path: Path) -> None:
    report = tmp_path / "r.yaml"
    report.write_text(
        "version: 1\noutput: r.xlsx\nsheets:\n"
        f"  - {{resource: deal-products, mapping: {MAPPINGS / 'deals.yaml'}}}\n",
        encoding="utf-8")
    with pytest.raises(MappingError, match="fixed columns"):
        load_report(report)
