"""A journal's ``meta`` table read from outside a run, and what a refused journal says.

``run_state`` is ``running`` while a run holds the journal (with its ``pid``), then
``finished`` or ``interrupted``; a run killed outright leaves ``running`` behind, read as
interrupted. The lock of a run (``load.lock``) reads the holder's pid from here.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

RUNNING, FINISHED, INTERRUPTED = "running", "finished", "interrupted"
# Set by a revert of the run (same states); the import then refuses to resume it.
REVERT_STATE, REVERT_PID, REVERTED_AT = "revert_state", "revert_pid", "reverted_at"


def read_meta(path: str | Path) -> dict[str, str] | None:
    """A journal's ``meta`` table, read-only (None when there is no readable journal)."""
    journal_path = Path(path)
    if not journal_path.exists():
        return None
    try:
        connection = sqlite3.connect(f"{journal_path.resolve().as_uri()}?mode=ro", uri=True,
                                     timeout=10.0)
        try:
            return dict(connection.execute("SELECT key, value FROM meta").fetchall())
        finally:
            connection.close()
    except sqlite3.Error:
        return None


def owner_message(meta: dict[str, str], path: Path, input_name: str, mapping_name: str,
                   input_changed: bool) -> str:
    """Say what changed, and whether the earlier run finished (then nothing was interrupted)."""
    state = meta.get("run_state")
    what = f"{input_name} changed" if input_changed else f"the mapping {mapping_name} changed"
    if state == FINISHED:
        when = meta.get("finished_at", "")
        finished = f" on {when.replace('T', ' ')[:16]} UTC" if when else ""
        run = (f"its import with {mapping_name}" if input_changed
               else f"the import of {input_name} with it")
        return (f"{what} since {run} finished{finished} (journal {path}). To import it "
                "again, rerun with --restart: the journal is kept as a backup, rows with a match "
                "key are found and updated, rows without one are created again")
    if state in (RUNNING, INTERRUPTED):
        run = (f"the interrupted import with {mapping_name}" if input_changed
               else f"the interrupted import of {input_name}")
        back = "the original file" if input_changed else "the original mapping"
        return (f"{what} since {run} (journal {path}). Put {back} back and rerun to finish "
                "that import, or rerun with --restart to start over")
    run = f"the earlier import with {mapping_name}" if input_changed \
        else f"the earlier import of {input_name}"
    return f"{what} since {run} (journal {path}); rerun with --restart to start over"


def reverted_message(meta: dict[str, str], path: Path, input_name: str, mapping_name: str
                     ) -> str:
    """Why an import refuses a journal whose run was reverted (or is being reverted)."""
    if meta.get(REVERT_STATE) == FINISHED:
        when = meta.get(REVERTED_AT, "")
        on = f" on {when.replace('T', ' ')[:16]} UTC" if when else ""
        return (f"the import of {input_name} with {mapping_name} was reverted{on} (journal "
                f"{path}). To import the file again, rerun with --restart: the journal is kept "
                "as a backup")
    return (f"a revert of the import of {input_name} with {mapping_name} did not finish "
            f"(journal {path}). Run the same `concord-etl revert` again to finish it, or import "
            "with --restart to start over")
