"""Deciding the records of a multi-record import (``Decider`` plus two record rules).

- **Links never detach.** A field filled by ``link:`` (a contact's ``companies``, a deal's
  ``contacts``) adds the linked record to what the CRM record already has; Concord replaces
  association lists on update, so the current ids are sent along.
- **Records without a natural key** (notes, activities, calls) are verified by their content
  when a create's answer was lost: same body (or title and due date) attached to the same
  records, and not already claimed by another row of this journal. One such record means the
  create landed; none means it did not; several are reported ``unverified``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from concord_etl.crm.fields import ResourceFields
from concord_etl.load.decide import Decider, RowWork
from concord_etl.load.journal import Journal
from concord_etl.load.record_work import ASSOCIATIONS
from concord_etl.mapping.model import KEYLESS_RESOURCES, Mapping
from concord_etl.validate.lookups import Resolver, normalise_key
from concord_etl.validate.transforms import is_empty

if TYPE_CHECKING:
    from concord_etl.crm.client import ConcordClient

# What identifies a key-less record after a lost answer (besides its associations).
CONTENT_KEYS = {"notes": ("body",), "calls": ("body",), "activities": ("title",)}
CONTENT_EXTRA = {"activities": ("due_date",), "calls": ("date",)}


class RecordDecider(Decider):
    """A ``Decider`` for one record of a ``records:`` mapping."""

    def __init__(self, mapping: Mapping, fields: ResourceFields, client: ConcordClient,
                 resolver: Resolver, *, journal: Journal | None,
                 link_fields: Iterable[str] = ()) -> None:
        super().__init__(mapping, fields, client, resolver)
        self.journal = journal
        self.link_fields = tuple(link_fields)
        # find_existing answers kept only while decide() runs (it asks twice for the same rows)
        self._found: dict[tuple[tuple[int, ...], tuple[str, ...]], dict[int, list[dict[str, Any]]]] = {}
        self._deciding = False

    # -- key-less records: content reconciliation ----------------------------------------------
    def reconcile_keys(self) -> tuple[str, ...]:
        keys = super().reconcile_keys()
        if keys or self.mapping.resource not in KEYLESS_RESOURCES:
            return keys
        content = CONTENT_KEYS[self.mapping.resource]
        return content if all(k in self.mapping.fields for k in content) else ()

    def find_existing(self, rows: Iterable[RowWork], keys: tuple[str, ...]
                      ) -> dict[int, list[dict[str, Any]]]:
        rows = list(rows)
        memo = (tuple(r.row for r in rows), keys)
        if self._deciding and memo in self._found:
            return self._found[memo]
        found = super().find_existing(rows, keys)
        if self._is_content(keys):
            found = self._same_content(rows, found)
        if self._deciding:
            self._found[memo] = found
        return found

    def _is_content(self, keys: tuple[str, ...]) -> bool:
        resource = self.mapping.resource
        return resource in KEYLESS_RESOURCES and keys == CONTENT_KEYS.get(resource) \
            and not self.mapping.match.on

    def _same_content(self, rows: list[RowWork], found: dict[int, list[dict[str, Any]]]
                      ) -> dict[int, list[dict[str, Any]]]:
        extra = CONTENT_EXTRA.get(self.mapping.resource, ())
        out: dict[int, list[dict[str, Any]]] = {}
        for row in rows:
            hits = [rec for rec in found.get(row.row, [])
                    if _attached_alike(row.values, rec)
                    and all(_same_moment(row.values.get(k), rec.get(k)) for k in extra)]
            if hits and self.journal is not None:
                taken = self.journal.claimed([int(h["id"]) for h in hits],
                                             resource=self.mapping.resource)
                hits = [h for h in hits if int(h["id"]) not in taken]
            out[row.row] = hits
        return out

    # -- links add, never detach -----------------------------------------------------------
    def decide(self, rows: list[RowWork]) -> None:
        self._found.clear()
        self._deciding = True
        try:
            pending = [r for r in rows if r.action != "rejected"]
            match_on = self.match_keys()
            if self.link_fields and match_on and pending:
                existing = self.find_existing(pending, match_on)
                for row in pending:
                    hits = existing.get(row.row) or []
                    if len(hits) == 1:
                        _keep_links(row, hits[0], self.link_fields)
            super().decide(rows)
        finally:
            self._deciding = False
            self._found.clear()


def _ids(value: Any) -> list[Any]:
    if value is None:
        return []
    items = value if isinstance(value, (list, tuple)) else [value]
    out = []
    for item in items:
        if isinstance(item, dict):
            item = item.get("id")
        if not is_empty(item):
            out.append(item)
    return out


def _keep_links(row: RowWork, record: dict[str, Any], link_fields: tuple[str, ...]) -> None:
    for name in link_fields:
        if name not in ASSOCIATIONS or name not in record:
            continue
        mine = _ids(row.values.get(name))
        if not mine:
            continue
        current = _ids(record.get(name))
        shown = {str(i) for i in current}
        row.values[name] = [*current, *(i for i in mine if str(i) not in shown)]


def _attached_alike(values: dict[str, Any], record: dict[str, Any]) -> bool:
    """The record is attached to every record the row attaches it to."""
    for name in ASSOCIATIONS:
        wanted = {str(i) for i in _ids(values.get(name))}
        if wanted and not wanted <= {str(i) for i in _ids(record.get(name))}:
            return False
    return True


def _same_moment(mine: Any, theirs: Any) -> bool:
    if is_empty(mine):
        return True
    a, b = normalise_key(mine), normalise_key(theirs or "")
    return a[:10] == b[:10] if len(a) == 10 or len(b) == 10 else a[:16] == b[:16]
