"""What an answer must look like, and a plain description of what came instead.

Each ``expect_*`` returns ``(None, value)`` when the payload has the expected shape, else
``(problem, None)`` where ``problem`` reads "the CRM answered X where Y was expected". The
client turns a problem into an :class:`~concord_etl.errors.UnexpectedAnswer` naming the request.
"""

from __future__ import annotations

from typing import Any

__all__ = ["describe", "expect_field_list", "expect_list_of_records", "expect_object",
           "expect_record"]

Check = tuple[str | None, Any]


def describe(payload: Any) -> str:
    """``[1, 2, 3]`` → "a list of 3 numbers"; ``{"a": 1}`` → "an object with keys a"."""
    if payload is None:
        return "nothing (an empty body)"
    if isinstance(payload, bool):
        return f"the value {str(payload).lower()}"
    if isinstance(payload, int | float):
        return f"the number {payload}"
    if isinstance(payload, str):
        text = payload if len(payload) <= 40 else payload[:37] + "..."
        return f"the text {text!r}"
    if isinstance(payload, dict):
        keys = ", ".join(str(k) for k in list(payload)[:6]) + (", ..." if len(payload) > 6 else "")
        return f"an object with keys {keys}" if payload else "an empty object"
    if isinstance(payload, list):
        if not payload:
            return "an empty list"
        kinds = sorted({_kind(item) for item in payload})
        what = kinds[0] if len(kinds) == 1 else "mixed values"
        if len(payload) == 1:
            what = what.removesuffix("s") if what != "mixed values" else "value"
        if what.startswith("object") and all(isinstance(i, dict) for i in payload):
            names = sorted({str(k) for item in payload for k in item})[:6]
            what += f" with keys {', '.join(names)}" if names else " (empty)"
        return f"a list of {len(payload)} {what}"
    return f"a {type(payload).__name__}"


def _kind(item: Any) -> str:
    if isinstance(item, dict):
        return "objects"
    if isinstance(item, bool):
        return "booleans"
    if isinstance(item, int | float):
        return "numbers"
    if isinstance(item, str):
        return "texts"
    if isinstance(item, list):
        return "lists"
    return "nulls" if item is None else "values"


def _answered(payload: Any, expected: str) -> str:
    return f"the CRM answered {describe(payload)} where {expected} was expected"


def expect_record(payload: Any) -> Check:
    """One record: an object with an ``id`` (a number, or digits)."""
    expected = "one record (an object with an id)"
    if not isinstance(payload, dict):
        return _answered(payload, expected), None
    record_id = payload.get("id")
    if isinstance(record_id, bool) or not (
        isinstance(record_id, int) or (isinstance(record_id, str) and record_id.isdigit())
    ):
        return _answered(payload, expected), None
    return None, payload


def expect_object(payload: Any) -> Check:
    """A JSON object (``None``, an empty 204, is an empty object)."""
    if payload is None:
        return None, {}
    if not isinstance(payload, dict):
        return _answered(payload, "an object"), None
    return None, payload


def expect_list_of_records(payload: Any) -> Check:
    """A list of records (objects); ``None`` (an empty 204) is an empty list."""
    expected = "a list of records (objects)"
    if payload is None:
        return None, []
    if not isinstance(payload, list) or not all(isinstance(item, dict) for item in payload):
        return _answered(payload, expected), None
    return None, payload


def expect_field_list(payload: Any) -> Check:
    """``create-fields``: a list of field descriptions, each an object with an ``attribute``
    (also accepted wrapped as ``{"data": [...]}``). Display-only descriptions (a heading: no
    attribute, but a ``component``) may be among them; at least one must be a field."""
    expected = "a list of field descriptions (objects with an 'attribute')"
    items = payload.get("data") if isinstance(payload, dict) and "data" in payload else payload
    if not isinstance(items, list):
        return _answered(payload, expected), None
    fields = 0
    for item in items:
        if not isinstance(item, dict):
            return _answered(items, expected), None
        attribute = item.get("attribute")
        if isinstance(attribute, str) and attribute:
            fields += 1
        elif attribute is not None or not isinstance(item.get("component"), str):
            return _answered(items, expected), None
    if items and not fields:
        return _answered(items, expected), None
    return None, items
