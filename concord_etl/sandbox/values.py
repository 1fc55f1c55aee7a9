"""Scalar value parsing the way Laravel/Concord accepts it (dates, numbers, booleans, ...)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from functools import lru_cache
from urllib.parse import urlsplit

from . import catalogs

_MONTHS = {
    name: i
    for i, names in enumerate(
        (
            ("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"),
            ("may",), ("jun", "june"), ("jul", "july"), ("aug", "august"),
            ("sep", "sept", "september"), ("oct", "october"), ("nov", "november"),
            ("dec", "december"),
        ),
        start=1,
    )
    for name in names
}
_TIME = r"(?:[ T](?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2})(?:\.\d+)?)?)?"
_DATE_PATTERNS = (
    (re.compile(r"^(?P<y>\d{4})[-/](?P<m>\d{1,2})[-/](?P<d>\d{1,2})" + _TIME + "$"), None),
    (re.compile(r"^(?P<m>\d{1,2})/(?P<d>\d{1,2})/(?P<y>\d{4})" + _TIME + "$"), None),
    (re.compile(r"^(?P<d>\d{1,2})[-.](?P<m>\d{1,2})[-.](?P<y>\d{4})" + _TIME + "$"), None),
    (re.compile(r"^(?P<d>\d{1,2})[ -](?P<mn>[A-Za-z]+)\.?[ -,]*(?P<y>\d{4})" + _TIME + "$"), "mn"),
    (re.compile(r"^(?P<mn>[A-Za-z]+)\.? (?P<d>\d{1,2})(?:st|nd|rd|th)?,? (?P<y>\d{4})" + _TIME + "$"),
     "mn"),
)
_HEX_COLOR = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{4}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})$")
_EMAIL = re.compile(
    r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)*[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$"
)
_CURRENCY = re.compile(r"^(?:[A-Za-z]{3}\s*|[$€£¥]\s*)?(?P<n>[-+]?[\d,]*\.?\d+)(?:\s*[A-Za-z]{3})?$")
_INT = re.compile(r"^[-+]?\d+$")
_TRUE = {"1", "true", "on", "yes"}
_FALSE = {"0", "false", "off", "no"}


def now_utc() -> datetime:
    return datetime.now(UTC).replace(microsecond=0, tzinfo=None)


def iso_ts(value: str | None) -> str | None:
    """Stored ``YYYY-MM-DD HH:MM:SS`` / ``YYYY-MM-DD`` (UTC) → Carbon JSON form."""
    if not value:
        return None
    if len(value) == 10:
        return f"{value}T00:00:00.000000Z"
    return f"{value[:10]}T{value[11:19]}.000000Z"


def stamp(moment: datetime | None = None) -> str:
    """A stored UTC timestamp ``YYYY-MM-DD HH:MM:SS``."""
    return (moment or now_utc()).strftime("%Y-%m-%d %H:%M:%S")


def parse_moment(value: object) -> tuple[datetime, bool] | None:
    """Parse a date/datetime string → (naive UTC datetime, has_time); None when invalid."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text:
        return None
    iso = _parse_iso(text)
    if iso is not None:
        return iso
    for pattern, month_group in _DATE_PATTERNS:
        match = pattern.match(text)
        if match is None:
            continue
        parts = match.groupdict()
        month = _MONTHS.get(parts["mn"].lower()) if month_group else int(parts["m"])
        if month is None:
            return None
        try:
            moment = datetime(
                int(parts["y"]), month, int(parts["d"]),
                int(parts["h"] or 0), int(parts["mi"] or 0), int(parts["s"] or 0),
            )
        except ValueError:
            return None
        return moment, parts["h"] is not None
    return None


def _parse_iso(text: str) -> tuple[datetime, bool] | None:
    if not re.match(r"^\d{4}-\d{2}-\d{2}", text):
        return None
    try:
        moment = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        return None
    has_time = len(text) > 10
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.replace(microsecond=0), has_time


def parse_date(value: object) -> str | None:
    """A Date value → ``YYYY-MM-DD`` (the date as written, no timezone shift)."""
    if isinstance(value, str) and re.match(r"^\d{4}-\d{2}-\d{2}$", value.strip()):
        try:
            return date.fromisoformat(value.strip()).isoformat()
        except ValueError:
            return None
    parsed = parse_moment(value)
    if parsed is None:
        return None
    if isinstance(value, str) and "T" in value and parsed[1]:
        try:  # keep the written calendar date even when an offset is present
            return date.fromisoformat(value.strip()[:10]).isoformat()
        except ValueError:
            pass
    return parsed[0].date().isoformat()


def parse_datetime(value: object) -> str | None:
    """A DateTime value → stored ``YYYY-MM-DD HH:MM:SS`` in UTC."""
    parsed = parse_moment(value)
    return None if parsed is None else stamp(parsed[0])


def parse_bool(value: object) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        low = value.strip().lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
    return None


def parse_int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and _INT.match(value.strip()):
        return int(value.strip())
    return None


def parse_number(value: object, *, currency: bool = True) -> tuple[float, int] | None:
    """A numeric value → (number, decimal places); currency codes and thousands commas allowed."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return float(value), 0
    if isinstance(value, float):
        text = repr(value)
        if "e" in text or "inf" in text or "nan" in text:
            return (value, 0) if value == value and abs(value) < 1e15 else None
    elif isinstance(value, str):
        text = value.strip()
        if currency:
            match = _CURRENCY.match(text)
            if match is None:
                return None
            text = match.group("n").replace(",", "")
        if not re.match(r"^[-+]?(\d+\.?\d*|\.\d+)$", text):
            return None
    else:
        return None
    decimals = len(text.split(".", 1)[1].rstrip("0")) if "." in text else 0
    return float(text), decimals


def json_number(value: float | None) -> float | int | None:
    if value is None:
        return None
    return int(value) if float(value).is_integer() else round(float(value), 3)


def is_email(value: str) -> bool:
    return len(value) <= 254 and _EMAIL.match(value) is not None


def is_url(value: str) -> bool:
    if " " in value:
        return False
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme.lower() in {"http", "https", "ftp", "ftps"} and bool(parts.hostname)


def domain_host(value: str) -> str:
    """A Domain field's input as Concord stores it: ``https://www.acme.com/x`` → ``www.acme.com``."""
    text = value.strip()
    if re.match(r"^https?://", text, re.IGNORECASE):
        try:
            return urlsplit(text).hostname or text
        except ValueError:
            return text
    return text


def is_hex_color(value: str) -> bool:
    return _HEX_COLOR.match(value) is not None


def is_timezone(value: str) -> bool:
    return value in _zone_set()


@lru_cache(maxsize=1)
def _zone_set() -> frozenset[str]:
    return frozenset(catalogs.timezones())
