"""Resolve names, e-mails and other keys to the ids of related CRM records.

Small tables (users, sources, industries, countries, pipelines, stages) are fetched whole, once
per run. Records (companies, contacts, deals, products) are found by whichever costs fewer
requests (``RecordSource``): searching the keys named by the file (up to 100 keys a request),
or reading the whole resource (100 records a request, its size taken from the list's
``meta.total``). The choice is reported (``Resolver.strategies``) and shown by the dry run.

Several matches for one key reject the row (never pick the first); a key that is not found
rejects the row unless the lookup says ``create_missing: true`` (the record is created once) or
``when_not_found: blank|default``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

from concord_etl.crm.wire import search_plan
from concord_etl.errors import RecordRejected
from concord_etl.mapping.model import LOOKUP_CREATABLE, Lookup
from concord_etl.validate.country_names import country_keys, key_forms
from concord_etl.validate.lookup_hints import NameIndex

# Lookup tables small enough to prefetch whole.
SMALL_TABLES = ("users", "sources", "industries", "countries", "pipelines", "pipeline-stages",
                "activity-types", "call-outcomes")
# Resources a missing key may create (the mapping loader's list), each from its name.
CREATABLE = dict.fromkeys(LOOKUP_CREATABLE, "name")
PAGE = 100           # records per list page, and keys per search request


class LookupClient(Protocol):
    def get_records(self, path: str, params: dict[str, Any] | None = None
                    ) -> list[dict[str, Any]]: ...
    def page(self, resource: str, page: int = 1, per_page: int = PAGE,
             params: dict[str, Any] | None = None) -> dict[str, Any]: ...
    def iter_records(
        self, resource: str, params: dict[str, Any] | None = None, per_page: int = 100
    ) -> Iterable[dict[str, Any]]: ...
    def search_in(self, resource: str, field: str, values: list[str],
                  params: dict[str, Any] | None = None) -> list[dict[str, Any]]: ...
    def create(self, resource: str, body: dict[str, Any]) -> dict[str, Any]: ...


def normalise_key(value: object) -> str:
    """The comparison form of a lookup key: trimmed, single-spaced, case-folded."""
    return re.sub(r"\s+", " ", str(value)).strip().casefold()


_SPACES = re.compile(r"[ \t\n\r\f\v]+")


def match_key(value: object) -> str:
    """The comparison form of a match key, as ``duplicates.key_text`` makes it for a whole
    column (trimmed, runs of spaces collapsed, lower-cased)."""
    return _SPACES.sub(" ", str(value)).strip(" \t\n\r\f\v").lower()


def record_keys(
    resource: str, by: str, record: dict[str, Any],
    key_of: Callable[[object], str] = normalise_key,
) -> list[str]:
    """The keys under which a fetched record can be found for ``by``."""
    if by == "id":
        return [str(record.get("id"))]
    if resource == "countries" and by == "name":
        keys = [record.get("name"), record.get("iso_3166_2"), record.get("iso_3166_3")]
        found = [key_of(k) for k in keys if k]
        other = sorted(country_keys(record["name"])) if record.get("name") else []
        return found + [k for k in map(key_of, other) if k not in found]
    if resource == "contacts" and by in ("full_name", "name"):
        full = " ".join(p for p in (record.get("first_name"), record.get("last_name")) if p)
        return [key_of(full or record.get("display_name") or "")]
    value = record.get(by)
    return [key_of(value)] if value not in (None, "") else []


@dataclass(frozen=True)
class Resolution:
    """What one key resolved to: an id, or a reason to reject the row."""

    id: int | None
    error: str | None = None
    created: bool = False          # created by this run (create_missing)
    planned: bool = False          # dry run: would be created
    missing: bool = False          # not found (error says so)


@dataclass
class LookupReport:
    """Records created or that would be created by `create_missing`, for the summary."""

    created: list[tuple[str, str, int]] = field(default_factory=list)   # (resource, key, id)
    planned: list[tuple[str, str]] = field(default_factory=list)        # (resource, key)


# -- finding records: search by keys, or read them all --------------------------------------------


class RecordSource:
    """The records of one resource found by one field, the cheaper way.

    ``find(keys, expected)`` returns the records matching each normalised key. On the first call
    with more keys than one search request takes, it compares the search requests the file's keys
    need (100 keys a request; a key holding a comma costs a request of its own), scaled to
    ``expected`` keys, with ``ceil(total / 100)`` list requests (one request learns
    ``meta.total``; its first page is kept) and sticks to the cheaper: ``search`` or ``whole``.
    ``keep`` limits what a whole read keeps in memory to the keys the caller can ask for.
    """

    def __init__(
        self, client: LookupClient, resource: str, by: str,
        params: dict[str, Any] | None = None, *, workers: Callable[[], int] | None = None,
        key_of: Callable[[object], str] = normalise_key,
    ) -> None:
        self.client = client
        self.key_of = key_of           # the comparison form of keys and of record values
        self.resource = resource
        self.by = by
        self.params = dict(params or {})
        self.mode: str | None = None
        self.total: int | None = None
        self.expected = 0
        self.searches = 0          # search requests sent (before paging)
        self._index: dict[str, list[dict[str, Any]]] = {}
        self._search_cost = 0
        self._workers = workers or (lambda: 4)

    def describe(self) -> str:
        """One line for the summary: what was fetched and what the other way would have cost."""
        search = _requests(max(self.searches, self._search_cost, 1))
        what = f"{self.resource} by {self.by}"
        if self.mode == "whole":
            whole = _requests(max(math.ceil((self.total or 0) / PAGE), 1))
            return (
                f"{what}: read all {self.total:,} records ({whole}) instead of searching "
                f"{self.expected:,} keys ({search})"
            )
        if self.total is not None:
            whole = _requests(max(math.ceil(self.total / PAGE), 1))
            return (
                f"{what}: searched {self.expected:,} keys ({search}) instead of reading all "
                f"{self.total:,} records ({whole})"
            )
        return f"{what}: searched {self.expected:,} keys ({search})"

    def find(
        self, raw_keys: list[str], *, expected: int | None = None,
        keep: set[str] | None = None, compared: bool = False,
    ) -> dict[str, list[dict[str, Any]]]:
        """Records per key (in ``key_of`` form) for ``raw_keys``; keys without a record are
        left out. ``compared``: the keys are in that form already."""
        wanted = dict(zip(raw_keys, raw_keys, strict=True)) if compared else {
            self.key_of(k): k for k in raw_keys}
        if self.mode is None:
            queries = len(list(search_plan(self.by, wanted.values())))
            scale = max(expected or 0, len(wanted)) / max(len(wanted), 1)
            self._choose(max(len(wanted), expected or 0), math.ceil(queries * scale), keep)
        if self.mode == "whole":
            index = self._index
            return {k: index[k] for k in wanted if k in index}
        self.searches += len(list(search_plan(self.by, wanted.values())))
        records = self.client.search_in(self.resource, self.by, list(wanted.values()),
                                        params=self.params or None)
        found: dict[str, list[dict[str, Any]]] = {}
        for record in records:
            for key in record_keys(self.resource, self.by, record, self.key_of):
                if key in wanted and all(
                        r.get("id") != record.get("id") for r in found.get(key, [])):
                    found.setdefault(key, []).append(record)
        return found

    def _choose(self, expected: int, search_cost: int, keep: set[str] | None) -> None:
        self.expected = expected
        self._search_cost = search_cost
        if search_cost <= 1:
            self.mode = "search"
            return
        first = self.client.page(self.resource, 1, PAGE, {"order": "id|asc", **self.params})
        meta = first.get("meta") or {}
        self.total = int(meta.get("total") or len(first.get("data") or []))
        if math.ceil(self.total / PAGE) <= search_cost:
            self.mode = "whole"
            self._read_all(first, int(meta.get("last_page") or 1), keep)
        else:
            self.mode = "search"

    def _read_all(self, first: dict[str, Any], last_page: int, keep: set[str] | None) -> None:
        def page(number: int) -> list[dict[str, Any]]:
            envelope = self.client.page(self.resource, number, PAGE,
                                        {"order": "id|asc", **self.params})
            return list(envelope.get("data") or [])

        pages = [list(first.get("data") or [])]
        numbers = list(range(2, last_page + 1))
        workers = max(1, min(len(numbers), self._workers()))
        if workers > 1:
            with ThreadPoolExecutor(workers, thread_name_prefix="concord-list") as pool:
                pages.extend(pool.map(page, numbers))
        else:
            pages.extend(page(n) for n in numbers)
        seen: set[Any] = set()
        for batch in pages:
            for record in batch:
                if record.get("id") in seen:      # a record that moved between pages
                    continue
                seen.add(record.get("id"))
                for key in record_keys(self.resource, self.by, record, self.key_of):
                    if keep is None or key in keep:
                        self._index.setdefault(key, []).append(record)


def _matches(
    lookup: Lookup, found: dict[str, list[dict[str, Any]]], raw: str, norm: str
) -> list[dict[str, Any]]:
    """The records found for one key; a country name is also tried folded ("Cote d'Ivoire")."""
    hits = found.get(norm)
    if hits or lookup.resource != "countries" or lookup.by != "name":
        return hits or []
    for form in key_forms(raw):
        if found.get(form):
            return found[form]
    return []


def _requests(count: int) -> str:
    return f"{count} request" if count == 1 else f"{count} requests"


# -- resolving lookups ------------------------------------------------------------------------


class Resolver:
    """Resolves lookup keys for one run, caching every answer."""

    def __init__(
        self,
        client: LookupClient,
        *,
        dry_run: bool = False,
        on_create: Callable[[str, str], int | None] | None = None,
    ) -> None:
        self._client = client
        self._dry_run = dry_run
        self._on_create = on_create
        self._tables: dict[str, list[dict[str, Any]]] = {}
        self._name_indexes: dict[str, NameIndex] = {}        # for "similar:" hints
        # small tables indexed by key, per (resource, by, pipeline of a stage scope)
        self._table_indexes: dict[tuple[str, str, str | None], dict[str, list[dict[str, Any]]]] = {}
        self._cache: dict[tuple[str, str, str, str], Resolution] = {}
        self._sources: dict[tuple[str, str, str], RecordSource] = {}
        self.report = LookupReport()
        self.scale = 1.0    # expected keys of the whole file per key of the current chunk

    @property
    def dry_run(self) -> bool:
        return self._dry_run

    def source(self, resource: str, by: str, params: dict[str, Any] | None = None,
               key_of: Callable[[object], str] = normalise_key) -> RecordSource:
        """The ``RecordSource`` of ``resource`` by ``by`` (one per run and parameters)."""
        tag = ";".join(f"{k}={v}" for k, v in sorted((params or {}).items()))
        key = (resource, by, tag)
        if key not in self._sources:
            pacer = getattr(self._client, "pacer", None)
            workers = (lambda: int(pacer.suggest_concurrency())) if pacer is not None else None
            self._sources[key] = RecordSource(self._client, resource, by, params,
                                              workers=workers, key_of=key_of)
        return self._sources[key]

    @property
    def strategies(self) -> list[str]:
        """How each resource was searched, for the summary."""
        return [source.describe() for source in self._sources.values() if source.mode]

    # -- small tables -------------------------------------------------------------------
    def table(self, resource: str) -> list[dict[str, Any]]:
        """All records of a small lookup table, fetched once."""
        if resource not in self._tables:
            if resource == "countries":
                rows = self._client.get_records("countries")
            else:
                rows = list(self._client.iter_records(resource, {"order": "id|asc"}))
            self._tables[resource] = list(rows or [])
        return self._tables[resource]

    def stage_pipelines(self) -> dict[int, str]:
        return {int(p["id"]): str(p.get("name")) for p in self.table("pipelines")}

    # -- resolution ----------------------------------------------------------------------
    def resolve(
        self, lookup: Lookup, keys: Iterable[object], *, scope: dict[str, object] | None = None,
        create: bool = True,
    ) -> dict[str, Resolution]:
        """Resolve raw cell keys; the result is keyed by ``normalise_key(key)``.

        With ``create=False`` a missing key of a ``create_missing`` lookup is left ``missing``
        (nothing created or planned); call again with ``create=True`` for the rows that pass
        every other check.
        """
        scope_items = {**dict(lookup.scope), **(scope or {})}
        scope_tag = ";".join(f"{k}={normalise_key(v)}" for k, v in sorted(scope_items.items()))
        wanted: dict[str, str] = {}
        raw = [str(k).strip() for k in keys if k is not None and str(k).strip() != ""]
        for key in raw:
            norm = normalise_key(key)
            where = (lookup.resource, lookup.by, scope_tag, norm)
            cached = self._cache.get(where)
            if cached is None:
                wanted.setdefault(norm, key)
            elif create and cached.missing and lookup.create_missing:
                self._cache[where] = self._create(lookup, key)
        if wanted:
            found = self._find(lookup, list(wanted.values()), scope_items)
            for norm, key in wanted.items():
                self._cache[(lookup.resource, lookup.by, scope_tag, norm)] = self._decide(
                    lookup, key, _matches(lookup, found, key, norm), scope_items, create
                )
        return {
            normalise_key(k): self._cache[(lookup.resource, lookup.by, scope_tag, normalise_key(k))]
            for k in raw
        }

    def _find(
        self, lookup: Lookup, raw_keys: list[str], scope: dict[str, object]
    ) -> dict[str, list[dict[str, Any]]]:
        resource, by = lookup.resource, lookup.by
        if resource not in SMALL_TABLES:
            expected = int(len(raw_keys) * max(self.scale, 1.0))
            return self.source(resource, by).find(raw_keys, expected=expected)
        staged = resource == "pipeline-stages" and scope.get("pipeline")
        pipeline = str(scope["pipeline"]) if staged else None
        return self._table_index(resource, by, pipeline)

    def _table_index(
        self, resource: str, by: str, pipeline: str | None
    ) -> dict[str, list[dict[str, Any]]]:
        """A small table's records by key for ``by`` (stages only of ``pipeline``, by name or
        id, when given), built once per run: the tables are fetched once and never change."""
        where = (resource, by, pipeline)
        if where in self._table_indexes:
            return self._table_indexes[where]
        records = self.table(resource)
        if pipeline is not None:
            pipelines = self.stage_pipelines()
            wanted_pipeline = normalise_key(pipeline)
            records = [
                r
                for r in records
                if normalise_key(pipelines.get(int(r.get("pipeline_id") or 0), ""))
                == wanted_pipeline
                or str(r.get("pipeline_id")) == pipeline
            ]
        index: dict[str, list[dict[str, Any]]] = {}
        for record in records:
            for key in record_keys(resource, by, record):
                bucket = index.setdefault(key, [])
                if all(r.get("id") != record.get("id") for r in bucket):
                    bucket.append(record)
        self._table_indexes[where] = index
        return index

    def _decide(
        self,
        lookup: Lookup,
        raw: str,
        matches: list[dict[str, Any]],
        scope: dict[str, object],
        create: bool,
    ) -> Resolution:
        label = LABELS.get(lookup.resource, lookup.resource)
        if len(matches) == 1:
            return Resolution(int(matches[0]["id"]))
        if len(matches) > 1:
            return Resolution(None, self._ambiguous(lookup, raw, matches, label))
        if lookup.create_missing and create:
            return self._create(lookup, raw)
        where = ""
        if scope.get("pipeline"):
            where = f" in pipeline {scope['pipeline']!r}"
        how = f"looked up by {lookup.by}"
        close = self._similar(lookup, raw)
        if close:
            how += "; similar: " + ", ".join(close)
        message = f"{label} {raw!r} not found{where} ({how})"
        return Resolution(None, message, missing=True)

    def _similar(self, lookup: Lookup, raw: str) -> list[str]:
        """Names of a small table close to ``raw`` (for the reason only)."""
        if lookup.resource not in SMALL_TABLES or lookup.by != "name":
            return []
        index = self._name_indexes.get(lookup.resource)
        if index is None:
            index = NameIndex(r.get("name") for r in self.table(lookup.resource))
            self._name_indexes[lookup.resource] = index
        return index.similar(raw)

    def _ambiguous(
        self, lookup: Lookup, raw: str, matches: list[dict[str, Any]], label: str
    ) -> str:
        ids = ", ".join(str(m.get("id")) for m in matches[:5])
        if lookup.resource == "pipeline-stages":
            pipelines = self.stage_pipelines()
            names = ", ".join(
                sorted({pipelines.get(int(m.get("pipeline_id") or 0), "?") for m in matches})
            )
            return (
                f"stage {raw!r} exists in several pipelines ({names}); add a Pipeline column "
                f"or a pipeline_id default, or set lookup.scope.pipeline"
            )
        return f"{label} {raw!r} is ambiguous: {len(matches)} records match (ids {ids})"

    def _create(self, lookup: Lookup, raw: str) -> Resolution:
        if self._dry_run:
            self.report.planned.append((lookup.resource, raw))
            return Resolution(None, planned=True)
        field_name = CREATABLE[lookup.resource]
        if self._on_create is not None:
            created_id = self._on_create(lookup.resource, raw)
            if created_id is not None:
                self.report.created.append((lookup.resource, raw, created_id))
                return Resolution(created_id, created=True)
        try:
            record = self._client.create(lookup.resource, {field_name: raw})
        except RecordRejected as exc:
            return Resolution(None, f"could not create {lookup.resource} {raw!r}: {exc}")
        self.report.created.append((lookup.resource, raw, int(record["id"])))
        return Resolution(int(record["id"]), created=True)


LABELS = {
    "users": "user",
    "sources": "source",
    "industries": "industry",
    "countries": "country",
    "pipelines": "pipeline",
    "pipeline-stages": "stage",
    "companies": "company",
    "contacts": "contact",
    "deals": "deal",
    "products": "product",
    "activity-types": "activity type",
    "call-outcomes": "call outcome",
}
