"""A deal's line items from the sheet, sent to the deal's billable (``POST deals/{id}/billable``).

Each row with a product adds one line to the deal of that row (rows naming the same deal add
to the same deal). Lines are matched to the deal's current lines by catalogue product (or by
name for a line without one): a match with equal values is ``unchanged``, one with other
values is updated in place (its line ``id`` is sent), no match adds a line; lines the sheet
does not name are kept. One POST per deal and batch carries every change.

Exactly once: each line is an op (``row:17:deal:line``) begun before the POST (with the line's
before-image, for ``revert``) and finished with the billable line's id after it. A POST whose answer was lost is not repeated blindly:
the deal's billable is read again and only what is still missing or different is sent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from concord_etl.errors import OutcomeUnknown, RecordRejected
from concord_etl.load.before_image import line_image
from concord_etl.load.journal import Journal, Op
from concord_etl.load.payloads import build_body, jsonable
from concord_etl.load.record_work import NOT_WRITTEN, RecordWork, RowState, positions_mask
from concord_etl.mapping.model import ProductLines
from concord_etl.validate.lookups import Resolver, normalise_key
from concord_etl.validate.record_checks import CheckedRecord, LineCheck
from concord_etl.validate.relations import Relations
from concord_etl.validate.transforms import is_empty

if TYPE_CHECKING:
    from concord_etl.crm.client import ConcordClient

LINES_RESOURCE = "deal-products"
MAX_ATTEMPTS = 3
NUMBERS = ("unit_price", "qty", "tax_rate", "discount_total")
TEXTS = ("discount_type", "tax_label", "unit", "description", "note")


@dataclass
class LineWork:
    """One row's line item for its deal."""

    row: int
    values: dict[str, Any]
    op_key: str
    action: str = "pending"
    line_id: int | None = None
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    position: int = -1                  # the row's position in its validated chunk

    def reject(self, reason: str) -> None:
        self.action = "rejected"
        self.errors.append(reason)

    def key(self) -> tuple[str, str]:
        if not is_empty(self.values.get("product_id")):
            return ("product", str(self.values["product_id"]))
        return ("name", normalise_key(self.values.get("name") or ""))

    def payload(self) -> dict[str, Any]:
        return build_body(self.values)


def line_key(line: dict[str, Any], *, by_product: bool) -> tuple[str, str]:
    if by_product:
        return ("product", str(line.get("product_id")))
    return ("name", normalise_key(line.get("name") or ""))


class DealLines:
    """The line items of one deals record (``name``) of a mapping, for a whole run."""

    def __init__(self, name: str, check: LineCheck, products: ProductLines, client: ConcordClient,
                 journal: Journal | None, resolver: Resolver, *, dry_run: bool) -> None:
        self.name = name
        self.client = client
        self.journal = journal
        self.products = products
        self.dry_run = dry_run
        self.relations = Relations(check.validator, resolver)
        self.known: dict[int, list[dict[str, Any]]] = {}   # deal id → its lines, as last seen
        self.created: set[int] = set()                      # deals this run created
        self.states: dict[int, dict[str, Any]] = {}         # deal id → its state before the run
        self.tax_types: dict[int, Any] = {}                 # deal id → billable tax type, first seen
        # (deal id, line key) → the row of this run that gave the deal that line (any batch,
        # or an earlier attempt of this run found in the journal)
        self.given: dict[tuple[int, tuple[str, str]], int] = {}

    def fresh(self, deal_id: int) -> None:
        """A deal this run created: it has no lines yet (no need to read them)."""
        self.known.setdefault(deal_id, [])
        self.created.add(deal_id)

    def op_key(self, row: int) -> str:
        return f"row:{row}:{self.name}:line" if self.name else f"row:{row}:line"

    # -- one batch -----------------------------------------------------------------------
    def process(self, states: list[RowState], checked: CheckedRecord) -> None:
        lines_chunk = checked.lines
        if lines_chunk is None:
            return
        groups: dict[Any, list[LineWork]] = {}
        looked: list[LineWork] = []          # present and not restored: their lookups run
        targets: dict[int, Any] = {}
        for state in states:
            if not checked.has_line(state.position):
                continue
            line = LineWork(row=state.row, values={}, op_key=self.op_key(state.row),
                            position=state.position)
            state.lines[self.name] = line
            line.warnings = list(lines_chunk.warnings_of(state.position))
            errors = lines_chunk.reasons(state.position)
            if errors:
                line.action = "rejected"
                line.errors.extend(errors)
                looked.append(line)
                continue
            if self._restored(line):
                continue
            target = self._target(state.works[self.name], line)
            if target is None:
                continue
            targets[line.row] = target
            looked.append(line)
        mask = positions_mask((line.position for line in looked), len(states))
        self.relations.resolve(lines_chunk, create=True, among=mask)
        for line in looked:
            line.errors = list(lines_chunk.reasons(line.position))
            line.warnings = list(lines_chunk.warnings_of(line.position))
            if line.errors:
                line.action = "rejected"
                continue
            line.values = dict(lines_chunk.record(line.position))
            groups.setdefault(targets[line.row], []).append(line)
        for target, lines in groups.items():
            todo = [line for line in lines if line.action == "pending"]
            if todo:
                self._write(target, todo)

    def _restored(self, line: LineWork) -> bool:
        if self.journal is None:
            return False
        entry = self.journal.get(line.op_key)
        if entry is None or entry.state not in ("done", "rejected"):
            return False
        line.action = entry.action or "created"
        line.line_id = entry.concord_id
        line.errors = list(entry.errors or [])
        match = entry.match or {}
        if entry.state == "done" and match.get("deal_id") is not None and match.get("key"):
            key = tuple(str(k) for k in match["key"])
            self.given.setdefault((int(match["deal_id"]), (key[0], key[1])), line.row)
        return True

    def _target(self, deal: RecordWork, line: LineWork) -> Any:
        if deal.absent:
            line.action = "skipped"
            line.errors.append("not written: no deal on this row")
            return None
        if deal.action in NOT_WRITTEN or deal.blocked or deal.action == "skipped":
            line.action = "skipped"
            line.errors.append(f"not written: the deal was {deal.action}")
            return None
        if deal.record_id is None:                 # dry run: a deal that would be created
            first = deal.follower_of.row if deal.follower_of is not None else deal.row
            return f"new:{first}"
        return int(deal.record_id)

    # -- one deal --------------------------------------------------------------------------
    def _write(self, target: Any, lines: list[LineWork]) -> None:
        lines = self._unique(lines)
        if not lines:
            return
        deal_id = target if isinstance(target, int) else None
        for _attempt in range(MAX_ATTEMPTS):
            current = self._current(deal_id)
            send = self._diff(lines, current, deal_id)
            if self.dry_run:
                for line in lines:
                    line.action = {"created": "create", "updated": "update"}.get(
                        line.action, line.action)
                return
            assert deal_id is not None and self.journal is not None
            self._finish([line for line in lines if line.action in ("unchanged", "duplicate")],
                         deal_id)
            if not send:
                return
            self.journal.begin([
                    Op(op_key=line.op_key, row=line.row, resource=LINES_RESOURCE,
                       action="create" if "id" not in body else "update",
                       match={"deal_id": deal_id, "key": list(line.key())},
                       before=self._image(deal_id, body, current))
                for line, body in send])
            try:
                billable = self.client.request(
                    "POST", f"deals/{deal_id}/billable", body=self._body([b for _, b in send]))
            except OutcomeUnknown:
                self.known.pop(deal_id, None)    # read the deal's lines again, then resend
                continue
            except RecordRejected as exc:
                self._rejected([line for line, _ in send], exc)
                return
            self.known[deal_id] = list((billable or {}).get("products") or [])
            self._settle([line for line, _ in send], deal_id)
            return
        for line in lines:
            if line.action not in ("unchanged", "duplicate", "rejected"):
                line.action = "failed"
                line.errors.append(
                    f"no answer from the CRM after {MAX_ATTEMPTS} attempts; rerun to retry")

    def _unique(self, lines: list[LineWork]) -> list[LineWork]:
        """Two rows giving one deal the same product: one line (or a rejection if they differ)."""
        seen: dict[tuple[str, str], LineWork] = {}
        out: list[LineWork] = []
        for line in lines:
            first = seen.get(line.key())
            if first is None:
                seen[line.key()] = line
                out.append(line)
            elif _same_line(first.payload(), line.payload()):
                line.action = "duplicate"
                line.errors = []
                out.append(line)
            else:
                line.reject(f"row {first.row} gives this deal the same product with other values")
        return out

    def _current(self, deal_id: int | None) -> list[dict[str, Any]]:
        if deal_id is None:
            return []
        if deal_id not in self.known:
            billable = self.client.get_object(f"deals/{deal_id}/billable")
            self.known[deal_id] = list(billable.get("products") or [])
            self.tax_types.setdefault(deal_id, billable.get("tax_type"))
        return self.known[deal_id]

    def _image(self, deal_id: int, body: dict[str, Any], current: list[dict[str, Any]]
               ) -> dict[str, Any]:
        """The before-image of one line write (``load.before_image.line_image``)."""
        found = next((c for c in current if "id" in body and c.get("id") == body["id"]), None)
        if deal_id not in self.created and deal_id not in self.states:
            state: dict[str, Any] = {"id": deal_id, "tax_type": self.tax_types.get(deal_id)}
            if not current:       # the amount is the deal's own until it has lines
                state["amount"] = (self.client.show("deals", deal_id) or {}).get("amount")
            self.states[deal_id] = state
        return line_image(body, found, self.states.get(deal_id))

    def _diff(self, lines: list[LineWork], current: list[dict[str, Any]], deal_id: int | None
              ) -> list[tuple[LineWork, dict[str, Any]]]:
        send: list[tuple[LineWork, dict[str, Any]]] = []
        firsts: dict[tuple[str, str], LineWork] = {}
        for line in lines:
            key = line.key()
            if line.action == "duplicate" or key in firsts:
                line.action = "duplicate"
                continue
            firsts[key] = line
            payload = line.payload()
            found = next((c for c in current
                          if line_key(c, by_product=key[0] == "product") == key), None)
            earlier = self.given.get((deal_id, key)) if deal_id is not None else None
            if earlier is not None and earlier != line.row:
                # an earlier row of this run gave this deal this line: one line, never an update
                if found is not None and _same_line(payload, found):
                    line.action, line.line_id = "duplicate", int(found["id"])
                else:
                    line.reject(f"row {earlier} gives this deal the same product with other values")
                continue
            if found is None:
                line.action = "created"
                send.append((line, payload))
            elif _same_line(payload, found):
                line.action, line.line_id = "unchanged", int(found["id"])
            else:
                line.action, line.line_id = "updated", int(found["id"])
                send.append((line, {"id": int(found["id"]), **payload}))
        for line in lines:
            if line.action == "duplicate":
                twin = firsts.get(line.key())
                line.line_id = twin.line_id if twin is not None else None
        return send

    def _body(self, products: list[dict[str, Any]]) -> dict[str, Any]:
        body: dict[str, Any] = {"products": jsonable(products)}
        if self.products.tax_type:
            body["tax_type"] = self.products.tax_type
        return body

    def _settle(self, lines: list[LineWork], deal_id: int) -> None:
        current = self.known.get(deal_id, [])
        assert self.journal is not None
        for line in lines:
            key = line.key()
            found = next((c for c in current
                          if line_key(c, by_product=key[0] == "product") == key), None)
            if found is not None:
                line.line_id = int(found["id"])
            self.given.setdefault((deal_id, key), line.row)
            self.journal.finish(line.op_key, "done", action=line.action, concord_id=line.line_id,
                                row=line.row)

    def _finish(self, lines: list[LineWork], deal_id: int) -> None:
        assert self.journal is not None
        for line in lines:
            if line.action == "unchanged":
                self.given.setdefault((deal_id, line.key()), line.row)
            self.journal.finish(line.op_key, "done", action=line.action, concord_id=line.line_id,
                                row=line.row)

    def _rejected(self, lines: list[LineWork], exc: RecordRejected) -> None:
        assert self.journal is not None
        by_line: dict[int, list[str]] = {}
        general: list[str] = []
        for key, messages in (exc.errors or {}).items():
            parts = key.split(".")
            if len(parts) >= 3 and parts[0] == "products" and parts[1].isdigit():
                by_line.setdefault(int(parts[1]), []).extend(f"{parts[2]}: {m}" for m in messages)
            else:
                general.extend(f"{key}: {m}" for m in messages)
        for i, line in enumerate(lines):
            reasons = by_line.get(i) or general or [
                "not written: the CRM refused another line of this deal"]
            line.action = "rejected"
            line.line_id = None
            line.errors.extend(reasons)
            self.journal.finish(line.op_key, "rejected", action="rejected", errors=line.errors,
                                row=line.row)


def _number(value: Any) -> float | None:
    try:
        return None if is_empty(value) else float(value)
    except (TypeError, ValueError):
        return None


def _same_line(wanted: dict[str, Any], current: dict[str, Any]) -> bool:
    """Every value the sheet gives equals the line's (numbers to 3 decimals, text folded)."""
    for name in NUMBERS:
        if name in wanted:
            a, b = _number(wanted[name]), _number(current.get(name))
            if a is None or b is None or abs(a - b) >= 5e-4:
                return False
    for name in TEXTS:
        if name in wanted and normalise_key(wanted[name]) != normalise_key(current.get(name) or ""):
            return False
    if "product_id" not in wanted and "name" in wanted:
        return normalise_key(wanted["name"]) == normalise_key(current.get("name") or "")
    return True
