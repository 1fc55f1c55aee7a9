"""One record of one row on its way to the CRM, and the row that holds its records.

``RecordWork`` is a ``RowWork`` that knows its record name (its journal key is
``row:17:contact``; an unnamed record keeps ``row:17``) and shapes its body for its resource:

- notes and calls get ``via_resource``/``via_resource_id`` from their first associated record
  (Concord authorises them through it; the association keys are what attach them), and a note
  update re-sends its body and via keys, which Concord requires on every write;
- activity ``guests`` become ``{contacts: [ids]}`` (or ``users``, after the column's lookup).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from concord_etl.load.decide import RowWork
from concord_etl.validate.transforms import is_empty


def positions_mask(positions: Iterable[int], size: int) -> np.ndarray:
    """A boolean mask of ``size`` chunk positions, true at ``positions``."""
    mask = np.zeros(size, dtype=bool)
    mask[list(positions)] = True
    return mask

ASSOCIATIONS = ("contacts", "companies", "deals")
VIA_RESOURCES = ("notes", "calls")
# Outcomes after which a record has no id a dependent record could link to.
NOT_WRITTEN = ("rejected", "failed", "unverified", "pending")
OK = ("created", "updated", "unchanged", "duplicate", "skipped")


@dataclass
class RecordWork(RowWork):
    """One record (``name``) of one input row."""

    name: str = ""
    resource: str = ""
    guest_resource: str = "contacts"
    follower_of: RecordWork | None = None      # folded into the first row with its match key
    restored: bool = False                     # outcome read from the journal
    blocked: str | None = None                 # skipped because a linked record was not written
    absent: bool = False                       # the row has no value for this record
    position: int = -1                         # the row's position in its validated chunk
    known_id: int | None = None                # written earlier in this run (record_fold)

    @property
    def op_key(self) -> str:
        return f"row:{self.row}:{self.name}" if self.name else f"row:{self.row}"

    @property
    def written(self) -> bool:
        """It has a CRM record a link can point to."""
        return self.record_id is not None and self.action in OK

    def skip(self, reason: str | None = None) -> None:
        self.action = "skipped"
        if reason:
            self.errors.append(reason)

    def body(self) -> dict[str, Any]:
        return shape_body(self.resource, super().body(), self.values,
                          update=self.action == "update", guest_resource=self.guest_resource)


def first_association(values: Mapping[str, Any]) -> tuple[str, Any] | None:
    """The first associated record among the values (in field order): ``("contacts", 5)``."""
    for name, value in values.items():
        if name in ASSOCIATIONS and isinstance(value, (list, tuple)):
            for item in value:
                if not is_empty(item):
                    return name, item
    return None


def shape_body(resource: str, body: dict[str, Any], values: Mapping[str, Any], *, update: bool,
               guest_resource: str = "contacts") -> dict[str, Any]:
    """Resource rules a plain field → value body does not cover (see the module doc)."""
    if resource in VIA_RESOURCES:
        via = first_association(values)
        if via is not None:
            body["via_resource"], body["via_resource_id"] = via
        if resource == "notes" and update and not is_empty(values.get("body")):
            body.setdefault("body", values["body"])
    if resource == "activities" and isinstance(body.get("guests"), list):
        body["guests"] = {guest_resource: body["guests"]}
    return body


@dataclass
class RowState:
    """One input row of a multi-record import: its records and its line item."""

    row: int
    position: int                                              # in the batch's chunks
    works: dict[str, RecordWork] = field(default_factory=dict)
    lines: dict[str, Any] = field(default_factory=dict)        # record name → LineWork

    def outcomes(self) -> dict[str, tuple[Any, ...]]:
        out: dict[str, tuple[Any, ...]] = {}
        for name, work in self.works.items():
            line = self.lines.get(name)
            line_action = line.action if line is not None else None
            out[name] = (work.action, work.record_id, line_action)
        return out
