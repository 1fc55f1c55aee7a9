"""Field types whose cells name related records: BelongsTo, Association and Tags.

Their cells are keys (a name, an e-mail, an id) that ``relations`` turns into ids with
lookups, after the schema ran; here they are only trimmed. A lookup ``by: id`` needs a positive
whole number in each cell. Tags are names Concord creates when new: split into a list here.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from concord_etl.validate.checks import (
    CellCheck,
    FieldType,
    as_category,
    convert_per_value,
    per_value,
    quote,
)


def split_keys(cell: str, sep: str | None) -> list[str]:
    """The keys of one cell: split on ``sep`` when given, trimmed, duplicates dropped."""
    parts = cell.split(sep) if sep else [cell]
    return list(dict.fromkeys(p.strip() for p in parts if p.strip()))


def _ids_check(sep: str | None) -> CellCheck:
    def judge(values: list[str]) -> list[bool]:
        return [all(k.isdigit() and int(k) > 0 for k in split_keys(v, sep)) for v in values]

    def reason(value: Any) -> str:
        bad = [k for k in split_keys(str(value), sep) if not (k.isdigit() and int(k) > 0)]
        return f"{quote(bad[0] if bad else value)} is not a record id (a positive whole number)"

    return CellCheck("record_id", per_value(judge), reason)


def belongs_to_type(*, by_id: bool = False) -> FieldType:
    checks = (_ids_check(None),) if by_id else ()
    return FieldType("BelongsTo", checks=checks, parse=as_category)


def association_type(split: str | None = None, *, by_id: bool = False) -> FieldType:
    checks = (_ids_check(split),) if by_id else ()
    return FieldType("Association", checks=checks, parse=as_category, many=True)


def tags_type(split: str = ",") -> FieldType:
    def convert_values(values: list[str]) -> list[object]:
        return [split_keys(v, split) or pd.NA for v in values]

    return FieldType(
        "Tags", parse=as_category, convert=convert_per_value(convert_values), many=True,
    )

