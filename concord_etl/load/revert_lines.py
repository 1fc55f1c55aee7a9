"""Undoing deal line items: one billable POST per deal carries every line's undo.

Lines the import added to an existing deal are removed (``removed_products``); lines it changed
get their values from before back (by line ``id``), unless they changed since (``conflict``).
The billable's tax type is set back when the import changed it, and a deal that had no line
items before the import gets its own amount back (Concord computes the amount from the lines
while there are any). Lines of deals the import created go with those deals.

Exactly once: the lines' intents are journalled before the POST; a POST whose answer was lost
is never repeated blindly: the deal's billable is read again and only what is still to undo is
sent.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from concord_etl.errors import OutcomeUnknown, RecordRejected
from concord_etl.load.revert_fields import plan_line
from concord_etl.load.revert_plan import Item
from concord_etl.validate.lookups import normalise_key

if TYPE_CHECKING:
    from concord_etl.crm.client import ConcordClient

MAX_ATTEMPTS = 3


class RevertLines:
    """The line-item undos of one revert run."""

    def __init__(self, client: ConcordClient, *, force: bool, dry_run: bool,
                 begin: Callable[[list[str]], None]) -> None:
        self.client = client
        self.force = force
        self.dry_run = dry_run
        self.begin = begin                  # journal the intents of these item keys

    def run(self, items: list[Item]) -> None:
        by_deal: dict[int, list[Item]] = defaultdict(list)
        for item in items:
            if item.deal_id is not None:
                by_deal[item.deal_id].append(item)
        for deal_id, group in by_deal.items():
            self._deal(deal_id, group)

    def _deal(self, deal_id: int, group: list[Item]) -> None:
        begun = False
        for _attempt in range(MAX_ATTEMPTS):
            try:
                billable = self.client.get(f"deals/{deal_id}/billable") or {}
            except RecordRejected as exc:
                if exc.status != 404:
                    raise
                for item in group:
                    _gone(item, f"deal {deal_id} is no longer in the CRM")
                return
            body, writers = self._diff(group, billable)
            if not writers or self.dry_run:
                break
            if not begun:
                self.begin([item.key for item in writers])
                begun = True
            try:
                billable = self.client.request("POST", f"deals/{deal_id}/billable",
                                               body=body) or {}
            except OutcomeUnknown:
                for item in writers:        # it may have landed: absence now means done
                    item.resent = True
                continue
            except RecordRejected as exc:
                reasons = [str(exc)] + [f"{k}: {m}" for k, ms in exc.errors.items() for m in ms]
                for item in writers:
                    item.action, item.errors = "failed", reasons
                return
            break
        else:
            for item in group:
                if item.action in ("deleted", "reverted"):
                    item.action, item.unknown = "failed", True
                    item.errors = [f"no answer from the CRM after {MAX_ATTEMPTS} attempts; "
                                   "rerun to retry"]
            return
        if not self.dry_run:
            self._amount(deal_id, group, billable)

    def _diff(self, group: list[Item], billable: dict[str, Any]
              ) -> tuple[dict[str, Any], list[Item]]:
        current = [p for p in billable.get("products") or () if isinstance(p, dict)]
        by_id = {int(p["id"]): p for p in current if isinstance(p.get("id"), int)}
        removed: list[int] = []
        products: list[dict[str, Any]] = []
        writers: list[Item] = []
        for item in group:
            line = by_id.get(item.concord_id) if item.concord_id else _by_key(item, current)
            if item.kind in ("line_remove", "line_find"):
                if line is None:
                    if item.kind == "line_find":
                        item.action = "unchanged"
                        item.errors = ["the interrupted import had not added it: nothing to undo"]
                    else:
                        _gone(item, f"line item {item.concord_id} is no longer on the deal")
                    continue
                item.concord_id = int(line["id"])
                removed.append(int(line["id"]))
                item.action, item.errors = "deleted", []
                writers.append(item)
            elif item.kind == "line_revert":
                if line is None:
                    _gone(item, "the line item is no longer on the deal")
                    continue
                payload, conflicts, forced = plan_line(item.line or {}, line, force=self.force)
                item.errors = conflicts or [f"overwritten (--force): {m}" for m in forced]
                item.action = "conflict" if conflicts else "reverted"
                if payload is not None:
                    products.append(payload)
                    writers.append(item)
        body: dict[str, Any] = {"products": products, "removed_products": removed}
        state = next((i.deal for i in group if i.deal), None) or {}
        tax_type = state.get("tax_type")
        if writers and tax_type and tax_type != billable.get("tax_type"):
            body["tax_type"] = tax_type
        return body, writers

    def _amount(self, deal_id: int, group: list[Item], billable: dict[str, Any]) -> None:
        """A deal without lines before the import gets its own amount back."""
        state = next((i.deal for i in group if i.deal and "amount" in i.deal), None)
        if state is None or billable.get("products"):
            return
        try:
            deal = self.client.show("deals", deal_id)
        except RecordRejected:
            return
        if _number(deal.get("amount")) == _number(state.get("amount")):
            return
        problem = ""
        for _attempt in range(MAX_ATTEMPTS):
            try:
                self.client.update("deals", deal_id, {"amount": state.get("amount")})
                return
            except OutcomeUnknown as exc:       # an update is idempotent: send it again
                problem = str(exc)
            except RecordRejected as exc:
                problem = str(exc)
                break
        for item in group:                      # the next run sets it (the lines are gone)
            item.action, item.unknown = "failed", True
            item.errors.append(f"the deal's amount could not be set back: {problem}")


def _by_key(item: Item, current: list[dict[str, Any]]) -> dict[str, Any] | None:
    """A line the import wrote without learning its id: found by product (or name)."""
    kind, value = [*list((item.match or {}).get("key") or []), "", ""][:2]
    for line in current:
        if kind == "product" and str(line.get("product_id")) == str(value):
            return line
        if kind == "name" and normalise_key(line.get("name") or "") == value:
            return line
    return None


def _gone(item: Item, why: str) -> None:
    if item.resent and item.kind in ("line_remove", "line_find"):
        item.action, item.errors = "deleted", []
    else:
        item.action, item.errors = "missing", [why]


def _number(value: Any) -> float | None:
    try:
        return None if value is None or value == "" else round(float(value), 3)
    except (TypeError, ValueError):
        return None
