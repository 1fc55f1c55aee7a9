"""Rows of one file that repeat a match key or a value the CRM keeps unique.

A ``DuplicateBook`` belongs to one ``Validator`` (one input file) and is filled in two steps:

1. ``collect(chunk)`` for every chunk: the match keys and unique values (e-mail, contact
   phones, unique custom fields — the CRM's ``isUnique``) of the rows that passed every check.
   ``candidates()`` then names the rows whose key or unique value is also on another row.
2. ``settle(chunk)`` with one chunk holding all those rows, validated and looked up:

   - rows sharing the match key and agreeing on every mapped value **fold** into the first
     one (``folded``: row → first row): one write, the later rows report ``duplicate``;
   - rows sharing the key but disagreeing are all rejected, each naming the others and the
     columns that differ;
   - a unique value on a later row that is not the same record is rejected (the CRM would
     refuse it), naming the row that holds it first.

The schema's dataframe check ``duplicate`` (``frame_checks``) rejects the rows settled here
wherever they are validated again. Keys are compared trimmed, case-insensitively and with runs
of spaces collapsed; unique values as the CRM compares them (e-mails case-insensitively, phone
numbers as written).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from concord_etl.validate.checks import ROW_COLUMN, FrameCheck, quote
from concord_etl.validate.transforms import arrow_strings

if TYPE_CHECKING:
    from concord_etl.validate.chunk import ValidatedChunk
    from concord_etl.validate.schema import Validator

KEY_SEPARATOR = "\x1f"
_UNIQUE_WHAT = {"email": "e-mail addresses", "phones": "phone numbers"}


def key_text(series: pd.Series) -> pd.Series:
    """Comparable text of key values: trimmed, lower-cased, single-spaced (NA stays NA)."""
    text = series if isinstance(series.dtype, pd.StringDtype) else series.astype("str")
    arrow = arrow_strings(text)
    if arrow is None:
        return text.str.strip().str.lower().str.replace(r"\s+", " ", regex=True)
    arrow = pc.replace_substring_regex(pc.utf8_lower(pc.utf8_trim_whitespace(arrow)), r"\s+", " ")
    return pd.Series(pd.arrays.ArrowStringArray(arrow), index=series.index, dtype="str")


class DuplicateBook:
    """Duplicates of one input file (see the module docstring)."""

    def __init__(self, validator: Validator) -> None:
        self.validator = validator
        mapping = validator.mapping
        mapped = set(validator.field_names)
        on = mapping.match.on
        self.key_fields: tuple[str, ...] = on if on and all(f in mapped for f in on) else ()
        self.unique_fields: tuple[str, ...] = tuple(
            spec.attribute for spec in validator.fields
            if spec.unique and spec.attribute in mapped and spec.attribute not in self.key_fields
            and validator.feeds_of(spec.attribute)
        )
        self._keys: list[pd.Series] = []
        self._key_rows: list[np.ndarray] = []
        self._uniques: dict[str, tuple[list[pd.Series], list[np.ndarray]]] = {}
        self.reset()

    @property
    def active(self) -> bool:
        return bool(self.key_fields or self.unique_fields)

    def forget_values(self) -> None:
        """Drop the keys and values collected (the decisions stay): they are not needed once
        the candidates are known, and a million e-mails take room."""
        self._keys = []
        self._key_rows = []
        self._uniques = {name: ([], []) for name in self.unique_fields}

    def reset(self) -> None:
        self.forget_values()
        self.folded: dict[int, int] = {}
        self.conflicts: dict[int, str] = {}
        self._conflict_rows = np.zeros(0, dtype=np.int64)

    # -- labels -----------------------------------------------------------------------------
    def _columns(self, name: str) -> str:
        return self.validator.column_label(name) or name

    @property
    def key_label(self) -> str:
        return " + ".join(self._columns(name) for name in self.key_fields)

    def frame_checks(self) -> list[FrameCheck]:
        """The dataframe check ``duplicate`` of the schema (none without keys or unique fields)."""
        if not self.active:
            return []
        label = self.key_label or self._columns(self.unique_fields[0])
        field_name = ", ".join(self.key_fields or self.unique_fields[:1])
        return [FrameCheck("duplicate", self._test, label, field_name, self._reason)]

    def _test(self, frame: pd.DataFrame) -> pd.Series:
        rows = frame[ROW_COLUMN].to_numpy(dtype=np.int64)
        return pd.Series(~np.isin(rows, self._conflict_rows), index=frame.index)

    def _reason(self, row: int) -> str:
        return self.conflicts.get(row, f"row {row} conflicts with another row of the file")

    # -- step 1: keys of every chunk ---------------------------------------------------------
    def keys(self, chunk: ValidatedChunk) -> pd.Series:
        """The match key of each row of ``chunk`` (NA where a part is empty)."""
        key: pd.Series | None = None
        missing = np.zeros(len(chunk), dtype=bool)
        for name in self.key_fields:
            series = chunk.field_series(name)
            email = all(f.kind.name == "Email" for f in self.validator.feeds_of(name))
            # e-mails are trimmed and lower-cased by their parser, and hold no spaces
            text = series if email and isinstance(series.dtype, pd.StringDtype) else key_text(
                series)
            missing |= text.isna().to_numpy()
            key = text if key is None else key + KEY_SEPARATOR + text
        assert key is not None
        return key.mask(missing)

    def unique_values(self, chunk: ValidatedChunk, name: str) -> tuple[pd.Series, np.ndarray]:
        """(values, positions) of a unique field in ``chunk``; list fields give one per item."""
        feeds = self.validator.feeds_of(name)
        if feeds and feeds[0].kind.name == "Phone":
            parts: list[pd.Series] = []
            where: list[np.ndarray] = []
            for feed in feeds:
                text = chunk.values[feed.key].astype("str")
                present = np.flatnonzero(text.notna().to_numpy())
                numbers, positions = _numbers(text.iloc[present], feed.spec.split)
                parts.append(numbers)
                where.append(present[positions])
            values = pd.concat(parts, ignore_index=True) if parts else pd.Series([], dtype="str")
            return values, np.concatenate(where) if where else np.zeros(0, dtype=np.intp)
        series = chunk.field_series(name)
        text = key_text(series) if feeds and feeds[0].kind.name in ("Email", "Text", "Url") \
            else series.astype("str")
        present = np.flatnonzero(text.notna().to_numpy())
        return text.iloc[present].reset_index(drop=True), present

    def collect(self, chunk: ValidatedChunk) -> None:
        """Remember the keys and unique values of the rows of ``chunk`` without errors."""
        if not self.active or not len(chunk):
            return
        valid = ~chunk.rejected_mask
        if self.key_fields:
            keys = self.keys(chunk)
            take = valid & keys.notna().to_numpy()
            self._keys.append(keys[take].reset_index(drop=True))
            self._key_rows.append(chunk.rows[take])
        for name in self.unique_fields:
            values, positions = self.unique_values(chunk, name)
            keep = valid[positions]
            store_values, store_rows = self._uniques[name]
            store_values.append(values[keep].reset_index(drop=True))
            store_rows.append(chunk.rows[positions[keep]])

    def distinct_keys(self) -> list[str]:
        """The distinct match keys collected (for choosing how to find existing records)."""
        if not self._keys:
            return []
        return pd.unique(pd.concat(self._keys, ignore_index=True)).tolist()

    def candidates(self) -> np.ndarray:
        """Row numbers whose key or unique value is also on another row (sorted).

        Each field is hashed by Arrow without the GIL, so the fields are hashed side by side."""
        jobs = [(values, rows) for values, rows in
                [(self._keys, self._key_rows), *self._uniques.values()] if values]
        if not jobs:
            return np.zeros(0, dtype=np.int64)
        if len(jobs) == 1:
            found = [_repeated(*jobs[0])]
        else:
            with ThreadPoolExecutor(min(len(jobs), 2), thread_name_prefix="concord-keys") as pool:
                found = list(pool.map(lambda job: _repeated(*job), jobs))
        return np.unique(np.concatenate(found))

    # -- step 2: settle the groups -----------------------------------------------------------
    def settle(self, chunk: ValidatedChunk) -> None:
        """Decide every group from ``chunk`` (validated rows of ``candidates()``)."""
        self.folded, self.conflicts = {}, {}
        valid = np.flatnonzero(~chunk.rejected_mask)
        records = {int(p): chunk.record(int(p)) for p in valid}
        rows = chunk.rows
        same: dict[int, int] = {}            # position → position of the record it repeats
        if self.key_fields:
            keys = self.keys(chunk)
            shown = chunk.field_series(self.key_fields[0]).astype(object).to_numpy()
            for group in _groups(keys.to_numpy(dtype=object), valid):
                self._settle_key_group(group, records, rows, shown, same)
        for name in self.unique_fields:
            values, positions = self.unique_values(chunk, name)
            keep = np.isin(positions, valid)
            self._settle_unique(name, values[keep].to_numpy(dtype=object), positions[keep],
                                rows, same)
        self._conflict_rows = np.asarray(sorted(self.conflicts), dtype=np.int64)

    def _settle_key_group(
        self, group: list[int], records: dict[int, dict[str, Any]], rows: np.ndarray,
        shown: np.ndarray, same: dict[int, int],
    ) -> None:
        first = group[0]
        differing = _differing([records[p] for p in group])
        if not differing:
            for position in group[1:]:
                self.folded[int(rows[position])] = int(rows[first])
                same[position] = first
            return
        columns = ", ".join(dict.fromkeys(self._columns(name) for name in differing))
        value = quote(shown[first])
        for position in group:
            others = [int(rows[p]) for p in group if p != position]
            where = f"row {others[0]}" if len(others) == 1 else "rows " + ", ".join(
                str(r) for r in others)
            self.conflicts[int(rows[position])] = (
                f"{self.key_label}: duplicate {value}, also on {where} with a different "
                f"{columns}; keep one of these rows, or make them agree"
            )

    def _settle_unique(
        self, name: str, values: np.ndarray, positions: np.ndarray, rows: np.ndarray,
        same: dict[int, int],
    ) -> None:
        owner: dict[str, int] = {}       # value → the record (position) holding it first
        order = np.lexsort((positions,))
        what = _UNIQUE_WHAT.get(name, f"values of {self._columns(name)}")
        for i in order:
            position = int(positions[i])
            record = same.get(position, position)
            value = str(values[i])
            folded_key = value.casefold() if name == "email" else value
            holder = owner.setdefault(folded_key, record)
            if holder == record or int(rows[position]) in self.conflicts:
                continue
            self.conflicts[int(rows[position])] = (
                f"{self._columns(name)}: {quote(value)} is also on row {int(rows[holder])}; "
                f"{what} are unique in Concord, so the CRM would refuse this row"
            )


def _numbers(text: pd.Series, sep: str | None) -> tuple[pd.Series, np.ndarray]:
    """Phone cells → (one trimmed number per item, position of its cell in ``text``)."""
    if not sep:
        return text.str.strip().reset_index(drop=True), np.arange(len(text))
    arrow = arrow_strings(text)
    if arrow is None:
        arrow = pa.array(text.to_numpy(dtype=object).tolist(), type=pa.string())
    lists = pc.split_pattern(arrow, sep)
    items = pc.utf8_trim_whitespace(pc.list_flatten(lists))
    parents = pc.list_parent_indices(lists).to_numpy(zero_copy_only=False)
    keep = pc.greater(pc.utf8_length(items), 0).to_numpy(zero_copy_only=False)
    numbers = pd.Series(pd.arrays.ArrowStringArray(items.filter(pa.array(keep))), dtype="str")
    return numbers, parents[keep]


def _repeated(values: list[pd.Series], rows: list[np.ndarray]) -> np.ndarray:
    """Rows whose value occurs on more than one row."""
    all_rows = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
    if not len(all_rows):
        return np.zeros(0, dtype=np.int64)
    arrays = [arrow_strings(v) for v in values]
    if all(a is not None for a in arrays):     # one hash pass in Arrow over every chunk
        typed = [a if a.type == pa.large_string() else a.cast(pa.large_string())
                 for a in arrays if a is not None]
        encoded = pa.chunked_array(typed, type=pa.large_string()).dictionary_encode()
        codes = np.concatenate([c.indices.to_numpy(zero_copy_only=False)
                                for c in encoded.chunks]).astype(np.int64)
    else:
        codes, _ = pd.factorize(pd.concat(values, ignore_index=True))
    counts = np.bincount(codes[codes >= 0])
    repeated = counts[codes] > 1
    return np.unique(all_rows[repeated])


def _groups(keys: np.ndarray, valid: np.ndarray) -> list[list[int]]:
    """Positions (among ``valid``) sharing a key, in row order; groups of two or more."""
    by_key: dict[Any, list[int]] = {}
    for position in valid.tolist():
        key = keys[position]
        if key is None or key is pd.NA or (isinstance(key, float) and key != key):
            continue
        by_key.setdefault(key, []).append(position)
    return [group for group in by_key.values() if len(group) > 1]


def _differing(records: list[dict[str, Any]]) -> list[str]:
    """Fields whose value is not the same on every record."""
    names = dict.fromkeys(name for record in records for name in record)
    first = records[0]
    return [name for name in names if any(r.get(name) != first.get(name) for r in records[1:])]
