"""`concord-etl import` and `concord-etl validate`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from concord_etl.cli.common import (
    CONTEXT,
    connection_options,
    handle_errors,
    load_mapping_file,
    make_client,
    print_json,
    summary_table,
)

FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


class ProgressBar:
    """tqdm bar fed by the importer's progress events; silent when not a TTY or --quiet."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.bar: Any = None

    def __call__(self, event: dict[str, Any]) -> None:
        if not self.enabled:
            return
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(total=event.get("total"), unit="row", dynamic_ncols=True, file=sys.stderr)
        if event.get("advance"):
            self.bar.update(event["advance"])
        counts = event.get("counts") or {}
        post = {k[:4]: v for k, v in counts.items() if k in ("created", "updated", "rejected") and v}
        if event.get("waited", 0) >= 0.5:
            post["rate-wait"] = f"{event['waited']:.0f}s"
        if post:
            self.bar.set_postfix(post, refresh=False)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


@click.command("import", context_settings=CONTEXT)
@click.argument("file", type=FILE)
@click.option("--mapping", "-m", "mapping_path", required=True, type=FILE, help="Mapping YAML.")
@click.option("--sheet", help="Sheet name (Excel); overrides the mapping's source.sheet.")
@click.option("--dry-run", is_flag=True, help="Plan only: per-row action, read-only requests.")
@click.option("--plan", "plan_path", type=click.Path(dir_okay=False, path_type=Path),
              help="With --dry-run: write one JSON line per row (row, action, payload, errors).")
@click.option("--journal", "journal_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Journal file (default: beside the input).")
@click.option("--restart", is_flag=True, help="Discard the journal of an earlier run and start over.")
@click.option("--results", "results_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Results file (default: beside the input, .csv or .xlsx like the input).")
@click.option("--concurrency", type=click.IntRange(1, 64),
              help="Parallel requests (default: chosen from the rate limit and latency).")
@click.option("--limit", type=click.IntRange(0), help="Only the first N data rows.")
@click.option("--yes", "-y", is_flag=True,
              help="Do not ask for confirmation (asked only before --restart drops a journal).")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary on stdout.")
@connection_options
@handle_errors
def import_command(
    file: Path, mapping_path: Path, sheet: str | None, dry_run: bool, plan_path: Path | None,
    journal_path: Path | None, restart: bool, results_path: Path | None,
    concurrency: int | None, limit: int | None, yes: bool, quiet: bool, as_json: bool,
    url: str | None, token: str | None, token_file: Path | None, allow_insecure_http: bool,
) -> None:
    """Validate FILE, resolve lookups and upload it; resumable after any interruption."""
    from concord_etl.load.run import ImportOptions, default_journal_path, run_import

    if plan_path and not dry_run:
        raise click.UsageError("--plan goes with --dry-run")
    mapping = load_mapping_file(mapping_path)
    journal = journal_path or default_journal_path(file)
    if restart and journal.exists() and not yes and sys.stdin.isatty():
        click.confirm(
            f"--restart discards the journal of the earlier run ({journal}); rows it finished "
            "will be matched again, not re-created. Go on?", abort=True,
        )
    client = make_client(url, token, token_file, allow_insecure_http)
    options = ImportOptions(
        dry_run=dry_run, plan_path=plan_path, journal_path=journal_path, restart=restart,
        results_path=results_path, concurrency=concurrency, limit=limit, sheet=sheet,
    )
    bar = ProgressBar(enabled=not quiet and not as_json and sys.stderr.isatty())
    try:
        summary = run_import(file, mapping, client, options, progress=bar)
    finally:
        bar.close()
    render_import_summary(summary, as_json=as_json)
    sys.exit(summary.exit_code)


def render_import_summary(summary: Any, *, as_json: bool) -> None:
    data = summary.as_dict()
    if as_json:
        print_json(data)
        return
    title = "Dry run (nothing was written):" if summary.dry_run else "Import finished:"
    rows = [("rows", data["rows"])]
    for key in ("created", "updated", "unchanged", "skipped", "rejected", "failed", "unverified"):
        if data.get(key):
            label = {"created": "would create", "updated": "would update"}.get(key, key)
            rows.append((label if summary.dry_run else key, data[key]))
    if data.get("duplicates"):
        rows.append(("duplicates", f"{data['duplicates']} (repeat an earlier row: one write)"))
    if data.get("warnings"):
        rows.append(("warnings", f"{data['warnings']} row(s) (see _warnings in the results)"))
    rows.append(("requests", data["requests"]))
    rows.append(("time", f"{data['elapsed_s']:.1f} s"))
    if data.get("waited_s", 0) >= 0.5:
        rows.append(("rate-limit wait", f"{data['waited_s']:.1f} s (summed over parallel requests)"))
    rows.extend(listed("created", data.get("created_related", [])))
    rows.extend(listed("would create", data.get("would_create_related", [])))
    for item in data.get("lookups", []):
        rows.append(("lookup", item))
    if data.get("results"):
        rows.append(("results", data["results"]))
    if data.get("plan"):
        rows.append(("plan", data["plan"]))
    click.echo(summary_table(rows, title=title))
    bad = sum(data.get(k, 0) for k in ("rejected", "failed", "unverified"))
    if bad and data.get("results"):
        click.echo(
            f"{bad} row(s) need attention: fix them in {data['results']} and import that file "
            "again with the same mapping."
        )


def listed(label: str, items: list[str], most: int = 10) -> list[tuple[str, str]]:
    """Summary rows for a list, the first ``most`` of it (``--json`` has them all)."""
    rows = [(label, item) for item in items[:most]]
    if len(items) > most:
        rows.append((label, f"... and {len(items) - most} more (--json lists them all)"))
    return rows


@click.command("validate", context_settings=CONTEXT)
@click.argument("file", type=FILE)
@click.option("--mapping", "-m", "mapping_path", required=True, type=FILE, help="Mapping YAML.")
@click.option("--sheet", help="Sheet name (Excel).")
@click.option("--online", is_flag=True,
              help="Use the CRM's field definitions and options (read-only requests).")
@click.option("--results", "results_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the rejected rows with their reasons to this file.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary on stdout.")
@connection_options
@handle_errors
def validate_command(
    file: Path, mapping_path: Path, sheet: str | None, online: bool, results_path: Path | None,
    as_json: bool, url: str | None, token: str | None, token_file: Path | None,
    allow_insecure_http: bool,
) -> None:
    """Check FILE against the mapping without writing anything to the CRM."""
    from concord_etl.validate.file import validate_file

    mapping = load_mapping_file(mapping_path)
    client = make_client(url, token, token_file, allow_insecure_http) if online else None
    summary = validate_file(file, mapping, client=client, results_path=results_path, sheet=sheet)
    data = summary.as_dict()
    if as_json:
        print_json(data)
    else:
        rows = [("rows", data["rows"]), ("valid", data["rows"] - data["rejected"]),
                ("rejected", data["rejected"])]
        if data.get("duplicates"):
            rows.append(("duplicates", f"{data['duplicates']} (repeat an earlier row: one write)"))
        if data.get("warnings"):
            rows.append(("warnings", f"{data['warnings']} row(s)"))
        rows.append(("time", f"{data['elapsed_s']:.2f} s"))
        for item in data.get("lookups", []):
            rows.append(("lookup", item))
        rows.extend(listed("would create", data.get("would_create_related", [])))
        if data.get("results"):
            rows.append(("results", data["results"]))
        click.echo(summary_table(rows, title=f"Validation of {file}:"))
        for line in summary.sample_errors:
            click.echo(f"  {line}")
        if data["rejected"] and data["rejected"] > len(summary.sample_errors):
            click.echo("  ... and more (see --results)")
        if summary.sample_warnings:
            click.echo("warnings (accepted, but worth a look):")
            for line in summary.sample_warnings:
                click.echo(f"  {line}")
    sys.exit(1 if data["rejected"] else 0)
