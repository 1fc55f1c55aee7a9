"""The ``concord-etl`` command line: a thin shell over the library.

Each command parses options, calls one library function, renders the result and maps
``concord_etl.errors`` to exit codes (0 done, 1 rows rejected/failed, 2 usage/input, 3 aborted).
Every error, click's own usage errors included, prints as ``error: ...`` plus a ``hint: ...``;
a reader that goes away (``| head``) ends the command quietly (exit 141, as a SIGPIPE would).
"""

from __future__ import annotations

import errno
import sys
from collections.abc import Sequence
from typing import Any

import click

from concord_etl._version import __version__
from concord_etl.cli.common import CONTEXT, closed_pipe, echo_error


class ConcordApp(click.Group):
    """click's group, with the tool's one error style and a quiet exit on a closed pipe."""

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True,
             **extra: Any) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, **extra)
        try:
            result = super().main(args, prog_name, complete_var, False, **extra)
        except click.ClickException as exc:
            _show_click_error(exc)
            sys.exit(exc.exit_code)
        except click.exceptions.Abort:
            echo_error("aborted, nothing was done")
            sys.exit(1)
        except (EOFError, KeyboardInterrupt):
            click.echo("", err=True)
            echo_error("interrupted", "rerun the same command to resume")
            sys.exit(3)
        except OSError as exc:
            if exc.errno != errno.EPIPE:
                raise
            closed_pipe()
        sys.exit(result if isinstance(result, int) else 0)


def _show_click_error(exc: click.ClickException) -> None:
    ctx = getattr(exc, "ctx", None)
    hint = None
    if ctx is not None:
        hint = f"'{ctx.command_path} --help' shows the usage and the options"
    echo_error(exc.format_message(), hint)


@click.group(cls=ConcordApp, context_settings=CONTEXT)
@click.version_option(__version__, "--version", "-V", prog_name="concord-etl",
                      message="%(prog)s %(version)s")
def main() -> None:
    """Move data between spreadsheets and a Concord CRM, in both directions.

    Connection: --url or CONCORD_URL; the token from CONCORD_TOKEN (or --token-file, or a .env
    file in the working directory); or --profile NAME / CONCORD_PROFILE for a profile of
    profiles.toml (`concord-etl profiles`). Exit codes: 0 all rows done, 1 some rows rejected
    or failed, 2 usage/configuration/mapping/input error (nothing sent), 3 aborted (rerun to
    resume). Shell completion: see the README ("Shell completion").
    """


@main.command(
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    add_help_option=False,
)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def sandbox(args: tuple[str, ...]) -> None:
    """Run the local Concord emulator (see `concord-etl sandbox --help`)."""
    from concord_etl.sandbox import main as sandbox_main

    sys.exit(sandbox_main(list(args), prog="concord-etl sandbox"))


def _register() -> None:
    from concord_etl.cli import exports, imports, revert, tools

    main.add_command(imports.import_command)
    main.add_command(imports.validate_command)
    main.add_command(revert.revert_command)
    main.add_command(exports.export_command)
    main.add_command(exports.report_command)
    main.add_command(tools.fields_command)
    main.add_command(tools.mapping_group)
    main.add_command(tools.profiles_command)
    main.add_command(tools.demo_command)


_register()
