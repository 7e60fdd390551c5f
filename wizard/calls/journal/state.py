"""A call's state: the replay of its journal (the last answer for each step wins).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from wizard.calls.answerlog import AnswerValues

if TYPE_CHECKING:  # the checks are imported when a record has a check result
    from wizard.checks.base import ProbeResult


@dataclass
class AnswerRecord:
    key: str
    value: str
    at: str
    source: str = "staffer"
    """staffer | answers_file | probe (a probe suggestion accepted as it was)."""
    suggested: str | None = None
    by: str = ""
    """Who gave it (the event's ``by``; in a journal written before it was recorded:
    the staffer at the keyboard, the call's starter or whoever resumed it)."""


class AnswerRecords(dict[str, AnswerRecord]):
    """A call's answers by step key, keeping :attr:`plain` (the values alone, what the
    engine reads) up to date as they change, so it is never rebuilt."""

    __slots__ = ("plain",)

    def __init__(self, records: Any = ()) -> None:
        """``records``: what ``dict()`` takes (a mapping or key, record pairs)."""
        super().__init__()
        self.plain = AnswerValues()
        for key, record in dict(records).items():
            self[key] = record

    def __setitem__(self, key: str, record: AnswerRecord) -> None:
        super().__setitem__(key, record)
        self.plain._put(key, record.value)

    def __delitem__(self, key: str) -> None:
        super().__delitem__(key)
        self.plain._drop(key)

    def pop(self, key: str, *default: Any) -> Any:
        if key in self:
            self.plain._drop(key)
        return super().pop(key, *default)

    def popitem(self) -> tuple[str, AnswerRecord]:
        key, record = super().popitem()
        self.plain._drop(key)
        return key, record

    def clear(self) -> None:
        for key in list(self):
            del self[key]

    def setdefault(self, key: str, default: Any = None) -> Any:
        if key not in self:
            self[key] = default
        return self[key]

    def update(self, *args: Any, **kwargs: Any) -> None:
        for key, record in dict(*args, **kwargs).items():
            self[key] = record

    def __ior__(self, other: Any) -> AnswerRecords:  # type: ignore[override,misc]
        self.update(other)
        return self

    def __reduce__(self) -> Any:  # copies and pickles keep the kind (and so the values)
        return (AnswerRecords, (dict(self),))


@dataclass
class CallState:
    """Everything known about a call, rebuilt from its journal."""

    call_id: str
    staffer: str = ""
    started: str = ""
    runs_on: str = "helpdesk"
    mode: str = "interactive"
    flowcharts: dict[str, str] = field(default_factory=dict)
    flowset: str = ""
    """The digest of the flowchart set the call started with (its copy is kept in the
    data folder, see :mod:`wizard.flows.pinned`); empty for calls from before."""
    answers: dict[str, AnswerRecord] = field(default_factory=lambda: AnswerRecords())
    """By step key; an :class:`AnswerRecords` (a plain dict given is made one)."""
    probes: dict[str, ProbeResult] = field(default_factory=dict)
    probe_args: dict[str, dict[str, str]] = field(default_factory=dict)
    notes: dict[str, list[str]] = field(default_factory=dict)
    note_by: dict[str, list[str]] = field(default_factory=dict)
    """Who wrote each of ``notes`` (the same positions)."""
    changes: list[dict[str, Any]] = field(default_factory=list)
    """Answers that replaced an earlier one (the "back" edits), oldest first."""
    ended: dict[str, Any] | None = None
    resumed: list[str] = field(default_factory=list)
    damaged_lines: int = 0
    problems: list[str] = field(default_factory=list)
    """One ``file:line: why`` message for each journal line that was skipped."""
    known_issues: dict[str, str] = field(default_factory=dict)
    """Known-issue entries shown to the staffer: id -> why it matched."""
    org: dict[str, Any] = field(default_factory=dict)
    practice: bool = False
    """A practice call (training, a replayed answers file): kept out of reports by default."""
    sensitive_requests: list[dict[str, str]] = field(default_factory=list)
    """Times the caller asked for something sensitive (the chapter's social-engineering
    caution): ``{"step": node key, "what": what was asked, "t": when}``, oldest first."""
    handoffs: list[dict[str, Any]] = field(default_factory=list)
    """Hand-offs to Tier 2 (journal event ``handoff``: ``group``, ``kind``, ``status``
    sent|queued|failed, ``number``, ``url``, ``action``, ``error``, ``t``), oldest first."""
    packets: list[dict[str, Any]] = field(default_factory=list)
    """Escalation packets made for the call (event ``packet``: ``path``, ``redacted``)."""

    def ticket_ref(self) -> dict[str, Any] | None:
        """The newest hand-off that reached Tier 2 (its ticket number and link)."""
        sent = [h for h in self.handoffs if h.get("status") == "sent"]
        return sent[-1] if sent else None

    def __post_init__(self) -> None:
        if not isinstance(self.answers, AnswerRecords):
            self.answers = AnswerRecords(self.answers)

    def values(self) -> dict[str, str]:
        """The answers' values by step key: one read-only dict kept up to date as the
        answers change (not made again at every step; ``dict(...)`` for a copy)."""
        answers = self.answers
        if not isinstance(answers, AnswerRecords):  # replaced after it was made
            answers = self.answers = AnswerRecords(answers)
        return answers.plain


def replay(call_id: str, events: list[dict[str, Any]], damaged: int = 0) -> CallState:
    state = CallState(call_id=call_id, damaged_lines=damaged)
    by = ""  # the staffer at the keyboard: the starter, then whoever resumed
    for ev in events:
        kind = ev.get("event")
        if kind == "start":
            state.staffer = by = str(ev.get("staffer", ""))
            state.started = str(ev.get("t", ""))
            state.runs_on = str(ev.get("runs_on", "helpdesk"))
            state.mode = str(ev.get("mode", "interactive"))
            state.flowcharts = dict(ev.get("flowcharts") or {})
            state.flowset = str(ev.get("flowset") or "")
            state.org = dict(ev.get("org") or {})
            state.practice = bool(ev.get("practice", False))
        elif kind == "answer":
            key = str(ev["key"])
            old = state.answers.get(key)
            rec = AnswerRecord(key, str(ev["value"]), str(ev.get("t", "")),
                               str(ev.get("source", "staffer")), ev.get("suggested"),
                               str(ev.get("by") or by))
            if old is not None and old.value != rec.value:
                state.changes.append({"key": key, "from": old.value, "to": rec.value,
                                      "at": rec.at, "by": rec.by})
            state.answers[key] = rec
            if state.ended is not None:
                state.ended = None  # an answer after the end reopens the call
        elif kind == "probe":
            from wizard.checks.base import ProbeResult

            with contextlib.suppress(KeyError, ValueError, TypeError, AttributeError):
                state.probes[str(ev["key"])] = ProbeResult.from_dict(ev["result"])
                state.probe_args[str(ev["key"])] = dict(ev.get("args") or {})
        elif kind == "note":
            state.notes.setdefault(str(ev["key"]), []).append(str(ev["text"]))
            state.note_by.setdefault(str(ev["key"]), []).append(str(ev.get("by") or by))
        elif kind == "known_issue":
            state.known_issues[str(ev.get("id"))] = str(ev.get("why", ""))
        elif kind == "sensitive_request":
            state.sensitive_requests.append({"step": str(ev.get("step", "")),
                                             "what": str(ev.get("what", "")),
                                             "t": str(ev.get("t", ""))})
        elif kind == "handoff":
            state.handoffs.append({k: v for k, v in ev.items() if k != "event"})
        elif kind == "packet":
            state.packets.append({k: v for k, v in ev.items() if k != "event"})
        elif kind == "resume":
            state.resumed.append(str(ev.get("t", "")))
            by = str(ev.get("staffer") or by)
        elif kind == "end":
            state.ended = {k: v for k, v in ev.items() if k != "event"}
    return state
