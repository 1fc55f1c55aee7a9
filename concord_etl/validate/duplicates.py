"""Duplicates of the match key inside one input file, across all of its chunks."""

from __future__ import annotations

import threading

import numpy as np
import pandas as pd

from concord_etl.validate.transforms import as_text, object_list

KEY_SEPARATOR = "\x1f"


def match_keys(parts: list[pd.Series]) -> pd.Series:
    """One comparable key per row from the key columns (trimmed, lower-cased; NA if any part is)."""
    key: pd.Series | None = None
    missing = np.zeros(len(parts[0]), dtype=bool)
    for part in parts:
        text = as_text(part).str.strip().str.lower()
        missing |= text.isna().to_numpy()
        key = text if key is None else key + KEY_SEPARATOR + text
    assert key is not None
    return key.mask(missing)


class KeyTracker:
    """Remembers the first row number of every key seen so far.

    ``first_rows`` is idempotent: validating the same rows again reports the same duplicates,
    because a row is a duplicate only when an *earlier-numbered* row holds its key.
    Memory is one dict entry per distinct key (≈ 150 MB per million e-mail addresses).
    """

    def __init__(self) -> None:
        self._first: dict[object, int] = {}
        self._lock = threading.Lock()

    def reset(self) -> None:
        with self._lock:
            self._first.clear()

    def __len__(self) -> int:
        return len(self._first)

    def first_rows(self, keys: pd.Series, rows: pd.Series) -> pd.Series:
        """Per row: the row number of the first row with the same key, or NA if it is the first."""
        out = np.full(len(keys), -1, dtype=np.int64)
        codes, uniques = pd.factorize(keys)
        if len(uniques):
            present = np.flatnonzero(codes >= 0)
            row_numbers = rows.to_numpy(dtype=np.int64)[present]
            key_codes = codes[present]
            chunk_first = np.full(len(uniques), np.iinfo(np.int64).max, dtype=np.int64)
            np.minimum.at(chunk_first, key_codes, row_numbers)
            first = self._merge(object_list(uniques), chunk_first)
            earliest = first[key_codes]
            dup = earliest < row_numbers
            out[present[dup]] = earliest[dup]
        result = pd.Series(pd.array(out, dtype="Int64"), index=keys.index)
        return result.mask(result < 0)

    def _merge(self, keys: list[object], chunk_first: np.ndarray) -> np.ndarray:
        """Earliest row per key over this chunk and all before; remembers new keys."""
        with self._lock:
            first = self._first
            known = np.fromiter(
                (first.get(key, -1) for key in keys), dtype=np.int64, count=len(keys)
            )
            new = known < 0
            if new.any():
                new_keys = [keys[i] for i in np.flatnonzero(new)]
                first.update(zip(new_keys, chunk_first[new].tolist(), strict=True))
            earlier = ~new & (chunk_first < known)
            for i in np.flatnonzero(earlier):        # chunks validated out of order
                first[keys[i]] = int(chunk_first[i])
            return np.where(new | earlier, chunk_first, known)
