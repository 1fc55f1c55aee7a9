"""Journal: intents before sending, outcomes after, ownership by input/mapping hash, kill -9."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from concord_etl.errors import JournalError
from concord_etl.load.journal import Journal, Op, file_hash, payload_hash
from tests.helpers import REPO


def open_journal(path: Path, **kw: object) -> Journal:
    args: dict[str, object] = {"input_hash": "in-1", "mapping_hash": "map-1",
                               "input_name": "sample_data/leads.csv"}
    args.update(kw)
    return Journal.open(path, **args)  # type: ignore[arg-type]


def test_begin_then_finish_round_trip(tmp_path: Path) -> None:
    with open_journal(tmp_path / "j.sqlite") as journal:
        journal.begin([
            Op("row:2", match={"email": "ada@example.com"}, payload_hash="h2", row=2,
               action="create"),
            Op("row:3", match={"email": "bob@example.com"}, payload_hash="h3", row=3),
        ])
        assert journal.states() == {"sent": 2}
        journal.finish("row:2", "done", action="created", concord_id=41)
        journal.finish("row:3", "rejected", errors={"email": ["The email is invalid."]})
        journal.finish("row:4", "skipped", row=4)             # never begun: recorded anyway

        done = journal.get("row:2")
        assert done is not None
        assert (done.state, done.action, done.concord_id, done.row) == ("done", "created", 41, 2)
        assert done.match == {"email": "ada@example.com"}
        assert done.payload_hash == "h2"
        rejected = journal.get("row:3")
        assert rejected is not None and rejected.errors == {"email": ["The email is invalid."]}
        assert journal.get("row:99") is None
        assert journal.states() == {"done": 1, "rejected": 1, "skipped": 1}
        assert journal.unfinished() == []
        assert [op.op_key for op in journal.iter_ops()] == ["row:2", "row:3", "row:4"]


def test_begin_again_counts_attempts_and_clears_old_errors(tmp_path: Path) -> None:
    with open_journal(tmp_path / "j.sqlite") as journal:
        journal.begin([Op("row:2", match={"email": "a@x.io"}, row=2)])
        journal.finish("row:2", "failed", errors="timeout")
        journal.begin([Op("row:2", match={"email": "a@x.io"}, row=2)])
        op = journal.get("row:2")
        assert op is not None
        assert (op.state, op.attempts, op.errors) == ("sent", 2, None)


def test_unknown_state_is_refused(tmp_path: Path) -> None:
    with open_journal(tmp_path / "j.sqlite") as journal, pytest.raises(ValueError, match="state"):
        journal.finish("row:2", "exploded")


def test_meta_and_run_count(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    with open_journal(path) as journal:
        meta = journal.meta
        assert meta["input_name"] == "sample_data/leads.csv"
        assert meta["input_hash"] == "in-1" and meta["mapping_hash"] == "map-1"
        assert meta["created_at"]
        assert journal.run_count == 1
    with open_journal(path) as journal:
        assert journal.run_count == 2


def test_changed_input_is_refused_and_restart_archives(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    with open_journal(path) as journal:
        journal.begin([Op("row:2", row=2)])

    with pytest.raises(JournalError) as info:
        open_journal(path, input_hash="in-2")
    message = str(info.value)
    assert "sample_data/leads.csv changed since the interrupted import" in message
    assert str(path) in message and "--restart" in message

    with pytest.raises(JournalError, match="mapping changed"):
        open_journal(path, mapping_hash="map-2")

    with open_journal(path, input_hash="in-2", restart=True) as journal:
        assert journal.states() == {}
        assert journal.run_count == 1
        assert journal.archived is not None and journal.archived.exists()
    with Journal.open(journal.archived, input_hash="in-1", mapping_hash="map-1") as old:
        assert old.states() == {"sent": 1}


def test_unreadable_journal_is_a_journal_error(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    path.write_bytes(b"this is not a database at all" * 100)
    with pytest.raises(JournalError, match="--restart"):
        open_journal(path)
    with open_journal(path, restart=True) as journal:
        assert journal.states() == {}


def test_iter_ops_by_state_survives_finishing_while_iterating(tmp_path: Path) -> None:
    with open_journal(tmp_path / "j.sqlite") as journal:
        journal.begin([Op(f"row:{n}", row=n) for n in range(1, 2501)])
        journal.begin([Op("create:companies:name:acme")])            # no row: sorted last
        seen = []
        for op in journal.iter_ops(states=["sent"]):
            seen.append(op.op_key)
            journal.finish(op.op_key, "done")
        assert len(seen) == len(set(seen)) == 2501
        assert seen[:3] == ["row:1", "row:2", "row:3"] and seen[-1] == "create:companies:name:acme"
        assert journal.states() == {"done": 2501}


def test_concurrent_finishes_from_threads(tmp_path: Path) -> None:
    with open_journal(tmp_path / "j.sqlite") as journal:
        journal.begin([Op(f"row:{n}", row=n) for n in range(400)])

        def work(start: int) -> None:
            for n in range(start, 400, 8):
                journal.finish(f"row:{n}", "done", concord_id=n)

        threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert journal.states() == {"done": 400}


def test_file_hash_streams_sha256(tmp_path: Path) -> None:
    data = os.urandom(3 * (1 << 20) + 17)
    path = tmp_path / "input.bin"
    path.write_bytes(data)
    assert file_hash(path) == hashlib.sha256(data).hexdigest()
    assert file_hash(path, chunk_size=1000) == hashlib.sha256(data).hexdigest()


def test_payload_hash_is_order_independent() -> None:
    assert payload_hash({"a": 1, "b": [1, 2]}) == payload_hash({"b": [1, 2], "a": 1})
    assert payload_hash({"a": 1}) != payload_hash({"a": 2})


CRASHER = textwrap.dedent("""
    import sys, time
    from concord_etl.load.journal import Journal, Op
    journal = Journal.open(sys.argv[1], input_hash="in-1", mapping_hash="map-1",
                           input_name="leads.csv")
    journal.begin([Op(f"row:{n}", match={"email": f"u{n}@x.io"}, row=n) for n in range(2, 12)])
    for n in range(2, 6):
        journal.finish(f"row:{n}", "done", action="created", concord_id=100 + n)
    journal.flush()
    journal.finish("row:6", "done", concord_id=106)     # buffered: lost by the kill
    print("ready", flush=True)
    time.sleep(60)
""")


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_kill_9_after_begin_leaves_intents_unfinished(tmp_path: Path) -> None:
    """Intents survive; a lost (unflushed) outcome leaves its op ``sent``, never ``done``."""
    path = tmp_path / "j.sqlite"
    proc = subprocess.Popen([sys.executable, "-c", CRASHER, str(path)], cwd=REPO,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL

    with open_journal(path, input_name="leads.csv") as journal:
        unfinished = journal.unfinished()
        assert [op.row for op in unfinished] == list(range(6, 12))
        assert unfinished[0].match == {"email": "u6@x.io"}
        assert journal.states() == {"done": 4, "sent": 6}
        done = journal.get("row:5")
        assert done is not None and done.concord_id == 105
        assert journal.run_count == 2


def _committed_states(path: Path) -> dict[str, int]:
    import sqlite3

    with sqlite3.connect(path) as other:                      # another reader: sees commits only
        return dict(other.execute("SELECT state, COUNT(*) FROM ops GROUP BY state"))


def test_outcomes_are_group_committed_with_the_next_intents(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    with open_journal(path) as journal:
        journal.begin([Op("row:2", row=2), Op("row:3", row=3)])
        journal.finish("row:2", "done", concord_id=7)
        assert _committed_states(path) == {"sent": 2}          # buffered, not yet durable
        journal.begin([Op("row:4", row=4)])                    # one transaction for both
        assert _committed_states(path) == {"done": 1, "sent": 2}
        journal.finish("row:3", "done")
        assert journal.states() == {"done": 2, "sent": 1}      # queries see buffered outcomes
    assert _committed_states(path) == {"done": 2, "sent": 1}   # close flushes


def test_a_finished_run_is_never_called_interrupted(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    with open_journal(path, mapping_name="companies.yaml") as journal:
        journal.begin([Op("row:2", row=2)])
        journal.finish("row:2", "done", action="created", concord_id=1)
        journal.finish_run()
    with pytest.raises(JournalError) as info:
        open_journal(path, input_hash="in-2", mapping_name="companies.yaml")
    message = str(info.value)
    assert "interrupted" not in message
    assert "sample_data/leads.csv changed since its import with companies.yaml finished" in message
    with pytest.raises(JournalError) as info:
        open_journal(path, mapping_hash="map-2", mapping_name="companies.yaml")
    message = str(info.value)
    assert "the mapping companies.yaml changed since the import of sample_data/leads.csv" in message
    assert "interrupted" not in message and "--restart" in message


def test_run_state_and_pid_are_kept_in_meta(tmp_path: Path) -> None:
    from concord_etl.load.journal_meta import read_meta

    path = tmp_path / "j.sqlite"
    assert read_meta(path) is None
    journal = open_journal(path)
    meta = read_meta(path)
    assert meta is not None
    assert (meta["run_state"], meta["pid"]) == ("running", str(os.getpid()))
    journal.close()
    meta = read_meta(path)
    assert meta is not None and (meta["run_state"], meta["pid"]) == ("interrupted", "")


def test_old_journals_get_the_new_columns(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(path)
    db.executescript(
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
        "CREATE TABLE ops (op_key TEXT PRIMARY KEY, row INTEGER, match TEXT, payload_hash TEXT,"
        " state TEXT NOT NULL, action TEXT, concord_id INTEGER, errors TEXT,"
        " attempts INTEGER NOT NULL DEFAULT 0, updated_at REAL NOT NULL);"
        "INSERT INTO meta VALUES ('input_hash', 'in-1'), ('mapping_hash', 'map-1'), ('runs', '1');"
        "INSERT INTO ops VALUES ('row:2', 2, NULL, NULL, 'done', 'created', 9, NULL, 1, 0);"
    )
    db.commit()
    db.close()
    with open_journal(path) as journal:
        journal.begin([Op("row:3:note", row=3, resource="notes", before={"body": "x"})])
        assert journal.get("row:2").concord_id == 9  # type: ignore[union-attr]
        entry = journal.get("row:3:note")
        assert entry is not None and (entry.resource, entry.before) == ("notes", {"body": "x"})
        journal.finish("row:3:note", "done", action="created", concord_id=9)
        assert journal.claimed([9, 10], resource="notes") == {9}
        assert journal.claimed([9], resource="contacts") == set()
