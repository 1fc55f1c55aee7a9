"""A resumable, exactly-once import: file → validated rows → CRM writes → journal → results.

The journal gets each row's intent *before* its request is sent and the outcome after; a rerun
after any interruption (Ctrl-C, crash, ``kill -9``) skips finished rows, and verifies rows whose
outcome is unknown by their match key before anything is sent again.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from concord_etl.errors import AbortRun, OutcomeUnknown, RecordRejected
from concord_etl.fields import ResourceFields, parse_create_fields
from concord_etl.journal import Journal, Op, file_hash
from concord_etl.lookups import Resolver, check_lookup, normalise_key
from concord_etl.mapping.model import Mapping
from concord_etl.payloads import is_empty
from concord_etl.plan import Planner, RowWork
from concord_etl.readers import Table, open_table, require_columns
from concord_etl.results import ResultsWriter, results_path
from concord_etl.schema import build_plan
from concord_etl.validate import validate_frame

FINAL_ACTIONS = ("created", "updated", "unchanged", "skipped", "rejected", "unverified")
COUNTED = ("created", "updated", "unchanged", "skipped", "rejected", "failed", "unverified")
MAX_SEND_ATTEMPTS = 3
MAX_WORKERS = 32   # threads are started lazily; how many are busy follows the pacer


@dataclass
class ImportOptions:
    dry_run: bool = False
    plan_path: Path | None = None
    journal_path: Path | None = None
    restart: bool = False
    results_path: Path | None = None
    concurrency: int | None = None
    limit: int | None = None
    sheet: str | int | None = None


@dataclass
class ImportSummary:
    rows: int = 0
    counts: Counter = field(default_factory=Counter)
    requests: int = 0
    elapsed_s: float = 0.0
    waited_s: float = 0.0
    results: str | None = None
    journal: str | None = None
    plan: str | None = None
    dry_run: bool = False
    created_related: list[tuple[str, str, int]] = field(default_factory=list)
    planned_related: list[tuple[str, str]] = field(default_factory=list)
    aborted: str | None = None

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"rows": self.rows}
        data.update({k: self.counts.get(k, 0) for k in COUNTED})
        data.update(
            requests=self.requests,
            elapsed_s=round(self.elapsed_s, 3),
            waited_s=round(self.waited_s, 3),
            results=self.results,
            journal=self.journal,
        )
        if self.dry_run:
            data["dry_run"] = True
            data["plan"] = self.plan
            data["would_create_related"] = [f"{r}: {k}" for r, k in self.planned_related]
        if self.created_related:
            data["created_related"] = [f"{r}: {k} (id {i})" for r, k, i in self.created_related]
        if self.aborted:
            data["aborted"] = self.aborted
        return data

    @property
    def exit_code(self) -> int:
        if self.aborted:
            return 3
        bad = sum(self.counts.get(k, 0) for k in ("rejected", "failed", "unverified"))
        return 1 if bad else 0


ProgressFn = Callable[[dict[str, Any]], None]


def results_writer(path: Path, table: Table, mapping: Mapping, *, excel: bool | None = None) -> ResultsWriter:
    """A results file laid out like the input, so it re-imports with the same mapping."""
    if excel is None:
        excel = table.format != "csv"
    forced = mapping.source.encoding if mapping.source.encoding != "auto" else None
    return ResultsWriter(
        path, list(table.columns), excel=excel,
        sheet=table.sheet if excel else None,
        encoding=None if excel else forced,
        delimiter=(table.delimiter or ",") if not excel else ",",
    )


def default_journal_path(path: Path) -> Path:
    return path.with_name(path.name + ".journal.sqlite")


def estimate_rows(table: Table) -> int | None:
    """A cheap estimate of the data rows, for the progress bar (None when unknown)."""
    if table.format != "csv":
        return None
    count = 0
    with open(table.path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            count += block.count(b"\n")
    return max(count - 1, 0)


class Importer:
    """One import run. ``run()`` returns the summary; ``AbortRun`` carries it as ``.summary``."""

    def __init__(
        self,
        path: Path,
        mapping: Mapping,
        client: Any,
        options: ImportOptions | None = None,
        *,
        progress: ProgressFn | None = None,
    ) -> None:
        self.path = Path(path)
        self.mapping = mapping
        self.client = client
        self.options = options or ImportOptions()
        self.progress = progress
        self.summary = ImportSummary(dry_run=self.options.dry_run)
        self.journal: Journal | None = None
        self._started = 0.0
        self._plan_file: Any = None
        self._live: Counter = Counter()
        self._base_stats: tuple[int, float] = (0, 0.0)

    # -- set-up ------------------------------------------------------------------------------
    def _open(self) -> tuple[Table, ResourceFields, Any]:
        hints = self.mapping.source
        table = open_table(
            self.path,
            sheet=self.options.sheet if self.options.sheet is not None else hints.sheet,
            header_row=hints.header_row,
            encoding=hints.encoding,
            delimiter=hints.delimiter,
        )
        needed = [c.column for c in self.mapping.columns if c.field not in self.mapping.defaults]
        require_columns(table, needed)
        for spec in self.mapping.columns:
            if spec.lookup is not None:
                check_lookup(spec.lookup, column=spec.column)
        fields = parse_create_fields(
            self.mapping.resource, self.client.create_fields(self.mapping.resource)
        )
        plan = build_plan(self.mapping, fields)
        return table, fields, plan

    def _open_journal(self) -> None:
        path = self.options.journal_path or default_journal_path(self.path)
        self.journal = Journal.open(
            path,
            input_hash=file_hash(self.path),
            mapping_hash=self.mapping.digest,
            input_name=str(self.path),
            restart=self.options.restart,
        )
        self.summary.journal = str(path)

    # -- the run -----------------------------------------------------------------------------
    def _stats(self) -> tuple[int, float]:
        stats = getattr(self.client, "stats", None)
        return (int(getattr(stats, "requests", 0) or 0),
                float(getattr(stats, "wait_seconds", 0.0) or 0.0))

    def run(self) -> ImportSummary:
        self._started = time.monotonic()
        self._base_stats = self._stats()
        table, fields, plan = self._open()
        excel = table.format != "csv"
        if not self.options.dry_run:
            self._open_journal()
        out_path = self.options.results_path or results_path(self.path, excel=excel)
        write_results = not self.options.dry_run or self.options.results_path is not None
        writer = results_writer(out_path, table, self.mapping) if write_results else None
        if self.options.dry_run and self.options.plan_path:
            self._plan_file = open(self.options.plan_path, "w", encoding="utf-8")  # noqa: SIM115
            self.summary.plan = str(self.options.plan_path)
        resolver = Resolver(self.client, dry_run=self.options.dry_run, on_create=self._create_related)
        planner = Planner(self.mapping, fields, self.client, resolver)
        total = estimate_rows(table)
        if self.options.limit is not None:
            total = min(total, self.options.limit) if total is not None else self.options.limit
        self._emit(total=total)
        seen = 0
        frames = iter(table.frames())
        try:
            for frame in frames:
                if self.options.limit is not None:
                    if seen >= self.options.limit:
                        break
                    frame = frame.iloc[: self.options.limit - seen]
                seen += len(frame)
                rows = self._rows(frame, plan)
                try:
                    self._process(rows, planner)
                finally:
                    if writer is not None:
                        self._write_results(writer, frame, table.columns, rows)
        except (AbortRun, KeyboardInterrupt) as exc:
            self.summary.aborted = str(exc) or type(exc).__name__
            if writer is not None:
                self._write_unprocessed(writer, frames, table.columns, seen)
            self._finish(writer, resolver)
            if isinstance(exc, AbortRun):
                exc.summary = self.summary  # type: ignore[attr-defined]
            raise
        except BaseException:
            self._finish(writer, resolver)
            raise
        self._finish(writer, resolver)
        return self.summary

    def _write_unprocessed(
        self, writer: ResultsWriter, frames: Iterator[Any], columns: list[str], seen: int
    ) -> None:
        """After an abort, the rows never reached still go into the results file."""
        reason = ["not processed: the run was interrupted; rerun the same command to resume"]
        try:
            for frame in frames:
                if self.options.limit is not None:
                    if seen >= self.options.limit:
                        break
                    frame = frame.iloc[: self.options.limit - seen]
                seen += len(frame)
                rows = [RowWork(row=int(n), values={}, action="pending", errors=list(reason))
                        for n in frame["_row"].tolist()]
                self._write_results(writer, frame, columns, rows)
        except KeyboardInterrupt:
            return

    def _finish(self, writer: ResultsWriter | None, resolver: Resolver) -> None:
        if writer is not None:
            writer.close()
            self.summary.results = str(writer.path)
        if self._plan_file is not None:
            self._plan_file.close()
        if self.journal is not None:
            self.journal.close()
        requests_now, waited_now = self._stats()
        self.summary.requests = requests_now - self._base_stats[0]
        self.summary.waited_s = waited_now - self._base_stats[1]
        self.summary.elapsed_s = time.monotonic() - self._started
        self.summary.created_related = list(resolver.report.created)
        self.summary.planned_related = list(resolver.report.planned)

    # -- rows --------------------------------------------------------------------------------
    def _rows(self, frame: Any, plan: Any) -> list[RowWork]:
        chunk = validate_frame(frame, plan)
        errors: dict[int, list[str]] = {}
        if len(chunk.errors):
            for row_no, reason in zip(
                chunk.errors["_row"].tolist(), chunk.errors["reason"].tolist(), strict=True
            ):
                errors.setdefault(int(row_no), []).append(str(reason))
        defaulted_fields = self._defaulted(frame)
        values = chunk.values
        rows: list[RowWork] = []
        records = values.to_dict("index") if len(values.columns) else {}
        for index, row_no in zip(frame.index, frame["_row"].tolist(), strict=True):
            work = RowWork(row=int(row_no), values=dict(records.get(index, {})))
            work.defaulted = defaulted_fields.get(index, frozenset())
            if index in chunk.rejected or int(row_no) in errors:
                for reason in errors.get(int(row_no), ["invalid row"]):
                    work.reject(reason)
            rows.append(work)
        return rows

    def _defaulted(self, frame: Any) -> dict[Any, frozenset[str]]:
        """Per row, the fields whose value comes from `defaults` (never sent on updates)."""
        out: dict[Any, frozenset[str]] = {}
        if not self.mapping.defaults:
            return out
        for field_name in self.mapping.defaults:
            columns = [c.column for c in self.mapping.for_field(field_name) if c.column in frame]
            if columns:
                empty = frame[columns].isna().all(axis=1)
                for index in frame.index[empty]:
                    out[index] = out.get(index, frozenset()) | {field_name}
            else:
                for index in frame.index:
                    out[index] = out.get(index, frozenset()) | {field_name}
        return out

    def _process(self, rows: list[RowWork], planner: Planner) -> None:
        pending: list[RowWork] = []
        for row in rows:
            if self.journal is not None and row.action != "rejected":
                entry = self.journal.get(f"row:{row.row}")
                if entry is not None and entry.state in ("done", "rejected", "unverified"):
                    row.action = entry.action or "created"
                    row.record_id = entry.concord_id
                    row.errors = list(entry.errors or [])
                    continue
                if entry is not None:
                    row.previous = {"state": entry.state, "action": entry.action,
                                    "concord_id": entry.concord_id}
            pending.append(row)
        planner.resolve([r for r in pending if r.action != "rejected"])
        planner.decide(pending)
        if self.options.dry_run:
            for row in rows:
                self._plan_line(row)
            self._count(rows)
            return
        self._record_settled(pending)
        self._send(pending, planner)
        self._count(rows)

    def _record_settled(self, rows: list[RowWork]) -> None:
        """Rows settled without a write (unchanged, skipped, reconciled) go to the journal."""
        assert self.journal is not None
        for row in rows:
            if row.action in ("unchanged", "skipped", "created", "updated", "unverified"):
                state = "unverified" if row.action == "unverified" else "done"
                self.journal.finish(
                    f"row:{row.row}", state, action=row.action,
                    concord_id=row.record_id, errors=row.errors or None, row=row.row,
                )

    # -- sending -----------------------------------------------------------------------------
    def _concurrency(self) -> int:
        """Requests in flight now: fixed by --concurrency, else what the pacer has learned.

        Asked again before every submission, so the pool widens as soon as the pacer knows
        the CRM's window and latency (the limit, not the client, is then the bottleneck).
        """
        if self.options.concurrency:
            return max(1, self.options.concurrency)
        pacer = getattr(self.client, "pacer", None)
        return int(pacer.suggest_concurrency()) if pacer is not None else 4

    def _send(self, rows: list[RowWork], planner: Planner) -> None:
        todo = [r for r in rows if r.action in ("create", "update")]
        if not todo:
            return
        assert self.journal is not None
        most = self.options.concurrency or MAX_WORKERS
        block = max(most * 2, 16)
        journalled = 0
        inflight: dict[Future, RowWork] = {}
        queue: Iterator[RowWork] = iter(todo)
        abort: BaseException | None = None
        with ThreadPoolExecutor(max_workers=most, thread_name_prefix="concord-send") as pool:
            index = 0
            while True:
                while abort is None and len(inflight) < self._concurrency() and index < len(todo):
                    if index >= journalled:
                        self._intents(todo[journalled : journalled + block], planner)
                        journalled += block
                    row = next(queue)
                    inflight[pool.submit(self._send_one, row, planner)] = row
                    index += 1
                if not inflight:
                    break
                try:
                    done, _ = wait(list(inflight), return_when=FIRST_COMPLETED)
                except KeyboardInterrupt as exc:
                    abort = exc
                    continue
                for future in done:
                    row = inflight.pop(future)
                    try:
                        future.result()
                    except (AbortRun, KeyboardInterrupt) as exc:
                        abort = abort or exc
                        row.action, row.errors = "pending", [f"not sent: {exc}"]
                        continue
                    self._settle(row)
            if abort is not None:
                for row in todo[index:]:
                    row.action = "pending"
                raise abort

    def _intents(self, rows: list[RowWork], planner: Planner) -> None:
        keys = planner.reconcile_keys()
        ops = [
            Op(
                op_key=f"row:{r.row}",
                row=r.row,
                action="create" if r.action == "create" else "update",
                match={k: _jsonable(r.values.get(k)) for k in keys},
            )
            for r in rows
        ]
        assert self.journal is not None
        self.journal.begin(ops)

    def _settle(self, row: RowWork) -> None:
        assert self.journal is not None
        if row.action in ("created", "updated"):
            self.journal.finish(
                f"row:{row.row}", "done", action=row.action, concord_id=row.record_id, row=row.row
            )
        elif row.action in ("rejected", "unverified"):
            self.journal.finish(
                f"row:{row.row}", row.action, action=row.action,
                concord_id=row.record_id, errors=row.errors, row=row.row,
            )
        # failed rows keep their `sent` intent: the next run verifies and retries them
        self._emit_row(row)

    def _send_one(self, row: RowWork, planner: Planner) -> None:
        resource = self.mapping.resource
        resend = row.previous is not None
        for _attempt in range(MAX_SEND_ATTEMPTS):
            try:
                if row.action == "create":
                    record = self.client.create(resource, row.body())
                    row.action, row.record_id = "created", int(record["id"])
                else:
                    record = self.client.update(resource, row.record_id, row.body())
                    row.action = "updated"
                return
            except RecordRejected as exc:
                if row.action == "create" and resend and _unique_violation(exc):
                    found = self._verify(row, planner, prefer=list(exc.errors))
                    if isinstance(found, int):
                        row.action, row.record_id = "created", found
                        return
                row.action = "rejected"
                row.errors.extend(_messages(exc))
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

    def _verify(self, row: RowWork, planner: Planner, prefer: list[str] | None = None) -> int | str | None:
        """Find the record an unanswered create may have made: id, None, or 'unverifiable'."""
        keys = tuple(k for k in (prefer or []) if not is_empty(row.values.get(k)))[:1]
        keys = keys or planner.reconcile_keys()
        if not keys or any(is_empty(row.values.get(k)) for k in keys):
            return "unverifiable"
        hits = planner.find_existing([row], keys).get(row.row, [])
        if len(hits) == 1:
            return int(hits[0]["id"])
        return "unverifiable" if hits else None

    def _create_related(self, resource: str, key: str) -> int | None:
        """create_missing: create a related record once, journalled like a row."""
        if self.journal is None:
            return None
        op_key = f"create:{resource}:{normalise_key(key)}"
        entry = self.journal.get(op_key)
        if entry is not None and entry.state == "done" and entry.concord_id:
            return int(entry.concord_id)
        self.journal.begin([Op(op_key=op_key, action="create", match={"name": key})])
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

    # -- output ------------------------------------------------------------------------------
    def _count(self, rows: list[RowWork]) -> None:
        unreported = 0
        for row in rows:
            action = row.action
            if self.options.dry_run:
                action = {"create": "created", "update": "updated"}.get(action, action)
            self.summary.counts[action] += 1
            if not row.reported:
                unreported += 1
                self._live[row.action] += 1
        self.summary.rows += len(rows)
        self._emit(advance=unreported)

    def _emit(self, advance: int = 0, **extra: Any) -> None:
        if self.progress is None:
            return
        self.progress(
            {
                "advance": advance,
                "counts": dict(self._live),
                "waited": self._stats()[1] - self._base_stats[1],
                **extra,
            }
        )

    def _emit_row(self, row: RowWork) -> None:
        row.reported = True
        self._live[row.action] += 1
        self._emit(advance=1)

    def _plan_line(self, row: RowWork) -> None:
        action = {"create": "create", "update": "update", "unchanged": "unchanged",
                  "skipped": "skip", "rejected": "reject"}.get(row.action, row.action)
        if self._plan_file is None:
            return
        payload = None
        if row.action in ("create", "update"):
            payload = row.body()
        line = {"row": row.row, "action": action, "payload": _jsonable(payload), "errors": row.errors}
        if row.record_id is not None:
            line["concord_id"] = row.record_id
        self._plan_file.write(json.dumps(line, ensure_ascii=False, default=str) + "\n")

    def _write_results(
        self, writer: ResultsWriter, frame: Any, columns: list[str], rows: list[RowWork]
    ) -> None:
        raw = frame[list(columns)].astype(object).where(frame[list(columns)].notna(), None)
        for work, values in zip(rows, raw.itertuples(index=False, name=None), strict=True):
            action = work.action
            if self.options.dry_run:
                action = {"create": "create", "update": "update"}.get(action, action)
            elif action in ("create", "update"):
                action = "pending"
            errors = work.errors
            if action == "pending" and not errors:
                errors = ["not sent: the run was interrupted; rerun the same command to resume"]
            writer.add(work.row, action, work.record_id, errors, list(values))


def _unique_violation(exc: RecordRejected) -> bool:
    text = " ".join(m for msgs in exc.errors.values() for m in msgs).lower()
    return "already exist" in text or "already been taken" in text


def _messages(exc: RecordRejected) -> list[str]:
    if exc.errors:
        return [f"{field_name}: {m}" for field_name, msgs in exc.errors.items() for m in msgs]
    return [str(exc)]


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if is_empty(value):
        return None
    item = getattr(value, "item", None)
    return item() if callable(item) else str(value)


def run_import(
    path: Path,
    mapping: Mapping,
    client: Any,
    options: ImportOptions | None = None,
    *,
    progress: ProgressFn | None = None,
) -> ImportSummary:
    """Validate, resolve and upload ``path`` through ``mapping``; resumable (see module doc)."""
    return Importer(path, mapping, client, options, progress=progress).run()
