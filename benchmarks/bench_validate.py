"""Validate benchmark: read + map + validate 1M leads vs ``pandas.read_csv(FILE, dtype=str)``.

Validating 1M rows, 5 % of them dirty (bad e-mails, unknown option labels, impossible dates
such as 31/02/2024, negative budgets, non-integer scores, ...), must take at most 2× the time of
``pd.read_csv(FILE, dtype=str)`` measured in the same run, peak RSS at most 1.5 GB, and dirty
data at most 25 % slower than clean data. This benchmark times the library in-process;
``bench_commands.py`` times the commands users run, as subprocesses.

Data: a seeded 1M-row, 17-column leads CSV like the sample leads, in a clean and a 5 %-dirty
variant, cached under ``bench-data/``. The pipeline is the real one: ``open_table`` →
``build_validator`` (offline fields from the ``type:``/``options:`` declared in the mapping below) →
``validate_frame`` on every chunk of ``CHUNK_ROWS`` rows (the readers' default of 50k is timed
once too, for information). Times are medians of 3 runs in this process (1 with
``--quick``, which uses 100k rows); peak RSS is measured for each variant in a fresh subprocess.

Run: ``python benchmarks/bench_validate.py [--quick]``; ``run(quick)`` returns metric rows
``{metric, value, baseline, ratio, goal}``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from memory import peak_rss_mb  # noqa: E402  (benchmarks/ is on sys.path)

DATA_DIR = REPO / "bench-data"
SEED = 20240611
DIRTY_SHARE = 0.05
GOAL_RATIO = 2.0
GOAL_DIRTY = 1.25
GOAL_RSS_MB = 1536.0
# pandera's cost per failing check is fixed per chunk (≈ 10 ms), so validation wants big chunks:
# 200k rows keep it small (≈ 10 chunks per 1M) and stay far below the RSS goal. The
# readers' default (50k) is also reported.
CHUNK_ROWS = 200_000

TIERS = ["Bronze", "Silver", "Gold", "Platinum"]
INTERESTS = ["Analytics", "Automation", "Integrations", "Reporting", "Support"]
MAPPING: dict[str, Any] = {
    "version": 1,
    "resource": "contacts",
    "match": {"on": ["email"]},
    "columns": {
        "First Name": "first_name",
        "Last Name": "last_name",
        "E-mail": {"field": "email", "transform": ["strip", "lower"]},
        "Mobile": {"field": "phones", "phone_type": "mobile"},
        "Company": {"field": "companies", "lookup": {"resource": "companies", "by": "name"}},
        "Owner": {"field": "user_id", "lookup": {"resource": "users", "by": "email"}},
        "Lead Source": {"field": "source_id", "lookup": {"resource": "sources", "by": "name"}},
        "Tier": {"field": "cf_customer_tier", "type": "Select", "options": TIERS},
        "Interests": {"field": "cf_interests", "type": "MultiSelect", "split": ";",
                      "options": INTERESTS},
        "Signed Up": {"field": "cf_signup_date", "type": "Date", "format": "%d/%m/%Y"},
        "Newsletter": {"field": "cf_newsletter", "type": "Boolean",
                       "true_values": ["yes", "y", "x"], "false_values": ["no", "n"]},
        "Country": {"field": "country_id", "lookup": {"resource": "countries", "by": "name"}},
        "Budget": {"field": "cf_budget", "type": "Numeric"},
        "Lead Score": {"field": "cf_lead_score", "type": "Number"},
        "External ID": {"field": "cf_external_id", "type": "Text"},
        "Notes": {"field": "cf_bio", "type": "Textarea"},
        "Timezone": {"field": "cf_home_timezone", "type": "Timezone"},
    },
    "defaults": {"tags": ["imported"]},
}
HEADERS = list(MAPPING["columns"])


# -- data ----------------------------------------------------------------------------------


def data_path(rows: int, dirty: bool) -> Path:
    """The cached CSV (generated on first use)."""
    path = DATA_DIR / f"leads_validate_{rows // 1000}k_{'dirty' if dirty else 'clean'}_v2.csv"
    if not path.exists():
        _generate(path, rows, dirty)
    return path


def _generate(path: Path, rows: int, dirty: bool) -> None:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(SEED)
    frame = pd.DataFrame({name: _column(rng, name, rows) for name in HEADERS})
    if dirty:
        _make_dirty(frame, np.random.default_rng(SEED + 1))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    frame.to_csv(tmp, index=False)
    tmp.replace(path)


def _pick(rng: Any, options: list[str], rows: int, blank: float = 0.0) -> Any:
    import numpy as np

    values = np.asarray(options, dtype=object)[rng.integers(0, len(options), rows)]
    if blank:
        values[rng.random(rows) < blank] = None
    return values


def _column(rng: Any, name: str, rows: int) -> Any:
    import numpy as np
    import pandas as pd

    n = np.arange(rows)
    firsts = ["José", "Zoë", "Ada", "Grace", "Lars", "Ørsted", "Mia", "Noah", "Łukasz", "Amélie"]
    lasts = ["Müller", "O'Brien", "Smith", "García", "Nakamura", "Dubois", "Kowalski", "Rossi"]
    if name == "First Name":
        return _pick(rng, firsts, rows)
    if name == "Last Name":
        return _pick(rng, lasts, rows, 0.05)
    if name == "E-mail":
        hosts = _pick(rng, ["example.com", "Mail.Example.org", "corp.example.net"], rows)
        return pd.Series(n).map("lead{:07d}@".format).to_numpy(object) + hosts
    if name == "Mobile":
        digits = rng.integers(0, 10**6, rows)
        numbers = pd.Series(digits).map("+44 7700 {:06d}".format).to_numpy(object)
        numbers[rng.random(rows) < 0.3] = "07700 900123"
        numbers[rng.random(rows) < 0.1] = None
        return numbers
    if name == "Company":
        return _pick(rng, ["Acme, Inc.", "Globex", "Initech", "Umbrella Corp", "Hooli"], rows, 0.1)
    if name == "Owner":
        return _pick(rng, ["admin@example.com", "sam@example.com", "alex@example.com"], rows)
    if name == "Lead Source":
        return _pick(rng, ["Organic search", "Paid search", "Referrals", "Web Form"], rows, 0.1)
    if name == "Tier":
        return _pick(rng, [*TIERS, "gold", " Silver "], rows, 0.1)
    if name == "Interests":
        combos = ["", *INTERESTS, "Analytics;Support", "Automation; Reporting",
                  "Integrations;Analytics;Support"]
        values = _pick(rng, combos, rows)
        values[values == ""] = None
        return values
    if name == "Signed Up":
        days = pd.Timestamp("2015-01-01") + pd.to_timedelta(rng.integers(0, 3650, rows), "D")
        return pd.Series(days).dt.strftime("%d/%m/%Y").to_numpy(object)
    if name == "Newsletter":
        return _pick(rng, ["yes", "no", "y", "n", "x", "Yes"], rows, 0.1)
    if name == "Country":
        return _pick(rng, ["United Kingdom", "Germany", "France", "United States"], rows, 0.05)
    if name == "Budget":
        amounts = rng.integers(0, 5_000_000, rows) / 100
        values = pd.Series(amounts).map("{:.2f}".format).to_numpy(object)
        grouped = rng.random(rows) < 0.2
        values[grouped] = pd.Series(amounts[grouped]).map("{:,.2f}".format).to_numpy(object)
        values[rng.random(rows) < 0.15] = None
        return values
    if name == "Lead Score":
        return pd.Series(rng.integers(0, 101, rows)).astype(str).to_numpy(object)
    if name == "External ID":
        return pd.Series(n).map("EXT-{:07d}".format).to_numpy(object)
    if name == "Notes":
        notes = ["Met at the Berlin fair, wants a demo of the reporting module next quarter.",
                 'Asked about "enterprise" pricing; follow up after the budget review.',
                 "Referred by an existing customer, interested in integrations and support.",
                 "Downloaded the whitepaper twice, no reply to the first e-mail yet, call."]
        return _pick(rng, notes, rows, 0.2)
    if name == "Timezone":
        return _pick(rng, ["Europe/London", "Europe/Berlin", "Europe/Paris",
                           "America/New_York"], rows)
    raise KeyError(name)


DIRT = {
    "E-mail": ["bob@@example.com", "no-at-sign.example.com", "two words@example.com"],
    "Tier": ["Diamond", "Gold Plus"],
    "Interests": ["Analytics;Foo", "Gaming"],
    "Signed Up": ["31/02/2024", "2024-13-45", "yesterday"],
    "Budget": ["-50.00", "1200,5", "lots"],
    "Lead Score": ["12.5", "high", "1.200,5"],
    "Newsletter": ["maybe"],
    "Timezone": ["Mars/Olympus", "GMT+25"],
    # Concord takes any phone text up to 191 characters ("12", "call me" only warn): too long.
    "Mobile": ["+44 " + "7" * 200],
}


def dirty_row_count(rows: int) -> int:
    """How many rows ``_make_dirty`` spoils (the same draw from the same seed)."""
    import numpy as np

    return int((np.random.default_rng(SEED + 1).random(rows) < DIRTY_SHARE).sum())


def _make_dirty(frame: Any, rng: Any) -> None:
    """One bad value in 5 % of the rows (a third of them in the date column)."""
    import numpy as np

    rows = len(frame)
    dirty_rows = np.flatnonzero(rng.random(rows) < DIRTY_SHARE)
    columns = list(DIRT)
    weights = np.array([3.0 if c == "Signed Up" else 1.0 for c in columns])
    chosen = rng.choice(len(columns), size=len(dirty_rows), p=weights / weights.sum())
    for col_no, column in enumerate(columns):
        targets = dirty_rows[chosen == col_no]
        bad = np.asarray(DIRT[column], dtype=object)[rng.integers(0, len(DIRT[column]), len(targets))]
        frame.loc[targets, column] = bad


# -- the measured operations ---------------------------------------------------------------


def read_csv_str(path: Path) -> int:
    import pandas as pd

    return len(pd.read_csv(path, dtype=str))


def validate_file(
    path: Path, chunk_rows: int | None = None, max_chunks: int | None = None
) -> tuple[int, int, int]:
    """The real pipeline: (rows, rejected rows, error cells).

    By default exactly what ``concord-etl validate FILE --mapping M`` runs
    (``concord_etl.validate.chunk.file.validate_file``); with ``chunk_rows``/``max_chunks`` the same
    steps by hand, to compare chunk sizes or warm up.
    """
    from concord_etl.mapping.loader import mapping_from_dict
    from concord_etl.read import open_table
    from concord_etl.validate.chunk import validate_frame
    from concord_etl.validate.schema import build_validator, fields_from_mapping

    mapping = mapping_from_dict(MAPPING)
    if chunk_rows is None and max_chunks is None:
        from concord_etl.validate.file import validate_file as validate_product

        summary = validate_product(path, mapping)
        return summary.rows, summary.rejected, summary.error_cells
    chunk_rows = chunk_rows or CHUNK_ROWS
    plan = build_validator(mapping, fields_from_mapping(mapping))
    rows = rejected = cells = 0
    for number, frame in enumerate(open_table(path, chunk_rows=chunk_rows).frames()):
        if max_chunks is not None and number >= max_chunks:
            break
        chunk = validate_frame(frame, plan)
        rows += len(frame)
        rejected += len(chunk.rejected)
        cells += len(chunk.errors)
    return rows, rejected, cells


def _timed(fn: Any, path: Path, repeat: int) -> tuple[float, Any]:
    times: list[float] = []
    result: Any = None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn(path)
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def _child(path: Path) -> None:
    """Subprocess entry: one pipeline run, JSON with time and peak RSS on stdout."""
    started = time.perf_counter()
    rows, rejected, cells = validate_file(path)
    seconds = time.perf_counter() - started
    rss = peak_rss_mb()
    print(json.dumps({"rows": rows, "rejected": rejected, "cells": cells,
                      "seconds": seconds, "rss_mb": rss}))


def _fresh_process(path: Path) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", str(path)],
        check=True, capture_output=True, text=True, cwd=REPO,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _row(metric: str, value: float, baseline: float | None, goal: float | str | None, *,
         ratio: bool = True) -> dict[str, Any]:
    """A metric row; ``ratio=False`` where value/baseline means nothing (RSS, counts)."""
    ratio_value = round(value / baseline, 3) if ratio and baseline else None
    return {"metric": metric, "value": round(value, 3),
            "baseline": None if baseline is None else round(baseline, 3),
            "ratio": ratio_value, "goal": goal}


def run(quick: bool = False) -> list[dict[str, Any]]:
    rows = 100_000 if quick else 1_000_000
    repeat = 1 if quick else 3
    clean, dirty = data_path(rows, dirty=False), data_path(rows, dirty=True)
    label = f"{rows // 1000}k"
    validate_file(clean, chunk_rows=1000, max_chunks=2)  # imports and caches, not timed
    read_s, read_rows = _timed(read_csv_str, dirty, repeat)
    dirty_s, (n_dirty, rejected, cells) = _timed(validate_file, dirty, repeat)
    clean_s, (n_clean, clean_rejected, _) = _timed(validate_file, clean, repeat)
    if not (n_dirty == n_clean == read_rows == rows) or clean_rejected:
        message = f"row counts {read_rows}/{n_dirty}/{n_clean}, clean rejected {clean_rejected}"
        raise RuntimeError(message)
    default_s = _timed(lambda p: validate_file(p, chunk_rows=50_000), dirty, 1)[0]
    rss_dirty = _fresh_process(dirty)["rss_mb"]
    rss_clean = _fresh_process(clean)["rss_mb"]
    return [
        _row(f"validate_{label}_dirty_s_vs_read_csv_str", dirty_s, read_s, GOAL_RATIO),
        _row(f"validate_{label}_clean_s_vs_read_csv_str", clean_s, read_s, GOAL_RATIO),
        _row(f"validate_{label}_dirty_vs_clean_s", dirty_s, clean_s, GOAL_DIRTY),
        _row(f"validate_{label}_dirty_s_chunk_50k_vs_read_csv_str", default_s, read_s, None),
        _row(f"validate_{label}_rejected_rows", rejected, dirty_row_count(rows), "== 1"),
        _row(f"validate_{label}_error_cells", cells, None, None),
        {"metric": f"validate_{label}_peak_rss_mb_dirty", "value": round(rss_dirty, 1),
         "baseline": None, "ratio": None, "goal": GOAL_RSS_MB},
        {"metric": f"validate_{label}_peak_rss_mb_clean", "value": round(rss_clean, 1),
         "baseline": None, "ratio": None, "goal": GOAL_RSS_MB},
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100k rows, one run per case")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:
        _child(args.child)
        return 0
    metrics = run(args.quick)
    for m in metrics:
        base = "" if m["baseline"] is None else f"  baseline {m['baseline']}"
        ratio = "" if m["ratio"] is None else f"  ratio {m['ratio']}"
        goal = "" if m["goal"] is None else f"  goal {m['goal']}"
        print(f"{m['metric']:<48} {m['value']}{base}{ratio}{goal}")
    ratio_ok = metrics[0]["ratio"] <= GOAL_RATIO
    dirty_ok = metrics[2]["ratio"] <= GOAL_DIRTY
    rss_ok = max(m["value"] for m in metrics if "peak_rss" in m["metric"]) <= GOAL_RSS_MB
    print(f"goals: ratio {'met' if ratio_ok else 'MISSED'}, dirty/clean "
          f"{'met' if dirty_ok else 'MISSED'}, peak RSS {'met' if rss_ok else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
