"""Mapping files: parsing, validation messages (file, key path, line), immutability, digest."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from types import MappingProxyType

import pytest

from concord_etl.errors import MappingError, UsageError
from concord_etl.mapping import (
    TRANSFORMS,
    Lookup,
    Mapping,
    load_mapping,
    mapping_digest,
    mapping_from_dict,
)
from concord_etl.mapping.document import parse_document
from tests.helpers import REPO

BAD = REPO / "tests" / "data" / "mappings"

MINIMAL = """\
version: 1
resource: contacts
columns:
  E-mail: email
"""


def write(tmp_path: Path, text: str, name: str = "m.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def error_of(tmp_path: Path, text: str) -> MappingError:
    path = write(tmp_path, text)
    with pytest.raises(MappingError) as info:
        load_mapping(path)
    return info.value


# -- shipped mappings ------------------------------------------------------------------------

SHIPPED = sorted((REPO / "mappings").glob("*.yaml"))


def test_the_four_example_mappings_are_shipped() -> None:
    names = {p.name for p in SHIPPED}
    assert {"leads-contacts.yaml", "companies.yaml", "deals.yaml",
            "contacts-export.yaml"} <= names


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_every_shipped_mapping_loads(path: Path) -> None:
    from concord_etl.mapping import RecordsMapping, load_import_mapping

    mapping = load_import_mapping(path)
    assert mapping.path == path
    assert len(mapping.digest) == 64
    records = mapping.records if isinstance(mapping, RecordsMapping) else ()
    specs = [c for r in records for c in r.mapping.columns] or list(mapping.columns)
    assert all(spec.line is not None for spec in specs)


def test_leads_mapping_matches_the_sample_file_headers() -> None:
    mapping = load_mapping(REPO / "mappings" / "leads-contacts.yaml")
    headers = [
        "First Name", "Last Name", "E-mail", "Mobile", "Work Phone", "Company", "Job Title",
        "Owner", "Lead Source", "Tier", "Interests", "Signed Up", "Newsletter", "Country",
        "Budget", "Lead Score", "External ID", "Notes",
    ]
    assert [c.column for c in mapping.columns] == headers
    assert mapping.resource == "contacts"
    assert mapping.match.on == ("email",) and mapping.match.when_found == "update"
    assert mapping.source.delimiter == ";" and mapping.source.encoding == "auto"
    assert mapping.defaults["tags"] == ("imported",)
    assert mapping.column("E-mail").transform == ("strip", "lower")
    assert [c.phone_type for c in mapping.for_field("phones")] == ["mobile", "work"]
    company = mapping.column("Company").lookup
    assert company == Lookup(resource="companies", by="name", create_missing=True)
    assert mapping.column("Owner").lookup == Lookup(resource="users", by="email")
    assert mapping.column("Lead Source").lookup == Lookup(resource="sources", by="name")
    assert mapping.column("Country").lookup == Lookup(resource="countries", by="name")
    assert mapping.column("Interests").split == ","
    assert mapping.column("Signed Up").format == "%d/%m/%Y"
    newsletter = mapping.column("Newsletter")
    assert newsletter.true_values == ("yes", "y", "x")
    assert newsletter.false_values == ("no", "n")
    fields = {c.column: c.field for c in mapping.columns}
    assert fields["Tier"] == "cf_customer_tier" and fields["Notes"] == "cf_bio"
    assert fields["Budget"] == "cf_budget" and fields["Lead Score"] == "cf_lead_score"
    assert fields["External ID"] == "cf_external_id"


def test_companies_deals_and_export_mappings() -> None:
    companies = load_mapping(REPO / "mappings" / "companies.yaml")
    assert companies.match.on == ("cf_account_number",)
    assert companies.column("Industry").lookup == Lookup(resource="industries", by="name")
    assert companies.column("Segment").options == ("SMB", "Mid-Market", "Enterprise")
    assert companies.column("Phone").phone_type == "work"
    deals = load_mapping(REPO / "mappings" / "deals.yaml")
    assert deals.column("Stage").lookup == Lookup(resource="pipeline-stages", by="name")
    assert deals.column("Pipeline").lookup == Lookup(resource="pipelines", by="name")
    assert deals.column("Close Date").field == "expected_close_date"
    assert deals.column("Close Date").format == "%Y-%m-%d"
    assert deals.column("Status").field == "status"
    export = load_mapping(REPO / "mappings" / "contacts-export.yaml")
    assert export.column("ID").field == "id" and export.match.on == ("id",)
    types = {c.type for c in export.columns}
    assert {"Select", "MultiSelect", "Date"} <= types
    assert export.column("Owner").lookup == Lookup(resource="users", by="email")


# -- forms, defaults, immutability, digest ---------------------------------------------------

def test_shorthand_and_full_forms(tmp_path: Path) -> None:
    mapping = load_mapping(write(tmp_path, """\
version: 1
resource: contacts
columns:
  First Name: first_name
  Tier:
    field: cf_customer_tier
    type: Select
    options: [Bronze, Gold]
    create_options: true
    required: false
  Stage Pref: {field: cf_interests, type: MultiSelect, split: "|", transform: strip}
"""))
    first, tier, interests = mapping.columns
    assert first == dataclasses.replace(first, field="first_name", type=None, transform=())
    assert (first.column, first.field, first.line) == ("First Name", "first_name", 4)
    assert (tier.type, tier.options, tier.create_options, tier.required) == (
        "Select", ("Bronze", "Gold"), True, False)
    assert tier.line == 5
    assert (interests.split, interests.transform) == ("|", ("strip",))
    assert mapping.match.on == () and mapping.defaults == {}


def test_defaults_are_kept_per_field(tmp_path: Path) -> None:
    mapping = load_mapping(write(tmp_path, MINIMAL + """\
defaults:
  tags: [imported, "2024"]
  cf_newsletter: false
  cf_lead_score: 10
  postal_code: 01234
"""))
    assert mapping.default("tags") == ("imported", "2024")
    assert mapping.default("cf_newsletter") is False
    assert mapping.default("cf_lead_score") == 10
    assert mapping.default("postal_code") == "01234"     # YAML 1.2: no octal, no lost zero
    assert mapping.default("missing", "x") == "x"


def test_the_model_is_immutable(tmp_path: Path) -> None:
    mapping = load_mapping(REPO / "mappings" / "leads-contacts.yaml")
    with pytest.raises(dataclasses.FrozenInstanceError):
        mapping.resource = "deals"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        mapping.columns[0].field = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        mapping.defaults["tags"] = ("other",)  # type: ignore[index]
    assert isinstance(mapping.defaults, MappingProxyType)
    assert isinstance(mapping.columns, tuple)
    assert isinstance(mapping.match.on, tuple)
    spec = mapping.column("E-mail")
    assert isinstance(spec.transform, tuple)
    scoped = mapping_from_dict({"version": 1, "resource": "deals", "columns": {
        "Stage": {"field": "stage_id", "lookup": {"resource": "pipeline-stages",
                                                   "scope": {"pipeline": "Sales Pipeline"}}}}})
    lookup = scoped.column("Stage").lookup
    assert lookup is not None and lookup.scope["pipeline"] == "Sales Pipeline"
    with pytest.raises(TypeError):
        lookup.scope["pipeline"] = "x"  # type: ignore[index]


def test_digest_ignores_layout_and_comments_but_not_content(tmp_path: Path) -> None:
    a = load_mapping(write(tmp_path, MINIMAL + "match: {on: [email]}\n", "a.yaml"))
    b = load_mapping(write(tmp_path, """\
# same mapping, other layout
match:
  on:
    - email
columns: {"E-mail": email}
resource: contacts
version: 1
""", "b.yaml"))
    c = load_mapping(write(tmp_path, MINIMAL.replace("email", "cf_alt_email"), "c.yaml"))
    assert a.digest == b.digest
    assert a.digest != c.digest
    data = parse_document((tmp_path / "a.yaml").read_text()).data
    assert mapping_from_dict(data).digest == a.digest == mapping_digest(data)
    assert load_mapping(tmp_path / "a.yaml").digest == a.digest


def test_mapping_from_dict_names_the_key_without_a_line() -> None:
    mapping = mapping_from_dict({"version": 1, "resource": "companies",
                                 "columns": {"Name": "name"}, "match": {"on": "name"}})
    assert isinstance(mapping, Mapping) and mapping.path is None
    assert mapping.match.on == ("name",)
    with pytest.raises(MappingError) as info:
        mapping_from_dict({"version": 1, "resource": "companies",
                           "columns": {"Name": {"field": "name", "trasform": "strip"}}},
                          path="inline.yaml")
    assert str(info.value).startswith("inline.yaml: columns.Name.trasform: unknown key")
    assert "did you mean 'transform'" in str(info.value)
    assert info.value.line is None and info.value.key == "columns.Name.trasform"


def test_several_columns_may_feed_phones_tags_and_associations(tmp_path: Path) -> None:
    mapping = load_mapping(write(tmp_path, """\
version: 1
resource: contacts
columns:
  Mobile: {field: phones, phone_type: mobile}
  Home: {field: phones, phone_type: other}
  Tag A: tags
  Tag B: tags
  Company: {field: companies, lookup: {resource: companies}}
  Other Company: {field: companies, lookup: {resource: companies, by: email}}
"""))
    assert len(mapping.for_field("phones")) == 2
    assert mapping.fields == ("phones", "tags", "companies")


def test_yaml_11_words_stay_text(tmp_path: Path) -> None:
    mapping = load_mapping(write(tmp_path, """\
version: 1
resource: contacts
columns:
  No: {field: cf_newsletter, true_values: [yes, on, Y, 1], false_values: [no, off, N, 0]}
  123: cf_external_id
  2024-01-01: cf_bio
"""))
    assert [c.column for c in mapping.columns] == ["No", "123", "2024-01-01"]
    assert mapping.column("No").true_values == ("yes", "on", "Y", "1")
    assert mapping.column("No").false_values == ("no", "off", "N", "0")


def test_anchors_and_merge_keys(tmp_path: Path) -> None:
    mapping = load_mapping(write(tmp_path, """\
version: 1
resource: deals
columns:
  Owner: {field: user_id, lookup: &by_email {resource: users, by: email}}
  Company:
    field: companies
    lookup: {<<: *by_email, resource: companies}
"""))
    assert mapping.column("Company").lookup == Lookup(resource="companies", by="email")


def test_python_tags_are_refused_not_executed(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    error = error_of(tmp_path, MINIMAL + f"defaults:\n  tags: !!python/object/apply:os.system "
                     f"['touch {marker}']\n")
    assert "unsupported tag" in str(error)
    assert (error.key, error.line) == ("defaults.tags", 6)
    assert not marker.exists()


def test_alias_bombs_are_stopped(tmp_path: Path) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 8):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    error = error_of(tmp_path, MINIMAL + "\n".join(lines) + "\n")
    assert "too large" in str(error)


def test_mapping_error_is_a_usage_error(tmp_path: Path) -> None:
    assert isinstance(error_of(tmp_path, "version: 1\n"), UsageError)


def test_transform_names_come_from_one_constant() -> None:
    assert set(TRANSFORMS) == {"strip", "lower", "upper", "title", "collapse_spaces", "digits"}


# -- error messages: file, key path, line ----------------------------------------------------

def head(columns: str, extra: str = "", resource: str = "contacts") -> str:
    return f"version: 1\nresource: {resource}\n{extra}columns:\n{columns}"


CASES = [
    # (yaml text, key path, line, fragment of the message)
    ("verison: 1\nresource: contacts\ncolumns: {A: email}\n", "verison", 1,
     "did you mean 'version'"),
    ("resource: contacts\ncolumns: {A: email}\n", None, 1, "missing required key 'version'"),
    ("version: 2\nresource: contacts\ncolumns: {A: email}\n", "version", 1,
     "unsupported mapping version 2"),
    ("version: one\nresource: contacts\ncolumns: {A: email}\n", "version", 1,
     "unsupported mapping version 'one'"),
    ("version: 1\nresource: contact\ncolumns: {A: email}\n", "resource", 2,
     "did you mean 'contacts'"),
    ("version: 1\nresource: contacts\n", None, 1, "missing required key 'columns'"),
    (head("  A: email\n", "source:\n  header_row: 0\n"), "source.header_row", 4,
     "1-based row number"),
    (head("  A: email\n", "source:\n  encoding: klingon\n"), "source.encoding", 4,
     "unknown encoding 'klingon'"),
    (head("  A: email\n", "source:\n  delimiter: ab\n"), "source.delimiter", 4,
     "one character"),
    (head("  A: email\n", "source: [x]\n"), "source", 3, "expected reader hints"),
    (head("  A: email\n", "match:\n  on: [email]\n  when_found: upsert\n"), "match.when_found",
     5, "Expected one of: update, skip, error"),
    (head("  A: email\n", "match:\n  on: [email]\n  when_missing: insert\n"),
     "match.when_missing", 5, "Expected one of: create, skip"),
    (head("  A: email\n", "match:\n  on: [email, phones]\n"), "match.on[1]", 4,
     "no column is mapped to it"),
    (head("  A: email\n", "match:\n  on: []\n"), "match.on", 4, "at least one field"),
    (head("  A: email\n", "match:\n  when_found: skip\n"), "match", 3,
     "missing required key 'on'"),
    (head("  A: email\n", "match:\n  on: [email, email]\n"), "match.on[1]", 4, "listed twice"),
    ("version: 1\nresource: contacts\ncolumns: {}\n", "columns", 3, "no columns"),
    ("version: 1\nresource: contacts\ncolumns:\n", "columns", 3, "got an empty value"),
    (head("  Fax:\n"), "columns.Fax", 4, "no field given"),
    (head("  Fax: [a, b]\n"), "columns.Fax", 4, "got a list"),
    (head("  E-mail: E-Mail Address\n"), 'columns."E-mail"', 4, "perhaps 'e_mail_address'"),
    (head("  A: {feild: email}\n"), "columns.A.feild", 4, "did you mean 'field'"),
    (head("  A: {type: Email}\n"), "columns.A", 4, "missing required key 'field'"),
    (head("  A: {field: email, type: Mail}\n"), "columns.A.type", 4, "did you mean 'Email'"),
    (head("  E-mail:\n    field: email\n    transform: [strip, lowercase]\n"),
     'columns."E-mail".transform[1]', 6, "unknown transform 'lowercase'; did you mean 'lower'"),
    (head("  A: {field: email, transform: []}\n"), "columns.A.transform", 4,
     "expected a transform"),
    (head("  Mobile: {field: phones, phone_type: cell}\n"), "columns.Mobile.phone_type", 4,
     "Expected one of: mobile, work, other"),
    (head("  Mobile: {field: email, phone_type: mobile}\n"), "columns.Mobile.phone_type", 4,
     "only applies to the phones field"),
    (head("  D:\n    field: cf_signup_date\n    format: \"%d/%m\"\n"), "columns.D.format", 6,
     "needs a day, a month and a year"),
    (head("  D: {field: cf_signup_date, format: \"%Q-%d\"}\n"), "columns.D.format", 4,
     "not a valid strptime format"),
    (head("  D: {field: cf_signup_date, format: dd/mm/yyyy}\n"), "columns.D.format", 4,
     "has no % directive"),
    (head("  D: {field: cf_bio, type: Text, format: \"%Y-%m-%d\"}\n"), "columns.D.format", 4,
     "only applies to Date, DateTime, DateOrDateTime fields"),
    (head("  I: {field: cf_interests, split: \"\"}\n"), "columns.I.split", 4,
     "non-empty separator"),
    (head("  I: {field: cf_customer_tier, type: Select, split: \",\"}\n"), "columns.I.split", 4,
     "split only applies to"),
    (head("  N:\n    field: cf_newsletter\n    true_values: [yes, x]\n"
          "    false_values: [no, X]\n"), "columns.N.false_values[1]", 7,
     "in both true_values and false_values"),
    (head("  N: {field: cf_lead_score, type: Number, true_values: [yes]}\n"),
     "columns.N.true_values", 4, "only applies to Boolean"),
    (head("  N: {field: cf_newsletter, true_values: []}\n"), "columns.N.true_values", 4,
     "empty list"),
    (head("  Owner:\n    field: user_id\n    lookup:\n      resource: owner\n"),
     "columns.Owner.lookup.resource", 7, "did you mean 'users'"),
    (head("  Stage: {field: stage_id, lookup: {resource: stages}}\n", resource="deals"),
     "columns.Stage.lookup.resource", 4, "did you mean 'pipeline-stages'"),
    (head("  Owner:\n    field: user_id\n    lookup:\n      resource: users\n"
          "      by: E-mail\n"), "columns.Owner.lookup.by", 8, "such as name or email"),
    (head("  Owner:\n    field: user_id\n    lookup: {resource: sources}\n"),
     "columns.Owner.lookup.resource", 6, "refers to users, not sources"),
    (head("  Tier:\n    field: cf_customer_tier\n    lookup: {resource: users}\n"),
     "columns.Tier.lookup", 6, "only applies to related-record fields"),
    (head("  Owner:\n    field: user_id\n    lookup: {resource: users, create_missing: true}\n"),
     "columns.Owner.lookup.create_missing", 6, "users cannot be created"),
    (head("  C: {field: companies, lookup: {resource: companies, create_missing: yes}}\n"),
     "columns.C.lookup.create_missing", 4, "expected true or false, got 'yes'"),
    (head("  C: {field: companies, lookup: {resource: companies, scope: [a]}}\n"),
     "columns.C.lookup.scope", 4, "expected a mapping such as"),
    (head("  T: cf_tier2\n"), "columns.T", 4, "custom field id 'cf_tier2' is malformed"),
    (head("  T: {field: cf_Tier}\n"), "columns.T.field", 4, "no digits, spaces or capitals"),
    (head("  T: {field: cf_customer_tier, options: [Gold]}\n"), "columns.T.options", 4,
     "options need a type"),
    (head("  T: {field: cf_customer_tier, type: Select, options: [Gold, gold]}\n"),
     "columns.T.options[1]", 4, "listed twice"),
    (head("  T: {field: cf_customer_tier, type: Select, options: [\"Gold, Plus\"]}\n"),
     "columns.T.options[0]", 4, "contains a comma"),
    (head("  T: {field: cf_bio, type: Textarea, options: [a]}\n"), "columns.T.options", 4,
     "options only applies to"),
    (head("  T: {field: cf_bio, type: Text, create_options: true}\n"),
     "columns.T.create_options", 4, "create_options only applies to"),
    (head("  T: {field: first_name, required: 1}\n"), "columns.T.required", 4,
     "expected true or false, got 1"),
    (head("  P: {field: phones, type: Text}\n"), "columns.P.type", 4,
     "'phones' is a Phone field in Concord"),
    (head("  E-mail: email\n  Mail: email\n"), "columns.Mail", 5,
     "already fed by column 'E-mail' (line 4)"),
    (head("  A: email\n") + "defaults:\n  tags:\n", "defaults.tags", 6, "no value"),
    (head("  A: email\n") + "defaults:\n  tags: {a: 1}\n", "defaults.tags", 6,
     "expected a value"),
    (head("  A: email\n") + "defaults:\n  Tags: [x]\n", "defaults.Tags", 6,
     "not a CRM field attribute"),
    (head("  A: email\n") + "defaults:\n  tags: [[x]]\n", "defaults.tags[0]", 6,
     "expected a plain value"),
    ("- version: 1\n", None, 1, "expected a mapping file, got a list"),
    (head("  A: email\n  A: first_name\n"), "columns.A", 5,
     "duplicate key 'A' (first on line 4)"),
    (head("  A: email\n  [x]: y\n"), "columns", 5, "a key must be plain text"),
]


@pytest.mark.parametrize(("text", "key", "line", "fragment"), CASES)
def test_errors_name_file_key_and_line(
    tmp_path: Path, text: str, key: str | None, line: int, fragment: str
) -> None:
    error = error_of(tmp_path, text)
    path = str(tmp_path / "m.yaml")
    assert error.path == path
    assert error.key == key
    assert error.line == line
    assert fragment in str(error)
    prefix = f"{path}:{line}: " + (f"{key}: " if key else "")
    assert str(error).startswith(prefix)


FILE_CASES = [
    ("duplicate-header.yaml", 'columns."E-mail"', 6, "duplicate key 'E-mail' (first on line 4)"),
    ("unknown-lookup-key.yaml", "columns.Owner.lookup.create_mising", 11,
     "did you mean 'create_missing'"),
    ("bad-syntax.yaml", None, 5, "invalid YAML"),
    ("bad-format.yaml", 'columns."Signed Up".format', 9, "'%d/%m' does not round-trip"),
    ("unmapped-match.yaml", "match.on[1]", 7, "cannot match on 'cf_account_number'"),
    ("wrong-version.yaml", "version", 2, "this concord-etl reads `version: 1` files"),
]


@pytest.mark.parametrize(("name", "key", "line", "fragment"), FILE_CASES)
def test_bad_mapping_fixtures(name: str, key: str | None, line: int, fragment: str) -> None:
    with pytest.raises(MappingError) as info:
        load_mapping(BAD / name)
    error = info.value
    assert (error.path, error.key, error.line) == (str(BAD / name), key, line)
    assert fragment in str(error)
    assert str(error).startswith(f"{BAD / name}:{line}: ")


def test_syntax_errors_report_where_the_construct_started() -> None:
    with pytest.raises(MappingError) as info:
        load_mapping(BAD / "bad-syntax.yaml")
    assert "flow sequence" in str(info.value)


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(MappingError, match="file not found") as info:
        load_mapping(tmp_path / "absent.yaml")
    assert info.value.path == str(tmp_path / "absent.yaml")
    with pytest.raises(MappingError, match="not UTF-8") as info:
        load_mapping(BAD / "latin1.yaml")
    assert info.value.path == str(BAD / "latin1.yaml")
    with pytest.raises(MappingError, match="empty mapping file"):
        load_mapping(write(tmp_path, "# nothing here\n"))
    with pytest.raises(MappingError, match="expected a single document"):
        load_mapping(write(tmp_path, MINIMAL + "---\n" + MINIMAL))


def test_a_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + MINIMAL.encode())
    assert load_mapping(path).columns[0].column == "E-mail"
