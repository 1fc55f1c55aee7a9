"""`concord-etl export` and `concord-etl report`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from concord_etl.cli.common import (
    CONTEXT,
    FILE,
    Connection,
    Run,
    connection_options,
    handle_errors,
    load_mapping_file,
    make_client,
    run_options,
    summary_table,
)

EXPORTABLE = ("contacts", "companies", "deals", "products", "activities", "notes", "calls")


class RecordCounter:
    """tqdm bar counting exported records; silent when not a TTY, --quiet or --json."""

    def __init__(self, enabled: bool, what: str) -> None:
        self.enabled = enabled
        self.what = what
        self.bar: Any = None

    def __call__(self, count: int) -> None:
        if not self.enabled:
            return
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(desc=self.what, unit=" records", dynamic_ncols=True, file=sys.stderr)
        self.bar.update(count)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


@click.command("export", context_settings=CONTEXT)
@click.argument("resource", type=click.Choice(EXPORTABLE))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Output file (.xlsx or .csv); written atomically.")
@click.option("--mapping", "-m", "mapping_path", type=FILE,
              help="Choose, order and rename columns (re-importable).")
@click.option("--since", help="Only records updated since TIME (ISO date/time, or 30m, 12h, 7d, 2w).")
@click.option("--query", "query", help="Search term, or field:value;field:value.")
@click.option("--format", "fmt", type=click.Choice(["xlsx", "csv"]),
              help="Output format (default: from the file name).")
@connection_options
@run_options()
@handle_errors
def export_command(
    resource: str, output: Path, mapping_path: Path | None, since: str | None,
    query: str | None, fmt: str | None, conn: Connection, run: Run,
) -> None:
    """Export RESOURCE records to an Excel workbook or a CSV file.

    Values come out as people read them (labels, names, dates, numbers). With --mapping the
    columns are the mapping's, and the file imports back through it as updates.
    """
    from concord_etl.export.exporter import (
        ExportOptions,
        export_resource,
        output_format,
        parse_since,
    )

    mapping = load_mapping_file(mapping_path) if mapping_path else None
    output_format(output, fmt)       # usage errors before any request
    parse_since(since)
    client = make_client(conn, run)
    counter = RecordCounter(run.progress, resource)
    try:
        summary = export_resource(
            client, resource, output,
            ExportOptions(mapping=mapping, since=since, query=query, format=fmt),
            progress=counter,
        )
    finally:
        counter.close()
    data = summary.as_dict()
    run.summary(data, lambda: summary_table(
        [("records", data["records"]), ("requests", data["requests"]),
         ("time", f"{data['elapsed_s']:.1f} s"), ("output", data["output"])],
        title=f"Exported {resource}:",
    ))


@click.command("report", context_settings=CONTEXT)
@click.argument("report_file", type=FILE)
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="Write here instead of the report's own output name.")
@click.option("--full", is_flag=True, help="Ignore the stored watermarks: export everything.")
@connection_options
@run_options()
@handle_errors
def report_command(
    report_file: Path, output: Path | None, full: bool, conn: Connection, run: Run,
) -> None:
    """Run a report definition (sheets, summaries with charts): the cron entry point.

    Exit codes: 0 written; 2 bad report file, mapping or settings (nothing sent);
    3 another run of the same report holds its lock, or the CRM is unreachable/refused.
    """
    from concord_etl.export.report import load_report, run_report

    definition = load_report(report_file)
    if output is not None and output.suffix.lower() != ".xlsx":
        raise click.UsageError(f"--output {output}: a report is an Excel workbook (.xlsx)")
    client = make_client(conn, run)
    summary = run_report(client, definition, output=output, full=full)
    data = summary.as_dict()
    for text in summary.notes:
        run.note(text)

    def table() -> str:
        rows = [(f"sheet {name}", f"{count} records") for name, count in data["sheets"].items()]
        rows += [(f"summary {title}", f"{groups} groups")
                 for title, groups in data["summaries"].items()]
        rows += [("requests", data["requests"]), ("time", f"{data['elapsed_s']:.1f} s"),
                 ("output", data["output"])]
        return summary_table(rows, title=f"Report {report_file}:")

    run.summary(data, table)
