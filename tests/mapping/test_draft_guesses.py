"""`mapping init` guessing like a person: near-exact headers, value shapes, honest match keys,
a type and a reason on every line — on lead sheets with the traits of public sample files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from concord_etl.crm.client import ConcordClient
from concord_etl.crm.fields import ResourceFields
from concord_etl.mapping import Lookup, Mapping, draft_mapping, load_mapping
from concord_etl.read import open_table
from concord_etl.validate.declared_fields import fields_from_mapping
from tests.helpers import DATA, TOKEN
from tests.mapping.drafting import line_of, round_trip

LEADS = DATA / "leads"


@pytest.mark.parametrize("header", ["Email", "Email 1", "E-mail", "E-Mail Address", "EMAIL",
                                    "e_mail", "Email Address"])
def test_every_spelling_of_email_is_the_email(contact_fields: ResourceFields,
                                              tmp_path: Path, header: str) -> None:
    text = draft_mapping([header, "First Name"], contact_fields, resource="contacts",
                         sample={header: ["ann@example.com"]})
    assert round_trip(tmp_path, text).column(header).field == "email"


def test_a_second_email_column_goes_to_a_custom_email_field(contact_fields: ResourceFields,
                                                            tmp_path: Path) -> None:
    text = draft_mapping(["Email 1", "Email 2"], contact_fields, resource="contacts")
    mapping = round_trip(tmp_path, text)
    assert [c.field for c in mapping.columns] == ["email", "cf_alt_email"]
    assert "email is mapped already" in line_of(text, "Email 2:")


def test_concords_own_labels(contact_fields: ResourceFields, tmp_path: Path) -> None:
    headers = ["Job Name", "State/Region", "Street Address", "Postal Code", "E-Mail Address"]
    mapping = round_trip(tmp_path, draft_mapping(headers, contact_fields, resource="contacts"))
    assert [c.field for c in mapping.columns] == ["job_title", "state", "street", "postal_code",
                                                  "email"]


def test_an_id_column_never_becomes_a_select_or_a_name(contact_fields: ResourceFields,
                                                       tmp_path: Path) -> None:
    sample = {"Customer Id": ["DD37Cf93aecA6Dc", "1Ef7b82A4CAAD10", "6F94879bDAfE5a6"],
              "Customer Tier": ["DD37Cf93aecA6Dc", "1Ef7b82A4CAAD10", "6F94879bDAfE5a6"],
              "Company": ["x7Ghq02LmPa", "Q9zR55bnT1w", "4kLm8NpQ2rS"]}
    text = draft_mapping(["Customer Id", "Customer Tier", "Company", "Email"], contact_fields,
                         resource="contacts", sample=sample)
    mapping = round_trip(tmp_path, text)
    fields = {c.column: c.field for c in mapping.columns}
    assert fields["Customer Id"] == "cf_external_id"          # a unique text field keeps it
    assert "Customer Tier" not in fields                      # ids are no Select options
    assert "Company" not in fields                            # not company names
    assert "no Select options" in line_of(text, "# Customer Tier")
    assert "looks like an id" in line_of(text, "# Company")


def test_a_select_is_proposed_only_when_values_are_its_options(contact_fields: ResourceFields,
                                                               tmp_path: Path) -> None:
    text = draft_mapping(["Tier"], contact_fields, resource="contacts",
                         sample={"Tier": ["gold", "Silver", "BRONZE"]})
    column = round_trip(tmp_path, text).column("Tier")
    assert column.field == "cf_customer_tier"
    assert column.options == ("Bronze", "Silver", "Gold", "Platinum")
    with pytest.raises(Exception, match="none of the 1 headers"):
        draft_mapping(["Tier"], contact_fields, resource="contacts",
                      sample={"Tier": ["North", "South", "East"]})


def test_names_containing_the_separator_are_not_split(contact_fields: ResourceFields,
                                                      tmp_path: Path) -> None:
    inside = {"Company": ["Dominguez; Mcmillan and Donovan", "Martin; Lang and Andrade",
                          "Steele Group"]}
    text = draft_mapping(["Company", "Email"], contact_fields, resource="contacts", sample=inside)
    assert round_trip(tmp_path, text).column("Company").split is None
    assert "appears inside names" in line_of(text, "Company:")
    lists = {"Company": ["Acme; Globex", "Acme", "Globex; Initech"]}
    text = draft_mapping(["Company", "Email"], contact_fields, resource="contacts", sample=lists)
    assert round_trip(tmp_path, text).column("Company").split == ";"


def test_contacts_are_never_matched_on_a_name(contact_fields: ResourceFields) -> None:
    text = draft_mapping(["First Name", "Last Name", "Company"], contact_fields,
                         resource="contacts")
    assert "on: [name]" not in text and "{on: [name]}" not in text
    assert "map a email column and add `match: {on: [email]}`" in text


def test_every_mapped_column_has_a_type_and_a_reason(contact_fields: ResourceFields,
                                                     tmp_path: Path) -> None:
    headers = ["First Name", "E-mail", "Mobile", "Owner", "Tier", "Interests", "Signup Date",
               "Newsletter", "Lead Score", "Budget", "Country", "Company", "Fax"]
    text = draft_mapping(headers, contact_fields, resource="contacts")
    mapping = round_trip(tmp_path, text)
    assert all(c.type for c in mapping.columns), [c.column for c in mapping.columns if not c.type]
    for column in mapping.columns:
        comment = line_of(text, f"{column.column}:").split("#", 1)[1].strip()
        assert len(comment) > 10, column.column
    offline = fields_from_mapping(mapping)            # offline typing agrees with the declarations
    assert {c.field: c.type for c in mapping.columns} == {
        f.attribute: f.type for f in offline if f.attribute in mapping.fields}


def test_years_are_not_dates_and_row_numbers_are_not_data(company_fields: ResourceFields,
                                                          tmp_path: Path) -> None:
    sample = {"Index": ["1", "2", "3", "4"], "Founded": ["1990", "2015", "1971", "2004"],
              "Name": ["A", "B", "C", "D"]}
    text = draft_mapping(["Index", "Founded", "Name"], company_fields, resource="companies",
                         sample=sample)
    mapping = round_trip(tmp_path, text)
    assert [c.field for c in mapping.columns] == ["name"]
    assert "row numbers" in line_of(text, "# Index")
    assert "years only" in line_of(text, "# Founded")


# -- files with the traits of public lead sheets, against the sandbox's real descriptors --------


def draft_file(sandbox: Any, path: Path, resource: str, tmp_path: Path) -> tuple[str, Mapping]:
    fields = ConcordClient(sandbox.url, TOKEN).resource_fields(resource)
    table = open_table(path)
    frame = next(iter(table.frames()))
    sample = {c: frame[c].dropna().head(20).tolist() for c in table.columns}
    text = draft_mapping(list(table.columns), fields, resource=resource, sample=sample)
    out = tmp_path / f"{path.stem}.yaml"
    out.write_text(text, encoding="utf-8")
    return text, load_mapping(out)


def test_lead_sheet(sandbox: Any, tmp_path: Path) -> None:
    text, mapping = draft_file(sandbox, LEADS / "leads-traits.csv", "contacts", tmp_path)
    fields = {c.column: c.field for c in mapping.columns}
    assert fields == {
        "Account Id": "cf_external_id", "Lead Owner": "user_id", "First Name": "first_name",
        "Last Name": "last_name", "Company": "companies", "Phone 1": "phones",
        "Phone 2": "phones", "Email 1": "email", "Email 2": "cf_alt_email", "Source": "source_id",
    }
    assert mapping.match.on == ("email",)
    assert mapping.column("Lead Owner").lookup == Lookup("users", "name")
    assert mapping.column("Company").split is None
    assert "row numbers" in line_of(text, "# Index")


def test_customer_sheet(sandbox: Any, tmp_path: Path) -> None:
    _, mapping = draft_file(sandbox, LEADS / "customers-traits.csv", "contacts", tmp_path)
    fields = {c.column: c.field for c in mapping.columns}
    assert fields["Customer Id"] == "cf_external_id"
    assert fields["Email"] == "email" and fields["City"] == "city"
    assert mapping.column("Country").lookup == Lookup("countries", "name")
    assert mapping.column("Company").split is None
    assert "cf_customer_tier" not in fields.values()


def test_organization_sheet(sandbox: Any, tmp_path: Path) -> None:
    text, mapping = draft_file(sandbox, LEADS / "organizations-traits.csv", "companies",
                               tmp_path)
    fields = {c.column: c.field for c in mapping.columns}
    assert fields == {
        "Organization_Id": "cf_account_number", "Name": "name", "Website": "domain",
        "Country": "country_id", "Industry": "industry_id",
        "Number_of_employees": "cf_employees",
    }
    assert mapping.column("Website").type == "Domain"
    assert mapping.match.on == ("cf_account_number",)
    assert "years only" in line_of(text, "# Founded")


def test_an_organization_column_of_ids_is_not_the_name(sandbox: Any, tmp_path: Path) -> None:
    _, mapping = draft_file(sandbox, LEADS / "orgs-lowercase.csv", "companies", tmp_path)
    fields = {c.column: c.field for c in mapping.columns}
    assert fields == {"organization": "cf_account_number", "name": "name", "website": "domain",
                      "e-mail address": "email", "employees": "cf_employees"}
