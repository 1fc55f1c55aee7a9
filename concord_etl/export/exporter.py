"""Export CRM records into workbooks and CSV files people read (and can send back).

Records come from ``concord_etl.crm.pages`` (``per_page=100``, stable order, concurrent pages
within the rate limit, ``since`` newest first with an early stop). Values come out as people
read them (``concord_etl.export.cell_values``): option labels, owner/source/stage names (or the key a
mapping's lookup names, e.g. the owner's email), real dates, numbers as numbers. With a mapping
the columns are the mapping's, in its order and names, so the file imports back through the
same mapping. Files are written atomically by ``concord_etl.output``.

    summary = export_resource(client, "contacts", Path("contacts.xlsx"),
                              ExportOptions(mapping=load_mapping("mappings/contacts-export.yaml")))
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from concord_etl._version import __version__
from concord_etl.crm.fields import FieldSpec, ResourceFields
from concord_etl.crm.pages import Record, iter_records, parse_since, timestamp
from concord_etl.errors import ConfigError, MappingError, RecordRejected
from concord_etl.export.cell_values import cell_kind, cell_value
from concord_etl.mapping.model import ColumnSpec, Mapping, basic_type
from concord_etl.output.columns import ColumnDef
from concord_etl.output.csv_writer import CsvWriter
from concord_etl.output.paths import check_distinct, check_writable
from concord_etl.output.xlsx_writer import EXCEL_MAX_ROWS, WorkbookWriter

if TYPE_CHECKING:
    from concord_etl.crm.client import ConcordClient

FORMATS = ("xlsx", "csv")
# Fields every export can show besides the resource's create-fields.
ID_FIELD = FieldSpec(attribute="id", label="ID", type="Id")
CREATED_FIELD = FieldSpec(attribute="created_at", label="Created At", type="DateTime")
UPDATED_FIELD = FieldSpec(attribute="updated_at", label="Updated At", type="DateTime")
_EXTRA = {f.attribute: f for f in (ID_FIELD, CREATED_FIELD, UPDATED_FIELD)}

Progress = Callable[[int], None]


@dataclass(frozen=True)
class ExportColumn:
    """One output column: its header, the field it shows and how."""

    header: str
    spec: FieldSpec
    split: str = ", "
    key: str | None = None             # which key of a related object to show (email, name)
    phone_type: str | None = None
    date_format: str | None = None     # CSV text format of dates (as the mapping reads them)
    slot: tuple[int, int] | None = None  # (k, n): the k-th of n columns mapping one phone list

    def definition(self) -> ColumnDef:
        return ColumnDef(self.header, cell_kind(self.spec))

    def value(self, record: Record, *, csv: bool = False) -> Any:
        value = cell_value(
            record, self.spec, split=self.split, key=self.key, phone_type=self.phone_type,
            slot=self.slot,
        )
        if csv and self.date_format and hasattr(value, "strftime"):
            return value.strftime(self.date_format)
        return value


@dataclass
class ExportOptions:
    mapping: Mapping | None = None
    since: str | datetime | None = None
    query: str | None = None
    format: str | None = None                  # xlsx | csv (default: from the file name)
    max_rows_per_sheet: int = EXCEL_MAX_ROWS   # header included; longer sheets continue


@dataclass
class ExportSummary:
    records: int = 0
    requests: int = 0
    elapsed_s: float = 0.0
    output: str = ""
    format: str = "xlsx"
    sheets: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"records": self.records, "requests": self.requests,
                "elapsed_s": round(self.elapsed_s, 3), "output": self.output,
                "format": self.format, "sheets": dict(self.sheets)}


# -- columns -----------------------------------------------------------------------------------


def export_columns(fields: ResourceFields, mapping: Mapping | None) -> list[ExportColumn]:
    """The mapping's columns in its order and names; without one every field, by label."""
    if mapping is None:
        specs = [ID_FIELD, *[s for s in fields if s.attribute not in _EXTRA],
                 CREATED_FIELD, UPDATED_FIELD]
        return [ExportColumn(header, spec) for header, spec in zip(
            _unique_headers(specs), specs, strict=True)]
    columns = [_mapped_column(fields, mapping, col) for col in mapping.columns]
    return _phone_slots(columns)


def _phone_slots(columns: list[ExportColumn]) -> list[ExportColumn]:
    """Several columns of one phone list (``Phone 1``, ``Phone 2`` with the same type) share
    it out: the first number to the first column, ..., the rest to the last column; so the
    sheet re-imports as the numbers it came from instead of repeating them in every column."""
    groups: dict[tuple[str, str | None], list[int]] = {}
    for i, column in enumerate(columns):
        if basic_type(column.spec.type) == "Phone":
            groups.setdefault((column.spec.attribute, column.phone_type), []).append(i)
    out = list(columns)
    for members in groups.values():
        if len(members) > 1:
            for k, i in enumerate(members):
                out[i] = replace(columns[i], slot=(k, len(members)))
    return out


def _unique_headers(specs: list[FieldSpec]) -> list[str]:
    """Field labels as headers; a label used twice gets its attribute: ``Email (cf_email)``."""
    counts: dict[str, int] = {}
    for spec in specs:
        counts[spec.label.casefold()] = counts.get(spec.label.casefold(), 0) + 1
    return [spec.label if counts[spec.label.casefold()] == 1 else f"{spec.label} ({spec.attribute})"
            for spec in specs]


def _mapped_column(fields: ResourceFields, mapping: Mapping, col: ColumnSpec) -> ExportColumn:
    spec = _EXTRA.get(col.field) or fields.get(col.field)
    if spec is None:
        msg = f"the CRM's {mapping.resource} have no field {col.field!r}"
        raise MappingError(msg, path=_path(mapping), key=f"columns.{col.column!r}", line=col.line)
    key = None
    if col.lookup is not None:
        if col.lookup.by == "id":
            spec = FieldSpec(attribute=col.field, label=spec.label, type="Id")
        else:
            key = col.lookup.by
    return ExportColumn(header=col.column, spec=spec, split=_joiner(col.split), key=key,
                        phone_type=col.phone_type, date_format=col.format)


def _path(mapping: Mapping) -> str | None:
    return str(mapping.path) if mapping.path is not None else None


def _joiner(split: str | None) -> str:
    """The mapping's separator as written out: ``,`` → ``", "`` (the import side strips)."""
    if not split:
        return ", "
    return split if split.strip() == "" or split.endswith(" ") else f"{split} "


def fetch_fields(client: ConcordClient, resource: str) -> ResourceFields:
    """The resource's fields; an unknown resource is a ``ConfigError``."""
    try:
        return client.resource_fields(resource, updates=False)
    except RecordRejected as exc:
        if exc.status == 404:
            msg = f"the CRM has no resource {resource!r} (its create-fields answered 404)"
            raise ConfigError(msg) from None
        raise


# -- one sheet ---------------------------------------------------------------------------------


@dataclass
class SheetJob:
    """One sheet of an export: which records, which columns; counts what it wrote.

    ``skip`` holds ids to leave out when their ``updated_at`` equals ``since`` (a watermark's
    boundary: already exported by the previous run). ``observers`` see every record written.
    """

    name: str
    resource: str
    columns: list[ExportColumn]
    since: datetime | None = None
    query: str | None = None
    skip: frozenset[Any] = frozenset()
    observers: list[Callable[[Record], None]] = field(default_factory=list)
    records: int = 0
    newest: datetime | None = None
    newest_ids: set[Any] = field(default_factory=set)

    @property
    def relations(self) -> list[str]:
        return [c.spec.attribute for c in self.columns if c.spec.type == "Association"]

    @property
    def listed_resource(self) -> str:
        """The CRM resource whose records this sheet is made of (a line sheet lists its hosts)."""
        return self.resource

    def records_iter(self, client: ConcordClient, progress: Progress | None = None) -> Iterator[Record]:
        for record in iter_records(client, self.listed_resource, since=self.since,
                                   query=self.query, relations=self.relations):
            updated = timestamp(record.get("updated_at"))
            if self.skip and updated is not None and updated == self.since \
                    and record.get("id") in self.skip:
                continue
            self._note(record, updated)
            for observe in self.observers:
                observe(record)
            if progress is not None:
                progress(1)
            yield record

    def _note(self, record: Record, updated: datetime | None) -> None:
        self.records += 1
        if updated is None:
            return
        if self.newest is None or updated > self.newest:
            self.newest, self.newest_ids = updated, set()
        if updated == self.newest:
            self.newest_ids.add(record.get("id"))

    def rows(self, client: ConcordClient, *, csv: bool = False,
             progress: Progress | None = None) -> Iterator[list[Any]]:
        columns = self.columns
        for record in self.records_iter(client, progress):
            yield [column.value(record, csv=csv) for column in columns]

    def describe_filters(self) -> str:
        parts = []
        if self.since is not None:
            parts.append(f"updated since {self.since.isoformat(timespec='seconds')}")
        if self.query:
            parts.append(f"query {self.query!r}")
        return "; ".join(parts) or "none"


def public_url(url: str) -> str:
    """The CRM URL as shown in files: no user/password, query or fragment."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def run_info(client: ConcordClient, jobs: list[SheetJob], extra: dict[str, Any] | None = None
             ) -> list[tuple[str, Any]]:
    """The "Run info" sheet: when, where (URL without token), what, filters, counts, version."""
    pairs: list[tuple[str, Any]] = [
        ("Generated at (UTC)", datetime.now(UTC).replace(tzinfo=None, microsecond=0)),
        ("CRM", public_url(str(getattr(client, "base_url", "") or ""))),
        ("Tool", f"concord-etl {__version__}"),
        ("Resources", ", ".join(dict.fromkeys(job.resource for job in jobs))),
    ]
    pairs += list((extra or {}).items())
    for job in jobs:
        pairs.append((f"Sheet {job.name}", f"{job.resource}: {job.records} records"))
        pairs.append((f"Sheet {job.name} filters", job.describe_filters()))
    stats = getattr(client, "stats", None)
    if stats is not None:
        pairs.append(("Requests", int(getattr(stats, "requests", 0) or 0)))
    return pairs


# -- export ------------------------------------------------------------------------------------


def output_format(output: Path, fmt: str | None) -> str:
    """``xlsx`` or ``csv``: ``fmt`` if given (it must agree with a .xlsx/.csv name)."""
    suffix = output.suffix.lower().lstrip(".")
    if fmt is not None:
        if fmt not in FORMATS:
            raise ConfigError(f"--format {fmt!r}: expected xlsx or csv")
        if suffix in FORMATS and suffix != fmt:
            raise ConfigError(f"{output}: the name says .{suffix} but the format is {fmt}")
        return fmt
    if suffix not in FORMATS:
        msg = f"{output}: cannot tell the format from the name; use .xlsx or .csv, or --format"
        raise ConfigError(msg)
    return suffix


def check_output(output: Path) -> None:
    """Fail early (before any request) when ``output`` cannot be written."""
    check_writable(output)


def split_counts(names: list[str], records: int, max_rows: int) -> dict[str, int]:
    """Rows per worksheet of a sheet split past ``max_rows`` (header included)."""
    per = max_rows - 1
    counts = {name: per for name in names[:-1]}
    counts[names[-1]] = records - per * (len(names) - 1)
    return counts


def export_resource(
    client: ConcordClient,
    resource: str,
    output: str | Path,
    options: ExportOptions | None = None,
    *,
    progress: Progress | None = None,
) -> ExportSummary:
    """Export ``resource`` to ``output`` (.xlsx or .csv), atomically; ``progress(n)`` per record."""
    options = options or ExportOptions()
    started = time.monotonic()
    output = Path(output)
    fmt = output_format(output, options.format)
    mapping = options.mapping
    if mapping is not None and mapping.resource != resource:
        msg = f"the mapping is for {mapping.resource}, not {resource}"
        raise MappingError(msg, path=_path(mapping), key="resource")
    since = parse_since(options.since)
    check_distinct({"the output": output}, {"the mapping": mapping.path if mapping else None})
    check_output(output)
    fields = fetch_fields(client, resource)
    job = SheetJob(name=resource.replace("-", " ").title(), resource=resource,
                   columns=export_columns(fields, mapping), since=since, query=options.query)
    if fmt == "csv":
        with CsvWriter(output, [c.header for c in job.columns]) as writer:
            writer.writerows(job.rows(client, csv=True, progress=progress))
        sheets = {job.name: job.records}
    else:
        with WorkbookWriter(output, max_rows_per_sheet=options.max_rows_per_sheet) as book:
            stats = book.add_sheet(job.name, [c.definition() for c in job.columns],
                                   job.rows(client, progress=progress))
            extra = {"Mapping": str(mapping.path)} if mapping and mapping.path else {}
            book.add_key_value_sheet("Run info", run_info(client, [job], extra))
        sheets = split_counts(stats.sheets, job.records, options.max_rows_per_sheet)
    client_stats = getattr(client, "stats", None)
    return ExportSummary(
        records=job.records,
        requests=int(getattr(client_stats, "requests", 0) or 0),
        elapsed_s=time.monotonic() - started,
        output=str(output),
        format=fmt,
        sheets=sheets,
    )


__all__ = [
    "ExportColumn", "ExportOptions", "ExportSummary", "SheetJob", "export_columns",
    "export_resource", "fetch_fields", "parse_since", "run_info",
]
