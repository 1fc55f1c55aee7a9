"""Run every benchmark in one process and print one table (``make bench``).

Each ``bench_*.py`` module in this folder has ``run(quick: bool) -> list[dict]`` returning rows
``{metric, value, baseline, ratio, goal}``; the baseline is measured in the same run, on the same
machine, so ratios are comparable between machines (docs/performance-baselines.md).
A benchmark module that does not exist yet is skipped with a note; one that fails is reported
and the others still run. The table is also written as JSON (default ``bench-results.json``).

    python benchmarks/run_all.py [--quick] [--only NAME ...] [--output PATH]
"""

from __future__ import annotations

import argparse
import gc
import importlib
import json
import math
import platform
import sys
import time
import traceback
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
for entry in (str(REPO), str(HERE)):
    if entry not in sys.path:
        sys.path.insert(0, entry)

from memory import reset_peak  # noqa: E402  (benchmarks/ is on sys.path)

# Run order matters for memory: bench_excel_read reports the process's peak RSS, so it runs
# before the benchmarks that hold large frames in this process.
BENCHMARKS = (
    "bench_excel_read",
    "bench_excel_write",
    "bench_validate",
    "bench_export",
    "bench_report_template",
    "bench_import_pacing",
    "bench_sandbox",
)
COLUMNS = ("metric", "value", "baseline", "ratio", "goal")
DEFAULT_OUTPUT = REPO / "bench-results.json"


@dataclass
class BenchOutcome:
    """What one benchmark module produced: metric rows, or why there are none."""

    name: str
    status: str = "ok"                 # ok | missing | failed
    seconds: float = 0.0
    rows: list[dict[str, Any]] = field(default_factory=list)
    note: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "status": self.status, "seconds": round(self.seconds, 1),
                "note": self.note, "metrics": self.rows}


def _load(name: str) -> Any:
    """The benchmark module, or None when it does not exist (yet)."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name == name:
            return None
        raise


def run_one(name: str, quick: bool) -> BenchOutcome:
    """Import and run one benchmark module; never raises for the benchmark's own failures."""
    outcome = BenchOutcome(name)
    started = time.perf_counter()
    try:
        module = _load(name)
        if module is None:
            outcome.status, outcome.note = "missing", f"benchmarks/{name}.py not found; skipped"
            return outcome
        gc.collect()
        reset_peak()
        rows = module.run(quick)
        outcome.rows = [normalise_row(row, name) for row in rows]
    except Exception as exc:
        outcome.status = "failed"
        outcome.note = f"{type(exc).__name__}: {exc}"
        traceback.print_exc(file=sys.stderr)
    finally:
        outcome.seconds = time.perf_counter() - started
    return outcome


def normalise_row(row: dict[str, Any], bench: str) -> dict[str, Any]:
    """One metric row with exactly the table's keys (missing ones None) plus its benchmark."""
    missing = [key for key in ("metric", "value") if key not in row]
    if missing:
        message = f"{bench}: a metric row lacks {', '.join(missing)}: {row!r}"
        raise ValueError(message)
    out = {key: _plain(row.get(key)) for key in COLUMNS}
    out["benchmark"] = bench
    return out


def _plain(value: Any) -> Any:
    """JSON-friendly scalars (numpy numbers → Python numbers, NaN → None)."""
    item = getattr(value, "item", None)
    if callable(item) and not isinstance(value, (str, bytes)):
        value = item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def format_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:,.3f}".rstrip("0").rstrip(".") if abs(value) < 1e6 else f"{value:,.0f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value).replace("|", "/")


def format_goal(goal: Any) -> str:
    """A bare number as a goal is an upper bound (``1.3`` → ``<= 1.3``); text stays as given."""
    if isinstance(goal, (int, float)) and not isinstance(goal, bool):
        return f"<= {format_cell(goal)}"
    return format_cell(goal)


def render_table(outcomes: list[BenchOutcome]) -> str:
    """One Markdown table of every metric, then one line per skipped or failed benchmark."""
    rows = [
        [*(format_cell(row[key]) for key in COLUMNS[:-1]), format_goal(row["goal"])]
        for o in outcomes
        for row in o.rows
    ]
    widths = [max([len(c), *(len(r[i]) for r in rows)]) for i, c in enumerate(COLUMNS)]

    def line(cells: list[str]) -> str:
        padded = [
            cell.ljust(width) if i == 0 or i == len(COLUMNS) - 1 else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ]
        return "| " + " | ".join(padded) + " |"

    out = [line(list(COLUMNS)), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [line(r) for r in rows]
    for o in outcomes:
        if o.status != "ok":
            out.append(f"note: {o.name} {o.status}: {o.note}")
    return "\n".join(out)


def write_json(path: Path, outcomes: list[BenchOutcome], *, quick: bool) -> None:
    """The table as JSON (written atomically): run facts, rows, per-benchmark status."""
    data = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "quick": quick,
        "python": platform.python_version(),
        "machine": f"{platform.system()} {platform.machine()}",
        "columns": list(COLUMNS),
        "rows": [row for o in outcomes for row in o.rows],
        "benchmarks": [o.as_dict() for o in outcomes],
    }
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n",
                   encoding="utf-8")
    tmp.replace(path)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="smaller data and fewer repeats (minutes instead of tens of minutes)")
    parser.add_argument("--only", nargs="+", metavar="NAME", choices=BENCHMARKS,
                        help="run only these benchmarks")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT,
                        help=f"JSON file to write (default {DEFAULT_OUTPUT.name} in the repo)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    names = [n for n in BENCHMARKS if not args.only or n in args.only]
    outcomes: list[BenchOutcome] = []
    for name in names:
        print(f"running {name}{' (quick)' if args.quick else ''} ...", file=sys.stderr, flush=True)
        outcome = run_one(name, args.quick)
        print(f"  {name}: {outcome.status} in {outcome.seconds:.0f} s", file=sys.stderr, flush=True)
        outcomes.append(outcome)
    print(render_table(outcomes))
    write_json(args.output, outcomes, quick=args.quick)
    print(f"\nwritten to {args.output}")
    return 1 if any(o.status == "failed" for o in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
