"""What a "not found" lookup may have meant: the names of a small table close to the typed one.

"Korea" names no country but sits in "North Korea" and "South Korea"; "Referals" is one letter
from "Referrals". The hint is text in the reason only: nothing is matched by it.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable

from concord_etl.validate.country_names import fold

MAX_HINTS = 4
CUTOFF = 0.8          # difflib ratio; below it, suggestions are mostly noise


class NameIndex:
    """The names of one small table, folded once, for ``similar``."""

    def __init__(self, names: Iterable[object]) -> None:
        self.by_fold: dict[str, str] = {}
        for name in names:
            if name not in (None, ""):
                self.by_fold.setdefault(fold(name), str(name))

    def similar(self, typed: object, most: int = MAX_HINTS) -> list[str]:
        """Names close to ``typed`` (spelling, accents) or holding it as whole words, best
        first."""
        want = fold(typed)
        if not want or want in self.by_fold:
            return []
        picks = difflib.get_close_matches(want, list(self.by_fold), n=most, cutoff=CUTOFF)
        if len(want) >= 3:
            word = re.compile(rf"(?<!\w){re.escape(want)}(?!\w)")
            picks += sorted(f for f in self.by_fold if f not in picks and word.search(f))
        return [self.by_fold[p] for p in picks[:most]]
