"""Connection profiles (profiles.toml) and the documented precedence: flag > env > profile > .env.

Each test writes its own profiles.toml and passes ``env`` explicitly, so the developer's own
settings never leak in.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from concord_etl.errors import ConfigError
from concord_etl.profiles import find_profile, profiles_path, read_profiles
from concord_etl.settings import Secret, load_settings, redact

PROD = "https://crm.example.com"
STAGING = "https://staging.example.com"


@pytest.fixture
def profiles(tmp_path: Path) -> Path:
    """Two profiles: staging (token in a file beside profiles.toml), prod (token in a variable)."""
    folder = tmp_path / "config"
    folder.mkdir()
    (folder / "staging.token").write_text("7|staging-token\n", encoding="utf-8")
    path = folder / "profiles.toml"
    path.write_text(
        f'[staging]\nurl = "{STAGING}/"\ntoken_file = "staging.token"\n\n'
        f'[prod]\nurl = "{PROD}"\ntoken_env = "PROD_TOKEN"\n',
        encoding="utf-8",
    )
    return path


def settings(tmp_path: Path, profiles: Path, env: dict[str, str], **kwargs: object):
    return load_settings(env=env, cwd=tmp_path, profiles_file=profiles, **kwargs)  # type: ignore[arg-type]


def write_dotenv(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("CONCORD_URL=https://dotenv.example.com\n"
                                   "CONCORD_TOKEN=3|dotenv-token\n", encoding="utf-8")


# -- precedence ----------------------------------------------------------------------------------


def test_a_profile_beats_dotenv(tmp_path: Path, profiles: Path) -> None:
    write_dotenv(tmp_path)
    found = settings(tmp_path, profiles, {}, profile="staging")
    assert found.url == STAGING and found.token.reveal() == "7|staging-token"
    assert found.profile == "staging" and found.url_source == found.token_source == "profile staging"
    assert found.notes == ()


def test_concord_profile_chooses_a_profile_and_the_flag_beats_it(tmp_path: Path, profiles: Path
                                                                 ) -> None:
    env = {"CONCORD_PROFILE": "prod", "PROD_TOKEN": "9|prod-token"}
    assert settings(tmp_path, profiles, env).url == PROD
    assert settings(tmp_path, profiles, env, profile="staging").url == STAGING


def test_the_environment_beats_a_profile_and_says_so(tmp_path: Path, profiles: Path) -> None:
    env = {"CONCORD_URL": "https://env.example.com", "CONCORD_TOKEN": "5|env-token"}
    found = settings(tmp_path, profiles, env, profile="staging")
    assert found.url == "https://env.example.com" and found.token.reveal() == "5|env-token"
    assert found.profile is None
    assert len(found.notes) == 1 and "'staging'" in found.notes[0]


def test_flags_beat_the_environment_and_the_profile(tmp_path: Path, profiles: Path) -> None:
    token_file = tmp_path / "flag.token"
    token_file.write_text("8|flag-token", encoding="utf-8")
    env = {"CONCORD_URL": "https://env.example.com", "CONCORD_TOKEN": "5|env-token"}
    found = settings(tmp_path, profiles, env, profile="staging", url="https://flag.example.com",
                     token_file=token_file)
    assert found.url == "https://flag.example.com" and found.token.reveal() == "8|flag-token"
    assert (found.url_source, found.token_source) == ("--url", "--token-file")


def test_the_profile_url_with_a_token_file_flag(tmp_path: Path, profiles: Path) -> None:
    token_file = tmp_path / "flag.token"
    token_file.write_text("8|flag-token", encoding="utf-8")
    found = settings(tmp_path, profiles, {}, profile="staging", token_file=token_file)
    assert found.url == STAGING and found.token.reveal() == "8|flag-token"
    assert found.profile == "staging"


# -- a token goes only where it belongs ----------------------------------------------------------


def test_a_profile_token_never_goes_to_another_url(tmp_path: Path, profiles: Path) -> None:
    with pytest.raises(ConfigError, match="token of profile 'staging'"):
        settings(tmp_path, profiles, {"CONCORD_URL": PROD}, profile="staging")
    with pytest.raises(ConfigError, match="--url"):
        settings(tmp_path, profiles, {}, profile="staging", url=PROD)
    same = settings(tmp_path, profiles, {}, profile="staging", url=STAGING + "/api")
    assert same.token.reveal() == "7|staging-token"


def test_an_ambient_token_never_goes_to_a_profile_url(tmp_path: Path, profiles: Path) -> None:
    with pytest.raises(ConfigError, match="CONCORD_TOKEN is set") as caught:
        settings(tmp_path, profiles, {"CONCORD_TOKEN": "5|env-token"}, profile="staging")
    assert "env-token" not in str(caught.value)


# -- profiles.toml -------------------------------------------------------------------------------


def test_token_env_profiles(tmp_path: Path, profiles: Path) -> None:
    found = settings(tmp_path, profiles, {"PROD_TOKEN": "9|prod-token"}, profile="prod")
    assert found.token.reveal() == "9|prod-token"
    with pytest.raises(ConfigError, match="PROD_TOKEN, which is not set"):
        settings(tmp_path, profiles, {}, profile="prod")


def test_an_unknown_profile_lists_the_known_ones(tmp_path: Path, profiles: Path) -> None:
    with pytest.raises(ConfigError, match=r"no profile 'stagin' in .*prod, staging"):
        settings(tmp_path, profiles, {}, profile="stagin")
    missing = tmp_path / "nowhere" / "profiles.toml"
    with pytest.raises(ConfigError, match=r"does not exist\. Create it"):
        find_profile("staging", missing)
    assert read_profiles(missing) == {}


def test_a_missing_token_file_names_the_file(tmp_path: Path, profiles: Path) -> None:
    (profiles.parent / "staging.token").unlink()
    with pytest.raises(ConfigError, match=r"staging\.token"):
        settings(tmp_path, profiles, {}, profile="staging")


@pytest.mark.parametrize(("body", "needle"), [
    ('[a]\nurl = "https://x.example.com"\ntoken = "1|abc"\n', "does not belong"),
    ('[a]\nurl = "https://x.example.com"\ntoken-file = "t"\n', "unknown key 'token-file'"),
    ('[a]\ntoken_file = "t"\n', "needs url"),
    ('[a]\nurl = "https://x.example.com"\n', "exactly one of token_file"),
    ('[a]\nurl = "https://x.example.com"\ntoken_file = "t"\ntoken_env = "T"\n', "exactly one"),
    ('[a]\nurl = "https://x.example.com"\ntoken_env = ""\n', "non-empty"),
    ('[a]\nurl = "https://x.example.com"\ntoken_env = "T"\nallow_insecure_http = "yes"\n',
     "true or false"),
    ('url = "https://x.example.com"\n', "not a profile table"),
    ("[a\n", "not valid TOML"),
])
def test_bad_profiles_name_file_and_profile(tmp_path: Path, body: str, needle: str) -> None:
    path = tmp_path / "profiles.toml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(ConfigError, match=needle) as caught:
        read_profiles(path)
    assert str(path) in str(caught.value)
    assert "1|abc" not in str(caught.value)


def test_token_file_paths_expand_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("USERPROFILE", str(tmp_path))
    path = tmp_path / "profiles.toml"
    path.write_text('[a]\nurl = "https://x.example.com"\ntoken_file = "~/a.token"\n',
                    encoding="utf-8")
    assert read_profiles(path)["a"].token_file == tmp_path / "a.token"


def test_a_profile_may_allow_insecure_http(tmp_path: Path) -> None:
    path = tmp_path / "profiles.toml"
    path.write_text('[lan]\nurl = "http://crm.lan"\ntoken_env = "T"\nallow_insecure_http = true\n'
                    '[lan-strict]\nurl = "http://crm.lan"\ntoken_env = "T"\n', encoding="utf-8")
    assert settings(tmp_path, path, {"T": "1|x"}, profile="lan").url == "http://crm.lan"
    with pytest.raises(ConfigError, match="plain http"):
        settings(tmp_path, path, {"T": "1|x"}, profile="lan-strict")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="XDG is the Linux convention")
def test_profiles_live_in_the_xdg_config_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                                ) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert profiles_path() == tmp_path / "concord-etl" / "profiles.toml"


# -- redaction -----------------------------------------------------------------------------------


@pytest.mark.parametrize("text", [
    "Authorization: Bearer 12|abcdefghijklmnopqrstuvwxyz0123456789ABCD",
    '{"headers": {"Authorization": "Bearer s3cr3t-value"}}',
    "curl -H 'authorization: bearer s3cr3t-value' https://crm.example.com",
    "the token 12|abcdefghijklmnopqrstuvwxyz0123456789ABCD was refused",
    "sent s3cr3t-value to the CRM",
])
def test_redact_removes_credentials(text: str) -> None:
    out = redact(text, [Secret("s3cr3t-value")])
    assert "s3cr3t-value" not in out and "abcdefghijklmnop" not in out and "***" in out


def test_redact_leaves_ordinary_text_alone() -> None:
    text = "GET https://crm.example.com/api/contacts?page=2&per_page=100 200 0.12 s"
    assert redact(text, [None, ""]) == text
