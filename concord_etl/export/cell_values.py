"""Turn Concord record JSON values into the cell values people read (export side).

Pure functions, no I/O. ``cell_value(record, spec)`` gives the value of one field of one
record as a typed cell value (``str``, ``int``, ``float``, ``bool``, ``datetime.date``, naive
UTC ``datetime.datetime`` or ``None`` for an empty cell); ``cell_kind(spec)`` gives the
``ColumnDef.kind`` to declare for it.

Round trip: what comes out is what the import side accepts back — option *labels*, related
records by *name* (or a chosen key such as ``email``), multi-valued cells joined with the
mapping column's own ``split`` separator, numbers as numbers, dates as dates.

Phones are bare numbers joined with ``split`` (what the import side's phone check accepts);
a column with ``phone_type`` (a mapping's ``{field: phones, phone_type: mobile}``) gets only
the numbers of that type. ``show_phone_type=True`` gives the display form
``"+15550100 (mobile), +15550101 (work)"`` for reports that are not meant to come back;
``parse_phone_token`` reads that form (and Concord's own ``"number|type"``) back.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Iterable, Mapping
from typing import Any

from concord_etl.crm.fields import FieldSpec
from concord_etl.mapping.model import basic_type
from concord_etl.output.columns import ColumnDef, Kind

# BelongsTo attributes whose relation object is not simply the attribute minus ``_id``.
RELATION_KEYS: dict[str, str] = {"parent_company_id": "parent"}
PHONE_TYPES = ("mobile", "work", "other")

_TEXT_TYPES = frozenset({"Text", "Textarea", "Email", "Url", "ColorSwatch", "Timezone", "Enum"})
_KINDS: dict[str, Kind] = {
    "Number": "integer",
    "Id": "integer",
    "Numeric": "number",
    "Decimal": "number",
    "Date": "date",
    "DateTime": "datetime",
    "Boolean": "bool",
}
_PHONE_TOKEN = re.compile(
    r"^\s*(?P<number>.*?)\s*(?:\((?P<paren>mobile|work|other)\)|\|\s*(?P<bar>mobile|work|other))?\s*$",
    re.IGNORECASE,
)
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})


def cell_kind(spec: FieldSpec) -> Kind:
    """The ``ColumnDef.kind`` for a field: Number → integer, Numeric/Decimal → number, ..."""
    return _KINDS.get(basic_type(spec.type), "text")


def column_def(spec: FieldSpec, name: str | None = None) -> ColumnDef:
    """The output column for a field: header ``name`` (default the field's label), its kind."""
    return ColumnDef(name or spec.label, cell_kind(spec))


def cell_value(
    record: Mapping[str, Any],
    spec: FieldSpec,
    *,
    split: str = ", ",
    key: str | None = None,
    phone_type: str | None = None,
    show_phone_type: bool = False,
    related: Mapping[Any, str] | None = None,
    slot: tuple[int, int] | None = None,
) -> Any:
    """The cell value of ``spec``'s field in an API ``record``.

    - ``split``: separator joining multi-valued fields (Checkbox/MultiSelect labels, tags,
      associations, phones) — pass the mapping column's ``split`` so the cell re-imports.
    - ``key``: which key of a related object to show (BelongsTo default ``name``, associations
      default ``display_name``; e.g. ``email`` for owners or contacts).
    - ``phone_type``: only phones of this type; ``show_phone_type``: ``"number (type)"`` items.
    - ``related``: id → label for BelongsTo/Association ids whose object is not in the record.
    - ``slot``: ``(k, n)`` for the k-th of n columns sharing one phone list (see ``phones_text``).
    """
    ftype = basic_type(spec.type)  # Domain → Text, Editor → Textarea, ...
    if ftype == "BelongsTo":
        return belongs_to_value(record, spec.attribute, key=key or "name", related=related)
    value = record.get(spec.attribute)
    if value is None:
        return None
    if ftype in _TEXT_TYPES:
        return text_value(value)
    if ftype in ("Select", "Radio"):
        return option_label(spec, value)
    if ftype in ("Checkbox", "MultiSelect"):
        return join_values(_option_labels(spec, value), split)
    if ftype in ("Number", "Id"):
        return integer_value(value)
    if ftype in ("Numeric", "Decimal"):
        return number_value(value)
    if ftype == "Date":
        return parse_date(value)
    if ftype == "DateTime":
        return parse_datetime(value)
    if ftype == "Boolean":
        return bool_value(value)
    if ftype == "Phone":
        return phones_text(
            value, split=split, phone_type=phone_type, show_type=show_phone_type, slot=slot
        )
    if ftype == "Tags":
        return join_values(_object_names(value, "name", None), split)
    if ftype == "Association":
        return join_values(_object_names(value, key or "display_name", related), split)
    return text_value(value)


# -- scalars ----------------------------------------------------------------------------------


def text_value(value: Any) -> str | None:
    """Text as-is; empty text → ``None`` (an empty cell)."""
    if value is None:
        return None
    text = value if isinstance(value, str) else str(value)
    return text if text != "" else None


def integer_value(value: Any) -> int | str | None:
    """``12``, ``12.0``, ``"12"`` → 12; text that is no integer is kept as text."""
    if value is None or isinstance(value, bool):
        return None if value is None else int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else value  # type: ignore[return-value]
    text = str(value).strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        number = number_value(text)
        if isinstance(number, float) and number.is_integer():
            return int(number)
        return text


def number_value(value: Any) -> float | str | None:
    """Decimals (JSON numbers or ``"1500.000"`` strings) → float; other text kept as text."""
    if value is None or isinstance(value, bool):
        return None if value is None else float(value)
    if isinstance(value, int | float):
        return float(value)
    text = str(value).strip()
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        return text


def bool_value(value: Any) -> bool | None:
    """``True``/``1``/``"true"``/``"1"`` → True and the like; unknown text → ``None``."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return bool(value)
    text = str(value).strip().casefold()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    return None


@functools.lru_cache(maxsize=4096)
def _parse_iso(text: str) -> dt.datetime | None:
    try:
        parsed = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(dt.UTC).replace(tzinfo=None)
    return parsed


def parse_datetime(value: Any) -> dt.datetime | str | None:
    """ISO timestamps (``2024-05-01T10:00:00.000000Z``, offsets, space separator) → naive UTC.

    Unparsable text is returned as text (shown as-is rather than lost).
    """
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            return value.astimezone(dt.UTC).replace(tzinfo=None)
        return value
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    text = str(value)
    if not text.strip():
        return None
    parsed = _parse_iso(text)
    return parsed if parsed is not None else text


def parse_date(value: Any) -> dt.date | str | None:
    """Date fields (served as midnight-UTC timestamps, or ``YYYY-MM-DD``) → ``datetime.date``."""
    parsed = parse_datetime(value)
    if isinstance(parsed, dt.datetime):
        return parsed.date()
    return parsed


# -- options, relations, lists -------------------------------------------------------------------


@functools.lru_cache(maxsize=256)
def _labels_by_id(spec: FieldSpec) -> dict[int, str]:
    return {opt.id: opt.name for opt in spec.options}


def option_label(spec: FieldSpec, value: Any) -> str | None:
    """A Select/Radio option id → its label; an unknown id → the id as text."""
    if value is None or value == "":
        return None
    if isinstance(value, Mapping):
        return _object_label(value, spec)
    option_id = _as_id(value)
    if option_id is None:
        return str(value)  # already a label
    return _labels_by_id(spec).get(option_id, str(option_id))


def _option_labels(spec: FieldSpec, values: Any) -> list[str]:
    if isinstance(values, str | int | Mapping):
        values = [values]
    labels: list[str] = []
    for item in values or ():
        label = (
            _object_label(item, spec) if isinstance(item, Mapping) else option_label(spec, item)
        )
        if label:
            labels.append(label)
    return labels


def _object_label(item: Mapping[str, Any], spec: FieldSpec) -> str | None:
    option_id = _as_id(item.get("id"))
    if option_id is not None:
        current = _labels_by_id(spec).get(option_id)
        if current is not None:
            return current
    name = item.get("name")
    if name not in (None, ""):
        return str(name)
    return None if option_id is None else str(option_id)


def _as_id(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def relation_key(attribute: str) -> str:
    """The key of a BelongsTo's related object: ``user_id`` → ``user``."""
    if attribute in RELATION_KEYS:
        return RELATION_KEYS[attribute]
    return attribute[:-3] if attribute.endswith("_id") else attribute


def belongs_to_value(
    record: Mapping[str, Any],
    attribute: str,
    *,
    key: str = "name",
    related: Mapping[Any, str] | None = None,
) -> Any:
    """The related object's ``key`` (e.g. ``record["user"]["name"]``), else ``related[id]``.

    Without either, the id itself (so the cell is never silently empty when a value exists).
    """
    obj = record.get(relation_key(attribute))
    if isinstance(obj, Mapping):
        shown = _pick(obj, key)
        if shown is not None:
            return shown
    raw = record.get(attribute)
    if raw is None and isinstance(obj, Mapping):
        raw = obj.get("id")
    if raw is None or raw == "":
        return None
    if related is not None:
        label = related.get(raw)
        if label is None and _as_id(raw) is not None:
            label = related.get(_as_id(raw))
        if label is not None:
            return label
    return raw


def _pick(obj: Mapping[str, Any], key: str) -> str | None:
    for candidate in (key, "name", "display_name"):
        value = obj.get(candidate)
        if value not in (None, ""):
            return str(value)
    return None


def _object_names(
    values: Any, key: str, related: Mapping[Any, str] | None
) -> list[str]:
    if isinstance(values, str):
        return [values] if values else []
    if isinstance(values, Mapping):
        values = [values]
    names: list[str] = []
    for item in values or ():
        if isinstance(item, Mapping):
            shown = _pick(item, key)
            if shown is None and item.get("id") is not None:
                shown = (related or {}).get(item["id"]) or str(item["id"])
        elif item is None:
            shown = None
        else:
            shown = (related or {}).get(item) or str(item)
        if shown:
            names.append(shown)
    return names


def join_values(values: Iterable[str], split: str = ", ") -> str | None:
    """Join labels with the mapping's separator; nothing → ``None`` (an empty cell)."""
    joined = split.join(v for v in values if v)
    return joined or None


# -- phones ---------------------------------------------------------------------------------


def phones_text(
    phones: Any,
    *,
    split: str = ", ",
    phone_type: str | None = None,
    show_type: bool = False,
    slot: tuple[int, int] | None = None,
) -> str | None:
    """Concord phones ``[{number, type}]`` → ``"+15550100, +15550101"``.

    ``slot=(k, n)``: this is the k-th of n columns sharing the list: the k-th number, and for
    the last column every number from the k-th on (nothing is left out).

    ``phone_type`` keeps only the numbers of that type; ``show_type`` writes each item as
    ``"+15550100 (mobile)"`` (display only: the import side reads bare numbers).
    """
    if isinstance(phones, str):
        return phones or None
    if isinstance(phones, Mapping):
        phones = [phones]
    wanted = phone_type.casefold() if phone_type else None
    parts: list[str] = []
    for phone in phones or ():
        if isinstance(phone, Mapping):
            number = str(phone.get("number") or "").strip()
            ptype = str(phone.get("type") or "").strip()
        else:
            number, ptype = str(phone).strip(), ""
        if not number:
            continue
        if wanted is not None and ptype.casefold() != wanted:
            continue
        parts.append(f"{number} ({ptype})" if show_type and ptype else number)
    if slot is not None:
        k, n = slot
        parts = parts[k:] if k == n - 1 else parts[k:k + 1]
    return join_values(parts, split)


def parse_phone_token(text: str) -> tuple[str, str | None]:
    """Inverse of one ``phones_text`` item: ``"+1555 (work)"``/``"+1555|work"`` → number, type."""
    match = _PHONE_TOKEN.match(text)
    if match is None:  # pragma: no cover - the pattern matches any text
        return text.strip(), None
    ptype = match.group("paren") or match.group("bar")
    return match.group("number"), ptype.casefold() if ptype else None
