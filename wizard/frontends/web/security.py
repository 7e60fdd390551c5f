"""What keeps the web desk to its team: the session's user, the CSRF token of every
form, the limit on login attempts (shared by the server's workers), the addresses a
single-sign-on header is trusted from, and the audit log."""

from __future__ import annotations

import hmac
import json
import os
import secrets
import sqlite3
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from wizard.base.privacy import FILE_MODE, private_dir, private_file
from wizard.calls.journal import now_iso

SECRET_FILE = "web-secret"  # noqa: S105 - the file's name, not a secret
AUDIT_FILE = "audit.log"
LIMIT_FILE = "login-attempts.sqlite3"

LOGIN_ATTEMPTS = 5
"""Failed logins allowed for one user name from one address per :data:`LOGIN_WINDOW`."""
LOGIN_WINDOW = 15 * 60.0


def session_secret(data_dir: Path) -> str:
    """The key that signs session cookies: kept in the data folder (private), made the
    first time, so every worker and every restart use the same one."""
    private_dir(data_dir)
    path = data_dir / SECRET_FILE
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, FILE_MODE)
    except FileExistsError:
        for _ in range(50):  # another worker is writing it this moment
            text = path.read_text(encoding="ascii").strip()
            if text:
                return text
            time.sleep(0.02)
        raise RuntimeError(f"{path}: empty session key") from None
    key = secrets.token_urlsafe(48)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(key + "\n")
    return key


def csrf_token(session: dict[str, Any]) -> str:
    """The session's CSRF token (made the first time a form is shown)."""
    token = session.get("csrf")
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


def csrf_ok(session: Mapping[str, Any], sent: str) -> bool:
    token = session.get("csrf")
    return isinstance(token, str) and bool(token) and hmac.compare_digest(token, sent)


class LoginLimiter:
    """Login attempts per (user name, address) in a sliding window, shared by every
    worker of one server: kept in ``login-attempts.sqlite3`` in the data folder.

    The standard library's SQLite does the locking between processes: one write
    transaction counts the recent attempts and records this one, so workers answering
    at the same moment can never let a sixth attempt through. An attempt counts as
    failed from the moment it is made; a successful login clears the count. (The call
    store is not used: it may be a remote database, or unreachable, and the limit must
    hold all the same.)"""

    def __init__(self, data_dir: Path, attempts: int = LOGIN_ATTEMPTS,
                 window: float = LOGIN_WINDOW) -> None:
        self.path = data_dir / LIMIT_FILE
        self.attempts = attempts
        self.window = window
        self._ready = False

    def _connect(self) -> sqlite3.Connection:
        if not self._ready:
            private_dir(self.path.parent)
            private_file(self.path)
        db = sqlite3.connect(self.path, timeout=10.0, isolation_level=None)
        if not self._ready:
            db.execute("CREATE TABLE IF NOT EXISTS attempts "
                       "(name TEXT NOT NULL, address TEXT NOT NULL, at REAL NOT NULL)")
            db.execute("CREATE INDEX IF NOT EXISTS attempts_key ON attempts (name, address)")
            self._ready = True
        return db

    @staticmethod
    def _key(name: str, address: str) -> tuple[str, str]:
        return name.strip().lower()[:200], address

    def attempt(self, name: str, address: str) -> float:
        """Count an attempt for this user name from this address: 0 when it may be made
        (it counts as failed until :meth:`succeeded`), else the seconds to wait."""
        key = self._key(name, address)
        now = time.time()
        db = self._connect()
        try:
            db.execute("BEGIN IMMEDIATE")
            db.execute("DELETE FROM attempts WHERE at < ?", (now - self.window,))
            count, first = db.execute(
                "SELECT COUNT(*), MIN(at) FROM attempts WHERE name = ? AND address = ?",
                key).fetchone()
            if count >= self.attempts:
                db.execute("COMMIT")
                return float(max(self.window - (now - first), 1.0))
            db.execute("INSERT INTO attempts VALUES (?, ?, ?)", (*key, now))
            db.execute("COMMIT")
            return 0.0
        finally:
            db.close()

    def succeeded(self, name: str, address: str) -> None:
        db = self._connect()
        try:
            db.execute("DELETE FROM attempts WHERE name = ? AND address = ?",
                       self._key(name, address))
        finally:
            db.close()


class AuditLog:
    """One JSON line per login, logout, refusal and call opened: who, from where, when."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / AUDIT_FILE
        self._lock = threading.Lock()

    def write(self, event: str, *, user: str, address: str, **fields: Any) -> None:
        line = json.dumps({"t": now_iso(), "event": event, "user": user,
                           "address": address, **fields}, ensure_ascii=False,
                          sort_keys=True) + "\n"
        with self._lock:
            private_dir(self.path.parent)
            fd = os.open(self.path, os.O_CREAT | os.O_APPEND | os.O_WRONLY, FILE_MODE)
            try:
                os.write(fd, line.encode("utf-8"))
            finally:
                os.close(fd)


PEER = "ipsec_triage.peer"
"""Where :class:`RecordPeer` keeps the address the connection came from in the scope."""


class RecordPeer:
    """Keeps the address of the connection itself in the request, before the trusted
    proxy's ``X-Forwarded-For`` replaces it by the browser's: single sign-on trusts a
    header only from the proxy's own address."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            client = scope.get("client")
            scope[PEER] = client[0] if client else ""
        await self.app(scope, receive, send)
