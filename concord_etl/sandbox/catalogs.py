"""Reference data a real install ships: ISO 3166 countries, ISO 4217 currencies, time zones.

The files under ``seeds/`` were derived once from the ISO 3166-1 and ISO 4217 tables and the
tz database's ``zone.tab`` (the zones PHP's ``DateTimeZone::listIdentifiers()`` returns, plus
``UTC``), so the sandbox knows the same ~250 countries, ~150 currencies and ~420 zones as a
Concord install, without any dependency.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

SEED_DIR = Path(__file__).resolve().parent / "seeds"


def _load(name: str) -> Any:
    return json.loads((SEED_DIR / name).read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def countries() -> tuple[dict[str, Any], ...]:
    """``{id (ISO numeric), name, iso_3166_2, iso_3166_3}`` for every ISO 3166-1 country."""
    return tuple(_load("countries.json"))


@lru_cache(maxsize=1)
def currencies() -> dict[str, dict[str, Any]]:
    """ISO code → ``{name, code, precision, subunit, symbol, symbol_first, decimal_mark,
    thousands_separator}`` (the money-library shape ``GET /api/currencies`` answers with)."""
    return dict(_load("currencies.json"))


def currency(iso_code: str) -> dict[str, Any] | None:
    """The currency object a Numeric money field carries: the entry plus its ``iso_code``."""
    found = currencies().get(iso_code.upper())
    return None if found is None else {**found, "iso_code": iso_code.upper()}


@lru_cache(maxsize=1)
def timezones() -> tuple[str, ...]:
    """The zone names Concord's ``timezone`` rule accepts, sorted, ``UTC`` last."""
    return tuple(_load("timezones.json"))
