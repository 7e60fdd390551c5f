"""Operations on calls that every front end offers: start, resume, end, list, look up,
re-render the ticket, hand to Tier 2.

Each returns data (a :class:`~wizard.calls.call.Call`, rows, an :class:`Ending`);
printing it is the front end's job. Problems are raised as the error family of
:mod:`wizard.base.errors`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wizard.base.errors import ExitStatus, TriageError
from wizard.calls.call import Call, end_label, recorded_context
from wizard.calls.engine import Engine, Step, StepKind
from wizard.calls.journal import CallState, JournalError, JournalFolder
from wizard.flows import answer_rules
from wizard.flows.flowset import FlowSet
from wizard.records.ending import write_tickets_then_end
from wizard.records.ticket import TicketError, render_tickets
from wizard.service.desk import Desk

if TYPE_CHECKING:
    from wizard.checks import System
    from wizard.config.known import Org
    from wizard.config.organization import OrgConfig
    from wizard.handoff.outbox import Outcome

LIST_FIELDS = ("call_id", "started", "staffer", "caller", "computer", "target", "status",
               "category", "ticket")


# -- starting and resuming -----------------------------------------------------------


class StafferRefused(TriageError):
    """A staffer's name the store could not hold (each front end says where it came
    from: the command line names its option)."""

    status = ExitStatus.USAGE


def check_staffer(staffer: str) -> str:
    """The staffer's name, refused in one line when the store could not hold it."""
    try:
        answer_rules.check_free_text(staffer, answer_rules.MAX_STAFFER, "the staffer name")
    except answer_rules.AnswerError as exc:
        raise StafferRefused(str(exc), ExitStatus.USAGE) from None
    return staffer


def start_call(desk: Desk, fs: FlowSet, org: Org | None, *, staffer: str,
               runs_on: str, mode: str, practice: bool = False,
               system: System | None = None, checks: bool = True) -> Call:
    """A new call, its journal opened (and locked) in the desk's data folder."""
    return Call.start(flowset=fs, journals=desk.journals(), org=org,
                      staffer=check_staffer(staffer), runs_on=runs_on, mode=mode,
                      practice=practice, system=system, checks=checks)


def resumable_call(desk: Desk, ref: str | None) -> str:
    """The id of the open call to resume: ``ref`` (id or prefix), or the newest open
    call; refused (not found, already ended) in one line."""
    journals = desk.journals()
    if ref is None:
        open_calls = [s.call_id for s in journals.all() if s.ended is None]
        if not open_calls:
            raise TriageError(f"no open call to resume in {journals.calls}",
                              ExitStatus.NOT_FOUND)
        return open_calls[-1]
    _journals, state = desk.load_call(ref)
    if state.ended is not None:
        raise TriageError(f"call {state.call_id} has already ended "
                          f"({end_label(state.ended)}); see 'ipsec-triage show "
                          f"{state.call_id}'", ExitStatus.NOT_FOUND)
    return state.call_id


def flowset_of_call(desk: Desk, fs: FlowSet, call_id: str) -> FlowSet:
    """The flowchart set an open call goes on with: the one it started with, kept in
    the data folder, or ``fs`` (today's) when that copy is gone (see Call)."""
    from wizard.flows.pinned import for_call

    _journals, state = desk.load_call(call_id)
    return for_call(fs, desk.data_dir, state.flowset)[0]


def resume_call(desk: Desk, fs: FlowSet, org: Org | None,
                call_id: str, *,
                staffer: str | None = None, system: System | None = None,
                checks: bool = True) -> Call:
    """Reopen an open call (its journal locked: a second writer is refused)."""
    try:
        return Call.resume(flowset=fs, journals=desk.journals(), org=org, call_id=call_id,
                           staffer=staffer, system=system, checks=checks)
    except JournalError as exc:
        raise TriageError(str(exc), ExitStatus.NOT_FOUND) from None


# -- the end -----------------------------------------------------------------------


@dataclass(frozen=True)
class Ending:
    """What the end of a call produced, for the front end to show."""

    call_id: str
    status_label: str
    category: str
    tier2: bool
    group: str | None
    tickets: dict[str, str]
    store_warning: str | None


def store_call(desk: Desk, call: Call) -> str | None:
    """Save the call in the call store; a store that cannot be reached loses nothing
    (the journal stays here and ``sync`` stores it later): the warning is returned."""
    from wizard.records.store import save_ended_call

    return save_ended_call(call.journals.root, call.state, call.fs,
                           environ=dict(desk.environ), configured=call.org.store_url)


def end_and_store(desk: Desk, call: Call, step: Step) -> Ending:
    """End the call at ``step`` (a terminal): write the tickets, record the end, store
    the call (handing it off is :func:`send_ended_call`, asked for after)."""
    try:
        paths = write_tickets_then_end(call, step)
    except TicketError as exc:
        raise TriageError(f"ticket template: {exc}; the call is recorded as ended, fix the "
                          f"template and run 'ipsec-triage ticket {call.call_id}'",
                          ExitStatus.CONFIG) from None
    ended = call.state.ended or {}
    warning = store_call(desk, call)
    return Ending(call_id=call.call_id, status_label=str(ended.get("status_label")),
                  category=str(ended.get("category")),
                  tier2=bool(getattr(step.visit.node, "tier2", False)),
                  group=ended.get("tier2_group"), tickets=paths, store_warning=warning)


# -- hand-off to Tier 2 ------------------------------------------------------------


def handoff_destination(call: Call) -> tuple[str, str] | None:
    """(group, kind label) where an escalated call would be sent, or None when the
    organization file names no destination for its group."""
    group = (call.state.ended or {}).get("tier2_group")
    dest = call.org.handoff.destination(group)
    if dest is None:  # the hand-off code is loaded only for a call that has somewhere to go
        return None
    from wizard.flows.vocabulary import DESTINATION_WORDS

    return str(group), DESTINATION_WORDS[dest.kind]


def send_ended_call(desk: Desk, call: Call) -> Outcome:
    """Hand the call just ended to its group (recorded in its journal), and store it
    again with its hand-off (a store that cannot be reached: ``sync`` does it later)."""
    from wizard.handoff.outbox import NotSent, send_call

    try:
        outcome = send_call(call.journals, call.org, call.call_id, environ=desk.environ)
    except NotSent as exc:
        raise TriageError(str(exc), ExitStatus.HANDOFF) from None
    call.state.handoffs.append(outcome.record)
    store_call(desk, call)
    return outcome


def send(desk: Desk, ref: str, *, group: str | None = None, packet: Path | None = None,
         again: bool = False) -> Outcome:
    """``send ID``: hand a recorded call to Tier 2, then store it again with its
    hand-off (a store that cannot be reached: ``sync`` does it later)."""
    from wizard.handoff.outbox import NotSent, send_call

    journals, state = desk.load_call(ref)
    org = desk.org()
    try:
        outcome = send_call(journals, org, state.call_id, group=group, packet=packet,
                            environ=desk.environ, again=again)
    except NotSent as exc:
        raise TriageError(str(exc), ExitStatus.HANDOFF) from None
    store_handed_off(desk, journals, org, state.call_id)
    return outcome


def store_handed_off(desk: Desk, journals: JournalFolder, org: OrgConfig,
                     call_id: str) -> str | None:
    """Store a call again after a hand-off was recorded in its journal; the warning
    when the store cannot be reached (the journal keeps it: ``sync`` stores it)."""
    from wizard.records.store import save_ended_call

    try:
        fs: FlowSet | None = desk.flowset(org)[0]
    except TriageError:
        fs = None  # stored by the shipped flowcharts' routes
    try:
        state = journals.load(call_id)
    except JournalError as exc:
        return str(exc)
    if state.ended is None:
        return None
    if fs is not None:  # stored with the flowcharts the call had
        from wizard.flows.pinned import for_call

        fs = for_call(fs, journals.root, state.flowset)[0]
    return save_ended_call(journals.root, state, fs, environ=dict(desk.environ),
                           configured=org.store_url)


def handoff_line(h: dict[str, Any]) -> str:
    """One recorded hand-off, in one line (``show``, the end page)."""
    what = {"sent": "sent", "queued": "failed, waiting in the outbox",
            "failed": "failed"}.get(str(h.get("status")), str(h.get("status")))
    if h.get("status") == "queued" and h.get("outcome") == "unknown":
        what = "outcome unknown (it may have arrived), waiting in the outbox"
    ref = " ".join(str(h[k]) for k in ("number", "url", "file") if h.get(k))
    error = f": {h['error']}" if h.get("error") else ""
    from wizard.handoff.secrets import mask_urls  # a record of an older version may hold one

    return mask_urls(f"Hand-off to {h.get('group')} ({h.get('kind')}) "
                     f"{str(h.get('t', ''))[:16]}: {what}{' ' + ref if ref else ''}{error}")


def retry_outbox(desk: Desk) -> tuple[list[Outcome], int]:
    """Retry the hand-offs waiting in the outbox: their outcomes, and how many still
    wait."""
    from wizard.handoff.outbox import drain, entries

    if not entries(desk.data_dir):
        return [], 0
    outcomes = list(drain(desk.journals(), desk.org(), environ=desk.environ))
    return outcomes, len(entries(desk.data_dir))


def retry_outbox_in_background(desk: Desk, journals: JournalFolder,
                               org: Org | None) -> Callable[[float], None]:
    """Retry waiting hand-offs while a new call goes on (results go to the journals of
    their calls; nothing is printed over the questions). Returns a function that waits
    up to the seconds given for the retry to finish."""
    if org is None or not (journals.root / "outbox").is_dir() or not org.has_destinations:
        return lambda seconds: None
    import threading

    from wizard.handoff.outbox import drain

    def run() -> None:
        from wizard.config.known import checked

        # a retry problem must never stop a call: it stays in the outbox
        with contextlib.suppress(Exception):
            drain(journals, checked(org), environ=desk.environ)

    thread = threading.Thread(target=run, name="outbox", daemon=True)
    thread.start()
    return thread.join


# -- looking calls up --------------------------------------------------------------


def call_vars(state: CallState, fs: FlowSet | None) -> dict[str, str]:
    """The call's answers by variable name (``caller_machine`` for a caller's computer
    and for a server alike), newest answer last."""
    out: dict[str, str] = {}
    for key, rec in state.answers.items():
        node_key = key.split("@", 1)[0]
        var = None
        if fs is not None and fs.has(node_key):
            var = getattr(fs.node(node_key), "var", None)
        out[var or node_key.split(".", 1)[-1]] = rec.value
    return out


def call_machine(values: dict[str, str]) -> str:
    """The computer a call is about: the caller's computer, or the server of a server
    call (``server_name`` when the answers were read without the flowcharts)."""
    return values.get("caller_machine") or values.get("server_name", "")


def ticket_ref(state: CallState) -> str:
    """The Tier 2 ticket of a call: number (or link), or the outbox."""
    ref = state.ticket_ref()
    if ref is not None:
        return str(ref.get("number") or ref.get("url") or ref.get("kind") or "sent")
    if state.handoffs and state.handoffs[-1].get("status") == "queued":
        return "outbox"
    return ""


def list_calls(desk: Desk, *, open_only: bool = False) -> list[dict[str, str]]:
    """One row per recorded call (oldest first), with :data:`LIST_FIELDS`."""
    try:
        fs: FlowSet | None = desk.flowset()[0]
    except TriageError:
        fs = None  # the list still works, by step names
    rows = []
    for s in desk.journals().all():
        if open_only and s.ended is not None:
            continue
        vals = call_vars(s, fs)
        rows.append({
            "call_id": s.call_id, "started": s.started, "staffer": s.staffer,
            "caller": vals.get("caller_name", ""), "computer": call_machine(vals),
            "target": vals.get("target", ""), "status": end_label(s.ended),
            "category": str((s.ended or {}).get("category") or ""),
            "ticket": ticket_ref(s),
        })
    return rows


def recorded_call(desk: Desk, state: CallState) -> Call:
    """A recorded call, read-only, with the flowcharts it started with (today's when
    their copy is gone: ``flowcharts_gone_lines()`` says so)."""
    return Call(flowset=desk.flowset()[0], journals=desk.journals(), state=state,
                journal=None, org=None)


def route_step(fs: FlowSet, state: CallState) -> Step:
    """Where a recorded call stands on the flowcharts (its route so far, and the step
    it is at)."""
    return Engine(fs).step(state.values(), recorded_context(state) | {"test_servers": ""})


def other_author(state: CallState, by: str) -> str:
    """Who made an answer or a note, when it was not the call's staffer ("": the
    staffer): ``show`` and the history say so."""
    return by if by and by != state.staffer else ""


def notes_with_authors(state: CallState, key: str) -> list[tuple[str, str]]:
    """The notes of a step, each with :func:`other_author` of who wrote it."""
    authors = state.note_by.get(key, [])
    return [(text, other_author(state, authors[i] if i < len(authors) else ""))
            for i, text in enumerate(state.notes.get(key, []))]


def call_record(state: CallState) -> dict[str, Any]:
    """The whole record of a call as plain data (``show --json``, the packet)."""
    return {
        "call_id": state.call_id, "staffer": state.staffer, "started": state.started,
        "runs_on": state.runs_on, "mode": state.mode, "flowcharts": state.flowcharts,
        "answers": {k: vars(a) for k, a in state.answers.items()},
        "probes": {k: p.to_dict() for k, p in state.probes.items()},
        "notes": state.notes, "note_by": state.note_by, "changes": state.changes,
        "ended": state.ended,
        "known_issues": state.known_issues, "handoffs": state.handoffs,
    }


def ticket_text(desk: Desk, ref: str, fmt: str,
                resume_hint: Callable[[str], str] | None = None) -> str:
    """The ticket of an ended call, rendered again with the flowcharts it had (see
    Call) and today's templates (``last``: the newest call that has a ticket)."""
    if ref == "last":
        # the newest call that has a ticket: ended at a flowchart exit (not open, not
        # abandoned)
        journals = desk.journals()
        ticketed = [s for s in journals.all() if s.ended and s.ended.get("terminal")]
        if not ticketed:
            raise TriageError(f"no ended call with a ticket in {journals.calls}",
                              ExitStatus.NOT_FOUND)
        state = ticketed[-1]
    else:
        journals, state = desk.load_call(ref)
    if state.ended is None:
        how = resume_hint(state.call_id) if resume_hint else f"resume {state.call_id}"
        raise TriageError(f"call {state.call_id} has not ended yet: finish it with "
                          f"'{how}'", ExitStatus.NOT_FOUND)
    if not state.ended.get("terminal"):
        raise TriageError(f"call {state.call_id} ended without a ticket "
                          f"({end_label(state.ended)})", ExitStatus.NOT_FOUND)
    fs = desk.flowset()[0]
    org = desk.org()
    call = Call(flowset=fs, journals=journals, state=state, journal=None, org=org)
    step = call.step()  # with the flowcharts the call had (see Call)
    if step.kind is not StepKind.END:
        raise TriageError(f"call {state.call_id} no longer reaches an end with the current "
                          "flowcharts; use 'ipsec-triage show' for its record",
                          ExitStatus.NOT_FOUND)
    try:
        return render_tickets(call, step, (fmt,))[fmt]
    except TicketError as exc:
        raise TriageError(f"ticket template: {exc}", ExitStatus.CONFIG) from None
