"""Sending rows to the CRM: paced, concurrent, journalled, exactly once.

Each row's intent is written to the journal (in blocks, one transaction each) before its
request goes out, and its outcome after. A create that gets no answer is verified by the
row's key before it is sent again; a row with no key is reported ``unverified``, never
re-created; a 422 "already exists" on a re-send resolves to the row's own record.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import TYPE_CHECKING

from concord_etl.errors import AbortRun, OutcomeUnknown, RecordRejected
from concord_etl.load.before_image import before_image
from concord_etl.load.decide import Decider, RowWork
from concord_etl.load.journal import Journal, Op
from concord_etl.load.payloads import jsonable
from concord_etl.mapping.model import Mapping
from concord_etl.validate.lookups import normalise_key
from concord_etl.validate.transforms import is_empty

if TYPE_CHECKING:
    from concord_etl.crm.client import ConcordClient

MAX_SEND_ATTEMPTS = 3
MAX_WORKERS = 32   # threads are started lazily; how many are busy follows the pacer
TRASHABLE = ("contacts", "companies", "deals", "products", "activities")


class Sender:
    """Writes planned rows for one import run."""

    def __init__(
        self,
        client: ConcordClient,
        journal: Journal,
        resource: str,
        *,
        concurrency: int | None = None,
        on_settled: Callable[[RowWork], None] = lambda _row: None,
    ) -> None:
        self.client = client
        self.journal = journal
        self.resource = resource
        self.concurrency = concurrency
        self.on_settled = on_settled

    def _concurrency(self) -> int:
        """Requests in flight now: fixed by --concurrency, else what the pacer has learned.

        Asked again before every submission, so the pool widens as soon as the pacer knows
        the CRM's window and latency (the limit, not the client, is then the bottleneck).
        """
        if self.concurrency:
            return max(1, self.concurrency)
        pacer = getattr(self.client, "pacer", None)
        return int(pacer.suggest_concurrency()) if pacer is not None else 4

    def send(self, rows: list[RowWork], planner: Decider) -> None:
        """Write the rows whose action is create/update; each row ends with its outcome."""
        todo = [r for r in rows if r.action in ("create", "update")]
        if not todo:
            return
        most = self.concurrency or MAX_WORKERS
        block = max(most * 2, 16)
        journalled = 0
        inflight: dict[Future, RowWork] = {}
        queue: Iterator[RowWork] = iter(todo)
        abort: BaseException | None = None
        with ThreadPoolExecutor(max_workers=most, thread_name_prefix="concord-send") as pool:
            index = 0
            while True:
                # Ctrl-C/SIGTERM may land anywhere in this loop: stop submitting, keep
                # collecting the requests in flight so their outcomes reach the journal.
                try:
                    while (abort is None and len(inflight) < self._concurrency()
                           and index < len(todo)):
                        if index >= journalled:
                            self._intents(todo[journalled : journalled + block], planner)
                            journalled += block
                        row = next(queue)
                        inflight[pool.submit(self._send_one, row, planner)] = row
                        index += 1
                    if not inflight:
                        break
                    done, _ = wait(list(inflight), return_when=FIRST_COMPLETED)
                    for future in done:
                        row = inflight.pop(future)
                        try:
                            future.result()
                        except (AbortRun, KeyboardInterrupt) as exc:
                            abort = abort or exc
                            row.action, row.errors = "pending", [f"not finished: {exc}"]
                            continue
                        self._settle(row)
                except KeyboardInterrupt as exc:
                    abort = abort or exc
            if abort is not None:
                self._never_sent(todo[index:min(journalled, len(todo))])
                for row in todo[index:]:
                    row.action = "pending"
                raise abort

    def _never_sent(self, rows: list[RowWork]) -> None:
        """Intents written for rows that were never submitted: not 'sent' after all."""
        try:
            self.journal.finish_many(
                (r.op_key, "pending", None, None, None, r.row) for r in rows)
        except KeyboardInterrupt:
            return          # they stay 'sent' and are checked in the CRM by the next run

    def _intents(self, rows: list[RowWork], planner: Decider) -> None:
        keys = planner.reconcile_keys()
        ops = [
            Op(
                op_key=r.op_key,
                row=r.row,
                action="create" if r.action == "create" else "update",
                match={k: jsonable(r.values.get(k)) for k in keys},
                resource=self.resource,
                before=r.before if r.action == "update" else None,
            )
            for r in rows
        ]
        self.journal.begin(ops)

    def record_settled(self, rows: list[RowWork]) -> None:
        """Rows settled without a write (unchanged, skipped, reconciled) go to the journal."""
        for row in rows:
            if row.action in ("unchanged", "skipped", "created", "updated", "unverified"):
                state = "unverified" if row.action == "unverified" else "done"
                self.journal.finish(
                    row.op_key, state, action=row.action,
                    concord_id=row.record_id, errors=row.errors or None, row=row.row,
                )

    def _settle(self, row: RowWork) -> None:
        if row.action in ("created", "updated"):
            self.journal.finish(
                row.op_key, "done", action=row.action, concord_id=row.record_id, row=row.row
            )
        elif row.action in ("rejected", "unverified"):
            self.journal.finish(
                row.op_key, row.action, action=row.action,
                concord_id=row.record_id, errors=row.errors, row=row.row,
            )
        # failed rows keep their `sent` intent: the next run verifies and retries them
        self.on_settled(row)

    def _send_one(self, row: RowWork, planner: Decider) -> None:
        resource = self.resource
        resend = row.previous is not None and row.previous.get("state") != "pending"
        for _attempt in range(MAX_SEND_ATTEMPTS):
            try:
                if row.action == "create":
                    record = self.client.create(resource, row.body())
                    row.action, row.record_id = "created", int(record["id"])
                else:
                    assert row.record_id is not None
                    record = self.client.update(resource, row.record_id, row.body())
                    row.action = "updated"
                return
            except RecordRejected as exc:
                if row.action == "create" and _unique_violation(exc):
                    if resend:
                        found = self._verify(row, planner, prefer=list(exc.errors))
                        if isinstance(found, int):
                            row.action, row.record_id = "created", found
                            return
                    elif self._restore_from_trash(row, list(exc.errors), planner):
                        return
                row.action = "rejected"
                row.errors.extend(refusal_lines(exc, planner.mapping))
                return
            except OutcomeUnknown:
                resend = True
                if row.action != "create":
                    continue  # an update is idempotent: send it again
                found = self._verify(row, planner)
                if isinstance(found, int):
                    row.action, row.record_id = "created", found
                    return
                if found == "unverifiable":
                    row.action = "unverified"
                    row.errors.append(
                        "the CRM did not answer a create and the row has no key to verify it; "
                        "check the CRM, then rerun with --restart if the record is missing"
                    )
                    return
        row.action = "failed"
        row.errors.append(f"no answer from the CRM after {MAX_SEND_ATTEMPTS} attempts; rerun to retry")

    def _restore_from_trash(self, row: RowWork, fields: list[str], planner: Decider) -> bool:
        """A unique value held by a *trashed* record: restore that record and update it.

        Concord keeps e-mails of trashed contacts unique, so re-importing a deleted lead would
        otherwise be refused forever (docs/concord-api.md §21 recommends restoring instead).
        The trashed record's values are journalled first (a revert trashes it again).
        """
        if self.resource not in TRASHABLE:
            return False
        for name in fields:
            value = row.values.get(name)
            if is_empty(value) or isinstance(value, (list, tuple, dict)):
                continue
            hits = self.client.get_records(
                f"trashed/{self.resource}/search",
                {"q": str(value), "search_fields": f"{name}:="},
            )
            hits = [h for h in hits or [] if normalise_key(h.get(name)) == normalise_key(value)]
            if len(hits) != 1:
                continue
            record_id = int(hits[0]["id"])
            body = row.body()
            image = {**before_image(body, hits[0], planner.fields, restored=True),
                     "id": record_id}
            match = {k: jsonable(row.values.get(k)) for k in planner.reconcile_keys()}
            self.journal.begin([Op(op_key=row.op_key, row=row.row, action="restore",
                                   match=match, resource=self.resource, before=image)])
            self.client.request("POST", f"trashed/{self.resource}/{record_id}")
            self.client.update(self.resource, record_id, body)
            row.action, row.record_id = "updated", record_id
            return True
        return False

    def _verify(self, row: RowWork, planner: Decider, prefer: list[str] | None = None) -> int | str | None:
        """Find the record an unanswered create may have made: id, None, or 'unverifiable'."""
        keys = tuple(k for k in (prefer or []) if not is_empty(row.values.get(k)))[:1]
        keys = keys or planner.reconcile_keys()
        if not keys or any(is_empty(row.values.get(k)) for k in keys):
            return "unverifiable"
        hits = planner.find_existing([row], keys).get(row.row, [])
        if len(hits) == 1:
            return int(hits[0]["id"])
        return "unverifiable" if hits else None

    def create_related(self, resource: str, key: str) -> int | None:
        """create_missing: create a related record once, journalled like a row."""
        if self.journal is None:
            return None
        op_key = f"create:{resource}:{normalise_key(key)}"
        entry = self.journal.get(op_key)
        if entry is not None and entry.state == "done" and entry.concord_id:
            return int(entry.concord_id)
        self.journal.begin([Op(op_key=op_key, action="create", match={"name": key},
                               resource=resource)])
        for _attempt in range(MAX_SEND_ATTEMPTS):
            try:
                record = self.client.create(resource, {"name": key})
            except OutcomeUnknown:
                hits = [
                    r for r in self.client.search_in(resource, "name", [key])
                    if normalise_key(r.get("name")) == normalise_key(key)
                ]
                if len(hits) == 1:
                    record = hits[0]
                else:
                    continue
            self.journal.finish(op_key, "done", action="created", concord_id=int(record["id"]))
            return int(record["id"])
        return None


def _unique_violation(exc: RecordRejected) -> bool:
    text = " ".join(m for msgs in exc.errors.values() for m in msgs).lower()
    return "already exist" in text or "already been taken" in text


def refusal_lines(exc: RecordRejected, mapping: Mapping | None = None) -> list[str]:
    """The CRM's field messages, one per line, each naming the file's column(s) it is about:
    ``Phone 1 / Phone 2 (phones.0.number): A contact with this phone number already exist.``"""
    if not exc.errors:
        return [str(exc)]
    lines: list[str] = []
    for key, messages in exc.errors.items():
        field_name = key.split(".", 1)[0]
        columns = [c.column for c in mapping.for_field(field_name)] if mapping is not None else []
        where = f"{' / '.join(columns)} ({key})" if columns else key
        lines.extend(f"{where}: {message}" for message in messages)
    return lines
