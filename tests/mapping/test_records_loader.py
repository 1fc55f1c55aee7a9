"""records: mappings and deal products: what loads, in which order, and what is refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from concord_etl.errors import MappingError
from concord_etl.mapping import (
    Mapping,
    RecordsMapping,
    load_import_mapping,
    load_mapping,
)
from concord_etl.mapping.model import as_records, runs_as_records


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "m.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def refused(tmp_path: Path, text: str) -> MappingError:
    with pytest.raises(MappingError) as info:
        load_import_mapping(write(tmp_path, text))
    return info.value


LEADS = """\
version: 1
records:
  note:
    resource: notes
    columns: {Notes: body}
    link: {contacts: contact}
  contact:
    resource: contacts
    match: {on: [email]}
    columns: {Email: email, First: first_name, Company: {field: companies, lookup: {resource: companies}}}
    link: {companies: company}
  company:
    resource: companies
    match: {on: [name]}
    columns: {Company: name}
"""


def test_records_come_in_dependency_order(tmp_path: Path) -> None:
    mapping = load_import_mapping(write(tmp_path, LEADS))
    assert isinstance(mapping, RecordsMapping)
    assert mapping.names == ("company", "contact", "note")
    assert mapping.record("contact").link == {"companies": "company"}
    assert mapping.columns == ("Company", "Email", "First", "Notes")
    assert mapping.run_name == "m" and len(mapping.digest) == 64
    assert runs_as_records(mapping)


def test_load_mapping_points_records_files_to_the_import_loader(tmp_path: Path) -> None:
    with pytest.raises(MappingError, match="load_import_mapping"):
        load_mapping(write(tmp_path, LEADS))


@pytest.mark.parametrize(("change", "expected"), [
    ("link: {companies: company}", None),
    ("link: {companies: firm}", "no record named 'firm'"),
    ("link: {deals: company}", "deals holds deals, but record 'company' is a companies record"),
    ("link: {owner: company}", "contacts cannot link 'owner'"),
    ("link: {companies: contact}", "cannot link to itself"),
])
def test_links_name_records_the_field_can_hold(tmp_path: Path, change: str,
                                               expected: str | None) -> None:
    text = LEADS.replace("link: {companies: company}", change)
    if expected is None:
        load_import_mapping(write(tmp_path, text))
        return
    error = refused(tmp_path, text)
    assert expected in str(error)
    assert error.key is not None and error.key.startswith("records.contact.link")
    assert error.line is not None


def test_a_cycle_of_links_is_refused(tmp_path: Path) -> None:
    text = LEADS.replace("    columns: {Company: name}\n",
                         "    columns: {Company: name}\n    link: {contacts: contact}\n")
    assert "cycle" in str(refused(tmp_path, text))


@pytest.mark.parametrize(("text", "expected"), [
    ("version: 1\nrecords: {}\n", "no records"),
    ("version: 1\nresource: contacts\nrecords: {a: {resource: contacts, columns: {E: email}}}\n",
     "belongs inside each record"),
    ("version: 1\nrecords: {Contact: {resource: contacts, columns: {E: email}}}\n",
     "lower-case word"),
    ("version: 1\nrecords: {a: {resource: contact, columns: {E: email}}}\n",
     "did you mean 'contacts'"),
    ("version: 1\nrecords: {a: {resource: contacts, columns: {E: email}, match: {on: [name]}}}\n",
     "cannot match on 'name'"),
])
def test_records_errors_name_key_and_line(tmp_path: Path, text: str, expected: str) -> None:
    assert expected in str(refused(tmp_path, text))


def test_a_record_lookup_falling_back_to_default_needs_the_default(tmp_path: Path) -> None:
    """As in a plain mapping: `when_not_found: default` without a `defaults:` entry is refused."""
    text = (
        "version: 1\n"
        "records:\n"
        "  contact:\n"
        "    resource: contacts\n"
        "    columns:\n"
        "      Email: email\n"
        "      Owner: {field: user_id, lookup: {resource: users, when_not_found: default}}\n"
    )
    error = refused(tmp_path, text)
    assert error.key == "records.contact.columns.Owner.lookup.when_not_found"
    assert error.line == 7
    assert "when_not_found: default needs a value for 'user_id'" in str(error)
    fixed = text + "    defaults: {user_id: 7}\n"
    assert isinstance(load_import_mapping(write(tmp_path, fixed)), RecordsMapping)


DEALS = """\
version: 1
resource: deals
match: {on: [name]}
columns: {Deal: name, Stage: stage_id}
products:
  columns:
    Product: {field: product_id, lookup: {resource: products, by: sku}}
    Qty: qty
  defaults: {discount_type: percent}
  tax_type: no_tax
"""


def test_a_deals_mapping_may_carry_line_items(tmp_path: Path) -> None:
    mapping = load_import_mapping(write(tmp_path, DEALS))
    assert isinstance(mapping, Mapping) and mapping.products is not None
    assert mapping.products.fields == ("product_id", "qty")
    assert mapping.products.tax_type == "no_tax"
    assert runs_as_records(mapping)
    assert as_records(mapping).names == ("",)
    with pytest.raises(MappingError, match="load_import_mapping"):
        load_mapping(write(tmp_path, DEALS))


@pytest.mark.parametrize(("change", "expected"), [
    (("resource: deals", "resource: contacts"), "belong to deals"),
    (("Qty: qty", "Qty: quantity"), "not a field of a line item"),
    (("Product: {field: product_id, lookup: {resource: products, by: sku}}", "Qty2: unit"),
     "no product column"),
    (("discount_type: percent", "discount_type: half"), "fixed, percent"),
    (("by: sku}", "by: sku, create_missing: true}"), "cannot be created from a cell value"),
    (("tax_type: no_tax", "tax_type: none"), "unknown tax_type"),
    (("by: sku}", "by: sku, when_not_found: default}"),
     "when_not_found: default needs a value for 'product_id'"),
])
def test_line_items_are_checked(tmp_path: Path, change: tuple[str, str], expected: str) -> None:
    text = DEALS.replace(*change)
    assert change[0] in DEALS
    assert expected in str(refused(tmp_path, text))


def test_notes_activities_and_calls_run_as_records(tmp_path: Path) -> None:
    def one(resource: str, columns: str) -> Any:
        return load_import_mapping(write(tmp_path, f"version: 1\nresource: {resource}\n"
                                                   f"columns: {columns}\n"))
    assert runs_as_records(one("notes", "{N: body}"))
    assert runs_as_records(one("calls", "{N: body}"))
    assert runs_as_records(one("activities", "{T: title, D: {field: due_date, type: DateOrDateTime}}"))
    assert not runs_as_records(one("contacts", "{E: email}"))
    outcome = one("activities", "{T: {field: activity_type_id, lookup: {resource: activity-types}}}")
    assert outcome.columns[0].lookup.resource == "activity-types"
