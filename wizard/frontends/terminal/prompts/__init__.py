"""The interactive front end: questionary prompts and rich panels. Keyboard only.

By concern: :mod:`.primitives` (questionary and prompt_toolkit set up once, the commands
every prompt offers, the refusal of control characters, :func:`confirm`), :mod:`.live`
(:class:`LiveCall`, which renders each turn of a call and sends the answer back),
:mod:`.display` (what the live call draws besides its prompts) and :mod:`.halving`
(:func:`run_halving`). The names other modules use are imported from here.
"""

from __future__ import annotations

import questionary

from wizard.frontends.terminal.prompts.display import CONTINUED, RECAP_ANSWERS, command_rows
from wizard.frontends.terminal.prompts.halving import FAILED, UNDO, WORKS, run_halving
from wizard.frontends.terminal.prompts.live import LATER, LATER_AFTER, LiveCall
from wizard.frontends.terminal.prompts.primitives import (
    BACK,
    COMMANDS,
    END,
    ESCAPE,
    HELP,
    NOTE,
    QUIT,
    SENSITIVE,
    STYLE,
    TYPED_SEQUENCES,
    CallAbandoned,
    QuitCall,
    _free_text_check,
    confirm,
    control_refusal,
)

__all__ = ["BACK", "COMMANDS", "CONTINUED", "END", "ESCAPE", "FAILED", "HELP", "LATER",
           "LATER_AFTER", "NOTE", "QUIT", "RECAP_ANSWERS", "SENSITIVE", "STYLE",
           "TYPED_SEQUENCES", "UNDO", "WORKS", "CallAbandoned", "LiveCall", "QuitCall",
           "_free_text_check", "command_rows", "confirm", "control_refusal", "questionary",
           "run_halving"]
