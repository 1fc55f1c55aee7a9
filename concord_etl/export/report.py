"""Reports: a YAML definition (README: reports) → one workbook with sheets, summaries, run info.

    version: 1
    output: "reports/weekly-{date:%Y-%m-%d}.xlsx"
    sheets:
      - {name: Contacts, resource: contacts, mapping: mappings/contacts-export.yaml}
      - {name: Deals, resource: deals, since: 7d, query: "renewal"}
      - {name: New contacts, resource: contacts, since: last_run}
    summary:
      - {title: Deals by stage, resource: deals, group_by: stage_id, value: amount, chart: bar}

Cron-friendly: no prompts; everything is checked (mappings included) before any request; a lock
against overlapping runs (``report_state.RunLock``); the ``{date:FORMAT}`` placeholder of
``output`` uses the local date; the workbook is written atomically; ``since: last_run`` sheets
keep a watermark (``report_state``) advanced only after the workbook is in place. A summary
whose resource and filters match a sheet's is totalled while that sheet streams (no extra
requests); others read their records separately. Relative paths: ``output`` against the report
file's folder, never climbing out of it (``report_output``); a ``mapping`` against the current
directory, else the report file's folder.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from concord_etl.crm.fields import FieldSpec, ResourceFields
from concord_etl.crm.pages import iter_records, parse_since
from concord_etl.errors import ConfigError, MappingError
from concord_etl.export.exporter import (
    SheetJob,
    check_output,
    export_columns,
    fetch_fields,
    run_info,
)
from concord_etl.export.report_output import OutputError, fill_output, resolve_output
from concord_etl.export.report_state import ReportState, RunLock, Watermark, state_path
from concord_etl.export.totals import NUMERIC_TYPES, Totals
from concord_etl.mapping import load_mapping
from concord_etl.mapping.document import DocumentChecker, KeyPath, read_document
from concord_etl.mapping.model import Mapping
from concord_etl.output.paths import check_distinct
from concord_etl.output.xlsx_writer import WorkbookWriter

if TYPE_CHECKING:
    from concord_etl.crm.client import ConcordClient

RESOURCES = ("contacts", "companies", "deals", "products", "activities", "notes")
CHARTS = ("bar", "column", "pie")
LAST_RUN = "last_run"
RUN_INFO = "Run info"
TOP_KEYS = ("version", "output", "sheets", "summary")
SHEET_KEYS = ("name", "resource", "mapping", "since", "query")
SUMMARY_KEYS = ("title", "resource", "group_by", "value", "chart", "since", "query")


@dataclass(frozen=True)
class SheetDef:
    name: str
    resource: str
    mapping: Mapping | None = None
    since: str | None = None        # 7d, an ISO time, or "last_run" (watermark)
    query: str | None = None


@dataclass(frozen=True)
class SummaryDef:
    title: str
    resource: str
    group_by: str
    value: str | None = None        # field to sum; None counts records
    chart: str = "bar"
    since: str | None = None        # 7d, an ISO time, or "last_run" (the previous run's time)
    query: str | None = None
    key: str = ""                   # where it is in the file, for messages


@dataclass(frozen=True)
class ReportDef:
    path: Path
    output: str
    sheets: tuple[SheetDef, ...]
    summary: tuple[SummaryDef, ...] = ()

    def output_path(self, now: datetime | None = None) -> Path:
        """The workbook for a run at ``now``: relative to the report file's folder."""
        try:
            return resolve_output(self.path, self.output, now or datetime.now().astimezone())
        except OutputError as exc:
            raise ConfigError(f"{self.path}: output: {exc}") from None


@dataclass
class ReportSummary:
    output: str = ""
    sheets: dict[str, int] = field(default_factory=dict)
    summaries: dict[str, int] = field(default_factory=dict)    # title → number of groups
    watermarks: dict[str, str] = field(default_factory=dict)
    requests: int = 0
    elapsed_s: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"output": self.output, "sheets": dict(self.sheets),
                "summaries": dict(self.summaries), "watermarks": dict(self.watermarks),
                "requests": self.requests, "elapsed_s": round(self.elapsed_s, 3)}


# -- loading -----------------------------------------------------------------------------------


def load_report(path: str | Path) -> ReportDef:
    """Read and check a report file; every problem is a ``MappingError`` (file, key, line)."""
    path = Path(path)
    document = read_document(path)
    rules = DocumentChecker(document)
    data = rules.mapping(document.data, (), "a report: version, output, sheets, summary")
    rules.keys(data, (), TOP_KEYS, required=("version", "output", "sheets"))
    if data["version"] != 1:
        raise rules.error(("version",), "must be 1")
    output = _output(rules, data["output"], path)
    sheets = tuple(_sheet(rules, path, item, ("sheets", i))
                   for i, item in enumerate(_items(rules, data, "sheets")))
    if not sheets:
        raise rules.error(("sheets",), "needs at least one sheet")
    taken: dict[str, int] = {RUN_INFO.casefold(): -1}
    for i, sheet in enumerate(sheets):
        if sheet.name.casefold() in taken:
            raise rules.error(("sheets", i, "name"), f"the sheet name {sheet.name!r} is taken")
        taken[sheet.name.casefold()] = i
    summary = tuple(_summary(rules, item, ("summary", i))
                    for i, item in enumerate(_items(rules, data, "summary")))
    return ReportDef(path=path, output=output, sheets=sheets, summary=summary)


def _items(rules: DocumentChecker, data: dict[str, Any], key: str) -> list[Any]:
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise rules.error((key,), f"must be a list, got {rules.shown(value, (key,))}")
    return value


def _output(rules: DocumentChecker, value: Any, report_file: Path) -> str:
    example = 'a file name such as "reports/weekly-{date:%Y-%m-%d}.xlsx"'
    output = rules.text(value, ("output",), example)
    now = datetime.now().astimezone()
    try:
        formatted = fill_output(output, now)
    except OutputError as exc:
        msg = f"{exc}; the only placeholder is {{date:FORMAT}}, e.g. {{date:%Y-%m-%d}}"
        raise rules.error(("output",), msg) from None
    try:
        resolve_output(report_file, output, now)
    except OutputError as exc:
        raise rules.error(("output",), str(exc)) from None
    if not formatted.lower().endswith(".xlsx"):
        raise rules.error(("output",), f"a report is an Excel workbook: {example}")
    return output


def _since(rules: DocumentChecker, value: Any, key: KeyPath) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    if text != LAST_RUN:
        try:
            parse_since(text)
        except ValueError as exc:
            raise rules.error(key, f"{exc}, or last_run") from None
    return text


def _optional_text(rules: DocumentChecker, value: Any, key: KeyPath, what: str) -> str | None:
    return None if value is None else rules.text(value, key, what)


def _sheet(rules: DocumentChecker, path: Path, item: Any, key: KeyPath) -> SheetDef:
    obj = rules.mapping(item, key, "a sheet such as {name: Contacts, resource: contacts}")
    rules.keys(obj, key, SHEET_KEYS, required=("resource",))
    resource = rules.choice(obj["resource"], (*key, "resource"), RESOURCES, "resource")
    name = _optional_text(rules, obj.get("name"), (*key, "name"), "a sheet name") \
        or resource.title()
    mapping = None
    if obj.get("mapping") is not None:
        text = rules.text(obj["mapping"], (*key, "mapping"), "a mapping file")
        found = _resolve(path, text)
        if not found.is_file():
            raise rules.error((*key, "mapping"), f"mapping file not found: {text}")
        mapping = load_mapping(found)
        if mapping.resource != resource:
            msg = f"the mapping {text} is for {mapping.resource}, the sheet for {resource}"
            raise rules.error((*key, "mapping"), msg)
    return SheetDef(name=name.strip(), resource=resource, mapping=mapping,
                    since=_since(rules, obj.get("since"), (*key, "since")),
                    query=_optional_text(rules, obj.get("query"), (*key, "query"), "a query"))


def _summary(rules: DocumentChecker, item: Any, key: KeyPath) -> SummaryDef:
    what = "a summary such as {title: Deals by stage, resource: deals, group_by: stage_id}"
    obj = rules.mapping(item, key, what)
    rules.keys(obj, key, SUMMARY_KEYS, required=("resource", "group_by"))
    resource = rules.choice(obj["resource"], (*key, "resource"), RESOURCES, "resource")
    group_by = rules.text(obj["group_by"], (*key, "group_by"), "a field such as stage_id")
    value = _optional_text(rules, obj.get("value"), (*key, "value"), "a numeric field")
    chart = rules.choice(obj.get("chart", "bar"), (*key, "chart"), CHARTS, "chart")
    title = _optional_text(rules, obj.get("title"), (*key, "title"), "a title") \
        or f"{resource} by {group_by}"
    return SummaryDef(title=title.strip(), resource=resource, group_by=group_by, value=value,
                      chart=chart, since=_since(rules, obj.get("since"), (*key, "since")),
                      query=_optional_text(rules, obj.get("query"), (*key, "query"), "a query"),
                      key=f"summary[{key[1]}]")


def _resolve(report_path: Path, name: str) -> Path:
    candidate = Path(name)
    if candidate.is_absolute() or candidate.exists():
        return candidate
    beside = report_path.parent / candidate
    return beside if beside.exists() else candidate


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
        with WorkbookWriter(target) as book:
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
                book.add_chart_sheet(
                    definition.title, definition.title, [k for k, _ in items],
                    [v for _, v in items], chart=definition.chart,  # type: ignore[arg-type]
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
