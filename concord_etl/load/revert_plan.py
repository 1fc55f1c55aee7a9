"""What a revert has to undo, read from an import's journal (no requests here).

Each write the import recorded becomes an *item* (one per CRM record, however many rows wrote
to it), in the order the undo must follow:

- records the import **created** → ``delete``; records it **restored from the trash** →
  ``restore`` (fields set back, then trashed again); records it **updated** → ``fields`` (each
  changed field set back from its before-image, ``load.before_image``);
- deal line items it added to an existing deal → ``line_remove``; lines it changed →
  ``line_revert`` (lines of a deal the import created go with the deal);
- records a ``create_missing`` lookup created → ``related`` (deleted only when nothing uses
  them any more);
- a write whose answer the import never got (an interrupted import) → ``find``/``line_find``:
  looked up by its key first;
- an update journalled before before-images existed → ``cannot``.

Stages run in reverse dependency order: for ``records:`` mappings the last record first (notes
before contacts before companies), a deal's line items before the deal, lookup-created records
last. Each input row keeps *cells* (one per record, plus the line item) that point at the items,
for the results file.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from concord_etl.load.journal import OpRecord

RELATED = "\x00related"                # the stage of lookup-created records (sorts last)
LINES = "deal-products"
LEGACY = ("this update was imported before concord-etl kept before-images: it cannot be "
          "undone (only the records that import created can be)")
UNKNOWN_CREATE = ("the import sent this create but never learnt whether it landed, and the row "
                  "has no key to look it up by; check the CRM")
# What uses a lookup-created record: resource → (association names, or ``field=`` searches).
RELATED_USES = {
    "companies": ("contacts", "deals"),
    "sources": ("contacts:source_id", "companies:source_id"),
    "industries": ("companies:industry_id",),
}


@dataclass
class Item:
    """One undo: a CRM record (or deal line item) and the import ops that wrote it."""

    key: str
    kind: str
    resource: str
    stage: str
    concord_id: int | None = None
    ops: list[OpRecord] = field(default_factory=list)
    fields: dict[str, dict[str, Any]] = field(default_factory=dict)
    deal_id: int | None = None                 # line items: their deal
    deal: dict[str, Any] | None = None         # line items: the deal's state before the import
    line: dict[str, Any] | None = None         # line_revert: {"before": ..., "wrote": ...}
    match: dict[str, Any] | None = None        # find kinds: the import's key values
    then: str = ""                             # find: what a found record needs (delete/fields)
    label: str = ""                            # related: 'companies "Acme Ltd"'
    uses: tuple[str, ...] = ()                 # associations / searches meaning "still in use"
    reason: str = ""                           # cannot: why
    resent: bool = False                       # the revert journal has it as sent (unknown)
    unknown: bool = False                      # this run's write got no answer: still unknown
    earlier: bool = False                      # finished by an earlier revert run
    action: str = "pending"
    errors: list[str] = field(default_factory=list)

    @property
    def rows(self) -> list[int]:
        return sorted({op.row for op in self.ops if op.row is not None})


@dataclass(frozen=True)
class Cell:
    """One record (or line item) of one input row, and the item that undoes it."""

    op_key: str
    row: int
    name: str
    line: bool
    item: str | None                 # the item's key; None: the import wrote nothing here
    follower: bool = False           # folded into an earlier row's record (``duplicate``)
    concord_id: int | None = None    # the record the import's op names


@dataclass
class RevertPlan:
    items: dict[str, Item]
    stages: list[tuple[str, list[Item]]]
    cells: list[Cell]
    names: list[str]                             # record names, in the import's order
    products: set[str]                           # record names with line items

    def overview(self) -> list[str]:
        """What the revert will do, one line per kind (for the confirmation prompt)."""
        counts: dict[tuple[str, str], int] = {}
        for item in self.items.values():
            if item.action == "pending":
                kind = item.then if item.kind == "find" else item.kind
                counts[(kind, item.resource)] = counts.get((kind, item.resource), 0) + 1
        lines = []
        for (kind, resource), n in sorted(counts.items()):
            lines.append(_describe(kind, resource, n))
        return [line for line in lines if line]


def _describe(kind: str, resource: str, n: int) -> str:
    if kind == "delete":
        where = ("permanently: Concord has no trash for them" if resource in ("notes", "calls")
                 else "to the trash")
        return f"delete {n} {resource} the import created ({where})"
    if kind == "fields":
        return f"set back the fields the import changed on {n} {resource}"
    if kind == "restore":
        return f"move {n} {resource} the import restored back to the trash"
    if kind in ("line_remove", "line_find"):
        return f"remove {n} deal line items the import added"
    if kind == "line_revert":
        return f"set back {n} deal line items the import changed"
    if kind == "related":
        return (f"delete {n} {resource} created by lookups (create_missing), unless something "
                "else uses them now")
    if kind == "cannot":
        return f"leave {n} {resource} as they are: their changes cannot be undone (see results)"
    return ""


def build_plan(ops: Iterable[OpRecord], *, records: list[tuple[str, str]],
               uses: Mapping[str, tuple[str, ...]], products: set[str]) -> RevertPlan:
    """The items and stages for ``ops`` (an import journal's ops, in row order).

    ``records`` lists ``(name, resource)`` in the import's dependency order (``("", resource)``
    for a one-resource mapping); ``uses`` names, per record, the associations whose live members
    mean a record it created is still used (records other records of the mapping link to).
    """
    resources = dict(records)
    items: dict[str, Item] = {}
    cells: list[Cell] = []
    record_ops: list[tuple[OpRecord, str, str]] = []
    line_ops: list[tuple[OpRecord, str]] = []
    for op in ops:
        if op.op_key.startswith("create:"):
            _related(op, items)
            continue
        parts = op.op_key.split(":")
        if op.row is None or len(parts) < 2 or parts[0] != "row":
            continue
        if parts[-1] == "line":
            name = parts[2] if len(parts) == 4 else ""
            line_ops.append((op, name))
            continue
        name = parts[2] if len(parts) >= 3 else ""
        resource = op.resource or resources.get(name) or ""
        record_ops.append((op, name, resource))
    by_record: dict[tuple[str, int], Item] = {}
    for op, name, resource in record_ops:
        cell = _record_cell(op, name, resource, items, by_record, uses)
        cells.append(replace(cell, concord_id=op.concord_id))
    created_deals = {item.concord_id for item in by_record.values()
                     if item.kind == "delete" and item.resource == "deals"}
    for op, name in line_ops:
        cells.append(_line_cell(op, name, items, by_record, created_deals))
    names = [name for name, _ in records]
    return RevertPlan(items, _stages(items, names), cells, names, products)


# -- records ----------------------------------------------------------------------------------


def _record_cell(op: OpRecord, name: str, resource: str, items: dict[str, Item],
                 by_record: dict[tuple[str, int], Item], uses: Mapping[str, tuple[str, ...]]
                 ) -> Cell:
    row = int(op.row or 0)
    before = op.before or {}
    restored = bool(before.get("restored"))
    record_id = op.concord_id or (before.get("id") if restored else None)
    if op.state == "sent" and not restored:
        if op.action == "create" or (op.action == "update" and before.get("fields")):
            key = f"op:{op.op_key}"
            then = "delete" if op.action == "create" else "fields"
            items[key] = Item(key, "find", resource, name, ops=[op], match=op.match, then=then,
                              fields=dict(before.get("fields") or {}), uses=uses.get(name, ()))
            return Cell(op.op_key, row, name, False, key)
        return Cell(op.op_key, row, name, False, None)
    if op.state == "unverified":
        key = f"op:{op.op_key}"
        items[key] = Item(key, "cannot", resource, name, ops=[op], reason=UNKNOWN_CREATE)
        return Cell(op.op_key, row, name, False, key)
    if op.state not in ("done", "sent") or record_id is None:
        return Cell(op.op_key, row, name, False, None)
    if op.action == "duplicate":
        found = by_record.get((resource, int(record_id)))
        return Cell(op.op_key, row, name, False, found.key if found else None, follower=True)
    if restored:
        kind = "restore"
    elif op.action == "created":
        kind = "delete"
    elif op.action == "updated":
        kind = "fields" if before.get("fields") else "cannot"
    else:
        return Cell(op.op_key, row, name, False, None)
    ident = (resource, int(record_id))
    item = by_record.get(ident)
    if item is None:
        key = f"{resource}:{int(record_id)}"
        item = Item(key, kind, resource, name, concord_id=int(record_id))
        if kind == "delete":
            item.uses = uses.get(name, ())
        if kind == "cannot":
            item.reason = LEGACY
        by_record[ident] = items[key] = item
    else:
        item.kind = _stronger(item.kind, kind)
        if item.kind == "cannot" and not item.reason:
            item.reason = LEGACY
    item.ops.append(op)
    _merge_fields(item.fields, before.get("fields") or {})
    return Cell(op.op_key, row, name, False, item.key)


_STRENGTH = ("fields", "cannot", "restore", "delete")


def _stronger(a: str, b: str) -> str:
    """Two writes to one record: a create (delete) covers all; a restore covers updates."""
    return max(a, b, key=_STRENGTH.index)


def _merge_fields(kept: dict[str, dict[str, Any]], more: Mapping[str, Any]) -> None:
    """Several updates of one record: the first before, the last written value, per field."""
    for name, entry in more.items():
        if not isinstance(entry, Mapping):
            continue
        if name in kept:
            kept[name] = {**kept[name], "wrote": entry.get("wrote")}
        else:
            kept[name] = dict(entry)


# -- line items ------------------------------------------------------------------------------


def _line_cell(op: OpRecord, name: str, items: dict[str, Item],
               by_record: dict[tuple[str, int], Item], created_deals: set[int | None]) -> Cell:
    row = int(op.row or 0)
    match = op.match or {}
    deal_id = match.get("deal_id")
    stage = name
    if deal_id is not None and int(deal_id) in created_deals:
        deal = by_record[("deals", int(deal_id))]
        return Cell(op.op_key, row, name, True, deal.key)
    before = op.before or {}
    deal_state = before.get("deal")
    if op.state == "sent" and deal_id is not None:
        if op.action == "create":
            key = f"op:{op.op_key}"
            items[key] = Item(key, "line_find", LINES, stage, ops=[op], deal_id=int(deal_id),
                              match=match, deal=deal_state)
            return Cell(op.op_key, row, name, True, key)
        if before.get("line"):
            key = f"op:{op.op_key}"
            items[key] = Item(key, "line_revert", LINES, stage, ops=[op], deal_id=int(deal_id),
                              match=match, line=before["line"], deal=deal_state)
            return Cell(op.op_key, row, name, True, key)
        return Cell(op.op_key, row, name, True, None)
    if op.state != "done" or op.concord_id is None or deal_id is None:
        return Cell(op.op_key, row, name, True, None)
    key = f"{LINES}:{int(op.concord_id)}"
    if op.action == "duplicate":
        return Cell(op.op_key, row, name, True, key if key in items else None, follower=True)
    if op.action == "created":
        kind, line = "line_remove", None
    elif op.action == "updated":
        line = before.get("line")
        kind = "line_revert" if line else "cannot"
    else:
        return Cell(op.op_key, row, name, True, None)
    item = items.get(key)
    if item is None:
        item = Item(key, kind, LINES, stage, concord_id=int(op.concord_id), deal_id=int(deal_id),
                    line=line, deal=deal_state, match=match, reason=LEGACY if kind == "cannot" else "")
        items[key] = item
    elif kind == "line_remove":
        item.kind = "line_remove"
    item.ops.append(op)
    return Cell(op.op_key, row, name, True, key)


# -- lookup-created records ---------------------------------------------------------------------


def _related(op: OpRecord, items: dict[str, Item]) -> None:
    parts = op.op_key.split(":", 2)
    resource = op.resource or (parts[1] if len(parts) > 1 else "")
    name = str((op.match or {}).get("name") or (parts[2] if len(parts) > 2 else ""))
    label = f'{resource} "{name}"'
    uses = RELATED_USES.get(resource, ())
    if op.state == "done" and op.concord_id is not None:
        key = f"{resource}:{int(op.concord_id)}"
        if key in items:                 # a record of the mapping wrote to it too: created here
            item = items[key]
            item.kind, item.uses = "delete", item.uses or uses
            item.ops.append(op)
            return
        items[key] = Item(key, "related", resource, RELATED, concord_id=int(op.concord_id),
                          ops=[op], label=label, uses=uses)
    elif op.state == "sent":
        key = f"op:{op.op_key}"
        items[key] = Item(key, "find", resource, RELATED, ops=[op], match={"name": name},
                          then="related", label=label, uses=uses)


# -- order ------------------------------------------------------------------------------------


def _stages(items: dict[str, Item], names: list[str]) -> list[tuple[str, list[Item]]]:
    """Reverse dependency order; within a record, line items before records."""
    order = {name: i for i, name in enumerate(names)}
    groups: dict[tuple[int, int, str], list[Item]] = {}
    for item in items.values():
        if item.stage == RELATED:
            rank = (-1, 0, RELATED)
        else:
            lines = item.resource == LINES
            rank = (order.get(item.stage, len(order)), 1 if lines else 0, item.stage)
        groups.setdefault(rank, []).append(item)
    out = []
    for rank in sorted(groups, reverse=True):
        label = rank[2] + (":lines" if rank[1] else "")
        out.append((label, sorted(groups[rank], key=lambda i: (i.rows or [0], i.key))))
    return out
