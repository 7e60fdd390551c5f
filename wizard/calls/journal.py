"""The call record: an append-only journal, one JSON line per event, flushed to disk.

Every answer is written the moment it is given, so a closed terminal or a killed
process loses at most the answer being typed; it reaches the disk itself (fsync) once
the next question is on the screen, and always before any later event is accepted. The state of a
call is the replay of its journal: the last answer given for each step wins.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import stat
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wizard.base.errors import (
    NOT_STARTED_TEXT,
    DiskFull,
    ExitStatus,
    TriageError,
    is_disk_full,
)
from wizard.base.privacy import atomic_write as atomic_write  # re-exported

if TYPE_CHECKING:  # the checks are imported when a record has a check result
    from wizard.checks.base import ProbeResult

CALLS_DIR = "calls"
MAX_TICKET = 4 * 1024 * 1024
"""The largest ticket file read back (a ticket is a few kilobytes)."""


class JournalError(TriageError):
    """A call record is missing or unusable. ``str()`` is one line."""

    status = ExitStatus.NOT_FOUND


class CallBusy(JournalError):
    """Another program (a terminal, another request of the web desk) holds the call's
    one-writer lock: the call is being answered elsewhere right now."""


def now_iso() -> str:
    return datetime.now(timezone.utc).astimezone().isoformat(timespec="seconds")


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
    answers: dict[str, AnswerRecord] = field(default_factory=dict)
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

    def values(self) -> dict[str, str]:
        return {k: a.value for k, a in self.answers.items()}


class CallLock:
    """The one-writer lock of a call: an operating-system lock on ``ID.lock`` next to
    the journal, held while a program writes the call. The system lets it go when that
    program ends in any way (even ``kill -9``), so a stale lock never blocks a call.

    On POSIX systems it is ``flock`` from the standard library's ``fcntl``, the same
    lock the ``filelock`` package takes there (so programs of either kind exclude each
    other), without loading that package before the first question; on Windows it is
    ``filelock`` (``msvcrt`` locking)."""

    def __init__(self, path: Path, call_id: str) -> None:
        self.path = path
        self._release: Callable[[], None]
        try:
            if os.name == "posix":
                self._release = self._flock(path)
            else:  # pragma: no cover - Windows
                self._release = self._filelock(path)
        except _Busy:
            raise CallBusy(
                f"call {call_id} is already open in another ipsec-triage (another window "
                "or computer); finish or quit it there first") from None
        except OSError as exc:
            raise JournalError(f"{path}: cannot lock the call: {exc.strerror or exc}") from None

    @staticmethod
    def _flock(path: Path) -> Callable[[], None]:
        import fcntl

        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise _Busy() from None
        except BaseException:
            os.close(fd)
            raise

        def release() -> None:
            try:
                fcntl.flock(fd, fcntl.LOCK_UN)
            finally:
                os.close(fd)

        return release

    @staticmethod
    def _filelock(path: Path) -> Callable[[], None]:  # pragma: no cover - Windows
        from filelock import FileLock, Timeout

        lock = FileLock(str(path), timeout=0, mode=0o600)
        try:
            lock.acquire()
        except Timeout:
            raise _Busy() from None
        return lock.release

    def release(self) -> None:
        release, self._release = self._release, lambda: None
        release()


class _Busy(Exception):
    """Another program holds the call's lock."""


class Journal:
    """Appends events to one call's journal file (holding the call's lock, if given).

    An event is in the operating system (readable by any program, kept if this one is
    killed) when :meth:`append` returns. Its fsync, which puts it on the disk itself
    (kept through a power cut), is :meth:`sync`: the terminal calls it once the next
    question is on the screen, so the staffer does not wait for the disk between Enter
    and the next question. The next :meth:`append`, and :meth:`close`, sync first, so
    an event is on the disk before any later one is accepted.

    A journal whose last line was cut (a kill during a write, a full disk) is not
    glued to: opening it reads its last byte, and the first event appended starts
    with the line end the cut line lacked (the fragment stays a line of its own,
    skipped with its warning). A write the disk refuses is :class:`DiskFull`; the
    line it may have cut is ended the same way before the next event."""

    def __init__(self, path: Path, lock: CallLock | None = None, *,
                 durable: bool = True) -> None:
        self.path = path
        self.lock = lock
        self.durable = durable
        flags = os.O_RDWR | os.O_APPEND | os.O_CREAT | getattr(os, "O_BINARY", 0)
        self._fd: int | None = None
        try:
            self._fd = fd = os.open(path, flags, 0o600)
            self._cut = self._ends_cut(fd)
        except BaseException as exc:
            if self._fd is not None:
                os.close(self._fd)
            if lock is not None:
                lock.release()
            if isinstance(exc, OSError):
                raise _write_error(path, exc) from None
            raise
        self._unsynced = False
        self._sync_error: OSError | None = None

    @staticmethod
    def _ends_cut(fd: int) -> bool:
        """The file is not empty and its last byte is not a line end."""
        size = os.fstat(fd).st_size
        if size == 0:
            return False
        os.lseek(fd, size - 1, os.SEEK_SET)
        return os.read(fd, 1) != b"\n"

    def append(self, event: str, **fields: Any) -> dict[str, Any]:
        self.sync()
        record = {"event": event, "t": now_iso(), **fields}
        line = json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n"
        data = (b"\n" if self._cut else b"") + line.encode("utf-8")
        fd = self._open_fd()
        self._cut = True  # until the whole line is written
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
        except OSError as exc:
            raise _write_error(self.path, exc) from None
        self._cut = False
        self._unsynced = self.durable
        return record

    def _open_fd(self) -> int:
        if self._fd is None:
            raise JournalError(f"{self.path}: the call record is closed")
        return self._fd

    def sync(self) -> None:
        """Put every event appended so far on the disk itself, if not yet. A failed
        fsync is raised here and at every later call: what reached the disk is then
        unknown (the system reports a write error once), so nothing more is taken."""
        if self._sync_error is not None:
            raise _write_error(self.path, self._sync_error)
        if not self._unsynced:
            return
        try:
            os.fsync(self._open_fd())
        except OSError as exc:
            self._sync_error = exc
            raise _write_error(self.path, exc) from None
        self._unsynced = False

    def close(self) -> None:
        """Sync and close the file, and let go of the call's lock whatever syncing or
        closing raises (a full disk must not keep the call locked)."""
        try:
            if self._fd is not None:
                try:
                    self.sync()
                finally:
                    fd, self._fd = self._fd, None
                    try:
                        os.close(fd)  # a network file system may report a full disk here
                    except OSError as exc:
                        raise _write_error(self.path, exc) from None
        finally:
            lock, self.lock = self.lock, None
            if lock is not None:
                lock.release()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _write_error(path: Path, exc: OSError) -> Exception:
    """What a failed write of a call record is raised as: DiskFull when the disk or
    the quota is full, else the system's error itself."""
    return DiskFull(path) if is_disk_full(exc) else exc


_TEXT = (str,)
_SCALAR = (str, int, float, bool, type(None))
# Fields every event of a kind must have, and their types; and fields that may be
# missing but, when present, must have the type given.
_REQUIRED: dict[str, dict[str, tuple[type, ...]]] = {
    "answer": {"key": _TEXT, "value": _TEXT},
    "probe": {"key": _TEXT, "result": (dict,)},
    "note": {"key": _TEXT, "text": _TEXT},
    "known_issue": {"id": _TEXT},
    "sensitive_request": {},
    "start": {},
    "resume": {},
    "interrupted": {},
    "end": {},
}
_OPTIONAL: dict[str, tuple[type, ...]] = {
    "t": _TEXT, "staffer": _TEXT, "runs_on": _TEXT, "mode": _TEXT, "flowcharts": (dict,),
    "org": (dict,), "practice": (bool,), "source": _TEXT, "suggested": (str, type(None)),
    "args": (dict, type(None)), "why": _SCALAR, "step": _SCALAR, "what": _SCALAR,
    "status": _TEXT, "status_label": _TEXT, "tickets": (dict, type(None)), "by": _TEXT,
    "flowset": _TEXT,
}


def check_event(obj: Any) -> str | None:
    """Why a journal line cannot be replayed (None: it can)."""
    if not isinstance(obj, dict):
        return "not a JSON object"
    kind = obj.get("event")
    if not isinstance(kind, str):
        return "no 'event' name"
    for name, types in _REQUIRED.get(kind, {}).items():
        if name not in obj:
            return f"{kind} event without '{name}'"
        if not isinstance(obj[name], types):
            return f"{kind} event: '{name}' has the wrong type"
    for name, types in _OPTIONAL.items():
        if name in obj and not isinstance(obj[name], types):
            return f"{kind} event: '{name}' has the wrong type"
    return None


def read_events(path: Path, problems: list[str] | None = None
                ) -> tuple[list[dict[str, Any]], int]:
    """Events of a journal, and how many lines were skipped: cut by a kill, or not a
    valid event. ``problems`` receives one ``file:line: why`` message per skipped line."""
    events: list[dict[str, Any]] = []
    damaged = 0
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        raise JournalError(f"{path}: no such call record") from None
    except IsADirectoryError:
        raise JournalError(f"{path}: is a folder, not a call record") from None
    except OSError as exc:
        raise JournalError(f"{path}: cannot read the call record: "
                           f"{exc.strerror or exc}") from None
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except (json.JSONDecodeError, RecursionError, ValueError):
            why: str | None = "not a complete JSON line (cut when the program was stopped?)"
        else:
            why = check_event(obj)
            if why is not None and isinstance(obj, dict) and obj.get("event") == "start":
                # the start event holds the call's identity: keep it, without the bad fields
                bad = [k for k, types in _OPTIONAL.items()
                       if k in obj and not isinstance(obj[k], types)]
                obj = {k: v for k, v in obj.items() if k not in bad}
                if problems is not None and bad:
                    problems.append(f"{path}:{number}: start event: field(s) "
                                    f"{', '.join(bad)} ignored (wrong type)")
                why = check_event(obj)
        if why is None:
            events.append(obj)
            continue
        damaged += 1
        if problems is not None:
            problems.append(f"{path}:{number}: line skipped: {why}")
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


class JournalFolder:
    """The folder that holds every call record of this computer (or a shared folder).

    ``folder`` names the kind of record: calls, or halving sessions. ``durable=False``
    is for a folder of throwaway calls (generated or replayed in bulk, such as the
    route replay of the tests): every event and ticket is still written and flushed at
    once, but not fsync'd, so a power cut may lose the last ones. The command line and
    the web desk always use a durable folder.
    """

    def __init__(self, root: Path, folder: str = CALLS_DIR,
                 on_warning: Callable[[str], None] | None = None, *,
                 durable: bool = True) -> None:
        self.root = root
        self.calls = root / folder
        self.on_warning = on_warning
        """Told about each skipped journal line and unreadable record (one line each);
        default: printed on standard error."""
        self.durable = durable

    def _warn(self, message: str) -> None:
        if self.on_warning is not None:
            self.on_warning(message)
        else:
            sys.stderr.write(f"ipsec-triage: warning: {message}\n")

    def _ensure(self) -> None:
        from wizard.base.privacy import private_dir

        try:
            private_dir(self.calls)
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
            try:
                journal = Journal(path, self.lock(call_id), durable=self.durable)
                try:
                    event = journal.append("start", call_id=call_id, **start_fields)
                except BaseException:
                    with contextlib.suppress(OSError, TriageError):
                        journal.close()
                    raise
            except DiskFull:  # no start written: no call is left
                path.unlink(missing_ok=True)
                raise DiskFull(path, NOT_STARTED_TEXT) from None
            except BaseException:
                path.unlink(missing_ok=True)
                raise
            return call_id, journal, event
        raise JournalError(f"{self.calls}: could not pick a new call id")  # pragma: no cover

    def resolve_id(self, call_id: str) -> str:
        """Full id for a unique prefix, or the newest call for ``last``. A whole id is
        found without listing the folder (a server resolves one on every page)."""
        if (call_id and call_id != "last" and not call_id.startswith(".")
                and Path(call_id).name == call_id and self.path(call_id).is_file()):
            return call_id
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
        problems: list[str] = []
        events, damaged = read_events(path, problems)
        for problem in problems:
            self._warn(problem)
        if not events or events[0].get("event") != "start":
            raise JournalError(f"{path}: not a call record (no start event)")
        state = replay(call_id, events, damaged)
        state.problems = problems
        return state

    def lock(self, call_id: str) -> CallLock:
        """Take the call's one-writer lock, or raise JournalError naming the call."""
        return CallLock(self.calls / f"{call_id}.lock", call_id)

    def lock_waiting(self, call_id: str, wait: float) -> CallLock:
        """The call's one-writer lock, waiting up to ``wait`` seconds for the program
        holding it; then :class:`CallBusy`. It blocks: a server calls it in a worker
        thread."""
        import time

        deadline = time.monotonic() + wait
        while True:
            try:
                return self.lock(call_id)
            except CallBusy:
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.05)

    def open_journal(self, call_id: str, lock: CallLock | None = None) -> Journal:
        return Journal(self.path(self.resolve_id(call_id)), lock, durable=self.durable)

    @contextlib.contextmanager
    def writing(self, call_id: str, *, wait: float = 3.0) -> Iterator[Journal]:
        """The call's journal under the call's lock, for a writer that is not a call
        (a packet recorded or attached): while the call is open elsewhere it waits up to
        ``wait`` seconds, then :class:`CallBusy` is raised before anything is done."""
        full_id = self.resolve_id(call_id)
        journal = self.open_journal(full_id, self.lock_waiting(full_id, wait))
        try:
            yield journal
        finally:
            journal.close()

    def all(self) -> Iterator[CallState]:
        """Every readable call record, oldest first. One listing of the folder for all of
        them (resolving each id again would list the folder once per call)."""
        for call_id in self.ids():
            try:
                yield self._load_exact(call_id)
            except JournalError as exc:
                self._warn(f"{exc}; left out")
                continue

    def ticket_path(self, call_id: str, fmt: str) -> Path:
        return self.calls / f"{call_id}.ticket.{fmt}"

    def read_ticket(self, call_id: str, fmt: str) -> str | None:
        """The ticket written at a call's end, from its own file in this folder (None:
        there is none). The file is found by the call's id, never by a path a journal
        names (a journal copied in could name any file); a link in its place, or
        anything but a plain file, is refused, and so is one larger than a ticket."""
        name = f"{call_id}.ticket.{fmt}"
        if Path(name).name != name or name.startswith("."):
            raise JournalError(f"{call_id!r}: not a call id")
        path = self.calls / name
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)
                         | getattr(os, "O_NONBLOCK", 0))
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise JournalError(f"{path}: not a ticket file of this call: "
                               f"{exc.strerror or exc}") from None
        with os.fdopen(fd, "rb") as fh:
            if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                raise JournalError(f"{path}: not a ticket file of this call (not a plain "
                                   "file)")
            data = fh.read(MAX_TICKET + 1)
        if len(data) > MAX_TICKET:
            raise JournalError(f"{path}: larger than a ticket ({MAX_TICKET} bytes): left "
                               "out")
        return data.decode("utf-8", errors="replace")

    def remove_ticket_leftovers(self, call_id: str) -> None:
        """Remove the temporary ticket files (``.ID.ticket.FMT.*``) a write of this
        call's tickets left when it was killed; done as the call is ended."""
        import glob

        for tmp in self.calls.glob(f".{glob.escape(call_id)}.ticket.*"):
            with contextlib.suppress(OSError):
                tmp.unlink()

