"""Helpers of the draft tests: load a drafted mapping, find a line of it."""

from __future__ import annotations

from pathlib import Path

from concord_etl.mapping import Mapping, load_mapping


def round_trip(tmp_path: Path, text: str) -> Mapping:
    path = tmp_path / "draft.yaml"
    path.write_text(text, encoding="utf-8")
    return load_mapping(path)


def line_of(text: str, start: str) -> str:
    return next(line for line in text.splitlines() if line.strip().startswith(start))
