"""The same record named on several rows: folding rules (pure, no CRM)."""

from __future__ import annotations

from concord_etl.load.record_fold import FoldIndex, settle_follower
from concord_etl.load.record_work import RecordWork, shape_body


def work(row: int, **values: object) -> RecordWork:
    return RecordWork(row=row, values=dict(values), name="company", resource="companies")


def index() -> FoldIndex:
    return FoldIndex("company", ("name",), {"name": "Company", "domain": "Website"})


def test_later_rows_fold_into_the_first_and_add_what_it_lacks() -> None:
    fold = index()
    first, second, third = (work(2, name="Acme", domain=None, contacts=[1]),
                            work(3, name=" acme ", domain="acme.example", contacts=[2]),
                            work(4, name="ACME", contacts=[1, 3]))
    fold.fold([first, second, third])
    assert first.follower_of is None
    assert second.follower_of is first and third.follower_of is first
    assert first.values["domain"] == "acme.example"
    assert first.values["contacts"] == [1, 2, 3]
    first.action, first.record_id = "created", 7
    fold.settle([first])
    settle_follower(second)
    assert (second.action, second.record_id) == ("duplicate", 7)


def test_a_disagreeing_row_is_rejected_naming_the_first() -> None:
    fold = index()
    first, other = work(2, name="Acme", domain="acme.example"), work(9, name="Acme",
                                                                     domain="acme.org")
    fold.fold([first, other])
    assert other.action == "rejected"
    assert other.errors == [
        'row 2 has the same Company with another Website: "acme.example" there, '
        '"acme.org" here']


def test_across_batches_a_written_record_is_reused_or_updated() -> None:
    fold = index()
    first = work(2, name="Acme", domain="acme.example")
    fold.fold([first])
    first.action, first.record_id = "created", 7
    fold.settle([first])
    same, more = work(600, name="Acme"), work(601, name="Acme", email="hi@acme.example")
    fold.fold([same, more])
    assert same.follower_of is first and same.record_id == 7
    assert more.follower_of is None             # goes through the update path


def test_a_rejected_first_row_makes_way_and_its_followers_say_why() -> None:
    fold = index()
    first, second = work(2, name="Acme"), work(3, name="Acme")
    fold.fold([first, second])
    first.action = "rejected"
    fold.settle([first])
    settle_follower(second)
    assert second.action == "rejected"
    assert "row 2 names the same record and was rejected" in second.errors[0]
    later = work(700, name="Acme")
    fold.fold([later])
    assert later.follower_of is None


def test_rows_without_a_key_never_fold() -> None:
    fold = index()
    rows = [work(2, name=None), work(3, name=None)]
    fold.fold(rows)
    assert all(r.follower_of is None for r in rows)
    assert FoldIndex("note", (), {}).key(work(2, body="x")) is None


def test_note_bodies_say_through_which_record_the_note_is_seen() -> None:
    body = shape_body("notes", {"body": "hi", "deals": [4], "contacts": [5]},
                      {"body": "hi", "deals": [4], "contacts": [5]}, update=False)
    assert (body["via_resource"], body["via_resource_id"]) == ("deals", 4)
    update = shape_body("notes", {"contacts": [5, 6]}, {"body": "hi", "contacts": [5, 6]},
                        update=True)
    assert update == {"contacts": [5, 6], "via_resource": "contacts", "via_resource_id": 5,
                      "body": "hi"}
    guests = shape_body("activities", {"guests": [3]}, {}, update=False, guest_resource="users")
    assert guests == {"guests": {"users": [3]}}
