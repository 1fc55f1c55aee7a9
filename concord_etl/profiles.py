"""Named connection profiles: ``profiles.toml`` in the user's config folder for concord-etl.

One table per profile, with the CRM's ``url`` and where its token is (never the token)::

    [production]
    url = "https://crm.example.com"
    token_file = "~/.config/concord-etl/production.token"

    [staging]
    url = "https://staging.crm.example.com"
    token_env = "CONCORD_STAGING_TOKEN"     # the name of an environment variable

    [sandbox]
    url = "http://127.0.0.1:8000"
    token_file = "sandbox.token"            # relative to the folder of profiles.toml

The folder is ``platformdirs.user_config_dir("concord-etl")``: ``$XDG_CONFIG_HOME/concord-etl``
(else ``~/.config/concord-etl``) on Linux, ``~/Library/Application Support/concord-etl`` on
macOS, ``%APPDATA%\\concord-etl`` on Windows. Optional per profile: ``allow_insecure_http``
(a boolean). Every problem is a :class:`ConfigError` naming the file, the profile and the key.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import platformdirs

from concord_etl.errors import ConfigError

APP_NAME = "concord-etl"
PROFILES_FILE = "profiles.toml"
PROFILE_ENV = "CONCORD_PROFILE"
KEYS = ("url", "token_file", "token_env", "allow_insecure_http")
EXAMPLE = ('[staging]\nurl = "https://staging.crm.example.com"\n'
           'token_file = "~/.config/concord-etl/staging.token"')

__all__ = ["PROFILE_ENV", "Profile", "find_profile", "profiles_path", "read_profiles"]


@dataclass(frozen=True)
class Profile:
    """One table of ``profiles.toml``: a CRM and where its token is kept."""

    name: str
    url: str
    token_file: Path | None = None
    token_env: str | None = None
    allow_insecure_http: bool = False
    source: Path | None = None          # the profiles.toml it came from

    @property
    def token_source(self) -> str:
        """Where the token comes from, for messages and listings (never the token)."""
        if self.token_file is not None:
            return f"token_file {self.token_file}"
        return f"token_env {self.token_env}"

    def token_status(self, env: Mapping[str, str] | None = None) -> str:
        """``found``/``missing`` (token file) or ``set``/``not set`` (variable)."""
        if self.token_file is not None:
            return "found" if self.token_file.is_file() else "missing"
        environ = os.environ if env is None else env
        return "set" if self.token_env and environ.get(self.token_env) else "not set"


def profiles_path() -> Path:
    """Where ``profiles.toml`` is looked for on this machine (it need not exist)."""
    folder = platformdirs.user_config_path(APP_NAME, appauthor=False, roaming=True)
    return folder / PROFILES_FILE


def read_profiles(path: str | Path | None = None) -> dict[str, Profile]:
    """Every profile of ``path`` (default :func:`profiles_path`), checked; ``{}`` if no file."""
    file = Path(path) if path is not None else profiles_path()
    try:
        text = file.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        message = f"cannot read {file}: {exc.strerror or exc}"
        raise ConfigError(message) from None
    except UnicodeDecodeError:
        message = f"{file} is not UTF-8 text"
        raise ConfigError(message) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = f"{file}: not valid TOML ({exc})"
        raise ConfigError(message) from None
    profiles: dict[str, Profile] = {}
    for name, table in data.items():
        if not isinstance(table, dict):
            message = (f"{file}: {name!r} is not a profile table; each profile is a "
                       f"[name] table, for example:\n{EXAMPLE}")
            raise ConfigError(message)
        profiles[name] = _profile(file, name, table)
    return profiles


def find_profile(name: str, path: str | Path | None = None) -> Profile:
    """The profile called ``name``; the error lists the ones there are."""
    file = Path(path) if path is not None else profiles_path()
    profiles = read_profiles(file)
    if name in profiles:
        return profiles[name]
    if not profiles:
        where = "does not exist" if not file.exists() else "has no profiles"
        message = f"no profile {name!r}: {file} {where}. Create it like this:\n{EXAMPLE}"
    else:
        message = (f"no profile {name!r} in {file}; its profiles: "
                   f"{', '.join(sorted(profiles))}")
    raise ConfigError(message)


def _profile(file: Path, name: str, table: dict[str, Any]) -> Profile:
    where = f"{file}: profile [{name}]"
    if "token" in table:
        message = (f"{where}: a token does not belong in {file.name} (it gets listed, copied "
                   "and backed up); put it in a file (token_file) or an environment variable "
                   "(token_env)")
        raise ConfigError(message)
    unknown = sorted(set(table) - set(KEYS))
    if unknown:
        message = f"{where}: unknown key {unknown[0]!r}; the keys are {', '.join(KEYS)}"
        raise ConfigError(message)
    url = table.get("url")
    if not isinstance(url, str) or not url.strip():
        message = f'{where}: needs url = "https://crm.example.com"'
        raise ConfigError(message)
    token_file, token_env = table.get("token_file"), table.get("token_env")
    if (token_file is None) == (token_env is None):
        message = (f"{where}: needs exactly one of token_file (a file holding the token) "
                   "or token_env (the name of an environment variable holding it)")
        raise ConfigError(message)
    for key, value in (("token_file", token_file), ("token_env", token_env)):
        if value is not None and (not isinstance(value, str) or not value.strip()):
            message = f"{where}: {key} must be a non-empty string"
            raise ConfigError(message)
    insecure = table.get("allow_insecure_http", False)
    if not isinstance(insecure, bool):
        message = f"{where}: allow_insecure_http must be true or false"
        raise ConfigError(message)
    resolved: Path | None = None
    if isinstance(token_file, str):
        resolved = Path(token_file.strip()).expanduser()
        if not resolved.is_absolute():
            resolved = file.parent / resolved
    return Profile(name=name, url=url.strip(), token_file=resolved,
                   token_env=token_env.strip() if isinstance(token_env, str) else None,
                   allow_insecure_http=insecure, source=file)
