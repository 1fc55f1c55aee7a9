"""Streamed worksheet XML: cell types, escapes, the formula guard, dates in both epochs."""

from __future__ import annotations

import datetime as dt

import pytest

from concord_etl.output.sheet_xml import (
    EPOCH_1904,
    CellStyleIds,
    column_letter,
    excel_serial,
    row_xml,
    text_xml,
)

STYLES = CellStyleIds(columns=(0, 7, 3), date=3, datetime=4)


@pytest.mark.parametrize(("index", "letters"), [(0, "A"), (25, "Z"), (26, "AA"), (701, "ZZ"),
                                                (702, "AAA"), (16383, "XFD")])
def test_column_letter(index: int, letters: str) -> None:
    assert column_letter(index) == letters


def test_excel_serial() -> None:
    assert excel_serial(dt.date(1900, 3, 1)) == 61.0
    assert excel_serial(dt.datetime(2024, 1, 1, 12)) == 45292.5
    assert excel_serial(dt.datetime(2024, 1, 1, 14, tzinfo=dt.timezone(dt.timedelta(hours=2)))
                        ) == 45292.5
    assert excel_serial(dt.date(2024, 1, 1), EPOCH_1904) == 45292 - 1462


def test_text_is_guarded_escaped_and_cut() -> None:
    assert text_xml("=1+1") == "'=1+1"
    assert text_xml("+44 20 7946 0958") == "+44 20 7946 0958"
    assert text_xml('a<b> & "c"') == "a&lt;b&gt; &amp; &quot;c&quot;"
    assert text_xml("bell\x07 and\rcr") == "bell_x0007_ and_x000D_cr"
    assert text_xml("_x0041_") == "_x005F_x0041_"
    assert len(text_xml("x" * 40_000)) == 32_767


def test_row_cells_by_type() -> None:
    xml = row_xml(5, ["t", 1.5, dt.date(2024, 1, 1)], ["A", "B", "C"], STYLES)
    assert xml == ('<row r="5"><c r="A5" t="inlineStr"><is><t xml:space="preserve">t</t></is>'
                   '</c><c r="B5" s="7"><v>1.5</v></c><c r="C5" s="3"><v>45292.0</v></c></row>')
    empty = row_xml(2, [None, float("nan"), ""], ["A", "B", "C"], STYLES)
    assert empty == '<row r="2"></row>'
    other = row_xml(3, [True, dt.datetime(2024, 1, 1, 6), dt.datetime(2024, 1, 1)],
                    ["A", "B", "C"], STYLES)
    assert '<c r="A3" t="b"><v>1</v></c>' in other
    assert '<c r="B3" s="4"><v>45292.25</v></c>' in other     # a time: the datetime style
    assert '<c r="C3" s="3"><v>45292.0</v></c>' in other      # the column's own date style
