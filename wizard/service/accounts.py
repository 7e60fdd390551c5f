"""The team's accounts: one JSON file in the data folder (``users.json``, private to the
server's user, written whole and atomically), passwords kept as argon2 hashes.

Roles: ``staffer`` (their own calls), ``lead`` (every call, the report), ``admin``
(every call; manages accounts from the command line).
"""

from __future__ import annotations

import json
import math
import re
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from wizard.base.errors import ExitStatus, TriageError
from wizard.base.privacy import Stamp, file_stamp, private_dir
from wizard.calls.journal import atomic_write
from wizard.service.sessions import SessionStore

USERS_FILE = "users.json"
ROLES = ("staffer", "lead", "admin")
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
MIN_PASSWORD = 8



class UsersFileError(TriageError):
    """The users file cannot be read or is not one (edited by hand with a mistake):
    one line naming the file and the entry."""

class AccountError(TriageError):
    """A users command that cannot be done (no such user, a bad name or password)."""

    status = ExitStatus.USAGE


@dataclass
class User:
    name: str
    role: str
    hash: str
    disabled: bool = False
    changed: float = 0.0
    """When the password was last set: sessions from before it are no longer valid (and
    :meth:`Accounts.passwd` and :meth:`Accounts.disable` end them on the server too)."""

    @property
    def sees_every_call(self) -> bool:
        return self.role in ("lead", "admin")


def _hasher() -> Any:
    from argon2 import PasswordHasher

    return PasswordHasher()


def hash_password(password: str) -> str:
    return str(_hasher().hash(password))


_DUMMY: list[str] = []


def verify(user: User | None, password: str) -> bool:
    """Whether ``password`` is the user's; a missing or disabled user takes as long to
    refuse as a wrong password (no hint which names exist)."""
    from argon2.exceptions import InvalidHashError, VerificationError

    if not _DUMMY:
        _DUMMY.append(hash_password("not a password of anyone"))
    stored = user.hash if user is not None else _DUMMY[0]
    try:
        ok = bool(_hasher().verify(stored, password))
    except (VerificationError, InvalidHashError):
        ok = False
    return ok and user is not None and not user.disabled


class Accounts:
    """The users file of a data folder."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / USERS_FILE
        self.sessions = SessionStore(data_dir)
        self._cache: tuple[Stamp, dict[str, User]] | None = None

    def _read(self) -> dict[str, User]:
        """The users as the file holds them now. The file is only ever replaced whole
        (a new inode), so it is parsed again only when its identity, size or time
        changes: a server asking on every page reads it once per change."""
        try:
            stamp = file_stamp(self.path)
        except OSError as exc:
            raise UsersFileError(f"{self.path}: unreadable users file: {exc}",
                                 ExitStatus.CONFIG) from None
        if stamp is None:
            return {}
        if self._cache is not None and self._cache[0] == stamp:
            return self._cache[1]
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise UsersFileError(f"{self.path}: unreadable users file: {exc}",
                                 ExitStatus.CONFIG) from None
        users = _parse_users(self.path, raw)
        self._cache = (stamp, users)
        return users

    def load(self) -> dict[str, User]:
        return {key: replace(user) for key, user in self._read().items()}

    def get(self, name: str) -> User | None:
        user = self._read().get(name.strip().lower())
        return replace(user) if user is not None else None

    def _save(self, users: dict[str, User]) -> None:
        private_dir(self.path.parent)
        doc = {"users": [asdict(u) for u in sorted(users.values(), key=lambda u: u.name)]}
        atomic_write(self.path, json.dumps(doc, indent=2) + "\n")

    def add(self, name: str, role: str, password: str) -> User:
        if not NAME.match(name):
            raise AccountError(f"{name!r}: a user name is letters, digits, '.', '_' or '-' "
                               "(at most 64)")
        if role not in ROLES:
            raise AccountError(f"{role!r}: the role is one of {', '.join(ROLES)}")
        users = self.load()
        if name.lower() in users:
            raise AccountError(f"user {name} already exists (use 'users passwd' to set a "
                               "new password)")
        user = User(name=name, role=role, hash=hash_password(_checked(password)),
                    changed=time.time())
        users[name.lower()] = user
        self._save(users)
        return user

    def passwd(self, name: str, password: str) -> User:
        users = self.load()
        user = users.get(name.lower())
        if user is None:
            raise AccountError(f"no user {name}")
        user.hash = hash_password(_checked(password))
        user.changed = time.time()
        user.disabled = False
        self._save(users)
        self.sessions.revoke_user(user.name)
        return user

    def disable(self, name: str) -> User:
        users = self.load()
        user = users.get(name.lower())
        if user is None:
            raise AccountError(f"no user {name}")
        user.disabled = True
        user.changed = time.time()
        self._save(users)
        self.sessions.revoke_user(user.name)
        return user


def _parse_users(path: Path, raw: Any) -> dict[str, User]:
    """The users of a users file as read (``raw``), each entry checked: a file edited by
    hand with a role missing or a value of the wrong type is one line naming the file
    and the entry (TriageError, exit status CONFIG), never a crash."""
    def bad(message: str) -> TriageError:
        return UsersFileError(f"{path}: {message}; fix the file or write it again with "
                              "'ipsec-triage users'", ExitStatus.CONFIG)

    if not isinstance(raw, dict) or not isinstance(raw.get("users", []), list):
        raise bad("not a users file (expected {\"users\": [...]})")
    users: dict[str, User] = {}
    for number, entry in enumerate(raw.get("users", []), start=1):
        where = f"users entry {number}"
        if not isinstance(entry, dict):
            raise bad(f"{where}: expected an object with name, role and hash")
        name = entry.get("name")
        if isinstance(name, str) and NAME.match(name):
            where += f" ({name})"
        elif "name" not in entry:
            raise bad(f"{where}: no 'name'")
        else:
            raise bad(f"{where}: 'name' is not a user name (letters, digits, '.', '_' "
                      "or '-', at most 64)")
        for field in ("role", "hash"):
            if field not in entry:
                raise bad(f"{where}: no {field!r}")
        role, hashed = entry["role"], entry["hash"]
        if role not in ROLES:
            raise bad(f"{where}: 'role' is one of {', '.join(ROLES)}, not {_shown(role)}")
        if not isinstance(hashed, str) or not hashed.startswith("$argon2"):
            raise bad(f"{where}: 'hash' is not an argon2 password hash")
        disabled = entry.get("disabled", False)
        if not isinstance(disabled, bool):
            raise bad(f"{where}: 'disabled' is true or false, not {_shown(disabled)}")
        changed = entry.get("changed", 0.0)
        if changed is None:
            changed = 0.0
        if isinstance(changed, bool) or not isinstance(changed, (int, float)) \
                or not math.isfinite(changed):
            raise bad(f"{where}: 'changed' is a time in seconds, not {_shown(changed)}")
        if name.lower() in users:
            raise bad(f"{where}: a second user {name}")
        users[name.lower()] = User(name=name, role=role, hash=hashed, disabled=disabled,
                                   changed=float(changed))
    return users


def _shown(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=True)
    return text if len(text) <= 40 else text[:37] + "..."


def _checked(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"a password has at least {MIN_PASSWORD} characters")
    if "\x00" in password:
        raise AccountError("a password cannot hold a NUL character")
    return password
