"""What keeps the web desk to its team: the CSRF token of every form, the limit on
login attempts (shared by the server's workers), the addresses a single-sign-on header
is trusted from, the headers sent with every answer, and the audit log."""

from __future__ import annotations

import contextvars
import hmac
import json
import os
import secrets
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from wizard.base.privacy import FILE_MODE, private_dir
from wizard.base.sqlitefile import SQLiteFile
from wizard.calls.journal import now_iso

AUDIT_FILE = "audit.log"
LIMIT_FILE = "login-attempts.sqlite3"

LOGIN_ATTEMPTS = 5
"""Failed logins allowed for one user name from one address per :data:`LOGIN_WINDOW`."""
ACCOUNT_ATTEMPTS = 10
"""Failed logins allowed for one user name from all addresses together per
:data:`LOGIN_WINDOW`: changing address does not give more tries."""
LOGIN_WINDOW = 15 * 60.0

SECURITY_HEADERS = {
    "Content-Security-Policy": ("default-src 'none'; script-src 'self'; style-src 'self'; "
                                "img-src 'self'; form-action 'self'; "
                                "frame-ancestors 'none'; base-uri 'none'"),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
"""Sent with every answer (:class:`wizard.frontends.web.guards.SecurityHeaders`)."""


def csrf_token(session: dict[str, Any]) -> str:
    """The session's CSRF token (made the first time a form is shown)."""
    token = session.get("csrf")
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


def csrf_ok(session: Mapping[str, Any], sent: str) -> bool:
    token = session.get("csrf")
    return isinstance(token, str) and bool(token) and hmac.compare_digest(
        token.encode("utf-8"), sent.encode("utf-8", "surrogatepass"))


class LoginLimiter:
    """Login attempts in a sliding window, shared by every worker of one server: kept
    in ``login-attempts.sqlite3`` in the data folder. Two limits, both must allow an
    attempt: :data:`LOGIN_ATTEMPTS` per (user name, address) and
    :data:`ACCOUNT_ATTEMPTS` per user name from every address together. While either
    is reached the attempt is refused before the password is looked at, so the right
    password does not get in from a new address either; the wait is until the oldest
    counted attempt leaves the window (at most :data:`LOGIN_WINDOW`).

    The standard library's SQLite does the locking between processes: one write
    transaction counts the recent attempts and records this one, so workers answering
    at the same moment can never let one more attempt through. An attempt counts as
    failed from the moment it is made; a successful login clears that name's attempts
    from that address (those from other addresses still count for the account). (The
    call store is not used: it may be a remote database, or unreachable, and the limit
    must hold all the same.)"""

    def __init__(self, data_dir: Path, attempts: int = LOGIN_ATTEMPTS,
                 window: float = LOGIN_WINDOW,
                 account_attempts: int = ACCOUNT_ATTEMPTS) -> None:
        self.file = SQLiteFile(data_dir / LIMIT_FILE, (
            "CREATE TABLE IF NOT EXISTS attempts "
            "(name TEXT NOT NULL, address TEXT NOT NULL, at REAL NOT NULL)",
            "CREATE INDEX IF NOT EXISTS attempts_key ON attempts (name, address)",
            "CREATE INDEX IF NOT EXISTS attempts_name ON attempts (name, at)"))
        self.path = self.file.path
        self.attempts = attempts
        self.account_attempts = account_attempts
        self.window = window

    @staticmethod
    def _key(name: str, address: str) -> tuple[str, str]:
        return name.strip().lower()[:200], address

    def attempt(self, name: str, address: str) -> float:
        """Count an attempt for this user name from this address: 0 when it may be made
        (it counts as failed until :meth:`succeeded`), else the seconds to wait."""
        key = self._key(name, address)
        now = time.time()
        db = self.file.connect()
        try:
            db.execute("BEGIN IMMEDIATE")
            db.execute("DELETE FROM attempts WHERE at < ?", (now - self.window,))
            waits = []
            for count, first, most in (
                    (*db.execute("SELECT COUNT(*), MIN(at) FROM attempts "
                                 "WHERE name = ? AND address = ?", key).fetchone(),
                     self.attempts),
                    (*db.execute(
                        "SELECT COUNT(*), MIN(at) FROM (SELECT at FROM attempts "
                        "WHERE name = ? ORDER BY at DESC LIMIT ?)",
                        (key[0], self.account_attempts)).fetchone(),
                     self.account_attempts)):
                if count >= most:
                    waits.append(max(self.window - (now - first), 1.0))
            if waits:
                db.execute("COMMIT")
                return float(max(waits))
            db.execute("INSERT INTO attempts VALUES (?, ?, ?)", (*key, now))
            db.execute("COMMIT")
            return 0.0
        finally:
            db.close()

    def succeeded(self, name: str, address: str) -> None:
        db = self.file.connect()
        try:
            db.execute("DELETE FROM attempts WHERE name = ? AND address = ?",
                       self._key(name, address))
        finally:
            db.close()


_PEER: contextvars.ContextVar[str] = contextvars.ContextVar("ipsec_triage_peer",
                                                            default="")
"""The connection's own address while a request is answered (set by :class:`RecordPeer`,
read by :meth:`AuditLog.write`; the threads a request's work runs in inherit it)."""


class AuditLog:
    """One JSON line per login, logout, refusal and call opened: who, from where, when.
    ``address`` is the browser's (behind the proxy, from its ``X-Forwarded-For``); when
    the connection itself came from another address, that one is written too, as
    ``peer``: a forged header cannot hide where a request really came from."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / AUDIT_FILE
        self._lock = threading.Lock()

    def write(self, event: str, *, user: str, address: str, **fields: Any) -> None:
        peer = fields.pop("peer", None) or _PEER.get()
        if peer and peer != address:
            fields["peer"] = peer
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


def peer_of(scope: Scope) -> str:
    """The address the request's connection came from (see :class:`RecordPeer`)."""
    peer = scope.get(PEER)
    return peer if isinstance(peer, str) else ""


class RecordPeer:
    """Keeps the address of the connection itself in the request, before the trusted
    proxy's ``X-Forwarded-For`` replaces it by the browser's: single sign-on trusts a
    header only from the proxy's own address, and the audit log writes it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            client = scope.get("client")
            scope[PEER] = client[0] if client else ""
            token = _PEER.set(scope[PEER])
            try:
                await self.app(scope, receive, send)
            finally:
                _PEER.reset(token)
            return
        await self.app(scope, receive, send)
