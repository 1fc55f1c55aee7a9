"""Text encoding of CSV files: detection (BOM, UTF-8, cp1252, latin-1) and mojibake hints.

A file that is not UTF-8 as a whole is checked line by line: when some lines are valid UTF-8
(with accents) and others are not — two exports pasted together — the file is *mixed*. Read
whole as cp1252 its UTF-8 lines would turn into mojibake (``JosÃ©``), so instead each line is
decoded in its own encoding and the lines of each kind are reported (``Encoding.mixed``).
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field
from pathlib import Path

from concord_etl.errors import ConfigError, InputError

SAMPLE_BYTES = 1 << 20
_BLOCK = 4 << 20
_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# UTF-8 bytes decoded as cp1252/latin-1 and saved again as UTF-8: "JosÃ©", "MÃ¼ller", "itâ€™s".
_MOJIBAKE = re.compile(
    "[ÂÃ][\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc\u2013\u2014"
    "\u2018-\u201e\u2020-\u2022\u2026\u2030\u2039\u203a\u20ac\u2122]"
    "|â€[\u0080-\u00bf\u0153\u02dc\u2018-\u201e\u2022\u2122]"
)


@dataclass
class Encoding:
    """The encoding a CSV file is read with, and what was noticed on the way."""

    name: str                    # a Python codec name (utf-8, utf-8-sig, cp1252, latin-1, ...)
    detected: bool               # True when chosen by ``auto``
    warnings: list[str] = field(default_factory=list)
    mixed: MixedLines | None = None   # lines in UTF-8 and lines in ``name``: decode per line


@dataclass
class MixedLines:
    """Which lines of a mixed file are UTF-8 and which are in the other encoding."""

    other: str                   # cp1252 or latin-1
    utf8_lines: list[int]        # 1-based line numbers (first ones only, for messages)
    other_lines: list[int]
    utf8_count: int = 0
    other_count: int = 0

    def describe(self, path: Path) -> str:
        return (
            f"{path}: mixed encodings: {_lines(self.other_lines, self.other_count)} "
            f"{self.other}, {_lines(self.utf8_lines, self.utf8_count)} UTF-8; each line was "
            "read in its own encoding; check those rows, and save the file as UTF-8 next time")


def _lines(numbers: list[int], count: int) -> str:
    shown = ", ".join(str(n) for n in numbers)
    more = f" and {count - len(numbers)} more" if count > len(numbers) else ""
    word = "line" if count == 1 else "lines"
    verb = "is" if count == 1 else "are"
    return f"{word} {shown}{more} {verb}"


def resolve_encoding(path: Path, requested: str, sample: bytes) -> Encoding:
    """Pick the encoding: a BOM wins, then UTF-8 if the whole file decodes, then cp1252, else
    latin-1 (which decodes anything). An explicit encoding is checked against the whole file."""
    bom = _bom_encoding(sample)
    if requested.lower() != "auto":
        name = _codec_name(requested)
        if bom == "utf-8-sig" and name == "utf-8":
            name = "utf-8-sig"
        _check_decodes(path, name, strict=True)
        return Encoding(name, detected=False)
    if bom is not None:
        return Encoding(bom, detected=True)
    if _check_decodes(path, "utf-8", strict=False):
        return Encoding("utf-8", detected=True)
    other = "cp1252" if _check_decodes(path, "cp1252", strict=False) else "latin-1"
    mixed = _mixed_lines(path, other)
    return Encoding(other, detected=True, mixed=mixed)


def _mixed_lines(path: Path, other: str, *, keep: int = 5) -> MixedLines | None:
    """Lines that are non-ASCII UTF-8 vs lines that are not UTF-8; None unless both exist."""
    found = MixedLines(other, [], [])
    number = 0
    with path.open("rb") as fh:
        for line in fh:
            number += 1
            if line.isascii():
                continue
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                found.other_count += 1
                if len(found.other_lines) < keep:
                    found.other_lines.append(number)
            else:
                found.utf8_count += 1
                if len(found.utf8_lines) < keep:
                    found.utf8_lines.append(number)
    return found if found.utf8_count and found.other_count else None


def decode_line(line: bytes, mixed: MixedLines) -> str:
    """One line of a mixed file: UTF-8 when it is, else the other encoding."""
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError:
        return line.decode(mixed.other, errors="replace")


def mojibake_warning(text: str) -> str | None:
    """A warning when decoded text looks double-encoded (UTF-8 read as cp1252, saved as UTF-8)."""
    hits = _MOJIBAKE.findall(text)
    if not hits:
        return None
    match = _MOJIBAKE.search(text)
    assert match is not None
    start = max(0, text.rfind("\n", 0, match.start()) + 1, match.start() - 20)
    excerpt = text[start:match.end() + 10].split("\n")[0]
    return (
        f"text looks double-encoded (mojibake such as {excerpt!r}, {len(hits)} occurrence(s) "
        "in the first part of the file): it was probably UTF-8 read as cp1252/latin-1 and "
        "saved again; re-export it from the source system as UTF-8"
    )


def _bom_encoding(sample: bytes) -> str | None:
    for bom, name in _BOMS:
        if sample.startswith(bom):
            return name
    return None


def _codec_name(requested: str) -> str:
    try:
        info = codecs.lookup(requested)
    except LookupError:
        message = f"unknown encoding {requested!r} (try utf-8, cp1252 or latin-1)"
        raise ConfigError(message) from None
    return {"utf_8": "utf-8", "iso8859-1": "latin-1", "utf-8-sig": "utf-8-sig"}.get(
        info.name, info.name
    )


def _check_decodes(path: Path, name: str, *, strict: bool) -> bool:
    """Decode the whole file in blocks; ASCII-only blocks of an ASCII-compatible codec are skipped.

    With ``strict`` a failure is an ``InputError`` naming the line and the bytes."""
    decoder = codecs.getincrementaldecoder(name)()
    ascii_ok = name in ("utf-8", "utf-8-sig", "cp1252", "latin-1")
    offset = 0
    with path.open("rb") as fh:
        while True:
            block = fh.read(_BLOCK)
            final = not block
            try:
                if not (ascii_ok and block.isascii() and not decoder.getstate()[0]):
                    decoder.decode(block, final=final)
            except UnicodeDecodeError as exc:
                if not strict:
                    return False
                _raise_undecodable(path, name, offset + exc.start, block[exc.start:exc.end])
            if final:
                return True
            offset += len(block)


def _raise_undecodable(path: Path, name: str, position: int, bad: bytes) -> None:
    with path.open("rb") as fh:
        line = fh.read(position).count(b"\n") + 1
    message = (
        f"{path}, line {line}: bytes {bad!r} cannot be decoded as {name}; "
        "use encoding='auto' or name the file's real encoding"
    )
    raise InputError(message, path=str(path), row=line)
