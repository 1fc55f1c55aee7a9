"""CSV dialect sniffing: which of ``,`` ``;`` tab separates the fields (quote-aware)."""

from __future__ import annotations

import csv
import io
from collections import Counter

from concord_etl.errors import ConfigError

CANDIDATES = (",", ";", "\t")
_MAX_RECORDS = 500


def resolve_delimiter(requested: str, text: str) -> str:
    """``auto`` → sniff ``text`` (the decoded start of the file); else validate the request."""
    if requested == "auto":
        return sniff_delimiter(text)
    aliases = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";"}
    delim = aliases.get(requested.lower(), requested)
    if len(delim) != 1 or delim in "\"\r\n":
        message = f"bad delimiter {requested!r}: use one character such as ',', ';' or 'tab'"
        raise ConfigError(message)
    return delim


def sniff_delimiter(text: str) -> str:
    """The candidate giving the most consistent field count (> 1) over the sample's records.

    Parsing is quote-aware (``csv.reader``), so ``"Acme, Inc."`` in a ``;`` file does not
    count as a comma-separated field. Ties go to the candidate with more columns, then to
    the order ``,`` ``;`` tab. A single-column file gives ``,``.
    """
    cut = _complete_records(text)
    best: tuple[float, int, int] = (0.0, 1, 0)
    choice = ","
    for rank, delim in enumerate(CANDIDATES):
        counts = _field_counts(cut, delim)
        if not counts:
            continue
        mode, freq = Counter(counts).most_common(1)[0]
        if mode < 2:
            continue
        score = (freq / len(counts), mode, -rank)
        if score > best:
            best, choice = score, delim
    return choice


def _complete_records(text: str) -> str:
    """Drop the last (probably cut) line of a sample that does not end the file."""
    end = max(text.rfind("\n"), text.rfind("\r"))
    return text if end < 0 else text[: end + 1]


def _field_counts(text: str, delim: str) -> list[int]:
    counts: list[int] = []
    try:
        for record in csv.reader(io.StringIO(text, newline=""), delimiter=delim):
            if any(cell.strip() for cell in record):
                counts.append(len(record))
            if len(counts) >= _MAX_RECORDS:
                break
    except csv.Error:
        return counts
    return counts
