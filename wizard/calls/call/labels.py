"""How a call's ending and where its checks ran read: the reasons a call ends early, the
label of an ended call's status, where the automatic checks ran and why a check step's
probe does not run."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

ABANDON_REASONS = {
    "hung_up": "caller hung up",
    "wrong_number": "wrong number",
    "duplicate": "duplicate of an existing ticket",
}
"""Reasons a call ends early (status ``abandoned``); any other reason is free text."""
ABANDON_CHOICES = {
    "hung_up": "The caller hung up",
    "wrong_number": "Wrong number (not an IPsec or network problem)",
    "duplicate": "Duplicate of an existing ticket",
}
"""How each reason of :data:`ABANDON_REASONS` is offered to the staffer ending a call
early, in every front end (the same keys)."""


CHECKS_OFF = "automatic checks are turned off for this call"
CALLER_ONLY = ("this check only tells something when the wizard runs on the caller's "
               "computer")
"""Why a check step's probe does not run (:meth:`Call.probe_applies`), in the product's
words: each front end adds how its user changes it (an option, a setting)."""


def end_label(ended: Mapping[str, Any] | None) -> str:
    """How an ended call's status reads: "Not fixed", or "Abandoned (caller hung up)"."""
    if ended is None:
        return "open"
    label = str(ended.get("status_label") or ended.get("status") or "")
    if ended.get("status") == "abandoned":
        reason = str(ended.get("reason") or "")
        if reason == "duplicate" and ended.get("duplicate_of"):
            why = f"duplicate of {ended['duplicate_of']}"
        else:
            why = ABANDON_REASONS.get(reason, reason)
        return f"{label or 'Abandoned'} ({why})" if why else label or "Abandoned"
    return label


def check_location(runs_on: str) -> str:
    """Where the automatic checks of a call ran: the wizard runs them on its own
    computer, the help desk's or (``--on caller``) the caller's."""
    return "caller's computer" if runs_on == "caller" else "help-desk computer"

