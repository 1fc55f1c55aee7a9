"""Transport-independent request/response values shared by the router, admin and server."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from .store import Row
from .validation import HttpError

WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


@dataclass
class Request:
    method: str
    path: str                               # without query string, e.g. /api/contacts/5
    query: dict[str, str]                   # last value of each key
    query_string: str
    headers: dict[str, str]                 # lower-cased names
    body: bytes = b""
    base_url: str = "http://127.0.0.1"
    user: Row | None = None
    params: dict[str, str] = field(default_factory=dict)   # route parameters

    def json(self) -> Any:
        """The JSON body (None when empty); 400 when it is not valid JSON."""
        if not self.body.strip():
            return None
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError) as exc:
            text = f"The request body is not valid JSON: {exc}."
            raise HttpError(400, {"message": text}) from None

    @property
    def is_write(self) -> bool:
        return self.method in WRITE_METHODS


@dataclass
class Response:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    resource: str | None = None
    record_id: int | None = None
    route: str | None = None
    counted: bool = False
    fault: bool = False
    drop: bool = False
    raw: bytes | None = None                # pre-encoded body (admin pages)

    def encode(self) -> bytes:
        if self.raw is not None:
            return self.raw
        if self.body is None and self.status == 204:
            return b""
        return json.dumps(self.body, separators=(",", ":"), ensure_ascii=False).encode()


def error_response(exc: HttpError) -> Response:
    return Response(exc.status, exc.body, dict(exc.headers))
