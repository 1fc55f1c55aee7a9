"""Fields typed from Concord's real descriptor keys, end to end through the CLI.

The sandbox sends only the keys Concord sends (no type, no related resource); these runs
would fail if the client typed fields from anything else: the field list, a contacts import
of fields only the edit form describes on a CRM without contacts, and validate --online.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.helpers import TOKEN, last_json, run_cli, state, write_csv, write_mapping

CONTACT_CUSTOM = {
    "cf_customer_tier": "Select", "cf_interests": "MultiSelect", "cf_preferred_channel": "Radio",
    "cf_lead_channels": "Checkbox", "cf_signup_date": "Date", "cf_last_seen_at": "DateTime",
    "cf_newsletter": "Boolean", "cf_lead_score": "Number", "cf_budget": "Numeric",
    "cf_linkedin_url": "Url", "cf_alt_email": "Email", "cf_external_id": "Text",
    "cf_bio": "Textarea", "cf_home_timezone": "Timezone", "cf_brand_color": "ColorSwatch",
}


def test_fields_contacts_shows_types_and_related_resources(sandbox: Any) -> None:
    result = run_cli(["fields", "contacts", "--json"], url=sandbox.url, token=TOKEN)
    assert result.returncode == 0, result.stderr
    listed = json.loads(result.stdout)
    kinds = {name: (f["type"], f["related"]) for name, f in listed.items()}
    assert kinds["email"] == ("Email", None)
    assert kinds["phones"] == ("Phone", None)
    assert kinds["user_id"] == ("BelongsTo", "users")
    assert kinds["source_id"] == ("BelongsTo", "sources")
    assert kinds["country_id"] == ("BelongsTo", "countries")
    assert kinds["companies"] == ("Association", "companies")
    assert kinds["deals"] == ("Association", "deals")
    assert {k: listed[k]["type"] for k in CONTACT_CUSTOM} == CONTACT_CUSTOM
    assert listed["job_title"]["described"] in ("update", "accepted")
    table = run_cli(["fields", "contacts"], url=sandbox.url, token=TOKEN).stdout
    line = next(ln for ln in table.splitlines() if ln.startswith("country_id"))
    assert "BelongsTo" in line and "-> countries" in line and "edit only" in line


def test_deal_and_company_fields(sandbox: Any) -> None:
    deals = json.loads(run_cli(["fields", "deals", "--json"], url=sandbox.url, token=TOKEN).stdout)
    assert (deals["amount"]["type"], deals["stage_id"]["related"]) == ("Decimal", "pipeline-stages")
    assert (deals["status"]["type"], deals["status"]["choices"]) == ("Enum", ["open", "won", "lost"])
    assert deals["status"]["described"] == "accepted"
    companies = json.loads(
        run_cli(["fields", "companies", "--json"], url=sandbox.url, token=TOKEN).stdout)
    assert (companies["industry_id"]["type"], companies["industry_id"]["related"]) == (
        "BelongsTo", "industries")
    assert (companies["parent_company_id"]["related"], companies["domain"]["type"]) == (
        "companies", "Domain")


def test_job_title_and_city_import_on_a_crm_without_contacts(sandbox_factory: Any,
                                                              tmp_path: Path) -> None:
    sb = sandbox_factory(seed="empty")
    assert not [c for c in state(sb.url)["contacts"]]
    data = write_csv(tmp_path / "leads.csv", ["First", "Job", "City", "Country"],
                     [["Amna", "Buyer", "Karachi", "Pakistan"], ["Omar", "CFO", "Kuwait City", "KW"],
                      ["Sofía", "CEO", "Santiago", "Chile"]])
    mapping = write_mapping(tmp_path / "m.yaml", """
version: 1
resource: contacts
columns:
  First: first_name
  Job: job_title
  City: city
  Country: {field: country_id, lookup: {resource: countries, by: name}}
""")
    result = run_cli(["import", str(data), "-m", str(mapping), "--json"], url=sb.url, token=TOKEN)
    assert result.returncode == 0, result.stderr + result.stdout
    assert last_json(result.stdout)["created"] == 3
    made = {c["first_name"]: c for c in state(sb.url)["contacts"]}
    assert (made["Amna"]["job_title"], made["Amna"]["city"], made["Amna"]["country_id"]) == (
        "Buyer", "Karachi", 586)
    assert made["Omar"]["country_id"] == 414 and made["Sofía"]["country_id"] == 152


def test_validate_online_rejects_a_malformed_email(sandbox: Any, tmp_path: Path) -> None:
    data = write_csv(tmp_path / "c.csv", ["First", "Mail"],
                     [["Ann", "ann@example.com"], ["Bob", "broken-email"]])
    mapping = write_mapping(tmp_path / "m.yaml", """
version: 1
resource: contacts
columns:
  First: first_name
  Mail: email
""")
    result = run_cli(["validate", str(data), "-m", str(mapping), "--online", "--json"],
                     url=sandbox.url, token=TOKEN)
    assert result.returncode == 1, result.stderr
    summary = last_json(result.stdout)
    assert (summary["rows"], summary["rejected"]) == (2, 1)
