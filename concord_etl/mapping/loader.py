"""Mapping YAML (README "Mapping reference") → a validated, immutable ``Mapping``.

Every problem is a ``MappingError`` that names the file, the key path
(``columns."E-mail".lookup.by``) and the line, and says what was expected.
"""

from __future__ import annotations

import codecs
import hashlib
import json
from collections.abc import Mapping as AbcMapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from concord_etl.mapping.columns import parse_column, parse_field_name
from concord_etl.mapping.document import Document, DocumentChecker, KeyPath, read_document
from concord_etl.mapping.model import RESOURCES, ColumnSpec, Mapping, MatchSpec, SourceHints

TOP_KEYS = ("version", "resource", "source", "match", "columns", "defaults")
SOURCE_KEYS = ("sheet", "header_row", "encoding", "delimiter")
MATCH_KEYS = ("on", "when_found", "when_missing")
WHEN_FOUND = ("update", "skip", "error")
WHEN_MISSING = ("create", "skip")
# Fields whose values from several columns are merged into one list; any other field fed by
# several columns takes the first non-empty one, in the mapping's order.
MULTI_COLUMN_FIELDS = ("phones", "tags", "companies", "contacts", "deals")
SUPPORTED_VERSION = 1
# Sections of an import mapping read by ``mapping.records`` (several records per row, deal
# products); ``load_mapping`` refuses them with a pointer there.
IMPORT_ONLY_KEYS = ("records", "products")


def load_mapping(path: str | Path) -> Mapping:
    """Read and validate a mapping file."""
    document = read_document(path)
    return _build(document, Path(path))


def mapping_from_dict(data: Any, path: str | Path | None = None) -> Mapping:
    """Validate already-parsed mapping data (errors carry no line numbers)."""
    document = Document(data=data, path=str(path) if path is not None else None)
    return _build(document, Path(path) if path is not None else None)


def mapping_digest(data: Any) -> str:
    """sha256 of the canonical JSON (sorted keys, compact) of parsed mapping data."""
    text = json.dumps(
        data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_jsonable
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _jsonable(value: Any) -> Any:
    if isinstance(value, AbcMapping):
        return dict(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=str)
    return str(value)


def _build(document: Document, path: Path | None) -> Mapping:
    rules = DocumentChecker(document)
    data = document.data
    if data is None:
        raise rules.error((), "empty mapping file; expected `version: 1`, `resource:` and `columns:`")
    top = rules.mapping(data, (), "a mapping file")
    for section in IMPORT_ONLY_KEYS:
        if section in top:
            message = (
                f"`{section}:` mappings are read by load_import_mapping (the import and validate "
                "commands), not by load_mapping"
            )
            raise rules.error((section,), message)
    rules.keys(top, (), TOP_KEYS, required=("version", "resource", "columns"))
    version = _version(rules, top["version"])
    resource = rules.choice(top["resource"], ("resource",), RESOURCES, "resource")
    source = _source(rules, top.get("source"))
    columns, match, defaults = _columns_match_defaults(rules, top, ())
    return Mapping(
        resource=resource,
        columns=columns,
        match=match,
        source=source,
        defaults=defaults,
        version=version,
        path=path,
        digest=mapping_digest(data),
    )


def _columns_match_defaults(
    rules: DocumentChecker, obj: AbcMapping[str, Any], prefix: KeyPath
) -> tuple[tuple[ColumnSpec, ...], MatchSpec, MappingProxyType]:
    """``columns:``, ``match:`` and ``defaults:`` of one mapping body, checked together.

    Shared by a plain mapping (``prefix=()``) and each record of a ``records:`` mapping
    (``prefix=("records", name)``), so errors name the full key path.
    """
    columns = _columns(rules, obj["columns"], (*prefix, "columns"))
    match = _match(rules, obj.get("match"), columns, (*prefix, "match"))
    defaults = _defaults(rules, obj.get("defaults"), (*prefix, "defaults"))
    _fallbacks(rules, columns, defaults, prefix)
    return columns, match, defaults


def _version(rules: DocumentChecker, value: Any) -> int:
    if isinstance(value, bool) or value != SUPPORTED_VERSION:
        shown = rules.shown(value, ("version",))
        message = (
            f"unsupported mapping version {shown}; this concord-etl reads "
            f"`version: {SUPPORTED_VERSION}` files"
        )
        raise rules.error(("version",), message)
    return SUPPORTED_VERSION


def _source(rules: DocumentChecker, value: Any) -> SourceHints:
    if value is None:
        return SourceHints()
    key: KeyPath = ("source",)
    obj = rules.mapping(value, key, "reader hints (sheet, header_row, encoding, delimiter)")
    rules.keys(obj, key, SOURCE_KEYS)
    hints: dict[str, Any] = {}
    if "sheet" in obj:
        hints["sheet"] = _sheet(rules, obj["sheet"], (*key, "sheet"))
    if "header_row" in obj:
        row = obj["header_row"]
        if isinstance(row, bool) or not isinstance(row, int) or row < 1:
            shown = rules.shown(row, (*key, "header_row"))
            message = f"expected the 1-based row number of the header (1, 2, ...), got {shown}"
            raise rules.error((*key, "header_row"), message)
        hints["header_row"] = row
    if "encoding" in obj:
        hints["encoding"] = _encoding(rules, obj["encoding"], (*key, "encoding"))
    if "delimiter" in obj:
        hints["delimiter"] = _delimiter(rules, obj["delimiter"], (*key, "delimiter"))
    return SourceHints(**hints)


def _sheet(rules: DocumentChecker, value: Any, key: KeyPath) -> str | int:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return rules.text(value, key, "a sheet name (or a 0-based sheet position)")


def _encoding(rules: DocumentChecker, value: Any, key: KeyPath) -> str:
    name = rules.text(value, key, "`auto` or an encoding name such as utf-8 or cp1252")
    if name.lower() == "auto":
        return "auto"
    try:
        codecs.lookup(name)
    except LookupError:
        message = f"unknown encoding {name!r}; expected `auto` or a name such as utf-8 or cp1252"
        raise rules.error(key, message) from None
    return name


_DELIMITER_NAMES = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|"}


def _delimiter(rules: DocumentChecker, value: Any, key: KeyPath) -> str:
    expected = "`auto`, one character such as ';' or ',' or the word `tab`"
    if not isinstance(value, str) or value == "":
        message = f"expected {expected}, got {rules.shown(value, key)}"
        raise rules.error(key, message)
    if value.lower() == "auto":
        return "auto"
    value = _DELIMITER_NAMES.get(value.lower(), value)
    if len(value) != 1 or value in "\"\r\n" or value.isalnum():
        raise rules.error(key, f"expected {expected}, got {value!r}")
    return value


def _columns(rules: DocumentChecker, value: Any, key: KeyPath = ("columns",)
             ) -> tuple[ColumnSpec, ...]:
    obj = rules.mapping(value, key, "spreadsheet columns mapped to CRM fields (`Header: field`)")
    if not obj:
        message = "no columns; map at least one spreadsheet column to a field, e.g. `E-mail: email`"
        raise rules.error(key, message)
    specs = tuple(parse_column(rules, header, spec, (*key, header)) for header, spec in obj.items())
    splitter = next((s for s in specs if "split_name" in s.transform), None)
    if splitter is not None:
        for spec in specs:
            if spec.field == "last_name":
                where = f" (line {splitter.line})" if splitter.line is not None else ""
                message = (
                    f"column {splitter.column!r}{where} splits full names into first_name and "
                    f"last_name, so no other column may feed last_name; remove one of them"
                )
                raise rules.error((*key, spec.column), message)
    return specs


def _match(rules: DocumentChecker, value: Any, columns: tuple[ColumnSpec, ...],
           key: KeyPath = ("match",)) -> MatchSpec:
    if value is None:
        return MatchSpec()
    obj = rules.mapping(value, key, "how rows find existing records (on, when_found, when_missing)")
    rules.keys(obj, key, MATCH_KEYS, required=("on",))
    on = _match_on(rules, obj["on"], (*key, "on"), columns)
    spec: dict[str, Any] = {"on": on}
    if "when_found" in obj:
        spec["when_found"] = rules.choice(
            obj["when_found"], (*key, "when_found"), WHEN_FOUND, "when_found"
        )
    if "when_missing" in obj:
        spec["when_missing"] = rules.choice(
            obj["when_missing"], (*key, "when_missing"), WHEN_MISSING, "when_missing"
        )
    return MatchSpec(**spec)


def _match_on(
    rules: DocumentChecker, value: Any, key: KeyPath, columns: tuple[ColumnSpec, ...]
) -> tuple[str, ...]:
    items: list[tuple[KeyPath, Any]]
    if isinstance(value, (list, tuple)):
        items = [((*key, i), item) for i, item in enumerate(value)]
    else:
        items = [(key, value)]
    if not items:
        raise rules.error(key, "expected at least one field, e.g. `on: [email]` or `on: [id]`")
    mapped = {c.field for c in columns}
    names: list[str] = []
    for item_key, item in items:
        name = parse_field_name(rules, item, item_key)
        if name in names:
            raise rules.error(item_key, f"field {name!r} is listed twice")
        if name != "id" and name not in mapped:
            known = ", ".join(sorted(mapped))
            message = (
                f"cannot match on {name!r}: no column is mapped to it "
                f"(mapped fields: {known}; `id` is always allowed)"
            )
            raise rules.error(item_key, message)
        names.append(name)
    return tuple(names)


def _defaults(rules: DocumentChecker, value: Any, key: KeyPath = ("defaults",)
              ) -> MappingProxyType:
    if value is None:
        return MappingProxyType({})
    obj = rules.mapping(value, key, "field → value used when the column is empty or absent")
    out: dict[str, Any] = {}
    for name, item in obj.items():
        item_key = (*key, name)
        field = parse_field_name(rules, name, item_key)
        out[field] = _default_value(rules, item, item_key)
    return MappingProxyType(out)


def _fallbacks(
    rules: DocumentChecker, columns: tuple[ColumnSpec, ...], defaults: MappingProxyType,
    prefix: KeyPath = (),
) -> None:
    """``when_not_found: default`` needs a default for its field."""
    for spec in columns:
        lookup = spec.lookup
        if lookup is not None and lookup.when_not_found == "default" and spec.field not in defaults:
            key: KeyPath = (*prefix, "columns", spec.column, "lookup", "when_not_found")
            message = (
                f"when_not_found: default needs a value for {spec.field!r} under `defaults:` "
                f"(for example `defaults: {{{spec.field}: ...}}`)"
            )
            raise rules.error(key, message)


_SCALARS = (str, int, float, bool)


def _default_value(rules: DocumentChecker, value: Any, key: KeyPath) -> Any:
    expected = "a value (text, number, true/false) or a list of values, e.g. `tags: [imported]`"
    if value is None:
        raise rules.error(key, f"no value; expected {expected}, or remove the line")
    if isinstance(value, _SCALARS):
        return value
    if isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            if not isinstance(item, _SCALARS):
                message = f"expected a plain value, got {rules.shown(item, (*key, i))}"
                raise rules.error((*key, i), message)
        return tuple(value)
    raise rules.error(key, f"expected {expected}, got {rules.shown(value, key)}")
