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
import re
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


#: The user information of a URL (``scheme://user:password@``): the part after the
#: colon, or all of it when there is none (a token written as the user name).
_URL_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)(?P<user>[^/?#@\s:]*)"
                           r"(?P<password>:[^/?#@\s]*)?@")


def _masked(match: re.Match[str]) -> str:
    if match.group("password") is None:
        return f"{match.group('scheme')}***@"
    return f"{match.group('scheme')}{match.group('user')}:***@"


def mask_urls(text: str) -> str:
    """``text`` with the password of every URL in it replaced by ``***``
    (``http://svc:***@host``; ``http://***@host`` for a token without a password)."""
    return _URL_USERINFO.sub(_masked, text) if "@" in text else text


def scrub(text: str) -> str:
    """``text`` with every secret handed out so far, and every password written into a
    URL, replaced by ``***``."""
    with _lock:
        values = sorted(_seen, key=len, reverse=True)
    for value in values:
        if len(value) >= 3:
            text = text.replace(value, "***")
    return mask_urls(text)


def forget_all() -> None:
    with contextlib.suppress(Exception), _lock:
        _seen.clear()
