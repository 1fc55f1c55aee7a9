"""Report benchmark: a report written into a template vs the same report without one.

One sandbox subprocess seeded with N contacts (custom fields of every kind, as in
``bench_export``), two report files that differ only in ``template:`` (the brand template of
``tests/helpers/templates.py``: cover, logo, formulas, a defined name), each run as
``concord-etl report`` in its own subprocess, as cron runs it. Cases alternate, median of 3
(``--quick``: 2,000 contacts, one run each). Peak RSS is each child's own high-water mark
(``VmHWM``, read by the child as it exits).

    python benchmarks/bench_report_template.py [--quick] [--records N]

Goal: the template report takes at most 3× the plain report's time. Most of a report's time is
the CRM's (here the sandbox's) answering, so the writers are also timed on their own, in this
process, on the same number of synthetic 33-column rows: ``TemplateWorkbookWriter`` against
``WorkbookWriter`` (informational).
``run(quick)`` returns rows ``{metric, value, baseline, ratio, goal}``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
for entry in (str(REPO), str(HERE)):
    if entry not in sys.path:
        sys.path.insert(0, entry)

from bench_export import contact  # noqa: E402  (benchmarks/ is on sys.path)
from memory import peak_program  # noqa: E402

from tests.helpers.templates import brand_template  # noqa: E402

TOKEN = "bench-token"
GOAL_RATIO = 3.0
SEED = REPO / "concord_etl" / "sandbox" / "seeds" / "demo.json"
# The child runs the CLI and, as it exits, writes its own peak RSS (MB) to argv[1].
CHILD = peak_program('from concord_etl.cli import main\nmain(sys.argv[1:], prog_name="concord-etl")')


def write_seed(path: Path, count: int) -> None:
    """The demo seed plus ``count`` contacts (applied once, when the sandbox starts)."""
    seed = json.loads(SEED.read_text(encoding="utf-8"))
    seed["records"]["contacts"] = [*seed["records"].get("contacts", []),
                                   *(contact(i) for i in range(count))]
    path.write_text(json.dumps(seed), encoding="utf-8")


def start_sandbox(folder: Path, seed: Path) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "concord_etl.sandbox", "--port", "0", "--quiet", "--token", TOKEN,
         "--seed", str(seed), "--state", str(folder / "state"), "--rate-limit", "1000000000"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    match = re.search(r"running at (http://\S+)", line)
    if not match:
        proc.kill()
        message = f"sandbox did not start: {line!r}"
        raise RuntimeError(message)
    return proc, match.group(1)


def write_reports(folder: Path) -> dict[str, Path]:
    brand_template(folder / "brand.xlsx")
    body = "version: 1\noutput: \"{out}\"\n{template}sheets:\n  - {{name: Contacts, resource: contacts}}\n"
    reports = {}
    for name, template in (("plain", ""), ("template", "template: brand.xlsx\n")):
        path = folder / f"{name}.yaml"
        path.write_text(body.format(out=folder / f"{name}.xlsx", template=template),
                        encoding="utf-8")
        reports[name] = path
    return reports


def run_report(report: Path, url: str, folder: Path) -> tuple[float, float, int]:
    """(seconds, child's peak RSS in MB, records) of one ``concord-etl report`` subprocess."""
    peak_file = folder / "peak.txt"
    env = {"CONCORD_URL": url, "CONCORD_TOKEN": TOKEN, "PATH": "/usr/bin:/bin"}
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", CHILD, str(peak_file), "report", str(report), "--json", "--full"],
        capture_output=True, text=True, cwd=folder, env=env, timeout=3600)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        message = f"report {report.name} failed ({result.returncode}): {result.stderr[-800:]}"
        raise RuntimeError(message)
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    return seconds, float(peak_file.read_text()), sum(summary["sheets"].values())


KINDS = ("integer", *["text"] * 19, "date", "datetime", "bool", "integer", "number",
         *["text"] * 6, "datetime", "datetime")


def synthetic_rows(n: int) -> Any:
    day, moment = dt.date(2024, 1, 2), dt.datetime(2024, 1, 2, 3, 4)
    for i in range(n):
        yield [i, f"First{i}", f"Last {i}", f"c{i}@x.example", "+44 20 7946 0958", None,
               "1 High Street", "London", None, "N1 9GU", "UK", "Web", "Admin", "vip, lead",
               "Acme", None, "Gold", "Analytics, Reporting", "Email", None, day, moment,
               bool(i % 2), i % 100, i * 1.25, None, None, f"B-{i:06d}", None, "UTC", None,
               moment, moment]


def time_writers(folder: Path, n: int, repeat: int) -> tuple[float, float]:
    """Median seconds of (template writer, plain writer) for ``n`` rows, alternating."""
    from concord_etl.output.columns import ColumnDef
    from concord_etl.output.xlsx_template import TemplateWorkbookWriter
    from concord_etl.output.xlsx_writer import WorkbookWriter

    columns = [ColumnDef(f"Column {i}", kind) for i, kind in enumerate(KINDS)]
    times: dict[str, list[float]] = {"template": [], "plain": []}
    for _ in range(repeat):
        for name in ("plain", "template"):
            start = time.perf_counter()
            book: Any = (TemplateWorkbookWriter(folder / "w.xlsx", folder / "brand.xlsx")
                         if name == "template" else WorkbookWriter(folder / "w.xlsx"))
            with book:
                book.add_sheet("Contacts", columns, synthetic_rows(n))
            times[name].append(time.perf_counter() - start)
    return statistics.median(times["template"]), statistics.median(times["plain"])


def run(quick: bool = False, records: int | None = None) -> list[dict[str, Any]]:
    n = records or (2_000 if quick else 50_000)
    repeat = 1 if quick else 3
    times: dict[str, list[float]] = {"plain": [], "template": []}
    peaks: dict[str, list[float]] = {"plain": [], "template": []}
    with tempfile.TemporaryDirectory(prefix="bench-report-") as tmp:
        folder = Path(tmp)
        write_seed(folder / "seed.json", n)
        sandbox, url = start_sandbox(folder, folder / "seed.json")
        try:
            reports = write_reports(folder)
            writer_template, writer_plain = time_writers(folder, n, repeat)
            for _ in range(repeat):
                for name in ("plain", "template"):
                    seconds, peak, got = run_report(reports[name], url, folder)
                    if got < n:
                        message = f"{name}: {got} records exported, expected at least {n}"
                        raise RuntimeError(message)
                    times[name].append(seconds)
                    peaks[name].append(peak)
        finally:
            sandbox.terminate()
            sandbox.wait(timeout=30)
    plain, templated = statistics.median(times["plain"]), statistics.median(times["template"])
    label = f"{n // 1000}k" if n >= 1000 else str(n)
    return [
        {"metric": f"report_{label}_contacts_template_s", "value": round(templated, 3),
         "baseline": round(plain, 3), "ratio": round(templated / plain, 3), "goal": GOAL_RATIO},
        {"metric": f"report_{label}_contacts_template_peak_rss_mb",
         "value": round(max(peaks["template"]), 1), "baseline": round(max(peaks["plain"]), 1),
         "ratio": round(max(peaks["template"]) / max(peaks["plain"]), 3), "goal": None},
        {"metric": f"report_writer_{label}_rows_33_columns_template_s",
         "value": round(writer_template, 3), "baseline": round(writer_plain, 3),
         "ratio": round(writer_template / writer_plain, 3), "goal": None},
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--records", type=int)
    args = parser.parse_args()
    for row in run(args.quick, args.records):
        print(row)


if __name__ == "__main__":
    main()
