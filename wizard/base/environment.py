"""Everything the program gets from outside: streams, terminal, folders, settings.

One object, passed to :func:`wizard.frontends.terminal.cli.main`, so tests can hand in their own.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING

import platformdirs

if TYPE_CHECKING:
    from wizard.checks import System

APP = "ipsec-triage"


def _isatty(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


@dataclass
class Environment:
    stdin: IO[str] = field(default_factory=lambda: sys.stdin)
    stdout: IO[str] = field(default_factory=lambda: sys.stdout)
    stderr: IO[str] = field(default_factory=lambda: sys.stderr)
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    system: System | None = None
    """The probes' way to the operating system; None builds the real one."""
    argv0: str = field(default_factory=lambda: sys.argv[0] if sys.argv else "")
    """How this program was started (to print commands that work as printed)."""

    @property
    def interactive(self) -> bool:
        return _isatty(self.stdin) and _isatty(self.stdout)

    def data_dir(self, override: str | None = None) -> Path:
        if override:
            return Path(override).expanduser()
        if self.environ.get("IPSEC_TRIAGE_DATA"):
            return Path(self.environ["IPSEC_TRIAGE_DATA"]).expanduser()
        return Path(platformdirs.user_data_dir(APP, appauthor=False))

    def default_staffer(self) -> str:
        name = self.environ.get("IPSEC_TRIAGE_STAFFER")
        if name:
            return name
        try:
            import getpass

            return getpass.getuser()
        except (KeyError, OSError):
            return "unknown"

    def org_file(self, override: str | None, data_dir: Path) -> Path | None:
        if override:
            return Path(override).expanduser()
        if self.environ.get("IPSEC_TRIAGE_ORG"):
            return Path(self.environ["IPSEC_TRIAGE_ORG"]).expanduser()
        default = data_dir / "org.yaml"
        return default if default.is_file() else None

    def error(self, message: str) -> None:
        self.stderr.write(f"ipsec-triage: error: {message}\n")
        self.stderr.flush()

    def warn(self, message: str) -> None:
        self.stderr.write(f"ipsec-triage: warning: {message}\n")
        self.stderr.flush()
