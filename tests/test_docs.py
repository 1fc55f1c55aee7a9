"""The README and the shipped examples are part of the product: these tests keep them true.

Every command has working ``--help`` and is documented; the first code block is the two make
commands; every exit code, mapping key, report key, results column and ``--json`` key that the
code knows is mentioned; the example mappings/reports and the README's YAML/JSON examples load.
Names come from the code's own constants, so adding a key without documenting it fails here.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from concord_etl import errors
from concord_etl.cli import main
from concord_etl.mapping import RecordsMapping, load_import_mapping, load_mapping
from concord_etl.mapping import columns as mapping_columns
from concord_etl.mapping import loader as mapping_loader
from concord_etl.mapping import model as mapping_model
from tests.helpers import REPO

README = REPO / "README.md"
MAPPINGS = sorted((REPO / "mappings").glob("*.yaml"))
REPORTS = sorted((REPO / "mappings" / "reports").glob("*.yaml"))
CUSTOM_FIELD_TYPES = mapping_model.FIELD_TYPES[:15]
FENCE = re.compile(r"^```(?P<lang>[\w-]*)[ \t]*\n(?P<body>.*?)^```[ \t]*$", re.M | re.S)


# -- helpers -------------------------------------------------------------------------------------


def readme() -> str:
    return README.read_text(encoding="utf-8")


def code_blocks(text: str) -> list[tuple[str, str]]:
    """(language, body) of every fenced code block, in order."""
    return [(m.group("lang"), m.group("body")) for m in FENCE.finditer(text)]


def section(text: str, title: str) -> str:
    """The body of the ``## title`` section, up to the next ``## `` heading."""
    match = re.search(rf"^## {re.escape(title)}[ \t]*\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert match, f"README has no '## {title}' section"
    return match.group(1)


def walk(group: click.Group, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Every command path of the click app: ("import",), ("mapping",), ("mapping", "init")..."""
    for name in sorted(group.commands):
        command = group.commands[name]
        yield (*prefix, name)
        if isinstance(command, click.Group):
            yield from walk(command, (*prefix, name))


COMMANDS = list(walk(main))


def mentions(text: str, name: object) -> bool:
    """``name`` appears as code: `name`, `name:`, or `name` inside a code span or block."""
    word = re.escape(str(name))
    return re.search(rf"(?<![\w-]){word}(?![\w-])", text) is not None


# -- commands ------------------------------------------------------------------------------------


def test_the_walk_finds_every_command_of_the_spec() -> None:
    spec = {("import",), ("validate",), ("export",), ("report",), ("fields",), ("mapping",),
            ("mapping", "init"), ("sandbox",), ("demo",)}
    assert spec <= set(COMMANDS)


@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
def test_every_command_has_help_that_exits_0(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(main, [*path, "--help"], prog_name="concord-etl")
    assert result.exit_code == 0, result.output
    assert "usage:" in result.output.lower()


@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
def test_every_command_is_described_in_its_help(path: tuple[str, ...]) -> None:
    command: Any = main
    for name in path:
        command = command.commands[name]
    assert (command.help or "").strip(), f"concord-etl {' '.join(path)} has no help text"


@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
def test_every_command_appears_in_the_readme(path: tuple[str, ...]) -> None:
    name = "concord-etl " + " ".join(path)
    assert re.search(rf"{re.escape(name)}(?![\w-])", readme()), f"README never shows `{name}`"


@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
def test_every_option_of_every_command_is_in_the_readme(path: tuple[str, ...]) -> None:
    command: Any = main
    for name in path:
        command = command.commands[name]
    options = [o for p in command.params if isinstance(p, click.Option) and not p.hidden
               for o in p.opts if o.startswith("--")]
    missing = [o for o in options if not re.search(rf"{re.escape(o)}(?![\w-])", readme())]
    assert not missing, f"concord-etl {' '.join(path)}: options not in the README: {missing}"


def _cli() -> list[str]:
    """The installed ``concord-etl`` script if there is one, else ``python -m concord_etl``."""
    script = Path(sys.executable).with_name("concord-etl")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "concord_etl"]


def test_sandbox_help_comes_from_its_argparse_parser() -> None:
    result = subprocess.run(
        [*_cli(), "sandbox", "--help"], cwd=REPO, capture_output=True, text=True,
        timeout=120, env={**os.environ, "COLUMNS": "100"},
    )
    assert result.returncode == 0, result.stderr
    assert "--rate-limit" in result.stdout
    assert "--rate-window" in result.stdout


def test_every_sandbox_flag_is_in_the_readme_sandbox_section() -> None:
    from concord_etl.sandbox.runner import build_parser

    text = section(readme(), "The sandbox")
    flags = [o for action in build_parser()._actions for o in action.option_strings
             if o.startswith("--") and o != "--help"]
    assert flags
    missing = [flag for flag in flags if not mentions(text, flag)]
    assert not missing, f"sandbox flags not documented: {missing}"


def test_sandbox_admin_endpoints_are_in_the_readme() -> None:
    from concord_etl.sandbox.admin import ENDPOINTS

    text = section(readme(), "The sandbox")
    for endpoint in ENDPOINTS:
        path = endpoint.split()[-1].split("?")[0]
        assert path in text, f"admin endpoint {endpoint} not documented"


# -- README structure ----------------------------------------------------------------------------


def test_the_first_code_block_is_make_demo_then_make_test() -> None:
    _lang, body = code_blocks(readme())[0]
    lines = [line for line in body.splitlines() if line.strip()]
    commands = [line.split("#", 1)[0].strip() for line in lines]
    assert commands == ["make demo", "make test"]


def test_the_readme_mentions_every_exit_code() -> None:
    text = section(readme(), "Exit codes")
    codes = {0} | {
        cls.exit_code
        for cls in vars(errors).values()
        if isinstance(cls, type) and issubclass(cls, errors.ConcordError)
    }
    assert codes >= {0, 1, 2, 3}
    for code in sorted(codes):
        assert re.search(rf"^\| `{code}` \|", text, re.M), f"exit code {code} is not explained"


MAPPING_KEYS = {
    "top-level": mapping_loader.TOP_KEYS,
    "source": mapping_loader.SOURCE_KEYS,
    "match": mapping_loader.MATCH_KEYS,
    "column": mapping_columns.COLUMN_KEYS,
    "lookup": mapping_columns.LOOKUP_KEYS,
}
MAPPING_VALUES = {
    "when_found": mapping_loader.WHEN_FOUND,
    "when_missing": mapping_loader.WHEN_MISSING,
    "transform": mapping_model.TRANSFORMS,
    "phone_type": mapping_model.PHONE_TYPES,
    "type": mapping_model.FIELD_TYPES,
    "resource": mapping_model.RESOURCES,
    "lookup resource": mapping_model.LOOKUP_RESOURCES,
    "create_missing resource": mapping_columns.LOOKUP_CREATABLE,
}


@pytest.mark.parametrize("kind", sorted(MAPPING_KEYS))
def test_the_mapping_reference_mentions_every_key(kind: str) -> None:
    text = section(readme(), "Mapping reference")
    missing = [key for key in MAPPING_KEYS[kind] if not mentions(text, key)]
    assert not missing, f"{kind} keys missing from the mapping reference: {missing}"


@pytest.mark.parametrize("kind", sorted(MAPPING_VALUES))
def test_the_mapping_reference_mentions_every_allowed_value(kind: str) -> None:
    text = section(readme(), "Mapping reference")
    missing = [value for value in MAPPING_VALUES[kind] if not mentions(text, value)]
    assert not missing, f"{kind} values missing from the mapping reference: {missing}"


def test_the_report_format_mentions_every_key_and_chart() -> None:
    from concord_etl.export import report_file as report

    text = section(readme(), "Exports and reports")
    names = {*report.TOP_KEYS, *report.SHEET_KEYS, *report.SUMMARY_KEYS, *report.CHARTS,
             "last_run"}
    missing = sorted(name for name in names if not mentions(text, name))
    assert not missing, f"report keys missing from the README: {missing}"


def test_the_results_file_section_names_every_column_and_action() -> None:
    from concord_etl.output.results import ACTIONS, META_COLUMNS

    text = section(readme(), "The results file")
    missing = [name for name in (*META_COLUMNS, *ACTIONS) if not mentions(text, f"`{name}`")]
    assert not missing, f"results columns/actions not explained: {missing}"


def test_the_json_section_lists_every_summary_key() -> None:
    from concord_etl.load.run import ImportSummary
    from concord_etl.validate.file import ValidationSummary

    text = section(readme(), "`--json` summaries")
    dry = ImportSummary(dry_run=True, created_related=[("companies", "Acme", 1)])
    keys = set(ImportSummary().as_dict()) | set(dry.as_dict()) | set(ValidationSummary().as_dict())
    keys.discard("aborted")  # never printed: an aborted run exits 3 with a message instead
    missing = sorted(key for key in keys if not mentions(text, f"`{key}`"))
    assert not missing, f"--json keys not documented: {missing}"


def test_the_json_example_has_exactly_the_import_summary_keys() -> None:
    from concord_etl.load.run import ImportSummary

    text = section(readme(), "`--json` summaries")
    examples = [json.loads(body) for lang, body in code_blocks(text) if lang == "json"]
    assert examples, "no JSON example in the --json section"
    assert set(examples[0]) == set(ImportSummary().as_dict())


def test_export_and_report_json_keys_are_documented() -> None:
    from concord_etl.export.exporter import ExportSummary
    from concord_etl.export.report import ReportSummary

    text = section(readme(), "`--json` summaries")
    keys = set(ExportSummary().as_dict()) | set(ReportSummary().as_dict())
    missing = sorted(key for key in keys if not mentions(text, f"`{key}`"))
    assert not missing, f"export/report --json keys not documented: {missing}"


def test_the_plan_example_lines_are_json_with_the_plan_keys() -> None:
    text = section(readme(), "Dry run")
    lines = [line for lang, body in code_blocks(text) if lang == "json"
             for line in body.splitlines() if line.strip()]
    assert lines, "no --plan example"
    for line in lines:
        entry = json.loads(line)
        assert {"row", "action", "payload", "errors"} <= set(entry) <= {
            "row", "action", "payload", "errors", "concord_id"}
        assert entry["action"] in ("create", "update", "unchanged", "skip", "reject")


# -- shipped examples ----------------------------------------------------------------------------


def test_there_are_example_mappings_and_reports() -> None:
    assert MAPPINGS and REPORTS


@pytest.mark.parametrize("path", MAPPINGS, ids=lambda p: p.name)
def test_every_example_mapping_loads(path: Path) -> None:
    mapping = load_import_mapping(path)
    assert mapping.columns
    assert path.name in readme()


@pytest.mark.parametrize("path", REPORTS, ids=lambda p: p.name)
def test_every_example_report_loads(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from concord_etl.export.report import load_report

    monkeypatch.chdir(REPO)  # report paths are relative to the working directory
    report = load_report(path)
    assert report.sheets
    for sheet in report.sheets:
        mapping = sheet.mapping
        if isinstance(mapping, (str, Path)):
            mapping = load_mapping(mapping)
        if mapping is not None:
            assert mapping.resource == sheet.resource


# -- the README's YAML examples ------------------------------------------------------------------
# Mapping fragments (a few columns, a `defaults:` or `match:` block) are completed with BASE and
# read by the project's own loader (plain PyYAML would read `on:` as true).

BASE = """version: 1
resource: contacts
columns:
  E-mail: email
  Account Number: cf_account_number
"""


def _as_mapping_texts(body: str) -> list[str]:
    """A README YAML block as complete mapping files."""
    lines = [line for line in body.splitlines()
             if line.strip() and not line.lstrip().startswith("#")]
    if lines[0].startswith("version:"):
        return [body]
    if all(line.startswith("match:") for line in lines):
        return [BASE + line + "\n" for line in lines]  # alternatives, one a line
    return [BASE + body]  # more columns, or a section such as defaults:


def load_mapping_text(text: str, tmp_path: Path) -> Any:
    path = tmp_path / f"example-{len(list(tmp_path.iterdir()))}.yaml"
    path.write_text(text, encoding="utf-8")
    return load_import_mapping(path)


def readme_yaml_blocks() -> list[str]:
    return [body for lang, body in code_blocks(readme()) if lang == "yaml"]


def _is_report(body: str) -> bool:
    return re.search(r"^sheets:", body, re.M) is not None


def _block_id(body: str) -> str:
    return body.strip().splitlines()[0][:40]


def test_the_readme_has_yaml_examples_for_mappings_and_reports() -> None:
    blocks = readme_yaml_blocks()
    assert any(_is_report(b) for b in blocks)
    assert sum(not _is_report(b) for b in blocks) >= 5


@pytest.mark.parametrize(
    "body", [b for b in readme_yaml_blocks() if not _is_report(b)], ids=_block_id
)
def test_every_readme_mapping_example_is_valid(body: str, tmp_path: Path) -> None:
    for text in _as_mapping_texts(body):
        assert load_mapping_text(text, tmp_path).columns


@pytest.mark.parametrize("body", [b for b in readme_yaml_blocks() if _is_report(b)], ids=_block_id)
def test_every_readme_report_example_is_valid(
    body: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from concord_etl.export.report import load_report

    monkeypatch.chdir(REPO)
    path = tmp_path / "report.yaml"
    path.write_text(body, encoding="utf-8")
    template = re.search(r"^template: (\S+)", body, re.M)
    if template:  # the README's template example: the brand template of the tests, beside it
        from tests.helpers.templates import brand_template

        brand_template(tmp_path / template.group(1))
    assert load_report(path).sheets


def test_the_readme_shows_every_custom_field_type_in_a_valid_mapping(tmp_path: Path) -> None:
    shown: set[str] = set()
    for body in readme_yaml_blocks():
        if _is_report(body):
            continue
        for text in _as_mapping_texts(body):
            mapping = load_mapping_text(text, tmp_path)
            parts = mapping.records if isinstance(mapping, RecordsMapping) else ()
            columns = [c for r in parts for c in r.mapping.columns] or list(mapping.columns)
            shown |= {c.type for c in columns if c.field.startswith("cf_") and c.type}
    missing = [t for t in CUSTOM_FIELD_TYPES if t not in shown]
    assert not missing, f"no README example of custom-field types {missing}"


def test_the_readme_shows_a_crontab_line_for_a_report() -> None:
    lines = [line for lang, body in code_blocks(readme()) if lang == "cron"
             for line in body.splitlines() if line.strip()]
    assert any(re.match(r"^(\S+\s+){5}.*concord-etl report \S+\.yaml", line) for line in lines)
