"""One validating pass over a whole input file: every chunk, its lookups, and its duplicates.

``scan_file`` is what ``concord-etl validate`` runs, and what an import runs before it sends
anything (so that a row repeated further down the file is known before its first copy is sent):

1. each chunk is validated by the schema, its lookups resolved (read-only), and the keys and
   unique values of its good rows collected by the validator's ``DuplicateBook``;
2. when some key or unique value occurs on several rows, those rows — and only those — are
   read again, validated together and settled by the book (fold, or reject naming each other),
   then validated once more so that the schema's ``duplicate`` check reports them.

Lookups learn the size of the file as they go (``Resolver.scale``), so that the first chunk's
keys, scaled to the whole file, decide whether searching keys or reading a whole resource
costs fewer requests.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from concord_etl.read import Table
from concord_etl.validate.chunk import ValidatedChunk, validate_frame
from concord_etl.validate.duplicates import DuplicateBook
from concord_etl.validate.relations import Relations
from concord_etl.validate.schema import ROW_COLUMN, Validator


@dataclass
class FileScan:
    """What a pass over a file found."""

    rows: int
    book: DuplicateBook
    detail: ValidatedChunk | None = None   # the rows of every duplicate group, settled
    keys: list[str] = field(default_factory=list)    # the distinct match keys of good rows


def prefetched(frames: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    """Read the next chunk in a thread while the current one is validated.

    Parsing CSV happens in Arrow without the GIL, so on two cores reading and validating
    overlap. At most one chunk waits; an error of the reader is raised here, in order.
    """
    box: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=1)
    stop = threading.Event()

    def read() -> None:
        try:
            for frame in frames:
                while not stop.is_set():
                    try:
                        box.put(("frame", frame), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            box.put(("end", None))
        except BaseException as exc:  # handed to the consumer, raised there
            box.put(("error", exc))

    reader = threading.Thread(target=read, name="concord-read", daemon=True)
    reader.start()
    try:
        while True:
            kind, item = box.get()
            if kind == "end":
                return
            if kind == "error":
                raise item
            yield item
    finally:
        stop.set()
        while reader.is_alive():
            try:
                box.get(timeout=0.1)
            except queue.Empty:
                pass
        reader.join()


def limited_frames(table: Table, limit: int | None = None) -> Iterator[pd.DataFrame]:
    """``table.frames()``, stopping after ``limit`` data rows."""
    seen = 0
    for frame in table.frames():
        if limit is not None:
            if seen >= limit:
                return
            frame = frame.iloc[: limit - seen]
        seen += len(frame)
        yield frame


def scan_file(
    table: Table,
    validator: Validator,
    relations: Relations | None = None,
    *,
    on_chunk: Callable[[ValidatedChunk], None] | None = None,
    limit: int | None = None,
    create: bool = True,
) -> FileScan:
    """Validate every chunk of ``table`` (see the module docstring); ``on_chunk`` sees each one.

    ``create``: plan/create ``create_missing`` records for good rows (``False`` before an
    import: the import creates them when it gets to the rows).
    """
    book = validator.duplicates
    book.reset()
    total: float | None = None
    seen = 0
    for frame in prefetched(limited_frames(table, limit)):
        if total is None:
            total = estimated_rows(table, frame, limit)
        if relations is not None:
            relations.resolver.scale = max(1.0, total / max(seen + len(frame), 1))
        chunk = validate_frame(frame, validator)
        if relations is not None:
            relations.resolve(chunk, create=create)
        book.collect(chunk)
        if on_chunk is not None:
            on_chunk(chunk)
        seen += len(frame)
    scan = FileScan(rows=seen, book=book, keys=book.distinct_keys())
    candidates = book.candidates()
    book.forget_values()
    if len(candidates):
        frame = gather_rows(table, candidates, limit)
        chunk = validate_frame(frame, validator)
        if relations is not None:
            relations.resolve(chunk, create=False)
        book.settle(chunk)
        scan.detail = validate_frame(frame, validator)
        if relations is not None:
            relations.resolve(scan.detail, create=False)
    return scan


def estimated_rows(table: Table, first: pd.DataFrame, limit: int | None = None) -> float:
    """The file's data rows, guessed from its size and the bytes per row of its first chunk
    (CSV; for a workbook, the first chunk's rows) without reading the file again."""
    guess = float(len(first))
    if table.format == "csv" and len(first):
        cells = sum(first[c].astype("str").str.len().fillna(0).sum() for c in table.columns)
        per_row = (cells + len(table.columns)) / len(first)
        guess = max(guess, table.path.stat().st_size / max(per_row, 1.0))
    return min(guess, limit) if limit is not None else guess


def gather_rows(table: Table, rows: np.ndarray, limit: int | None = None) -> pd.DataFrame:
    """The rows of ``table`` whose ``_row`` is in ``rows``, as one frame (a second read)."""
    parts = []
    for frame in limited_frames(table, limit):
        keep = np.isin(frame[ROW_COLUMN].to_numpy(dtype=np.int64), rows)
        if keep.any():
            parts.append(frame[keep])
    if not parts:
        return pd.DataFrame(columns=[*table.columns, ROW_COLUMN])
    return pd.concat(parts).reset_index(drop=True)
