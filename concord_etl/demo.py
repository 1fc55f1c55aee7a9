"""The demo: a sandbox CRM, the sample lead files imported through the mappings, a report.

Runs everything in-process against a real sandbox on a free loopback port, with a small rate
limit window so the pacing is visible. Prints nothing itself: ``echo`` and ``on_import`` do.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from concord_etl.crm.client import ConcordClient
from concord_etl.crm.request_event import RequestObserver
from concord_etl.errors import ConfigError
from concord_etl.export.report import load_report, run_report
from concord_etl.load.run import ImportOptions, run_import
from concord_etl.mapping import load_import_mapping

PACKAGE_ROOT = Path(__file__).resolve().parent.parent
DEMO_TOKEN = "demo-token"
# (title, sample file, mapping): companies first, so contacts and deals can name them.
STEPS = (
    ("Companies (CSV, UTF-8 with BOM)", "companies.csv", "companies.yaml"),
    ("Leads (CSV, cp1252, ';')", "leads.csv", "leads-contacts.yaml"),
    ("Leads (Excel workbook)", "leads.xlsx", "leads-contacts.yaml"),
    ("Deals (CSV)", "deals.csv", "deals.yaml"),
    ("Trade-fair leads: company, person, deal with products, note and follow-up task per row",
     "trade-fair-leads.csv", "trade-fair.yaml"),
)
REPORT = "reports/weekly.yaml"


def _find(root: Path, folder: str, name: str) -> Path:
    for base in (Path.cwd(), root):
        candidate = base / folder / name
        if candidate.exists():
            return candidate
    msg = f"demo file {folder}/{name} not found (run the demo from the repository)"
    raise ConfigError(msg)


def run_demo(
    *,
    workdir: Path,
    reports_dir: Path,
    progress_factory: Callable[[], Any] | None = None,
    on_import: Callable[[str, Any], None] | None = None,
    echo: Callable[[str], None] = lambda _text: None,
    rate_limit: int = 60,
    rate_window: float = 5.0,
    on_request: RequestObserver | None = None,
) -> dict[str, str]:
    """Run the demo; returns labelled paths of what it produced (``on_request``: see
    :class:`~concord_etl.crm.client.ConcordClient`)."""
    from concord_etl.sandbox import Sandbox

    workdir = Path(workdir)
    if workdir.exists():
        shutil.rmtree(workdir)
    (workdir / "input").mkdir(parents=True)
    produced: dict[str, str] = {}
    with Sandbox(
        state_dir=workdir / "sandbox-state", token=DEMO_TOKEN, seed="demo",
        rate_limit=rate_limit, rate_window=rate_window,
    ) as sandbox:
        sandbox.start()
        echo(f"Sandbox CRM running at {sandbox.url} "
             f"(rate limit {rate_limit} requests per {rate_window:g} s)")
        client = ConcordClient(sandbox.url, DEMO_TOKEN, on_request=on_request)
        for title, sample, mapping_name in STEPS:
            source = _find(PACKAGE_ROOT, "sample_data", sample)
            target = workdir / "input" / sample
            shutil.copyfile(source, target)
            mapping = load_import_mapping(_find(PACKAGE_ROOT, "mappings", mapping_name))
            bar = progress_factory() if progress_factory else None
            try:
                summary = run_import(target, mapping, client, ImportOptions(), progress=bar)
            finally:
                if bar is not None:
                    bar.close()
            if on_import is not None:
                on_import(f"{title}: {sample} with mappings/{mapping_name}", summary)
            produced[f"results of {sample}"] = str(summary.results)
        report_def = load_report(_find(PACKAGE_ROOT, "mappings", REPORT))
        reports_dir.mkdir(parents=True, exist_ok=True)
        output = reports_dir / Path(report_def.output.format(date=_now())).name
        report = run_report(client, report_def, output=output, full=True)
        produced["report"] = report.output
        produced["sandbox"] = f"{sandbox.url} (stopped)"
    return produced


def _now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)
