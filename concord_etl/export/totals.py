"""Grouped totals of records for a report's summary sheets (deals amount by stage, ...).

Fed record by record (as the sheets stream past, or from a separate read), so nothing is held
but the totals. Groups are keyed by what the CRM stores (an owner's id, an option id) and shown
by label; two groups that would show the same label (a stage "Closed" in two pipelines) get
the pipeline's name, or their id, added. Multi-valued fields (Checkbox, MultiSelect, tags,
associations) count a record in each of its groups.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from concord_etl.crm.fields import FieldSpec
from concord_etl.export.cell_values import cell_value, number_value

NUMERIC_TYPES = ("Number", "Numeric", "Decimal")
MULTI_TYPES = ("Checkbox", "MultiSelect", "Tags", "Association", "Phone")
NONE_LABEL = "(none)"
_SEP = "\x1f"


@dataclass(frozen=True)
class _Group:
    key: str
    label: str
    context: str | None = None      # e.g. the stage's pipeline, to tell equal labels apart


class Totals:
    """Sum of ``value`` (or count of records) per group of ``group``."""

    def __init__(self, group: FieldSpec, value: FieldSpec | None = None) -> None:
        self.group = group
        self.value = value
        self._totals: dict[str, float] = {}
        self._groups: dict[str, _Group] = {}
        self.records = 0

    def add(self, record: dict[str, Any]) -> None:
        self.records += 1
        amount = 1.0
        if self.value is not None:
            number = number_value(record.get(self.value.attribute))
            amount = number if isinstance(number, float) else 0.0
        for group in self._groups_of(record):
            self._groups.setdefault(group.key, group)
            self._totals[group.key] = self._totals.get(group.key, 0.0) + amount

    def _groups_of(self, record: dict[str, Any]) -> list[_Group]:
        spec = self.group
        if spec.type in MULTI_TYPES:
            joined = cell_value(record, spec, split=_SEP)
            labels = [] if joined in (None, "") else str(joined).split(_SEP)
            return [_Group(f"l:{x}", x) for x in labels] or [_Group("none", NONE_LABEL)]
        label = cell_value(record, spec)
        if label in (None, ""):
            return [_Group("none", NONE_LABEL)]
        raw = record.get(spec.attribute)
        key = f"r:{raw}" if isinstance(raw, int | str) and raw != "" else f"l:{label}"
        return [_Group(key, _shown(label), _context(record, spec))]

    def items(self) -> list[tuple[str, float]]:
        """(label, total) pairs, largest first, labels unique."""
        labels = self._labels()
        pairs = [(labels[key], total) for key, total in self._totals.items()]
        return sorted(pairs, key=lambda kv: (-kv[1], kv[0].casefold()))

    def _labels(self) -> dict[str, str]:
        seen: dict[str, list[str]] = {}
        for key, group in self._groups.items():
            seen.setdefault(group.label.casefold(), []).append(key)
        labels = {}
        for keys in seen.values():
            for key in keys:
                group = self._groups[key]
                if len(keys) == 1:
                    labels[key] = group.label
                elif group.context:
                    labels[key] = f"{group.label} ({group.context})"
                else:
                    labels[key] = f"{group.label} (id {key.partition(':')[2]})"
        return labels


def _shown(label: Any) -> str:
    if isinstance(label, bool):
        return "Yes" if label else "No"
    if hasattr(label, "isoformat"):
        return label.isoformat()
    return str(label)


def _context(record: dict[str, Any], spec: FieldSpec) -> str | None:
    if spec.attribute == "stage_id":
        pipeline = record.get("pipeline")
        if isinstance(pipeline, dict) and pipeline.get("name"):
            return str(pipeline["name"])
    return None
