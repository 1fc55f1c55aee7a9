"""Connection settings: URL and token precedence, .env parsing, Secret, insecure http."""

from __future__ import annotations

import logging
import pickle
from pathlib import Path

import pytest

from concord_etl.errors import ConfigError
from concord_etl.settings import (
    Secret,
    is_loopback,
    load_settings,
    normalise_url,
    read_dotenv,
    read_token_file,
)


def test_secret_never_shows_itself(caplog: pytest.LogCaptureFixture) -> None:
    secret = Secret("12|abcdef")
    assert str(secret) == "***"
    assert repr(secret) == "Secret('***')"
    assert f"{secret}" == "***" and f"{secret:>5}" == "  ***"
    assert "abcdef" not in repr({"token": secret})
    with caplog.at_level(logging.INFO):
        logging.getLogger("test").info("token is %s / %r", secret, secret)
    assert "abcdef" not in caplog.text
    assert secret.reveal() == "12|abcdef"
    assert secret == Secret("12|abcdef") and secret != Secret("other")
    assert bool(secret) and len(secret) == 9
    with pytest.raises(TypeError):
        "Bearer " + secret  # type: ignore[operator]
    assert pickle.loads(pickle.dumps(secret)).reveal() == "12|abcdef"


def test_url_and_token_from_arguments(tmp_path: Path) -> None:
    settings = load_settings("https://crm.example.com/", token="1|tok", env={}, cwd=tmp_path)
    assert settings.url == "https://crm.example.com"
    assert settings.token.reveal() == "1|tok"
    assert "1|tok" not in repr(settings)


def test_environment_then_dotenv(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        "# connection\nexport CONCORD_URL=https://dotenv.example.com\n"
        "CONCORD_TOKEN='9|from-dotenv'\n\nOTHER=x # comment\n",
        encoding="utf-8",
    )
    from_dotenv = load_settings(env={}, cwd=tmp_path)
    assert from_dotenv.url == "https://dotenv.example.com"
    assert from_dotenv.token.reveal() == "9|from-dotenv"

    env = {"CONCORD_URL": "https://env.example.com/api", "CONCORD_TOKEN": "5|from-env"}
    from_env = load_settings(env=env, cwd=tmp_path)
    assert from_env.url == "https://env.example.com"
    assert from_env.token.reveal() == "5|from-env"

    flag = load_settings("https://flag.example.com", token="7|flag", env=env, cwd=tmp_path)
    assert (flag.url, flag.token.reveal()) == ("https://flag.example.com", "7|flag")


def test_token_file_beats_environment(tmp_path: Path) -> None:
    token_file = tmp_path / "token.txt"
    token_file.write_text("  3|from-file\n", encoding="utf-8")
    settings = load_settings("https://crm.example.com", token_file=token_file,
                             env={"CONCORD_TOKEN": "5|env"}, cwd=tmp_path)
    assert settings.token.reveal() == "3|from-file"


def test_missing_pieces_say_where_to_put_them(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="CONCORD_URL"):
        load_settings(env={}, cwd=tmp_path)
    with pytest.raises(ConfigError, match="CONCORD_TOKEN") as info:
        load_settings("https://crm.example.com", env={}, cwd=tmp_path)
    assert "--token-file" in str(info.value)
    with pytest.raises(ConfigError, match="cannot read the token file"):
        read_token_file(tmp_path / "nope.txt")


@pytest.mark.parametrize("bad", ["", "   \n", "abc def", "Bearer 1|abc", "1|abc\r\nX-Evil: 1"])
def test_bad_tokens_are_refused_without_echoing_them(tmp_path: Path, bad: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings("https://crm.example.com", token=bad or " ", env={}, cwd=tmp_path)
    if bad.strip():
        assert bad.strip() not in str(info.value)


def test_insecure_http_needs_loopback_or_opt_in() -> None:
    assert normalise_url("http://127.0.0.1:8000/") == "http://127.0.0.1:8000"
    assert normalise_url("http://localhost:9/api/") == "http://localhost:9"
    assert normalise_url("http://[::1]:8080") == "http://[::1]:8080"
    with pytest.raises(ConfigError, match="unencrypted"):
        normalise_url("http://crm.example.com")
    assert normalise_url("http://crm.example.com", allow_insecure_http=True) == \
        "http://crm.example.com"
    assert normalise_url("HTTPS://crm.example.com/sub/dir/") == "https://crm.example.com/sub/dir"


@pytest.mark.parametrize(
    ("url", "reason"),
    [("crm.example.com", "not an http"), ("ftp://crm.example.com", "not an http"),
     ("https://user:pw@crm.example.com", "user name"), ("https://crm.example.com/?t=1", "query")],
)
def test_bad_urls(url: str, reason: str) -> None:
    with pytest.raises(ConfigError, match=reason):
        normalise_url(url)


def test_is_loopback() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("127.8.9.10") and is_loopback("::1")
    assert is_loopback("localhost") and is_loopback("app.localhost")
    assert not is_loopback("10.0.0.1") and not is_loopback("crm.example.com")


def test_dotenv_errors_name_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    path.write_text("A=1\nthis line is wrong\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"\.env:2: expected KEY=VALUE"):
        read_dotenv(path)


def test_dotenv_quotes_comments_and_bom(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    path.write_text('\ufeffA="x # not a comment"\nB=plain # comment\nC=\nD = spaced \n',
                    encoding="utf-8")
    assert read_dotenv(path) == {"A": "x # not a comment", "B": "plain", "C": "", "D": "spaced"}
