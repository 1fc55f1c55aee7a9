"""`concord-etl fields`, `mapping init`, `profiles`, `demo`."""

from __future__ import annotations

from pathlib import Path

import click

from concord_etl.cli.common import (
    CONTEXT,
    FILE,
    Connection,
    Run,
    connection_options,
    handle_errors,
    make_client,
    print_json,
    run_options,
)

RESOURCES = ("contacts", "companies", "deals", "products", "activities", "notes", "calls")


@click.command("fields", context_settings=CONTEXT)
@click.argument("resource", type=click.Choice(RESOURCES))
@connection_options
@run_options(quiet=False)
@handle_errors
def fields_command(resource: str, conn: Connection, run: Run) -> None:
    """Show the CRM's fields for RESOURCE: type, related resource, options with ids.

    Lists every field a mapping may use: the create form's, the fields only the edit form
    shows (marked "update"), and fields Concord accepts without describing them ("accepted").
    """
    client = make_client(conn, run)
    fields = client.resource_fields(resource)
    if run.as_json:
        print_json(
            {
                spec.attribute: {
                    "label": spec.label, "type": spec.type, "required": spec.required,
                    "unique": spec.unique, "custom": spec.custom, "related": spec.related,
                    "options": [{"id": o.id, "name": o.name} for o in spec.options],
                    "choices": list(spec.choices), "component": spec.component,
                    "described": spec.origin,
                }
                for spec in fields
            }
        )
        return
    header = ("attribute", "label", "type", "req", "unique", "form", "options / related")
    rows = []
    for spec in fields:
        extra = ", ".join(f"{o.id}={o.name}" for o in spec.options)
        extra = extra or (f"-> {spec.related}" if spec.related else ", ".join(spec.choices))
        rows.append((spec.attribute, spec.label, spec.type, "yes" if spec.required else "",
                     "yes" if spec.unique else "", _DESCRIBED[spec.origin], extra))
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(6)]
    for row in [header, *rows]:
        click.echo("  ".join(str(v).ljust(w) for v, w in zip(row[:6], widths, strict=True))
                   + "  " + str(row[6]))


# Which form of the CRM describes a field: the create form, only the edit form, or none
# (Concord accepts it on writes without describing it).
_DESCRIBED = {"create": "create", "update": "edit only", "accepted": "none"}


@click.group("mapping", context_settings=CONTEXT)
def mapping_group() -> None:
    """Work with mapping files."""


@mapping_group.command("init", context_settings=CONTEXT)
@click.argument("file", type=FILE)
@click.option("--resource", "-r", required=True, type=click.Choice(RESOURCES))
@click.option("--sheet", help="Sheet name (Excel).")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the draft here instead of stdout.")
@connection_options
@run_options(as_json=False)
@handle_errors
def mapping_init(
    file: Path, resource: str, sheet: str | None, output: Path | None, conn: Connection,
    run: Run,
) -> None:
    """Draft a mapping YAML from FILE's headers and the CRM's fields."""
    from concord_etl.mapping import draft_for_table
    from concord_etl.read import open_table

    table = open_table(file, sheet=sheet)
    text = draft_for_table(table, make_client(conn, run), resource)
    if output is None:
        click.echo(text, nl=False)
    else:
        if output.exists():
            raise click.UsageError(f"{output} exists; not overwriting it")
        output.write_text(text, encoding="utf-8")
        run.log.event("run.summary", output=str(output))
        run.say(f"wrote {output}; review it, then: concord-etl import {file} --mapping {output}")


@click.command("profiles", context_settings=CONTEXT)
@click.option("--json", "as_json", is_flag=True, help="Print the profiles as JSON.")
@handle_errors
def profiles_command(as_json: bool) -> None:
    """List the connection profiles of profiles.toml (never their tokens)."""
    import os

    from concord_etl.profiles import PROFILE_ENV, profiles_path, read_profiles

    path = profiles_path()
    profiles = read_profiles(path)
    current = os.environ.get(PROFILE_ENV)
    if as_json:
        print_json({"file": str(path), "current": current, "profiles": {
            p.name: {"url": p.url, "token_file": str(p.token_file) if p.token_file else None,
                     "token_env": p.token_env, "token": p.token_status(),
                     "allow_insecure_http": p.allow_insecure_http}
            for p in profiles.values()}})
        return
    if not profiles:
        click.echo(f"no profiles: {path} {'has none' if path.exists() else 'does not exist'}.")
        click.echo("Create it with one table per CRM, for example:\n")
        from concord_etl.profiles import EXAMPLE

        click.echo(EXAMPLE)
        return
    click.echo(f"profiles in {path}:")
    header = ("", "name", "url", "token from", "")
    rows = [("*" if p.name == current else "", p.name, p.url, p.token_source,
             f"({p.token_status()})") for p in profiles.values()]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        click.echo("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())
    if current and current not in profiles:
        click.echo(f"warning: {PROFILE_ENV}={current} names no profile of this file", err=True)


@click.command("demo", context_settings=CONTEXT)
@click.option("--workdir", type=click.Path(file_okay=False, path_type=Path), default=Path(".demo"),
              show_default=True, help="Where the demo's copies, results and journals go.")
@click.option("--reports", type=click.Path(file_okay=False, path_type=Path),
              default=Path("reports"), show_default=True, help="Where the report workbook goes.")
@run_options()
@handle_errors
def demo_command(workdir: Path, reports: Path, run: Run) -> None:
    """Start a sandbox, import sample_data/, write an Excel report, stop the sandbox."""
    from concord_etl.cli.imports import ProgressBar, render_import_summary
    from concord_etl.demo import run_demo

    def progress_factory() -> ProgressBar:
        return ProgressBar(enabled=run.progress)

    def on_import(title: str, summary: object) -> None:
        if not (run.quiet or run.as_json):
            click.secho(f"\n== {title}", bold=True)
        render_import_summary(summary, Run(run.command, run.log, quiet=run.quiet or run.as_json))

    outcome = run_demo(
        workdir=workdir, reports_dir=reports, progress_factory=progress_factory,
        on_import=on_import, echo=run.say,
        on_request=run.log.request if run.logging else None,
    )

    def table() -> str:
        lines = [click.style("\nDemo finished.", bold=True)]
        lines += [f"  {label}: {path}" for label, path in outcome.items()]
        return "\n".join(lines)

    run.summary(outcome, table)
