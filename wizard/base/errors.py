"""Exit codes of the ``ipsec-triage`` command (documented in the README)."""

from __future__ import annotations

import enum


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
    INTERRUPTED = 130
    """Ctrl-C or a closed terminal: the call is saved and can be resumed."""
