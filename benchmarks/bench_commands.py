"""The commands users run, timed as subprocesses: ``validate --online`` and ``import --dry-run``.

Against a sandbox subprocess (demo seed plus 5,000 contacts whose e-mails are also in the file,
no rate limit), on a seeded 1M-row leads CSV with 5 % dirty rows — bad e-mails, unknown option
labels, impossible dates (``31/02/2024``), unknown time zones, non-integer scores, empty required
first names — in a 9-column and a 17-column variant:

- baseline: ``pandas.read_csv(FILE, dtype=str)``, timed inside a fresh process (the operation
  alone, without the interpreter start or the pandas import: the strict comparison);
- ``concord-etl validate FILE --mapping M --online --results R --json``: wall time of the whole
  subprocess (start, imports, reading, validation, lookups, writing every bad row with its
  reasons), rows/s, the child's own peak RSS (``VmHWM``, written by the child as it exits: not
  ``wait4``, which on Linux would include this process's peak at fork), and whether every dirty
  row was reported;
- ``concord-etl import FILE --mapping M --dry-run --json`` (upsert on e-mail): the same, plus the
  number of requests it made (goal: ≤ 60 against 5,000 contacts).

Medians of 3 runs (``--quick``: 100k rows, one run). Goals: validate ≤ 2.0× the baseline, peak
RSS ≤ 1.5 GB, every bad row reported; dry run ≤ 60 requests.

    python benchmarks/bench_commands.py [--quick] [--only 9|17]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench_sandbox import serving  # benchmarks/ is on sys.path
from bench_validate import _pick, _row
from memory import peak_program

REPO = Path(__file__).resolve().parent.parent
DATA_DIR = REPO / "bench-data"
TOKEN = "bench-token"
SEED = 20261206
DIRTY_SHARE = 0.05
EXISTING = 5_000                       # contacts in the CRM, all also in the file
GOAL_RATIO = 2.0
GOAL_RSS_MB = 1536.0
GOAL_REQUESTS = 60

TIERS = ["Bronze", "Silver", "Gold", "Platinum"]
OWNERS = ["admin@example.com", "sam@example.com", "alex@example.com"]
COLUMNS_17: dict[str, Any] = {
    "First Name": "first_name",
    "Last Name": "last_name",
    "E-mail": {"field": "email", "transform": ["strip", "lower"]},
    "Mobile": {"field": "phones", "phone_type": "mobile"},
    "Company": {"field": "companies", "lookup": {"resource": "companies", "by": "name"}},
    "Owner": {"field": "user_id", "lookup": {"resource": "users", "by": "email"}},
    "Lead Source": {"field": "source_id", "lookup": {"resource": "sources", "by": "name"}},
    "Tier": "cf_customer_tier",
    "Interests": {"field": "cf_interests", "split": ";"},
    "Signed Up": {"field": "cf_signup_date", "format": "%d/%m/%Y"},
    "Newsletter": {"field": "cf_newsletter", "true_values": ["yes", "y", "x"],
                   "false_values": ["no", "n"]},
    "Country": {"field": "country_id", "lookup": {"resource": "countries", "by": "name"}},
    "Budget": "cf_budget",
    "Lead Score": "cf_lead_score",
    "External ID": "cf_external_id",
    "Notes": "cf_bio",
    "Timezone": "cf_home_timezone",
}
NINE = ("First Name", "Last Name", "E-mail", "Mobile", "Owner", "Tier", "Signed Up",
        "Lead Score", "Timezone")
DIRT = {                                # the dirty value kinds and the column each goes to
    "E-mail": ["bob@@example.com", "no-at-sign.example.com", "two words@example.com"],
    "Tier": ["Diamond", "Gold Plus"],
    "Signed Up": ["31/02/2024", "30/02/2023", "2024-13-45"],
    "Timezone": ["Mars/Olympus", "GMT+25"],
    "Lead Score": ["12.5", "high", "1,200"],
    "First Name": [""],
}


def columns(width: int) -> dict[str, Any]:
    if width == 17:
        return dict(COLUMNS_17)
    return {name: COLUMNS_17[name] for name in NINE}


# -- data ------------------------------------------------------------------------------------


def data_path(rows: int, width: int) -> Path:
    path = DATA_DIR / f"commands_{width}col_{rows // 1000}k.csv"
    if not path.exists():
        _generate(path, rows, width)
    return path


def email(n: Any) -> Any:
    return "lead" + n.astype(str).str.zfill(7) + "@bench.example"


def _generate(path: Path, rows: int, width: int) -> None:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(SEED)
    n = pd.Series(np.arange(rows))

    def pick(options: list[str], blank: float = 0.0) -> Any:
        return _pick(rng, options, rows, blank)

    days = pd.Timestamp("2015-01-01") + pd.to_timedelta(rng.integers(0, 3650, rows), "D")
    data = {
        "First Name": pick(["José", "Zoë", "Ada", "Grace", "Lars", "Ørsted", "Mia", "Noah"]),
        "Last Name": pick(["Müller", "O'Brien", "Smith", "García", "Nakamura", "Dubois"], 0.05),
        "E-mail": email(n).to_numpy(object),
        "Mobile": ("+44 7" + n.astype(str).str.zfill(9)).to_numpy(object),
        "Company": pick(["Acme Ltd", "Globex Corporation", "Initech", "Northwind Traders"], 0.1),
        "Owner": pick(OWNERS),
        "Lead Source": pick(["Organic search", "Paid search", "Referrals", "Web Form"], 0.1),
        "Tier": pick([*TIERS, "gold", " Silver "], 0.1),
        "Interests": pick(["Analytics;Support", "Automation; Reporting", "Integrations"], 0.2),
        "Signed Up": pd.Series(days).dt.strftime("%d/%m/%Y").to_numpy(object),
        "Newsletter": pick(["yes", "no", "y", "n", "x", "Yes"], 0.1),
        "Country": pick(["United Kingdom", "Germany", "France", "United States"], 0.05),
        "Budget": pd.Series(rng.integers(0, 5_000_000, rows) / 100).map("{:.2f}".format)
        .to_numpy(object),
        "Lead Score": pd.Series(rng.integers(0, 101, rows)).astype(str).to_numpy(object),
        "External ID": ("EXT-" + n.astype(str).str.zfill(7)).to_numpy(object),
        "Notes": pick(["Met at the Berlin fair, wants a demo of the reporting module.",
                       'Asked about "enterprise" pricing; follow up after the review.',
                       "Referred by a customer, interested in integrations and support."], 0.2),
        "Timezone": pick(["Europe/London", "Europe/Berlin", "Europe/Paris", "America/New_York"]),
    }
    frame = pd.DataFrame({name: data[name] for name in columns(width)})
    dirty = np.flatnonzero(rng.random(rows) < DIRTY_SHARE)
    kinds = list(DIRT)
    chosen = rng.integers(0, len(kinds), len(dirty))
    for k, column in enumerate(kinds):
        targets = dirty[chosen == k]
        values = np.asarray(DIRT[column], dtype=object)[rng.integers(0, len(DIRT[column]),
                                                                     len(targets))]
        frame.loc[targets, column] = values
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    frame.to_csv(tmp, index=False)
    tmp.replace(path)
    (path.with_suffix(".dirty.json")).write_text(json.dumps(sorted(int(r) + 2 for r in dirty)))


def dirty_rows(path: Path) -> set[int]:
    return set(json.loads(path.with_suffix(".dirty.json").read_text()))


def mapping_path(width: int) -> Path:
    import yaml

    path = DATA_DIR / f"commands_{width}col.yaml"
    body = {"version": 1, "resource": "contacts", "match": {"on": ["email"]},
            "columns": columns(width)}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(body, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def seed_path() -> Path:
    """The demo seed plus ``EXISTING`` contacts that the files also name (by e-mail)."""
    from concord_etl.sandbox.seeds import load

    path = DATA_DIR / f"commands_seed_{EXISTING}.json"
    if not path.exists():
        seed = load("demo")
        seed["records"]["contacts"] = [
            {"first_name": f"Known{i}", "last_name": "Lead", "email": f"lead{i:07d}@bench.example",
             "cf_customer_tier": TIERS[i % 4]}
            for i in range(EXISTING)
        ]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(seed), encoding="utf-8")
    return path


# -- processes ---------------------------------------------------------------------------------


@contextmanager
def sandbox() -> Any:
    """A sandbox subprocess without a rate limit; yields its URL."""
    with tempfile.TemporaryDirectory(prefix="bench-commands-") as state, serving(
            ["-m", "concord_etl.sandbox", "--port", "0", "--quiet", "--rate-limit", "100000000",
             "--token", TOKEN, "--seed", str(seed_path()), "--state", state]) as (host, port):
        yield f"http://{host}:{port}"


def run_child(body: str, args: list[str], env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run ``python -c body ARGS``; its wall time, own peak RSS (MB), exit code and stdout."""
    with tempfile.TemporaryDirectory(prefix="bench-commands-") as tmp:
        peak_file = Path(tmp) / "peak.txt"
        out_file = Path(tmp) / "stdout.txt"
        with out_file.open("w+") as out:
            started = time.perf_counter()
            code = subprocess.call(
                [sys.executable, "-c", peak_program(body), str(peak_file), *args], cwd=REPO,
                stdout=out, stderr=subprocess.DEVNULL, env={**os.environ, **(env or {})})
            wall = time.perf_counter() - started
            out.seek(0)
            stdout = out.read()
        if not peak_file.exists():
            message = f"the child (exit {code}) did not report its peak RSS"
            raise RuntimeError(message)
        rss = float(peak_file.read_text(encoding="utf-8"))
    return {"seconds": wall, "rss_mb": rss, "code": code, "stdout": stdout}


READ_CSV = (
    "import sys, time\nimport pandas as pd\nt = time.perf_counter()\n"
    "frame = pd.read_csv(sys.argv[1], dtype=str)\n"
    "print(time.perf_counter() - t, len(frame))\n"
)


def baseline(path: Path) -> dict[str, Any]:
    child = run_child(READ_CSV, [str(path)])
    seconds, _rows = child["stdout"].split()
    return {"seconds": float(seconds), "process_s": child["seconds"], "rss_mb": child["rss_mb"]}


# What the installed ``concord-etl`` command runs (its entry point), in this interpreter.
CLI = 'from concord_etl.cli import main\nmain(sys.argv[1:], prog_name="concord-etl")'


def cli(*args: str, env: dict[str, str]) -> dict[str, Any]:
    """Run ``concord-etl ARGS`` as a subprocess (see ``run_child``)."""
    return run_child(CLI, list(args), env)


def summary_of(child: dict[str, Any]) -> dict[str, Any]:
    lines = [line for line in child["stdout"].splitlines() if line.startswith("{")]
    if not lines:
        message = f"no JSON summary (exit {child['code']}): {child['stdout'][-500:]!r}"
        raise RuntimeError(message)
    return json.loads(lines[-1])


def reported_rows(results: Path) -> set[int]:
    import pandas as pd

    frame = pd.read_csv(results, dtype=str, usecols=["_row", "_action"], keep_default_na=False)
    return {int(r) for r, a in zip(frame["_row"], frame["_action"], strict=True)
            if a == "rejected"}


# -- the benchmark -----------------------------------------------------------------------------


def measure(width: int, rows: int, repeat: int, url: str) -> list[dict[str, Any]]:
    path = data_path(rows, width)
    mapping = mapping_path(width)
    env = {"CONCORD_URL": url, "CONCORD_TOKEN": TOKEN}
    label = f"{width}col_{rows // 1000}k"
    base: list[dict[str, Any]] = []
    checks: list[dict[str, Any]] = []
    dries: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-commands-") as tmp:
        results = Path(tmp) / "results.csv"
        for _ in range(repeat):        # alternate, so that machine noise hits all alike
            base.append(baseline(path))
            checks.append(cli("validate", str(path), "-m", str(mapping), "--online",
                              "--results", str(results), "--json", env=env))
            dries.append(cli("import", str(path), "-m", str(mapping), "--dry-run", "--json",
                             env=env))
        validated = summary_of(checks[-1])
        reported = reported_rows(results)
    dry = summary_of(dries[-1])
    expected = dirty_rows(path)
    missed = len(expected - reported)
    read_s = statistics.median(b["seconds"] for b in base)
    check_s = statistics.median(c["seconds"] for c in checks)
    dry_s = statistics.median(d["seconds"] for d in dries)
    return [
        _row(f"validate_online_{label}_s_vs_read_csv_str", check_s, read_s, GOAL_RATIO),
        _row(f"validate_online_{label}_rows_per_s", rows / check_s, rows / read_s, None),
        _row(f"validate_online_{label}_peak_rss_mb", max(c["rss_mb"] for c in checks),
             max(b["rss_mb"] for b in base), GOAL_RSS_MB, ratio=False),
        _row(f"validate_online_{label}_bad_rows_reported", len(reported & expected),
             len(expected), f"= {len(expected)} (missed {missed})", ratio=False),
        _row(f"validate_online_{label}_rejected_rows", validated["rejected"], len(expected),
             None, ratio=False),
        _row(f"read_csv_str_{label}_process_s", statistics.median(b["process_s"] for b in base),
             None, None),
        _row(f"import_dry_run_{label}_s_vs_read_csv_str", dry_s, read_s, None),
        _row(f"import_dry_run_{label}_rows_per_s", rows / dry_s, rows / read_s, None),
        _row(f"import_dry_run_{label}_peak_rss_mb", max(d["rss_mb"] for d in dries), None,
             None, ratio=False),
        _row(f"import_dry_run_{label}_requests", dry["requests"], None, GOAL_REQUESTS,
             ratio=False),
    ]


def run(quick: bool = False, widths: tuple[int, ...] = (9, 17)) -> list[dict[str, Any]]:
    rows = 100_000 if quick else 1_000_000
    repeat = 1 if quick else 3
    out: list[dict[str, Any]] = []
    with sandbox() as url:
        for width in widths:
            out.extend(measure(width, rows, repeat, url))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100k rows, one run per case")
    parser.add_argument("--only", type=int, choices=(9, 17), help="one file width")
    args = parser.parse_args(argv)
    widths = (args.only,) if args.only else (9, 17)
    for m in run(args.quick, widths):
        extra = "".join(f"  {k} {m[k]}" for k in ("baseline", "ratio", "goal")
                        if m[k] is not None)
        print(f"{m['metric']:<52} {m['value']}{extra}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
