"""Field types whose cells name one of a known list: options, deal status, time zones, yes/no.

These columns are parsed into categorical columns: each distinct label is looked up once and
the answer spread to the cells. Labels match case-insensitively, ignoring surrounding spaces.

- Select/Radio: one option label → the option id (online) or the canonical label (offline).
- Checkbox/MultiSelect: labels split on the column's ``split`` (default ``,``) → a list.
- An unknown label is refused, although Concord would silently create a new option from it;
  with ``create_options: true`` it is accepted (with a warning naming the option to be created).
- Enum (deal status): one of its choices. Timezone: one of the zone names Concord accepts
  (PHP's list: ``europe/london`` → ``Europe/London``; aliases such as ``US/Eastern`` refused). Boolean: the column's ``true_values``/``false_values`` (default
  ``true, 1, yes, on`` / ``false, 0, no, off``, as Concord reads them).
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from concord_etl.validate.checks import (
    CellCheck,
    FieldType,
    as_category,
    convert_per_value,
    listing,
    per_value,
    quote,
)
from concord_etl.validate.transforms import cell_text

DEFAULT_TRUE = ("true", "1", "yes", "on")
DEFAULT_FALSE = ("false", "0", "no", "off")


def _split(cell: str, sep: str) -> list[str]:
    return [part.strip() for part in cell.split(sep) if part.strip()]


def _dedupe(values: Iterable[object]) -> list[object]:
    return list(dict.fromkeys(values))


class Choices:
    """A label → value table (case-insensitive, trimmed), in display order."""

    def __init__(self, pairs: Iterable[tuple[str, object]]) -> None:
        self.labels: list[str] = []
        self.table: dict[str, object] = {}
        for label, value in pairs:
            self.labels.append(label)
            self.table.setdefault(label.strip().casefold(), value)

    def get(self, label: str) -> tuple[bool, object]:
        key = label.strip().casefold()
        if key in self.table:
            return True, self.table[key]
        return False, None


def option_type(
    name: str,
    pairs: Iterable[tuple[str, object]],
    *,
    multi: bool = False,
    split: str = ",",
    open_ended: bool = False,
    describe: str | None = None,
    value_dtype: str = "object",
) -> FieldType:
    """A label (or, ``multi``, labels) from a known list; ``open_ended`` accepts new labels."""
    choices = Choices(pairs)
    allowed = describe or "one of " + listing(choices.labels)

    def items(cell: str) -> list[str]:
        return _split(cell, split) if multi else [cell.strip()]

    def unknown(cell: str) -> list[str]:
        return [item for item in items(cell) if not choices.get(item)[0]]

    def known(values: list[str]) -> list[bool]:
        return [open_ended or not unknown(v) for v in values]

    def reason(value: Any) -> str:
        bad = unknown(str(value)) or [str(value)]
        if len(bad) == 1:
            return f"{quote(bad[0])} is not {allowed}"
        return f"{listing(quote(b) for b in bad)} are not {allowed}"

    def convert_values(values: list[str]) -> list[object]:
        out: list[object] = []
        for cell in values:
            cell_items = items(cell)
            found = [choices.get(item) for item in cell_items]
            if not open_ended and not all(ok for ok, _ in found):
                out.append(pd.NA)               # refused by the check: no value
                continue
            converted = [value if ok else item for (ok, value), item in zip(found, cell_items,
                                                                              strict=True)]
            if multi:
                out.append(_dedupe(converted) or pd.NA)
            else:
                out.append(converted[0] if converted else pd.NA)
        return out

    checks = [CellCheck("option" if not multi else "options", per_value(known), reason)]
    if open_ended and choices.labels:
        checks.append(CellCheck(
            "new_option", per_value(lambda values: [not unknown(v) for v in values]),
            lambda v: f"{listing(quote(b) for b in unknown(str(v)))} will be created as a new "
                      "option (create_options: true)",
            severity="warning",
        ))
    dtype = "object" if multi or open_ended else value_dtype
    return FieldType(
        name, checks=tuple(checks), parse=as_category,
        convert=convert_per_value(convert_values, dtype), many=multi,
    )


TIMEZONES_FILE = Path(__file__).resolve().parent / "timezones.txt"


@lru_cache(maxsize=1)
def timezone_names() -> tuple[str, ...]:
    """The zone names Concord accepts (``timezones.txt``: PHP's identifier list, plus UTC).

    Not the local tz database: it also knows aliases (``US/Eastern``, ``GMT``) that Concord's
    ``timezone`` rule refuses."""
    lines = TIMEZONES_FILE.read_text(encoding="utf-8").splitlines()
    return tuple(line.strip() for line in lines if line.strip() and not line.startswith("#"))


@lru_cache(maxsize=1)
def timezone_choices() -> tuple[tuple[str, object], ...]:
    return tuple((name, name) for name in timezone_names())


def timezone_type() -> FieldType:
    return option_type(
        "Timezone", timezone_choices(), describe="an IANA time zone such as Europe/London",
        value_dtype="str",
    )


def enum_type(choices: tuple[str, ...]) -> FieldType:
    if not choices:
        return FieldType("Enum", parse=as_category)
    return option_type("Enum", ((c, c) for c in choices), value_dtype="str")


def boolean_type(
    true_values: tuple[str, ...] = DEFAULT_TRUE, false_values: tuple[str, ...] = DEFAULT_FALSE
) -> FieldType:
    table: dict[str, bool] = {v.strip().casefold(): True for v in true_values}
    for value in false_values:
        table.setdefault(value.strip().casefold(), False)

    def judge(values: list[str]) -> list[bool]:
        return [v.strip().casefold() in table for v in values]

    def convert_values(values: list[str]) -> list[object]:
        return [table.get(v.strip().casefold(), pd.NA) for v in values]

    def reason(value: Any) -> str:
        return (
            f"{quote(value)} is not a yes/no value "
            f"(true: {listing(true_values)}; false: {listing(false_values)})"
        )

    def text_of(value: Any) -> str:
        if isinstance(value, (bool, np.bool_)):   # an Excel TRUE/FALSE cell
            return true_values[0] if value else false_values[0]
        return cell_text(value)

    return FieldType(
        "Boolean", checks=(CellCheck("yes_no", per_value(judge), reason),), parse=as_category,
        convert=convert_per_value(convert_values, "boolean"), cell_text=text_of,
    )
