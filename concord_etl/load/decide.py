"""Decide, row by row, what an import will do: create, update, unchanged, skip or reject.

Works on one validated chunk at a time: resolves lookups in batches (``validate.relations``), finds existing records by
the mapping's match key in batches (≤ 100 keys a request), reconciles rows whose earlier write has
an unknown outcome, and computes the changes an update needs. Only read requests happen here
(plus ``create_missing`` creations, each journalled and made once).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from concord_etl.crm.fields import ResourceFields
from concord_etl.load.payloads import build_body, changed_fields
from concord_etl.mapping.model import Mapping
from concord_etl.validate.lookups import Resolver, normalise_key
from concord_etl.validate.relations import Relations
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


@dataclass
class RowWork:
    """One input row on its way to the CRM."""

    row: int                                  # source row number (`_row`)
    values: dict[str, Any]                    # field -> normalised value (ids once resolved)
    action: str = "create"                    # create/update/unchanged/skipped/rejected/...
    record_id: int | None = None
    changes: dict[str, Any] | None = None     # fields an update sends
    errors: list[str] = field(default_factory=list)
    defaulted: frozenset[str] = frozenset()   # fields filled from `defaults`
    previous: dict[str, Any] | None = None    # journal entry of an earlier attempt
    reported: bool = False                    # progress already counted this row

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
        self.relations = Relations(mapping, fields, resolver)

    # -- lookups -----------------------------------------------------------------------------
    def resolve(self, rows: list[RowWork]) -> None:
        """Replace relation keys by ids; rows whose keys fail are rejected with the reason."""
        self.relations.resolve(rows)

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

    def decide(self, rows: list[RowWork]) -> None:
        """Set each pending row's action: create, update (with changes), unchanged, skip, reject."""
        pending = [r for r in rows if r.action not in ("rejected",)]
        match_on = self.match_keys()
        existing = self.find_existing(pending, match_on) if match_on else {}
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
            if "id" in match_on:
                hits = existing.get(row.row, [])
            elif match_on:
                if any(is_empty(row.values.get(k)) for k in match_on):
                    hits = []
                else:
                    hits = existing.get(row.row, [])
            else:
                hits = []
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
                    body = build_body(row.values, skip=row.defaulted)
                    changes = changed_fields(body, record, self.fields)
                    row.action, row.changes = ("update", changes) if changes else ("unchanged", None)
                    if row.action == "unchanged" and intent == "update":
                        row.action = "updated"  # the earlier, unanswered update did land
            elif "id" in match_on and not is_empty(row.values.get("id")):
                row.reject(f"no {self.mapping.resource} record with id {row.values.get('id')}")
            elif match.when_missing == "skip":
                row.action = "skipped"
            else:
                row.action = "create"
