"""Resolve names, emails and other keys to the ids of related CRM records.

Small tables (users, sources, industries, countries, pipelines, stages) are fetched once per run;
records (companies, contacts, deals, products) are searched in batches of up to 100 keys a request.
Several matches for one key reject the row (never pick the first); a key that is not found rejects
the row unless the lookup says ``create_missing: true``, which creates each missing record once.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from concord_etl.errors import RecordRejected
from concord_etl.mapping.model import LOOKUP_CREATABLE, Lookup

# Lookup tables small enough to prefetch whole.
SMALL_TABLES = ("users", "sources", "industries", "countries", "pipelines", "pipeline-stages",
                "activity-types", "call-outcomes")
# Resources a missing key may create (the mapping loader's list), each from its name.
CREATABLE = dict.fromkeys(LOOKUP_CREATABLE, "name")


class LookupClient(Protocol):
    def get_records(self, path: str, params: dict[str, Any] | None = None
                    ) -> list[dict[str, Any]]: ...
    def iter_records(
        self, resource: str, params: dict[str, Any] | None = None, per_page: int = 100
    ) -> Iterable[dict[str, Any]]: ...
    def search_in(self, resource: str, field: str, values: list[str]) -> list[dict[str, Any]]: ...
    def create(self, resource: str, body: dict[str, Any]) -> dict[str, Any]: ...


def normalise_key(value: object) -> str:
    """The comparison form of a lookup key: trimmed, single-spaced, case-folded."""
    return re.sub(r"\s+", " ", str(value)).strip().casefold()


@dataclass(frozen=True)
class Resolution:
    """What one key resolved to: an id, or a reason to reject the row."""

    id: int | None
    error: str | None = None
    created: bool = False          # created by this run (create_missing)
    planned: bool = False          # dry run: would be created


@dataclass
class LookupReport:
    """Records created or that would be created by `create_missing`, for the summary."""

    created: list[tuple[str, str, int]] = field(default_factory=list)   # (resource, key, id)
    planned: list[tuple[str, str]] = field(default_factory=list)        # (resource, key)


def _record_keys(resource: str, by: str, record: dict[str, Any]) -> list[str]:
    """The keys under which a fetched record can be found for `by`."""
    if by == "id":
        return [str(record.get("id"))]
    if resource == "countries" and by == "name":
        keys = [record.get("name"), record.get("iso_3166_2"), record.get("iso_3166_3")]
        return [normalise_key(k) for k in keys if k]
    if resource == "contacts" and by in ("full_name", "name"):
        full = " ".join(p for p in (record.get("first_name"), record.get("last_name")) if p)
        return [normalise_key(full or record.get("display_name") or "")]
    value = record.get(by)
    return [normalise_key(value)] if value not in (None, "") else []


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
        self._cache: dict[tuple[str, str, str, str], Resolution] = {}
        self.report = LookupReport()

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
        self, lookup: Lookup, keys: Iterable[object], *, scope: dict[str, object] | None = None
    ) -> dict[str, Resolution]:
        """Resolve raw cell keys; the result is keyed by ``normalise_key(key)``."""
        scope_items = {**dict(lookup.scope), **(scope or {})}
        scope_tag = ";".join(f"{k}={normalise_key(v)}" for k, v in sorted(scope_items.items()))
        wanted: dict[str, str] = {}
        for key in keys:
            if key is None or str(key).strip() == "":
                continue
            norm = normalise_key(key)
            if (lookup.resource, lookup.by, scope_tag, norm) not in self._cache:
                wanted.setdefault(norm, str(key).strip())
        if wanted:
            found = self._find(lookup, list(wanted.values()), scope_items)
            for norm, raw in wanted.items():
                self._cache[(lookup.resource, lookup.by, scope_tag, norm)] = self._decide(
                    lookup, raw, found.get(norm, []), scope_items
                )
        return {
            normalise_key(k): self._cache[(lookup.resource, lookup.by, scope_tag, normalise_key(k))]
            for k in keys
            if k is not None and str(k).strip() != ""
        }

    def _find(
        self, lookup: Lookup, raw_keys: list[str], scope: dict[str, object]
    ) -> dict[str, list[dict[str, Any]]]:
        resource, by = lookup.resource, lookup.by
        if resource in SMALL_TABLES:
            records = self.table(resource)
            if resource == "pipeline-stages" and scope.get("pipeline"):
                pipelines = self.stage_pipelines()
                wanted_pipeline = normalise_key(scope["pipeline"])
                records = [
                    r
                    for r in records
                    if normalise_key(pipelines.get(int(r.get("pipeline_id") or 0), ""))
                    == wanted_pipeline
                    or str(r.get("pipeline_id")) == str(scope["pipeline"])
                ]
        else:
            records = self._client.search_in(resource, by, raw_keys) if raw_keys else []
        index: dict[str, list[dict[str, Any]]] = {}
        for record in records:
            for key in _record_keys(resource, by, record):
                bucket = index.setdefault(key, [])
                if all(r.get("id") != record.get("id") for r in bucket):
                    bucket.append(record)
        return index

    def _decide(
        self,
        lookup: Lookup,
        raw: str,
        matches: list[dict[str, Any]],
        scope: dict[str, object],
    ) -> Resolution:
        label = _LABELS.get(lookup.resource, lookup.resource)
        if len(matches) == 1:
            return Resolution(int(matches[0]["id"]))
        if len(matches) > 1:
            return Resolution(None, self._ambiguous(lookup, raw, matches, label))
        if lookup.create_missing:
            return self._create(lookup, raw)
        where = ""
        if scope.get("pipeline"):
            where = f" in pipeline {scope['pipeline']!r}"
        return Resolution(None, f"{label} {raw!r} not found{where} (looked up by {lookup.by})")

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
                f"or set lookup.scope.pipeline"
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


_LABELS = {
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
