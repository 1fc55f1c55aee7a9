"""Connection settings: the CRM's URL and API token, from flags, environment, profile or ``.env``.

Precedence, for the URL and for the token each (first wins)::

    flag          --url                 --token-file (or --token)
    environment   CONCORD_URL           CONCORD_TOKEN
    profile       url                   token_file / token_env     (--profile NAME or CONCORD_PROFILE)
    .env          CONCORD_URL           CONCORD_TOKEN               (in the working directory)

A profile (``concord_etl.profiles``) is chosen with ``profile=`` (the CLI's ``--profile``), else
by ``CONCORD_PROFILE``; a chosen profile that does not exist is an error, never a fallback. A
token is only sent where it belongs: a profile's token never goes to another URL than the
profile's, and a ``CONCORD_TOKEN`` from the environment never goes to a profile's URL (set
``CONCORD_URL`` with it, or unset it). When the environment overrides a chosen profile, the
returned :class:`Settings` says so in ``notes``.

The token is wrapped in :class:`Secret` as soon as it is read, so it prints as ``***`` in
reprs, logs, f-strings and tracebacks; only :meth:`Secret.reveal` gives the value (the HTTP
client uses it to build the ``Authorization`` header). Making a ``Secret`` also registers it
with :func:`concord_etl.redact.register_secret`, so text that echoes it is masked everywhere.
:func:`redact` is the one redaction (``concord_etl.redact.redact``) plus any extra secrets:
known secrets, ``Authorization``/``Bearer`` values and Concord token shapes become ``***``.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from concord_etl.errors import ConfigError
from concord_etl.profiles import PROFILE_ENV, Profile, find_profile
from concord_etl.redact import MASK, register_secret
from concord_etl.redact import redact as redact_registered

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
    """Where the CRM is and how to authenticate. ``url`` has no trailing slash and no ``/api``.

    ``url_source``/``token_source`` say where each came from (``--url``, ``CONCORD_URL``,
    ``profile staging``, ...); ``profile`` is the profile used, if any; ``notes`` are things
    the user should know (an environment variable overriding the chosen profile).
    """

    url: str
    token: Secret
    allow_insecure_http: bool = False
    profile: str | None = None
    url_source: str = ""
    token_source: str = ""
    notes: tuple[str, ...] = ()


def load_settings(
    url: str | None = None,
    *,
    token: str | Secret | None = None,
    token_file: str | Path | None = None,
    profile: str | None = None,
    allow_insecure_http: bool = False,
    env: Mapping[str, str] | None = None,
    cwd: str | Path | None = None,
    profiles_file: str | Path | None = None,
) -> Settings:
    """Resolve URL and token from the arguments, the environment, a profile and ``cwd/.env``.

    ``profile`` names a table of ``profiles_file`` (default: ``profiles.toml`` in the user's
    config folder); without it ``CONCORD_PROFILE`` may name one. Raises :class:`ConfigError`
    naming what is missing and where it was looked for.
    """
    environ = os.environ if env is None else env
    dotenv_path = Path(cwd or Path.cwd()) / DOTENV_NAME
    dotenv = read_dotenv(dotenv_path) if dotenv_path.is_file() else {}
    name = profile or environ.get(PROFILE_ENV) or None
    chosen = find_profile(name, profiles_file) if name else None

    url_source, raw_url = _pick_url(url, environ, chosen, dotenv, dotenv_path)
    if raw_url is None:
        message = (
            f"no CRM URL: pass --url or --profile NAME, set {URL_ENV}, or put "
            f"{URL_ENV}=https://crm.example.com in {dotenv_path}"
        )
        raise ConfigError(message)
    insecure = allow_insecure_http or (chosen is not None and url_source == _layer(chosen)
                                       and chosen.allow_insecure_http)
    final_url = normalise_url(raw_url, allow_insecure_http=insecure)
    token_source, secret = _resolve_token(token, token_file, environ, chosen, dotenv,
                                          dotenv_path)
    _check_destination(chosen, final_url, url_source, token_source)
    notes: list[str] = []
    used = chosen is not None and _layer(chosen) in (url_source, token_source)
    if chosen is not None and not used:
        notes.append(f"{url_source} and {token_source} take precedence over profile "
                     f"{chosen.name!r}: it is not used")
    return Settings(
        url=final_url, token=secret, allow_insecure_http=insecure,
        profile=chosen.name if used and chosen is not None else None,
        url_source=url_source, token_source=token_source, notes=tuple(notes),
    )


def _layer(profile: Profile) -> str:
    return f"profile {profile.name}"


def _pick_url(url: str | None, environ: Mapping[str, str], chosen: Profile | None,
              dotenv: Mapping[str, str], dotenv_path: Path) -> tuple[str, str | None]:
    if url:
        return "--url", url
    if environ.get(URL_ENV):
        return URL_ENV, environ[URL_ENV]
    if chosen is not None:
        return _layer(chosen), chosen.url
    if dotenv.get(URL_ENV):
        return f"{URL_ENV} in {dotenv_path}", dotenv[URL_ENV]
    return "", None


def _resolve_token(
    token: str | Secret | None,
    token_file: str | Path | None,
    environ: Mapping[str, str],
    chosen: Profile | None,
    dotenv: Mapping[str, str],
    dotenv_path: Path,
) -> tuple[str, Secret]:
    if token:
        return "--token", check_token(token, source="--token")
    if token_file:
        return "--token-file", read_token_file(token_file)
    if environ.get(TOKEN_ENV):
        source = f"the {TOKEN_ENV} environment variable"
        return TOKEN_ENV, check_token(environ[TOKEN_ENV], source=source)
    if chosen is not None:
        return _layer(chosen), _profile_token(chosen, environ)
    if dotenv.get(TOKEN_ENV):
        source = f"{TOKEN_ENV} in {dotenv_path}"
        return source, check_token(dotenv[TOKEN_ENV], source=source)
    message = (
        f"no API token: set {TOKEN_ENV} (or put {TOKEN_ENV}=... in {dotenv_path}), pass "
        "--token-file PATH, or use --profile NAME. Create the token in Concord: profile menu "
        "→ Personal Access Tokens."
    )
    raise ConfigError(message)


def _profile_token(profile: Profile, environ: Mapping[str, str]) -> Secret:
    if profile.token_file is not None:
        return read_token_file(profile.token_file)
    variable = profile.token_env or ""
    value = environ.get(variable)
    if not value:
        message = (f"profile {profile.name!r} takes its token from the environment variable "
                   f"{variable}, which is not set")
        raise ConfigError(message)
    return check_token(value, source=f"the {variable} environment variable (profile "
                                     f"{profile.name!r})")


def _check_destination(chosen: Profile | None, url: str, url_source: str, token_source: str
                       ) -> None:
    """A token goes only where it belongs (see the module doc)."""
    if chosen is None:
        return
    layer = _layer(chosen)
    if token_source == layer and url_source != layer:
        own = normalise_url(chosen.url, allow_insecure_http=True)
        if own != url:
            message = (f"the token of profile {chosen.name!r} is for {own}, but the URL "
                       f"{url} comes from {url_source}: pass --token-file too, or drop "
                       f"{url_source}")
            raise ConfigError(message)
    if token_source == TOKEN_ENV and url_source == layer:
        message = (f"{TOKEN_ENV} is set in the environment and would be sent to the URL of "
                   f"profile {chosen.name!r} ({url}): unset {TOKEN_ENV} to use the profile's "
                   f"token, or set {URL_ENV} with it")
        raise ConfigError(message)


# -- redaction -------------------------------------------------------------------------------

REDACTED = MASK


def redact(text: str, secrets: Iterable[str | Secret | None] = ()) -> str:
    """``text`` safe for a log or a message: secrets and credentials replaced by ``***``.

    The one redaction of the tool (:func:`concord_etl.redact.redact`: every registered secret,
    the value after ``Authorization``/``Bearer``, anything shaped like a Concord API token
    ``12|AbC...``), plus the revealed values of ``secrets``.
    """
    out = str(text)
    for secret in secrets:
        raw = secret.reveal() if isinstance(secret, Secret) else secret
        if raw and len(raw) >= 4:
            out = out.replace(raw, REDACTED)
    return redact_registered(out)


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
