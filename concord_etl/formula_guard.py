"""The formula-injection guard, both ways: ``neutralise`` on output, ``unneutralise`` on input.

Any text a spreadsheet would run as a formula gets a leading apostrophe when this tool writes it
(exports, reports, results files); readers remove that apostrophe when such a file comes back
for import. Writers and readers both use this module, so the rule lives in one place.
"""

from __future__ import annotations

import re

__all__ = ["neutralise", "unneutralise"]

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
