"""Streaming output: column definitions, the formula-injection guard, atomic files, CSV.

Everything written for people to open (exports, reports, results files) goes through here:

- ``ColumnDef`` says what a column holds, so cells are typed (numbers stay numbers, dates are
  real dates) and widths are sensible.
- ``neutralise`` defuses text that a spreadsheet would run as a formula.
- ``atomic_output`` writes into a temp file beside the target and renames it into place only
  on success: a failed or interrupted run never leaves a half-written file, and an existing
  target is untouched until the rename.
- ``CsvWriter`` / ``write_csv`` stream CSV through the same guard.

The XLSX writer lives in ``concord_etl.workbook`` (``WorkbookWriter``, ``SheetStats``) and is
re-exported here, so ``from concord_etl.writers import WorkbookWriter`` works.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import os
import re
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any, Literal

from concord_etl.errors import ConfigError

if TYPE_CHECKING:
    from concord_etl.workbook import SheetStats, WorkbookWriter

Kind = Literal["text", "integer", "number", "date", "datetime", "bool"]
KINDS: tuple[str, ...] = ("text", "integer", "number", "date", "datetime", "bool")

__all__ = [
    "KINDS",
    "ColumnDef",
    "CsvWriter",
    "Kind",
    "SheetStats",
    "WorkbookWriter",
    "atomic_output",
    "csv_text",
    "is_missing",
    "neutralise",
    "unneutralise",
    "write_csv",
]


@dataclass(frozen=True)
class ColumnDef:
    """One output column: header text, cell kind, optional width and Excel number format.

    ``wrap`` wraps long text (used for the ``_errors`` column of results files).
    """

    name: str
    kind: Kind = "text"
    width: float | None = None
    num_format: str | None = None
    wrap: bool = False

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            msg = f"column {self.name!r}: kind {self.kind!r} is not one of {', '.join(KINDS)}"
            raise ValueError(msg)


# --------------------------------------------------------------------------------------------
# Formula injection
# --------------------------------------------------------------------------------------------

# Characters that make Excel, LibreOffice or Google Sheets treat a typed/pasted/CSV value as a
# formula (OWASP "CSV injection"), plus their full-width forms, which some tools fold to ASCII.
_ALWAYS = frozenset("=@\t\r＝＠")
_SIGNS = frozenset("+-")
_WIDE_SIGNS = frozenset("＋－")
# After a leading + or -, a value made only of these characters is a phone number or a plain
# number ("+44 20 7946 0958", "-12.5", "+1 (555) 010-0100"). Without letters, quotes, '!', '|'
# or '(' followed by a name it can neither call a function, reference a cell nor start DDE, so
# it is left alone: exports keep phone numbers as people typed them and they re-import intact.
_NUMBER_SHAPED = re.compile(r"[0-9 ().,/+\-]*[0-9][0-9 ().,/+\-]*")


def neutralise(text: str) -> str:
    """Prefix ``'`` to text a spreadsheet would run as a formula (CSV/formula injection).

    A value starting with ``=``, ``@``, tab, CR (or full-width ``＝``, ``＠``, ``＋``, ``－``)
    gets a leading apostrophe; so does one starting with ``+`` or ``-``, unless it is shaped
    like a number or phone number (digits, spaces and ``( ) . , / + -`` only). The apostrophe
    is the OWASP recommendation: in Excel it shows the text literally, and ``unneutralise``
    removes it again when a file comes back for import. Only text is ever passed here:
    numeric cells (negative numbers included) are written as numbers and never touched.
    """
    if len(text) < 2:  # "", "-", "+" and "=" alone are never formulas
        return text
    first = text[0]
    if first in _ALWAYS or first in _WIDE_SIGNS:
        return "'" + text
    if first in _SIGNS and _NUMBER_SHAPED.fullmatch(text, 1) is None:
        return "'" + text
    return text


def unneutralise(text: str) -> str:
    """Undo ``neutralise``: drop one leading ``'`` that guards a formula-like value.

    For readers of files this tool wrote (results files, exports sent back for re-import):
    ``"'=SUM(A1)"`` → ``"=SUM(A1)"``; ``"'quoted'"`` and ``"'"`` are left as they are.
    """
    if len(text) > 1 and text[0] == "'" and neutralise(text[1:]) != text[1:]:
        return text[1:]
    return text


# --------------------------------------------------------------------------------------------
# Atomic files
# --------------------------------------------------------------------------------------------


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temp path beside ``path``; on success fsync and rename it onto ``path``.

    On any exception (KeyboardInterrupt included) the temp file is removed and ``path`` is left
    exactly as it was. Missing parent directories are created. Only ``kill -9`` can leave a
    hidden ``.NAME.*.tmp`` file behind (never a half-written ``NAME``).
    """
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(
            prefix=f".{target.name}.", suffix=".tmp", dir=target.parent
        )
    except OSError as exc:
        msg = f"cannot write {target}: {exc.strerror or exc}"
        raise ConfigError(msg) from exc
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual permissions
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


# --------------------------------------------------------------------------------------------
# CSV
# --------------------------------------------------------------------------------------------


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


def is_missing(value: Any) -> bool:
    """pandas NA/NaT and float NaN, without importing pandas."""
    name = type(value).__name__
    if name in ("NAType", "NaTType"):
        return True
    try:
        return bool(value != value)
    except (TypeError, ValueError):
        return False


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
        count = 0
        for row in rows:
            writerow([csv_text(v) for v in row])
            count += 1
        self.rows += count

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


def __getattr__(name: str) -> Any:
    # Lazy re-export: ``concord_etl.workbook`` imports this module, so import it on demand.
    if name in ("WorkbookWriter", "SheetStats"):
        from concord_etl import workbook

        return getattr(workbook, name)
    msg = f"module {__name__!r} has no attribute {name!r}"
    raise AttributeError(msg)
