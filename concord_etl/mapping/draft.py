"""Draft a mapping YAML from a file's headers and the CRM's fields (``mapping init``).

Each header is matched to a field by label, by attribute, by common synonyms and finally by
a close spelling; the draft says in comments what each field expects and lists the headers
it could not place, commented out, for the user to finish.
"""

from __future__ import annotations

import difflib
import json
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from concord_etl.crm.fields import FieldSpec, ResourceFields
from concord_etl.errors import MappingError
from concord_etl.mapping.columns import RELATED_RESOURCES, format_problem
from concord_etl.mapping.model import LOOKUP_RESOURCES, MULTI_OPTION_TYPES, RESOURCES

# normalised header → attribute, tried after labels and attributes.
SYNONYMS = {
    "email": "email", "mail": "email", "emailaddress": "email", "emailadresse": "email",
    "mobile": "phones", "mobilephone": "phones", "mobilenumber": "phones", "cell": "phones",
    "cellphone": "phones", "phone": "phones", "phonenumber": "phones", "telephone": "phones",
    "tel": "phones", "workphone": "phones", "officephone": "phones", "businessphone": "phones",
    "homephone": "phones", "otherphone": "phones", "phones": "phones",
    "firstname": "first_name", "givenname": "first_name", "forename": "first_name",
    "lastname": "last_name", "surname": "last_name", "familyname": "last_name",
    "company": "companies", "companyname": "companies", "organisation": "companies",
    "organization": "companies", "employer": "companies", "account": "companies",
    "contact": "contacts", "contactemail": "contacts", "deal": "deals",
    "owner": "user_id", "user": "user_id", "salesrep": "user_id", "assignedto": "user_id",
    "accountmanager": "user_id", "source": "source_id", "leadsource": "source_id",
    "stage": "stage_id", "dealstage": "stage_id", "pipelinestage": "stage_id",
    "pipeline": "pipeline_id", "industry": "industry_id", "sector": "industry_id",
    "country": "country_id", "countrycode": "country_id", "parentcompany": "parent_company_id",
    "title": "job_title", "jobtitle": "job_title", "position": "job_title", "role": "job_title",
    "website": "domain", "web": "domain", "domainname": "domain",
    "address": "street", "streetaddress": "street", "zip": "postal_code",
    "zipcode": "postal_code", "postcode": "postal_code", "region": "state",
    "province": "state", "county": "state", "tags": "tags", "labels": "tags",
    "closedate": "expected_close_date", "expectedclosedate": "expected_close_date",
    "closingdate": "expected_close_date", "value": "amount", "dealvalue": "amount",
    "id": "id", "concordid": "id", "recordid": "id",
}
RESOURCE_SYNONYMS = {
    "companies": {"company": "name", "companyname": "name", "organisation": "name",
                  "organization": "name", "account": "name", "accountname": "name"},
    "deals": {"deal": "name", "dealname": "name", "opportunity": "name", "title": "name"},
    "products": {"product": "name", "productname": "name", "price": "unit_price"},
}
MULTI_COLUMN_FIELDS = ("phones", "tags", "companies", "contacts", "deals")
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
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
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
) -> str:
    """YAML text of a mapping for ``resource`` drafted from ``headers`` and the CRM's fields."""
    if resource not in RESOURCES:
        raise MappingError(f"unknown resource {resource!r}; expected one of {', '.join(RESOURCES)}")
    sample = sample or {}
    matcher = _Matcher(fields, resource)
    columns: list[_Column] = []
    seen: set[str] = set()
    for header in headers:
        column = _Column(header=str(header))
        if not column.header.strip() or column.header in seen:
            column.notes.append("empty header" if not column.header.strip() else "duplicate header")
        else:
            seen.add(column.header)
            spec = matcher.match(column.header)
            if spec is not None:
                _propose(column, spec, fields, resource, list(sample.get(column.header) or ()))
        columns.append(column)
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


class _Matcher:
    """Finds the field for a header; a field is used once (except multi-column fields)."""

    def __init__(self, fields: ResourceFields, resource: str) -> None:
        self.fields = fields
        self.synonyms = {**SYNONYMS, **RESOURCE_SYNONYMS.get(resource, {})}
        self.taken: set[str] = set()

    def match(self, header: str) -> FieldSpec | None:
        key = _norm(header)
        found = (
            self._first(lambda s: _norm(s.label) == key)
            or self._first(lambda s: _norm(s.attribute) == key)
            or self._synonym(header, key)
            or self._first(lambda s: s.custom and _norm(s.attribute[3:]) == key)
            or self._by_words(header)
            or self._by_spelling(key)
        )
        if found is not None and found.attribute not in MULTI_COLUMN_FIELDS:
            self.taken.add(found.attribute)
        return found

    def _free(self) -> list[FieldSpec]:
        return [s for s in self.fields if s.attribute not in self.taken]

    def _first(self, test: Any) -> FieldSpec | None:
        return next((s for s in self._free() if test(s)), None)

    def _synonym(self, header: str, key: str) -> FieldSpec | None:
        attribute = self.synonyms.get(key)
        if attribute is None and re.search(r"\b(phone|mobile|cell|tel)\b", header.lower()):
            attribute = "phones"
        if attribute == "id" and "id" not in self.taken:
            self.taken.add("id")
            return FieldSpec(attribute="id", label="ID", type="Id")
        spec = self.fields.get(attribute) if attribute else None
        return spec if spec is not None and spec.attribute not in self.taken else None

    def _by_words(self, header: str) -> FieldSpec | None:
        words = set(_words(header))
        if not words:
            return None
        hits = [s for s in self._free() if words <= set(_words(s.label))]
        return hits[0] if len(hits) == 1 else None

    def _by_spelling(self, key: str) -> FieldSpec | None:
        names = {_norm(s.label): s for s in self._free()}
        close = difflib.get_close_matches(key, list(names), n=2, cutoff=0.85)
        return names[close[0]] if len(close) == 1 else None


def _propose(column: _Column, spec: FieldSpec, fields: ResourceFields, resource: str,
             values: list[object]) -> None:
    column.attribute = spec.attribute
    ftype = spec.type
    note = ftype + (", required" if spec.required else "") + (", unique" if spec.unique else "")
    column.notes.append(note)
    texts = [str(v).strip() for v in values if isinstance(v, str) and str(v).strip()]
    if ftype == "Email":
        column.entries["transform"] = ["strip", "lower"]
    elif ftype == "Phone":
        column.entries["phone_type"] = _phone_type(column.header, resource)
    elif ftype in ("BelongsTo", "Association"):
        _propose_lookup(column, spec, texts)
    elif ftype in ("Date", "DateTime"):
        _propose_format(column, ftype, values, texts)
    elif ftype == "Boolean":
        _propose_booleans(column, texts)
    elif ftype in MULTI_OPTION_TYPES or ftype == "Tags":
        column.entries["split"] = _separator(texts)
    if spec.options:
        labels = [o.name for o in spec.options]
        shown = ", ".join(labels[:15]) + (", ..." if len(labels) > 15 else "")
        column.notes.append(f"options: {shown}")
    if spec.choices:
        column.notes.append(f"one of: {', '.join(spec.choices)}")


def _propose_lookup(column: _Column, spec: FieldSpec, texts: list[str]) -> None:
    related = spec.related or RELATED_RESOURCES.get(spec.attribute)
    if related not in LOOKUP_RESOURCES:
        column.notes.append(f"ids or names of {related or 'related records'}")
        return
    by = "name"
    if related in ("users", "contacts") and _looks_like_emails(texts):
        by = "email"
    lookup: dict[str, Any] = {"resource": related, "by": by}
    if related == "users" and by == "name":
        column.notes.append("two users with one name reject the row; e-mails are safer")
    if related == "companies":
        lookup["create_missing"] = False
        column.notes.append("create_missing: true would create unknown companies")
    if related == "countries":
        column.notes.append("country names; ISO codes (GB, GBR) are matched too")
    column.entries["lookup"] = lookup
    if spec.type == "Association" and any(sep in t for t in texts for sep in ";|"):
        column.entries["split"] = _separator(texts)


def _propose_format(column: _Column, ftype: str, values: list[object], texts: list[str]) -> None:
    if not texts:
        typed = any(isinstance(v, (date, datetime)) for v in values)
        column.notes.append("dates typed by the sheet" if typed else "add format: for text dates")
        return
    order = (*DATETIME_FORMATS, *DATE_FORMATS) if ftype == "DateTime" else (
        *DATE_FORMATS, *DATETIME_FORMATS)
    fits = [f for f in order if format_problem(f) is None and _all_parse(texts, f)]
    if not fits:
        column.notes.append(f"could not guess the date format of {texts[0]!r}: add format:")
        return
    column.entries["format"] = fits[0]
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


def _separator(texts: list[str]) -> str:
    counts = {sep: sum(t.count(sep) for t in texts) for sep in (";", "|", ",")}
    best = max(counts, key=lambda s: counts[s])
    return best if counts[best] else ","


def _looks_like_emails(texts: list[str]) -> bool:
    hits = sum(1 for t in texts if _EMAIL.fullmatch(t))
    return hits > 0 and hits * 2 >= len(texts)


def _all_parse(texts: list[str], fmt: str) -> bool:
    for text in texts:
        try:
            datetime.strptime(text, fmt)
        except ValueError:
            return False
    return True


def _norm(text: str) -> str:
    """Case, accents, spaces and punctuation do not count: "Télé-phone" → "telephone"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if ch.isalnum())


def _words(text: str) -> list[str]:
    return [w for w in re.split(r"[^0-9a-z]+", text.casefold()) if len(w) >= 3]


# --- rendering -------------------------------------------------------------------------------

def _render(columns: list[_Column], fields: ResourceFields, resource: str) -> str:
    mapped = [c.attribute for c in columns if c.attribute]
    lines = [
        f"# Draft mapping for {resource}, written by `concord-etl mapping init`.",
        "# Check every line before importing: lookups, formats and the commented-out columns.",
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
    on = _match_field(resource, mapped, fields)
    if on is None:
        return ["# match: no unique field is mapped, so every row creates a new record;",
                "#   add `match: {on: [name]}` (or another mapped field) to update instead."]
    return [
        "match:",
        f"  on: [{_scalar(on)}]",
        "  when_found: update     # update | skip | error",
        "  when_missing: create   # create | skip",
    ]


def _match_field(resource: str, mapped: list[str], fields: ResourceFields) -> str | None:
    if "id" in mapped:
        return "id"
    unique_custom = [a for a in mapped if (s := fields.get(a)) is not None and s.custom
                     and s.unique]
    order: list[str] = []
    if resource == "contacts":
        order = ["email", *unique_custom]
    elif resource == "companies":
        order = [*unique_custom, "email"]
    elif resource == "products":
        order = [*unique_custom, "sku", "name"]
    return next((a for a in order if a in mapped), None)


def _entry(column: _Column) -> str:
    key = _scalar(column.header.replace("\n", " "))
    if column.attribute is None:
        return f"# {key}: ?"
    if not column.entries:
        return f"{key}: {column.attribute}"
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
