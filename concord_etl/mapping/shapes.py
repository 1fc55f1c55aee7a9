"""What a column's sample values look like, for ``mapping init``'s guesses.

A person deciding where a column goes looks at a few values: ``DD37Cf93aecA6Dc`` is an id from
another system, not a company name; ``1, 2, 3`` in a column called Index are row numbers;
``1990`` is a year, not a date. :func:`shape_of` names the shape of a sample.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
INTEGER = re.compile(r"[+-]?\d+")
YEAR = re.compile(r"(?:1[89]|20|21)\d\d")
# An opaque code: no spaces, letters and digits mixed (or a long digit string), e.g.
# DD37Cf93aecA6Dc, 0yJn77tfsE, CUST-00042.
CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_\-./]{4,}")


@dataclass(frozen=True)
class Shape:
    kind: str                     # empty, row_numbers, integers, ids, years, emails, urls,
                                  # dates, numbers, booleans, text
    example: str = ""             # one value, for comments
    distinct: int = 0

    @property
    def id_like(self) -> bool:
        return self.kind in ("ids", "row_numbers")


def texts_of(values: list[object]) -> list[str]:
    """The sample's values as stripped text, empty cells left out."""
    out = []
    for value in values:
        if value is None:
            continue
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        text = str(value).strip()
        if text and text.lower() not in ("nan", "none", "null"):
            out.append(text)
    return out


def shape_of(values: list[object]) -> Shape:
    """The shape most of a column's sample values share."""
    if any(isinstance(v, (date, datetime)) for v in values):
        return Shape("dates", str(values[0]), len(values))
    texts = texts_of(values)
    if not texts:
        return Shape("empty")
    distinct = len(set(texts))
    example = texts[0]

    def most(test: re.Pattern[str]) -> bool:
        hits = sum(1 for t in texts if test.fullmatch(t))
        return hits * 5 >= len(texts) * 4          # 80 %

    if all(INTEGER.fullmatch(t) for t in texts):
        numbers = [int(t) for t in texts]
        if len(numbers) >= 3 and numbers == list(range(numbers[0], numbers[0] + len(numbers))):
            return Shape("row_numbers", example, distinct)
        if all(YEAR.fullmatch(t) for t in texts):
            return Shape("years", example, distinct)
        return Shape("integers", example, distinct)
    if most(EMAIL):
        return Shape("emails", example, distinct)
    if most(URL):
        return Shape("urls", example, distinct)
    if _codes(texts):
        return Shape("ids", example, distinct)
    return Shape("text", example, distinct)


def _codes(texts: list[str]) -> bool:
    """Opaque ids: every value a code without spaces, mostly mixing letters and digits, all
    different (a real name such as "Acme" or "Vega-Gentry" has no digits)."""
    if len(set(texts)) < len(texts) or not all(CODE.fullmatch(t) for t in texts):
        return False
    mixed = sum(1 for t in texts if re.search(r"\d", t) and re.search(r"[A-Za-z]", t))
    digits = sum(1 for t in texts if t.isdigit() and len(t) >= 6)
    return (mixed + digits) * 5 >= len(texts) * 4


def split_parts(texts: list[str], separator: str) -> list[str]:
    return [p.strip() for t in texts for p in t.split(separator) if p.strip()]


def separator_in(texts: list[str]) -> str | None:
    """The list separator the values use most (``;``, ``|`` or ``,``), if any."""
    counts = {sep: sum(t.count(sep) for t in texts) for sep in (";", "|", ",")}
    best = max(counts, key=lambda s: counts[s])
    return best if counts[best] else None


def is_a_list(texts: list[str], separator: str) -> bool:
    """Whether ``separator`` separates items rather than sitting inside names: some part of a
    split cell is also a whole cell elsewhere ("Acme; Globex" next to "Acme")."""
    whole = {t.casefold() for t in texts if separator not in t}
    for text in texts:
        if separator in text:
            parts = [p.strip().casefold() for p in text.split(separator) if p.strip()]
            if len(parts) > 1 and any(p in whole for p in parts):
                return True
    return False
