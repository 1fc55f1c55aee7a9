"""Laravel-style validation: the error bag, the 422 body, request normalisation, scalar rules."""

from __future__ import annotations

from typing import Any

from . import values
from .resources import Field

EMPTY: tuple[Any, ...] = (None, "", [], {})


class HttpError(Exception):
    """An API answer other than success: status + JSON body (+ extra headers)."""

    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = headers or {}


def message(status: int, text: str) -> HttpError:
    return HttpError(status, {"message": text})


class ErrorBag:
    """Ordered ``attribute → [messages]``; raises the Laravel 422 shape."""

    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}

    def add(self, key: str, text: str) -> None:
        self.errors.setdefault(key, []).append(text)

    def has(self, key: str) -> bool:
        return key in self.errors

    def __bool__(self) -> bool:
        return bool(self.errors)

    def raise_if_any(self) -> None:
        if self.errors:
            raise HttpError(422, summarize(self.errors))


def summarize(errors: dict[str, list[str]]) -> dict[str, Any]:
    flat = [m for msgs in errors.values() for m in msgs]
    if not flat:
        return {"message": "The given data was invalid.", "errors": errors}
    text = flat[0]
    more = len(flat) - 1
    if more == 1:
        text += " (and 1 more error)"
    elif more > 1:
        text += f" (and {more} more errors)"
    return {"message": text, "errors": errors}


def normalize(value: Any) -> Any:
    """TrimStrings + ConvertEmptyStringsToNull, recursively."""
    if isinstance(value, str):
        value = value.strip()
        return value or None
    if isinstance(value, dict):
        return {k: normalize(v) for k, v in value.items()}
    if isinstance(value, list):
        return [normalize(v) for v in value]
    return value


def is_empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def required_error(field: Field, label: str, present: bool, value: Any, creating: bool) -> str | None:
    """The required/filled message for a field, or None."""
    must = field.required and (creating or field.always_required)
    if must and (not present or is_empty(value)):
        return f"The {label} field is required."
    if field.required and present and is_empty(value):
        return f"The {label} field must have a value."
    return None


def check_scalar(ftype: str, label: str, value: Any, field: Field | None = None) -> tuple[Any, str | None]:
    """Validate one non-empty scalar value → (stored value, error message or None)."""
    checker = _CHECKERS.get(ftype)
    if checker is None:
        return value, None
    return checker(label, value, field)


def _string(label: str, value: Any, field: Field | None) -> tuple[Any, str | None]:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None, f"The {label} field must be a string."
    text = str(value)
    limit = field.max_length if field is not None else 191
    if limit and len(text) > limit:
        return None, f"The {label} field must not be greater than {limit} characters."
    return text, None


def _textarea(label: str, value: Any, field: Field | None) -> tuple[Any, str | None]:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None, f"The {label} field must be a string."
    return str(value), None


def _email(label: str, value: Any, field: Field | None) -> tuple[Any, str | None]:
    text, err = _string(label, value, field)
    if err:
        return None, err
    if not values.is_email(text):
        return None, f"The {label} field must be a valid email address."
    return text, None


def _domain(label: str, value: Any, field: Field | None) -> tuple[Any, str | None]:
    text, err = _string(label, value, field)
    if err:
        return None, err
    return values.domain_host(text), None


def _url(label: str, value: Any, field: Field | None) -> tuple[Any, str | None]:
    text, err = _string(label, value, field)
    if err:
        return None, err
    if not values.is_url(text):
        return None, f"The {label} field must be a valid URL."
    return text, None


def _bounds(label: str, number: float, field: Field | None) -> str | None:
    if field is not None and field.minimum is not None and number < field.minimum:
        return f"The {label} field must be at least {values.json_number(field.minimum)}."
    if field is not None and field.maximum is not None and number > field.maximum:
        return f"The {label} field must not be greater than {values.json_number(field.maximum)}."
    return None


def _number(label: str, value: Any, field: Field | None) -> tuple[Any, str | None]:
    number = values.parse_int(value)
    if number is None:
        return None, f"The {label} field must be an integer."
    return number, _bounds(label, number, field)


def _numeric(label: str, value: Any, field: Field | None, *, minimum: float | None = 0) -> tuple[Any, str | None]:
    parsed = values.parse_number(value)
    if parsed is None:
        return None, f"The {label} field must be a number."
    number, decimals = parsed
    if decimals > 3:
        return None, f"The {label} field must have 0-3 decimal places."
    low = field.minimum if field is not None and field.minimum is not None else minimum
    if low is not None and number < low:
        return None, f"The {label} field must be at least {values.json_number(low)}."
    if abs(number) >= 1e12:
        return None, f"The {label} field must not be greater than 999999999999."
    return number, _bounds(label, number, field)


def _decimal(label: str, value: Any, field: Field | None) -> tuple[Any, str | None]:
    return _numeric(label, value, field, minimum=None)


def _date(label: str, value: Any, field: Field | None) -> tuple[Any, str | None]:
    parsed = values.parse_date(value)
    if parsed is None:
        return None, f"The {label} field must be a valid date."
    return parsed, None


def _datetime(label: str, value: Any, field: Field | None) -> tuple[Any, str | None]:
    if field is not None and field.date_only_allowed:
        moment = values.parse_moment(value)
        if moment is None:
            return None, f"The {label} field must be a valid date."
        if not moment[1]:
            return moment[0].date().isoformat(), None
        return values.stamp(moment[0]), None
    parsed = values.parse_datetime(value)
    if parsed is None:
        return None, f"The {label} field must be a valid date."
    return parsed, None


def _boolean(label: str, value: Any, field: Field | None) -> tuple[Any, str | None]:
    parsed = values.parse_bool(value)
    if parsed is None:
        return None, f"The {label} field must be true or false."
    return parsed, None


def _timezone(label: str, value: Any, field: Field | None) -> tuple[Any, str | None]:
    if not isinstance(value, str) or not values.is_timezone(value):
        return None, f"The {label} field must be a valid timezone."
    return value, None


def _color(label: str, value: Any, field: Field | None) -> tuple[Any, str | None]:
    if not isinstance(value, str) or not values.is_hex_color(value):
        return None, f"The {label} field must be a valid hexadecimal color."
    return value, None


def _enum(label: str, value: Any, field: Field | None) -> tuple[Any, str | None]:
    choices = field.choices if field is not None else ()
    if isinstance(value, str) and value.lower() in choices:
        return value.lower(), None
    return None, f"The selected {label} is invalid."


_CHECKERS = {
    "Text": _string, "Textarea": _textarea, "Email": _email, "Url": _url, "Domain": _domain,
    "Number": _number, "Numeric": _numeric, "Decimal": _decimal, "Date": _date,
    "DateTime": _datetime, "Boolean": _boolean, "Timezone": _timezone, "ColorSwatch": _color,
    "Enum": _enum,
}
