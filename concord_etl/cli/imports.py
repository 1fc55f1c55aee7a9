"""`concord-etl import` and `concord-etl validate`."""

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
        if event.get("waited", 0) >= 0.5:       # wall-clock time spent waiting for the limit
            post["rate-limit wait"] = f"{event['waited']:.0f}s"
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
              help="Journal file (default: beside the input, named after input and mapping).")
@click.option("--restart", is_flag=True, help="Discard the journal of an earlier run and start over.")
@click.option("--results", "results_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Results file (default: beside the input, named after input and mapping, "
                   ".csv or .xlsx like the input).")
@click.option("--concurrency", type=click.IntRange(1, 64),
              help="Parallel requests (default: chosen from the rate limit and latency).")
@click.option("--limit", type=click.IntRange(0), help="Only the first N data rows.")
@click.option("--yes", "-y", is_flag=True,
              help="Do not ask for confirmation (asked only before --restart drops a journal).")
@connection_options
@run_options()
@handle_errors
def import_command(
    file: Path, mapping_path: Path, sheet: str | None, dry_run: bool, plan_path: Path | None,
    journal_path: Path | None, restart: bool, results_path: Path | None,
    concurrency: int | None, limit: int | None, yes: bool, conn: Connection, run: Run,
) -> None:
    """Validate FILE, resolve lookups and upload it; resumable after any interruption."""
    from concord_etl.load.run import ImportOptions, default_journal_path, run_import

    if plan_path and not dry_run:
        raise click.UsageError("--plan goes with --dry-run")
    mapping = load_mapping_file(mapping_path, for_import=True)
    journal = journal_path or default_journal_path(file, mapping)
    if restart and journal.exists() and not yes and sys.stdin.isatty():
        click.confirm(
            f"--restart discards the journal of the earlier run ({journal}); rows it finished "
            "will be matched again, not re-created. Go on?", abort=True,
        )
    client = make_client(conn, run)
    options = ImportOptions(
        dry_run=dry_run, plan_path=plan_path, journal_path=journal_path, restart=restart,
        results_path=results_path, concurrency=concurrency, limit=limit, sheet=sheet,
    )
    bar = ProgressBar(enabled=run.progress)
    try:
        summary = run_import(file, mapping, client, options, progress=bar)
    finally:
        bar.close()
    render_import_summary(summary, run)
    sys.exit(summary.exit_code)


def render_import_summary(summary: Any, run: Run) -> None:
    data = summary.as_dict()
    run.summary(data, lambda: import_table(summary, data))
    bad = sum(data.get(k, 0) for k in ("rejected", "failed", "unverified"))
    bad += sum((data.get("products") or {}).get(k, 0) for k in ("rejected", "failed"))
    if bad and data.get("results") and not run.as_json:
        what = "record(s)" if data.get("records") or data.get("products") else "row(s)"
        message = (f"{bad} {what} need attention: fix them in {data['results']} and import "
                   "that file again with the same mapping.")
        run.follow_up(message)


def import_table(summary: Any, data: dict[str, Any]) -> str:
    title = "Dry run (nothing was written):" if summary.dry_run else "Import finished:"
    rows = [("rows", data["rows"])]
    if data.get("records"):
        rows += [(name, _counts(counts, summary.dry_run)) for name, counts in data["records"].items()]
        if data.get("products"):
            rows.append(("deal products", _counts(data["products"], summary.dry_run)))
    else:
        for key in ("created", "updated", "unchanged", "duplicate", "skipped", "rejected",
                    "failed", "unverified"):
            if data.get(key):
                label = {"created": "would create", "updated": "would update"}.get(key, key)
                rows.append((label if summary.dry_run else key, data[key]))
        if data.get("products"):
            rows.append(("products", _counts(data["products"], summary.dry_run)))
    if data.get("duplicates"):
        rows.append(("duplicates", f"{data['duplicates']} (repeat an earlier row: one write)"))
    if data.get("warnings"):
        rows.append(("warnings", f"{data['warnings']} row(s) (see _warnings in the results)"))
    rows.append(("requests", data["requests"]))
    rows.append(("time", f"{data['elapsed_s']:.1f} s"))
    if data.get("waited_s", 0) >= 0.5:
        rows.append(("waiting for the rate limit", f"{data['waited_s']:.1f} s"))
    rows.extend(listed("created", data.get("created_related", [])))
    rows.extend(listed("would create", data.get("would_create_related", [])))
    for item in data.get("lookups", []):
        rows.append(("lookup", item))
    if data.get("results"):
        rows.append(("results", data["results"]))
    if data.get("plan"):
        rows.append(("plan", data["plan"]))
    return summary_table(rows, title=title)


def _counts(counts: dict[str, int], dry_run: bool) -> str:
    """``3 created, 2 duplicate`` (``would create`` in a dry run)."""
    words = {"created": "would create", "updated": "would update"} if dry_run else {}
    return ", ".join(f"{n} {words.get(k, k)}" for k, n in counts.items() if n)


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
@connection_options
@run_options()
@handle_errors
def validate_command(
    file: Path, mapping_path: Path, sheet: str | None, online: bool, results_path: Path | None,
    conn: Connection, run: Run,
) -> None:
    """Check FILE against the mapping without writing anything to the CRM."""
    from concord_etl.validate.file import validate_file

    mapping = load_mapping_file(mapping_path, for_import=True)
    client = make_client(conn, run) if online else None
    summary = validate_file(file, mapping, client=client, results_path=results_path, sheet=sheet)
    data = summary.as_dict()

    def table() -> str:
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
        lines = [summary_table(rows, title=f"Validation of {file}:")]
        lines += [f"  {line}" for line in summary.sample_errors]
        if data["rejected"] and data["rejected"] > len(summary.sample_errors):
            lines.append("  ... and more (see --results)")
        if summary.sample_warnings:
            lines.append("warnings (accepted, but worth a look):")
            lines += [f"  {line}" for line in summary.sample_warnings]
        return "\n".join(lines)

    run.summary(data, table)
    sys.exit(1 if data["rejected"] else 0)
