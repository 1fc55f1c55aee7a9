"""A generated lead sheet with the traits of public sample lead files, imported as companies and
then as contacts, then re-imported from its results file (the admin's loop)."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import (
    TOKEN,
    last_json,
    live,
    read_results,
    run_cli,
    state,
    write_csv,
    write_mapping,
    writes,
)

HEADER = ["Index", "Account Id", "Lead Owner", "First Name", "Last Name", "Company", "Phone 1",
          "Phone 2", "Email 1", "Email 2", "Website", "Source", "Deal Stage", "Notes"]
# traits seen in public lead files: extensions (x5610), 001- and (850) prefixes, names with
# commas, a second e-mail, owners that are not CRM users, sources the CRM does not know yet,
# and one company on several rows
ROWS = [
    ["1", "0970F99ED4a2CE4", "Bethany Dixon", "Victor", "Cochran", "Grimes, Madden and Huff",
     "+1-532-344-1362", "2754733370", "hatkinson@mclaughlin.example", "ygibbs@guzman.example",
     "http://www.rosales-molina.example/", "Retargeting Ads", "New Lead", "Speak own such."],
    ["2", "e9AABddbCA4AFee", "Andres Callahan", "Maureen", "Fuentes", "Northwind Traders",
     "001-672-799-2170x5610", "+1-887-577-1205x5686", "bshelton@wilkins.example", "",
     "https://www.myers-mendez.example/", "Google Ads", "Closed Won", "Consumer environment."],
    ["3", "99CF54fE56dDc5e", "Angel Ortega", "Ralph", "Murillo", "Northwind Traders",
     "985.939.5411x2641", "(850)241-9883x021", "mmooney@savage-shaw.example", "",
     "https://www.chase-miller.example/", "Chatbot", "Contacted", "Onto goal."],
    ["4", "5B8C661A897ACE3", "Dana Mcdonald", "Richard", "Obrien", " Northwind Traders ",
     "223.427.4047", "-1199", "trankaren@parks.example", "normanvickie@giles-ewing.example",
     "http://watts.example/", "Referral", "Proposal Sent", "Medical education."],
]
COMPANIES = """\
version: 1
resource: companies
match: {on: [name]}
columns:
  Company: {field: name, transform: [strip, collapse_spaces]}
"""
CONTACTS = """\
version: 1
resource: contacts
match: {on: [email]}
columns:
  First Name: first_name
  Last Name: last_name
  Email 1: {field: email, transform: [strip, lower]}
  Email 2: {field: email, transform: [strip, lower]}
  Phone 1: {field: phones, phone_type: mobile}
  Phone 2: {field: phones, phone_type: work}
  Company: {field: companies, lookup: {resource: companies, by: name}}
  Lead Owner: {field: user_id, lookup: {resource: users, by: name, when_not_found: default}}
  Source: {field: source_id, lookup: {resource: sources, by: name, create_missing: true}}
  Notes: cf_bio
defaults:
  user_id: Sam Seller
"""


def test_one_lead_sheet_as_companies_then_contacts_then_its_results(
    sandbox, tmp_path: Path
) -> None:
    sheet = write_csv(tmp_path / "leads.csv", HEADER, ROWS)
    companies = run_cli(["import", str(sheet), "-m", str(write_mapping(tmp_path / "co.yaml",
                         COMPANIES)), "--journal", str(tmp_path / "co.journal"), "--results",
                         str(tmp_path / "co.results.csv"), "--json"],
                        url=sandbox.url, token=TOKEN)
    assert companies.returncode == 0, companies.stderr
    assert last_json(companies.stdout)["duplicates"] == 2
    names = [c["name"] for c in live(state(sandbox.url)["companies"])]
    assert names.count("Northwind Traders") == 1 and "Grimes, Madden and Huff" in names

    mapping = write_mapping(tmp_path / "contacts.yaml", CONTACTS)
    contacts = run_cli(["import", str(sheet), "-m", str(mapping), "--journal",
                        str(tmp_path / "c.journal"), "--results", str(tmp_path / "c.results.csv"),
                        "--json"], url=sandbox.url, token=TOKEN)
    assert contacts.returncode == 0, contacts.stderr
    summary = last_json(contacts.stdout)
    assert (summary["created"], summary["rejected"]) == (4, 0)      # no false reject
    people = {c["email"]: c for c in live(state(sandbox.url)["contacts"])}
    maureen = people["bshelton@wilkins.example"]
    assert sorted(p["number"] for p in maureen["phones"]) == [
        "+1-887-577-1205x5686", "001-672-799-2170x5610"]
    assert maureen["user_id"] == 2 and maureen["companies"][0]["name"] == "Northwind Traders"
    rows = read_results(tmp_path / "c.results.csv")
    assert "the default is used" in rows[0]["_warnings"]
    assert "several different values" in rows[0]["_warnings"]        # two e-mails, one kept
    assert "does not look like a phone number" in rows[3]["_warnings"]

    before = len(writes(sandbox.url))
    again = run_cli(["import", str(tmp_path / "c.results.csv"), "-m", str(mapping), "--json"],
                    url=sandbox.url, token=TOKEN)
    assert again.returncode == 0, again.stderr
    assert last_json(again.stdout)["unchanged"] == 4
    assert len(writes(sandbox.url)) == before
