"""The same record named on several rows is written once.

Rows whose record (say ``company``) has the same match key are one record: the first row
carries the write, with the values of the later rows merged in (a value only a later row has is
added, lists such as contacts or tags are united); the later rows are reported ``duplicate``
with the same id. A later row that *disagrees* (another non-empty value for the same field) is
rejected, naming the first row and both values. Across batches the first write's id is kept:
a later row that adds nothing is a duplicate at no cost; one that adds a value goes through
the usual update path.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from concord_etl.load.record_work import OK, RecordWork
from concord_etl.validate.lookups import normalise_key
from concord_etl.validate.transforms import is_empty


@dataclass
class Group:
    first: RecordWork
    values: dict[str, Any]
    record_id: int | None = None
    open: bool = True                  # the first row's write is still to come (same batch)


class FoldIndex:
    """Groups of one record name by match key, for the whole run."""

    def __init__(self, name: str, match_on: tuple[str, ...], labels: dict[str, str]) -> None:
        self.name = name
        self.match_on = match_on
        self.labels = labels            # field → column header, for messages
        self.groups: dict[tuple[str, ...], Group] = {}

    def key(self, work: RecordWork) -> tuple[str, ...] | None:
        if not self.match_on or "id" in self.match_on:
            return None
        parts = [work.values.get(name) for name in self.match_on]
        if any(is_empty(p) or isinstance(p, (list, tuple)) for p in parts):
            return None
        return tuple(normalise_key(p) for p in parts)

    def written(self, key: tuple[str, ...]) -> bool:
        """A record with this key exists already (written earlier in the run, or before)."""
        group = self.groups.get(key)
        return group is not None and not group.open and group.record_id is not None

    def remember(self, work: RecordWork) -> None:
        """A record already written (by an earlier run): later rows with its key reuse it."""
        key = self.key(work)
        if key is not None and work.written and key not in self.groups:
            self.groups[key] = Group(first=work, values=dict(work.values),
                                     record_id=work.record_id, open=False)

    def fold(self, works: list[RecordWork]) -> None:
        """Mark the later rows of each key as followers (or reject them); ``works`` are the
        records of one batch still to decide, in row order."""
        for work in works:
            key = self.key(work)
            if key is None or work.action == "rejected":
                continue
            group = self.groups.get(key)
            if group is None or (not group.open and group.record_id is None):
                self.groups[key] = Group(first=work, values=dict(work.values))
                continue
            conflict = _conflict(group.values, work.values)
            if conflict is not None:
                field_name, mine, theirs = conflict
                label = self.labels.get(field_name, field_name)
                work.reject(
                    f"row {group.first.row} has the same {self._key_label()} with another "
                    f"{label}: {_shown(theirs)} there, {_shown(mine)} here"
                )
                continue
            adds = _merge(group.values, work.values)
            if group.open:
                _merge(group.first.values, work.values)
                work.follower_of = group.first
            elif adds:
                continue          # written earlier: this row's new values go as an update
            else:
                work.follower_of = group.first
                work.record_id = group.record_id

    def settle(self, works: list[RecordWork]) -> None:
        """After the first rows were written: their groups take their ids."""
        for work in works:
            key = self.key(work)
            group = self.groups.get(key) if key is not None else None
            if group is None or group.first is not work:
                continue
            group.open = False
            group.record_id = work.record_id if work.action in OK else None

    def _key_label(self) -> str:
        return " + ".join(self.labels.get(n, n) for n in self.match_on)


def settle_follower(work: RecordWork) -> None:
    """A follower takes the outcome of the row it was folded into."""
    first = work.follower_of
    assert first is not None
    if first.action in OK or first.action in ("create", "update", "unchanged", "skipped"):
        work.action = "duplicate"
        work.record_id = first.record_id
        return
    work.record_id = None
    if first.action == "rejected":
        work.action = "rejected"
        work.errors.append(f"not written: row {first.row} names the same record and was rejected")
    else:
        work.action = "pending"
        work.errors.append(f"not written: row {first.row} names the same record and it is "
                           f"{first.action}; rerun to retry")


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, str) or isinstance(b, str):
        return normalise_key(a) == normalise_key(b)
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return False


def _conflict(kept: dict[str, Any], new: dict[str, Any]) -> tuple[str, Any, Any] | None:
    for name, value in new.items():
        old = kept.get(name)
        if is_empty(value) or is_empty(old) or isinstance(value, (list, tuple)):
            continue
        if not _same(old, value):
            return name, value, old
    return None


def _merge(kept: dict[str, Any], new: dict[str, Any]) -> bool:
    """Add what ``new`` has and ``kept`` lacks; True when anything was added."""
    added = False
    for name, value in new.items():
        if is_empty(value):
            continue
        old = kept.get(name)
        if is_empty(old):
            kept[name] = list(value) if isinstance(value, list) else value
            added = True
        elif isinstance(old, list) and isinstance(value, (list, tuple)):
            extra = [v for v in value if not any(_same(v, o) for o in old)]
            if extra:
                kept[name] = [*old, *extra]
                added = True
    return added


def _shown(value: Any) -> str:
    return f'"{value}"'
