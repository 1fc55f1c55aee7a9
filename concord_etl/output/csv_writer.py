"""Streaming CSV output through the formula guard, written atomically."""

from __future__ import annotations

import codecs
import contextlib
import csv
import datetime as dt
import io
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import pyarrow as pa
import pyarrow.csv as pacsv

from concord_etl.formula_guard import neutralise
from concord_etl.output.atomic import atomic_output
from concord_etl.output.columns import is_missing

__all__ = ["CsvWriter", "csv_text", "write_csv"]


def _float_text(value: float) -> str:
    if value != value or value in (float("inf"), float("-inf")):
        return ""
    if value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    return repr(value)


def csv_text(value: Any) -> str:
    """One CSV field: text neutralised, numbers plain, dates ISO, booleans true/false.

    ``None``/NaN/NA → empty; ``date`` → ``2024-05-01``; ``datetime`` → ``2024-05-01 10:30:00``
    (space separator, as Excel and Concord's own exports write it; aware values in UTC).
    """
    cls = value.__class__
    if cls is str:
        return neutralise(value)
    if value is None:
        return ""
    if cls is bool:
        return "true" if value else "false"
    if cls is int:
        return str(value)
    if cls is float:
        return _float_text(value)
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value.isoformat(sep=" ", timespec="microseconds" if value.microsecond else "seconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str):
        return neutralise(str(value))
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, float):
        return _float_text(float(value))
    if is_missing(value):
        return ""
    if hasattr(value, "item"):  # numpy scalar
        return csv_text(value.item())
    return neutralise(str(value))


class CsvWriter:
    """Stream rows to a CSV file atomically: ``with CsvWriter(path, header) as w: w.writerow(r)``.

    Choices (documented for users): UTF-8 **with BOM** by default (``bom=False`` to drop it) so
    Excel opens accents correctly — our readers and most tools skip the BOM; ``,`` delimiter;
    ``\\r\\n`` line endings (RFC 4180, what Excel writes); minimal quoting by the ``csv`` module
    (fields with the delimiter, quotes or line breaks are quoted, quotes doubled); every text
    field neutralised before quoting; dates ISO (see ``csv_text``).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        header: Sequence[str],
        *,
        bom: bool = True,
        delimiter: str = ",",
        lineterminator: str = "\r\n",
        encoding: str | None = None,
    ) -> None:
        self.path = Path(path)
        self.header = list(header)
        self.rows = 0
        self._bom = bom
        self._encoding = encoding
        self._delimiter = delimiter
        self._lineterminator = lineterminator
        self._atomic: contextlib.AbstractContextManager[Path] | None = None
        self._fh: IO[str] | None = None
        self._writer: Any = None

    def __enter__(self) -> CsvWriter:
        self._atomic = atomic_output(self.path)
        tmp = self._atomic.__enter__()
        encoding = self._encoding or ("utf-8-sig" if self._bom else "utf-8")
        # A legacy encoding (mirroring a cp1252 input) replaces what it cannot encode.
        errors = "strict" if encoding.lower().replace("_", "-").startswith("utf") else "replace"
        try:
            self._fh = open(tmp, "w", encoding=encoding, errors=errors, newline="")
        except BaseException as exc:
            self._atomic.__exit__(type(exc), exc, exc.__traceback__)
            raise
        self._writer = csv.writer(
            self._fh,
            delimiter=self._delimiter,
            lineterminator=self._lineterminator,
            quoting=csv.QUOTE_MINIMAL,
        )
        self._writer.writerow([neutralise(str(h)) for h in self.header])
        return self

    def writerow(self, row: Sequence[Any]) -> None:
        self._writer.writerow([csv_text(v) for v in row])
        self.rows += 1

    def writerows(self, rows: Iterable[Sequence[Any]]) -> None:
        writerow = self._writer.writerow
        guard = neutralise
        count = 0
        for row in rows:
            # text and empty cells (the bulk of most files) go straight to the guard
            writerow([
                guard(v) if v.__class__ is str else ("" if v is None else csv_text(v))
                for v in row
            ])
            count += 1
        self.rows += count

    def write_frame(self, frame: Any) -> None:
        """Rows of a pandas frame of text (already guarded: ``neutralise``) and integers, in one
        vectorised write; ``None`` cells stay empty. UTF-8 files are written by Arrow, which
        quotes every text cell (the same values as minimal quoting, read back identically);
        other encodings go through the ``csv`` module."""
        handle = self._fh
        assert isinstance(handle, io.TextIOWrapper)
        if codecs.lookup(handle.encoding).name in ("utf-8", "utf-8-sig"):
            handle.flush()
            table = pa.Table.from_pandas(frame, preserve_index=False)
            options = pacsv.WriteOptions(include_header=False, delimiter=self._delimiter,
                                         eol=self._lineterminator)
            pacsv.write_csv(table, handle.buffer, options)
        else:
            columns = [frame[name].tolist() for name in frame.columns]
            self._writer.writerows(zip(*columns, strict=True))
        self.rows += len(frame)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._atomic is not None and self._fh is not None
        try:
            self._fh.close()
        finally:
            self._atomic.__exit__(exc_type, exc, tb)


def write_csv(
    path: str | os.PathLike[str],
    header: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    bom: bool = True,
    delimiter: str = ",",
) -> int:
    """Write ``header`` and ``rows`` to ``path`` atomically (see ``CsvWriter``); return the row count."""
    with CsvWriter(path, header, bom=bom, delimiter=delimiter) as writer:
        writer.writerows(rows)
    return writer.rows
