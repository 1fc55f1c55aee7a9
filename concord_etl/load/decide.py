"""Decide, row by row, what an import will do: create, update, unchanged, skip or reject.

Works on one validated chunk at a time (lookups are already resolved by ``validate.relations``):
finds existing records by the mapping's match key — searching the file's keys (≤ 100 a request)
or reading the whole resource, whichever costs fewer requests (``validate.lookups.RecordSource``)
— reconciles rows whose earlier write has an unknown outcome, and computes the changes an update
needs. Only read requests happen here. Rows marked ``duplicate`` (a repeat of an earlier row of
the file) are left to the run, which gives them their first row's outcome.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, MutableMapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from concord_etl.crm.fields import ResourceFields
from concord_etl.load.before_image import before_image
from concord_etl.load.payloads import build_body, changed_fields
from concord_etl.mapping.model import Mapping
from concord_etl.validate.duplicates import KEY_SEPARATOR
from concord_etl.validate.lookups import Resolver, match_key, normalise_key
from concord_etl.validate.transforms import is_empty

if TYPE_CHECKING:
    from concord_etl.crm.client import ConcordClient

# Per resource: fields whose value is unique in the CRM, usable to verify an unknown outcome.
UNIQUE_KEYS = {
    "contacts": ("email",),
    "companies": ("email",),
    "products": ("sku", "name"),
}
RELATION_WITH = "companies;contacts;deals"


@dataclass(slots=True)
class RowWork:
    """One input row on its way to the CRM."""

    row: int                                  # source row number (`_row`)
    values: MutableMapping[str, Any]          # field -> value as sent (ids once resolved)
    action: str = "create"                    # create/update/unchanged/skipped/rejected/...
    record_id: int | None = None
    changes: dict[str, Any] | None = None     # fields an update sends
    errors: list[str] = field(default_factory=list)
    defaulted: frozenset[str] = frozenset()   # fields filled from `defaults`
    previous: dict[str, Any] | None = None    # journal entry of an earlier attempt
    before: dict[str, Any] | None = None      # an update's before-image (load.before_image)
    reported: bool = False                    # progress already counted this row
    key: str | None = None                    # the match key, compared form (None: no key)
    warnings: list[str] = field(default_factory=list)
    duplicate_of: int | None = None           # the earlier row of the file this row repeats

    @property
    def op_key(self) -> str:
        """The journal key of this row's write (``row:17``)."""
        return f"row:{self.row}"

    def reject(self, reason: str) -> None:
        self.action = "rejected"
        self.errors.append(reason)

    def body(self) -> dict[str, Any]:
        """The request body, built only when the row is about to be sent."""
        if self.action == "update":
            return dict(self.changes or {})
        return build_body(self.values)


class Decider:
    """Plans chunks of one import run."""

    def __init__(
        self,
        mapping: Mapping,
        fields: ResourceFields,
        client: ConcordClient,
        resolver: Resolver,
    ) -> None:
        self.mapping = mapping
        self.fields = fields
        self.client = client
        self.resolver = resolver
        self._expected: int | None = None
        self._keep: set[str] | None = None

    def expect(self, keys: list[str]) -> None:
        """The file's distinct match keys (from the scan before the run): they decide whether
        existing records are searched key by key or read whole, and what a whole read keeps."""
        self._expected = len(keys)
        self._keep = {k.split(KEY_SEPARATOR)[0] for k in keys}

    # -- matching existing records -----------------------------------------------------------
    def match_keys(self) -> tuple[str, ...]:
        return self.mapping.match.on

    def reconcile_keys(self) -> tuple[str, ...]:
        """Fields that identify a row's own record after an unknown outcome."""
        if self.mapping.match.on:
            return self.mapping.match.on
        unique = [f.attribute for f in self.fields if f.unique and f.attribute in self.mapping.fields]
        unique += [k for k in UNIQUE_KEYS.get(self.mapping.resource, ()) if k in self.mapping.fields]
        return tuple(dict.fromkeys(unique))[:1]

    def find_existing(
        self, rows: Iterable[RowWork], keys: tuple[str, ...]
    ) -> dict[int, list[dict[str, Any]]]:
        """Records matching each row's key (all of ``keys``), by row number."""
        rows = [r for r in rows if all(not is_empty(r.values.get(k)) for k in keys)]
        if not keys or not rows:
            return {}
        first = keys[0]
        wanted = sorted({str(r.values[first]).strip() for r in rows})
        params = {"with": RELATION_WITH}
        records = self.client.search_in(self.mapping.resource, first, wanted, params=params)
        index: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for record in records:
            index[normalise_key(record.get(first))].append(record)
        found: dict[int, list[dict[str, Any]]] = {}
        for row in rows:
            candidates = index.get(normalise_key(row.values[first]), [])
            found[row.row] = [
                rec
                for rec in candidates
                if all(normalise_key(rec.get(k)) == normalise_key(row.values[k]) for k in keys[1:])
            ]
        return found

    def existing(self, rows: Iterable[RowWork]) -> dict[int, list[dict[str, Any]]]:
        """Records matching each row's ``key`` (the whole match key), by row number; rows
        without a match are left out."""
        match_on = self.match_keys()
        keyed = [r for r in rows if r.key is not None]
        if not match_on or not keyed:
            return {}
        source = self.resolver.source(self.mapping.resource, match_on[0],
                                      {"with": RELATION_WITH}, key_of=match_key)
        several = len(match_on) > 1
        firsts = sorted({(r.key or "").split(KEY_SEPARATOR)[0] if several else r.key or ""
                         for r in keyed})
        expected = max(self._expected or 0, len(firsts))
        found = source.find(firsts, expected=expected, keep=self._keep, compared=True)
        out: dict[int, list[dict[str, Any]]] = {}
        for row in keyed:
            key = row.key or ""
            if not several:
                hits = found.get(key)
            else:
                first, *rest = key.split(KEY_SEPARATOR)
                hits = [
                    record for record in found.get(first, [])
                    if all(match_key(record.get(k)) == v
                           for k, v in zip(match_on[1:], rest, strict=False))
                ]
            if hits:
                out[row.row] = hits
        return out

    def decide(self, rows: list[RowWork]) -> None:
        """Set each pending row's action: create, update (with changes), unchanged, skip, reject."""
        pending = [r for r in rows if r.action not in ("rejected", "duplicate", "skipped")]
        match_on = self.match_keys()
        existing = self.existing(pending) if match_on else {}
        unknown = [r for r in pending if r.previous and r.previous.get("state") == "sent"]
        recon_keys = self.reconcile_keys()
        recon = (
            self.find_existing(unknown, recon_keys) if unknown and recon_keys != match_on else {}
        )
        match = self.mapping.match
        for row in pending:
            intent = (row.previous or {}).get("action") if row.previous else None
            if row.previous and row.previous.get("state") == "sent" and intent == "create":
                hits = recon.get(row.row) if recon_keys != match_on else existing.get(row.row)
                if not recon_keys:
                    row.action = "unverified"
                    row.errors.append(
                        "an earlier create may have succeeded, but the row has no key to verify "
                        "it; check the CRM and rerun with --restart if it is missing"
                    )
                    continue
                if hits and len(hits) == 1:
                    row.action, row.record_id = "created", int(hits[0]["id"])
                    continue
                if hits and len(hits) > 1:
                    row.action = "unverified"
                    row.errors.append(f"{len(hits)} records match this row after an unknown outcome")
                    continue
            hits = existing.get(row.row, []) if match_on else []
            if len(hits) > 1:
                ids = ", ".join(str(h.get("id")) for h in hits[:5])
                row.reject(f"{len(hits)} existing records match {', '.join(match_on)} (ids {ids})")
            elif hits:
                record = hits[0]
                row.record_id = int(record["id"])
                if match.when_found == "skip":
                    row.action = "skipped"
                elif match.when_found == "error":
                    row.reject(f"a record with this {', '.join(match_on)} already exists (id {row.record_id})")
                else:
                    skip = row.defaulted or getattr(row.values, "defaulted", frozenset())
                    body = build_body(row.values, skip=skip)
                    changes = changed_fields(body, record, self.fields)
                    row.action, row.changes = ("update", changes) if changes else ("unchanged", None)
                    if changes:
                        row.before = before_image(changes, record, self.fields)
                    if row.action == "unchanged" and intent == "update":
                        row.action = "updated"  # the earlier, unanswered update did land
            elif "id" in match_on and row.key is not None:
                row.reject(f"no {self.mapping.resource} record with id {row.key}")
            elif match.when_missing == "skip":
                row.action = "skipped"
            else:
                row.action = "create"
