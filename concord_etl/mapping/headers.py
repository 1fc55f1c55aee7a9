"""Which CRM field a column header means, the way a person would read it (``mapping init``).

Built-in fields first, by exact label or attribute (Concord's own labels such as "Job Name",
"State/Region" included), then near-exact headers ("Email", "Email 1", "E-mail", "E-Mail
Address" are all the e-mail), then custom fields by label, then by shared words and close
spelling. Each guess says why. The sample values get a veto: an id column never becomes a
name or a Select, a year column never a date.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from concord_etl.crm.fields import FieldSpec, ResourceFields
from concord_etl.mapping.model import OPTION_TYPES
from concord_etl.mapping.shapes import Shape, texts_of

# normalised header (trailing digits removed) → attribute of a built-in field.
SYNONYMS = {
    "email": "email", "mail": "email", "emailaddress": "email", "emailadresse": "email",
    "emailaddr": "email", "correo": "email",
    "mobile": "phones", "mobilephone": "phones", "mobilenumber": "phones", "cell": "phones",
    "cellphone": "phones", "phone": "phones", "phonenumber": "phones", "telephone": "phones",
    "tel": "phones", "workphone": "phones", "officephone": "phones", "businessphone": "phones",
    "homephone": "phones", "otherphone": "phones", "phones": "phones", "telefon": "phones",
    "firstname": "first_name", "givenname": "first_name", "forename": "first_name",
    "fname": "first_name", "prenom": "first_name", "vorname": "first_name",
    "lastname": "last_name", "surname": "last_name", "familyname": "last_name",
    "lname": "last_name", "nom": "last_name", "nachname": "last_name",
    "company": "companies", "companyname": "companies", "organisation": "companies",
    "organization": "companies", "employer": "companies", "account": "companies",
    "accountname": "companies",
    "contact": "contacts", "contactemail": "contacts", "deal": "deals",
    "owner": "user_id", "user": "user_id", "salesrep": "user_id", "assignedto": "user_id",
    "accountmanager": "user_id", "leadowner": "user_id", "accountowner": "user_id",
    "contactowner": "user_id", "dealowner": "user_id", "owneremail": "user_id",
    "source": "source_id", "leadsource": "source_id",
    "stage": "stage_id", "dealstage": "stage_id", "pipelinestage": "stage_id",
    "pipeline": "pipeline_id", "industry": "industry_id", "sector": "industry_id",
    "country": "country_id", "countrycode": "country_id", "parentcompany": "parent_company_id",
    "title": "job_title", "jobtitle": "job_title", "position": "job_title", "role": "job_title",
    "jobname": "job_title",
    "website": "domain", "web": "domain", "domainname": "domain", "url": "domain",
    "address": "street", "streetaddress": "street", "street": "street", "zip": "postal_code",
    "zipcode": "postal_code", "postcode": "postal_code", "postalcode": "postal_code",
    "region": "state", "province": "state", "county": "state", "stateregion": "state",
    "tags": "tags", "labels": "tags",
    "closedate": "expected_close_date", "expectedclosedate": "expected_close_date",
    "closingdate": "expected_close_date", "value": "amount", "dealvalue": "amount",
    "id": "id", "concordid": "id", "recordid": "id",
}
RESOURCE_SYNONYMS = {
    "companies": {"company": "name", "companyname": "name", "organisation": "name",
                  "organization": "name", "account": "name", "accountname": "name",
                  "organizationname": "name", "organisationname": "name"},
    "deals": {"deal": "name", "dealname": "name", "opportunity": "name", "title": "name"},
    "products": {"product": "name", "productname": "name", "price": "unit_price"},
    "activities": {"subject": "title", "duedate": "due_date", "due": "due_date"},
}
MULTI_COLUMN_FIELDS = ("phones", "tags", "companies", "contacts", "deals")
# Types whose second column ("Email 2") goes to a free custom field of the same type.
SECOND_COLUMN_TYPES = ("Email", "Url")
# Header words that say nothing about which field is meant on their own.
GENERIC_WORDS = {"name", "number", "date", "code", "type", "status", "value", "info", "the",
                 "of", "and", "for", "no", "nr", "num"}
ID_WORDS = {"id", "ids", "uuid", "guid", "key", "ref", "code"}
ROW_HEADERS = {"", "index", "idx", "row", "rownumber", "rowno", "no", "nr", "number", "line"}
# Fields that hold names: an id column must not land there.
NAME_FIELDS = ("name", "first_name", "last_name", "job_title", "title", "city", "street")


@dataclass(frozen=True)
class Guess:
    spec: FieldSpec
    why: str


def norm(text: str) -> str:
    """Case, accents, spaces and punctuation do not count: "Télé-phone" → "telephone"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if ch.isalnum())


def words(text: str) -> list[str]:
    spaced = re.sub(r"([a-z])([A-Z])", r"\1 \2", text)           # OrganizationId → words
    decomposed = unicodedata.normalize("NFKD", spaced.casefold())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return [w for w in re.split(r"[^0-9a-z]+", plain) if w]


def has_id_word(header: str) -> bool:
    return bool(set(words(header)) & ID_WORDS) or norm(header).endswith("id")


class HeaderMatcher:
    """Finds the field for a header; a field is used once (except multi-column fields)."""

    def __init__(self, fields: ResourceFields, resource: str) -> None:
        self.fields = fields
        self.resource = resource
        self.synonyms = {**SYNONYMS, **RESOURCE_SYNONYMS.get(resource, {})}
        self.taken: set[str] = set()
        self.rejected: list[str] = []                # why a plausible field was refused

    def take(self, spec: FieldSpec) -> None:
        if spec.attribute not in MULTI_COLUMN_FIELDS:
            self.taken.add(spec.attribute)

    def free(self) -> list[FieldSpec]:
        return [s for s in self.fields if s.attribute not in self.taken]

    def match(self, header: str, shape: Shape, values: list[object]) -> Guess | None:
        """The best guess for ``header`` whose sample has ``shape`` (None: leave it out)."""
        self.rejected = []
        key = norm(header)
        steps: tuple[Callable[[], Guess | None], ...] = (
            lambda: self._exact(key, custom=False),
            lambda: self._synonym(header, key),
            lambda: self._exact(key, custom=True),
            lambda: self._by_words(header, custom=False),
            lambda: self._by_words(header, custom=True),
            lambda: self._by_spelling(key),
        )
        for step in steps:
            guess = step()
            if guess is not None and self._fits(guess, header, shape, values):
                self.take(guess.spec)
                return guess
        return None

    # -- the steps ------------------------------------------------------------------------
    def _first(self, test: Callable[[FieldSpec], bool]) -> FieldSpec | None:
        return next((s for s in self.free() if test(s)), None)

    def _exact(self, key: str, *, custom: bool) -> Guess | None:
        found = self._first(lambda s: s.custom == custom and norm(s.label) == key)
        if found is not None:
            return Guess(found, f"the header is the label of {_what(found)}")
        found = self._first(lambda s: s.custom == custom and (
            norm(s.attribute) == key or (custom and norm(s.attribute[3:]) == key)))
        if found is not None:
            return Guess(found, f"the header names the field {found.attribute}")
        return None

    def _synonym(self, header: str, key: str) -> Guess | None:
        base, number = _numbered(key)
        attribute = self.synonyms.get(key) or self.synonyms.get(base)
        if attribute is None and re.search(r"\b(phone|mobile|cell|tel)\b", header.lower()):
            attribute = "phones"
        if attribute is None:
            return None
        if attribute == "id":
            return Guess(FieldSpec(attribute="id", label="ID", type="Id"),
                         "an ID column: Concord record ids (rows update those records)")
        spec = self.fields.get(attribute)
        if spec is None:
            return None
        column = f" (column {number})" if number else ""
        if spec.attribute not in self.taken:
            return Guess(spec, f"{header!r} reads as {_what(spec)}{column}")
        # A second e-mail column: a free custom field of the same type keeps it.
        other = self._first(lambda s: s.type == spec.type and s.custom)
        if other is not None and spec.type in SECOND_COLUMN_TYPES:
            return Guess(other, f"another {spec.label!r} column{column}: {spec.attribute} is "
                                f"mapped already, so {_what(other)} keeps it")
        return None

    def _by_words(self, header: str, *, custom: bool) -> Guess | None:
        mine = set(words(header))
        if not mine:
            return None
        hits = []
        for spec in self.free():
            if spec.custom != custom:
                continue
            theirs = set(words(spec.label))
            if (mine <= theirs and mine - GENERIC_WORDS) or (
                    theirs and theirs <= mine and theirs - GENERIC_WORDS):
                hits.append(spec)
        if len(hits) != 1:
            return None
        return Guess(hits[0], f"the header shares its words with {_what(hits[0])}")

    def _by_spelling(self, key: str) -> Guess | None:
        names = {norm(s.label): s for s in self.free()}
        close = difflib.get_close_matches(key, list(names), n=2, cutoff=0.85)
        if len(close) != 1:
            return None
        spec = names[close[0]]
        return Guess(spec, f"the header is spelled almost like {_what(spec)}")

    # -- vetoes from the values -----------------------------------------------------------
    def _fits(self, guess: Guess, header: str, shape: Shape, values: list[object]) -> bool:
        spec = guess.spec
        idish = shape.id_like or (has_id_word(header) and shape.kind != "text")
        if spec.type in OPTION_TYPES:
            if idish:
                self.rejected.append(f"ids ({shape.example}) are no {spec.type} options")
                return False
            return self._options_fit(spec, values)
        if spec.attribute in NAME_FIELDS and spec.type == "Text" and shape.kind == "ids":
            self.rejected.append(f"{shape.example!r} looks like an id, not a {spec.label}")
            return False
        if spec.type in ("BelongsTo", "Association") and shape.kind == "ids":
            self.rejected.append(f"{shape.example!r} looks like an id of another system, not "
                                 f"a {spec.label} name or a Concord id")
            return False
        if spec.type in ("Date", "DateTime") and shape.kind == "years":
            why = f"years only ({shape.example}): a {spec.type} field needs a day and a month"
            if why not in self.rejected:
                self.rejected.append(why)
            return False
        numeric = spec.type in ("Number", "Numeric", "Decimal")
        return not (numeric and shape.kind in ("emails", "urls"))

    def _options_fit(self, spec: FieldSpec, values: list[object]) -> bool:
        """Most distinct values are option labels (or lists of them)."""
        texts = texts_of(values)
        if not texts or not spec.options:
            return True
        labels = {o.name.strip().casefold() for o in spec.options}

        def known(text: str) -> bool:
            if text in labels:
                return True
            for sep in (",", ";", "|"):
                parts = [p.strip() for p in text.split(sep) if p.strip()]
                if len(parts) > 1 and all(p in labels for p in parts):
                    return True
            return False

        distinct = {t.casefold() for t in texts}
        if sum(1 for t in distinct if known(t)) * 2 >= len(distinct):
            return True
        self.rejected.append(f"its values ({texts[0]!r}, ...) are not options of {spec.label}")
        return False


def _numbered(key: str) -> tuple[str, int | None]:
    """``email1`` → (``email``, 1); ``email`` → (``email``, None)."""
    found = re.fullmatch(r"(.*?[a-z])(\d{1,2})", key)
    return (found.group(1), int(found.group(2))) if found else (key, None)


def _what(spec: FieldSpec) -> str:
    kind = "custom field" if spec.custom else "field"
    return f"Concord's {kind} {spec.label!r} ({spec.attribute})" if spec.label != spec.attribute \
        else f"Concord's {kind} {spec.attribute}"
