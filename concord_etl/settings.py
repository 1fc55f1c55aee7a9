"""Connection settings: the CRM's URL and API token, from flags, the environment or ``.env``.

Precedence (first wins):

* URL:   ``--url`` → ``CONCORD_URL`` in the environment → ``CONCORD_URL`` in ``./.env``
* token: ``--token`` → ``--token-file`` → ``CONCORD_TOKEN`` in the environment → ``./.env``

The token is wrapped in :class:`Secret` as soon as it is read, so it prints as ``***`` in
reprs, logs, f-strings and tracebacks; only :meth:`Secret.reveal` gives the value (the HTTP
client uses it to build the ``Authorization`` header). Making a ``Secret`` also registers it
with :func:`concord_etl.redact.register_secret`, so text that echoes it is masked too.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from concord_etl.errors import ConfigError
from concord_etl.redact import register_secret

URL_ENV = "CONCORD_URL"
TOKEN_ENV = "CONCORD_TOKEN"
DOTENV_NAME = ".env"


class Secret:
    """A string that never shows itself: ``str()``, ``repr()`` and formatting give ``***``."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = str(value)
        register_secret(self._value)      # masked in every message, file and log from now on

    def reveal(self) -> str:
        """The real value; use only where the secret must go on the wire."""
        return self._value

    def __str__(self) -> str:
        return "***"

    def __repr__(self) -> str:
        return "Secret('***')"

    def __format__(self, spec: str) -> str:
        return format("***", spec)

    def __bool__(self) -> bool:
        return bool(self._value)

    def __len__(self) -> int:
        return len(self._value)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Secret):
            return self._value == other._value
        return NotImplemented

    def __hash__(self) -> int:
        return hash(("Secret", self._value))


@dataclass(frozen=True)
class Settings:
    """Where the CRM is and how to authenticate. ``url`` has no trailing slash and no ``/api``."""

    url: str
    token: Secret
    allow_insecure_http: bool = False


def load_settings(
    url: str | None = None,
    *,
    token: str | Secret | None = None,
    token_file: str | Path | None = None,
    allow_insecure_http: bool = False,
    env: Mapping[str, str] | None = None,
    cwd: str | Path | None = None,
) -> Settings:
    """Resolve URL and token from the arguments, the environment and ``cwd/.env``.

    Raises :class:`ConfigError` naming what is missing and where it was looked for.
    """
    environ = os.environ if env is None else env
    dotenv_path = Path(cwd or Path.cwd()) / DOTENV_NAME
    dotenv = read_dotenv(dotenv_path) if dotenv_path.is_file() else {}

    raw_url = url or environ.get(URL_ENV) or dotenv.get(URL_ENV)
    if not raw_url:
        message = (
            f"no CRM URL: pass --url, set {URL_ENV}, or put {URL_ENV}=https://crm.example.com "
            f"in {dotenv_path}"
        )
        raise ConfigError(message)
    secret = _resolve_token(token, token_file, environ, dotenv, dotenv_path)
    return Settings(
        url=normalise_url(raw_url, allow_insecure_http=allow_insecure_http),
        token=secret,
        allow_insecure_http=allow_insecure_http,
    )


def _resolve_token(
    token: str | Secret | None,
    token_file: str | Path | None,
    environ: Mapping[str, str],
    dotenv: Mapping[str, str],
    dotenv_path: Path,
) -> Secret:
    if token:
        return check_token(token, source="--token")
    if token_file:
        return read_token_file(token_file)
    if environ.get(TOKEN_ENV):
        return check_token(environ[TOKEN_ENV], source=f"the {TOKEN_ENV} environment variable")
    if dotenv.get(TOKEN_ENV):
        return check_token(dotenv[TOKEN_ENV], source=f"{TOKEN_ENV} in {dotenv_path}")
    message = (
        f"no API token: set {TOKEN_ENV} (or put {TOKEN_ENV}=... in {dotenv_path}), or pass "
        "--token-file PATH. Create the token in Concord: profile menu → Personal Access Tokens."
    )
    raise ConfigError(message)


def read_token_file(path: str | Path) -> Secret:
    """The token stored in a file (surrounding whitespace and newlines ignored)."""
    token_path = Path(path)
    try:
        text = token_path.read_text(encoding="utf-8")
    except OSError as exc:
        message = f"cannot read the token file {token_path}: {exc.strerror or exc}"
        raise ConfigError(message) from None
    except UnicodeDecodeError:
        message = f"the token file {token_path} is not UTF-8 text"
        raise ConfigError(message) from None
    return check_token(text, source=f"the token file {token_path}")


def check_token(value: str | Secret, *, source: str) -> Secret:
    """Strip and sanity-check a token; the message names the source, never the value."""
    raw = value.reveal() if isinstance(value, Secret) else str(value)
    raw = raw.strip()
    if not raw:
        message = f"the API token from {source} is empty"
        raise ConfigError(message)
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in raw):
        message = (
            f"the API token from {source} contains spaces or control characters; "
            "it should be one line like 12|AbCdEf..."
        )
        raise ConfigError(message)
    if raw.lower().startswith("bearer"):
        message = f"the API token from {source} starts with 'Bearer': give the token only"
        raise ConfigError(message)
    return Secret(raw)


def normalise_url(url: str, *, allow_insecure_http: bool = False) -> str:
    """``https://crm.example.com/`` or ``.../api`` → ``https://crm.example.com``; checks scheme.

    Plain ``http://`` is refused unless the host is loopback or ``allow_insecure_http`` is set,
    because the token would travel in clear text.
    """
    text = url.strip()
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        message = f"the CRM URL {text!r} is not an http(s) URL like https://crm.example.com"
        raise ConfigError(message)
    if parts.username or parts.password:
        message = "the CRM URL must not contain a user name or password; use CONCORD_TOKEN"
        raise ConfigError(message)
    if parts.query or parts.fragment:
        message = f"the CRM URL must not have a query or fragment: {scheme}://{parts.netloc}{parts.path}"
        raise ConfigError(message)
    if scheme == "http" and not allow_insecure_http and not is_loopback(parts.hostname):
        message = (
            f"the CRM URL {text} uses plain http: the API token would be sent unencrypted. "
            "Use https://, or allow it explicitly (allow_insecure_http / --allow-insecure-http)"
        )
        raise ConfigError(message)
    path = parts.path.rstrip("/")
    if path.endswith("/api"):
        path = path[: -len("/api")]
    return urlunsplit((scheme, parts.netloc, path, "", ""))


def is_loopback(host: str) -> bool:
    """True for ``localhost``, ``127.0.0.0/8`` and ``::1``."""
    name = host.strip("[]").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def read_dotenv(path: str | Path) -> dict[str, str]:
    """Parse a ``.env`` file: ``KEY=VALUE`` lines, ``#`` comments, optional ``export`` and quotes.

    Values are never interpolated. A line without ``=`` is a :class:`ConfigError` naming the
    file and line (the value is not echoed: it may be a secret).
    """
    env_path = Path(path)
    try:
        text = env_path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        message = f"cannot read {env_path}: {exc.strerror or exc}"
        raise ConfigError(message) from None
    except UnicodeDecodeError:
        message = f"{env_path} is not UTF-8 text"
        raise ConfigError(message) from None
    values: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        parsed = _parse_dotenv_line(line, f"{env_path}:{number}")
        if parsed is not None:
            values[parsed[0]] = parsed[1]
    return values


def _parse_dotenv_line(line: str, where: str) -> tuple[str, str] | None:
    stripped = line.strip()
    if not stripped or stripped.startswith("#"):
        return None
    if stripped.startswith("export "):
        stripped = stripped[len("export ") :].lstrip()
    key, sep, value = stripped.partition("=")
    key = key.strip()
    if not sep or not key or not key.replace("_", "a").isalnum():
        message = f"{where}: expected KEY=VALUE"
        raise ConfigError(message)
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        value = value[1:-1]
    elif " #" in value:
        value = value.split(" #", 1)[0].rstrip()
    return key, value
