"""What the command modules share: the way back to this program as typed in a shell,
printing or writing a command's text, and the stop with an exit status."""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from wizard.base.errors import ExitStatus
from wizard.calls.journal import atomic_write
from wizard.frontends.terminal.environment import Environment


def program(env: Environment) -> list[str]:
    """How to run this program again, as typed in a shell: ``ipsec-triage`` when that
    is what PATH finds, else the installed script's full path, else ``python -m wizard``
    with this interpreter."""
    argv0 = env.argv0
    name = Path(argv0).name
    if name in ("__main__.py", "-m", "-c", "") or name.startswith("__main__"):
        return [sys.executable, "-m", "wizard"]
    script = Path(argv0)
    if not script.is_file():
        found = shutil.which(argv0, path=env.environ.get("PATH"))
        if found is None:
            return [sys.executable, "-m", "wizard"]
        script = Path(found)
    on_path = shutil.which(script.name, path=env.environ.get("PATH"))
    if on_path and Path(on_path).resolve() == script.resolve():
        return [script.name]
    return [str(script.resolve())]


def command_line(env: Environment, args: argparse.Namespace, *words: str) -> str:
    """A command to type, with the global options of this run (so it finds the same
    calls, flowcharts and organization file), quoted for the shell."""
    parts = [*program(env), *words[:1]]
    for name in ("data_dir", "flowcharts", "org", "templates"):
        value = getattr(args, name, None)
        if value:
            parts += [f"--{name.replace('_', '-')}", str(Path(value).expanduser().resolve())]
    parts += words[1:]
    if os.name == "nt":
        return subprocess.list2cmdline(parts)
    return shlex.join(parts)


class _Stop(Exception):
    def __init__(self, status: ExitStatus) -> None:
        self.status = status


def _emit(env: Environment, text: str, output: str | None, what: str) -> None:
    """Print ``text``, or write it atomically to ``output`` and say so."""
    if output:
        atomic_write(Path(output), text)
        env.stdout.write(f"{what} written to {output}\n")
    else:
        env.stdout.write(text)
