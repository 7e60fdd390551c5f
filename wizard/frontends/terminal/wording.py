"""The command line's words for what the core says in the product's words: how a staffer
at the terminal changes it (an option of ``start``)."""

from __future__ import annotations

from wizard.service.turns import CALLER_ONLY, CHECKS_OFF

OPTIONS = {CHECKS_OFF: f"{CHECKS_OFF} (--no-checks)",
           CALLER_ONLY: f"{CALLER_ONLY} (start it with --on caller)"}


def worded(why: str) -> str:
    """Why a check did not run, with the option that changes it."""
    return OPTIONS.get(why, why)
