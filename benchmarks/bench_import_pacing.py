"""Import pacing against a rate-limited, slow sandbox (docs/performance-baselines.md §8).

One process, one sandbox (limit 60 per 2 s, 150 ms latency), two runs on the same data:
  1. concord-etl's importer with default settings (it picks its own concurrency);
  2. a naive loop: POST each row in turn, sleep on 429 for Retry-After.
Prints span / ideal, where ideal = (ceil(requests / L) - 1) × W, 429 count, requests per row,
and the speed-up over the naive loop.

    python benchmarks/bench_import_pacing.py [--rows 400] [--quick] [--no-naive]
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from concord_etl.crm.client import ConcordClient  # noqa: E402
from concord_etl.load.run import ImportOptions, run_import  # noqa: E402
from concord_etl.mapping import mapping_from_dict  # noqa: E402
from concord_etl.sandbox import Sandbox  # noqa: E402

LIMIT, WINDOW, LATENCY_MS = 60, 2.0, 150
TOKEN = "bench-token"
MAPPING = {
    "version": 1,
    "resource": "contacts",
    "match": {"on": ["email"]},
    "columns": {
        "First Name": "first_name",
        "Last Name": "last_name",
        "Email": {"field": "email", "transform": ["strip", "lower"]},
        "Tier": "cf_customer_tier",
    },
}


def make_rows(n: int) -> list[list[str]]:
    tiers = ["Gold", "Silver", "Bronze", "Platinum"]
    return [[f"First{i}", f"Last{i}", f"lead{i}@example.com", tiers[i % 4]] for i in range(n)]


def api_log(url: str) -> list[dict[str, Any]]:
    return requests.get(f"{url}/_sandbox/requests", timeout=30).json()


def reset(url: str) -> None:
    requests.post(f"{url}/_sandbox/reset", json={"seed": "demo"}, timeout=30).raise_for_status()
    time.sleep(WINDOW + 0.2)  # let any open rate-limit window run out


def measure_tool(url: str, data: Path, rows: int) -> dict[str, float]:
    reset(url)
    client = ConcordClient(url, TOKEN)
    mapping = mapping_from_dict(MAPPING)
    started = time.monotonic()
    summary = run_import(data, mapping, client, ImportOptions(journal_path=data.with_suffix(".j")))
    span = time.monotonic() - started
    log = [e for e in api_log(url) if e["path"].startswith("/api/")]
    requests_made = len(log)
    throttled = sum(1 for e in log if e["status"] == 429)
    counted = requests_made - throttled
    ideal = (math.ceil(counted / LIMIT) - 1) * WINDOW
    assert summary.counts["created"] == rows, summary.as_dict()
    return {"span": span, "ideal": ideal, "requests": counted, "429": throttled,
            "per_row": counted / rows}


def measure_naive(url: str, rows: list[list[str]]) -> float:
    reset(url)
    session = requests.Session()
    headers = {"Authorization": f"Bearer {TOKEN}", "Accept": "application/json"}
    started = time.monotonic()
    for first, last, email, tier in rows:
        body = {"first_name": first, "last_name": last, "email": email, "cf_customer_tier": tier}
        while True:
            response = session.post(f"{url}/api/contacts", json=body, headers=headers, timeout=60)
            if response.status_code == 429:
                time.sleep(float(response.headers.get("Retry-After", "1")))
                continue
            response.raise_for_status()
            break
    return time.monotonic() - started


def run(quick: bool = False, rows: int | None = None, naive: bool = True) -> list[dict[str, Any]]:
    n = rows or 400  # the pacing goal needs several windows even in --quick mode
    data_rows = make_rows(n)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "leads.csv"
        with open(data, "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(["First Name", "Last Name", "Email", "Tier"])
            writer.writerows(data_rows)
        with Sandbox(state_dir=Path(tmp) / "state", token=TOKEN, seed="demo", rate_limit=LIMIT,
                     rate_window=WINDOW, latency_ms=LATENCY_MS) as sandbox:
            tool = measure_tool(sandbox.url, data, n)
            naive_span = measure_naive(sandbox.url, data_rows) if naive else None
    out = [
        {"metric": f"import {n} rows: span / ideal (L={LIMIT}/{WINDOW:g}s, {LATENCY_MS} ms)",
         "value": round(tool["span"], 2), "baseline": round(tool["ideal"], 2),
         "ratio": round(tool["span"] / tool["ideal"], 3), "goal": "<= 1.05"},
        {"metric": "import: 429 responses (windows)", "value": tool["429"],
         "baseline": math.ceil(tool["requests"] / LIMIT), "ratio": None,
         "goal": "<= 1 per window"},
        {"metric": "import: requests per created row", "value": round(tool["per_row"], 4),
         "baseline": 1.0, "ratio": round(tool["per_row"], 4), "goal": "<= 1.02"},
    ]
    if naive_span is not None:
        out.append({"metric": "import: naive sequential loop / tool",
                    "value": round(naive_span, 2), "baseline": round(tool["span"], 2),
                    "ratio": round(naive_span / tool["span"], 2),
                    "goal": "speed-up (higher is better)"})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=400)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--no-naive", action="store_true", help="skip the naive loop (~60 s)")
    args = parser.parse_args()
    for row in run(args.quick, args.rows, naive=not args.no_naive):
        print(f"{row['metric']:<62} value={row['value']!s:<10} baseline={row['baseline']!s:<10} "
              f"ratio={row['ratio']!s:<8} goal {row['goal']}")


if __name__ == "__main__":
    main()
