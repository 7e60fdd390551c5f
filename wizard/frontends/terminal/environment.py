"""Everything the program gets from outside: streams, terminal, folders, settings.

One object, passed to :func:`wizard.frontends.terminal.cli.main`, so tests can hand in their own.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING

from wizard.service.desk import Desk

if TYPE_CHECKING:
    from rich.console import Console

    from wizard.checks import System


def isatty(stream: IO[str]) -> bool:
    """Whether the stream is a terminal (a closed or odd stream is not)."""
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
        return isatty(self.stdin) and isatty(self.stdout)

    def desk(self, args: object) -> Desk:
        """The help desk this run works for, from the global options of the command line
        (``--data-dir``, ``--org``, ``--flowcharts``, ``--templates``) and the
        environment, by the one documented rule."""
        return Desk.from_options(
            environ=self.environ, data_dir=getattr(args, "data_dir", None),
            org=getattr(args, "org", None), flowcharts=getattr(args, "flowcharts", None),
            templates=getattr(args, "templates", None), on_warning=self.warn)

    def console(self) -> Console:
        """A rich console on this run's output; piped output gets a wide page so ids and
        paths are never cut."""
        from rich.console import Console

        width = None if self.interactive else 160
        return Console(file=self.stdout, force_terminal=self.interactive or None,
                       highlight=False, soft_wrap=False, width=width)

    def default_staffer(self) -> str:
        name = self.environ.get("IPSEC_TRIAGE_STAFFER")
        if name:
            return name
        try:
            import getpass

            return getpass.getuser()
        except (KeyError, OSError):
            return "unknown"

    def error(self, message: str) -> None:
        self.stderr.write(f"ipsec-triage: error: {message}\n")
        self.stderr.flush()

    def warn(self, message: str) -> None:
        self.stderr.write(f"ipsec-triage: warning: {message}\n")
        self.stderr.flush()
