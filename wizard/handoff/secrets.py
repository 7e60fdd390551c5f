"""Passwords and API tokens: from the environment, else the OS keyring; never from a file.

The ``keyring`` package is optional (``pip install ipsec-triage[keyring]``): it reaches
the Windows Credential Manager, the macOS Keychain or the Secret Service on Linux.
Entries are stored under the service ``ipsec-triage`` with the secret's name as the user
name, e.g. ``keyring set ipsec-triage SNOW_PASSWORD``.

Every secret handed out is remembered so :func:`scrub` can take it out of any error
message before it is printed or written to the outbox.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Mapping

from wizard.base.errors import ExitStatus, TriageError

KEYRING_SERVICE = "ipsec-triage"

_seen: set[str] = set()
_lock = threading.Lock()


class SecretMissing(TriageError):
    """A destination names a secret that is set nowhere. ``str()`` names only the name."""

    status = ExitStatus.HANDOFF


def _from_keyring(name: str) -> str | None:
    try:
        import keyring
        from keyring.errors import KeyringError
    except ImportError:
        return None
    try:
        value = keyring.get_password(KEYRING_SERVICE, name)
    except (KeyringError, RuntimeError, OSError):
        return None
    return value or None


def get_secret(name: str, environ: Mapping[str, str]) -> str:
    """The value of secret ``name``: the environment variable, else the keyring entry."""
    value = environ.get(name) or _from_keyring(name)
    if not value:
        raise SecretMissing(
            f"secret {name} is not set: export {name}=... or store it with "
            f"'keyring set {KEYRING_SERVICE} {name}'")
    with _lock:
        _seen.add(value)
    return value


def remember(value: str) -> None:
    """Treat ``value`` as a secret for :func:`scrub` (e.g. a derived auth header)."""
    if value:
        with _lock:
            _seen.add(value)


def scrub(text: str) -> str:
    """``text`` with every secret handed out so far replaced by ``***``."""
    with _lock:
        values = sorted(_seen, key=len, reverse=True)
    for value in values:
        if len(value) >= 3:
            text = text.replace(value, "***")
    return text


def forget_all() -> None:
    with contextlib.suppress(Exception), _lock:
        _seen.clear()
