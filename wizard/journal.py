"""The call record: an append-only journal, one JSON line per event, flushed to disk.

Every answer is written (and fsync'd) the moment it is given, so a closed terminal or
a killed process loses at most the answer being typed. The state of a call is the
replay of its journal: the last answer given for each step wins.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the checks are imported when a record has a check result
    from .probes.base import ProbeResult

CALLS_DIR = "calls"


class JournalError(Exception):
    """A call record is missing or unusable. ``str()`` is one line."""


def now_iso() -> str:
    return datetime.now(timezone.utc).astimezone().isoformat(timespec="seconds")


def atomic_write(path: Path, text: str) -> None:
    """Write a whole file so that readers see the old or the new content, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


@dataclass
class AnswerRecord:
    key: str
    value: str
    at: str
    source: str = "staffer"
    """staffer | answers_file | probe (a probe suggestion accepted as it was)."""
    suggested: str | None = None


@dataclass
class CallState:
    """Everything known about a call, rebuilt from its journal."""

    call_id: str
    staffer: str = ""
    started: str = ""
    runs_on: str = "helpdesk"
    mode: str = "interactive"
    flowcharts: dict[str, str] = field(default_factory=dict)
    answers: dict[str, AnswerRecord] = field(default_factory=dict)
    probes: dict[str, ProbeResult] = field(default_factory=dict)
    probe_args: dict[str, dict[str, str]] = field(default_factory=dict)
    notes: dict[str, list[str]] = field(default_factory=dict)
    changes: list[dict[str, Any]] = field(default_factory=list)
    """Answers that replaced an earlier one (the "back" edits), oldest first."""
    ended: dict[str, Any] | None = None
    resumed: list[str] = field(default_factory=list)
    damaged_lines: int = 0
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

    def values(self) -> dict[str, str]:
        return {k: a.value for k, a in self.answers.items()}


class Journal:
    """Appends events to one call's journal file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fh = open(path, "a", encoding="utf-8")  # noqa: SIM115 - kept open for the call

    def append(self, event: str, **fields: Any) -> dict[str, Any]:
        record = {"event": event, "t": now_iso(), **fields}
        self._fh.write(json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n")
        self._fh.flush()
        os.fsync(self._fh.fileno())
        return record

    def close(self) -> None:
        if not self._fh.closed:
            self._fh.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_events(path: Path) -> tuple[list[dict[str, Any]], int]:
    """Events of a journal, and how many lines were damaged (e.g. cut by a kill)."""
    events: list[dict[str, Any]] = []
    damaged = 0
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        raise JournalError(f"{path}: no such call record") from None
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            damaged += 1
            continue
        if isinstance(obj, dict) and "event" in obj:
            events.append(obj)
        else:
            damaged += 1
    return events, damaged


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
            state.org = dict(ev.get("org") or {})
            state.practice = bool(ev.get("practice", False))
        elif kind == "answer":
            key = str(ev["key"])
            old = state.answers.get(key)
            rec = AnswerRecord(key, str(ev["value"]), str(ev.get("t", "")),
                               str(ev.get("source", "staffer")), ev.get("suggested"))
            if old is not None and old.value != rec.value:
                state.changes.append({"key": key, "from": old.value, "to": rec.value,
                                      "at": rec.at, "by": by})
            state.answers[key] = rec
            if state.ended is not None:
                state.ended = None  # an answer after the end reopens the call
        elif kind == "probe":
            from .probes.base import ProbeResult

            with contextlib.suppress(KeyError, ValueError, TypeError):
                state.probes[str(ev["key"])] = ProbeResult.from_dict(ev["result"])
                state.probe_args[str(ev["key"])] = dict(ev.get("args") or {})
        elif kind == "note":
            state.notes.setdefault(str(ev["key"]), []).append(str(ev["text"]))
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


class CallStore:
    """The folder that holds every call record of this computer (or a shared folder).

    ``folder`` names the kind of record: calls, or halving sessions.
    """

    def __init__(self, root: Path, folder: str = CALLS_DIR) -> None:
        self.root = root
        self.calls = root / folder

    def _ensure(self) -> None:
        try:
            self.calls.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise JournalError(f"{self.calls}: cannot create the call folder: "
                               f"{exc.strerror or exc}") from None

    def path(self, call_id: str) -> Path:
        return self.calls / f"{call_id}.jsonl"

    def new_call(self, **start_fields: Any) -> tuple[str, Journal, dict[str, Any]]:
        """Create a call record; returns its id, its open journal and the start event."""
        self._ensure()
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        for _ in range(100):
            call_id = f"{stamp}-{secrets.token_hex(2)}"
            path = self.path(call_id)
            try:
                fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
            except FileExistsError:
                continue
            os.close(fd)
            journal = Journal(path)
            event = journal.append("start", call_id=call_id, **start_fields)
            return call_id, journal, event
        raise JournalError(f"{self.calls}: could not pick a new call id")  # pragma: no cover

    def resolve_id(self, call_id: str) -> str:
        """Full id for a unique prefix, or the newest call for ``last``."""
        ids = self.ids()
        if call_id == "last":
            if not ids:
                raise JournalError(f"{self.calls}: no calls recorded yet")
            return ids[-1]
        if call_id in ids:
            return call_id
        matches = [i for i in ids if i.startswith(call_id)]
        if len(matches) == 1:
            return matches[0]
        if not matches:
            raise JournalError(f"no call {call_id!r} in {self.calls} (see 'ipsec-triage list')")
        raise JournalError(f"{call_id!r} matches {len(matches)} calls; give more of the id")

    def ids(self) -> list[str]:
        if not self.calls.is_dir():
            return []
        return sorted(p.stem for p in self.calls.glob("*.jsonl"))

    def load(self, call_id: str) -> CallState:
        return self._load_exact(self.resolve_id(call_id))

    def _load_exact(self, call_id: str) -> CallState:
        path = self.path(call_id)
        events, damaged = read_events(path)
        if not events or events[0].get("event") != "start":
            raise JournalError(f"{path}: not a call record (no start event)")
        return replay(call_id, events, damaged)

    def open_journal(self, call_id: str) -> Journal:
        return Journal(self.path(self.resolve_id(call_id)))

    def all(self) -> Iterator[CallState]:
        """Every readable call record, oldest first. One listing of the folder for all of
        them (resolving each id again would list the folder once per call)."""
        for call_id in self.ids():
            try:
                yield self._load_exact(call_id)
            except JournalError:
                continue

    def ticket_path(self, call_id: str, fmt: str) -> Path:
        return self.calls / f"{call_id}.ticket.{fmt}"

