"""`mapping init` drafts: header matching, proposals, and a round trip through the loader."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from concord_etl.crm.fields import ResourceFields, parse_create_fields
from concord_etl.errors import MappingError
from concord_etl.mapping import Lookup, Mapping, draft_mapping, load_mapping

LEADS_HEADERS = [
    "First Name", "Last Name", "E-mail", "Mobile", "Work Phone", "Company", "Job Title", "Owner",
    "Lead Source", "Tier", "Interests", "Signed Up", "Newsletter", "Country", "Budget",
    "Lead Score", "External ID", "Notes", "Fax",
]


def descriptor(attribute: str, label: str, ftype: str, *, required: bool = False,
               unique: bool = False, related: str | None = None,
               options: tuple[str, ...] = (), choices: tuple[str, ...] = ()) -> dict[str, Any]:
    """One item of ``GET /api/{resource}/create-fields`` (shape of docs/DESIGN.md)."""
    custom = attribute.startswith("cf_")
    return {
        "attribute": attribute, "label": label, "type": ftype, "isRequired": required,
        "isUnique": unique, "relatedResource": related, "choices": list(choices),
        "customField": {"field_id": attribute, "field_type": ftype, "label": label,
                        "is_unique": unique} if custom else None,
        "options": [{"id": 10 + i, "name": n, "swatch_color": None}
                    for i, n in enumerate(options)],
    }


ADDRESS = [
    descriptor("street", "Street Address", "Text"), descriptor("city", "City", "Text"),
    descriptor("state", "State/Region", "Text"), descriptor("postal_code", "Postal Code", "Text"),
    descriptor("country_id", "Country", "BelongsTo", related="countries"),
]
OWNER = descriptor("user_id", "Owner", "BelongsTo", related="users")
SOURCE = descriptor("source_id", "Source", "BelongsTo", related="sources")


@pytest.fixture
def contact_fields() -> ResourceFields:
    return parse_create_fields("contacts", [
        descriptor("first_name", "First Name", "Text", required=True),
        descriptor("last_name", "Last Name", "Text"),
        descriptor("email", "E-Mail Address", "Email", unique=True),
        descriptor("phones", "Phone", "Phone", unique=True),
        descriptor("job_title", "Job Name", "Text"),
        *ADDRESS, SOURCE, OWNER,
        descriptor("tags", "Tags", "Tags"),
        descriptor("companies", "Companies", "Association", related="companies"),
        descriptor("deals", "Deals", "Association", related="deals"),
        descriptor("cf_customer_tier", "Customer Tier", "Select",
                   options=("Bronze", "Silver", "Gold", "Platinum")),
        descriptor("cf_interests", "Interests", "MultiSelect",
                   options=("Analytics", "Automation", "Integrations", "Reporting", "Support")),
        descriptor("cf_signup_date", "Signup Date", "Date"),
        descriptor("cf_last_seen_at", "Last Seen At", "DateTime"),
        descriptor("cf_newsletter", "Newsletter", "Boolean"),
        descriptor("cf_lead_score", "Lead Score", "Number"),
        descriptor("cf_budget", "Budget", "Numeric"),
        descriptor("cf_external_id", "External Id", "Text", unique=True),
        descriptor("cf_bio", "Bio", "Textarea"),
    ])


@pytest.fixture
def company_fields() -> ResourceFields:
    return parse_create_fields("companies", [
        descriptor("name", "Name", "Text", required=True),
        descriptor("domain", "Domain Name", "Text"),
        descriptor("email", "E-Mail Address", "Email", unique=True),
        descriptor("industry_id", "Industry", "BelongsTo", related="industries"),
        descriptor("phones", "Phone", "Phone"),
        *ADDRESS, SOURCE, OWNER,
        descriptor("cf_account_number", "Account Number", "Text", unique=True),
        descriptor("cf_segment", "Segment", "Select", options=("SMB", "Mid-Market", "Enterprise")),
        descriptor("cf_employees", "Employees", "Number"),
    ])


@pytest.fixture
def deal_fields() -> ResourceFields:
    return parse_create_fields("deals", [
        descriptor("name", "Name", "Text", required=True),
        descriptor("pipeline_id", "Pipeline", "BelongsTo", related="pipelines"),
        descriptor("stage_id", "Stage", "BelongsTo", related="pipeline-stages", required=True),
        descriptor("amount", "Amount", "Decimal"),
        descriptor("expected_close_date", "Expected Close Date", "Date"),
        OWNER,
        descriptor("status", "Status", "Enum", choices=("open", "won", "lost")),
        descriptor("companies", "Companies", "Association", related="companies"),
        descriptor("cf_deal_type", "Deal Type", "Select",
                   options=("New Business", "Renewal", "Upsell")),
    ])


def round_trip(tmp_path: Path, text: str) -> Mapping:
    path = tmp_path / "draft.yaml"
    path.write_text(text, encoding="utf-8")
    return load_mapping(path)


def line_of(text: str, start: str) -> str:
    return next(line for line in text.splitlines() if line.strip().startswith(start))


def test_leads_draft_round_trips(tmp_path: Path, contact_fields: ResourceFields) -> None:
    sample: dict[str, list[object]] = {
        "Owner": ["sam@example.com", "alex@example.com"],
        "Signed Up": ["23/11/2024", "01/02/2024"],
        "Newsletter": ["yes", "no", "x"],
        "Interests": ["Analytics;Automation", "Support"],
    }
    text = draft_mapping(LEADS_HEADERS, contact_fields, resource="contacts", sample=sample)
    mapping = round_trip(tmp_path, text)
    fields = {c.column: c.field for c in mapping.columns}
    assert fields == {
        "First Name": "first_name", "Last Name": "last_name", "E-mail": "email",
        "Mobile": "phones", "Work Phone": "phones", "Company": "companies",
        "Job Title": "job_title", "Owner": "user_id", "Lead Source": "source_id",
        "Tier": "cf_customer_tier", "Interests": "cf_interests", "Newsletter": "cf_newsletter",
        "Country": "country_id", "Budget": "cf_budget", "Lead Score": "cf_lead_score",
        "External ID": "cf_external_id",
    }
    assert mapping.resource == "contacts"
    assert mapping.match.on == ("email",)
    assert mapping.column("E-mail").transform == ("strip", "lower")
    assert mapping.column("Mobile").phone_type == "mobile"
    assert mapping.column("Work Phone").phone_type == "work"
    assert mapping.column("Company").lookup == Lookup("companies", "name", create_missing=False)
    assert mapping.column("Owner").lookup == Lookup("users", "email")
    assert mapping.column("Lead Source").lookup == Lookup("sources", "name")
    assert mapping.column("Country").lookup == Lookup("countries", "name")
    assert mapping.column("Interests").split == ";"
    assert mapping.column("Newsletter").true_values == ("yes", "x")
    assert mapping.column("Newsletter").false_values == ("no",)
    # unmatched headers are listed, commented out
    assert "  # Fax: ?" in text and "  # Notes: ?" in text
    # options noted with their labels
    assert "options: Bronze, Silver, Gold, Platinum" in line_of(text, "Tier:")


def test_owner_by_name_when_the_sample_holds_names(contact_fields: ResourceFields,
                                                   tmp_path: Path) -> None:
    text = draft_mapping(["Owner", "E-mail"], contact_fields, resource="contacts",
                         sample={"Owner": ["Sam Seller", "Alex Manager"]})
    assert round_trip(tmp_path, text).column("Owner").lookup == Lookup("users", "name")
    text = draft_mapping(["Owner", "E-mail"], contact_fields, resource="contacts")
    assert round_trip(tmp_path, text).column("Owner").lookup == Lookup("users", "name")


@pytest.mark.parametrize(("values", "expected"), [
    (["23/11/2024", "01/02/2024"], "%d/%m/%Y"),
    (["11/23/2024", "02/01/2024"], "%m/%d/%Y"),
    (["2024-11-23"], "%Y-%m-%d"),
    (["23.11.2024"], "%d.%m.%Y"),
    (["23 Nov 2024"], "%d %b %Y"),
])
def test_date_formats_are_guessed_from_text_samples(
    tmp_path: Path, contact_fields: ResourceFields, values: list[object], expected: str
) -> None:
    text = draft_mapping(["Signup Date", "E-mail"], contact_fields, resource="contacts",
                         sample={"Signup Date": values})
    assert round_trip(tmp_path, text).column("Signup Date").format == expected


def test_ambiguous_dates_are_flagged(contact_fields: ResourceFields) -> None:
    text = draft_mapping(["Signup Date"], contact_fields, resource="contacts",
                         sample={"Signup Date": ["01/02/2024"]})
    assert "also reads as %m/%d/%Y: check" in line_of(text, "Signup Date:")


def test_typed_excel_dates_need_no_format(tmp_path: Path, contact_fields: ResourceFields) -> None:
    text = draft_mapping(["Signup Date", "Last Seen At"], contact_fields, resource="contacts",
                         sample={"Signup Date": [dt.date(2024, 11, 23)],
                                 "Last Seen At": ["2024-11-23 13:45:00"]})
    mapping = round_trip(tmp_path, text)
    assert mapping.column("Signup Date").format is None
    assert "dates typed by the sheet" in line_of(text, "Signup Date:")
    assert mapping.column("Last Seen At").format == "%Y-%m-%d %H:%M:%S"


def test_companies_draft(tmp_path: Path, company_fields: ResourceFields) -> None:
    headers = ["Name", "Domain", "E-mail", "Industry", "Segment", "Account Number", "Employees",
               "Phone", "Country"]
    mapping = round_trip(tmp_path, draft_mapping(headers, company_fields, resource="companies"))
    assert [c.field for c in mapping.columns] == [
        "name", "domain", "email", "industry_id", "cf_segment", "cf_account_number",
        "cf_employees", "phones", "country_id",
    ]
    assert mapping.match.on == ("cf_account_number",)     # unique custom field first
    assert mapping.column("Phone").phone_type == "work"
    assert mapping.column("Industry").lookup == Lookup("industries", "name")


def test_company_header_is_the_name_of_a_company(tmp_path: Path,
                                                 company_fields: ResourceFields) -> None:
    text = draft_mapping(["Company", "Website"], company_fields, resource="companies")
    mapping = round_trip(tmp_path, text)
    assert [c.field for c in mapping.columns] == ["name", "domain"]
    assert mapping.match.on == ()
    assert "# match: no unique field is mapped" in text


def test_deals_draft(tmp_path: Path, deal_fields: ResourceFields) -> None:
    headers = ["Deal Name", "Pipeline", "Stage", "Amount", "Close Date", "Owner", "Company",
               "Deal Type", "Status"]
    text = draft_mapping(headers, deal_fields, resource="deals",
                         sample={"Close Date": ["2024-12-31"], "Owner": ["sam@example.com"]})
    mapping = round_trip(tmp_path, text)
    assert [c.field for c in mapping.columns] == [
        "name", "pipeline_id", "stage_id", "amount", "expected_close_date", "user_id",
        "companies", "cf_deal_type", "status",
    ]
    assert mapping.column("Stage").lookup == Lookup("pipeline-stages", "name")
    assert mapping.column("Pipeline").lookup == Lookup("pipelines", "name")
    assert mapping.column("Close Date").format == "%Y-%m-%d"
    assert "Pipeline column" not in line_of(text, "Stage:")
    assert "one of: open, won, lost" in line_of(text, "Status:")
    assert mapping.match.on == ()


def test_stage_without_pipeline_gets_a_warning(deal_fields: ResourceFields) -> None:
    text = draft_mapping(["Name", "Stage"], deal_fields, resource="deals")
    assert "map a Pipeline column too" in line_of(text, "Stage:")


def test_an_id_column_makes_an_update_mapping(tmp_path: Path,
                                              contact_fields: ResourceFields) -> None:
    text = draft_mapping(["ID", "E-mail", "First Name"], contact_fields, resource="contacts")
    mapping = round_trip(tmp_path, text)
    assert mapping.column("ID").field == "id"
    assert mapping.match.on == ("id",)


def test_awkward_headers_are_quoted_and_survive(tmp_path: Path,
                                                contact_fields: ResourceFields) -> None:
    headers = ["E-mail", "Yes", "#ref", "Note: internal", "  padded ", "null", "100", "[x]"]
    text = draft_mapping(headers, contact_fields, resource="contacts")
    round_trip(tmp_path, text)
    for header in headers[1:]:
        assert any(header in line or f'"{header}"' in line for line in text.splitlines())
    assert sum(1 for line in text.splitlines() if line.strip().startswith("#")
               and line.strip().endswith("?")) == len(headers) - 1


def test_accents_and_punctuation_do_not_count(tmp_path: Path,
                                              contact_fields: ResourceFields) -> None:
    text = draft_mapping(["Tél.", "E-MAIL", "first_name", "Prénom"], contact_fields,
                         resource="contacts")
    mapping = round_trip(tmp_path, text)
    assert [c.field for c in mapping.columns] == ["phones", "email", "first_name"]


def test_duplicate_and_empty_headers_are_commented(tmp_path: Path,
                                                   contact_fields: ResourceFields) -> None:
    text = draft_mapping(["E-mail", "E-mail", ""], contact_fields, resource="contacts")
    mapping = round_trip(tmp_path, text)
    assert [c.column for c in mapping.columns] == ["E-mail"]
    assert "duplicate header" in text and "empty header" in text


def test_required_fields_left_unmapped_are_named(contact_fields: ResourceFields) -> None:
    text = draft_mapping(["E-mail"], contact_fields, resource="contacts")
    assert "# required by the CRM but not mapped: first_name" in text


def test_nothing_matches(contact_fields: ResourceFields) -> None:
    with pytest.raises(MappingError, match="none of the 2 headers matches a contacts field"):
        draft_mapping(["Fax", "Pager"], contact_fields, resource="contacts")


def test_unknown_resource(contact_fields: ResourceFields) -> None:
    with pytest.raises(MappingError, match="unknown resource 'leads'"):
        draft_mapping(["E-mail"], contact_fields, resource="leads")


def test_draft_from_the_sandbox_fields(tmp_path: Path, sandbox: Any) -> None:
    """The CRM's real create-fields (sandbox, demo seed) give a draft that loads."""
    import requests

    response = requests.get(
        f"{sandbox.url}/api/contacts/create-fields",
        headers={"Authorization": "Bearer test-token", "Accept": "application/json"},
        timeout=10,
    )
    assert response.status_code == 200
    fields = parse_create_fields("contacts", response.json())
    text = draft_mapping(LEADS_HEADERS, fields, resource="contacts",
                         sample={"Owner": ["sam@example.com"], "Signed Up": ["23/11/2024"]})
    mapping = round_trip(tmp_path, text)
    assert mapping.match.on == ("email",)
    assert mapping.column("Tier").field == "cf_customer_tier"
    assert mapping.column("Owner").lookup == Lookup("users", "email")
    assert "Bronze, Silver, Gold, Platinum" in line_of(text, "Tier:")
