"""Undo an import run: ``revert_import`` (README "Undoing an import").

The revert reads the import's journal (the run ``import FILE --mapping M`` would resume: same
journal path, same run lock, so a revert and an import of the same file and mapping never run
at once) and undoes what it wrote, in reverse dependency order (``load.revert_plan``):
records it created are deleted (to the trash where Concord has one), records it restored from
the trash go back there, fields it updated get their before-image values back unless they
changed since (``conflict``; ``force`` overwrites), a record gone since is ``missing``;
lookup-created records are deleted only when nothing else uses them.

It is a run of its own: it asks ``confirm`` first (with what it will do), keeps its own journal
(``load.revert_journal``; exactly once, resumable after ``kill -9``: a second revert writes
nothing), writes a results file, reports progress, and is paced by the client like an import.
A dry run reads the CRM to classify every undo and writes nothing.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from concord_etl.crm.connection import usage
from concord_etl.errors import AbortRun, JournalError
from concord_etl.load.before_image import ASSOCIATIONS
from concord_etl.load.journal import Journal, file_hash
from concord_etl.load.revert_crm import RevertCrm
from concord_etl.load.revert_journal import RevertEntry, RevertJournal
from concord_etl.load.revert_lines import RevertLines
from concord_etl.load.revert_output import (
    RevertSummary,
    default_revert_results,
    is_excel,
    planned_lines,
    related_lines,
    tally,
    write_results,
)
from concord_etl.load.revert_plan import LEGACY, Item, RevertPlan, build_plan
from concord_etl.load.session import (
    default_journal_path,
    default_results_path,
    lock_run,
    mapping_label,
)
from concord_etl.mapping.model import AnyMapping, as_records

if TYPE_CHECKING:
    from concord_etl.crm.client import ConcordClient

BATCH = 100
MAX_WORKERS = 32
DONE = ("deleted", "reverted", "missing", "unchanged")
WRITES_DELETE = ("delete", "related")

ConfirmFn = Callable[[list[str]], bool]
ProgressFn = Callable[[dict[str, Any]], None]


@dataclass
class RevertOptions:
    journal_path: Path | None = None       # the import's journal (default: beside the input)
    dry_run: bool = False
    force: bool = False                    # overwrite conflicts, delete records still in use
    results_path: Path | None = None
    concurrency: int | None = None


class Reverter:
    """One revert run; ``run()`` returns the summary (``AbortRun`` carries it as ``.summary``)."""

    def __init__(self, path: str | Path, mapping: AnyMapping, client: ConcordClient,
                 options: RevertOptions | None = None, *, progress: ProgressFn | None = None,
                 confirm: ConfirmFn | None = None) -> None:
        self.path = Path(path)
        self.mapping = mapping
        self.client = client
        self.options = options or RevertOptions()
        self.progress = progress
        self.confirm = confirm
        self.dry_run = self.options.dry_run
        self.summary = RevertSummary(dry_run=self.dry_run)
        self.journal: RevertJournal | None = None
        self.source: Journal | None = None
        self.crm: RevertCrm | None = None
        self._base = (0, 0.0)
        self._done = 0

    # -- the run ----------------------------------------------------------------------------
    def run(self) -> RevertSummary:
        started = time.monotonic()
        self._base = self._stats()
        where = self.options.journal_path or default_journal_path(self.path, self.mapping)
        label = mapping_label(self.mapping)
        if not where.exists():
            raise JournalError(
                f"nothing to revert: there is no journal of an import of {self.path} with "
                f"{label} ({where}); pass --journal if that import used another one")
        self.summary.journal = str(where)
        lock = None if self.dry_run else lock_run(self.path, self.mapping, where)
        try:
            self.source = Journal.attach(where)
            plan = self._plan(self.source)
            if self.dry_run:
                _restore(plan, RevertJournal.read_entries(where))
            else:
                self.journal = RevertJournal.open(where)
                _restore(plan, self.journal.entries())
            self._run(plan)
            return self.summary
        finally:
            for part in (self.journal, self.source):
                if part is not None:
                    part.close()
            if lock is not None:
                lock.release()
            requests, waited = self._stats()
            self.summary.requests = requests - self._base[0]
            self.summary.waited_s = waited - self._base[1]
            self.summary.elapsed_s = time.monotonic() - started

    def _run(self, plan: RevertPlan) -> None:
        pending = [i for i in plan.items.values() if i.action == "pending"]
        confirm = None if self.dry_run or not pending else self.confirm
        if confirm is not None and not confirm(plan.overview() + self.summary.warnings):
            self.summary.declined = True
            return
        assert self.source is not None
        self.crm = RevertCrm(self.client, force=self.options.force,
                             claimed=lambda ids, res: self.source.claimed(ids, resource=res)
                             if self.source is not None else set())
        if pending and self.journal is not None:
            self.journal.start()
        self._emit(total=len(pending))
        try:
            for _label, items in plan.stages:
                todo = [i for i in items if i.action == "pending"]
                for start in range(0, len(todo), BATCH):
                    self._batch(todo[start:start + BATCH])
        except (AbortRun, KeyboardInterrupt) as exc:
            self.summary.aborted = str(exc) or type(exc).__name__
            self._report(plan)
            if isinstance(exc, AbortRun):
                exc.summary = self.summary  # type: ignore[attr-defined]
            raise
        if pending and self.journal is not None:
            self.journal.finish_run()
        self._report(plan)

    # -- the plan ---------------------------------------------------------------------------
    def _plan(self, source: Journal) -> RevertPlan:
        meta = source.meta
        records, uses, products = self._layout(meta)
        plan = build_plan(source.iter_ops(), records=records, uses=uses, products=products)
        warnings = self.summary.warnings
        if meta.get("input_hash") and meta["input_hash"] != file_hash(self.path):
            warnings.append(f"{self.path} changed since its import: reverting what the journal "
                            "recorded of that import")
        if meta.get("mapping_hash") and meta["mapping_hash"] != self.mapping.digest:
            warnings.append(f"{mapping_label(self.mapping)} changed since the import: reverting "
                            "what the journal recorded")
        doubt = sum(1 for i in plan.items.values() if i.kind in ("find", "line_find"))
        if doubt:
            warnings.append(f"the import was interrupted: {doubt} write(s) it never got an "
                            "answer for are looked up by their key first")
        legacy = sum(1 for i in plan.items.values() if i.kind == "cannot" and i.reason == LEGACY)
        if legacy:
            warnings.append(
                f"no before-images: {legacy} record(s) were updated by a concord-etl version "
                "that did not keep them, so those updates cannot be undone; only records the "
                "import created are deleted")
        return plan

    def _layout(self, meta: dict[str, str]
                ) -> tuple[list[tuple[str, str]], dict[str, tuple[str, ...]], set[str]]:
        """Record names and resources (dependency order), what uses each, which have lines."""
        specs = as_records(self.mapping).records
        records = [(s.name, s.resource) for s in specs]
        try:
            stored = json.loads(meta.get("records") or "null")
        except ValueError:
            stored = None
        if isinstance(stored, list) and all(isinstance(p, list) and len(p) == 2 for p in stored):
            records = [(str(n), str(r)) for n, r in stored]
        dependents: dict[str, set[str]] = defaultdict(set)
        for spec in specs:
            for parent in spec.link.values():
                dependents[parent].add(spec.resource)
        uses = {name: tuple(r for r in ASSOCIATIONS if r in found)
                for name, found in dependents.items()}
        products = {s.name for s in specs if s.mapping.products is not None}
        return records, uses, products

    # -- one batch of one stage -------------------------------------------------------------
    def _batch(self, items: list[Item]) -> None:
        crm = self.crm
        assert crm is not None
        finds = [i for i in items if i.kind == "find"]
        if finds:
            crm.resolve(finds)
        for item in items:
            if item.kind == "cannot":
                item.action, item.errors = "failed", [item.reason]
        lines = [i for i in _pending(items) if i.kind.startswith("line_")]
        if lines:
            self._lines(lines)
        checked = [i for i in _pending(items)
                   if i.kind == "related" or (i.kind == "delete" and i.uses)]
        if checked:
            crm.check_use(checked)
        work: list[tuple[Item, Callable[[Item], None]]] = []
        for item in _pending(items):
            if item.kind in WRITES_DELETE:
                work.append((item, crm.delete))
        for item in self._records([i for i in _pending(items)
                                   if i.kind in ("fields", "restore")]):
            work.append((item, crm.update))
        self._write(work)
        for item in items:
            if item.action != "pending" and item.kind not in ("line_remove", "line_revert",
                                                              "line_find"):
                self._settle(item)

    def _records(self, items: list[Item]) -> list[Item]:
        """Read the records to set back; returns those needing a write."""
        crm = self.crm
        assert crm is not None
        by_resource: dict[str, list[Item]] = defaultdict(list)
        for item in items:
            by_resource[item.resource].append(item)
        writes: list[Item] = []
        for resource, group in by_resource.items():
            found = crm.current(resource, [i.concord_id for i in group if i.concord_id])
            for item in group:
                assert item.concord_id is not None
                record = found.get(item.concord_id)
                if record is None:
                    if item.kind == "restore" and crm.trashed(resource, item.concord_id):
                        item.action, item.errors = "reverted", []
                    else:
                        crm.gone(item)
                elif crm.plan_record(item, record):
                    writes.append(item)
        return writes

    def _lines(self, items: list[Item]) -> None:
        journal = self.journal
        lines = RevertLines(self.client, force=self.options.force, dry_run=self.dry_run,
                            begin=journal.begin if journal is not None else lambda _keys: None)
        lines.run(items)
        for item in items:
            if item.action == "pending":
                item.action = "unchanged"
            self._settle(item)

    # -- writing ----------------------------------------------------------------------------
    def _write(self, work: list[tuple[Item, Callable[[Item], None]]]) -> None:
        if not work:
            return
        if self.dry_run or self.journal is None:
            for item, _ in work:
                if item.action == "pending":
                    item.action = "deleted"
                if item.action == "deleted" and self.crm is not None and item.concord_id:
                    self.crm.planned.add((item.resource, item.concord_id))
            return
        self.journal.begin([item.key for item, _ in work])
        most = self.options.concurrency or MAX_WORKERS
        queue: Iterator[tuple[Item, Callable[[Item], None]]] = iter(work)
        inflight: dict[Future[None], Item] = {}
        abort: BaseException | None = None
        with ThreadPoolExecutor(max_workers=most, thread_name_prefix="concord-revert") as pool:
            while True:
                while abort is None and len(inflight) < self._concurrency():
                    nxt = next(queue, None)
                    if nxt is None:
                        break
                    item, fn = nxt
                    inflight[pool.submit(fn, item)] = item
                if not inflight:
                    break
                try:
                    done, _ = wait(list(inflight), return_when=FIRST_COMPLETED)
                except KeyboardInterrupt as exc:
                    abort = exc
                    continue
                for future in done:
                    item = inflight.pop(future)
                    try:
                        future.result()
                    except (AbortRun, KeyboardInterrupt) as exc:
                        abort = abort or exc
                        item.action, item.errors = "pending", [f"not sent: {exc}"]
        if abort is not None:
            for item, _ in queue:
                item.action = "pending"
            raise abort

    def _concurrency(self) -> int:
        if self.options.concurrency:
            return max(1, self.options.concurrency)
        pacer = getattr(self.client, "pacer", None)
        return int(pacer.suggest_concurrency()) if pacer is not None else 4

    def _settle(self, item: Item) -> None:
        if item.action == "pending":
            return
        if self.journal is not None:
            state = "done" if item.action in DONE else "failed"
            if item.unknown:
                state = "sent"       # never answered: the next run looks before writing
            self.journal.finish(item.key, state, item.action, concord_id=item.concord_id,
                                errors=item.errors or None)
        self._done += 1
        self._emit(advance=1, action=item.action)

    # -- output -----------------------------------------------------------------------------
    def _report(self, plan: RevertPlan) -> None:
        summary = self.summary
        summary.related, summary.related_attention = related_lines(plan, dry_run=self.dry_run)
        if self.dry_run:
            summary.planned = planned_lines(plan)
        target = self.options.results_path
        if target is None and not self.dry_run:
            imported = default_results_path(self.path, self.mapping, excel=is_excel(self.path))
            target = default_revert_results(self.path, imported)
        rows = tally(plan, summary, dry_run=self.dry_run)
        if target is not None:
            summary.results = str(write_results(Path(target), plan, rows))

    def _emit(self, advance: int = 0, **extra: Any) -> None:
        if self.progress is not None:
            self.progress({"advance": advance, "waited": self._stats()[1] - self._base[1],
                           **extra})

    def _stats(self) -> tuple[int, float]:
        return usage(self.client)


def _pending(items: list[Item]) -> list[Item]:
    return [i for i in items if i.action == "pending"]


def _restore(plan: RevertPlan, entries: dict[str, RevertEntry]) -> None:
    """Items an earlier revert finished keep their outcome; unanswered ones are looked at."""
    for item in plan.items.values():
        entry = entries.get(item.key)
        if entry is None:
            continue
        if entry.state == "done":
            item.earlier = True
            item.action = entry.action or "reverted"
            item.errors = list(entry.errors)
            if entry.concord_id is not None and item.concord_id is None:
                item.concord_id = entry.concord_id
        elif entry.state == "sent":
            item.resent = True


def revert_import(path: str | Path, mapping: AnyMapping, client: ConcordClient,
                  options: RevertOptions | None = None, *, progress: ProgressFn | None = None,
                  confirm: ConfirmFn | None = None) -> RevertSummary:
    """Undo the last (finished or interrupted) import of ``path`` with ``mapping``.

    ``confirm`` is called with what the revert will do before its first write; returning
    False leaves everything as it is (``summary.declined``). Raises ``JournalError`` when no
    import journal exists, ``RunLocked`` while an import or revert of it runs, and
    ``AbortRun`` (with ``.summary``) when the run stops midway: rerunning resumes it.
    """
    return Reverter(path, mapping, client, options, progress=progress, confirm=confirm).run()
