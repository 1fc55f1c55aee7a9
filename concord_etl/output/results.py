"""The results file of an import or validate run (README "The results file").

Columns ``_row, _action, _concord_id, _errors, _warnings`` then the input's own columns, in the
input's order, holding the input's raw values — so the user can fix the rejected rows in it and import
it again with the same mapping (mappings never name ``_``-prefixed columns, so those are
ignored on the way back in; a results file used as input gets fresh ``_`` columns, not
doubled ones). Rows are written in ``_row`` order whatever order they arrive in.

Excel input → an XLSX results file (rejected/failed/unverified/pending rows filled, ``_errors``
wrapped); otherwise CSV. ``_errors`` and ``_warnings`` hold one reason per line in both (a
reason never contains a line break, while ``"; "`` may well be part of one). Written atomically.

Memory stays bounded: rows are buffered up to ``chunk_rows``, then sorted and spilled to a
temp file; at ``close`` the sorted runs are merged while writing. ``add_block`` takes many rows at
once as columns (what ``validate`` writes: its rejected rows); blocks stay in memory as frames
and are written with one vectorised CSV write.
"""

from __future__ import annotations

import heapq
import os
import pickle
import re
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
import pandas as pd

from concord_etl.formula_guard import neutralise
from concord_etl.output.columns import ColumnDef, is_missing
from concord_etl.output.csv_writer import CsvWriter, csv_text
from concord_etl.output.xlsx_writer import WorkbookWriter
from concord_etl.redact import redact

# Outcomes (README: results file); dry runs use the plan's verbs (create/update/skip/reject) too.
# ``duplicate``: the row repeats an earlier row of the file and shares its write; ``valid``:
# ``validate`` found nothing wrong but has a warning for the row.
ACTIONS = (
    "created", "updated", "unchanged", "skipped", "rejected", "failed", "unverified",
    "duplicate", "valid",
)
FLAGGED = frozenset({"rejected", "failed", "unverified", "reject", "pending"})
META_COLUMNS = ("_row", "_action", "_concord_id", "_errors", "_warnings")
REASON_SEPARATOR = "\n"
EXCEL_FORMATS = frozenset({"xlsx", "xlsm", "xls", "ods"})

# One buffered result: (row_no, seq, action, concord_id, errors, warnings, values); a
# multi-record writer keeps a tuple of per-record cells in ``action``.
_Entry = tuple[int, int, Any, Any, tuple[str, ...], tuple[str, ...], tuple[Any, ...]]


def results_path(input_path: str | os.PathLike[str], *, excel: bool, tag: str | None = None
                 ) -> Path:
    """Default results file beside the input: ``leads.csv`` → ``leads.results.csv``, or with
    the run's ``tag`` (the mapping's name) ``leads.companies.results.csv``.

    A results file imported again with the same mapping gets ``.results`` appended once more
    (``leads.companies.results.results.csv``), never the tag twice; an input already named
    after the mapping keeps its name (``deals.csv`` + ``deals.yaml`` → ``deals.results.csv``).
    """
    source = Path(input_path)
    extension = "xlsx" if excel else "csv"
    stem = source.stem
    named = stem == tag or stem.endswith(f".{tag}")
    if tag and not named and not re.search(rf"\.{re.escape(tag)}\.results(?:\.results)*$", stem):
        stem = f"{stem}.{tag}"
    return source.with_name(f"{stem}.results.{extension}")


class ResultsWriter:
    """Collect per-row outcomes and write the results file on ``close()``.

    ``raw`` given to ``add`` is either a dict (input column → raw value) or a sequence in
    ``input_columns`` order. ``sheet`` names the XLSX sheet (pass the input's sheet name so
    a mapping with ``source.sheet`` reads the results file back); ``encoding``/``delimiter``
    may mirror a CSV input's for the same reason (default UTF-8 with BOM and ``,``).
    Used as a context manager, an exception inside the block discards the file.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        input_columns: Sequence[str],
        *,
        excel: bool,
        sheet: str | None = None,
        encoding: str | None = None,
        delimiter: str = ",",
        chunk_rows: int = 50_000,
        replace_repeats: bool = False,
    ) -> None:
        self.path = Path(path)
        self.replace_repeats = replace_repeats    # a row added again replaces its earlier entry
        self.excel = excel
        self.sheet = sheet or "Results"
        self.encoding = encoding
        self.delimiter = delimiter
        self.counts: Counter[str] = Counter()
        all_columns = [str(c) for c in input_columns]
        self._keep = [i for i, c in enumerate(all_columns) if not self._is_meta(c)]
        self.input_columns = [all_columns[i] for i in self._keep]
        self._n_all = len(all_columns)
        self._chunk_rows = max(1, chunk_rows)
        self._buffer: list[_Entry] = []
        self._runs: list[Path] = []
        self._spill_dir: str | None = None
        self._blocks: list[pd.DataFrame] = []
        self._seq = 0
        self._closed = False

    # The outcome columns; ``output.record_results`` has one pair per record of a row.
    meta_columns: tuple[str, ...] = META_COLUMNS

    def _is_meta(self, column: str) -> bool:
        """An input column this writer writes itself (dropped from a results file read back)."""
        return column in META_COLUMNS or column in self.meta_columns

    def _meta_cells(self, action: Any, concord_id: Any) -> list[Any]:
        return [action, concord_id]

    def _meta_defs(self) -> list[ColumnDef]:
        return [ColumnDef("_action", "text"), ColumnDef("_concord_id", "integer")]

    def _check_action(self, row_no: int, action: Any) -> None:
        if not isinstance(action, str) or not action:
            msg = f"row {row_no}: action must be a word such as {', '.join(ACTIONS)}; got {action!r}"
            raise ValueError(msg)

    def _is_flagged(self, row: Sequence[Any]) -> bool:
        return row[1] in FLAGGED

    @property
    def columns(self) -> list[str]:
        return [*self.meta_columns, *self.input_columns]

    def add(
        self,
        row_no: int,
        action: str,
        concord_id: Any = None,
        errors: Sequence[str] | str | None = None,
        raw: Mapping[str, Any] | Sequence[Any] | None = None,
        *,
        warnings: Sequence[str] | str | None = None,
    ) -> None:
        """Record the outcome of input row ``row_no`` (its ``_row``); with ``replace_repeats``
        a later call for the same row replaces the earlier one."""
        if self._closed:
            msg = f"results file {self.path} is already closed"
            raise RuntimeError(msg)
        self._check_action(row_no, action)
        if isinstance(errors, str):
            errors = [errors]
        if isinstance(warnings, str):
            warnings = [warnings]
        entry: _Entry = (
            int(row_no),
            self._seq,
            action,
            None if concord_id is None or is_missing(concord_id) else concord_id,
            tuple(redact(e) for e in errors or ()),
            tuple(redact(w) for w in warnings or ()),
            self._values(raw),
        )
        self._seq += 1
        self.counts[action if isinstance(action, str) else "records"] += 1
        self._buffer.append(entry)
        if len(self._buffer) >= self._chunk_rows:
            self._spill()

    def add_block(
        self,
        row_nos: Sequence[int] | np.ndarray,
        actions: Sequence[str],
        errors: Sequence[Sequence[str]],
        warnings: Sequence[Sequence[str]],
        cells: pd.DataFrame,
    ) -> None:
        """Many rows without an id at once: ``cells`` has the input's columns (raw values)."""
        if self._closed:
            msg = f"results file {self.path} is already closed"
            raise RuntimeError(msg)
        count = len(cells)
        block = pd.DataFrame({
            "_seq": np.arange(self._seq, self._seq + count, dtype=np.int64),
            "_row": np.asarray(row_nos, dtype=np.int64),
            "_action": np.asarray(actions, dtype=object),
            "_concord_id": np.full(count, None, dtype=object),
            "_errors": _joined(errors),
            "_warnings": _joined(warnings),
        })
        for name in self.input_columns:
            block[name] = cells[name].to_numpy(dtype=object)
        self._seq += count
        self.counts.update(actions)
        self._blocks.append(block)

    def _values(self, raw: Mapping[str, Any] | Sequence[Any] | None) -> tuple[Any, ...]:
        if raw is None:
            values: list[Any] = [None] * len(self.input_columns)
        elif isinstance(raw, Mapping):
            values = [raw.get(c) for c in self.input_columns]
        else:
            seq = list(raw)
            if len(seq) != self._n_all:
                msg = f"raw row has {len(seq)} values for {self._n_all} input columns"
                raise ValueError(msg)
            values = seq if len(self._keep) == self._n_all else [seq[i] for i in self._keep]
        return tuple(
            v if v.__class__ is str else (None if v is None or is_missing(v) else v)
            for v in values
        )

    def _spill(self) -> None:
        if not self._buffer:
            return
        self._buffer.sort(key=_order)
        if self._spill_dir is None:
            self._spill_dir = tempfile.mkdtemp(prefix="concord-results-")
        run = Path(self._spill_dir) / f"run-{len(self._runs):05d}.pickle"
        with open(run, "wb") as fh:
            pickler = pickle.Pickler(fh, protocol=pickle.HIGHEST_PROTOCOL)
            for entry in self._buffer:
                pickler.dump(entry)
        self._runs.append(run)
        self._buffer = []

    def _sorted(self) -> Iterator[_Entry]:
        if not self._runs:
            self._buffer.sort(key=_order)
            yield from self._buffer
            return
        self._spill()
        yield from heapq.merge(*(_read_run(p) for p in self._runs), key=_order)

    def _cells(self, entry: _Entry) -> list[Any]:
        row_no, _seq, action, concord_id, errors, warnings, values = entry
        return [row_no, *self._meta_cells(action, concord_id),
                REASON_SEPARATOR.join(errors) or None, REASON_SEPARATOR.join(warnings) or None,
                *values]

    def _rows(self) -> Iterator[list[Any]]:
        cells = self._cells
        if not self.replace_repeats:
            for entry in self._sorted():
                yield cells(entry)
            return
        pending: _Entry | None = None
        for entry in self._sorted():
            if pending is not None and pending[0] != entry[0]:
                yield cells(pending)
            pending = entry
        if pending is not None:
            yield cells(pending)

    def close(self) -> Path:
        """Write the results file (atomically) and return its path."""
        if self._closed:
            return self.path
        self._closed = True
        try:
            if self._blocks:
                self._write_blocks()
            elif self.excel:
                self._write_xlsx()
            else:
                self._write_csv()
        finally:
            self._discard_spill()
        return self.path

    def _frame(self) -> pd.DataFrame:
        """Blocks and single rows as one frame in ``_row`` order (repeats resolved)."""
        parts = list(self._blocks)
        entries = list(self._sorted())
        if entries:
            parts.append(pd.DataFrame(
                [[e[1], *self._cells(e)] for e in entries], columns=["_seq", *self.columns]
            ))
        frame = pd.concat(parts, ignore_index=True)
        frame = frame.sort_values(["_row", "_seq"], kind="stable")
        if self.replace_repeats:
            frame = frame.drop_duplicates("_row", keep="last")
        return frame.drop(columns="_seq")

    def _write_blocks(self) -> None:
        frame = self._frame()
        if self.excel:
            rows = ([None if v is None or is_missing(v) else v for v in row]
                    for row in frame.itertuples(index=False, name=None))
            self._write_xlsx(rows)
            return
        for name in frame.columns[3:]:       # the guard, once per distinct text
            codes, uniques = pd.factorize(frame[name])
            guarded = np.empty(len(uniques) + 1, dtype=object)
            guarded[:-1] = [_guarded(v) for v in uniques.tolist()]
            guarded[-1] = None
            frame[name] = guarded[codes]
        with CsvWriter(
            self.path, self.columns, delimiter=self.delimiter, encoding=self.encoding
        ) as writer:
            writer.write_frame(frame)

    def abort(self) -> None:
        """Drop everything collected; no file is written."""
        self._closed = True
        self._buffer = []
        self._discard_spill()

    def _write_xlsx(self, rows: Iterator[list[Any]] | None = None) -> None:
        columns = [
            ColumnDef("_row", "integer"),
            *self._meta_defs(),
            ColumnDef("_errors", "text", width=50, wrap=True),
            ColumnDef("_warnings", "text", width=40, wrap=True),
            *(ColumnDef(c, "text") for c in self.input_columns),
        ]
        with WorkbookWriter(self.path) as workbook:
            workbook.add_sheet(
                self.sheet, columns, rows if rows is not None else self._rows(),
                highlight=self._is_flagged,
            )

    def _write_csv(self) -> None:
        with CsvWriter(
            self.path, self.columns, delimiter=self.delimiter, encoding=self.encoding
        ) as writer:
            writer.writerows(self._rows())

    def _discard_spill(self) -> None:
        if self._spill_dir is not None:
            shutil.rmtree(self._spill_dir, ignore_errors=True)
            self._spill_dir = None
        self._runs = []

    def __enter__(self) -> ResultsWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is None:
            self.close()
        else:
            self.abort()


def _guarded(value: Any) -> str | None:
    """A cell as the guarded text a CSV results file holds (typed Excel cells as text)."""
    if value.__class__ is str:
        return neutralise(value)
    text = csv_text(value)
    return text or None


def _joined(reasons: Sequence[Sequence[str]]) -> np.ndarray:
    """One cell per row: its reasons, one per line, redacted (each distinct text once)."""
    seen: dict[str, str] = {}
    out = np.empty(len(reasons), dtype=object)
    cells: list[str | None] = []
    for row in reasons:
        text = REASON_SEPARATOR.join(row)
        if not text:
            cells.append(None)
            continue
        clean = seen.get(text)
        if clean is None:
            clean = seen[text] = redact(text)
        cells.append(clean)
    out[:] = cells
    return out


def _order(entry: _Entry) -> tuple[int, int]:
    return entry[0], entry[1]


def _read_run(path: Path) -> Iterator[_Entry]:
    with open(path, "rb") as fh:
        unpickler = pickle.Unpickler(fh)
        while True:
            try:
                yield unpickler.load()
            except EOFError:
                return
