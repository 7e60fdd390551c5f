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


@dataclass(frozen=True)
class Collector:
    name: str
    description: str
    platforms: tuple[str, ...]
    setup: Callable[[Context], Sequence[Task]]
    changes: Callable[[Context], Sequence[Change]] = field(default=lambda ctx: ())

    def applies(self, ctx: Context) -> bool:
        return ctx.platform in self.platforms
