"""An exactly-once revert: kill -9 at random moments, rerun until it finishes.

The sandbox's request log says how often each record was deleted or set back (successfully);
its state says whether anything was missed.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from pathlib import Path

import pytest
import requests

from tests.helpers import (
    TOKEN,
    last_json,
    popen_cli,
    request_log,
    run_cli,
    write_csv,
    write_mapping,
)
from tests.load.test_revert import CONTACTS, HEADER, UPDATES, view


def _writes_seen(url: str) -> int:
    stats = requests.get(f"{url}/_sandbox/stats", timeout=10).json()
    return sum(n for route, n in stats["by_route"].items()
               if route.split()[0] in ("POST", "PUT", "DELETE"))


@pytest.mark.slow
def test_kill9_during_a_revert_then_rerun_reverts_everything_exactly_once(
        sandbox_process, tmp_path: Path) -> None:
    sb = sandbox_process("--latency-ms", "25", "--rate-limit", "100000")
    rows = [[f"K{i}", f"k{i}@example.com", "Engineer", "Bronze", "", "", "", "", ""]
            for i in range(150)]
    data = write_csv(tmp_path / "leads.csv", HEADER, rows + UPDATES)
    mapping = write_mapping(tmp_path / "leads.yaml", CONTACTS)
    before = view(sb.url, "contacts")
    imported = run_cli(["import", str(data), "-m", str(mapping), "--json"], url=sb.url,
                       token=TOKEN)
    assert imported.returncode == 0, imported.stderr
    first = len(request_log(sb.url))
    args = ["revert", str(data), "-m", str(mapping), "--json", "--quiet"]
    rng = random.Random(4)
    kills = 0
    summary = None
    for _cycle in range(8):
        target = _writes_seen(sb.url) + rng.randint(1, 30)
        proc = popen_cli(args, url=sb.url, token=TOKEN)
        while proc.poll() is None and _writes_seen(sb.url) < target:
            time.sleep(0.01)
        if proc.poll() is None:
            time.sleep(rng.uniform(0, 0.05))     # land before, during or after a write
            proc.kill()
            proc.communicate()
            kills += 1
            continue
        out, err = proc.communicate()
        assert proc.returncode == 0, err
        summary = last_json(out)
        break
    if summary is None:                            # the last run goes to the end
        final = run_cli(args, url=sb.url, token=TOKEN)
        assert final.returncode == 0, final.stderr
        summary = last_json(final.stdout)
    assert kills >= 2
    assert (summary["deleted"], summary["reverted"]) == (150, 5)
    assert view(sb.url, "contacts") == before, "nothing missed"
    done = Counter(f"{e['method']} {e['path']}" for e in request_log(sb.url)[first:]
                   if e["method"] in ("DELETE", "PUT") and 200 <= int(e["status"]) < 300)
    assert done and max(done.values()) == 1, "nothing reverted twice"
    assert sum(1 for key in done if key.startswith("DELETE")) == 150
    assert sum(1 for key in done if key.startswith("PUT")) == 5
    again = run_cli(args, url=sb.url, token=TOKEN)
    assert again.returncode == 0 and last_json(again.stdout)["requests"] == 0
