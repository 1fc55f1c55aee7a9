"""Excel read benchmark: ``open_table`` + all ``frames()`` vs python-calamine's own read.

Goal (docs/performance-baselines.md §8): 100k XLSX rows within 1.5× of calamine's read.
Data: a seeded 100k-row, 17-column typed workbook (text, phones as text, ints, floats,
dates, datetimes, booleans; 5–20 % blanks), cached under ``bench-data/``. Each case runs 3
times in this one process; the median is reported. ``pd.read_excel(engine="openpyxl")``,
what a user gets by default, is timed on a 10k-row file and scaled ×10 (said in the output).

Run: ``python benchmarks/bench_excel_read.py [--quick]``; ``run(quick)`` returns metric rows.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import resource
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

DATA_DIR = REPO / "bench-data"
SEED = 20240611
GOAL_RATIO = 1.5
HEADERS = [
    "first_name", "last_name", "email", "phone", "mobile", "company", "job_title", "city",
    "country", "lead_source", "lead_score", "annual_revenue", "is_customer", "signup_date",
    "last_contacted", "timezone", "notes",
]
_FIRST = ["José", "Zoë", "Ada", "Grace", "Lars", "Ørsted", "Mia", "Noah", "Łukasz", "Amélie"]
_LAST = ["Müller", "O'Brien", "Smith", "García", "Nakamura", "Dubois", "Kowalski", "Rossi"]
_COMPANIES = ["Acme, Inc.", "Globex", "Initech", "Umbrella Corp", "Stark Industries", "Hooli"]
_CITIES = [("London", "GB", "Europe/London"), ("Berlin", "DE", "Europe/Berlin"),
           ("Paris", "FR", "Europe/Paris"), ("New York", "US", "America/New_York"),
           ("Tokyo", "JP", "Asia/Tokyo")]
_SOURCES = ["Organic search", "Paid search", "Referrals", "Web Form", "Social media"]


def workbook_path(rows: int) -> Path:
    """The cached benchmark workbook with ``rows`` data rows (generated on first use)."""
    path = DATA_DIR / f"leads_{rows // 1000}k.xlsx"
    if not path.exists():
        _generate(path, rows)
    return path


def _generate(path: Path, rows: int) -> None:
    import xlsxwriter

    rng = random.Random(SEED)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.xlsx")
    book = xlsxwriter.Workbook(str(tmp), {"constant_memory": True})
    date_fmt = book.add_format({"num_format": "yyyy-mm-dd"})
    stamp_fmt = book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
    sheet = book.add_worksheet("Leads")
    sheet.write_row(0, 0, HEADERS)
    base = dt.datetime(2020, 1, 1)
    for r in range(1, rows + 1):
        values = _row_values(rng, r, base)
        for c, value in enumerate(values):
            if value is None:
                continue
            if isinstance(value, dt.datetime):
                sheet.write_datetime(r, c, value, stamp_fmt)
            elif isinstance(value, dt.date):
                sheet.write_datetime(r, c, dt.datetime.combine(value, dt.time()), date_fmt)
            elif isinstance(value, str):
                sheet.write_string(r, c, value)
            else:
                sheet.write(r, c, value)
    book.close()
    tmp.replace(path)


def _row_values(rng: random.Random, r: int, base: dt.datetime) -> list[Any]:
    first, last = rng.choice(_FIRST), rng.choice(_LAST)
    city, country, tz = rng.choice(_CITIES)

    def maybe(value: Any, blank: float) -> Any:
        return None if rng.random() < blank else value

    return [
        first, maybe(last, 0.05), f"{first.lower()}.{r}@example.com",
        maybe(f"0{rng.randint(100000000, 999999999)}", 0.1),
        maybe(f"+44 7{rng.randint(100000000, 999999999)}", 0.2),
        maybe(rng.choice(_COMPANIES), 0.1), maybe("Head of Data", 0.2), city, country,
        maybe(rng.choice(_SOURCES), 0.05), rng.randint(0, 100),
        maybe(round(rng.uniform(1000, 5_000_000), 2), 0.15), rng.random() < 0.3,
        maybe((base + dt.timedelta(days=rng.randint(0, 1500))).date(), 0.05),
        maybe(base + dt.timedelta(seconds=rng.randint(0, 120_000_000)), 0.2), tz,
        maybe(f'Met at the "{rng.choice(_CITIES)[0]}" fair; follow up #{r}', 0.2),
    ]


def _calamine_raw(path: Path) -> int:
    import python_calamine

    book = python_calamine.CalamineWorkbook.from_path(str(path))
    rows = book.get_sheet_by_index(0).to_python()
    return len(rows) - 1


def _open_table(path: Path) -> int:
    from concord_etl.read import open_table

    table = open_table(path)
    return sum(len(frame) for frame in table.frames())


def _openpyxl_pandas(path: Path) -> int:
    import pandas as pd

    return len(pd.read_excel(path, engine="openpyxl"))


def _median_time(func: Callable[[Path], int], path: Path, repeat: int) -> tuple[float, int]:
    times: list[float] = []
    rows = 0
    for _ in range(repeat):
        start = time.perf_counter()
        rows = func(path)
        times.append(time.perf_counter() - start)
    return statistics.median(times), rows


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(quick: bool = False) -> list[dict[str, Any]]:
    """Time both readers (median of 3); quick mode uses 20k rows and skips openpyxl."""
    rows = 20_000 if quick else 100_000
    path = workbook_path(rows)
    ours, n_ours = _median_time(_open_table, path, 3)
    rss_ours = _peak_rss_mb()
    raw, n_raw = _median_time(_calamine_raw, path, 3)
    rss_all = _peak_rss_mb()
    if n_ours != n_raw:
        raise RuntimeError(f"row counts differ: open_table {n_ours}, calamine {n_raw}")
    label = f"{rows // 1000}k"
    metrics: list[dict[str, Any]] = [
        {"metric": f"excel_read_{label}_open_table_s", "value": round(ours, 3),
         "baseline": round(raw, 3), "ratio": round(ours / raw, 3), "goal": f"<= {GOAL_RATIO}"},
        {"metric": f"excel_read_{label}_rows", "value": n_ours, "baseline": n_raw,
         "ratio": 1.0, "goal": "== 1"},
        {"metric": "excel_read_peak_rss_mb_after_open_table", "value": round(rss_ours, 1),
         "baseline": None, "ratio": None, "goal": "<= 450"},
        {"metric": "excel_read_peak_rss_mb_after_calamine", "value": round(rss_all, 1),
         "baseline": None, "ratio": None, "goal": None},
    ]
    if not quick:
        small = workbook_path(10_000)
        naive, _ = _median_time(_openpyxl_pandas, small, 3)
        scaled = naive * rows / 10_000
        metrics.append(
            {"metric": f"excel_read_{label}_pandas_openpyxl_s_scaled_from_10k",
             "value": round(scaled, 3), "baseline": round(ours, 3),
             "ratio": round(scaled / ours, 2), "goal": "informational (naive baseline)"}
        )
    return metrics


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20k rows, no openpyxl baseline")
    args = parser.parse_args(argv)
    metrics = run(args.quick)
    for m in metrics:
        ratio = "" if m["ratio"] is None else f"  ratio {m['ratio']}"
        base = "" if m["baseline"] is None else f"  baseline {m['baseline']}"
        goal = "" if m["goal"] is None else f"  goal {m['goal']}"
        print(f"{m['metric']:<58} {m['value']}{base}{ratio}{goal}")
    first = metrics[0]
    verdict = "PASS" if first["ratio"] <= GOAL_RATIO else "FAIL"
    print(f"open_table vs calamine: {first['ratio']}x ({verdict}, goal <= {GOAL_RATIO}x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
