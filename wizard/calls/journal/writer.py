"""Writing one call's journal: its one-writer lock and the append-only file,
each event flushed, and fsync'd before the next one is accepted.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from wizard.base.errors import (
    DiskFull,
    ExitStatus,
    TriageError,
    is_disk_full,
)


class JournalError(TriageError):
    """A call record is missing or unusable. ``str()`` is one line."""

    status = ExitStatus.NOT_FOUND


class CallBusy(JournalError):
    """Another program (a terminal, another request of the web desk) holds the call's
    one-writer lock: the call is being answered elsewhere right now."""


def now_iso() -> str:
    return datetime.now(timezone.utc).astimezone().isoformat(timespec="seconds")


@dataclass

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
