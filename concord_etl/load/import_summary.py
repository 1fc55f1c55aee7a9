"""What an import run is asked to do (``ImportOptions``) and what it reports (``ImportSummary``,
also the ``--json`` summary of a one-resource import)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

COUNTED = ("created", "updated", "unchanged", "skipped", "rejected", "failed", "unverified")


@dataclass
class ImportOptions:
    dry_run: bool = False
    plan_path: Path | None = None
    journal_path: Path | None = None
    restart: bool = False
    results_path: Path | None = None
    concurrency: int | None = None
    limit: int | None = None
    sheet: str | int | None = None


@dataclass
class ImportSummary:
    rows: int = 0
    counts: Counter = field(default_factory=Counter)
    requests: int = 0
    elapsed_s: float = 0.0
    waited_s: float = 0.0
    results: str | None = None
    journal: str | None = None
    plan: str | None = None
    dry_run: bool = False
    created_related: list[tuple[str, str, int]] = field(default_factory=list)
    planned_related: list[tuple[str, str]] = field(default_factory=list)
    lookups: list[str] = field(default_factory=list)
    warned: int = 0
    aborted: str | None = None

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"rows": self.rows}
        data.update({k: self.counts.get(k, 0) for k in COUNTED})
        data.update(duplicates=self.counts.get("duplicate", 0), warnings=self.warned)
        data.update(
            requests=self.requests,
            elapsed_s=round(self.elapsed_s, 3),
            waited_s=round(self.waited_s, 3),
            results=self.results,
            journal=self.journal,
        )
        if self.dry_run:
            data["dry_run"] = True
            data["plan"] = self.plan
            data["would_create_related"] = [f"{r}: {k}" for r, k in self.planned_related]
            data["lookups"] = list(self.lookups)
        if self.created_related:
            data["created_related"] = [f"{r}: {k} (id {i})" for r, k, i in self.created_related]
        if self.aborted:
            data["aborted"] = self.aborted
        return data

    @property
    def exit_code(self) -> int:  # duplicates share their first row's write: not a problem
        if self.aborted:
            return 3
        bad = sum(self.counts.get(k, 0) for k in ("rejected", "failed", "unverified"))
        return 1 if bad else 0
