"""The program's one error family and its exit codes (documented in the README).

Every mistake the core can report to a person (a wrong file, an unknown call, a store
that cannot be reached) is a :class:`TriageError`: ``str()`` is one line that names the
file, line and field where there is one, and ``status`` is the exit code a command line
returns for it. Each front end turns the family into its own messages in one place
(the command line's ``main``, the web application's error handler); anything else that
escapes is a bug.
"""

from __future__ import annotations

import enum
import errno


class ExitStatus(enum.IntEnum):
    OK = 0
    """Done: the call ended (any of the three statuses), or the command succeeded."""
    ERROR = 1
    """An unexpected internal error (a bug: please report it with the call id)."""
    USAGE = 2
    """The command line was wrong."""
    FLOWCHART = 3
    """The flowcharts (or `lint`) found problems; nothing was started."""
    ANSWERS = 4
    """The answers file is wrong or does not answer a question; the call is kept open."""
    NOT_FOUND = 5
    """No such call record (or it cannot be resumed)."""
    NO_TERMINAL = 6
    """A prompt was needed but there is no terminal: use --answers FILE."""
    CONFIG = 7
    """The organization file or a template is wrong."""
    STORE = 8
    """The call store (database) cannot be reached; nothing was lost: the calls stay in
    the data folder and ``sync`` stores them later."""
    HANDOFF = 9
    """The hand-off to Tier 2 failed (it waits in the outbox when it may pass)."""
    DISK_FULL = 10
    """The disk of the data folder is full: the call is kept, with everything recorded
    before; nothing more is taken until space is freed."""
    INTERRUPTED = 130
    """Ctrl-C or a closed terminal: the call is saved and can be resumed."""


class TriageError(Exception):
    """A problem a person can fix, told in one line; ``status`` is its exit code.

    Subclasses set a default ``status``; a caller that knows better (the same file error
    means "answers file wrong" in one command and "organization file wrong" in another)
    passes its own.
    """

    status: ExitStatus = ExitStatus.ERROR

    def __init__(self, message: str = "", status: ExitStatus | None = None) -> None:
        super().__init__(message)
        if status is not None:
            self.status = status


_FULL = (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC))

DISK_FULL_TEXT = ("the disk of the desk is full; the call is kept, nothing you confirmed "
                  "is lost; try again when space is freed")


NOT_STARTED_TEXT = ("the disk of the desk is full; no call was started; try again when "
                    "space is freed")


class DiskFull(TriageError):
    """The disk (or the user's quota) is full while a call is written: what the call
    had recorded before is kept, the event or ticket being written is not. ``str()``
    names the file; ``told`` is what a page tells a user (:data:`DISK_FULL_TEXT`, or
    :data:`NOT_STARTED_TEXT` when a new call could not be started)."""

    status = ExitStatus.DISK_FULL

    def __init__(self, path: object, told: str = DISK_FULL_TEXT) -> None:
        super().__init__(f"{path}: {told}")
        self.told = told


_SQLITE_FULL = 13
"""``sqlite3.SQLITE_FULL`` ("database or disk is full"), without loading sqlite3."""


def is_disk_full(exc: BaseException) -> bool:
    """The error says the disk or the quota is full (an OSError, or SQLite's own
    "database or disk is full")."""
    if isinstance(exc, OSError):
        return exc.errno in _FULL
    return getattr(exc, "sqlite_errorcode", None) == _SQLITE_FULL
