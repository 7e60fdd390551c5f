"""The web desk's sessions, kept by the server: ``sessions.sqlite3`` in the data folder,
shared by every worker of a server and by the ``users`` command.

A browser holds only an opaque random id (the cookie); the file holds a digest of it,
the session's user and its data (CSRF token, flash messages, the call last opened).
A session ends on the server: at sign-out, when its user's password is changed or the
account disabled (:meth:`SessionStore.revoke_user`), after :data:`IDLE_TIMEOUT` without
a request, and :data:`MAX_AGE` after it began. A copied cookie is then worth nothing,
whichever worker it is sent to.

The standard library's SQLite does the locking between processes; each change is one
transaction, so a kill leaves the file as it was before or after it.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wizard.base.errors import ExitStatus, TriageError
from wizard.base.sqlitefile import SQLiteFile

SESSIONS_FILE = "sessions.sqlite3"
IDLE_TIMEOUT = 30 * 60.0
"""A session not used for this long has ended (shared help-desk computers)."""
MAX_AGE = 10 * 60 * 60.0
"""A session lasts a working day at most, used or not."""
TOUCH_EVERY = 15.0
"""A session's last use is written at most this often (a page a second stays one write)."""
ANONYMOUS_KEPT = 5000
"""Sessions without a user (a sign-in form shown) kept at most: the oldest go first."""
MAX_DATA = 64 * 1024
"""A session's data is at most this long (its flash messages are dropped first)."""


def idle_minutes(text: str, source: str, status: ExitStatus = ExitStatus.CONFIG) -> float:
    """An idle timeout in minutes (a positive number, at most a day) as seconds;
    TriageError naming ``source`` (the option or setting) if it is not one."""
    try:
        minutes = float(text)
    except ValueError:
        minutes = -1.0
    if not 0 < minutes <= 24 * 60:
        raise TriageError(f"{source}: {text!r} is not a number of minutes (more than 0, "
                          "at most 1440)", status)
    return minutes * 60


def _digest(sid: str) -> str:
    return hashlib.sha256(sid.encode("utf-8", "replace")).hexdigest()


@dataclass
class Session:
    sid: str
    user: str | None
    data: dict[str, Any]
    seen: float


class SessionStore:
    """The sessions of one data folder."""

    def __init__(self, data_dir: Path, idle: float = IDLE_TIMEOUT,
                 max_age: float = MAX_AGE) -> None:
        self.file = SQLiteFile(data_dir / SESSIONS_FILE, (
            "CREATE TABLE IF NOT EXISTS sessions (id TEXT PRIMARY KEY, user TEXT, "
            "data TEXT NOT NULL, created REAL NOT NULL, seen REAL NOT NULL)",
            "CREATE INDEX IF NOT EXISTS sessions_user ON sessions (user)",
            "CREATE INDEX IF NOT EXISTS sessions_seen ON sessions (seen)"))
        self.path = self.file.path
        self.idle = idle
        self.max_age = max_age

    def _live(self, now: float) -> tuple[float, float]:
        return now - self.idle, now - self.max_age

    def load(self, sid: str) -> Session | None:
        """The session of this id, if it is still going (an ended one is removed)."""
        if not sid or len(sid) > 200:
            return None
        now = time.time()
        db = self.file.connect()
        try:
            row = db.execute("SELECT user, data, created, seen FROM sessions WHERE id = ?",
                             (_digest(sid),)).fetchone()
            if row is None:
                return None
            user, data, created, seen = row
            idle_from, age_from = self._live(now)
            if seen < idle_from or created < age_from:
                db.execute("DELETE FROM sessions WHERE id = ?", (_digest(sid),))
                return None
            loaded = json.loads(data)
            return Session(sid, user, loaded if isinstance(loaded, dict) else {}, seen)
        finally:
            db.close()

    def save(self, old: Session | None, data: dict[str, Any]) -> str | None:
        """Keep the session's new data; returns the id the browser is to hold from now
        on (a new one at every sign-in, i.e. when the session's user or its ``since``
        changes: no id from before a sign-in is worth anything after it), or None when
        the session is empty (ended)."""
        user = data.get("user") if isinstance(data.get("user"), str) else None
        now = time.time()
        db = self.file.connect()
        try:
            db.execute("BEGIN IMMEDIATE")
            if old is not None and (not data or old.user != user
                                    or old.data.get("since") != data.get("since")):
                db.execute("DELETE FROM sessions WHERE id = ?", (_digest(old.sid),))
                old = None
            if not data:
                db.execute("COMMIT")
                return None
            text = _bounded(data)
            if old is not None:
                db.execute("UPDATE sessions SET data = ?, seen = ? WHERE id = ?",
                           (text, now, _digest(old.sid)))
                db.execute("COMMIT")
                return old.sid
            sid = secrets.token_urlsafe(32)
            idle_from, age_from = self._live(now)
            db.execute("DELETE FROM sessions WHERE seen < ? OR created < ?",
                       (idle_from, age_from))
            db.execute("INSERT INTO sessions VALUES (?, ?, ?, ?, ?)",
                       (_digest(sid), user, text, now, now))
            if user is None:
                db.execute("DELETE FROM sessions WHERE user IS NULL AND id NOT IN "
                           "(SELECT id FROM sessions WHERE user IS NULL "
                           "ORDER BY seen DESC LIMIT ?)", (ANONYMOUS_KEPT,))
            db.execute("COMMIT")
            return sid
        finally:
            db.close()

    def touch(self, session: Session) -> None:
        """Record that the session was used now (the web desk does it at most every
        :data:`TOUCH_EVERY`)."""
        now = time.time()
        db = self.file.connect()
        try:
            db.execute("UPDATE sessions SET seen = ? WHERE id = ?", (now, _digest(session.sid)))
        finally:
            db.close()

    def revoke_user(self, name: str) -> int:
        """End every session of this user; returns how many there were."""
        if not self.path.exists():
            return 0
        db = self.file.connect()
        try:
            return db.execute("DELETE FROM sessions WHERE lower(user) = lower(?)",
                              (name,)).rowcount
        finally:
            db.close()


def _bounded(data: dict[str, Any]) -> str:
    text = json.dumps(data, ensure_ascii=False, sort_keys=True)
    if len(text) > MAX_DATA:
        data = {k: v for k, v in data.items() if k != "flash"}
        text = json.dumps(data, ensure_ascii=False, sort_keys=True)
    if len(text) > MAX_DATA:  # only what signs the user in is kept
        text = json.dumps({k: data[k] for k in ("user", "since", "via", "csrf") if k in data},
                          ensure_ascii=False, sort_keys=True)
    return text
