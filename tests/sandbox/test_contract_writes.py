"""Write contract: 201/200/204, partial PUT, record JSON, 422 shape and messages, trimming,
empty string -> null, max 191, uniqueness rules.

Reference: docs/concord-api.md §2, §8.1 (422 shape and messages), §9 (trimming, empty → null),
§10 (record JSON), §11, §12, §17 (fields), §21 (uniqueness).
"""

from __future__ import annotations

from typing import Any

from tests.helpers.contract import (
    TS_RE,
    all_messages,
    api,
    create,
    email,
    fields,
    invalid,
    ok,
    phone,
    show,
    uniq,
    update,
)

CONTACT_EMAIL_TAKEN = "A contact or team member with this email already exist."
CONTACT_PHONE_TAKEN = "A contact with this phone number already exist."
COMPANY_EMAIL_TAKEN = "A company with this email already exist."
SKU_TAKEN = "A product with this SKU already exists."
FIRST_NAME_REQUIRED = "The First Name field is required."


def test_create_is_201_with_the_unwrapped_record(shared: Any) -> None:
    mail = email("ada")
    resp = api(shared, "POST", "/api/contacts",
               json={"first_name": "Ada", "last_name": "Lovelace", "email": mail})
    assert resp.status_code == 201
    rec = resp.json()
    assert "data" not in rec
    assert isinstance(rec["id"], int)
    assert (rec["first_name"], rec["last_name"], rec["email"]) == ("Ada", "Lovelace", mail)
    assert rec["display_name"] == "Ada Lovelace"
    assert rec["path"] == f"/contacts/{rec['id']}"
    assert rec["was_recently_created"] is True
    assert isinstance(rec["authorizations"], dict)
    assert TS_RE.match(rec["created_at"]), rec["created_at"]
    assert TS_RE.match(rec["updated_at"]), rec["updated_at"]


def test_show_is_200_and_not_recently_created(shared: Any) -> None:
    rec = create(shared, "contacts", {"first_name": uniq("Show")})
    got = show(shared, "contacts", rec["id"])
    assert got["id"] == rec["id"]
    assert got["first_name"] == rec["first_name"]
    assert got["was_recently_created"] is False


def test_put_is_partial(shared: Any) -> None:
    mail = email("partial")
    rec = create(shared, "contacts", {"first_name": "Grace", "last_name": "Hopper",
                                      "email": mail, "job_title": "Admiral"})
    resp = api(shared, "PUT", f"/api/contacts/{rec['id']}", json={"last_name": "Murray"})
    assert resp.status_code == 200
    got = resp.json()
    assert (got["first_name"], got["last_name"], got["email"], got["job_title"]) == (
        "Grace", "Murray", mail, "Admiral")
    assert show(shared, "contacts", rec["id"])["last_name"] == "Murray"
    assert TS_RE.match(got["updated_at"])


def test_put_without_required_key_is_fine(shared: Any) -> None:
    rec = create(shared, "companies", {"name": uniq("Co")})
    got = update(shared, "companies", rec["id"], {"city": "Leeds"})
    assert (got["name"], got["city"]) == (rec["name"], "Leeds")


def test_put_may_not_blank_a_required_field(shared: Any) -> None:
    rec = create(shared, "contacts", {"first_name": uniq("Keep")})
    payload = invalid(shared, "PUT", f"/api/contacts/{rec['id']}", {"first_name": "  "})
    assert list(payload["errors"]) == ["first_name"]
    assert show(shared, "contacts", rec["id"])["first_name"] == rec["first_name"]


def test_delete_is_204_with_empty_body(shared: Any) -> None:
    rec = create(shared, "companies", {"name": uniq("Gone")})
    resp = api(shared, "DELETE", f"/api/companies/{rec['id']}")
    assert resp.status_code == 204
    assert resp.content == b""
    assert api(shared, "GET", f"/api/companies/{rec['id']}").status_code == 404


def test_422_single_error_shape(shared: Any) -> None:
    payload = invalid(shared, "POST", "/api/contacts", {"last_name": "NoFirst"})
    assert payload == {"message": FIRST_NAME_REQUIRED,
                       "errors": {"first_name": [FIRST_NAME_REQUIRED]}}


def test_422_two_errors_say_and_1_more_error(shared: Any) -> None:
    payload = invalid(shared, "POST", "/api/contacts", {"email": "not-an-email"})
    assert set(payload["errors"]) == {"first_name", "email"}
    assert payload["errors"]["email"] == [
        "The E-Mail Address field must be a valid email address."]
    msgs = all_messages(payload)
    assert len(msgs) == 2
    assert payload["message"] == f"{msgs[0]} (and 1 more error)"


def test_422_many_errors_say_and_n_more_errors(shared: Any) -> None:
    body = {"email": "bad", "cf_lead_score": "abc", "cf_alt_email": "also bad"}
    payload = invalid(shared, "POST", "/api/contacts", body)
    assert {"first_name", "email", "cf_lead_score", "cf_alt_email"} <= set(payload["errors"])
    msgs = all_messages(payload)
    assert payload["message"] == f"{msgs[0]} (and {len(msgs) - 1} more errors)"
    assert payload["errors"]["first_name"] == [FIRST_NAME_REQUIRED]


def test_invalid_write_creates_nothing(shared: Any) -> None:
    mail = email("rejected")
    invalid(shared, "POST", "/api/contacts", {"email": mail})
    rows = ok(api(shared, "GET", "/api/contacts/search",
                  params={"q": mail, "search_fields": "email:="}))
    assert rows == []


def test_strings_are_trimmed_and_empty_becomes_null(shared: Any) -> None:
    mail = email("trim")
    rec = create(shared, "contacts", {"first_name": "  Ada  ", "last_name": "",
                                      "job_title": "   ", "email": f"  {mail} "})
    assert rec["first_name"] == "Ada"
    assert rec["last_name"] is None
    assert rec["job_title"] is None
    assert rec["email"] == mail


def test_blank_required_field_is_a_required_error(shared: Any) -> None:
    for blank in ("   ", "", None):
        payload = invalid(shared, "POST", "/api/contacts", {"first_name": blank})
        assert payload["errors"] == {"first_name": [FIRST_NAME_REQUIRED]}, blank


def test_put_empty_string_clears_an_optional_field(shared: Any) -> None:
    rec = create(shared, "contacts", {"first_name": uniq("Clr"), "job_title": "CTO"})
    assert update(shared, "contacts", rec["id"], {"job_title": ""})["job_title"] is None


def test_text_max_191(shared: Any) -> None:
    assert create(shared, "contacts", {"first_name": "x" * 191})["first_name"] == "x" * 191
    payload = invalid(shared, "POST", "/api/contacts", {"first_name": "x" * 192})
    assert payload["errors"] == {
        "first_name": ["The First Name field must not be greater than 191 characters."]}
    trimmed = create(shared, "contacts", {"first_name": "  " + "y" * 191 + "  "})
    assert trimmed["first_name"] == "y" * 191


def test_required_message_uses_the_field_label(shared: Any) -> None:
    for resource in ("companies", "deals", "products"):
        label = fields(shared, resource)["name"]["label"]
        payload = invalid(shared, "POST", f"/api/{resource}", {})
        assert payload["errors"]["name"] == [f"The {label} field is required."], resource


def test_contact_email_unique_among_contacts(shared: Any) -> None:
    mail = email("dup")
    first = create(shared, "contacts", {"first_name": "One", "email": mail})
    payload = invalid(shared, "POST", "/api/contacts", {"first_name": "Two", "email": mail})
    assert payload["errors"] == {"email": [CONTACT_EMAIL_TAKEN]}
    assert payload["message"] == CONTACT_EMAIL_TAKEN
    # a record may keep its own email on update
    assert update(shared, "contacts", first["id"], {"email": mail})["email"] == mail
    other = create(shared, "contacts", {"first_name": "Three"})
    payload = invalid(shared, "PUT", f"/api/contacts/{other['id']}", {"email": mail})
    assert payload["errors"] == {"email": [CONTACT_EMAIL_TAKEN]}


def test_contact_email_unique_including_trashed(shared: Any) -> None:
    payload = invalid(shared, "POST", "/api/contacts",
                      {"first_name": "Again", "email": "trashed@example.com"})
    assert payload["errors"] == {"email": [CONTACT_EMAIL_TAKEN]}
    mail = email("bin")
    rec = create(shared, "contacts", {"first_name": "Binned", "email": mail})
    assert api(shared, "DELETE", f"/api/contacts/{rec['id']}").status_code == 204
    payload = invalid(shared, "POST", "/api/contacts", {"first_name": "New", "email": mail})
    assert payload["errors"] == {"email": [CONTACT_EMAIL_TAKEN]}


def test_contact_email_unique_against_users(shared: Any) -> None:
    payload = invalid(shared, "POST", "/api/contacts",
                      {"first_name": "Sam", "email": "sam@example.com"})
    assert payload["errors"] == {"email": [CONTACT_EMAIL_TAKEN]}


def test_contact_phone_unique(shared: Any) -> None:
    number = phone()
    create(shared, "contacts", {"first_name": "Ph1", "phones": [{"number": number,
                                                                 "type": "work"}]})
    payload = invalid(shared, "POST", "/api/contacts",
                      {"first_name": "Ph2", "phones": [{"number": number, "type": "mobile"}]})
    assert all_messages(payload) == [CONTACT_PHONE_TAKEN]
    assert all(key.startswith("phones") for key in payload["errors"]), payload


def test_company_email_unique_but_name_not(shared: Any) -> None:
    mail = email("co")
    name = uniq("SameName")
    create(shared, "companies", {"name": name, "email": mail})
    payload = invalid(shared, "POST", "/api/companies", {"name": uniq("Other"), "email": mail})
    assert payload["errors"] == {"email": [COMPANY_EMAIL_TAKEN]}
    create(shared, "companies", {"name": name})


def test_company_phones_not_unique(shared: Any) -> None:
    number = phone()
    create(shared, "companies", {"name": uniq("P1"), "phones": [number]})
    create(shared, "companies", {"name": uniq("P2"), "phones": [number]})


def test_product_name_and_sku_unique(shared: Any) -> None:
    name, sku = uniq("Widget"), uniq("SKU")
    rec = create(shared, "products", {"name": name, "sku": sku, "unit_price": 10})
    assert rec["unit_price"] == 10
    payload = invalid(shared, "POST", "/api/products",
                      {"name": name, "sku": uniq("SKU"), "unit_price": 1})
    assert list(payload["errors"]) == ["name"]
    assert payload["errors"]["name"] == ["The Name has already been taken."]
    payload = invalid(shared, "POST", "/api/products",
                      {"name": uniq("Widget"), "sku": sku, "unit_price": 1})
    assert payload["errors"] == {"sku": [SKU_TAKEN]}


def test_product_requires_unit_price(shared: Any) -> None:
    payload = invalid(shared, "POST", "/api/products", {"name": uniq("NoPrice")})
    assert list(payload["errors"]) == ["unit_price"]


def test_unique_custom_field(shared: Any) -> None:
    label = fields(shared, "contacts")["cf_external_id"]["label"]
    ext = uniq("EXT")
    create(shared, "contacts", {"first_name": "U1", "cf_external_id": ext})
    payload = invalid(shared, "POST", "/api/contacts", {"first_name": "U2", "cf_external_id": ext})
    assert payload["errors"] == {"cf_external_id": [f"The {label} has already been taken."]}
    clabel = fields(shared, "companies")["cf_account_number"]["label"]
    acct = uniq("ACC")
    create(shared, "companies", {"name": uniq("A1"), "cf_account_number": acct})
    payload = invalid(shared, "POST", "/api/companies",
                      {"name": uniq("A2"), "cf_account_number": acct})
    assert payload["errors"] == {"cf_account_number": [f"The {clabel} has already been taken."]}


def test_unknown_keys_are_ignored(shared: Any) -> None:
    rec = create(shared, "contacts", {"first_name": uniq("Unk"), "favourite_colour": "red"})
    assert "favourite_colour" not in rec


def test_activity_and_note_writes(shared: Any) -> None:
    contact = create(shared, "contacts", {"first_name": uniq("Act")})
    act = create(shared, "activities", {"title": "Call back", "user_id": 1,
                                        "due_date": "2024-05-01"})
    assert act["due_date"] == "2024-05-01"
    payload = invalid(shared, "POST", "/api/activities", {"title": "No owner"})
    assert {"user_id", "due_date"} <= set(payload["errors"])
    note = create(shared, "notes", {"body": "<p>hello</p>", "via_resource": "contacts",
                                    "via_resource_id": contact["id"],
                                    "contacts": [contact["id"]]})
    assert note["body"] == "<p>hello</p>"
    payload = invalid(shared, "POST", "/api/notes", {"body": "orphan"})
    assert {"via_resource", "via_resource_id"} <= set(payload["errors"])
