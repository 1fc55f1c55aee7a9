"""Shared CLI pieces: connection options, error rendering, exit codes, summary tables."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from concord_etl.errors import AbortRun, ConcordError, RunLocked, exit_code

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


def make_client(
    url: str | None,
    token: str | None,
    token_file: Path | None,
    allow_insecure_http: bool,
) -> Any:
    from concord_etl.crm.client import ConcordClient
    from concord_etl.settings import load_settings

    settings = load_settings(
        url, token=token, token_file=token_file, allow_insecure_http=allow_insecure_http
    )
    return ConcordClient(
        settings.url, settings.token, allow_insecure_http=settings.allow_insecure_http
    )


def load_mapping_file(path: Path) -> Any:
    from concord_etl.mapping import load_mapping

    return load_mapping(path)


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
            click.echo("\ninterrupted: rerun the same command to resume", err=True)
            sys.exit(3)
        except RunLocked as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(exit_code(exc))
        except AbortRun as exc:
            summary = getattr(exc, "summary", None)
            if summary is not None and getattr(summary, "results", None):
                click.echo(f"results so far: {summary.results}", err=True)
            click.echo(f"aborted: {exc}\nrerun the same command to resume", err=True)
            sys.exit(3)
        except ConcordError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(exit_code(exc))
        except OSError as exc:
            name = getattr(exc, "filename", None)
            where = f" ({name})" if name else ""
            click.echo(f"error: {exc.strerror or exc}{where}", err=True)
            sys.exit(2)

    return wrapper  # type: ignore[return-value]


def print_json(data: dict[str, Any]) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, default=str))


def summary_table(rows: list[tuple[str, Any]], *, title: str | None = None) -> str:
    width = max((len(k) for k, _ in rows), default=0)
    lines = [title] if title else []
    lines += [f"  {k.ljust(width)}  {v}" for k, v in rows]
    return "\n".join(lines)
