"""Connecting: a ``ConcordClient`` from the arguments, the environment, a profile or ``.env``,
with the client limits the environment sets; and a run's request/wait counters."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from concord_etl.crm.client import ConcordClient, RetryPolicy
from concord_etl.errors import ConfigError
from concord_etl.settings import Secret, Settings, load_settings

__all__ = ["ENV_LIMITS", "client_for", "client_options_from_env", "connect", "usage"]

ENV_LIMITS = {
    "CONCORD_REQUEST_DEADLINE": "deadline",
    "CONCORD_MAX_RESPONSE_MB": "max_body_bytes",
    "CONCORD_MAX_RETRY_AFTER": "max_retry_after",
}


def client_options_from_env(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Client limits from the environment (``ConcordClient`` keyword arguments):

    ``CONCORD_REQUEST_DEADLINE`` seconds for one request, connect to last byte (120);
    ``CONCORD_MAX_RESPONSE_MB`` the largest answer read (100); ``CONCORD_MAX_RETRY_AFTER``
    the longest ``Retry-After`` waited for before giving up (300 s).
    """
    environ = os.environ if env is None else env
    options: dict[str, Any] = {}
    for name, key in ENV_LIMITS.items():
        raw = (environ.get(name) or "").strip()
        if not raw:
            continue
        try:
            value = float(raw)
        except ValueError:
            value = float("nan")
        if not value > 0 or value == float("inf"):
            message = f"{name}={raw!r}: expected a positive number"
            raise ConfigError(message)
        if key == "max_body_bytes":
            options[key] = int(value * 1024 * 1024)
        elif key == "max_retry_after":
            options["retry"] = RetryPolicy(max_retry_after=value)
        else:
            options[key] = value
    return options


def connect(
    url: str | None = None,
    *,
    token: str | Secret | None = None,
    token_file: str | Path | None = None,
    profile: str | None = None,
    allow_insecure_http: bool = False,
    **client_options: Any,
) -> ConcordClient:
    """A client for the CRM named by the arguments, else by ``CONCORD_URL``/``CONCORD_TOKEN``,
    a profile (``profile=`` or ``CONCORD_PROFILE``, from ``profiles.toml``) or a ``.env`` file in
    the working directory; see :func:`concord_etl.settings.load_settings`.

    ``client_options`` go to :class:`ConcordClient` (``timeout``, ``retry``, ``pacer``, ...);
    limits not given are read from the environment (:func:`client_options_from_env`).
    """
    settings = load_settings(
        url, token=token, token_file=token_file, profile=profile,
        allow_insecure_http=allow_insecure_http,
    )
    return client_for(settings, **client_options)


def client_for(settings: Settings, **client_options: Any) -> ConcordClient:
    """A client for already-loaded ``settings``: ``client_options`` go to
    :class:`ConcordClient`, over the limits the environment sets
    (:func:`client_options_from_env`)."""
    options = {**client_options_from_env(), **client_options}
    return ConcordClient(
        settings.url, settings.token, allow_insecure_http=settings.allow_insecure_http,
        **options,
    )


def usage(client: object) -> tuple[int, float]:
    """``(requests sent, seconds spent waiting for the rate limit)`` so far, for a run's summary.

    The wait is wall-clock time during which at least one request was held back (not a sum over
    parallel threads). Any client-like object works; missing counters read as 0.
    """
    stats = getattr(client, "stats", None)
    pacer = getattr(client, "pacer", None)
    return (int(getattr(stats, "requests", 0) or 0),
            float(getattr(pacer, "waited_wall", 0.0) or 0.0))
