"""The ``concord-etl`` command line: a thin shell over the library.

Each command parses options, calls one library function, renders the result and maps
``concord_etl.errors`` to exit codes (0 done, 1 rows rejected/failed, 2 usage/input, 3 aborted).
"""

from __future__ import annotations

import sys

import click

from concord_etl._version import __version__
from concord_etl.cli.common import CONTEXT, ConcordGroup


@click.group(cls=ConcordGroup, context_settings=CONTEXT)
@click.version_option(__version__, prog_name="concord-etl")
def main() -> None:
    """Move data between spreadsheets and a Concord CRM, in both directions.

    Connection: --url or CONCORD_URL; the token from CONCORD_TOKEN (or --token-file, or a .env
    file in the working directory). Exit codes: 0 all rows done, 1 some rows rejected or failed,
    2 usage/configuration/mapping/input error (nothing sent), 3 aborted (rerun to resume).
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
    from concord_etl.cli import exports, imports, tools

    main.add_command(imports.import_command)
    main.add_command(imports.validate_command)
    main.add_command(exports.export_command)
    main.add_command(exports.report_command)
    main.add_command(tools.fields_command)
    main.add_command(tools.mapping_group)
    main.add_command(tools.demo_command)


_register()
