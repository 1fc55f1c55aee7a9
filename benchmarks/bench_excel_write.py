"""Excel write benchmark: ``WorkbookWriter.add_sheet`` vs raw xlsxwriter ``constant_memory``.

Goal (docs/performance-baselines.md §8): 100k rows within 1.3× of xlsxwriter's row writer.
Data: 100k synthetic *exported* records (seeded), 17 typed columns as the exporter produces
them — ids and counts (int), names, emails, phones, companies with commas, option labels,
joined multi-option labels, free text (some starting with ``=``/``-``), amounts (float),
dates, datetimes, booleans; 5–20 % blanks. Built once, held in memory, shared by both cases.

- baseline: ``xlsxwriter.Workbook(constant_memory=True)`` + ``ws.write_row(r, 0, row)``
  (``default_date_format`` set so dates are dates, ``strings_to_formulas`` off so ``=`` text is
  text as in ours: the same cells, minus formatting), same data, same process;
- ours: ``WorkbookWriter`` + ``add_sheet`` with typed ``ColumnDef``s, neutralisation on (it
  always is) and ``highlight`` off; it also sets widths, header format, filter and freeze.

The cases alternate, 3 runs each, median reported (``--quick``: 20k rows, 1 run each).
Peak RSS is measured per case as the process high-water mark above the RSS before the case
(``/proc/self/clear_refs`` resets the mark on Linux; elsewhere the process peak is shown).

Run: ``python benchmarks/bench_excel_write.py [--quick]``; ``run(quick)`` returns rows
``{metric, value, baseline, ratio, goal}`` (for the RSS row ``goal`` is MB above the data).
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from memory import peak_rss_mb, reset_peak, rss_mb  # noqa: E402  (benchmarks/ is on sys.path)

from concord_etl.output.columns import ColumnDef  # noqa: E402
from concord_etl.output.xlsx_writer import WorkbookWriter  # noqa: E402

SEED = 20240611
GOAL_RATIO = 1.3
GOAL_RSS_MB = 100.0

COLUMNS = [
    ColumnDef("Id", "integer"),
    ColumnDef("First Name"),
    ColumnDef("Last Name"),
    ColumnDef("E-mail"),
    ColumnDef("Phone"),
    ColumnDef("Company"),
    ColumnDef("Owner"),
    ColumnDef("Source"),
    ColumnDef("Tier"),
    ColumnDef("Interests"),
    ColumnDef("Lead Score", "integer"),
    ColumnDef("Budget", "number", num_format="#,##0.00"),
    ColumnDef("Signed Up", "date"),
    ColumnDef("Last Seen", "datetime"),
    ColumnDef("Created At", "datetime"),
    ColumnDef("Newsletter", "bool"),
    ColumnDef("Notes"),
]
_FIRST = ["José", "Zoë", "Ada", "Grace", "Lars", "Ørsted", "Mia", "Noah", "Łukasz", "Amélie"]
_LAST = ["Müller", "O'Brien", "Smith", "García", "Nakamura", "Dubois", "Kowalski", "Rossi"]
_COMPANIES = ["Acme, Inc.", "Globex", "Initech", "Umbrella Corp", "Stark Industries", "Hooli"]
_OWNERS = ["Admin User", "Sam Seller", "Alex Manager", "Chris Lee"]
_SOURCES = ["Organic search", "Paid search", "Referrals", "Web Form", "Social media"]
_TIERS = ["Bronze", "Silver", "Gold", "Platinum"]
_INTERESTS = ["Analytics", "Automation", "Integrations", "Reporting", "Support"]
_NOTES = ["Met at the fair; follow up", "=HYPERLINK(\"http://x\")", "- call back Monday",
          "Asked for a quote, \"urgent\"", "Prefers e-mail"]


def make_rows(n: int, seed: int = SEED) -> list[list[Any]]:
    """``n`` exported-looking records as row lists in ``COLUMNS`` order."""
    rng = random.Random(seed)
    base = dt.datetime(2020, 1, 1)

    def maybe(value: Any, blank: float) -> Any:
        return None if rng.random() < blank else value

    rows: list[list[Any]] = []
    for i in range(1, n + 1):
        first = rng.choice(_FIRST)
        interests = ", ".join(rng.sample(_INTERESTS, rng.randint(0, 3))) or None
        rows.append([
            i, first, maybe(rng.choice(_LAST), 0.05), f"{first.lower()}.{i}@example.com",
            maybe(f"+44 20 {rng.randint(1000, 9999)} {rng.randint(1000, 9999)}", 0.1),
            maybe(rng.choice(_COMPANIES), 0.1), rng.choice(_OWNERS),
            maybe(rng.choice(_SOURCES), 0.05), maybe(rng.choice(_TIERS), 0.2), interests,
            rng.randint(0, 100), maybe(round(rng.uniform(100, 5_000_000), 2), 0.15),
            maybe((base + dt.timedelta(days=rng.randint(0, 1500))).date(), 0.05),
            maybe(base + dt.timedelta(seconds=rng.randint(0, 120_000_000)), 0.2),
            base + dt.timedelta(seconds=rng.randint(0, 120_000_000)),
            rng.random() < 0.3, maybe(rng.choice(_NOTES), 0.2),
        ])
    return rows


def write_baseline(rows: list[list[Any]], path: Path) -> None:
    import xlsxwriter

    book = xlsxwriter.Workbook(
        str(path),
        {"constant_memory": True, "default_date_format": "yyyy-mm-dd",
         "strings_to_formulas": False},  # same cells as ours: "=..." text stays text
    )
    sheet = book.add_worksheet("Contacts")
    sheet.write_row(0, 0, [c.name for c in COLUMNS])
    for r, row in enumerate(rows, start=1):
        sheet.write_row(r, 0, row)
    book.close()


def write_ours(rows: list[list[Any]], path: Path) -> None:
    with WorkbookWriter(path) as book:
        book.add_sheet("Contacts", COLUMNS, rows)


def _timed(func: Callable[[list[list[Any]], Path], None], rows: list[list[Any]],
           path: Path) -> tuple[float, float]:
    """(seconds, peak RSS MB above the RSS before the call)."""
    before = rss_mb()
    reset_peak()
    start = time.perf_counter()
    func(rows, path)
    seconds = time.perf_counter() - start
    return seconds, max(peak_rss_mb() - before, 0.0)


def run(quick: bool = False) -> list[dict[str, Any]]:
    """Time both writers (alternating; median of 3, or 1 run on 20k rows when quick)."""
    n = 20_000 if quick else 100_000
    repeat = 1 if quick else 3
    rows = make_rows(n)
    times: dict[str, list[float]] = {"baseline": [], "ours": []}
    rss: dict[str, list[float]] = {"baseline": [], "ours": []}
    with tempfile.TemporaryDirectory(prefix="bench-xlsx-") as tmp:
        for i in range(repeat):
            for name, func in (("baseline", write_baseline), ("ours", write_ours)):
                seconds, peak = _timed(func, rows, Path(tmp) / f"{name}-{i}.xlsx")
                times[name].append(seconds)
                rss[name].append(peak)
    ours, base = statistics.median(times["ours"]), statistics.median(times["baseline"])
    rss_ours, rss_base = max(rss["ours"]), max(rss["baseline"])
    label = f"{n // 1000}k"
    return [
        {"metric": f"excel_write_{label}_s", "value": round(ours, 3),
         "baseline": round(base, 3), "ratio": round(ours / base, 3), "goal": GOAL_RATIO},
        {"metric": f"excel_write_{label}_rows_per_s", "value": round(n / ours),
         "baseline": round(n / base), "ratio": round(base / ours, 3), "goal": None},
        {"metric": f"excel_write_{label}_peak_rss_above_data_mb", "value": round(rss_ours, 1),
         "baseline": round(rss_base, 1),
         "ratio": round(rss_ours / rss_base, 3) if rss_base else None, "goal": GOAL_RSS_MB},
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20k rows, one run per case")
    args = parser.parse_args(argv)
    runs = "1 run each" if args.quick else "median of 3, alternating"
    print(f"Excel write: WorkbookWriter.add_sheet vs xlsxwriter constant_memory write_row ({runs})")
    metrics = run(quick=args.quick)
    for m in metrics:
        print(f"  {m['metric']:<45} {m['value']!s:>10}  baseline {m['baseline']!s:>10}  "
              f"ratio {m['ratio']!s:>6}  goal {m['goal']}")
    time_row = metrics[0]
    verdict = "OK" if time_row["ratio"] <= GOAL_RATIO else "OVER GOAL"
    print(f"time ratio {time_row['ratio']} (goal ≤ {GOAL_RATIO}): {verdict}; "
          f"process peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
