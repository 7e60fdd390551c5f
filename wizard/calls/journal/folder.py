"""The folder of call records: new calls, finding one by id, locks, tickets.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
import sys
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from wizard.base.errors import NOT_STARTED_TEXT, DiskFull, TriageError
from wizard.calls.journal.events import read_events
from wizard.calls.journal.state import CallState, replay
from wizard.calls.journal.writer import CallBusy, CallLock, Journal, JournalError

CALLS_DIR = "calls"
MAX_TICKET = 4 * 1024 * 1024
"""The largest ticket file read back (a ticket is a few kilobytes)."""


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
