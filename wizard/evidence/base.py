"""Collectors: what evidence Tier 2 needs, declared, and run safely.

Each collector declares where it applies and what it gathers; ``setup`` only queues
tasks (run a command into a file, copy a file, write text). The runner runs them later,
each with a timeout; a failing task or collector is recorded in the manifest and the run
goes on. Changes to the computer (raising a log level) are declared as :class:`Change`
with their undo, shown to the staffer before anything runs, and undone in a ``finally``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from wizard.checks import System


@dataclass(frozen=True)
class Command:
    filename: str
    argv: tuple[str, ...]
    timeout: float = 30.0
    header: str = ""
    """Written before the command's output (e.g. which computer it ran on)."""


POWERSHELL = ("powershell.exe", "-NoProfile", "-NonInteractive", "-Command")
"""How a collector runs PowerShell code: ``collect`` starts it like this, the collector
script runs the code itself (see :mod:`wizard.evidence.script`)."""

WORK = "\x00work\x00"
"""The collector script's ``$Work`` folder, as :attr:`Context.workdir` when the script is
generated (``collect`` uses a real folder there)."""


def ps_quote(value: str) -> str:
    """A PowerShell single-quoted string literal of ``value`` (a quote is doubled, and so
    are the typographic quotes PowerShell also reads as quotes)."""
    out = value
    for q in ("'", "\u2018", "\u2019", "\u201a", "\u201b"):
        out = out.replace(q, q + q)
    return f"'{out}'"


def powershell(filename: str, code: str, timeout: float = 60.0) -> Command:
    """A task that runs PowerShell ``code`` (only cmdlets that ship with Windows 10 and
    Server 2016 and later; values put in it go through :func:`ps_quote`)."""
    return Command(filename, (*POWERSHELL, code), timeout)


def ps_code(cmd: Command) -> str | None:
    """The PowerShell code of a :func:`powershell` task, None for a program."""
    n = len(POWERSHELL)
    if cmd.argv[:n] == POWERSHELL and len(cmd.argv) == n + 1:
        return cmd.argv[n]
    return None


@dataclass(frozen=True)
class Copy:
    filename: str
    path: Path


@dataclass(frozen=True)
class Text:
    filename: str
    make: Callable[[], str]


Task = Command | Copy | Text


@dataclass(frozen=True)
class Change:
    """A change to the caller's computer, made for the capture and always undone."""

    what: str
    apply: tuple[str, ...]
    undo: tuple[str, ...]
    """Command that undoes it; empty when there is nothing to undo."""
    undo_text: str
    """How to undo it by hand, shown before it is made and written to RegDefault."""
    read_before: tuple[str, ...] | None = None
    """A command whose output (the original value) is saved before the change."""
    output: str | None = None
    """File name for the output of ``apply`` (e.g. the klist purge log)."""

    @property
    def needs_undo(self) -> bool:
        return bool(self.undo)


@dataclass
class Context:
    """What collectors know: the computer, the caller's machine name, the target."""

    system: System
    comp: str
    target: str | None
    platform: str
    timeout: float = 30.0
    hostname: str = ""
    """The computer the evidence is collected on (``comp`` is the name it is filed
    under: the call's computer, which may be another one)."""
    address: str | None = None
    """The target's IP address when the call has it (events are then kept for it only)."""
    ports: tuple[int, ...] = (445,)
    """TCP ports tested on the target: file sharing, and the application's when known."""
    workdir: str = ""
    """Folder for the run's own files (see :data:`WORK`); empty: the system's temp folder."""


@dataclass(frozen=True)
class Collector:
    name: str
    description: str
    platforms: tuple[str, ...]
    setup: Callable[[Context], Sequence[Task]]
    changes: Callable[[Context], Sequence[Change]] = field(default=lambda ctx: ())
    script: bool = False
    """Also run by the collector script on a Windows without Python (Windows 10/11 and
    Server 2016 and later: every program it calls ships with them)."""

    def applies(self, ctx: Context) -> bool:
        return ctx.platform in self.platforms
