"""The ``/api`` route table (fixed sub-paths before ``{id}``) and route matching."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from . import controllers as c
from .exchange import Request, Response

Handler = Callable[..., Response]
_METHOD_ORDER = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


@dataclass(frozen=True)
class Route:
    pattern: tuple[str, ...]            # literals, "{resource}", "{id}" (digits), "{related}"
    methods: dict[str, Handler]

    def match(self, segments: list[str]) -> dict[str, str] | None:
        if len(segments) != len(self.pattern):
            return None
        params: dict[str, str] = {}
        for part, seg in zip(self.pattern, segments, strict=True):
            if part.startswith("{"):
                if not seg or (part == "{id}" and not seg.isdigit()):
                    return None
                params[part[1:-1]] = seg
            elif part != seg:
                return None
        return params

    @property
    def label(self) -> str:
        return "/api/" + "/".join(self.pattern)


ROUTES: tuple[Route, ...] = (
    Route(("me",), {"GET": c.me}),
    Route(("countries",), {"GET": c.countries}),
    Route(("timezones",), {"GET": c.timezones}),
    Route(("currencies",), {"GET": c.currencies}),
    Route(("custom-fields",), {"GET": c.custom_fields_index, "POST": c.custom_fields_store}),
    Route(("custom-fields", "{id}"), {"GET": c.custom_fields_show, "PUT": c.custom_fields_update,
                                      "DELETE": c.custom_fields_destroy}),
    Route(("trashed", "{resource}"), {"GET": c.trashed_index, "DELETE": c.trashed_empty}),
    Route(("trashed", "{resource}", "search"), {"GET": c.trashed_search}),
    Route(("trashed", "{resource}", "{id}"), {"GET": c.trashed_show, "POST": c.trashed_restore,
                                               "DELETE": c.trashed_destroy}),
    Route(("fields", "{resource}", "create"), {"GET": c.form_fields}),
    Route(("fields", "{resource}", "update"), {"GET": c.form_fields}),
    Route(("associations", "{resource}", "{id}"), {
        "GET": c.associations_show, "PUT": c.associations_attach,
        "POST": c.associations_sync, "DELETE": c.associations_detach}),
    Route(("{resource}", "create-fields"), {"GET": c.form_fields}),
    Route(("{resource}", "search"), {"GET": c.search}),
    Route(("{resource}", "{id}", "update-fields"), {"GET": c.update_fields}),
    Route(("{resource}", "{id}", "billable"), {"GET": c.billable_show, "POST": c.billable_save}),
    Route(("{resource}",), {"GET": c.index, "POST": c.store}),
    Route(("{resource}", "{id}"), {"GET": c.show, "PUT": c.update, "DELETE": c.destroy}),
    Route(("{resource}", "{id}", "{related}"), {"GET": c.associated_index}),
)


def resolve(req: Request) -> tuple[Route, Handler] | Response:
    """The route and handler for a request, or the 404/405 answer when nothing matches."""
    path = req.path.strip("/")
    segments = path.split("/")[1:] if path.startswith("api") else []
    allowed: list[str] = []
    method = "GET" if req.method == "HEAD" else req.method
    for route in ROUTES:
        params = route.match(segments)
        if params is None:
            continue
        handler = route.methods.get(method)
        if handler is not None:
            req.params = params
            return route, handler
        allowed.extend(m for m in route.methods if m not in allowed)
    if not allowed:
        return Response(404, {"message": f"The route {path} could not be found."})
    if "GET" in allowed:
        allowed.append("HEAD")
    verbs = ", ".join(m for m in _METHOD_ORDER if m in allowed)
    text = (f"The {req.method} method is not supported for route {path}. "
            f"Supported methods: {verbs}.")
    return Response(405, {"message": text}, {"Allow": verbs})
