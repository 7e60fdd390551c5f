"""What keeps the web desk to its team: the session's user, the CSRF token of every
form, the limit on login attempts, and the audit log."""

from __future__ import annotations

import hmac
import json
import os
import secrets
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from wizard.base.privacy import FILE_MODE, private_dir
from wizard.calls.journal import now_iso

SECRET_FILE = "web-secret"  # noqa: S105 - the file's name, not a secret
AUDIT_FILE = "audit.log"

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
    """Failed login attempts per (user name, address) in a sliding window. Kept in the
    memory of one server process."""

    def __init__(self, attempts: int = LOGIN_ATTEMPTS, window: float = LOGIN_WINDOW) -> None:
        self.attempts = attempts
        self.window = window
        self._failed: dict[tuple[str, str], list[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: tuple[str, str], now: float) -> list[float]:
        times = [t for t in self._failed.get(key, []) if now - t < self.window]
        if times:
            self._failed[key] = times
        else:
            self._failed.pop(key, None)
        return times

    def wait(self, name: str, address: str) -> float:
        """Seconds until this user name may try again from this address (0: now)."""
        key = (name.strip().lower(), address)
        now = time.monotonic()
        with self._lock:
            times = self._recent(key, now)
            if len(times) < self.attempts:
                return 0.0
            return max(self.window - (now - times[0]), 1.0)

    def failed(self, name: str, address: str) -> None:
        key = (name.strip().lower(), address)
        with self._lock:
            self._failed.setdefault(key, []).append(time.monotonic())

    def succeeded(self, name: str, address: str) -> None:
        with self._lock:
            self._failed.pop((name.strip().lower(), address), None)


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
