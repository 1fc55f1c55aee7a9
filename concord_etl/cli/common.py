"""Shared CLI pieces: connection and run options, error rendering, exit codes, summary tables.

Every command that talks to the CRM takes ``connection_options`` (``--url``, ``--token-file``,
``--profile``, ``--allow-insecure-http``) and every command that runs work takes
``run_options`` (``--log-file``, ``--verbose`` and, where they mean something, ``-q/--quiet``
and ``--json``). Errors print as ``error: <what>`` then ``hint: <what to do>`` on stderr.
"""

from __future__ import annotations

import functools
import json
import os
import shlex
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from concord_etl._version import __version__
from concord_etl.errors import (
    AbortRun,
    AuthError,
    ConcordError,
    ConfigError,
    InputError,
    MappingError,
    OutcomeUnknown,
    RunLocked,
    Unreachable,
    exit_code,
)

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}
CLOSED_PIPE_EXIT = 141          # 128 + SIGPIPE, what a shell shows for `yes | head`
F = TypeVar("F", bound=Callable[..., Any])
RESUME = "rerun the same command to resume"


# -- errors ----------------------------------------------------------------------------------------


def echo_error(message: str, hint: str | None = None) -> None:
    """The one error style: ``error: ...`` and, when there is one, ``hint: ...`` (stderr)."""
    click.echo(f"error: {message}", err=True)
    if hint:
        click.echo(f"hint: {hint}", err=True)


def closed_pipe() -> NoReturn:
    """The reader of stdout went away (``| head``): stop without a message or a traceback."""
    try:  # the interpreter flushes stdout on exit; point it at devnull so that cannot fail
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    sys.exit(CLOSED_PIPE_EXIT)


def error_hint(exc: BaseException) -> str | None:
    """What to do about ``exc``: its own ``hint`` if it has one, else one per kind of error."""
    own = getattr(exc, "hint", None)
    if isinstance(own, str) and own:
        return own
    if isinstance(exc, RunLocked):
        return "wait for the other run to finish, then run again"
    if isinstance(exc, AuthError):
        return ("check the token and that the user has API access in Concord, then "
                f"{RESUME}")
    if isinstance(exc, Unreachable):
        return f"check the URL and the network, then {RESUME}"
    if isinstance(exc, OutcomeUnknown):
        return f"{RESUME}: rows whose outcome is unknown are reconciled before anything is resent"
    if isinstance(exc, AbortRun):
        return RESUME
    if isinstance(exc, MappingError):
        return "fix the file named above and run again; nothing was sent"
    if isinstance(exc, InputError):
        return "fix the input file and run again; nothing was sent"
    if isinstance(exc, ConfigError):
        return "fix the setting named above and run again; nothing was sent to the CRM"
    return None


def handle_errors(func: F) -> F:
    """Render library errors as one clear message on stderr and exit with their code."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except click.exceptions.Exit:
            raise
        except click.ClickException:
            raise
        except KeyboardInterrupt:
            click.echo("", err=True)
            echo_error("interrupted", RESUME)
            sys.exit(3)
        except RunLocked as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(exit_code(exc))
        except AbortRun as exc:
            summary = getattr(exc, "summary", None)
            if summary is not None and getattr(summary, "results", None):
                click.echo(f"note: results so far: {summary.results}", err=True)
            echo_error(str(exc), error_hint(exc))
            sys.exit(3)
        except ConcordError as exc:
            echo_error(str(exc), error_hint(exc))
            sys.exit(exit_code(exc))
        except BrokenPipeError:
            closed_pipe()       # the reader went away (| head): stop quietly
        except OSError as exc:
            name = getattr(exc, "filename", None)
            where = f" ({name})" if name else ""
            echo_error(f"{exc.strerror or exc}{where}", "check the path and its permissions")
            sys.exit(2)

    return wrapper  # type: ignore[return-value]


# -- connection ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Connection:
    """What the connection options said (``None``: not given)."""

    url: str | None = None
    token: str | None = None
    token_file: Path | None = None
    profile: str | None = None
    allow_insecure_http: bool = False


def connection_options(func: F) -> F:
    """--url / --profile / --token-file / --allow-insecure-http → a ``conn: Connection`` argument.

    The token itself comes from the environment, a profile or .env (flags leak into ``ps``).
    """

    @functools.wraps(func)
    def wrapper(*args: Any, url: str | None, token: str | None, token_file: Path | None,
                profile: str | None, allow_insecure_http: bool, **kwargs: Any) -> Any:
        conn = Connection(url=url, token=token, token_file=token_file, profile=profile,
                          allow_insecure_http=allow_insecure_http)
        return func(*args, conn=conn, **kwargs)

    options = [
        click.option("--url", help="CRM base URL (default: CONCORD_URL, the profile, or .env)."),
        click.option("--profile", metavar="NAME",
                     help="Connection profile from profiles.toml (default: CONCORD_PROFILE; "
                          "see `concord-etl profiles`)."),
        click.option("--token-file", type=click.Path(dir_okay=False, path_type=Path),
                     help="Read the API token from this file (default: CONCORD_TOKEN, the "
                          "profile, or .env)."),
        click.option("--token", "token", hidden=True,
                     help="API token (prefer CONCORD_TOKEN: flags leak into ps)."),
        click.option("--allow-insecure-http", is_flag=True,
                     help="Allow a plain http:// URL that is not on this machine."),
    ]
    decorated: Any = wrapper
    for option in reversed(options):
        decorated = option(decorated)
    return decorated


def make_client(conn: Connection, run: Run | None = None) -> Any:
    """A ``ConcordClient`` from the options; with ``run``, its requests go to the run log."""
    from concord_etl.crm.client import ConcordClient
    from concord_etl.settings import load_settings

    settings = load_settings(conn.url, token=conn.token, token_file=conn.token_file,
                             profile=conn.profile, allow_insecure_http=conn.allow_insecure_http)
    observer = None
    if run is not None:
        run.connected(settings)
        observer = run.log.request if run.logging else None
    return ConcordClient(settings.url, settings.token,
                         allow_insecure_http=settings.allow_insecure_http, on_request=observer)


def load_mapping_file(path: Path) -> Any:
    from concord_etl.mapping import load_mapping

    return load_mapping(path)


# -- runs: logging, quiet, json ------------------------------------------------------------------


@dataclass
class Run:
    """How one command run reports: its log, ``--quiet``, ``--json``, ``--verbose``."""

    command: str
    log: Any                          # concord_etl.run_log.RunLog
    quiet: bool = False
    as_json: bool = False
    verbose: bool = False
    logging: bool = False             # a --log-file or --verbose wants request lines
    started: float = field(default_factory=time.monotonic)

    @property
    def progress(self) -> bool:
        """Show a progress bar: a terminal, and not quiet, JSON or verbose."""
        return not (self.quiet or self.as_json or self.verbose) and sys.stderr.isatty()

    def say(self, text: str) -> None:
        """Human output on stdout (the summary): not with --quiet or --json."""
        if not (self.quiet or self.as_json):
            click.echo(text)

    def note(self, text: str) -> None:
        """Something worth knowing, on stderr: not with --quiet."""
        if not self.quiet:
            click.echo(f"note: {text}", err=True)

    def warn(self, text: str) -> None:
        """Something that needs attention, on stderr, always."""
        click.echo(f"warning: {text}", err=True)

    def summary(self, data: dict[str, Any], human: Callable[[], str]) -> None:
        """The run's result: logged; JSON on stdout with --json, else ``human()`` unless quiet."""
        self.log.event("run.summary", **data)
        if self.as_json:
            print_json(data)
        else:
            self.say(human())

    def connected(self, settings: Any) -> None:
        """Log where the run connects (never the token) and show the settings' notes."""
        self.log.add_secret(settings.token)
        self.log.event("connect", url=settings.url, profile=settings.profile,
                       url_from=settings.url_source, token_from=settings.token_source)
        for text in settings.notes:
            self.note(text)


def run_options(*, quiet: bool = True, as_json: bool = True) -> Callable[[F], F]:
    """--log-file / --verbose (and -q/--quiet, --json) → a ``run: Run`` argument.

    Logs ``run.start`` and ``run.end`` (exit code, time, the error's message), one line per
    request in between; the log is closed however the command ends.
    """

    def decorate(func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args: Any, log_file: Path | None, verbose: bool, **kwargs: Any) -> Any:
            from concord_etl.run_log import RunLog

            flags = {"quiet": kwargs.pop("quiet", False), "as_json": kwargs.pop("as_json", False)}
            ctx = click.get_current_context()
            echo = (lambda line: click.echo(f"log: {line}", err=True)) if verbose else None
            try:
                log = RunLog(log_file, echo=echo, warn=lambda line: click.echo(line, err=True))
            except ConcordError as exc:
                echo_error(str(exc), "check the --log-file path and its permissions")
                sys.exit(2)
            run = Run(command=ctx.command_path, log=log, verbose=verbose,
                      logging=log_file is not None or verbose, **flags)
            log.event("run.start", command=ctx.command_path, version=__version__,
                      args=shlex.join(_shown_args(sys.argv[1:])))
            try:
                result = func(*args, run=run, **kwargs)
            except SystemExit as exc:
                _log_end(run, exc.code, exc.__context__)
                raise
            except BaseException as exc:
                _log_end(run, 1, exc)
                raise
            else:
                _log_end(run, 0, None)
                return result
            finally:
                log.close()

        decorated: Any = wrapper
        options = [
            click.option("--log-file", type=click.Path(dir_okay=False, path_type=Path),
                         help="Append one JSON line per request and run event to this file "
                              "(redacted, rotated at 10 MB)."),
            click.option("--verbose", "-v", is_flag=True,
                         help="Print each request and run event on stderr."),
        ]
        if quiet:
            options.append(click.option("--quiet", "-q", is_flag=True,
                                        help="Print nothing but errors and warnings."))
        if as_json:
            options.append(click.option("--json", "as_json", is_flag=True,
                                        help="Print a JSON summary on stdout."))
        for option in reversed(options):
            decorated = option(decorated)
        return decorated

    return decorate


def _shown_args(argv: list[str]) -> list[str]:
    """The command line for the log, without the value of ``--token``."""
    shown: list[str] = []
    hide = False
    for arg in argv:
        if hide:
            shown.append("***")
            hide = False
        elif arg == "--token":
            shown.append(arg)
            hide = True
        elif arg.startswith("--token="):
            shown.append("--token=***")
        else:
            shown.append(arg)
    return shown


def _log_end(run: Run, code: object, error: BaseException | None) -> None:
    status = code if isinstance(code, int) else (0 if code is None else 1)
    fields: dict[str, Any] = {"exit_code": status,
                              "elapsed_s": round(time.monotonic() - run.started, 3)}
    if error is not None and status != 0:
        fields["error"] = str(error) or type(error).__name__
        fields["error_type"] = type(error).__name__
    run.log.event("run.end", **fields)


# -- rendering -------------------------------------------------------------------------------------


def print_json(data: dict[str, Any]) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, default=str))


def summary_table(rows: list[tuple[str, Any]], *, title: str | None = None) -> str:
    width = max((len(k) for k, _ in rows), default=0)
    lines = [title] if title else []
    lines += [f"  {k.ljust(width)}  {v}" for k, v in rows]
    return "\n".join(lines)
