"""Country names as sheets type them, and hints for keys that are not found."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import requests

from concord_etl.validate.country_names import ALIAS_GROUPS, country_keys, fold, key_forms
from concord_etl.validate.lookup_hints import NameIndex
from concord_etl.validate.lookups import record_keys
from tests.helpers import (
    TOKEN,
    last_json,
    live,
    read_results,
    run_cli,
    state,
    write_csv,
    write_mapping,
)


def test_fold_drops_accents_and_reads_ampersands() -> None:
    assert fold("  Côte d’Ivoire ") == "cote d'ivoire"
    assert fold("Svalbard & Jan Mayen") == "svalbard and jan mayen"
    assert fold("Türkiye") == "turkiye"


def test_a_country_is_found_by_its_other_names() -> None:
    assert {"czech republic", "czechia"} <= country_keys("Czechia")
    assert "turkey" in country_keys("Türkiye")
    assert country_keys("Narnia") == {"narnia"}


def test_a_trailing_note_is_dropped_from_the_typed_name_only() -> None:
    assert key_forms("Falkland Islands (Malvinas)") == [
        "falkland islands (malvinas)", "falkland islands"]
    assert key_forms("Bouvet Island (Bouvetoya)")[-1] == "bouvet island"


def test_no_alias_names_two_groups() -> None:
    names = Counter(name for group in ALIAS_GROUPS for name in group)
    assert [n for n, seen in names.items() if seen > 1] == []
    assert all(name == fold(name) for name in names)     # groups hold folded names


@pytest.mark.parametrize(("typed", "names", "hints"), [
    ("Korea", ["North Korea", "South Korea", "Kenya"], ["North Korea", "South Korea"]),
    ("Referals", ["Referrals", "Web"], ["Referrals"]),
    ("Carrier pigeon", ["Referrals", "Web", "Trade show"], []),
    ("Web", ["web", "Webinar"], []),                     # an exact match needs no hint
])
def test_similar_names(typed: str, names: list[str], hints: list[str]) -> None:
    assert NameIndex(names).similar(typed) == hints


def test_no_key_of_the_crm_countries_names_two_countries(sandbox) -> None:
    countries = requests.get(f"{sandbox.url}/api/countries", timeout=10,
                             headers={"Authorization": f"Bearer {TOKEN}",
                                      "Accept": "application/json"}).json()
    owners: dict[str, set[int]] = {}
    for country in countries:
        for key in record_keys("countries", "name", country):
            owners.setdefault(key, set()).add(country["id"])
    assert {k: ids for k, ids in owners.items() if len(ids) > 1} == {}


MAPPING = """\
version: 1
resource: companies
columns:
  Name: name
  Country: {field: country_id, lookup: {resource: countries, by: name}}
"""


def test_sheet_country_names_resolve_and_the_rest_say_what_is_close(sandbox, tmp_path: Path) -> None:
    typed = ["Cote d'Ivoire", "Czech Republic", "Turkey", "Reunion", "Falkland Islands (Malvinas)",
             "Svalbard & Jan Mayen Islands", "Kyrgyz Republic", "Cape Verde", "UK", "GB",
             "Korea", "Netherlands Antilles"]
    data = write_csv(tmp_path / "orgs.csv", ["Name", "Country"],
                     [[f"Org {i}", name] for i, name in enumerate(typed)])
    mapping = write_mapping(tmp_path / "m.yaml", MAPPING)
    checked = run_cli(["validate", str(data), "-m", str(mapping), "--online", "--json",
                       "--results", str(tmp_path / "v.csv")], url=sandbox.url, token=TOKEN)
    reasons = {e["row"]: e["reason"] for e in last_json(checked.stdout)["errors"]}
    assert sorted(reasons) == [12, 13]                  # rows of "Korea" and "Netherlands Antilles"
    assert reasons[12] == ("Country: country 'Korea' not found (looked up by name; "
                           "similar: North Korea, South Korea)")
    assert reasons[13].startswith("Country: country 'Netherlands Antilles' not found")
    assert [r["Country"] for r in read_results(tmp_path / "v.csv")] == typed[-2:]
    imported = run_cli(["import", str(data), "-m", str(mapping), "--json"],
                       url=sandbox.url, token=TOKEN)
    assert imported.returncode == 1, imported.stderr      # two rows rejected, ten created
    countries = {c["id"]: c["name"] for c in state(sandbox.url)["countries"]}
    written = {c["name"]: countries.get(c.get("country_id"))
               for c in live(state(sandbox.url)["companies"]) if c["name"].startswith("Org ")}
    assert written == {
        "Org 0": "Côte d'Ivoire", "Org 1": "Czechia", "Org 2": "Türkiye", "Org 3": "Réunion",
        "Org 4": "Falkland Islands", "Org 5": "Svalbard and Jan Mayen", "Org 6": "Kyrgyzstan",
        "Org 7": "Cabo Verde", "Org 8": "United Kingdom", "Org 9": "United Kingdom"}
