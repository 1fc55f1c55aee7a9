"""CSV reader: pyarrow streaming for speed, the stdlib ``csv`` module as the fallback for
ragged files (rows with fewer or more fields than the header).

Every cell is text (pandas ``str`` dtype), empty → NA. ``_row`` is the physical line where
the record starts, counting blank lines and line breaks inside quoted cells.

Strict about quotes: a quoted field that is never closed would swallow the rest of the file
into one cell, so it is an ``InputError`` naming the line where the quote opened (found when
the file holds an odd number of quote characters, or when the stdlib fallback meets it). A
file of mixed encodings (see ``encoding``) is decoded line by line into a temporary UTF-8
copy, read instead of the original, with a warning naming the lines.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import os
import tempfile
import warnings
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from concord_etl.errors import InputError, InputWarning
from concord_etl.read.dialect import resolve_delimiter
from concord_etl.read.encoding import (
    SAMPLE_BYTES,
    MixedLines,
    decode_line,
    mojibake_warning,
    resolve_encoding,
)
from concord_etl.read.table import ROW_COLUMN, clean_headers, extra_cell_error, location

_MIN_BLOCK = 1 << 20
_MAX_BLOCK = 8 << 20      # Arrow parses small blocks fastest; frames join blocks to chunk_rows


class CsvSource:
    """A CSV file with its detected encoding, delimiter and header."""

    def __init__(
        self, path: Path, *, encoding: str, delimiter: str, header_row: int, chunk_rows: int
    ) -> None:
        self.path = path
        self.chunk_rows = chunk_rows
        sample = _read_sample(path)
        enc = resolve_encoding(path, encoding, sample)
        self.encoding = enc.name               # as detected (reported)
        self._read_path, self._read_encoding = path, enc.name
        self.warnings: list[str] = []
        if enc.mixed is not None:
            self._read_path = _transcode(path, enc.mixed)
            weakref.finalize(self, _unlink, self._read_path)
            self._read_encoding = "utf-8"
            self.encoding = f"utf-8 + {enc.mixed.other} (mixed)"
            self.warnings.append(enc.mixed.describe(path))
            sample = _read_sample(self._read_path)
        text = _decode_sample(sample, self._read_encoding)
        mojibake = mojibake_warning(text)
        if mojibake:
            self.warnings.append(f"{path}: {mojibake}")
        for warning in self.warnings:
            warnings.warn(warning, InputWarning, stacklevel=3)
        self.delimiter = resolve_delimiter(delimiter, _from_line(text, header_row))
        record, self.header_row, self.header_end = self._find_header(text, header_row)
        self.columns, self.extra = clean_headers(
            record, path=path, sheet=None, row=self.header_row, letters=False
        )
        lines = max(1, text.count("\n"))
        self.block_size = int(min(_MAX_BLOCK, max(_MIN_BLOCK, len(sample) / lines * chunk_rows)))
        odd, self.controls = _scan_bytes(self._read_path, self._read_encoding)
        if odd:
            self._check_quotes()

    def _check_quotes(self) -> None:
        """An odd number of quotes: parse strictly to find a quoted field never closed (a
        stray quote inside an unquoted field, ``5" screen``, is odd too but harmless)."""
        with self._read_path.open(encoding=self._read_encoding, newline="") as handle:
            reader = csv.reader(handle, delimiter=self.delimiter, strict=True)
            previous = 0
            try:
                for _record in reader:
                    previous = reader.line_num
            except csv.Error as exc:
                raise self._quote_error(previous + 1, exc) from None

    def _quote_error(self, line: int, exc: csv.Error) -> InputError:
        if "unexpected end of data" in str(exc):
            what = ("a quoted field starts here and is never closed, so the rest of the file "
                    "would be read as one cell")
            hint = 'close the quote (") or remove it, then run again; nothing was sent'
        else:
            what = f"malformed quoting ({exc})"
            hint = ("a quote inside a quoted field must be doubled (\"\"); fix the line, then "
                    "run again; nothing was sent")
        return InputError(f"{location(self.path, None, line)}: {what}", path=str(self.path),
                          row=line, hint=hint)

    def _find_header(self, text: str, header_row: int) -> tuple[list[str], int, int]:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=self.delimiter)
        previous = 0
        try:
            for record in reader:
                start, previous = previous + 1, reader.line_num
                if start >= header_row and any(cell.strip() for cell in record):
                    return record, start, reader.line_num
        except csv.Error as exc:
            message = f"{location(self.path, None, previous + 1)}: cannot parse the header: {exc}"
            raise InputError(message, path=str(self.path), row=previous + 1) from None
        if header_row > 1:
            message = f"{self.path}: no header at or after line {header_row} (the file ends first)"
        else:
            message = f"{self.path}: the file is empty (no header line)"
        raise InputError(message, path=str(self.path), row=header_row)

    # -- frames ---------------------------------------------------------------------------

    def frames(self) -> Iterator[pd.DataFrame]:
        """Fast pyarrow stream; on a ragged row, continue with the stdlib reader."""
        state = _Progress(next_line=self.header_end + 1)
        try:
            yield from self._arrow_frames(state)
        except pa.ArrowInvalid as exc:
            if "columns, got" not in str(exc):
                message = f"{self.path}: cannot parse the file as CSV ({exc})"
                raise InputError(message, path=str(self.path)) from None
            yield from self._stdlib_frames(state)
        if not state.yielded:
            yield self._frame_from_lists([[] for _ in self.columns], [], state)

    def _arrow_frames(self, state: _Progress) -> Iterator[pd.DataFrame]:
        names = self.columns + [f"__extra_{i}" for i in range(self.extra)]
        read = pacsv.ReadOptions(
            column_names=names, skip_rows=self.header_end, block_size=self.block_size,
            encoding="utf8" if self._read_encoding in ("utf-8", "utf-8-sig")
            else self._read_encoding,
        )
        parse = pacsv.ParseOptions(
            delimiter=self.delimiter, newlines_in_values=True, ignore_empty_lines=False
        )
        convert = pacsv.ConvertOptions(
            column_types={name: pa.string() for name in names}, null_values=[""],
            strings_can_be_null=True, quoted_strings_can_be_null=True,
        )
        try:
            reader = pacsv.open_csv(self._read_path, read_options=read, parse_options=parse,
                                    convert_options=convert)
        except pa.ArrowInvalid as exc:
            if "Empty CSV file" in str(exc):
                return
            raise
        pending: list[pa.RecordBatch] = []
        rows = 0
        for batch in reader:
            pending.append(batch)
            rows += batch.num_rows
            if rows >= self.chunk_rows:
                table = pa.Table.from_batches(pending).combine_chunks()
                whole = table.num_rows - table.num_rows % self.chunk_rows
                yield from self._arrow_slices(table.slice(0, whole), state)
                pending = table.slice(whole).to_batches()
                rows = table.num_rows - whole
        if rows:
            table = pa.Table.from_batches(pending).combine_chunks()
            yield from self._arrow_slices(table, state)

    def _arrow_slices(self, table: pa.Table, state: _Progress) -> Iterator[pd.DataFrame]:
        """``chunk_rows``-row frames of a table whose columns are single chunks."""
        for offset in range(0, table.num_rows, self.chunk_rows):
            part = table.slice(offset, self.chunk_rows)
            batch = pa.RecordBatch.from_arrays(
                [column.chunk(0) if column.num_chunks else pa.array([], column.type)
                 for column in part.columns],
                schema=part.schema,
            )
            frame = self._arrow_chunk(batch, state)
            if frame is not None:
                yield frame

    def _arrow_chunk(self, batch: pa.RecordBatch, state: _Progress) -> pd.DataFrame | None:
        lines = np.ones(batch.num_rows, dtype=np.int64)
        for column in batch.columns:
            if _may_hold_newline(column):
                lines += pc.count_substring(column, "\n").fill_null(0).to_numpy()
        starts = state.next_line + np.cumsum(lines) - lines
        state.next_line += int(lines.sum())
        state.records += batch.num_rows
        table = pa.Table.from_batches([batch])
        keep = np.ones(batch.num_rows, dtype=bool)
        if min(column.null_count for column in batch.columns):   # maybe all-empty rows
            filled = pc.is_valid(batch.column(0))
            for column in batch.columns[1:]:
                filled = pc.or_(filled, pc.is_valid(column))
            keep = filled.to_numpy(zero_copy_only=False)
            table = table.filter(filled)
        for i in range(self.extra):
            extra = table.column(len(self.columns) + i)
            if extra.null_count < len(extra):
                first = pc.index(pc.is_valid(extra), True).as_py()
                self._raise_extra(int(starts[keep][first]), len(self.columns) + i,
                                  extra[first].as_py())
        if table.num_rows == 0:
            return None
        frame = table.select(self.columns).to_pandas()
        return self._finish(frame, starts[keep], state)

    def _stdlib_frames(self, state: _Progress) -> Iterator[pd.DataFrame]:
        """Slower, tolerant path: short rows padded with NA, surplus empty fields ignored."""
        width = len(self.columns)
        skip = state.records
        with self._read_path.open(encoding=self._read_encoding, newline="") as handle:
            reader = csv.reader(handle, delimiter=self.delimiter, strict=True)
            previous = self._skip_to_data(reader)
            cells: list[list[str | None]] = [[] for _ in self.columns]
            starts: list[int] = []
            try:
                for count, record in enumerate(reader):
                    start, previous = previous + 1, reader.line_num
                    if count < skip or not any(record):
                        continue
                    for i, value in enumerate(record[width:], start=width):
                        if value.strip():
                            self._raise_extra(start, i, value)
                    record += [""] * (width - len(record))
                    for column, value in zip(cells, record, strict=False):
                        column.append(value or None)
                    starts.append(start)
                    if len(starts) >= self.chunk_rows:
                        yield self._frame_from_lists(cells, starts, state)
                        cells, starts = [[] for _ in self.columns], []
            except csv.Error as exc:
                raise self._quote_error(previous + 1, exc) from None
            if starts:
                yield self._frame_from_lists(cells, starts, state)

    def _skip_to_data(self, reader: Any) -> int:
        if self.header_end == 0:
            return 0
        for _ in reader:
            if reader.line_num >= self.header_end:
                break
        return reader.line_num

    def _frame_from_lists(
        self, cells: list[list[str | None]], starts: list[int], state: _Progress
    ) -> pd.DataFrame:
        frame = pd.DataFrame(
            {name: pd.array(values, dtype="str") for name, values in zip(self.columns, cells,
                                                                          strict=True)}
        )
        return self._finish(frame, np.asarray(starts, dtype=np.int64), state)

    def _finish(self, frame: pd.DataFrame, starts: np.ndarray, state: _Progress) -> pd.DataFrame:
        frame[ROW_COLUMN] = starts
        frame.index = pd.RangeIndex(state.rows, state.rows + len(frame))
        state.rows += len(frame)
        state.yielded = True
        return frame

    def _raise_extra(self, line: int, index: int, value: object) -> None:
        raise extra_cell_error(path=self.path, sheet=None, row=line,
                               column=f"field {index + 1}", value=value)


_CONTROL_BYTES = bytes([*range(0, 9), 11, 12, *range(14, 32), 127])


def _scan_bytes(path: Path, encoding: str) -> tuple[bool, bool]:
    """One pass over the file: an odd number of ``"`` (a quote may be left open), and whether
    any control character is there at all (so cells need not be searched one by one)."""
    wide = encoding.replace("_", "-").lower().startswith(("utf-16", "utf-32"))
    count = 0
    controls = wide                     # UTF-16/32: NUL bytes are everywhere; check the cells
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 22), b""):
            count += block.count(b'"')
            if not controls and len(block.translate(None, _CONTROL_BYTES)) != len(block):
                controls = True
    return count % 2 == 1 and not wide, controls


def _transcode(path: Path, mixed: MixedLines) -> Path:
    """A private UTF-8 copy of a mixed-encoding file, decoded line by line."""
    fd, name = tempfile.mkstemp(prefix="concord-mixed-", suffix=".csv")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out, path.open("rb") as src:
            for line in src:
                out.write(decode_line(line, mixed))
    except BaseException:
        _unlink(Path(name))
        raise
    return Path(name)


def _unlink(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()


class _Progress:
    """Where a ``frames()`` pass is: next physical line, records consumed, rows yielded."""

    def __init__(self, next_line: int) -> None:
        self.next_line = next_line
        self.records = 0
        self.rows = 0
        self.yielded = False


def _may_hold_newline(column: pa.Array) -> bool:
    """Cheap pre-check on the column's value bytes (a slice sees its parent's buffer, so this
    can only err towards counting)."""
    data = column.buffers()[2]
    return data is not None and data.size > 0 and bool(
        (np.frombuffer(data, dtype=np.uint8) == 10).any()
    )


def _read_sample(path: Path) -> bytes:
    with path.open("rb") as handle:
        return handle.read(SAMPLE_BYTES)


def _decode_sample(sample: bytes, encoding: str) -> str:
    decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
    return decoder.decode(sample, final=False)


def _from_line(text: str, line: int) -> str:
    """``text`` from its ``line``-th line on (1-based)."""
    position = 0
    for _ in range(line - 1):
        found = text.find("\n", position)
        if found < 0:
            return ""
        position = found + 1
    return text[position:]
