"""Notes, calls and activities: what attaches them to records, what they require, how their
dates come back. Facts from the Concord API reference (notes, calls, activities sections)."""

from __future__ import annotations

from typing import Any

from tests.helpers.contract import (
    TS_RE,
    api,
    create,
    invalid,
    lookup_id,
    ok,
    show,
    uniq,
    update,
)


def _contact(sb: Any) -> dict[str, Any]:
    return create(sb, "contacts", {"first_name": uniq("Eng")})


def _linked(sb: Any, resource: str, rid: int, related: str) -> list[int]:
    page = ok(api(sb, "GET", f"/api/{resource}/{rid}/{related}"))
    return [r["id"] for r in page["data"]]


# -- notes ------------------------------------------------------------------------------------


def test_a_note_needs_via_resource_and_via_resource_id_on_create_and_update(shared: Any) -> None:
    payload = invalid(shared, "POST", "/api/notes", {"body": "orphan"})
    assert {"via_resource", "via_resource_id"} <= set(payload["errors"])
    contact = _contact(shared)
    note = create(shared, "notes", {"body": "hello", "via_resource": "contacts",
                                    "via_resource_id": contact["id"],
                                    "contacts": [contact["id"]]})
    payload = invalid(shared, "PUT", f"/api/notes/{note['id']}", {"body": "changed"})
    assert {"via_resource", "via_resource_id"} <= set(payload["errors"])
    changed = update(shared, "notes", note["id"], {
        "body": "changed", "via_resource": "contacts", "via_resource_id": contact["id"]})
    assert changed["body"] == "changed"


def test_via_resource_alone_does_not_attach_a_note(shared: Any) -> None:
    contact = _contact(shared)
    note = create(shared, "notes", {"body": "via only", "via_resource": "contacts",
                                    "via_resource_id": contact["id"]})
    assert note["contacts"] == []
    assert note["id"] not in _linked(shared, "contacts", contact["id"], "notes")


def test_association_keys_attach_a_note_to_several_records(shared: Any) -> None:
    contact = _contact(shared)
    company = create(shared, "companies", {"name": uniq("NoteCo")})
    note = create(shared, "notes", {"body": "<p>met at the fair</p>", "via_resource": "contacts",
                                    "via_resource_id": contact["id"],
                                    "contacts": [contact["id"]], "companies": [company["id"]]})
    assert [c["id"] for c in note["contacts"]] == [contact["id"]]
    assert [c["id"] for c in note["companies"]] == [company["id"]]
    assert note["id"] in _linked(shared, "contacts", contact["id"], "notes")
    assert note["id"] in _linked(shared, "companies", company["id"], "notes")
    assert note["user_id"] == 1 and note["body"] == "<p>met at the fair</p>"


def test_the_associations_object_attaches_a_note_too(shared: Any) -> None:
    contact = _contact(shared)
    note = create(shared, "notes", {"body": "assoc", "via_resource": "contacts",
                                    "via_resource_id": contact["id"],
                                    "associations": {"contacts": [contact["id"]]}})
    assert [c["id"] for c in note["contacts"]] == [contact["id"]]


def test_notes_are_searched_by_body(shared: Any) -> None:
    contact = _contact(shared)
    body = uniq("needle")
    note = create(shared, "notes", {"body": body, "via_resource": "contacts",
                                    "via_resource_id": contact["id"], "contacts": [contact["id"]]})
    found = ok(api(shared, "GET", "/api/notes/search",
                   params={"q": body, "search_fields": "body:="}))
    assert [n["id"] for n in found] == [note["id"]]


# -- calls ------------------------------------------------------------------------------------


def test_a_call_needs_an_outcome_id_a_date_and_a_body(shared: Any) -> None:
    payload = invalid(shared, "POST", "/api/calls", {})
    assert {"call_outcome_id", "date", "body"} <= set(payload["errors"])
    payload = invalid(shared, "POST", "/api/calls",
                      {"call_outcome_id": "Busy", "date": "2024-05-02 10:00", "body": "x"})
    assert set(payload["errors"]) == {"call_outcome_id"}          # must be numeric


def test_a_call_links_through_association_keys_and_shows_its_outcome(shared: Any) -> None:
    contact = _contact(shared)
    busy = lookup_id(shared, "call-outcomes", "Busy")
    call = create(shared, "calls", {"call_outcome_id": busy, "date": "2024-05-02 10:30:00",
                                    "body": "no luck", "contacts": [contact["id"]]})
    assert call["call_outcome_id"] == busy and call["outcome"]["name"] == "Busy"
    assert TS_RE.match(call["date"]) and call["date"].startswith("2024-05-02T10:30:00")
    assert call["user_id"] == 1
    assert [c["id"] for c in call["contacts"]] == [contact["id"]]
    assert call["id"] in _linked(shared, "contacts", contact["id"], "calls")


def test_a_call_via_resource_needs_its_id(shared: Any) -> None:
    busy = lookup_id(shared, "call-outcomes", "Busy")
    payload = invalid(shared, "POST", "/api/calls", {"call_outcome_id": busy, "body": "x",
                                                     "date": "2024-05-02",
                                                     "via_resource": "contacts"})
    assert set(payload["errors"]) == {"via_resource_id"}


def test_call_outcomes_are_seeded(shared: Any) -> None:
    page = ok(api(shared, "GET", "/api/call-outcomes", params={"per_page": 100}))
    names = {r["name"] for r in page["data"]}
    assert {"No Answer", "Busy", "Wrong Number", "Unavailable", "Left voice message",
            "Moved conversation forward"} <= names


# -- activities -------------------------------------------------------------------------------


def test_an_activity_due_date_without_time_stays_a_date(shared: Any) -> None:
    task = create(shared, "activities", {"title": "Follow up", "user_id": 1,
                                         "due_date": "2024-06-03"})
    assert task["due_date"] == "2024-06-03"
    assert task["type"]["name"] == "Task"          # the default type
    timed = create(shared, "activities", {"title": "Demo call", "user_id": 1,
                                          "due_date": "2024-06-03 14:30:00",
                                          "end_date": "2024-06-03 15:00:00"})
    assert timed["due_date"] == "2024-06-03T14:30:00.000000Z"
    assert timed["end_date"] == "2024-06-03T15:00:00.000000Z"


def test_an_activity_needs_an_owner_and_a_due_date_and_ends_after_it(shared: Any) -> None:
    payload = invalid(shared, "POST", "/api/activities", {"title": "No owner"})
    assert {"user_id", "due_date"} <= set(payload["errors"])
    payload = invalid(shared, "POST", "/api/activities", {
        "title": "Backwards", "user_id": 1, "due_date": "2024-06-03", "end_date": "2024-06-01"})
    assert set(payload["errors"]) == {"end_date"}


def test_an_activity_type_by_name_and_its_associations(shared: Any) -> None:
    contact = _contact(shared)
    meeting = create(shared, "activities", {"title": "Meet", "user_id": 1, "due_date": "2024-06-04",
                                            "activity_type_id": "Meeting",
                                            "contacts": [contact["id"]],
                                            "guests": {"contacts": [contact["id"]]}})
    assert meeting["type"]["name"] == "Meeting"
    assert [c["id"] for c in meeting["contacts"]] == [contact["id"]]
    assert "guests" in meeting
    assert meeting["id"] in _linked(shared, "contacts", contact["id"], "activities")
    shown = show(shared, "activities", meeting["id"])
    assert shown["due_date"] == "2024-06-04"
