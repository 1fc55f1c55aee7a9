"""The request pipeline: route → CSRF → auth → throttle → API access → faults → controller."""

from __future__ import annotations

import sys
import time
import traceback
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from . import admin, routing
from .exchange import Request, Response, error_response
from .store import Row, Store
from .throttle import Dice, RateLimiter
from .validation import HttpError

APP_VERSION = "1.5.1"
NO_API = "Your account is not authorized to perform API requests."


@dataclass
class Config:
    token: str = "sandbox-token"
    seed: Any = "demo"
    rate_limit: int = 90
    rate_window: float = 60.0
    latency_ms: float = 0.0
    fault_rate: float = 0.0
    drop_after_commit_rate: float = 0.0
    fault_seed: int | None = None
    max_per_page: int = 100
    quiet: bool = True

    def public(self) -> dict[str, Any]:
        keys = ("rate_limit", "rate_window", "latency_ms", "fault_rate",
                "drop_after_commit_rate", "fault_seed", "max_per_page")
        data = asdict(self)
        return {k: data[k] for k in keys}


class App:
    """Everything a request needs: the store, the configuration, the limiter and the dice."""

    def __init__(self, store: Store, config: Config) -> None:
        self.store = store
        self.config = config
        self.limiter = RateLimiter(config.rate_limit, config.rate_window)
        self.dice = Dice(config.fault_seed)

    def handle(self, req: Request) -> Response:
        if req.path == "/_sandbox" or req.path.startswith("/_sandbox/"):
            return admin.handle(self, req)
        if req.path != "/api" and not req.path.startswith("/api/"):
            path = req.path.strip("/")
            return Response(404, {"message": f"The route {path} could not be found."})
        if self.config.latency_ms > 0:
            time.sleep(self.config.latency_ms / 1000.0)
        resolved = routing.resolve(req)
        if isinstance(resolved, Response):
            return resolved
        route, handler = resolved
        response = self._guarded(req, handler)
        label = route.label.replace("{resource}", req.params.get("resource", "{resource}"))
        response.route = f"{req.method} {label}"
        if response.resource is None:
            response.resource = req.params.get("resource")
        return response

    def _guarded(self, req: Request, handler: Any) -> Response:
        if req.is_write and (req.headers.get("origin") or req.headers.get("referer")):
            return Response(419, {"message": "CSRF token mismatch."})
        user = self.authenticate(req)
        if user is None:
            return Response(401, {"message": "Unauthenticated."})
        req.user = user
        allowed, headers = self.limiter.hit(user["id"])
        if not allowed:
            return Response(429, {"message": "Too Many Attempts."}, headers)
        response = self._controller(req, handler)
        response.headers.update(headers)
        response.counted = True
        if req.is_write and response.status < 300:
            response.drop = self.dice.roll(self.config.drop_after_commit_rate)
        return response

    def _controller(self, req: Request, handler: Any) -> Response:
        try:
            if not req.user or not req.user.get("access_api"):
                raise HttpError(403, {"error": NO_API})
            if self.dice.roll(self.config.fault_rate):
                return Response(500, {"message": "Server Error"}, fault=True)
            return handler(self, req)
        except HttpError as exc:
            return error_response(exc)
        except Exception:
            if not self.config.quiet:
                traceback.print_exc(file=sys.stderr)
            return Response(500, {"message": "Server Error"})

    def authenticate(self, req: Request) -> Row | None:
        header = req.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return None
        with self.store.lock:
            users = self.store.table("users")
            if token == self.config.token:
                return users.get(1)
            for user in users.values():
                if user["id"] != 1 and user.get("token") and user.get("token") == token:
                    return user
        return None

    def reconfigure(self, changes: dict[str, Any]) -> dict[str, Any]:
        numeric = {"rate_limit": int, "rate_window": float, "latency_ms": float,
                   "fault_rate": float, "drop_after_commit_rate": float, "max_per_page": int}
        for key, cast in numeric.items():
            if key in changes and changes[key] is not None:
                setattr(self.config, key, cast(changes[key]))
        if "fault_seed" in changes:
            self.config.fault_seed = changes["fault_seed"]
            self.dice = Dice(self.config.fault_seed)
        self.limiter.configure(self.config.rate_limit, self.config.rate_window)
        return self.config.public()

    def log(self, req: Request, resp: Response, elapsed: float) -> None:
        if req.path.startswith("/_sandbox"):
            return
        user_id = req.user["id"] if req.user else None
        entry = {
            "ts": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "method": req.method,
            "path": req.path, "query": req.query_string, "status": resp.status,
            "user_id": user_id, "resource": resp.resource, "record_id": resp.record_id,
            "counted": resp.counted, "fault": resp.fault, "dropped": resp.drop,
            "route": resp.route or f"{req.method} {req.path}",
        }
        self.store.log_request(entry)
        if not self.config.quiet:
            query = f"?{req.query_string}" if req.query_string else ""
            note = " (dropped)" if resp.drop else ""
            line = (f"{str(entry['ts'])[11:23]} {req.method} {req.path}{query} -> {resp.status}{note}"
                    f" user={user_id} {elapsed * 1000:.1f}ms")
            print(line, file=sys.stderr, flush=True)
