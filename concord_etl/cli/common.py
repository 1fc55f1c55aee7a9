"""Shared CLI pieces: connection and run options, error rendering, exit codes, summary tables.

Every command that talks to the CRM takes ``connection_options`` (``--url``, ``--token-file``,
``--profile``, ``--allow-insecure-http``) and every command that runs work takes
``run_options`` (``--log-file``, ``--verbose`` and, where they mean something, ``-q/--quiet``
and ``--json``). Errors print as ``error: <what>`` then ``hint: <what to do>`` on stderr, redacted;
an interruption (Ctrl-C, SIGTERM, SIGHUP) is one ``error:`` line. Input warnings print as
``warning: ...``. Exit codes: 2 nothing was sent, 3 stopped part-way (see ``describe_error``).
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import shlex
import sqlite3
import sys
import time
import warnings
from collections.abc import Callable, Iterator
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
    InputWarning,
    MappingError,
    OutcomeUnknown,
    RunLocked,
    Unreachable,
    UsageError,
    exit_code,
)
from concord_etl.redact import install_log_redaction, redact, redact_data

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}
FILE = click.Path(exists=True, dir_okay=False, path_type=Path)   # an existing file argument
CLOSED_PIPE_EXIT = 141          # 128 + SIGPIPE, what a shell shows for `yes | head`
F = TypeVar("F", bound=Callable[..., Any])
RESUME = "rerun the same command to resume"
DEBUG_ENV = "CONCORD_ETL_DEBUG"
_CLIENTS: list[Any] = []        # clients this command made: did anything reach the CRM?


# -- errors ----------------------------------------------------------------------------------------


def echo_error(message: str, hint: str | None = None) -> None:
    """The one error style: ``error: ...`` and, when there is one, ``hint: ...`` (stderr),
    redacted; a vanished terminal (SIGHUP) does not raise again."""
    with contextlib.suppress(OSError, ValueError):
        click.echo(redact(f"error: {message}"), err=True)
        if hint:
            click.echo(redact(f"hint: {hint}"), err=True)


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
    """Run a command with SIGTERM/SIGHUP handled like Ctrl-C, input warnings shown and log
    records redacted; render every error in the one style and exit with the README's code."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from concord_etl.cli.stopping import stop_signals

        install_log_redaction()
        _CLIENTS.clear()
        try:
            with stop_signals(), _shown_warnings():
                return func(*args, **kwargs)
        except (click.exceptions.Exit, click.ClickException, click.exceptions.Abort):
            raise
        except BrokenPipeError:
            closed_pipe()       # the reader went away (| head): stop quietly
        except BaseException as exc:
            if isinstance(exc, SystemExit):
                raise
            if os.environ.get(DEBUG_ENV) and not isinstance(exc, ConcordError | KeyboardInterrupt):
                raise
            message, hint, code = describe_error(exc)
            _json_summary_of(exc, kwargs.get("run"))
            if isinstance(exc, KeyboardInterrupt) and getattr(exc, "signal_name", "SIGINT") \
                    == "SIGINT":
                with contextlib.suppress(OSError, ValueError):
                    click.echo("", err=True)          # closes the terminal's ^C
            echo_error(message, hint)
            sys.exit(code)

    return wrapper  # type: ignore[return-value]


def describe_error(exc: BaseException) -> tuple[str, str | None, int]:
    """The message, the hint and the exit code for an error that stopped a command.

    2: nothing was sent (usage, configuration, mapping, input, a local file before any write
    to the CRM). 3: stopped part-way — any CRM error, an interruption, a local write after the
    CRM was changed, a lock; rerunning resumes. An interruption is one line, without a hint.
    """
    results = _results_of(exc)
    if isinstance(exc, KeyboardInterrupt):
        name = getattr(exc, "signal_name", "SIGINT")
        how = "Ctrl-C" if name == "SIGINT" else name
        if results:
            return (f"interrupted by {how}: stopped after the requests in flight; results so "
                    f"far in {results}; {RESUME}"), None, 3
        return f"interrupted by {how}; {RESUME}", None, 3
    if isinstance(exc, UsageError):
        return str(exc), error_hint(exc), 2
    if isinstance(exc, ConcordError):
        text = str(exc)
        if results:
            text += f" (results so far: {results})"
        hint = error_hint(exc)
        if hint is None and "rerun" not in text:
            hint = RESUME
        return text, hint, exit_code(exc)
    if isinstance(exc, OSError | sqlite3.Error):
        return _local_failure(exc)
    name = type(exc).__name__
    return (f"unexpected {name}: {redact(exc)} (a bug in concord-etl)",
            f"please report it ({DEBUG_ENV}=1 shows the traceback); {RESUME}", 3)


def _local_failure(exc: OSError | sqlite3.Error) -> tuple[str, str | None, int]:
    """A local file could not be read or written: exit 3 once the CRM was changed (the
    journal knows what was sent), else 2 (nothing in the CRM changed)."""
    if isinstance(exc, OSError):
        name = getattr(exc, "filename", None)
        what = f"{name}: {exc.strerror or exc}" if name else str(exc.strerror or exc)
    else:
        what = f"the journal database failed ({exc})"
    writes = sum(int(getattr(c.stats, "writes", 0)) for c in _CLIENTS)
    if writes:
        return (f"{what}, after {writes} write(s) to the CRM; the journal knows what was sent",
                f"fix the cause (free some space?), then {RESUME}", 3)
    return (f"{what}; nothing in the CRM was changed",
            "check the path, its permissions and the free space, then run again", 2)


def _results_of(exc: BaseException) -> str | None:
    summary = getattr(exc, "summary", None)
    return getattr(summary, "results", None) if summary is not None else None


def _json_summary_of(exc: BaseException, run: Any) -> None:
    """With --json, the summary of a run that stopped is printed all the same."""
    summary: Any = getattr(exc, "summary", None)
    if run is not None and getattr(run, "as_json", False) and hasattr(summary, "as_dict"):
        with contextlib.suppress(OSError, ValueError):
            print_json(summary.as_dict())


@contextlib.contextmanager
def _shown_warnings() -> Iterator[None]:
    """Input warnings (mixed encodings, removed characters, ...) as ``warning: ...`` lines."""
    with warnings.catch_warnings():
        warnings.simplefilter("always", InputWarning)
        original = warnings.showwarning

        def show(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                 file: Any = None, line: str | None = None) -> None:
            if issubclass(category, InputWarning):
                with contextlib.suppress(OSError, ValueError):
                    click.echo(redact(f"warning: {message}"), err=True)
            else:
                original(message, category, filename, lineno, file, line)

        warnings.showwarning = show
        yield


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
    from concord_etl.crm.connection import client_for
    from concord_etl.settings import load_settings

    settings = load_settings(conn.url, token=conn.token, token_file=conn.token_file,
                             profile=conn.profile, allow_insecure_http=conn.allow_insecure_http)
    observer = None
    if run is not None:
        run.connected(settings)
        observer = run.log.request if run.logging else None
    client = client_for(settings, on_request=observer)
    _CLIENTS.append(client)
    return client


def load_mapping_file(path: Path, *, for_import: bool = False) -> Any:
    """The mapping at ``path``, its loader imported only now: ``load_import_mapping`` (plain,
    with deal products, or ``records:``) ``for_import``, else ``load_mapping``."""
    from concord_etl.mapping import load_import_mapping, load_mapping

    return load_import_mapping(path) if for_import else load_mapping(path)


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
            click.echo(redact(text))

    def note(self, text: str) -> None:
        """Something worth knowing, on stderr: not with --quiet."""
        if not self.quiet:
            click.echo(redact(f"note: {text}"), err=True)

    def warn(self, text: str) -> None:
        """Something that needs attention, on stderr, always."""
        click.echo(redact(f"warning: {text}"), err=True)

    def follow_up(self, text: str) -> None:
        """What to do next, after the summary: stdout, or a warning on stderr with --quiet."""
        if self.quiet:
            self.warn(text)
        else:
            click.echo(text)

    def summary(self, data: dict[str, Any], human: Callable[[], str]) -> None:
        """The run's result: logged; JSON on stdout with --json, else ``human()`` unless quiet."""
        self.log.event("run.summary", **data)
        if self.as_json:
            print_json(data)
        else:
            self.say(human())

    def connected(self, settings: Any) -> None:
        """Log where the run connects (never the token) and show the settings' notes.

        The token needs no ``add_secret``: it is a ``Secret``, registered when it was made, and
        the run log redacts every registered secret."""
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
    """A JSON summary on stdout, redacted like every other output."""
    click.echo(json.dumps(redact_data(data), ensure_ascii=False, default=str))


def summary_table(rows: list[tuple[str, Any]], *, title: str | None = None) -> str:
    width = max((len(k) for k, _ in rows), default=0)
    lines = [title] if title else []
    lines += [f"  {k.ljust(width)}  {v}" for k, v in rows]
    return "\n".join(lines)
