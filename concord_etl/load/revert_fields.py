"""Setting fields back: what one record's revert sends, given the record as it is now.

Per field of the before-image (``load.before_image``):

- the CRM holds the value from before the import → nothing to send (already back);
- it holds the value the import wrote → send the value from before;
- it holds anything else → someone changed it since: a **conflict**, left alone (named with
  both values) unless ``force``.

Association lists (``companies``, ``contacts``, ``deals``) are not compared but patched: the
revert detaches exactly what the import attached (unless it was there before) and attaches
again what the import's update had detached, keeping whatever changed since. An option
field (Select/Radio custom field) that was empty before cannot be emptied through the API
(Concord ignores an empty value for it): it is reported, to be cleared by hand.
A note's update must carry its ``body`` and the record it is viewed through
(``via_resource``/``via_resource_id``), as on import.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from concord_etl.load.before_image import ASSOCIATIONS, api_value, cannot_clear, same_value
from concord_etl.validate.lookups import normalise_key

LINE_NUMBERS = ("unit_price", "qty", "tax_rate", "discount_total")


@dataclass
class FieldsPlan:
    """What to send, and what stays as it is (with why)."""

    body: dict[str, Any] = field(default_factory=dict)
    conflicts: list[str] = field(default_factory=list)    # changed since the import
    stuck: list[str] = field(default_factory=list)        # cannot be set back through the API
    forced: list[str] = field(default_factory=list)       # conflicts overwritten (--force)


def plan_fields(fields: Mapping[str, Mapping[str, Any]], record: Mapping[str, Any], *,
                force: bool) -> FieldsPlan:
    """The revert of one record's fields (see the module doc)."""
    plan = FieldsPlan()
    for name, entry in fields.items():
        ftype = str(entry.get("type") or "Text")
        before, wrote = entry.get("before"), entry.get("wrote")
        if name in ASSOCIATIONS:
            _association(plan, name, before, wrote, record)
            continue
        if name == "guests":
            if _guest_ids(before) != _guest_ids(record.get(name)):
                plan.body[name] = before
            continue
        if same_value(before, record, name, ftype):
            continue
        if not same_value(wrote, record, name, ftype):
            now = api_value(record, name, ftype)
            message = f"{name}: the import wrote {shown(wrote)}, the CRM now has {shown(now)}"
            if not force:
                plan.conflicts.append(message)
                continue
            plan.forced.append(message)
        if cannot_clear(entry):
            now = api_value(record, name, ftype)
            plan.stuck.append(
                f"{name}: was empty before the import, and Concord cannot empty an option field "
                f"through its API (it ignores an empty value); it still holds {shown(now)}: "
                "clear it in Concord")
            continue
        plan.body[name] = before
    return plan


def _association(plan: FieldsPlan, name: str, before: Any, wrote: Any,
                 record: Mapping[str, Any]) -> None:
    if before is None or name not in record:
        return            # the import could not see the list before: leave it as it is
    now = _ids(record.get(name))
    old, new = _ids(before), _ids(wrote)
    added = [i for i in new if i not in old]
    removed = [i for i in old if i not in new]
    target = [i for i in now if i not in added] + [i for i in removed if i not in now]
    if set(target) != set(now):
        plan.body[name] = target


def shape_revert_body(resource: str, body: dict[str, Any], record: Mapping[str, Any]
                      ) -> dict[str, Any]:
    """Keys Concord requires on every write of a note (its body and ``via_resource``)."""
    if resource != "notes" or not body:
        return body
    out = dict(body)
    out.setdefault("body", record.get("body"))
    for name in ASSOCIATIONS:
        ids = _ids(out.get(name) if name in out else record.get(name))
        if ids:
            out["via_resource"], out["via_resource_id"] = name, ids[0]
            break
    return out


def plan_line(line: Mapping[str, Any], current: Mapping[str, Any], *, force: bool
              ) -> tuple[dict[str, Any] | None, list[str], list[str]]:
    """A changed deal line item set back: ``(payload or None, conflicts, forced)``."""
    before = dict(line.get("before") or {})
    wrote = dict(line.get("wrote") or {})
    if _same_line(before, current):
        return None, [], []
    conflicts = [f"{k}: the import wrote {shown(wrote.get(k))}, the CRM now has "
                 f"{shown(current.get(k))}" for k in wrote if not _same_line({k: wrote[k]}, current)]
    if conflicts and not force:
        return None, conflicts, []
    payload = {k: v for k, v in before.items() if v is not None}
    return {"id": current.get("id"), **payload}, [], conflicts


def _same_line(wanted: Mapping[str, Any], current: Mapping[str, Any]) -> bool:
    for name, value in wanted.items():
        have = current.get(name)
        if name in LINE_NUMBERS:
            a, b = _number(value), _number(have)
            if a is None or b is None:
                if a != b:
                    return False
            elif abs(a - b) >= 5e-4:
                return False
        elif value is None:
            continue       # an empty value cannot be sent back: nothing to compare
        elif normalise_key(value) != normalise_key(have if have is not None else ""):
            return False
    return True


def shown(value: Any) -> str:
    """A value in a message: text quoted, lists and numbers as they are, empty as (empty)."""
    if value is None or value == "" or value == []:
        return "(empty)"
    if isinstance(value, str):
        return f'"{value}"'
    return str(value)


def _number(value: Any) -> float | None:
    try:
        return None if value is None or value == "" else float(value)
    except (TypeError, ValueError):
        return None


def _ids(value: Any) -> list[Any]:
    if value is None:
        return []
    out: list[Any] = []
    for item in value if isinstance(value, (list, tuple)) else [value]:
        if isinstance(item, Mapping):
            item = item.get("id")
        if item is not None and str(item) not in {str(o) for o in out}:
            out.append(int(item) if str(item).isdigit() else item)
    return out


def _guest_ids(value: Any) -> frozenset[tuple[str, str]]:
    out = set()
    if isinstance(value, Mapping):
        for kind, ids in value.items():
            out |= {(str(kind), str(i)) for i in ids or ()}
    else:
        for item in value or ():
            if isinstance(item, Mapping):
                out.add((str(item.get("resource_name")), str(item.get("id"))))
    return frozenset(out)
