"""`concord-etl revert`: undo the last import of a file with a mapping."""

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

SHOWN = ("deleted", "reverted", "unchanged", "duplicate", "conflict", "missing", "failed")
DRY_WORDS = {"deleted": "would delete", "reverted": "would revert"}


class RevertBar:
    """A tqdm bar fed by the revert's progress events; off when not a TTY, --quiet or --json."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.bar: Any = None
        self.counts: dict[str, int] = {}

    def __call__(self, event: dict[str, Any]) -> None:
        if not self.enabled:
            return
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(total=event.get("total"), unit="record", dynamic_ncols=True,
                            file=sys.stderr)
        if event.get("action"):
            self.counts[event["action"]] = self.counts.get(event["action"], 0) + 1
            self.bar.set_postfix({k[:6]: v for k, v in self.counts.items()}, refresh=False)
        if event.get("advance"):
            self.bar.update(event["advance"])

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


@click.command("revert", context_settings=CONTEXT)
@click.argument("file", type=FILE)
@click.option("--mapping", "-m", "mapping_path", required=True, type=FILE,
              help="The mapping FILE was imported with.")
@click.option("--journal", "journal_path", type=click.Path(dir_okay=False, path_type=Path),
              help="The import's journal (default: beside the input, as for import).")
@click.option("--dry-run", is_flag=True,
              help="List every undo (reading the CRM to classify it); write nothing.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@click.option("--force", is_flag=True,
              help="Also set back fields changed since the import, and delete records created "
                   "by lookups that something else uses now.")
@click.option("--results", "results_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Results file (default: beside the input, <name>.<mapping>.revert.csv).")
@click.option("--concurrency", type=click.IntRange(1, 64),
              help="Parallel requests (default: chosen from the rate limit and latency).")
@connection_options
@run_options()
@handle_errors
def revert_command(
    file: Path, mapping_path: Path, journal_path: Path | None, dry_run: bool, yes: bool,
    force: bool, results_path: Path | None, concurrency: int | None, conn: Connection, run: Run,
) -> None:
    """Undo the last import of FILE with the mapping: delete the records it created (to the
    trash), trash again those it restored, set back the fields it updated. Fields changed
    since the import are reported as conflicts and left alone (--force overwrites them).
    Resumable; a second run writes nothing."""
    from concord_etl.load.revert import RevertOptions, revert_import

    mapping = load_mapping_file(mapping_path, for_import=True)
    client = make_client(conn, run)
    options = RevertOptions(journal_path=journal_path, dry_run=dry_run, force=force,
                            results_path=results_path, concurrency=concurrency)
    ask = not yes and not dry_run and sys.stdin.isatty()
    confirm = _asker(file, mapping_path) if ask else None
    bar = RevertBar(enabled=run.progress)
    try:
        summary = revert_import(file, mapping, client, options, progress=bar, confirm=confirm)
    finally:
        bar.close()
    render_revert_summary(summary, run)
    sys.exit(summary.exit_code)


def _asker(file: Path, mapping_path: Path) -> Any:
    def confirm(lines: list[str]) -> bool:
        click.echo(f"Revert the import of {file} with {mapping_path.name}:", err=True)
        for line in lines:
            click.echo(f"  - {line}", err=True)
        return click.confirm("Go on?", default=False, err=True)

    return confirm


def render_revert_summary(summary: Any, run: Run) -> None:
    data = summary.as_dict()
    if summary.declined and not run.as_json:
        run.say("Not confirmed: nothing was changed.")
        return
    run.summary(data, lambda: revert_table(data))
    for warning in data.get("warnings", []):
        run.note(warning)
    if data.get("conflict") and not data.get("dry_run") and not run.as_json:
        message = ("Conflicting fields were left as they are (see _errors); rerun with --force "
                   "to set them back anyway.")
        run.follow_up(message)


def revert_table(data: dict[str, Any]) -> str:
    dry = bool(data.get("dry_run"))
    lines = [f"  {line}" for line in data.get("planned", [])]
    title = "Dry run (nothing was written):" if dry else "Revert finished:"
    rows: list[tuple[str, Any]] = [("rows", data["rows"])]
    if data.get("records"):
        for name, counts in data["records"].items():
            rows.append((name, ", ".join(f"{n} {_word(k, dry)}" for k, n in counts.items())))
    else:
        rows += [(_word(k, dry), data[k]) for k in SHOWN if data.get(k)]
    if data.get("products"):
        counts = data["products"]
        rows.append(("deal products", ", ".join(f"{n} {_word(k, dry)}" for k, n in counts.items())))
    if data.get("done_earlier"):
        rows.append(("already undone", f"{data['done_earlier']} (by an earlier revert)"))
    related = data.get("related", [])
    gone = [line for line in related if line.endswith((": deleted", ": delete"))]
    if gone:
        word = "would delete" if dry else "deleted"
        rows.append(("lookup records", f"{len(gone)} {word} (created by create_missing)"))
    for line in related:
        if line not in gone:
            rows.append(("lookup record", line))
    rows.append(("requests", data["requests"]))
    rows.append(("time", f"{data['elapsed_s']:.1f} s"))
    if data.get("results"):
        rows.append(("results", data["results"]))
    return "\n".join([*lines, summary_table(rows, title=title)])


def _word(key: str, dry: bool) -> str:
    return DRY_WORDS.get(key, key) if dry else key
