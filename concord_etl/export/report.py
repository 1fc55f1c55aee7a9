"""Scheduled reports: a report file (``report_file``) → one workbook with sheets, summaries and
run info.

With ``template: brand.xlsx`` the workbook is written into a copy of that template
(``concord_etl.output.xlsx_template``): its cover, logo, styles, formulas and defined names
stay; sheets named like template sheets replace them, others are appended; a summary with
``target: NAME`` fills the template's defined name NAME (group, value rows) instead of adding a
chart sheet. Without a template the streaming xlsxwriter writer is used.

Cron-friendly: no prompts; everything is checked (mappings included) before any request; a lock
against overlapping runs (``report_state.RunLock``); the ``{date:FORMAT}`` placeholder of
``output`` uses the local date; the workbook is written atomically; ``since: last_run`` sheets
keep a watermark (``report_state``) advanced only after the workbook is in place. A summary
whose resource and filters match a sheet's is totalled while that sheet streams (no extra
requests); others read their records separately. Relative paths: ``output`` against the current
directory; a ``mapping`` against the current directory, else the report file's folder.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from concord_etl.crm.fields import FieldSpec, ResourceFields
from concord_etl.crm.pages import iter_records, parse_since
from concord_etl.errors import MappingError
from concord_etl.export.deal_products import products_job
from concord_etl.export.exporter import (
    SheetJob,
    check_output,
    export_columns,
    fetch_fields,
    run_info,
)
from concord_etl.export.report_file import (
    LAST_RUN,
    LINE_SHEETS,
    RUN_INFO,
    ReportDef,
    SheetDef,
    SummaryDef,
    load_report,
)
from concord_etl.export.report_state import ReportState, RunLock, Watermark, state_path
from concord_etl.export.totals import NUMERIC_TYPES, Totals
from concord_etl.output.paths import check_distinct, same_file
from concord_etl.output.xlsx_template import TemplateWorkbookWriter
from concord_etl.output.xlsx_writer import WorkbookWriter

if TYPE_CHECKING:
    from concord_etl.crm.client import ConcordClient


@dataclass
class ReportSummary:
    output: str = ""
    sheets: dict[str, int] = field(default_factory=dict)
    summaries: dict[str, int] = field(default_factory=dict)    # title → number of groups
    watermarks: dict[str, str] = field(default_factory=dict)
    requests: int = 0
    elapsed_s: float = 0.0
    notes: list[str] = field(default_factory=list)    # e.g. what the template lost

    def as_dict(self) -> dict[str, Any]:
        return {"output": self.output, "sheets": dict(self.sheets),
                "summaries": dict(self.summaries), "watermarks": dict(self.watermarks),
                "requests": self.requests, "elapsed_s": round(self.elapsed_s, 3),
                "notes": list(self.notes)}


# -- running -----------------------------------------------------------------------------------


class _Run:
    """One run of a report: fields per resource, sheet jobs, totals."""

    def __init__(self, client: ConcordClient, report: ReportDef, state: ReportState) -> None:
        self.client = client
        self.report = report
        self.state = state
        self._fields: dict[str, ResourceFields] = {}

    def fields(self, resource: str) -> ResourceFields:
        if resource not in self._fields:
            self._fields[resource] = fetch_fields(self.client, resource)
        return self._fields[resource]

    def job(self, sheet: SheetDef) -> SheetJob:
        since: datetime | None = None
        skip: frozenset[int] = frozenset()
        if sheet.since == LAST_RUN:
            mark = self.state.watermark(sheet.name, sheet.resource, sheet.query)
            if mark is not None:
                since, skip = mark.at, mark.ids
        else:
            since = parse_since(sheet.since)
        if sheet.resource in LINE_SHEETS:
            return products_job(sheet.name, since=since, query=sheet.query, skip=skip)
        columns = export_columns(self.fields(sheet.resource), sheet.mapping)
        return SheetJob(name=sheet.name, resource=sheet.resource, columns=columns,
                        since=since, query=sheet.query, skip=skip)

    def totals(self, summary: SummaryDef) -> Totals:
        fields = self.fields(summary.resource)
        group = fields.get(summary.group_by) or _builtin(summary.group_by)
        where = str(self.report.path)
        if group is None:
            msg = f"the CRM's {summary.resource} have no field {summary.group_by!r}"
            raise MappingError(msg, path=where, key=f"{summary.key}.group_by")
        value: FieldSpec | None = None
        if summary.value:
            value = fields.get(summary.value)
            if value is None or value.type not in NUMERIC_TYPES:
                kind = "no field" if value is None else f"a {value.type} field, not a number:"
                msg = f"the CRM's {summary.resource} have {kind} {summary.value!r}"
                raise MappingError(msg, path=where, key=f"{summary.key}.value")
        return Totals(group, value)

    def summary_since(self, summary: SummaryDef) -> datetime | None:
        if summary.since == LAST_RUN:
            return self.state.last_run
        return parse_since(summary.since)


def _builtin(name: str) -> FieldSpec | None:
    from concord_etl.export.exporter import CREATED_FIELD, UPDATED_FIELD

    return {"created_at": CREATED_FIELD, "updated_at": UPDATED_FIELD}.get(name)


def _same_records(job: SheetJob, resource: str, since: datetime | None, query: str | None
                  ) -> bool:
    return (job.resource == resource and job.since == since and job.query == query
            and not job.skip)


def run_report(
    client: ConcordClient,
    report: ReportDef,
    *,
    output: Path | None = None,
    full: bool = False,
    now: datetime | None = None,
) -> ReportSummary:
    """Run ``report``: write its workbook atomically, then advance the watermarks.

    ``full`` ignores the stored watermarks (everything is exported; they are renewed).
    """
    started = time.monotonic()
    now = now or datetime.now().astimezone()
    target = Path(output) if output is not None else report.output_path(now)
    check_distinct({"the report's output": target},
                   {"the report file": report.path, "its state file": state_path(report.path),
                    **{f"the mapping of sheet {s.name!r}": s.mapping.path
                       for s in report.sheets if s.mapping is not None}})
    check_output(target)
    if report.template is not None and same_file(target, report.template):
        msg = f"the output {target} is the template itself; write the report somewhere else"
        raise MappingError(msg, path=str(report.path), key="output")
    summary = ReportSummary(output=str(target))
    with RunLock(report.path):
        state = ReportState() if full else ReportState.load(report.path)
        run = _Run(client, report, state)
        jobs = [run.job(sheet) for sheet in report.sheets]
        charts: list[tuple[SummaryDef, Totals, bool]] = []
        for definition in report.summary:
            totals = run.totals(definition)
            since = run.summary_since(definition)
            host = next((j for j in jobs if _same_records(
                j, definition.resource, since, definition.query)), None)
            if host is not None:
                host.observers.append(totals.add)
            charts.append((definition, totals, host is not None))
        book: Any = (TemplateWorkbookWriter(target, report.template)
                     if report.template is not None else WorkbookWriter(target))
        with book:
            summary.notes += [f"the template lost something: {text}"
                              for text in getattr(book, "lost", ())]
            for job in jobs:
                book.add_sheet(job.name, [c.definition() for c in job.columns], job.rows(client))
                summary.sheets[job.name] = job.records
            for definition, totals, fed in charts:
                if not fed:
                    for record in iter_records(client, definition.resource,
                                               since=run.summary_since(definition),
                                               query=definition.query):
                        totals.add(record)
                items = totals.items()
                if definition.target is not None:
                    book.fill_name(definition.target, items)
                else:
                    book.add_chart_sheet(
                        definition.title, definition.title, [k for k, _ in items],
                        [v for _, v in items], chart=definition.chart,
                        value_label=totals.value.label if totals.value else "Records",
                        category_label=totals.group.label)
                summary.summaries[definition.title] = len(items)
            book.add_key_value_sheet(RUN_INFO, run_info(client, jobs, {
                "Report": str(report.path), "Full run": "yes" if full else "no"}))
        _advance(state, report, jobs, now, target)
        summary.watermarks = {n: m.at.isoformat() for n, m in state.watermarks.items()}
    stats = getattr(client, "stats", None)
    summary.requests = int(getattr(stats, "requests", 0) or 0)
    summary.elapsed_s = time.monotonic() - started
    return summary


def _advance(state: ReportState, report: ReportDef, jobs: list[SheetJob], now: datetime,
             target: Path) -> None:
    incremental = {s.name for s in report.sheets if s.since == LAST_RUN}
    for job in jobs:
        if job.name in incremental and job.newest is not None:
            state.watermarks[job.name] = Watermark(
                at=job.newest, ids=frozenset(job.newest_ids), resource=job.resource,
                query=job.query)
    state.watermarks = {k: v for k, v in state.watermarks.items() if k in incremental}
    state.last_run = now
    state.output = str(target)
    state.save(report.path)


__all__ = ["ReportDef", "ReportSummary", "SheetDef", "SummaryDef", "load_report", "run_report"]
