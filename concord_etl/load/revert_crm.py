"""The CRM side of a revert: reading records as they are now, and the undo writes.

Reads are batched (``search_fields=id:in``, 100 ids a request); writes go one record at a time
through ``ConcordClient`` (paced by its pacer) and never raise for one record: each sets the
item's ``action`` and ``errors``. A write whose answer is lost is settled the safe way: a
DELETE is sent again (a 404 then means the first one landed), a PUT is idempotent, a line-item
POST is recomputed from the deal's billable as it is now.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from concord_etl.errors import AuthError, OutcomeUnknown, RecordRejected
from concord_etl.load.revert_fields import plan_fields, shape_revert_body
from concord_etl.load.revert_plan import UNKNOWN_CREATE, Item
from concord_etl.load.sender import refusal_lines
from concord_etl.validate.lookups import normalise_key
from concord_etl.validate.transforms import is_empty

if TYPE_CHECKING:
    from concord_etl.crm.client import ConcordClient

MAX_ATTEMPTS = 3
WITH = "companies;contacts;deals"
HAS_ASSOCIATIONS = ("contacts", "companies", "deals", "activities", "notes", "calls")
NO_ANSWER = f"no answer from the CRM after {MAX_ATTEMPTS} attempts; rerun to retry"

Claimed = Callable[[list[int], str], set[int]]


class RevertCrm:
    """Reads and undo writes of one revert run."""

    def __init__(self, client: ConcordClient, *, force: bool, claimed: Claimed) -> None:
        self.client = client
        self.force = force
        self.claimed = claimed            # ids other ops of the import already hold
        self.bodies: dict[str, dict[str, Any]] = {}     # item key → the PUT to send
        self.trash_after: set[str] = set()               # restored records to trash again
        self.planned: set[tuple[str, int]] = set()       # dry run: records it would delete

    # -- reads ------------------------------------------------------------------------------
    def current(self, resource: str, ids: Iterable[int], *, with_: str | None = None
                ) -> dict[int, dict[str, Any]]:
        """The live records of ``resource`` among ``ids`` (trashed or deleted ones are absent)."""
        wanted = sorted({int(i) for i in ids})
        if not wanted:
            return {}
        params = {"with": with_ or WITH} if resource in HAS_ASSOCIATIONS else None
        records = self.client.search_in(resource, "id", wanted, params=params)
        return {int(r["id"]): r for r in records if isinstance(r.get("id"), int)}

    def trashed(self, resource: str, record_id: int) -> bool:
        try:
            self.client.get(f"trashed/{resource}/{record_id}")
        except RecordRejected:
            return False
        return True

    def resolve(self, items: list[Item]) -> None:
        """Writes of an interrupted import: find the record each may have made, by its key."""
        for item in items:
            match = {k: v for k, v in (item.match or {}).items() if not is_empty(v)}
            if not match:
                item.action, item.errors = "failed", [UNKNOWN_CREATE]
                continue
            first = next(iter(match))
            hits = [r for r in self.client.search_in(item.resource, first, [match[first]])
                    if all(normalise_key(r.get(k)) == normalise_key(v) for k, v in match.items())]
            ids = [int(h["id"]) for h in hits]
            taken = self.claimed(ids, item.resource) if ids else set()
            ids = [i for i in ids if i not in taken]
            if not ids:
                item.action = "unchanged"
                item.errors = ["the interrupted import had not written it: nothing to undo"]
            elif len(ids) > 1:
                item.action = "failed"
                item.errors = [f"{len(ids)} {item.resource} match the import's key "
                               f"({', '.join(map(str, ids[:5]))}); cannot tell which one it "
                               "wrote: check the CRM"]
            else:
                item.concord_id, item.kind = ids[0], item.then

    def check_use(self, items: list[Item]) -> None:
        """Records the revert would delete that other records still use: kept (``conflict``)
        unless ``force``; records already gone: ``missing``."""
        by_resource: dict[str, list[Item]] = defaultdict(list)
        for item in items:
            if item.concord_id is not None:
                by_resource[item.resource].append(item)
        for resource, group in by_resource.items():
            uses = group[0].uses
            links = [u for u in uses if ":" not in u]
            found = self.current(resource, [i.concord_id for i in group if i.concord_id],
                                 with_=";".join(links) or None)
            users: dict[int, list[str]] = defaultdict(list)
            for record_id, record in found.items():
                for name in links:
                    ids = [str(r.get("id")) for r in record.get(name) or ()
                           if isinstance(r, dict) and (name, r.get("id")) not in self.planned]
                    if ids:
                        users[record_id].append(f"{name} {', '.join(ids[:10])}")
            for use in (u for u in uses if ":" in u):
                other, fieldname = use.split(":", 1)
                for record in self.client.search_in(other, fieldname, list(found)):
                    owner = record.get(fieldname)
                    if isinstance(owner, int) and (other, record.get("id")) not in self.planned:
                        users[owner].append(f"{other} {record.get('id')}")
            for item in group:
                assert item.concord_id is not None
                if item.concord_id not in found:
                    self.gone(item)
                elif users.get(item.concord_id):
                    why = f"still used by {'; '.join(users[item.concord_id])}"
                    if self.force:
                        item.errors.append(f"deleted although {why} (--force)")
                    else:
                        item.action = "conflict"
                        item.errors = [f"kept: {why} (--force deletes it)"]

    def gone(self, item: Item) -> None:
        """The record is not there (any more): ``missing``, or done when an earlier,
        unanswered write of this revert removed it."""
        if item.resent and item.kind in ("delete", "related", "restore"):
            item.action = "reverted" if item.kind == "restore" else "deleted"
            item.errors = []
            return
        item.action = "missing"
        item.errors = [f"{item.resource} {item.concord_id} is no longer in the CRM "
                       "(deleted since the import)"]

    def plan_record(self, item: Item, record: dict[str, Any]) -> bool:
        """Decide an update's (or a restore's) revert from the record as it is now; True when
        it needs a write."""
        plan = plan_fields(item.fields, record, force=self.force)
        item.errors = [*plan.conflicts, *plan.stuck,
                       *(f"overwritten (--force): {m}" for m in plan.forced)]
        if plan.conflicts:
            item.action = "conflict"
        elif plan.stuck and item.kind == "fields":
            item.action = "failed"
        else:
            item.action = "reverted"
        body = shape_revert_body(item.resource, plan.body, record)
        if body:
            self.bodies[item.key] = body
        if item.kind == "restore":
            if plan.conflicts:
                item.errors.append("left out of the trash: it changed since the import "
                                   "(--force moves it back)")
            else:
                self.trash_after.add(item.key)
        return item.key in self.bodies or item.key in self.trash_after

    # -- writes (each sets the item's outcome) ----------------------------------------------
    def delete(self, item: Item) -> None:
        assert item.concord_id is not None
        for attempt in range(MAX_ATTEMPTS):
            try:
                self.client.delete(item.resource, item.concord_id)
            except OutcomeUnknown:
                continue
            except RecordRejected as exc:
                if exc.status == 404:
                    item.resent = item.resent or attempt > 0
                    self.gone(item)
                else:
                    item.action, item.errors = "failed", refusal_lines(exc)
                return
            except AuthError as exc:
                if exc.status != 403:
                    raise
                item.action, item.errors = "failed", [str(exc)]
                return
            item.action = "deleted"
            return
        item.action, item.errors, item.unknown = "failed", [NO_ANSWER], True

    def update(self, item: Item) -> None:
        """Send the fields back, then trash a restored record again."""
        assert item.concord_id is not None
        body = self.bodies.pop(item.key, None)
        if body and not self._put(item, body):
            return
        if item.key in self.trash_after:
            self.trash_after.discard(item.key)
            planned, errors = item.action, list(item.errors)
            self.delete(item)
            if item.action == "deleted":
                item.action, item.errors = planned, errors

    def _put(self, item: Item, body: dict[str, Any]) -> bool:
        assert item.concord_id is not None
        for _attempt in range(MAX_ATTEMPTS):
            try:
                self.client.update(item.resource, item.concord_id, body)
                return True
            except OutcomeUnknown:
                continue          # an update is idempotent: send it again
            except RecordRejected as exc:
                if exc.status == 404:
                    self.gone(item)
                else:
                    item.action, item.errors = "failed", [*item.errors, *refusal_lines(exc)]
                return False
        item.action, item.errors, item.unknown = "failed", [*item.errors, NO_ANSWER], True
        return False
