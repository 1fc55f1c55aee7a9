"""Draft a mapping YAML from a file's headers, sample values and the CRM's fields
(``mapping init``).

Headers are matched as a person would (``headers.HeaderMatcher``): built-in fields first by
exact or near-exact header, then custom fields; the sample values decide between id-like and
name-like columns (``shapes``). Every mapped column gets its ``type:`` (so offline validation
checks what the CRM would) and a comment saying why it was guessed; columns left out are
listed, commented out, with the reason. The match key is one the resource really has.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

from concord_etl.crm.fields import FieldSpec, ResourceFields
from concord_etl.errors import MappingError, RecordRejected
from concord_etl.mapping.columns import RELATED_RESOURCES, format_problem
from concord_etl.mapping.headers import (
    ROW_HEADERS,
    Guess,
    HeaderMatcher,
    has_id_word,
    norm,
    words,
)
from concord_etl.mapping.model import (
    LOOKUP_RESOURCES,
    MULTI_OPTION_TYPES,
    OPTION_TYPES,
    RESOURCES,
)
from concord_etl.mapping.shapes import (
    Shape,
    is_a_list,
    separator_in,
    shape_of,
    split_parts,
    texts_of,
)

DATE_FORMATS = (
    "%Y-%m-%d", "%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y", "%d-%m-%Y", "%Y/%m/%d", "%d/%m/%y",
    "%m/%d/%y", "%d.%m.%y", "%d %b %Y", "%d %B %Y", "%b %d, %Y", "%B %d, %Y", "%Y%m%d",
)
DATETIME_FORMATS = (
    "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S%z",
    "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M",
    "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M", "%d.%m.%Y %H:%M",
)
TRUE_WORDS = ("yes", "y", "true", "t", "1", "x", "on", "ja", "oui", "si")
FALSE_WORDS = ("no", "n", "false", "f", "0", "off", "nein", "non")
# Match keys a person would choose, per resource (besides ``id`` and unique custom fields).
MATCH_KEYS = {
    "contacts": ("email",),
    "companies": ("email",),
    "products": ("sku", "name"),
}
# A key to suggest (in a comment) when none is mapped.
SUGGESTED_KEYS = {"contacts": "email", "companies": "name", "deals": "name", "products": "sku"}
EXTERNAL_ID_WORDS = ("external", "id", "reference", "ref", "account", "customer", "number",
                     "code", "key")
MAX_OPTIONS_LISTED = 50
IDS_CHECKED = 5          # sampled ids looked up before an ID column is taken for Concord ids
# What a fetched record is recognised by in its row (any cell of the row may hold it).
RECORD_KEYS = ("email", "first_name", "last_name", "name", "display_name", "sku")
RecordsById = Callable[[list[str]], Mapping[str, Mapping[str, Any]]]
_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_ .()/'&+-]*")
_RESERVED = {"true", "false", "null", "yes", "no", "on", "off", "y", "n", "~"}


@dataclass
class _Column:
    header: str
    attribute: str | None = None
    entries: dict[str, Any] = field(default_factory=dict)   # full-form keys after `field`
    notes: list[str] = field(default_factory=list)


def draft_mapping(
    headers: list[str],
    fields: ResourceFields,
    *,
    resource: str,
    sample: dict[str, list[object]] | None = None,
    rows: list[dict[str, object]] | None = None,
    records_by_id: RecordsById | None = None,
) -> str:
    """YAML text of a mapping for ``resource`` drafted from ``headers`` and the CRM's fields.

    ``sample``: non-empty values per column; ``rows``: the first rows of the file as they are;
    ``records_by_id``: the CRM's records of some ids (absent when there is none). An ID column
    is taken for Concord ids only when the records of its sampled ids are those rows' records
    (a file from another system numbers its rows too); otherwise it is an id of another system.
    """
    if resource not in RESOURCES:
        raise MappingError(f"unknown resource {resource!r}; expected one of {', '.join(RESOURCES)}")
    sample = sample or {}
    matcher = HeaderMatcher(fields, resource)
    columns: list[_Column] = []
    seen: set[str] = set()
    for header in headers:
        column = _Column(header=str(header))
        columns.append(column)
        if not column.header.strip() or column.header in seen:
            column.notes.append("empty header" if not column.header.strip() else "duplicate header")
            continue
        seen.add(column.header)
        values = list(sample.get(column.header) or ())
        shape = shape_of(values)
        if norm(column.header) in ROW_HEADERS and shape.kind in ("row_numbers", "empty"):
            column.notes.append("row numbers of the file, not data")
            continue
        guess = (matcher.match(column.header, shape, values)
                 or _by_values(matcher, column.header, shape))
        if guess is not None and guess.spec.attribute == "id":
            concord, why = _holds_concord_ids(column.header, rows or [], records_by_id,
                                              resource)
            if not concord:
                column.notes.append(f"not Concord ids: {why}")
                guess = _by_values(matcher, column.header, shape)
        if guess is None:
            column.notes.append(_left_out(matcher, column.header, shape, fields, resource))
            continue
        matcher.take(guess.spec)
        _propose(column, guess, resource, values, shape)
    mapped = {c.attribute for c in columns}
    if "stage_id" in mapped and "pipeline_id" not in mapped and "pipeline_id" in fields:
        stage = next(c for c in columns if c.attribute == "stage_id")
        stage.notes.append("stage names may repeat across pipelines: map a Pipeline column too")
    if mapped <= {None}:
        message = (
            f"none of the {len(headers)} headers matches a {resource} field; write the mapping "
            f"by hand (`concord-etl fields {resource}` lists the fields)"
        )
        raise MappingError(message)
    return _render(columns, fields, resource)


# -- guesses from the values alone ---------------------------------------------------------------


def _holds_concord_ids(header: str, rows: list[dict[str, object]],
                       records_by_id: RecordsById | None, resource: str) -> tuple[bool, str]:
    """Whether an ID column holds the CRM's own ids: the records of a few sampled ids must each
    have a name, e-mail or SKU that stands in its row."""
    ids = [(str(int(float(str(v)))), row) for row in rows
           if (v := row.get(header)) is not None and re.fullmatch(r"\s*\d+(\.0+)?\s*", str(v))]
    ids = ids[:IDS_CHECKED]
    if records_by_id is None:
        return False, "not checked against the CRM"
    if not ids:
        return False, "no whole numbers in the first rows"
    found = records_by_id([i for i, _ in ids])
    for record_id, row in ids:
        record = found.get(record_id)
        if record is None:
            return False, f"the CRM has no {resource} record {record_id}"
        cells = {_folded(c) for c in row.values() if c is not None and str(c).strip()}
        keys = [_folded(record[k]) for k in RECORD_KEYS if record.get(k)]
        if not any(k in cells for k in keys):
            shown = next((str(record[k]) for k in RECORD_KEYS if record.get(k)), "another record")
            return False, f"the CRM's {resource} record {record_id} is {shown!r}, not this row's"
    return True, "the CRM's records of the sampled ids are these rows'"


class RecordReader(Protocol):
    def show(self, resource: str, record_id: int | str) -> dict[str, Any]: ...


class FieldReader(RecordReader, Protocol):
    def resource_fields(self, resource: str) -> ResourceFields: ...


class SampledTable(Protocol):
    """What drafting needs of an opened file (``read.Table``): its headers and its frames."""

    @property
    def columns(self) -> list[str]: ...
    def frames(self) -> Iterator[Any]: ...


SAMPLE_ROWS = 20


def draft_for_table(table: SampledTable, client: FieldReader, resource: str) -> str:
    """``mapping init``: a draft for an opened file, from its first rows and the CRM's fields."""
    fields = client.resource_fields(resource)
    columns = list(table.columns)
    sample: dict[str, list[object]] = {c: [] for c in columns}
    rows: list[dict[str, object]] = []
    for frame in table.frames():
        for column in columns:
            sample[column] = frame[column].dropna().head(SAMPLE_ROWS).tolist()
        rows = [{str(k): v for k, v in row.items()}
                for row in frame[columns].head(SAMPLE_ROWS).to_dict("records")]
        break
    return draft_mapping(columns, fields, resource=resource, sample=sample, rows=rows,
                         records_by_id=records_by_id(client, resource))


def records_by_id(client: RecordReader, resource: str) -> RecordsById:
    """``records_by_id`` for ``draft_mapping``: one GET per id (a few), absent when refused."""
    def fetch(ids: list[str]) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for record_id in ids:
            try:
                found[record_id] = client.show(resource, record_id)
            except RecordRejected:            # 404: no such record
                continue
        return found
    return fetch


def _folded(value: object) -> str:
    return " ".join(str(value).split()).casefold()


def _by_values(matcher: HeaderMatcher, header: str, shape: Shape) -> Guess | None:
    """A column no header rule placed: e-mail addresses go to an e-mail field; an id of another
    system to a unique text custom field (which re-imports can then match on)."""
    free = matcher.free()
    if shape.kind == "emails":
        spec = next((s for s in free if s.type == "Email" and not s.custom), None) or next(
            (s for s in free if s.type == "Email"), None)
        if spec is not None:
            return Guess(spec, f"its values are e-mail addresses ({shape.example})")
    if shape.kind == "ids" or (has_id_word(header) and shape.distinct > 1 and shape.kind in (
            "integers", "text", "row_numbers")):
        candidates = [s for s in free if s.custom and s.unique and s.type == "Text"]
        ranked = sorted(candidates, key=lambda s: -len(set(words(s.label)) & set(EXTERNAL_ID_WORDS)))
        if ranked and set(words(ranked[0].label)) & set(EXTERNAL_ID_WORDS):
            spec = ranked[0]
            return Guess(spec, f"an id from another system ({shape.example}): kept in the unique "
                               f"field {spec.label!r}, so a re-import can match on it")
    return None


def _left_out(matcher: HeaderMatcher, header: str, shape: Shape, fields: ResourceFields,
              resource: str) -> str:
    if matcher.rejected:
        return "; ".join(matcher.rejected)
    if shape.kind == "ids" or has_id_word(header):
        return (f"ids of another system ({shape.example or 'no sample'}); no free unique text "
                f"field of {resource} to keep them in")
    if shape.kind == "empty":
        return f"no {resource} field matches the header, and the sample is empty"
    return f"no {resource} field matches (`concord-etl fields {resource}` lists them)"


# -- what each mapped column needs ---------------------------------------------------------------


def _propose(column: _Column, guess: Guess, resource: str, values: list[object],
             shape: Shape) -> None:
    spec = guess.spec
    column.attribute = spec.attribute
    column.entries["type"] = spec.type
    column.notes.append(guess.why)
    flags = [f for f, on in (("required", spec.required), ("unique", spec.unique)) if on]
    if flags:
        column.notes.append(", ".join(flags))
    texts = texts_of(values)
    ftype = spec.type
    if ftype == "Email":
        column.entries["transform"] = ["strip", "lower"]
        if texts and shape.kind != "emails":
            column.notes.append(f"but {texts[0]!r} is not an e-mail address: check the column")
    elif ftype == "Phone":
        column.entries["phone_type"] = _phone_type(column.header, resource)
    elif ftype in ("BelongsTo", "Association"):
        _propose_lookup(column, spec, texts, shape)
    elif ftype in ("Date", "DateTime", "DateOrDateTime"):
        _propose_format(column, ftype, values, texts)
    elif ftype == "Boolean":
        _propose_booleans(column, texts)
    elif ftype in OPTION_TYPES:
        _propose_options(column, spec, texts)
    elif ftype == "Tags":
        column.entries["split"] = separator_in(texts) or ","
    if spec.choices:
        column.notes.append(f"one of: {', '.join(spec.choices)}")


def _propose_lookup(column: _Column, spec: FieldSpec, texts: list[str], shape: Shape) -> None:
    related = spec.related or RELATED_RESOURCES.get(spec.attribute)
    if related not in LOOKUP_RESOURCES:
        column.notes.append(f"ids or names of {related or 'related records'}")
        return
    by = "name"
    if shape.kind == "integers":
        by = "id"
        column.notes.append(f"numbers: taken as Concord ids of {related}")
    elif related in ("users", "contacts") and shape.kind == "emails":
        by = "email"
        column.notes.append(f"e-mail addresses of {related}")
    elif related == "countries" and texts and all(re.fullmatch(r"[A-Z]{2,3}", t) for t in texts):
        by = "iso_3166_2" if all(len(t) == 2 for t in texts) else "iso_3166_3"
        column.notes.append("ISO country codes")
    lookup: dict[str, Any] = {"resource": related, "by": by}
    if related == "users" and by == "name":
        column.notes.append("user names: two users with one name reject the row; e-mails are safer")
    if related == "companies" and by == "name":
        lookup["create_missing"] = False
        column.notes.append("create_missing: true would create unknown companies")
    if related == "countries" and by == "name":
        column.notes.append("country names; ISO codes (GB, GBR) are matched too")
    if related in ("sources", "industries") and by == "name":
        column.notes.append(f"unknown {related} are rejected; create_missing: true creates them "
                            f"(as Concord would)")
    column.entries["lookup"] = lookup
    if spec.type == "Association":
        sep = separator_in(texts)
        plural = norm(column.header) in ("companies", "contacts", "deals")
        if sep is not None and (is_a_list(texts, sep) or plural):
            column.entries["split"] = sep
            column.notes.append(f"several {related} per cell, separated by {sep!r}")
        elif sep is not None:
            column.notes.append(f"{sep!r} appears inside names, so cells are not split")


def _propose_options(column: _Column, spec: FieldSpec, texts: list[str]) -> None:
    labels = [o.name for o in spec.options]
    if spec.type in MULTI_OPTION_TYPES:
        known = {label.casefold() for label in labels}
        best = None
        for sep in (";", "|", ","):
            parts = [p.casefold() for p in split_parts(texts, sep)]
            if sep in "".join(texts) and parts and all(p in known for p in parts):
                best = sep
                break
        column.entries["split"] = best or separator_in(texts) or ","
    if labels and len(labels) <= MAX_OPTIONS_LISTED:
        column.entries["options"] = labels
    shown = ", ".join(labels[:15]) + (", ..." if len(labels) > 15 else "")
    if shown:
        column.notes.append(f"options: {shown}")
    unknown = sorted({t for t in texts if spec.option_by_label(t) is None
                      and not any(spec.option_by_label(p) for p in re.split(r"[;|,]", t))})
    if unknown:
        column.notes.append(f"not options yet: {', '.join(unknown[:5])} (create_options: true "
                            f"would create them)")


def _propose_format(column: _Column, ftype: str, values: list[object], texts: list[str]) -> None:
    if not texts or any(isinstance(v, (date, datetime)) for v in values):
        typed = any(isinstance(v, (date, datetime)) for v in values)
        column.notes.append("dates typed by the sheet" if typed else "add format: for text dates")
        return
    order = (*DATE_FORMATS, *DATETIME_FORMATS) if ftype == "Date" else (
        *DATETIME_FORMATS, *DATE_FORMATS)
    fits = [f for f in order if format_problem(f) is None and _all_parse(texts, f)]
    if not fits and _all_iso(texts):
        column.notes.append(f"ISO 8601 like {texts[0]!r}: read without format:")
        return
    if not fits:
        column.notes.append(f"could not guess the date format of {texts[0]!r}: add format:")
        return
    column.entries["format"] = fits[0]
    column.notes.append(f"dates like {texts[0]!r}")
    if len(fits) > 1:
        column.notes.append(f"also reads as {fits[1]}: check")


def _propose_booleans(column: _Column, texts: list[str]) -> None:
    found = list(dict.fromkeys(t.casefold() for t in texts))
    truthy = [t for t in found if t in TRUE_WORDS]
    falsy = [t for t in found if t in FALSE_WORDS]
    unknown = [t for t in found if t not in TRUE_WORDS and t not in FALSE_WORDS]
    if set(found) - {"true", "false"}:
        if truthy:
            column.entries["true_values"] = truthy
        if falsy:
            column.entries["false_values"] = falsy
    if unknown:
        column.notes.append(f"unrecognised values: {', '.join(unknown[:5])}")


def _phone_type(header: str, resource: str) -> str:
    text = header.lower()
    if re.search(r"mobile|cell|gsm|handy", text):
        return "mobile"
    if re.search(r"work|office|business|direct|company", text):
        return "work"
    if re.search(r"home|other|private", text):
        return "other"
    return "work" if resource == "companies" else "mobile"


def _all_iso(texts: list[str]) -> bool:
    try:
        for text in texts:
            datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _all_parse(texts: list[str], fmt: str) -> bool:
    for text in texts:
        try:
            datetime.strptime(text, fmt)
        except ValueError:
            return False
    return True


# --- rendering -------------------------------------------------------------------------------

def _render(columns: list[_Column], fields: ResourceFields, resource: str) -> str:
    mapped = [c.attribute for c in columns if c.attribute]
    lines = [
        f"# Draft mapping for {resource}, written by `concord-etl mapping init`.",
        "# Each comment says why a column was guessed. Check every line before importing:",
        "# lookups, formats, options and the columns left out (commented, with the reason).",
        "version: 1",
        f"resource: {resource}",
    ]
    lines += _render_match(resource, mapped, fields)
    lines.append("columns:")
    body = [(_entry(c), c.notes) for c in columns]
    width = min(max(len(text) for text, _ in body), 72)
    for text, notes in body:
        comment = "; ".join(n.replace("\n", " ") for n in notes)
        lines.append(f"  {text.ljust(width)}  # {comment}" if comment else f"  {text}")
    missing = [s.attribute for s in fields if s.required and s.attribute not in mapped]
    if missing:
        lines.append(f"# required by the CRM but not mapped: {', '.join(missing)}")
    return "\n".join(lines) + "\n"


def _render_match(resource: str, mapped: list[str], fields: ResourceFields) -> list[str]:
    on, why = _match_field(resource, mapped, fields)
    if on is None:
        suggestion = SUGGESTED_KEYS.get(resource)
        if suggestion is None:
            return [f"# match: {resource} have no unique field, so every row creates a new "
                    "record."]
        if suggestion in mapped:
            hint = f"add `match: {{on: [{suggestion}]}}` to update records with the same {suggestion}"
        else:
            hint = f"map a {suggestion} column and add `match: {{on: [{suggestion}]}}`"
        return ["# match: no unique field is mapped, so every row creates a new record;",
                f"#   {hint} instead."]
    return [
        "match:",
        f"  on: [{_scalar(on)}]    # {why}",
        "  when_found: update     # update | skip | error",
        "  when_missing: create   # create | skip",
    ]


def _match_field(resource: str, mapped: list[str],
                 fields: ResourceFields) -> tuple[str | None, str]:
    if "id" in mapped:
        return "id", "Concord ids: rows update those records"
    unique_custom = [a for a in mapped if (s := fields.get(a)) is not None and s.custom
                     and s.unique]
    keys = MATCH_KEYS.get(resource, ())
    order = [*keys, *unique_custom] if resource == "contacts" else [*unique_custom, *keys]
    for attribute in order:
        spec = fields.get(attribute)
        if attribute in mapped and spec is not None:
            unique = "a unique field" if spec.unique else "identifies a record"
            return attribute, f"{spec.label} is {unique} of {resource}"
    return None, ""


def _entry(column: _Column) -> str:
    key = _scalar(column.header.replace("\n", " "))
    if column.attribute is None:
        return f"# {key}: ?"
    return f"{key}: {_flow({'field': column.attribute, **column.entries})}"


def _flow(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_flow(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    return _scalar(str(value))


def _scalar(text: str) -> str:
    """A YAML scalar for ``text``: plain when unambiguous, else double-quoted."""
    plain = _PLAIN.fullmatch(text) and not text.endswith(" ") and text.lower() not in _RESERVED
    return text if plain else json.dumps(text, ensure_ascii=False)

