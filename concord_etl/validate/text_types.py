"""Field types whose values are text: Text, Textarea, Email, Url, ColorSwatch and Phone.

What Concord accepts, and so what passes here:

- Text: up to the field's length (191 characters by default). Textarea: any length.
- Email: ``local@domain`` with the characters an e-mail address may hold (the domain may lack a
  dot, as in ``bob@localhost``: accepted, with a warning). Sent lower-cased.
- Url: ``http``, ``https``, ``ftp`` or ``ftps`` followed by a host; at most 191 characters.
- ColorSwatch: ``#`` and 3, 4, 6 or 8 hex digits.
- Phone: any text of at most 191 characters per number; Concord keeps extensions such as
  ``001-672-799-2170x5610``, and so does concord-etl (``transform: [drop_extension]`` removes
  them). A number with fewer than 5 digits, or with letters, is accepted with a warning.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from concord_etl.mapping.model import PHONE_TYPES
from concord_etl.validate.checks import (
    TEXT_LIMIT,
    CellCheck,
    FieldType,
    cleaner,
    listing,
    per_value,
    quote,
    text_length,
)
from concord_etl.validate.transforms import EXTENSION_PATTERN, regex_mask

EMAIL_LOCAL = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
EMAIL_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
EMAIL_PATTERN = rf"{EMAIL_LOCAL}@(?:{EMAIL_LABEL}\.)*{EMAIL_LABEL}"
URL_PATTERN = (
    r"(?i:https?|ftps?)://(?:[^\s/?#@]+@)?[^\s/?#@:.]+(?:\.[^\s/?#@:.]+)*(?::\d{1,5})?"
    r"(?:[/?#]\S*)?"
)
COLOR_PATTERN = r"#(?:[0-9A-Fa-f]{3}|[0-9A-Fa-f]{4}|[0-9A-Fa-f]{6}|[0-9A-Fa-f]{8})"
PHONE_DIGITS = r"(?:[^0-9]*[0-9]){5}"
# Letters in a phone number other than an extension marker ("x", "ext.", "extension")
PHONE_NO_LETTERS = rf"[^A-Za-z]*(?:{EXTENSION_PATTERN[:-1]})?"


def _contains(pattern: str) -> Any:
    def test(series: pd.Series) -> pd.Series:
        return pd.Series(regex_mask(series, pattern, full=False, anchored=False),
                         index=series.index)

    return test


def _matches(pattern: str) -> Any:
    def test(series: pd.Series) -> pd.Series:
        return pd.Series(regex_mask(series, pattern), index=series.index)

    return test


def max_length(limit: int) -> CellCheck:
    def test(series: pd.Series) -> pd.Series:
        return text_length(series) <= limit

    def reason(value: Any) -> str:
        text = str(value)
        return f"{quote(text, 30)} is too long ({len(text)} characters, at most {limit})"

    return CellCheck("max_length", test, reason)


# -- the types ---------------------------------------------------------------------------------


def text_type(name: str = "Text", limit: int | None = TEXT_LIMIT) -> FieldType:
    checks = (max_length(limit),) if limit else ()
    return FieldType(name, checks=checks)


def textarea_type() -> FieldType:
    return FieldType("Textarea")


def email_type(limit: int | None = TEXT_LIMIT, done: Iterable[str] = ()) -> FieldType:
    valid = CellCheck(
        "email", _matches(EMAIL_PATTERN), lambda v: f"{quote(v)} is not a valid e-mail address"
    )
    dotted = CellCheck(
        "email_domain",
        _contains(r"@[^@]*\."),   # the full pattern is the "email" check's
        lambda v: f"{quote(v)} has no dot in its domain; Concord accepts it, but is it a typo?",
        severity="warning",
    )
    checks = (valid, max_length(limit or TEXT_LIMIT), dotted)
    return FieldType("Email", checks=checks, parse=cleaner(done, lower=True))


def url_type(limit: int | None = TEXT_LIMIT, done: Iterable[str] = ()) -> FieldType:
    valid = CellCheck(
        "url",
        _matches(URL_PATTERN),
        lambda v: f"{quote(v)} is not a valid URL (http:// or https:// followed by a host)",
    )
    return FieldType("Url", checks=(valid, max_length(limit or TEXT_LIMIT)), parse=cleaner(done))


def colour_type(done: Iterable[str] = ()) -> FieldType:
    valid = CellCheck(
        "colour", _matches(COLOR_PATTERN), lambda v: f"{quote(v)} is not a colour like #1a2b3c"
    )
    return FieldType("ColorSwatch", checks=(valid,), parse=cleaner(done))


# -- phones ------------------------------------------------------------------------------------


def split_numbers(text: str, sep: str | None) -> list[str]:
    """The numbers of one phone cell: split on ``sep`` (when given), trimmed, empty ones dropped;
    a ``|type`` suffix stays on the item (``phone_item`` reads it)."""
    parts = text.split(sep) if sep else [text]
    return [p.strip() for p in parts if p.strip()]


def _numbers(text: str, sep: str | None) -> list[str]:
    """The bare numbers of one phone cell (``|type`` suffixes dropped)."""
    return [phone_item(n, "mobile")[0] for n in split_numbers(text, sep)]


def phone_item(text: str, default_kind: str) -> tuple[str, str]:
    """One number of a phone cell as Concord reads it: ``"+1555|work"`` → (``+1555``, ``work``);
    an unknown type after the ``|`` falls back to ``default_kind``."""
    number, bar, kind = text.rpartition("|")
    if not bar:
        return text.strip(), default_kind
    kind = kind.strip().lower()
    return number.strip(), kind if kind in PHONE_TYPES else default_kind


def _looks_like_phone(number: str) -> bool:
    return (
        re.match(PHONE_DIGITS, number) is not None
        and re.fullmatch(PHONE_NO_LETTERS, number) is not None
    )


def phone_type(
    phone_kind: str = "mobile", split: str | None = None, done: Iterable[str] = ()
) -> FieldType:
    """Phones: each number at most 191 characters; odd-looking numbers are only warned about.

    A cell may hold several numbers (``split``, Concord's ``,`` by default) and ``|type``
    suffixes; cells holding one plain number (nearly all) are judged by whole-column regexes,
    the others once per distinct value.
    """
    def single(series: pd.Series) -> np.ndarray:
        marks = "|" + (split or "")
        pattern = "[" + re.escape(marks) + "]"
        return ~regex_mask(series, pattern, full=False, anchored=False) | series.isna().to_numpy()

    def fits(values: list[str]) -> list[bool]:
        return [all(len(n) <= TEXT_LIMIT for n in _numbers(v, split)) for v in values]

    def shaped(values: list[str]) -> list[bool]:
        return [all(_looks_like_phone(n) for n in _numbers(v, split)) for v in values]

    def length_test(series: pd.Series) -> pd.Series:
        ok = (text_length(series) <= TEXT_LIMIT).to_numpy(dtype=bool) | series.isna().to_numpy()
        several = ~single(series) & ~ok           # only long cells can hide a long number
        if several.any():
            ok[several] = per_value(fits)(series[several]).to_numpy(dtype=bool)
        return pd.Series(ok, index=series.index)

    def shape_test(series: pd.Series) -> pd.Series:
        ok = regex_mask(series, PHONE_DIGITS, full=False)
        lettered = regex_mask(series, "[A-Za-z]", full=False, anchored=False)
        if lettered.any():     # letters are fine only as an extension marker
            ok[lettered] &= regex_mask(series[lettered], PHONE_NO_LETTERS)
        several = ~single(series)
        if several.any():
            ok[several] = per_value(shaped)(series[several]).to_numpy(dtype=bool)
        return pd.Series(ok, index=series.index)

    def too_long(value: Any) -> str:
        long = [n for n in _numbers(str(value), split) if len(n) > TEXT_LIMIT]
        shown = long[0] if long else str(value)
        return f"{quote(shown, 30)} is too long for a phone number ({len(shown)} characters, " \
               f"at most {TEXT_LIMIT})"

    def odd(value: Any) -> str:
        bad = [n for n in _numbers(str(value), split) if not _looks_like_phone(n)]
        return (
            f"{listing(quote(b) for b in bad or [str(value)])} does not look like a phone number "
            "(fewer than 5 digits, or letters); Concord stores it as written"
        )

    def to_wire(value: Any) -> Any:
        if not isinstance(value, str):
            return value
        items = [phone_item(n, phone_kind) for n in split_numbers(value, split)]
        return [{"number": number, "type": kind} for number, kind in items if number] or None

    checks = (
        CellCheck("phone_length", length_test, too_long),
        CellCheck("phone_shape", shape_test, odd, severity="warning"),
    )
    return FieldType("Phone", checks=checks, parse=cleaner(done), to_wire=to_wire, many=True)

