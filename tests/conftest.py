"""Shared fixtures: real sandboxes on loopback ports (in a thread, or as a subprocess)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import REPO, TOKEN


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the developer's CONCORD_* settings or proxies."""
    for name in list(os.environ):
        if name.startswith("CONCORD_") or name.lower().endswith("_proxy"):
            monkeypatch.delenv(name, raising=False)


@pytest.fixture
def sandbox_factory(tmp_path: Path) -> Iterator[Callable[..., Any]]:
    """Start in-thread sandboxes: ``sandbox_factory(seed="demo", rate_limit=60, ...)``."""
    from concord_etl.sandbox import Sandbox

    started: list[Any] = []

    def start(**kwargs: Any) -> Any:
        kwargs.setdefault("token", TOKEN)
        kwargs.setdefault("seed", "demo")
        kwargs.setdefault("rate_limit", 100_000)
        kwargs.setdefault("state_dir", tmp_path / f"sandbox-state-{len(started)}")
        sb = Sandbox(**kwargs).start()
        started.append(sb)
        return sb

    yield start
    for sb in started:
        sb.stop()


@pytest.fixture
def sandbox(sandbox_factory: Callable[..., Any]) -> Any:
    """A demo-seeded sandbox with a rate limit high enough never to matter."""
    return sandbox_factory()


class SandboxProcess:
    """``concord-etl sandbox`` run as a real subprocess (for kill/restart tests)."""

    def __init__(self, args: list[str]) -> None:
        cmd = [sys.executable, "-m", "concord_etl.sandbox", "--port", "0", "--quiet", *args]
        self.proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        match = re.search(r"running at (http://\S+)", line)
        if not match:
            err = self.proc.stderr.read() if self.proc.stderr else ""
            self.proc.kill()
            raise RuntimeError(f"sandbox did not start: {line!r} {err}")
        self.url: str = match.group(1)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait()


@pytest.fixture
def sandbox_process(tmp_path: Path) -> Iterator[Callable[..., SandboxProcess]]:
    """Start sandbox subprocesses: ``sandbox_process("--rate-limit", "60", ...)``."""
    started: list[SandboxProcess] = []

    def start(*args: str, state: Path | None = None, token: str = TOKEN) -> SandboxProcess:
        state_dir = state or tmp_path / f"proc-state-{len(started)}"
        proc = SandboxProcess(["--token", token, "--state", str(state_dir), *args])
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.stop()
