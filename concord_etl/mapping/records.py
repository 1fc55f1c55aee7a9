"""Import mappings: one resource, or several records per row (``records:``), and deal products.

``load_import_mapping`` reads what ``concord-etl import`` and ``validate`` accept: a plain v1
mapping (as ``load_mapping``), a deals mapping with a ``products:`` block (line items), or a
``records:`` mapping::

    version: 1
    records:
      company: {resource: companies, match: {on: [name]}, columns: {Company: name}}
      contact:
        resource: contacts
        match: {on: [email]}
        columns: {Email: email, First: first_name}
        link: {companies: company}        # the id of the same row's company

Records come back in dependency order (a record after every record it links to); a link that
names an unknown record, a field the resource cannot link, or a cycle is a ``MappingError``
naming the key and line.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from concord_etl.mapping.document import Document, DocumentChecker, KeyPath, read_document, suggest
from concord_etl.mapping.loader import (
    _build,
    _columns,
    _columns_match_defaults,
    _defaults,
    _fallbacks,
    _source,
    _version,
    mapping_digest,
)
from concord_etl.mapping.model import (
    DISCOUNT_TYPES,
    LINE_FIELDS,
    RESOURCES,
    TAX_TYPES,
    AnyMapping,
    ColumnSpec,
    Mapping,
    ProductLines,
    RecordsMapping,
    RecordSpec,
)

RECORDS_TOP_KEYS = ("version", "records", "source")
RECORD_KEYS = ("resource", "match", "columns", "defaults", "link", "products")
PRODUCT_KEYS = ("columns", "defaults", "tax_type")
_RECORD_NAME = re.compile(r"[a-z][a-z0-9_]*")
# What ``link:`` may fill, per resource: field → the resource of the linked record.
_ASSOCIATIONS = {"contacts": "contacts", "companies": "companies", "deals": "deals"}
LINKABLE: dict[str, dict[str, str]] = {
    "contacts": {"companies": "companies", "deals": "deals"},
    "companies": {"contacts": "contacts", "deals": "deals", "parent_company_id": "companies"},
    "deals": {"contacts": "contacts", "companies": "companies"},
    "activities": {**_ASSOCIATIONS, "guests": "contacts"},
    "notes": dict(_ASSOCIATIONS),
    "calls": dict(_ASSOCIATIONS),
    "products": {},
}
# Link fields that hold a list (merged with a column feeding the same field).
LIST_LINKS = ("companies", "contacts", "deals", "guests")


def load_import_mapping(path: str | Path) -> AnyMapping:
    """Read and validate an import mapping (plain, with deal products, or ``records:``)."""
    document = read_document(path)
    return _build_import(document, Path(path))


def import_mapping_from_dict(data: Any, path: str | Path | None = None) -> AnyMapping:
    """``load_import_mapping`` for already-parsed data (errors carry no line numbers)."""
    document = Document(data=data, path=str(path) if path is not None else None)
    return _build_import(document, Path(path) if path is not None else None)


def _build_import(document: Document, path: Path | None) -> AnyMapping:
    data = document.data
    if isinstance(data, dict) and "records" in data:
        return _records(DocumentChecker(document), data, path)
    if isinstance(data, dict) and "products" in data:
        rules = DocumentChecker(document)
        rest = {k: v for k, v in data.items() if k != "products"}
        base = _build(replace(document, data=rest), path)
        products = _products(rules, data["products"], ("products",), base.resource)
        return replace(base, products=products, digest=mapping_digest(data))
    return _build(document, path)


# -- records: ---------------------------------------------------------------------------------


def _records(rules: DocumentChecker, top: dict[str, Any], path: Path | None) -> RecordsMapping:
    for section in ("resource", "columns", "match", "defaults", "products"):
        if section in top:
            message = (
                f"`{section}:` belongs inside each record of `records:` (a file has either "
                "`resource:` + `columns:` or `records:`)"
            )
            raise rules.error((section,), message)
    rules.keys(top, (), RECORDS_TOP_KEYS, required=("version", "records"))
    version = _version(rules, top["version"])
    source = _source(rules, top.get("source"))
    what = "named records, e.g. `contact: {resource: contacts, columns: {Email: email}}`"
    block = rules.mapping(top["records"], ("records",), what)
    if not block:
        raise rules.error(("records",), f"no records; expected {what}")
    specs: dict[str, RecordSpec] = {}
    raw_links: dict[str, Any] = {}
    for name, item in block.items():
        key: KeyPath = ("records", name)
        if not _RECORD_NAME.fullmatch(name):
            message = (
                f"record name {name!r}: use a lower-case word (a-z, 0-9, _) such as contact; "
                "it names the results columns (_contact_action, _contact_id)"
            )
            raise rules.error(key, message)
        mapping = _record_mapping(rules, item, key, source, version, path)
        specs[name] = RecordSpec(name=name, mapping=mapping, line=rules.document.line(key))
        raw_links[name] = item.get("link")
    for name, raw in raw_links.items():
        link = _link(rules, raw, ("records", name, "link"), specs[name], specs)
        specs[name] = replace(specs[name], link=link)
    ordered = _dependency_order(rules, specs)
    return RecordsMapping(records=ordered, source=source, version=version, path=path,
                          digest=mapping_digest(top))


def _record_mapping(rules: DocumentChecker, item: Any, key: KeyPath, source: Any, version: int,
                    path: Path | None) -> Mapping:
    obj = rules.mapping(item, key, "a record: resource, match, columns, defaults, link")
    rules.keys(obj, key, RECORD_KEYS, required=("resource", "columns"))
    resource = rules.choice(obj["resource"], (*key, "resource"), RESOURCES, "resource")
    columns, match, defaults = _columns_match_defaults(rules, obj, key)
    products = None
    if obj.get("products") is not None:
        products = _products(rules, obj["products"], (*key, "products"), resource)
    return Mapping(resource=resource, columns=columns, match=match, source=source,
                   defaults=defaults, version=version, path=path,
                   digest=mapping_digest(obj), products=products)


def _link(rules: DocumentChecker, value: Any, key: KeyPath, spec: RecordSpec,
          specs: dict[str, RecordSpec]) -> MappingProxyType:
    if value is None:
        return MappingProxyType({})
    obj = rules.mapping(value, key, "`field: record`, e.g. `{companies: company}`")
    allowed = LINKABLE.get(spec.resource, {})
    out: dict[str, str] = {}
    for field_name, target in obj.items():
        item_key = (*key, field_name)
        if field_name not in allowed:
            fields = ", ".join(allowed) or "nothing"
            message = (
                f"{spec.resource} cannot link {field_name!r}{suggest(field_name, tuple(allowed))} "
                f"A {spec.resource} record can link: {fields}"
            )
            raise rules.error(item_key, message)
        name = rules.text(target, item_key, "the name of another record of this mapping")
        if name == spec.name:
            raise rules.error(item_key, f"record {name!r} cannot link to itself")
        if name not in specs:
            message = f"no record named {name!r}{suggest(name, tuple(specs))} Records: {', '.join(specs)}"
            raise rules.error(item_key, message)
        wanted = allowed[field_name]
        if specs[name].resource != wanted:
            message = (
                f"{field_name} holds {wanted}, but record {name!r} is a {specs[name].resource} "
                "record"
            )
            raise rules.error(item_key, message)
        fed = spec.mapping.for_field(field_name)
        if fed and field_name not in LIST_LINKS:
            message = (
                f"field {field_name!r} is already fed by column {fed[0].column!r}; a single-value "
                "field takes the column or the link, not both"
            )
            raise rules.error(item_key, message)
        out[field_name] = name
    return MappingProxyType(out)


def _dependency_order(rules: DocumentChecker, specs: dict[str, RecordSpec]
                      ) -> tuple[RecordSpec, ...]:
    """Records after those they link to; otherwise in file order. A cycle is an error."""
    done: dict[str, RecordSpec] = {}
    visiting: list[str] = []

    def visit(name: str) -> None:
        if name in done:
            return
        if name in visiting:
            cycle = [*visiting[visiting.index(name):], name]
            message = (
                f"the links form a cycle ({' → '.join(cycle)}); link one side only, e.g. the "
                "contact to its company"
            )
            raise rules.error(("records", name, "link"), message)
        visiting.append(name)
        for needed in specs[name].needs:
            visit(needed)
        visiting.pop()
        done[name] = specs[name]

    for name in specs:
        visit(name)
    return tuple(done.values())


# -- products: (a deal's line items) ----------------------------------------------------------


def _products(rules: DocumentChecker, value: Any, key: KeyPath, resource: str) -> ProductLines:
    if resource != "deals":
        message = f"products (line items) belong to deals; this mapping is for {resource}"
        raise rules.error(key, message)
    what = "a deal's line items: `columns:` (Product, Qty, Unit Price, ...), `defaults:`, `tax_type:`"
    obj = rules.mapping(value, key, what)
    rules.keys(obj, key, PRODUCT_KEYS, required=("columns",))
    columns = _columns(rules, obj["columns"], (*key, "columns"))
    for column in columns:
        _line_column(rules, column, (*key, "columns", column.column))
    if not any(c.field in ("product_id", "name") for c in columns):
        message = (
            "no product column: map one to product_id (the catalogue product, looked up by name "
            "or sku) or to name (a line found or created by its name)"
        )
        raise rules.error((*key, "columns"), message)
    defaults = _defaults(rules, obj.get("defaults"), (*key, "defaults"))
    for name, default in defaults.items():
        item_key = (*key, "defaults", name)
        if name not in LINE_FIELDS:
            raise rules.error(item_key, _unknown_line_field(name))
        if name == "discount_type" and default not in DISCOUNT_TYPES:
            message = f"discount_type is one of {', '.join(DISCOUNT_TYPES)}, got {default!r}"
            raise rules.error(item_key, message)
    _fallbacks(rules, columns, defaults, key)
    tax_type = None
    if obj.get("tax_type") is not None:
        tax_type = rules.choice(obj["tax_type"], (*key, "tax_type"), TAX_TYPES, "tax_type")
    return ProductLines(columns=columns, defaults=defaults, tax_type=tax_type,
                        line=rules.document.line(key))


def _line_column(rules: DocumentChecker, column: ColumnSpec, key: KeyPath) -> None:
    if column.field not in LINE_FIELDS:
        raise rules.error((*key, "field") if column.type else key, _unknown_line_field(column.field))
    if column.lookup is not None and column.field != "product_id":
        message = "only product_id is looked up (a product by name or sku)"
        raise rules.error((*key, "lookup"), message)
    if column.lookup is not None and column.lookup.resource != "products":
        raise rules.error((*key, "lookup", "resource"), "product_id refers to products")
    if column.lookup is not None and column.lookup.create_missing:
        message = (
            "create_missing does not apply to line items: map the column to `name` instead, "
            "and the CRM finds or creates the catalogue product by its name"
        )
        raise rules.error((*key, "lookup", "create_missing"), message)


def _unknown_line_field(name: str) -> str:
    return (
        f"{name!r} is not a field of a line item{suggest(name, LINE_FIELDS)} "
        f"Line fields: {', '.join(LINE_FIELDS)}"
    )
