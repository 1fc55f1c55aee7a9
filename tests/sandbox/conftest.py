"""Fixtures of the sandbox contract suite: one shared demo sandbox per module."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.helpers.contract import TOKEN


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A demo sandbox shared by the tests of one module (tests use unique values)."""
    from concord_etl.sandbox import Sandbox

    state_dir = tmp_path_factory.mktemp("shared-sandbox")
    sb = Sandbox(state_dir=state_dir, token=TOKEN, seed="demo", rate_limit=100_000).start()
    try:
        yield sb
    finally:
        sb.stop()
