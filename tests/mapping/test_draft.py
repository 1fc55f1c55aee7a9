"""`mapping init` drafts: header matching, proposals, and a round trip through the loader."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from concord_etl.crm.client import ConcordClient
from concord_etl.crm.fields import ResourceFields
from concord_etl.errors import MappingError
from concord_etl.mapping import Lookup, draft_mapping
from tests.helpers import TOKEN
from tests.mapping.drafting import line_of, round_trip

LEADS_HEADERS = [
    "First Name", "Last Name", "E-mail", "Mobile", "Work Phone", "Company", "Job Title", "Owner",
    "Lead Source", "Tier", "Interests", "Signed Up", "Newsletter", "Country", "Budget",
    "Lead Score", "External ID", "Notes", "Fax",
]


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


CRM = {"1": {"id": 1, "first_name": "Ada", "email": "ada@example.com"},
       "2": {"id": 2, "first_name": "Grace", "email": "grace@example.com"}}


def _crm(ids: list[str]) -> dict[str, dict[str, Any]]:
    return {i: CRM[i] for i in ids if i in CRM}


def test_an_id_column_of_the_crms_records_makes_an_update_mapping(
    tmp_path: Path, contact_fields: ResourceFields
) -> None:
    rows: list[dict[str, object]] = [
        {"ID": 1, "E-mail": "ADA@example.com", "First Name": "Ada"},
        {"ID": "2", "E-mail": "grace@example.com", "First Name": "Grace"}]
    text = draft_mapping(["ID", "E-mail", "First Name"], contact_fields, resource="contacts",
                         rows=rows, records_by_id=_crm)
    mapping = round_trip(tmp_path, text)
    assert mapping.column("ID").field == "id"
    assert mapping.match.on == ("id",)


@pytest.mark.parametrize(("rows", "why"), [
    ([{"ID": 2, "E-mail": "shelley@example.net", "First Name": "Shelley"}],
     "the CRM's contacts record 2 is 'grace@example.com', not this row's"),
    ([{"ID": 301, "E-mail": "manuel@example.net", "First Name": "Manuel"}],
     "the CRM has no contacts record 301"),
    (None, "not checked against the CRM"),
])
def test_an_id_column_of_another_system_is_kept_as_its_id(
    tmp_path: Path, contact_fields: ResourceFields, rows: Any, why: str
) -> None:
    text = draft_mapping(["ID", "E-mail", "First Name"], contact_fields, resource="contacts",
                         sample={"ID": [2, 301, 7]}, rows=rows,
                         records_by_id=_crm if rows is not None else None)
    mapping = round_trip(tmp_path, text)
    assert mapping.column("ID").field == "cf_external_id"     # never someone else's record
    assert mapping.match.on == ("email",)
    assert f"not Concord ids: {why}" in line_of(text, "ID:")


def test_iso_timestamps_need_no_format(tmp_path: Path, contact_fields: ResourceFields) -> None:
    sample: dict[str, list[object]] = {"Last Seen": ["2024-08-14T11:39:02.318+00:00",
                                                     "2024-07-29T05:26:22Z"]}
    text = draft_mapping(["E-mail", "Last Seen"], contact_fields, resource="contacts",
                         sample=sample)
    mapping = round_trip(tmp_path, text)
    assert mapping.column("Last Seen").format is None
    assert "read without format:" in line_of(text, "Last Seen:")


def test_awkward_headers_are_quoted_and_survive(tmp_path: Path,
                                                contact_fields: ResourceFields) -> None:
    headers = ["E-mail", "Yes", "#ref", "Note: internal", "  padded ", "null", "100", "[x]"]
    text = draft_mapping(headers, contact_fields, resource="contacts")
    round_trip(tmp_path, text)
    for header in headers[1:]:
        assert any(header in line or f'"{header}"' in line for line in text.splitlines())
    assert sum(1 for line in text.splitlines() if line.strip().startswith("#")
               and ": ?" in line) == len(headers) - 1


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
    """The CRM's real descriptors (sandbox, demo seed) give a draft that loads."""
    fields = ConcordClient(sandbox.url, TOKEN).resource_fields("contacts")
    text = draft_mapping(LEADS_HEADERS, fields, resource="contacts",
                         sample={"Owner": ["sam@example.com"], "Signed Up": ["23/11/2024"]})
    mapping = round_trip(tmp_path, text)
    assert mapping.match.on == ("email",)
    assert mapping.column("Tier").field == "cf_customer_tier"
    assert mapping.column("Owner").lookup == Lookup("users", "email")
    assert mapping.column("Job Title").field == "job_title"          # only the edit form has it
    assert mapping.column("Country").lookup == Lookup("countries", "name")
    assert "Bronze, Silver, Gold, Platinum" in line_of(text, "Tier:")
