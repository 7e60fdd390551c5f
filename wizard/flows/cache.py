"""The cache of checked flowchart sets, so a call starts without parsing and checking.

One JSON file per flowchart folder in the user cache folder (``ipsec-triage/
flowcharts/``; ``$IPSEC_TRIAGE_CACHE`` names another). It is used only when its key
matches: a hash of this program's version and modules (the name, size and time written
of each), the folder, and the bytes of every flowchart file and of the catalogue. Any
change to any of them (an edit, an upgrade, a downgrade) means a miss: the files are
read, checked and the cache rewritten. The cache is JSON read into the plain records
of :mod:`wizard.flows.nodes`, never code, and it is read only from a folder and a file
that belong to the current user and that nobody else can write. Deleting it is always safe.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from wizard import __version__

FORMAT = 2
PACKAGE = Path(__file__).resolve().parents[1]


@functools.lru_cache(maxsize=1)
def code_version() -> str:
    """Digest of this program: its version, and the name, size and modification time of
    every module (an upgrade, a downgrade or an edit writes the files anew). Reading
    the files' stamps instead of their bytes keeps it under 2 ms at each start."""
    digest = hashlib.sha256(f"{__version__}\0{FORMAT}\0{sys.version}".encode())
    for directory, folders, files in os.walk(PACKAGE):
        folders[:] = sorted(f for f in folders if f != "__pycache__")
        for name in sorted(f for f in files if f.endswith(".py")):
            path = os.path.join(directory, name)
            st = os.stat(path)
            digest.update(f"{os.path.relpath(path, PACKAGE)}\0{st.st_size}\0"
                          f"{st.st_mtime_ns}\0".encode())
    return digest.hexdigest()


def folder() -> Path:
    given = os.environ.get("IPSEC_TRIAGE_CACHE")
    if given:
        return Path(given).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("ipsec-triage", appauthor=False))


def key(directory: Path, files: list[Path]) -> str:
    from wizard.flows.catalogue import catalogue_path

    digest = hashlib.sha256(code_version().encode())
    digest.update(str(directory.resolve()).encode() + b"\0")
    for path in [*files, catalogue_path(directory)]:
        digest.update(path.name.encode() + b"\0")
        with contextlib.suppress(OSError):
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def _private(path: Path) -> bool:
    """The path belongs to this user and no one else may write it."""
    if not hasattr(os, "getuid"):
        return True  # Windows: the user profile's cache folder is private by default
    try:
        st = path.lstat()
    except OSError:
        return False
    return st.st_uid == os.getuid() and not st.st_mode & 0o022 and not path.is_symlink()


def _file(cache_key: str, kind: str) -> Path:
    return folder() / kind / f"{cache_key[:40]}.json"


def read(cache_key: str, kind: str = "flowcharts") -> dict[str, Any] | None:
    """The cached set for this key, or None (missing, unsafe, unreadable, other key).
    ``kind``: what is kept (a folder of its own, one entry each: "flowcharts", the
    checked flowchart set; "organization", the checked organization file)."""
    path = _file(cache_key, kind)
    if not (_private(path.parent) and _private(path)):
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("key") != cache_key:
        return None
    payload = data.get("payload")
    return payload if isinstance(payload, dict) else None


def write(cache_key: str, payload: dict[str, Any], kind: str = "flowcharts") -> None:
    """Store a checked set; a cache that cannot be written is simply not used."""
    path = _file(cache_key, kind)
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not _private(path.parent):
            return
        for old in path.parent.glob("*.json"):  # one set per program and files
            with contextlib.suppress(OSError):
                old.unlink()
        fd, tmp = tempfile.mkstemp(prefix=".flowset.", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump({"key": cache_key, "payload": payload}, fh, ensure_ascii=False)
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
    except OSError:
        return
