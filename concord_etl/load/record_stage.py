"""One record of a multi-record import over one batch of rows (see ``load.records``).

``StageRunner.run`` takes a record (``Stage``: its checks, lookups, decider, fold, sender and
line items) through a batch: presence and cell problems, the journal's outcomes, links to the
row's other records, every lookup problem at once, values a keyed record needs across its rows,
``create_missing`` for the rows that pass all of that, folding, deciding and sending.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from concord_etl.load.deal_lines import DealLines
from concord_etl.load.decide import RowWork
from concord_etl.load.journal import Journal
from concord_etl.load.record_decide import RecordDecider
from concord_etl.load.record_fold import FoldIndex, settle_follower
from concord_etl.load.record_work import (
    ASSOCIATIONS,
    NOT_WRITTEN,
    RecordWork,
    RowState,
    first_association,
    positions_mask,
)
from concord_etl.load.sender import Sender
from concord_etl.mapping.records import LIST_LINKS
from concord_etl.validate.record_checks import (
    CheckedRecord,
    RecordCheck,
    missing_required,
    record_key,
)
from concord_etl.validate.relations import PendingCreates, Relations


@dataclass
class Stage:
    """One record of the mapping with everything needed to import it."""

    check: RecordCheck
    decider: RecordDecider
    relations: Relations
    fold: FoldIndex
    sender: Sender | None
    lines: DealLines | None
    guest_resource: str

    @property
    def name(self) -> str:
        return self.check.name


class StageRunner:
    """Runs the stages of one import over its batches (``journal`` is set once it is open)."""

    def __init__(self, *, dry_run: bool, me: Callable[[], int]) -> None:
        self.dry_run = dry_run
        self.journal: Journal | None = None
        self._me = me

    def run(self, stage: Stage, states: list[RowState], checked: CheckedRecord) -> None:
        looked: list[RecordWork] = []          # present, neither restored nor blocked
        for state in states:
            work = self._work(stage, state, checked)
            state.works[stage.name] = work
            if work.action in ("create", "rejected") and not work.absent and not work.restored:
                looked.append(work)
        # every lookup of those rows at once (read-only: nothing is created yet)
        pending = stage.relations.resolve(checked.chunk, create=False,
                                          among=positions_mask((w.position for w in looked), len(states)))
        works: list[RecordWork] = []
        refused: list[RecordWork] = []
        for work in looked:
            errors = checked.errors(work.position)
            work.warnings = checked.warnings(work.position)
            if errors:
                work.action, work.errors = "rejected", errors
                refused.append(work)
                continue
            work.values = checked.values(work.position)
            work.defaulted = checked.defaulted(work.position)
            works.append(work)
        by_row = {state.row: state for state in states}
        for work in works:
            self._link(stage, work, by_row[work.row])
            self._resource_rules(stage, work, pending)
        works = [w for w in works if w.action != "rejected"]
        waiting = {w.row: pending.fields_at(w.position) for w in works} if pending else {}
        missing = missing_required(
            stage.check, [(w.row, w.values) for w in works], written=stage.fold.written,
            filled_elsewhere=lambda row: waiting.get(row, set()),
            rejected=[(w.row, checked.values(w.position)) for w in refused])
        for work in [*works, *refused]:
            for reason in missing.get(work.row, ()):
                work.reject(reason)
        works = [w for w in works if w.action != "rejected"]
        if pending:
            self._create_pending(stage, checked, pending, works, waiting, len(states))
            works = [w for w in works if w.action != "rejected"]
        for work in works:
            work.key = record_key(stage.check.mapping.match.on, work.values)
        stage.fold.fold(works)
        firsts = [w for w in works if w.follower_of is None and w.action != "rejected"]
        stage.decider.decide(_rows(firsts))
        if not self.dry_run:
            assert stage.sender is not None
            stage.sender.record_settled(_rows(firsts))
            stage.sender.send(_rows(firsts), stage.decider)
        stage.fold.settle(firsts)
        for work in works:
            if work.follower_of is not None and work.action != "rejected":
                settle_follower(work)
                if not self.dry_run and work.action == "duplicate":
                    assert self.journal is not None
                    self.journal.finish(work.op_key, "done", action="duplicate",
                                        concord_id=work.record_id, row=work.row)
        if stage.lines is not None:
            for work in firsts:
                if work.action == "created" and work.record_id is not None:
                    stage.lines.fresh(int(work.record_id))
            stage.lines.process(states, checked)

    def _create_pending(self, stage: Stage, checked: CheckedRecord, pending: PendingCreates,
                        works: list[RecordWork], waiting: dict[int, set[str]], size: int) -> None:
        """``create_missing`` for the rows that passed every other check; their new ids join
        their values (next to what ``link:`` put there)."""
        stage.relations.create_pending(checked.chunk, pending, among=positions_mask((w.position for w in works), size))
        for work in works:
            fields = waiting.get(work.row)
            if not fields:
                continue
            errors = checked.errors(work.position)
            if errors:
                work.action, work.errors = "rejected", errors
                continue
            fresh = checked.values(work.position)
            for name in fields:
                value, current = fresh.get(name), work.values.get(name)
                if isinstance(value, list) and isinstance(current, list):
                    shown = {str(i) for i in value}
                    value = [*value, *(i for i in current if str(i) not in shown)]
                if value is None:
                    work.values.pop(name, None)
                else:
                    work.values[name] = value

    def _work(self, stage: Stage, state: RowState, checked: CheckedRecord) -> RecordWork:
        check = stage.check
        work = RecordWork(row=state.row, values={}, name=check.name,
                          resource=check.mapping.resource, guest_resource=stage.guest_resource,
                          position=state.position)
        if not checked.present[state.position]:
            work.absent = True
            work.action = "skipped"
            return work
        errors = checked.errors(state.position)
        if errors:
            work.action = "rejected"
            work.errors = errors
            return work
        if self.journal is not None:
            entry = self.journal.get(work.op_key)
            if entry is not None and entry.state in ("done", "rejected", "unverified"):
                work.action = entry.action or "created"
                work.record_id = entry.concord_id
                work.errors = list(entry.errors or [])
                work.values = checked.values(state.position)
                work.restored = True
                stage.fold.remember(work)
                return work
            if entry is not None:
                work.previous = {"state": entry.state, "action": entry.action,
                                 "concord_id": entry.concord_id}
        blocked = self._blocked(check, state)
        if blocked:
            work.blocked = blocked
            work.skip(blocked)
        return work

    def _blocked(self, check: RecordCheck, state: RowState) -> str | None:
        for parent in check.spec.needs:
            linked = state.works.get(parent)
            if linked is None:
                continue
            if linked.blocked or linked.action in NOT_WRITTEN:
                what = "skipped" if linked.blocked else linked.action
                return f"not written: the {parent} of this row was {what}"
        return None

    def _link(self, stage: Stage, work: RecordWork, state: RowState) -> None:
        for field_name, parent in stage.check.spec.link.items():
            linked = state.works[parent]
            target: Any = linked.record_id
            if target is None and self.dry_run and not linked.absent:
                first = linked.follower_of or linked
                if first.action == "create":
                    target = f"(new {parent} of row {first.row})"
            if target is None:
                continue
            if field_name in LIST_LINKS:
                current = work.values.get(field_name)
                items = list(current) if isinstance(current, (list, tuple)) else []
                if all(str(i) != str(target) for i in items):
                    items.append(target)
                work.values[field_name] = items
            else:
                work.values[field_name] = target

    def _resource_rules(self, stage: Stage, work: RecordWork, pending: PendingCreates) -> None:
        mapping = stage.check.mapping
        if mapping.resource == "activities" and "user_id" not in mapping.fields \
                and "user_id" not in mapping.defaults:
            work.values["user_id"] = self._me()
        if mapping.resource == "notes" and first_association(work.values) is None and not (
                pending and pending.fields_at(work.position) & set(ASSOCIATIONS)):
            work.reject("nothing to attach the note to: no contact, company or deal on this row")


def _rows(works: list[RecordWork]) -> list[RowWork]:
    """The same list, typed for ``Decider``/``Sender`` (a ``RecordWork`` is a ``RowWork``)."""
    return cast("list[RowWork]", works)
