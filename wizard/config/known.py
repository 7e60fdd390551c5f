"""An organization file this program has read and checked before, unchanged since.

Reading an organization file means the YAML parser and pydantic (about 170 ms before a
call's first question). A file found right is remembered in the user cache folder
(:mod:`wizard.flows.cache`, with the same rules: keyed by this program's version and
modules, the file's path and its bytes; kept only where no one else can write; safe to
delete) as the data read from it, plus the few settings a call needs before its first
question. :func:`recall` gives a :class:`KnownOrg` for such a file without loading
either library; its :attr:`KnownOrg.config` (the checked settings) is built when a
call first needs more, from the same data by the same code, so it cannot fail
differently. A file that changed, or one never read right, is read and checked at
once, and any mistake in it is told before the call starts, as always.
"""

from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

from wizard.flows import cache

if TYPE_CHECKING:
    from wizard.config.organization import OrgConfig

KIND = "organization"


class KnownOrg:
    """An organization file read right before: the settings a call needs first, and
    the whole checked settings when first asked for."""

    def __init__(self, path: Path, data: Any, facts: dict[str, Any]) -> None:
        self.path = path
        self._data = data
        self.flowcharts_dir: str | None = facts["flowcharts_dir"]
        self.templates_dir: str | None = facts["templates_dir"]
        self.test_server_names: tuple[str, ...] = tuple(facts["test_servers"])
        self.has_destinations: bool = bool(facts["destinations"])
        self.design: dict[str, Any] = dict(facts["design"])
        self._config: OrgConfig | None = None
        self._building = threading.Lock()  # a call and a hand-off retry may both ask

    @property
    def config(self) -> OrgConfig:
        with self._building:
            if self._config is None:
                from wizard.config.organization import org_from_data

                self._config = org_from_data(self.path, self._data)
            return self._config


Org: TypeAlias = "OrgConfig | KnownOrg"
"""An organization's settings as a call is given them: checked just now
(:class:`~wizard.config.organization.OrgConfig`) or read right before
(:class:`KnownOrg`, checked when first needed). Without an organization file, ``None``."""


def checked(org: Org) -> OrgConfig:
    """The whole checked settings of ``org`` (built now for a file read right before)."""
    return org.config if isinstance(org, KnownOrg) else org


def _key(path: Path, content: bytes) -> str:
    digest = hashlib.sha256(f"{cache.code_version()}\0{KIND}\0{path.resolve()}\0".encode())
    digest.update(content)
    return digest.hexdigest()


def _facts(org: OrgConfig) -> dict[str, Any]:
    return {"flowcharts_dir": org.flowcharts_dir, "templates_dir": org.templates_dir,
            "test_servers": list(org.test_server_names),
            "destinations": org.has_destinations, "design": org.design}


def recall(path: Path) -> KnownOrg | None:
    """The file as read right before, if it has not changed since; else None."""
    try:
        content = path.read_bytes()
    except OSError:
        return None  # told when the file is read
    entry = cache.read(_key(path, content), KIND)
    if entry is None:
        return None
    try:
        return KnownOrg(path, entry["data"], entry["facts"])
    except (KeyError, TypeError):
        return None


def remember(path: Path, content: bytes, data: Any, org: OrgConfig) -> None:
    """Keep a file just read (``content``, parsed as ``data``) and found right, if it
    is still what was read (as JSON: a file with values JSON would read back otherwise,
    a date for one, is not kept and is simply read each time)."""
    try:
        if path.read_bytes() != content or json.loads(json.dumps(data)) != data:
            return
    except (OSError, TypeError, ValueError):
        return
    key = _key(path, content)
    if cache.read(key, KIND) is None:
        cache.write(key, {"data": data, "facts": _facts(org)}, KIND)
