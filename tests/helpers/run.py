"""Running the program: as a real process (``cli_env``, ``pty_spawn``) for what only a
process shows (a terminal, signals, a crash, start-up), and in this process
(``run_cli``) for the many tests that only read a command's exit status and output."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from contextlib import chdir, redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

import pexpect

ROOT = Path(__file__).resolve().parents[2]
FLOWCHARTS = ROOT / "flowcharts"
PYTHON = sys.executable
# checked flowchart sets are cached in a folder of the test run, never the user's own
CACHE = os.environ["IPSEC_TRIAGE_CACHE"] = tempfile.mkdtemp(prefix="ipsec-triage-cache-")


def cli_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """Environment for running the real command in a subprocess."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("IPSEC_TRIAGE")}
    env.update({"IPSEC_TRIAGE_DATA": str(data_dir), "IPSEC_TRIAGE_STAFFER": "tester",
                "PYTHONPATH": str(ROOT), "COLUMNS": "120", "TERM": "xterm",
                "IPSEC_TRIAGE_CACHE": CACHE})
    env.update(extra)
    return env


def pty_spawn(program: str, args: list[str], **kwargs: Any) -> pexpect.spawn:
    """``pexpect.spawn`` for the terminal tests, without pexpect's pause of 50 ms before
    every send: the tests wait for what the program shows before typing, so the pause
    only made a test with a hundred keys five seconds slower."""
    child = pexpect.spawn(program, args, **kwargs)
    child.delaybeforesend = None
    return child


@dataclass
class CliResult:
    """What ``subprocess.run(..., capture_output=True, text=True)`` gives, by the same
    names, so a test reads a command's result the same way however it was run."""

    args: list[str]
    returncode: int
    stdout: str
    stderr: str


def run_cli(args: Sequence[str], env: dict[str, str], *, input: str | None = None,
            cwd: Path | str | None = None, check: bool = False) -> CliResult:
    """Run ``python -m wizard ARGS`` in this process: the command line's own ``main``
    with an ``Environment`` whose streams are captured (standard input is ``input``,
    never a terminal), the process environment set to ``env`` (as ``cli_env`` makes it)
    and the working folder to ``cwd`` for the time of the command. What only a real
    process shows (a terminal, signals, a crash, the start-up's imports, the installed
    entry point) is tested with real processes instead. ``check`` fails as
    ``subprocess.run(..., check=True)`` does on a status other than 0."""
    from wizard.frontends.terminal.cli import main
    from wizard.frontends.terminal.environment import Environment

    if "_ARGCOMPLETE" in env:  # argcomplete answers the shell, then ends the process
        raise ValueError("run_cli: a completion request ends its process: use a real one")
    out, err = io.StringIO(), io.StringIO()
    environment = Environment(stdin=io.StringIO(input or ""), stdout=out, stderr=err,
                              environ=dict(env),
                              argv0=str(ROOT / "wizard" / "__main__.py"))
    with mock.patch.dict(os.environ, env, clear=True), redirect_stdout(out), \
            redirect_stderr(err), chdir(cwd or os.getcwd()):
        status = main(list(args), environment)
    result = CliResult([PYTHON, "-m", "wizard", *args], status, out.getvalue(), err.getvalue())
    if check and status:
        raise subprocess.CalledProcessError(status, result.args, result.stdout, result.stderr)
    return result
