"""The public Python API: what `import concord_etl` offers, and the README's example runs."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import concord_etl
from tests.helpers import MAPPINGS, REPO, SAMPLE_DATA


def test_all_is_sorted_and_every_name_resolves() -> None:
    names = [n for n in concord_etl.__all__ if n != "__version__"]
    assert names == sorted(names)
    for name in concord_etl.__all__:
        assert getattr(concord_etl, name) is not None, name


def test_a_name_that_is_not_exported_is_an_attribute_error() -> None:
    try:
        concord_etl.Uploader  # type: ignore[attr-defined]  # noqa: B018
    except AttributeError as exc:
        assert "Uploader" in str(exc)
    else:  # pragma: no cover - would be a defect
        raise AssertionError("concord_etl.Uploader should not exist")


def test_the_names_a_script_needs_are_there() -> None:
    code = ("import concord_etl as c; print(c.run_import, c.validate_file, c.export_resource, "
            "c.run_report, c.ConcordClient, c.load_mapping, c.Sandbox, c.connect)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=REPO, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "<function run_import" in done.stdout and "ConcordClient" in done.stdout


def test_importing_the_package_loads_no_stage_until_asked() -> None:
    code = ("import sys, concord_etl; "
            "print(sorted(m for m in sys.modules if m.startswith('concord_etl.')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=REPO, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['concord_etl._version']"


def _readme_python_example() -> str:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Python API", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert len(blocks) == 1, "the Python API section has one runnable example"
    return blocks[0]


def test_the_readme_python_example_runs(tmp_path: Path) -> None:
    shutil.copytree(SAMPLE_DATA, tmp_path / "sample_data")
    shutil.copytree(MAPPINGS, tmp_path / "mappings")
    script = tmp_path / "example.py"
    script.write_text(_readme_python_example(), encoding="utf-8")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert re.match(r"\d+ rows, \d+ rejected", lines[0]), lines
    assert "'created':" in lines[1] and "exit code" in lines[1]
    assert lines[2].endswith("contacts.xlsx") and (tmp_path / "contacts.xlsx").exists()
