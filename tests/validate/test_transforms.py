"""Vectorised cell transforms (pure functions)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from concord_etl.mapping.model import TRANSFORMS as MODEL_TRANSFORMS
from concord_etl.validate.key_types import split_keys
from concord_etl.validate.transforms import (
    TRANSFORMS,
    apply_transforms,
    as_text,
    blank_to_na,
    cell_text,
    regex_mask,
)


def text(*cells: object) -> pd.Series:
    return pd.Series(list(cells), dtype="str")


def test_transform_names_match_the_mapping_model() -> None:
    assert set(TRANSFORMS) == set(MODEL_TRANSFORMS)


@pytest.mark.parametrize(
    ("names", "cell", "expected"),
    [
        (["strip"], "  Ada  ", "Ada"),
        (["lower"], "ADA@Example.COM", "ada@example.com"),
        (["upper"], "gb", "GB"),
        (["title"], "ada lovelace", "Ada Lovelace"),
        (["collapse_spaces"], "Ada \t  Lovelace", "Ada Lovelace"),
        (["digits"], "+44 (0)20-7946.0000", "4402079460000"),
        (["strip", "lower"], "  BOB@X.COM ", "bob@x.com"),
    ],
)
def test_each_transform(names: list[str], cell: str, expected: str) -> None:
    assert apply_transforms(text(cell, None), names).tolist()[0] == expected


def test_transforms_keep_na() -> None:
    out = apply_transforms(text(None, " a "), ["strip", "upper"])
    assert pd.isna(out.iloc[0]) and out.iloc[1] == "A"


def test_transforms_leave_typed_excel_cells_alone() -> None:
    day = dt.datetime(2024, 5, 1)
    mixed = pd.Series([" X ", 12, day, None], dtype=object)
    out = apply_transforms(mixed, ["strip", "lower"])
    assert out.tolist()[:3] == ["x", 12, day]
    assert pd.isna(out.iloc[3])


def test_unknown_transform_is_a_key_error() -> None:
    with pytest.raises(KeyError):
        apply_transforms(text("a"), ["reverse"])


def test_blank_and_whitespace_cells_become_na() -> None:
    out = blank_to_na(text("", "   ", "a", None))
    assert out.isna().tolist() == [True, True, False, True]
    mixed = blank_to_na(pd.Series([" ", 0, "b"], dtype=object))
    assert mixed.isna().tolist() == [True, False, False]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (12, "12"),
        (1200.0, "1200"),
        (0.5, "0.5"),
        (True, "true"),
        (dt.datetime(2024, 5, 1), "2024-05-01"),
        (dt.datetime(2024, 5, 1, 9, 30), "2024-05-01 09:30:00"),
        (dt.date(2024, 5, 1), "2024-05-01"),
        ("07700", "07700"),
    ],
)
def test_cell_text_of_typed_cells(value: object, expected: str) -> None:
    assert cell_text(value) == expected


def test_as_text_turns_excel_cells_into_str_dtype() -> None:
    out = as_text(pd.Series([7700900123.0, "x", None], dtype=object))
    assert isinstance(out.dtype, pd.StringDtype)
    assert out.tolist()[:2] == ["7700900123", "x"] and pd.isna(out.iloc[2])


def test_split_keys_trims_drops_empties_and_duplicates() -> None:
    assert split_keys("Analytics; Support;;Analytics", ";") == ["Analytics", "Support"]
    assert split_keys(" ; ", ";") == []
    assert split_keys(" Acme, Inc. ", None) == ["Acme, Inc."]


def test_drop_extension_keeps_the_number() -> None:
    cells = text("001-672-799-2170x5610", "+1 555 0100 ext. 12", "555-0100 #77",
                 "(555) 123-4567", None)
    assert apply_transforms(cells, ["drop_extension"]).tolist()[:4] == [
        "001-672-799-2170", "+1 555 0100", "555-0100", "(555) 123-4567"]


def test_regex_mask_matches_whole_cells_and_na_is_false() -> None:
    assert regex_mask(text("ab", "abc", None), "ab").tolist() == [True, False, False]
    assert regex_mask(text("abc"), "ab", full=False).tolist() == [True]
    objects = pd.Series(["ab", None], dtype=object)
    assert regex_mask(objects, "ab").tolist() == [True, False]
