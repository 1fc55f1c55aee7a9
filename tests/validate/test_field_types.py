"""Every logical field type has a pandera field type; offline and online typing agree; the
time zones accepted are exactly Concord's."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import pytest

from concord_etl.crm.client import ConcordClient
from concord_etl.crm.fields import FieldSpec
from concord_etl.mapping.loader import mapping_from_dict
from concord_etl.mapping.model import FIELD_TYPES, RESOURCES, ColumnSpec, basic_type
from concord_etl.validate.checks import FieldType
from concord_etl.validate.choice_types import timezone_names
from concord_etl.validate.schema import build_validator, fields_from_mapping, rule_for
from tests.helpers import REPO, TOKEN


@pytest.mark.parametrize("ftype", FIELD_TYPES)
def test_every_logical_type_has_a_field_type(ftype: str) -> None:
    spec = FieldSpec("x", "X", ftype, choices=("open", "won") if ftype == "Enum" else ())
    for online in (False, True):
        kind = rule_for(ColumnSpec("Column", "x"), spec, online=online)
        assert isinstance(kind, FieldType)
        # the type itself, or the basic type it behaves like; never the generic text fallback
        assert kind.name == basic_type(ftype)


def cells(kind: FieldType, values: list[Any]) -> tuple[list[bool], list[Any]]:
    """(passes every error check, converted value) per cell."""
    text = pd.Series([kind.cell_text(v) for v in values], dtype="str")
    parsed = kind.parse(text) if kind.parse is not None else text
    ok = pd.Series(True, index=parsed.index)
    for check in kind.checks:
        if check.severity == "error":
            ok &= check.test(parsed).fillna(True).astype(bool)
    converted = kind.convert(parsed).astype(object)
    return ok.tolist(), [None if pd.isna(v) else v for v in converted.tolist()]


def test_logical_types_are_judged_like_their_basic_type() -> None:
    column = ColumnSpec("Column", "x")
    domain = rule_for(column, FieldSpec("domain", "Domain", "Domain"), online=True)
    assert cells(domain, ["acme.example", "x" * 192])[0] == [True, False]
    reminder = rule_for(column, FieldSpec("reminder_minutes_before", "R", "Reminder"), online=True)
    assert cells(reminder, ["30", "half an hour"]) == ([True, False], [30, None])
    editor = rule_for(column, FieldSpec("description", "D", "Editor"), online=True)
    assert cells(editor, ["<p>" + "long " * 100 + "</p>"])[0] == [True]


def test_an_activity_date_is_all_day_without_a_time_and_utc_with_one() -> None:
    kind = rule_for(ColumnSpec("Due", "due_date"), FieldSpec("due_date", "Due", "DateOrDateTime"),
                    online=True)
    ok, values = cells(kind, ["2024-06-03", "2024-06-03 14:30", "2024-06-03T14:30+02:00",
                              "31/02/2024", "tomorrow"])
    assert ok == [True, True, True, False, False]
    assert values[:3] == ["2024-06-03", "2024-06-03T14:30:00Z", "2024-06-03T12:30:00Z"]


def test_timezones_are_concords_list_not_the_local_tz_database() -> None:
    kind = rule_for(ColumnSpec("TZ", "cf_tz"), FieldSpec("cf_tz", "TZ", "Timezone"), online=True)
    ok, values = cells(kind, ["Europe/London", "europe/london", "UTC", "US/Eastern", "GMT",
                              "Mars/Olympus"])
    assert ok == [True, True, True, False, False, False]
    assert values[:3] == ["Europe/London", "Europe/London", "UTC"]


def test_the_client_knows_the_same_time_zones_as_the_sandbox() -> None:
    seeds = REPO / "concord_etl" / "sandbox" / "seeds" / "timezones.json"
    assert timezone_names() == tuple(json.loads(seeds.read_text(encoding="utf-8")))
    assert len(timezone_names()) == 419


@pytest.mark.parametrize("resource", RESOURCES)
def test_offline_and_online_typing_agree(sandbox: Any, resource: str) -> None:
    """A mapping naming Concord's built-in fields without ``type:`` is judged offline exactly
    as online (same field types, same related resources)."""
    client = ConcordClient(sandbox.url, TOKEN, allow_insecure_http=True)
    online = client.resource_fields(resource)
    names = [f.attribute for f in online if not f.custom and f.attribute != "id"]
    columns = {f"Column {name}": {"field": name, "required": False} for name in names}
    mapping = mapping_from_dict({"version": 1, "resource": resource, "columns": columns})
    offline = fields_from_mapping(mapping)
    kinds_online = {f.field.attribute: f.kind.name for f in build_validator(mapping, online).feeds}
    kinds_offline = {f.field.attribute: f.kind.name
                     for f in build_validator(mapping, offline).feeds}
    assert kinds_offline == kinds_online
    related = {n: online.get(n).related for n in names}  # type: ignore[union-attr]
    assert {n: offline.get(n).related for n in names} == related  # type: ignore[union-attr]
