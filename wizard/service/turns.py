"""A call's turn, for the front ends: the :class:`~wizard.calls.turn.Turn` a staffer is
shown and the rules of answering it (re-exported from :mod:`wizard.calls.turn`, which the
answers-file replay uses too); and a call answered one request at a time (the web front
end): each request reads the call, or takes its one-writer lock, does its one thing and
lets go.

A request never keeps a call open between pages. Every form names the step it answers
(:func:`step_token`); a form whose step is no longer the call's (a reload, a double
submit, the back button, a second tab) is refused with :class:`StaleForm`, so an answer
is never lost or given twice.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from wizard.base.errors import ExitStatus, TriageError
from wizard.calls.call import CALLER_ONLY, CHECKS_OFF, Call
from wizard.calls.engine import Step
from wizard.calls.journal import CallState, JournalError
from wizard.calls.turn import (
    ABANDON_CHOICES,
    ABANDON_REASONS,
    CHECK,
    PRESELECTED,
    PREVIOUS,
    Notice,
    Option,
    Turn,
    duplicate_ticket,
    host_offer,
    progress_text,
    quit_call,
    recap,
    turn_of,
)
from wizard.flows.flowset import FlowSet
from wizard.service.desk import Desk

if TYPE_CHECKING:
    from wizard.checks import System
    from wizard.config.known import Org

__all__ = ["ABANDON_CHOICES", "ABANDON_REASONS", "CALLER_ONLY", "CHECK", "CHECKS_OFF", "LOCK_WAIT",
           "PRESELECTED", "PREVIOUS", "Notice", "Option", "StaleForm", "Turn",
           "check_token", "duplicate_ticket", "host_offer", "open_call", "progress_text",
           "quit_call", "read_call", "recap", "step_token", "turn_of"]

LOCK_WAIT = 3.0
"""Seconds a request waits for a call another request is writing (a write takes a few
milliseconds; a call held longer is being answered elsewhere: a terminal, a check run,
and the request is answered so, :class:`~wizard.calls.journal.CallBusy`). Wait it in a
worker thread, never on a server's event loop."""


class StaleForm(TriageError):
    """The form answers a step the call has left (or a call that has ended)."""

    status = ExitStatus.USAGE


def step_token(state: CallState, step: Step) -> str:
    """Names the step a page shows and how far the call was when it was shown: any
    answer given or changed since makes the token of an older page differ."""
    ended = "ended" if state.ended is not None else "open"
    seen = (f"{state.call_id}|{step.visit.key}|{len(state.answers)}|{len(state.changes)}"
            f"|{ended}")
    return hashlib.sha256(seen.encode()).hexdigest()[:16]


def read_call(desk: Desk, fs: FlowSet, org: Org | None,
              call_id: str, *,
              system: System | None = None, checks: bool = True) -> Call:
    """The call as recorded, read-only (no lock: a page that only shows it)."""
    journals = desk.journals()
    try:
        state = journals.load(call_id)
    except JournalError as exc:
        raise TriageError(str(exc), ExitStatus.NOT_FOUND) from None
    return Call(flowset=fs, journals=journals, state=state, journal=None, org=org,
                system=system, checks=checks)


def open_call(desk: Desk, fs: FlowSet, org: Org | None,
              call_id: str, *,
              system: System | None = None, checks: bool = True,
              wait: float = LOCK_WAIT, by: str | None = None) -> Call:
    """The call, locked for this request and read under the lock (the latest answers);
    waits up to ``wait`` seconds for another request writing it, then raises
    :class:`~wizard.calls.journal.CallBusy`. Close it at the end of the request.
    Nothing is written to the journal by opening it. It blocks: a server calls it in a
    worker thread. ``by``: who answers in this request (the signed-in user), named in
    every event it writes; default the call's staffer."""
    journals = desk.journals()
    try:
        full_id = journals.resolve_id(call_id)
    except JournalError as exc:
        raise TriageError(str(exc), ExitStatus.NOT_FOUND) from None
    lock = journals.lock_waiting(full_id, wait)
    try:
        state = journals.load(full_id)
        journal = journals.open_journal(full_id, lock)
    except BaseException:
        lock.release()
        raise
    return Call(flowset=fs, journals=journals, state=state, journal=journal, org=org,
                system=system, checks=checks, by=by)


def check_token(call: Call, token: str) -> Step:
    """The call's current step, if ``token`` names it; else StaleForm."""
    step = call.step()
    if call.state.ended is not None:
        raise StaleForm(f"call {call.call_id} has already ended")
    if token != step_token(call.state, step):
        raise StaleForm("that form was for a step this call has already moved past (a "
                        "reload, a second click, the back button or another tab): "
                        "nothing was changed; here is the current question")
    return step
