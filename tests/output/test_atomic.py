"""Portable atomic replacement: retried on Windows sharing violations, never elsewhere."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from concord_etl.output import atomic
from concord_etl.output.atomic import atomic_output, replace_file


def flaky_replace(monkeypatch: pytest.MonkeyPatch, failures: int) -> list[int]:
    """os.replace refusing ``failures`` times (as Windows does while a scanner holds the file)."""
    calls: list[int] = []
    real = os.replace

    def replace(src: object, dst: object) -> None:
        calls.append(1)
        if len(calls) <= failures:
            raise PermissionError(13, "The process cannot access the file")
        real(src, dst)  # type: ignore[arg-type]

    monkeypatch.setattr(atomic.os, "replace", replace)
    return calls


def test_windows_sharing_violation_is_retried(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                              ) -> None:
    source, target = tmp_path / "new", tmp_path / "report.xlsx"
    source.write_text("new")
    target.write_text("old")
    calls = flaky_replace(monkeypatch, failures=2)
    replace_file(source, target, windows=True, pause=0)
    assert target.read_text() == "new" and not source.exists() and len(calls) == 3


def test_a_target_that_stays_locked_fails_after_the_retries(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source, target = tmp_path / "new", tmp_path / "report.xlsx"
    source.write_text("new")
    calls = flaky_replace(monkeypatch, failures=100)
    with pytest.raises(PermissionError):
        replace_file(source, target, windows=True, attempts=4, pause=0)
    assert len(calls) == 4 and source.exists()


def test_elsewhere_a_refused_rename_fails_at_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                                 ) -> None:
    source, target = tmp_path / "new", tmp_path / "report.xlsx"
    source.write_text("new")
    calls = flaky_replace(monkeypatch, failures=1)
    with pytest.raises(PermissionError):
        replace_file(source, target, windows=False, pause=0)
    assert len(calls) == 1


def test_atomic_output_leaves_no_temp_file_when_the_rename_is_refused(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from concord_etl.errors import ConfigError

    target = tmp_path / "report.xlsx"
    target.write_text("old")
    flaky_replace(monkeypatch, failures=100)
    with pytest.raises(ConfigError, match="cannot replace"), atomic_output(target) as tmp:
        tmp.write_text("new")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["report.xlsx"]
