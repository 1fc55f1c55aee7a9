"""Shared CLI pieces: connection options, error rendering, exit codes, signals, warnings,
summary tables."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import sqlite3
import sys
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import click

from concord_etl.errors import ConcordError, InputWarning, UsageError, exit_code
from concord_etl.redact import install_log_redaction, redact, redact_data

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}
F = TypeVar("F", bound=Callable[..., Any])


def connection_options(func: F) -> F:
    """--url / --token-file / --allow-insecure-http (the token itself comes from the env)."""
    func = click.option(
        "--allow-insecure-http",
        is_flag=True,
        help="Allow a plain http:// URL that is not on this machine.",
    )(func)
    func = click.option(
        "--token-file",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Read the API token from this file (default: CONCORD_TOKEN, or .env).",
    )(func)
    func = click.option(
        "--token", "token", hidden=True, help="API token (prefer CONCORD_TOKEN: flags leak into ps)."
    )(func)
    return click.option("--url", help="CRM base URL (default: CONCORD_URL, or .env).")(func)


_CLIENTS: list[Any] = []        # clients this command made: did anything reach the CRM?


def make_client(
    url: str | None,
    token: str | None,
    token_file: Path | None,
    allow_insecure_http: bool,
) -> Any:
    from concord_etl.crm.client import ConcordClient, client_options_from_env
    from concord_etl.settings import load_settings

    settings = load_settings(
        url, token=token, token_file=token_file, allow_insecure_http=allow_insecure_http
    )
    client = ConcordClient(
        settings.url, settings.token, allow_insecure_http=settings.allow_insecure_http,
        **client_options_from_env(),
    )
    _CLIENTS.append(client)
    return client


def load_mapping_file(path: Path) -> Any:
    from concord_etl.mapping import load_mapping

    return load_mapping(path)


# -- errors, signals and warnings --------------------------------------------------------------
RERUN = "rerun the same command to resume"
DEBUG_ENV = "CONCORD_ETL_DEBUG"


def handle_errors(func: F) -> F:
    """Run a command with SIGTERM/SIGHUP handled like Ctrl-C and input warnings shown; render
    every error as ONE redacted line ``error: what happened; what to do`` on stderr and exit
    with the README's code (2 nothing was sent, 3 stopped part-way: rerun resumes)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from concord_etl.cli.stopping import stop_signals

        as_json = bool(kwargs.get("as_json"))
        install_log_redaction()
        _CLIENTS.clear()
        try:
            with stop_signals(), _shown_warnings():
                return func(*args, **kwargs)
        except (click.exceptions.Exit, click.ClickException, click.exceptions.Abort):
            raise
        except BaseException as exc:
            if isinstance(exc, SystemExit):
                raise
            if os.environ.get(DEBUG_ENV) and not isinstance(exc, ConcordError | KeyboardInterrupt):
                raise
            text, code = describe_error(exc)
            summary = getattr(exc, "summary", None)
            if as_json and summary is not None and hasattr(summary, "as_dict"):
                with contextlib.suppress(OSError):
                    print_json(summary.as_dict())
            _say(f"error: {text}")
            sys.exit(code)

    return wrapper  # type: ignore[return-value]


def describe_error(exc: BaseException) -> tuple[str, int]:
    """The one-line message (without ``error: ``) and exit code for an error."""
    results = _results_of(exc)
    if isinstance(exc, KeyboardInterrupt):
        name = getattr(exc, "signal_name", "SIGINT")
        how = "Ctrl-C" if name == "SIGINT" else name
        if results:
            return (f"interrupted by {how}: stopped after the requests in flight; results so "
                    f"far in {results}; {RERUN}"), 3
        return f"interrupted by {how}; {RERUN}", 3
    if isinstance(exc, UsageError):
        return str(exc), 2
    if isinstance(exc, ConcordError):
        text = str(exc)
        if results:
            text += f"; results so far in {results}"
        if "rerun" not in text:
            text += f"; {RERUN}"
        return text, exit_code(exc)
    if isinstance(exc, OSError | sqlite3.Error):
        return _local_failure(exc)
    name = type(exc).__name__
    return (f"unexpected {name}: {redact(exc)} — a bug in concord-etl; please report it (set "
            f"{DEBUG_ENV}=1 to see the traceback); {RERUN}"), 3


def _local_failure(exc: OSError | sqlite3.Error) -> tuple[str, int]:
    """A local file could not be read or written: exit 3 once the CRM was changed (the
    journal knows what was sent), else 2 (nothing in the CRM changed)."""
    if isinstance(exc, OSError):
        name = getattr(exc, "filename", None)
        what = f"{name}: {exc.strerror or exc}" if name else str(exc.strerror or exc)
    else:
        what = f"the journal database failed ({exc})"
    writes = sum(int(getattr(c.stats, "writes", 0)) for c in _CLIENTS)
    if writes:
        return (f"{what}, after {writes} write(s) to the CRM; the journal knows what was "
                f"sent: fix the cause (free some space?), then {RERUN}"), 3
    return f"{what}; nothing in the CRM was changed: fix the cause, then rerun", 2


def _results_of(exc: BaseException) -> str | None:
    summary = getattr(exc, "summary", None)
    return getattr(summary, "results", None) if summary is not None else None


def _say(text: str) -> None:
    """Write one line to stderr; a vanished terminal (SIGHUP) must not raise again."""
    with contextlib.suppress(OSError, ValueError):
        click.echo(redact(text), err=True)


@contextlib.contextmanager
def _shown_warnings() -> Iterator[None]:
    """Input warnings (mixed encodings, stripped characters, ...) as ``warning: ...`` lines."""
    with warnings.catch_warnings():
        warnings.simplefilter("always", InputWarning)
        original = warnings.showwarning

        def show(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                 file: Any = None, line: str | None = None) -> None:
            if issubclass(category, InputWarning):
                _say(f"warning: {message}")
            else:
                original(message, category, filename, lineno, file, line)

        warnings.showwarning = show
        yield


class ConcordGroup(click.Group):
    """The command group, with click's own errors in the tool's style: ``error: ...; see
    'concord-etl import --help'`` (exit 2), ``interrupted`` (exit 3)."""

    def main(
        self, args: Any = None, prog_name: str | None = None, complete_var: str | None = None,
        standalone_mode: bool = True, **extra: Any,
    ) -> Any:
        run = functools.partial(super().main, args, prog_name, complete_var, False, **extra)
        if not standalone_mode:
            return run()
        try:
            result: Any = run()
        except click.exceptions.Abort as exc:
            if isinstance(exc.__context__, KeyboardInterrupt):
                _say(f"error: interrupted; {RERUN}")
                sys.exit(3)
            _say("error: stopped at the prompt; nothing was changed")
            sys.exit(2)
        except click.ClickException as exc:
            hint = ""
            ctx = getattr(exc, "ctx", None)
            if isinstance(exc, click.UsageError) and ctx is not None:
                hint = f"; see '{ctx.command_path} --help'"
            text = exc.format_message().rstrip(".") if hint else exc.format_message()
            _say(f"error: {text}{hint}")
            sys.exit(exc.exit_code)
        sys.exit(result if isinstance(result, int) else 0)


def print_json(data: dict[str, Any]) -> None:
    """A JSON summary on stdout, redacted like every other output."""
    click.echo(json.dumps(redact_data(data), ensure_ascii=False, default=str))


def summary_table(rows: list[tuple[str, Any]], *, title: str | None = None) -> str:
    width = max((len(k) for k, _ in rows), default=0)
    lines = [title] if title else []
    lines += [f"  {k.ljust(width)}  {v}" for k, v in rows]
    return "\n".join(lines)
