"""Shared fixtures: every test gets its own data folder, and no test reaches the network."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pexpect
import pytest

from .browser_support import CHROMIUM, FLAGS

ROOT = Path(__file__).resolve().parent.parent
FLOWCHARTS = ROOT / "flowcharts"
# checked flowchart sets are cached in a folder of the test run, never the user's own
CACHE = os.environ["IPSEC_TRIAGE_CACHE"] = tempfile.mkdtemp(prefix="ipsec-triage-cache-")


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    d = tmp_path / "data"
    monkeypatch.setenv("IPSEC_TRIAGE_DATA", str(d))
    monkeypatch.setenv("IPSEC_TRIAGE_STAFFER", "tester")
    monkeypatch.delenv("IPSEC_TRIAGE_ORG", raising=False)
    monkeypatch.delenv("IPSEC_TRIAGE_FLOWCHARTS", raising=False)
    return d


def cli_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """Environment for running the real command in a subprocess."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("IPSEC_TRIAGE")}
    env.update({"IPSEC_TRIAGE_DATA": str(data_dir), "IPSEC_TRIAGE_STAFFER": "tester",
                "PYTHONPATH": str(ROOT), "COLUMNS": "120", "TERM": "xterm",
                "IPSEC_TRIAGE_CACHE": CACHE})
    env.update(extra)
    return env


PYTHON = sys.executable


def pty_spawn(program: str, args: list[str], **kwargs: Any) -> pexpect.spawn:
    """``pexpect.spawn`` for the terminal tests, without pexpect's pause of 50 ms before
    every send: the tests wait for what the program shows before typing, so the pause
    only made a test with a hundred keys five seconds slower."""
    child = pexpect.spawn(program, args, **kwargs)
    child.delaybeforesend = None
    return child


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield chromium
        chromium.close()
