"""Pure parts of the revert: before-images, field decisions, the plan's order and merging."""

from __future__ import annotations

from pathlib import Path

from concord_etl.crm.fields import FieldSpec, ResourceFields
from concord_etl.load.before_image import api_value, before_image, cannot_clear
from concord_etl.load.journal import OpRecord
from concord_etl.load.revert_fields import plan_fields, plan_line
from concord_etl.load.revert_output import default_revert_results
from concord_etl.load.revert_plan import RELATED, build_plan

RECORD = {
    "id": 5, "job_title": "CTO", "cf_tier": 3, "cf_tier_empty": None,
    "cf_interests": [{"id": 5, "name": "A"}, {"id": 8, "name": "B"}],
    "phones": [{"id": 2, "number": "+44 1", "type": "work"}],
    "tags": [{"id": 1, "name": "VIP"}], "source_id": 4, "source": {"id": 4, "name": "Web"},
    "cf_signup": "2024-01-15T00:00:00.000000Z", "companies": [{"id": 1}, {"id": 2}],
}


def test_before_values_are_in_the_form_the_api_accepts_back() -> None:
    assert api_value(RECORD, "cf_tier", "Select") == 3
    assert api_value(RECORD, "cf_interests", "MultiSelect") == [5, 8]
    assert api_value(RECORD, "phones", "Phone") == [{"number": "+44 1", "type": "work"}]
    assert api_value(RECORD, "tags", "Tags") == ["VIP"]
    assert api_value(RECORD, "source_id", "BelongsTo") == 4
    assert api_value(RECORD, "cf_signup", "Date") == "2024-01-15"
    assert api_value(RECORD, "companies", "Association") == [1, 2]
    assert api_value({"id": 1}, "companies", "Association") is None  # not loaded: unknown


def test_a_before_image_names_type_before_and_written_value() -> None:
    fields = ResourceFields("contacts", {
        "cf_tier": FieldSpec("cf_tier", "Tier", "Select", custom=True),
        "job_title": FieldSpec("job_title", "Job", "Text")})
    image = before_image({"cf_tier": 2, "job_title": "CEO"}, RECORD, fields)
    assert image == {"v": 1, "fields": {
        "cf_tier": {"type": "Select", "before": 3, "wrote": 2, "custom": True},
        "job_title": {"type": "Text", "before": "CTO", "wrote": "CEO"}}}
    assert not cannot_clear(image["fields"]["cf_tier"])
    assert cannot_clear({"type": "Select", "before": None, "custom": True})


def test_fields_back_where_the_import_left_them_and_conflicts_elsewhere() -> None:
    fields = {
        "job_title": {"type": "Text", "before": "Engineer", "wrote": "CTO"},
        "cf_tier": {"type": "Select", "before": 2, "wrote": 7, "custom": True},
        "cf_tier_empty": {"type": "Select", "before": None, "wrote": 4, "custom": True},
        "tags": {"type": "Tags", "before": [], "wrote": ["VIP"]},
    }
    record = {**RECORD, "cf_tier_empty": 4}
    plan = plan_fields(fields, record, force=False)
    assert plan.body == {"job_title": "Engineer", "tags": []}
    assert plan.conflicts == ["cf_tier: the import wrote 7, the CRM now has 3"]
    assert plan.stuck and plan.stuck[0].startswith("cf_tier_empty: was empty before")
    forced = plan_fields(fields, record, force=True)
    assert forced.body["cf_tier"] == 2 and forced.forced


def test_a_field_already_back_needs_nothing() -> None:
    plan = plan_fields({"job_title": {"type": "Text", "before": "CTO", "wrote": "CEO"}},
                       RECORD, force=False)
    assert plan.body == {} and not plan.conflicts


def test_associations_lose_exactly_what_the_import_attached() -> None:
    # before [1], the import attached 2 (links add, never detach); someone attached 3 since
    record = {**RECORD, "companies": [{"id": 1}, {"id": 2}, {"id": 3}]}
    plan = plan_fields({"companies": {"type": "Association", "before": [1], "wrote": [1, 2]}},
                       record, force=False)
    assert plan.body == {"companies": [1, 3]}
    # an import that replaced the list: what it detached comes back
    plan = plan_fields({"companies": {"type": "Association", "before": [1], "wrote": [2]}},
                       {**RECORD, "companies": [{"id": 2}]}, force=False)
    assert plan.body == {"companies": [1]}


def test_a_line_item_is_set_back_unless_it_changed_since() -> None:
    line = {"before": {"qty": 10, "unit_price": 49}, "wrote": {"qty": 12, "unit_price": 49}}
    payload, conflicts, _ = plan_line(line, {"id": 7, "qty": 12.0, "unit_price": 49.0},
                                      force=False)
    assert payload == {"id": 7, "qty": 10, "unit_price": 49} and not conflicts
    payload, conflicts, _ = plan_line(line, {"id": 7, "qty": 15, "unit_price": 49},
                                      force=False)
    assert payload is None and conflicts == ["qty: the import wrote 12, the CRM now has 15"]
    assert plan_line(line, {"id": 7, "qty": 10, "unit_price": 49}, force=False)[0] is None


def _op(key: str, row: int | None, action: str, concord_id: int | None, *,
        resource: str | None = None, before: dict | None = None, state: str = "done",
        match: dict | None = None) -> OpRecord:
    return OpRecord(key, row, match, None, state, action, concord_id, None, 1, 0.0, resource,
                    before)


def test_the_plan_reverts_in_reverse_dependency_order_with_one_item_per_record() -> None:
    image = {"v": 1, "fields": {"job_title": {"type": "Text", "before": "A", "wrote": "B"}}}
    later = {"v": 1, "fields": {"job_title": {"type": "Text", "before": "B", "wrote": "C"}}}
    ops = [
        _op("row:2:company", 2, "created", 10, resource="companies"),
        _op("row:2:contact", 2, "updated", 20, resource="contacts", before=image),
        _op("row:2:note", 2, "created", 30, resource="notes"),
        _op("row:3:company", 3, "duplicate", 10, resource="companies"),
        _op("row:4:contact", 4, "updated", 20, resource="contacts", before=later),
        _op("create:sources:fairs", None, "created", 3, resource="sources",
            match={"name": "Fairs"}),
    ]
    plan = build_plan(ops, records=[("company", "companies"), ("contact", "contacts"),
                                    ("note", "notes")],
                      uses={"company": ("contacts",)}, products=set())
    assert [label for label, _ in plan.stages] == ["note", "contact", "company", RELATED]
    contact = plan.items["contacts:20"]
    assert contact.kind == "fields" and contact.rows == [2, 4]
    assert contact.fields["job_title"] == {"type": "Text", "before": "A", "wrote": "C"}
    assert plan.items["companies:10"].uses == ("contacts",)
    assert next(c for c in plan.cells if c.row == 3).follower
    assert plan.items["sources:3"].label == 'sources "Fairs"'


def test_a_record_created_then_updated_by_the_run_is_simply_deleted() -> None:
    image = {"v": 1, "fields": {"job_title": {"type": "Text", "before": None, "wrote": "B"}}}
    ops = [_op("row:2", 2, "created", 9, resource="contacts"),
           _op("row:7", 7, "updated", 9, resource="contacts", before=image)]
    plan = build_plan(ops, records=[("", "contacts")], uses={}, products=set())
    assert list(plan.items) == ["contacts:9"]
    assert plan.items["contacts:9"].kind == "delete"


def test_revert_results_sit_beside_the_import_results() -> None:
    assert default_revert_results(Path("leads.csv"), Path("leads.leads.results.csv")) == \
        Path("leads.leads.revert.csv")
    assert default_revert_results(Path("x.xlsx"), Path("x.m.results.xlsx")) == \
        Path("x.m.revert.xlsx")
