"""The formula-injection guard, both ways: ``neutralise`` on output, ``unneutralise`` on input.

Text that a spreadsheet would run as a formula gets a leading apostrophe ``'`` when this tool
writes it (the OWASP advice against CSV injection); the readers remove that apostrophe when a
file comes back for import — results files after a fix, exports edited for an update. Writers
and readers all use this module, so the rule lives in one place:

* **Triggers**: a text starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return (or
  the full-width ``＝ ＋ － ＠`` that some tools fold to ASCII).
* **CSV** (:func:`neutralise`): every text of two or more characters starting with a trigger
  is guarded — phone numbers (``+1-532-344-1362``, ``+44 20 7946 0958``), ``+1+2``, ``-3-4``
  alike — except a plain negative number (``-12.5``, ``-3``), which a spreadsheet reads as the
  same number and which cannot run anything. Numbers written as numbers are never touched.
* **Workbook text cells** (:func:`neutralise_cell`): a workbook stores text cells as text, so
  nothing in them runs; the guard there only protects a later copy to CSV. Formulas are guarded
  (``=…``, ``@…``, ``-2+3+cmd|…``), numbers and phone numbers are not (``+44 20 7946 0958``,
  ``+1-887-577-1205x5686`` and ``+1-532-344-1362`` all stay as they are).
* **Reading** (:func:`unneutralise`, on every input file): one leading apostrophe is removed
  when what follows starts with a trigger (``'+1-887-577-1205`` → ``+1-887-577-1205``) —
  whatever the rest of the cell says, so the guard goes away also after the user edited the
  cell. Any other leading apostrophe (``'tis``, ``'quoted'``) is the user's and stays.
* The writers also guard text that already starts with apostrophes before a trigger
  (``'=x`` is written ``''=x``), so every text survives the round trip unchanged.
"""

from __future__ import annotations

import re

__all__ = ["TRIGGERS", "neutralise", "neutralise_cell", "unneutralise"]

TRIGGERS = frozenset("=+-@\t\r＝＋－＠")
_ALWAYS = frozenset("=@\t\r＝＠")           # formulas in a workbook cell as well
_GUARDED = re.compile("'*[=+\\-@\t\r＝＋－＠]")  # what the reader's apostrophe may precede
_NEGATIVE_NUMBER = re.compile(r"-(?:0|[1-9][0-9]*)(?:\.[0-9]+)?")
# A number or phone number: digits, spaces, ( ) . , / + - and an extension (x123, ext. 12).
# Without letters, quotes, '!', '|' it can neither call a function, reference a cell nor
# start DDE.
_PHONE_OR_NUMBER = re.compile(
    r"[+\-＋－][0-9 ().,/+\-]*[0-9][0-9 ().,/+\-]*(?:\s*(?:x|ext\.?|extension)\s*[0-9]+)?",
    re.IGNORECASE,
)


def neutralise(text: str) -> str:
    """The CSV guard: ``'`` before text a spreadsheet would run (see the module doc)."""
    if len(text) < 2:                 # "", "-", "+" and "=" alone are never formulas
        return text
    first = text[0]
    if first == "'":
        return "'" + text if _GUARDED.match(text) else text
    if first not in TRIGGERS:
        return text
    if first == "-" and _NEGATIVE_NUMBER.fullmatch(text):
        return text
    return "'" + text


def neutralise_cell(text: str) -> str:
    """The guard for a workbook's text cell: formulas, not numbers or phone numbers."""
    if len(text) < 2:
        return text
    first = text[0]
    if first == "'":
        return "'" + text if _GUARDED.match(text) else text
    if first in _ALWAYS:
        return "'" + text
    if first in TRIGGERS and _PHONE_OR_NUMBER.fullmatch(text) is None:
        return "'" + text
    return text


def unneutralise(text: str) -> str:
    """Undo either guard: drop one leading ``'`` that precedes a trigger (or more apostrophes
    and a trigger). ``"'=SUM(A1)"`` → ``"=SUM(A1)"``; ``"'quoted'"`` and ``"'"`` stay."""
    if len(text) > 1 and text[0] == "'" and _GUARDED.match(text, 1):
        return text[1:]
    return text
