"""What an import checks before it sends anything, and how a local write failure after it sent
something is told (exit 3: the journal knows what was sent; a rerun resumes)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from concord_etl.errors import WriteFailed
from concord_etl.load.session import default_journal_path, default_results_path
from concord_etl.mapping.model import AnyMapping
from concord_etl.output.paths import check_distinct, check_writable


def write_failed(exc: OSError | sqlite3.Error, sent: int, summary: Any) -> WriteFailed:
    """A local write failed after the CRM was changed: say so, exit 3, rerun resumes."""
    if isinstance(exc, OSError):
        name = exc.filename or "a file"
        what = f"cannot write {name}: {exc.strerror or exc}"
    else:
        what = f"cannot write the journal {summary.journal}: {exc}"
    message = (f"{what}, after {sent} write(s) to the CRM; the journal knows what was sent "
               "(rows whose answer could not be recorded are checked in the CRM before "
               "anything is sent again)")
    error = WriteFailed(message, hint="free some space, then rerun the same command to resume")
    error.summary = summary  # type: ignore[attr-defined]
    return error


def check_paths(path: Path, mapping: AnyMapping, options: Any) -> None:
    """The results file, the journal and the plan never overwrite the input or the mapping,
    and can be written: found out now, not after the rows were sent."""
    excel = path.suffix.lower() not in (".csv", ".txt", ".tsv", ".tab")
    written = not options.dry_run or options.results_path is not None
    outputs: dict[str, Path | None] = {
        "--results": (options.results_path
                      or default_results_path(path, mapping, excel=excel))
        if written else None,
        "--plan": options.plan_path if options.dry_run else None,
        "--journal": None if options.dry_run
        else options.journal_path or default_journal_path(path, mapping),
    }
    check_distinct(outputs, {"the input file": path,
                             "the mapping": getattr(mapping, "path", None)})
    for target in outputs.values():
        if target is not None:
            check_writable(target)
