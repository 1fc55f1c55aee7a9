"""Export benchmark: ``export_resource`` vs a naive requests + ``DataFrame.to_excel`` script.

One process, one unthrottled sandbox (demo seed + N contacts with custom-field values of every
kind: options, multi-options, dates, numbers, phones, companies), two cases on the same data:

- baseline (what a user would write): a sequential ``requests`` loop over the list with the
  API's default page size (15), records collected in a list, then
  ``pandas.DataFrame(records).to_excel(path)`` (nested values stringified so it can write them);
- ours: ``export_resource(client, "contacts", path)``: ``per_page=100``, concurrent pages, ids
  turned into labels, typed cells, header/filter/widths, Run info, atomic streamed write.

Cases alternate, median of 3 (``--quick``: 1,000 contacts, one run each). Peak RSS per case is
the process high-water mark above the RSS before the case (``/proc/self/clear_refs``).

    python benchmarks/bench_export.py [--quick] [--records N]

``run(quick)`` returns rows ``{metric, value, baseline, ratio, goal}``.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from memory import peak_rss_mb, rss_mb  # noqa: E402  (benchmarks/ is on sys.path)

from concord_etl.crm.client import ConcordClient  # noqa: E402
from concord_etl.export.exporter import export_resource  # noqa: E402
from concord_etl.sandbox import Sandbox  # noqa: E402

TOKEN = "bench-token"
GOAL_RATIO = 0.5          # ours takes at most half the naive script's time
TIERS = ["Bronze", "Silver", "Gold", "Platinum"]
INTERESTS = ["Analytics", "Automation", "Integrations", "Reporting", "Support"]


def contact(i: int) -> dict[str, Any]:
    body: dict[str, Any] = {
        "first_name": f"First{i}", "last_name": f"Last {i}", "email": f"c{i}@bench.example",
        "job_title": "Buyer" if i % 3 else None,
        "phones": [{"number": f"+4420{i:07d}", "type": "mobile"}],
        "cf_customer_tier": TIERS[i % 4],
        "cf_interests": INTERESTS[: i % 4],
        "cf_signup_date": f"2024-{i % 12 + 1:02d}-{i % 28 + 1:02d}",
        "cf_lead_score": i % 100,
        "cf_budget": round(i * 1.25, 2),
        "cf_newsletter": bool(i % 2),
        "cf_external_id": f"B-{i:06d}",
    }
    if i % 5 == 0:
        body["companies"] = [1]
    return body


def seed(url: str, count: int) -> None:
    client = ConcordClient(url, TOKEN)
    with ThreadPoolExecutor(4) as pool:
        for _ in pool.map(lambda i: client.create("contacts", contact(i)), range(count)):
            pass
    client.close()


def naive_export(url: str, path: Path) -> int:
    """A sequential page loop (default 15 per page) + pandas ``to_excel``."""
    import pandas as pd

    session = requests.Session()
    session.headers.update({"Authorization": f"Bearer {TOKEN}", "Accept": "application/json"})
    records: list[dict[str, Any]] = []
    page = 1
    while True:
        answer = session.get(f"{url}/api/contacts", params={"page": page}, timeout=60).json()
        records.extend(answer["data"])
        if page >= answer["meta"]["last_page"]:
            break
        page += 1
    frame = pd.DataFrame(records)
    for column in frame.columns:  # to_excel cannot write dicts/lists: stringify them
        if frame[column].map(lambda v: isinstance(v, dict | list)).any():
            frame[column] = frame[column].map(str)
    frame.to_excel(path, index=False)
    return len(records)


def our_export(url: str, path: Path) -> int:
    with ConcordClient(url, TOKEN) as client:
        return export_resource(client, "contacts", path).records


def _timed(func: Callable[[str, Path], int], url: str, path: Path
           ) -> tuple[float, float, int, int]:
    """(seconds, peak RSS MB above the start, records, API requests)."""
    before_requests = _api_requests(url)
    before = rss_mb()
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass
    start = time.perf_counter()
    records = func(url, path)
    seconds = time.perf_counter() - start
    peak = max(peak_rss_mb() - before, 0.0)
    return seconds, peak, records, _api_requests(url) - before_requests


def _api_requests(url: str) -> int:
    stats = requests.get(f"{url}/_sandbox/stats", timeout=30).json()
    return int(stats["requests"])


def run(quick: bool = False, records: int | None = None) -> list[dict[str, Any]]:
    """Seed, then time both exports (alternating; median of 3, or 1 run when quick)."""
    n = records or (1_000 if quick else 5_000)
    repeat = 1 if quick else 3
    times: dict[str, list[float]] = {"baseline": [], "ours": []}
    peaks: dict[str, list[float]] = {"baseline": [], "ours": []}
    calls: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix="bench-export-") as tmp, \
            Sandbox(token=TOKEN, seed="demo", rate_limit=10**9, state_dir=Path(tmp) / "state",
                    max_per_page=100) as sandbox:
        seed(sandbox.url, n)
        total = n + 7
        for i in range(repeat):
            for name, func in (("baseline", naive_export), ("ours", our_export)):
                seconds, peak, got, made = _timed(func, sandbox.url, Path(tmp) / f"{name}{i}.xlsx")
                if got != total:
                    raise RuntimeError(f"{name} exported {got} records, expected {total}")
                times[name].append(seconds)
                peaks[name].append(peak)
                calls[name] = made
    ours, base = statistics.median(times["ours"]), statistics.median(times["baseline"])
    label = f"{n // 1000}k" if n >= 1000 else str(n)
    return [
        {"metric": f"export_{label}_contacts_s", "value": round(ours, 3),
         "baseline": round(base, 3), "ratio": round(ours / base, 3), "goal": GOAL_RATIO},
        {"metric": f"export_{label}_records_per_s", "value": round(total / ours),
         "baseline": round(total / base), "ratio": round(base / ours, 3), "goal": None},
        {"metric": f"export_{label}_api_requests", "value": calls["ours"],
         "baseline": calls["baseline"], "ratio": round(calls["ours"] / calls["baseline"], 3),
         "goal": None},
        {"metric": f"export_{label}_peak_rss_above_start_mb", "value": round(max(peaks["ours"]), 1),
         "baseline": round(max(peaks["baseline"]), 1),
         "ratio": round(max(peaks["ours"]) / max(peaks["baseline"]), 3)
         if max(peaks["baseline"]) else None, "goal": None},
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 contacts, one run per case")
    parser.add_argument("--records", type=int, help="contacts to seed (default 5,000)")
    args = parser.parse_args(argv)
    runs = "1 run each" if args.quick else "median of 3, alternating"
    print(f"Export: export_resource vs requests loop + DataFrame.to_excel ({runs})")
    metrics = run(quick=args.quick, records=args.records)
    for m in metrics:
        print(f"  {m['metric']:<40} {m['value']!s:>9}  baseline {m['baseline']!s:>9}  "
              f"ratio {m['ratio']!s:>6}  goal {m['goal']}")
    ratio = metrics[0]["ratio"]
    verdict = "OK" if ratio <= GOAL_RATIO else "OVER GOAL"
    print(f"time ratio {ratio} (goal ≤ {GOAL_RATIO}): {verdict}; process peak RSS "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
