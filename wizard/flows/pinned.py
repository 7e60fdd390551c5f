"""The flowchart set a call started with, kept by its digest so the call goes on with it.

A flowchart edited while calls are open must not change them: a renamed option would
make later answers vanish from the route. So a call's start event records the digest
of its set (:func:`set_digest`: the bytes of every chart and the catalogue), and the
checked set is kept once per digest in the data folder, ``flowsets/<digest>.json``
(plain JSON read into the records of :mod:`wizard.flows.nodes`, never code, private to
the user like the rest of the folder). ``resume``, ``show``, ``ticket`` and the web
desk read the call's set from there (:func:`for_call`) until the call ends. The user
cache cannot serve: it keeps one set per folder and may be deleted at any time.

A kept copy is written only when its digest is new, so calls that start with the same
set share one file; none is removed. If a call's copy is gone (deleted by hand, a
data folder copied without it), the call goes on with today's set, and says so.
"""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path
from typing import Any

from wizard.flows.flowset import FlowSet, from_payload, to_payload
from wizard.flows.nodes import to_json

FOLDER = "flowsets"
FORMAT = 1
MAX_BYTES = 256 * 1024 * 1024
"""A kept set larger than this is not read (the biggest allowed set is far smaller)."""


def set_digest(fs: FlowSet) -> str:
    """The digest of a set's contents: every chart's bytes (by id) and the catalogue.
    The same files give the same digest wherever they are (worked out once per set)."""
    known = fs._memo.get("digest")
    if known is None:
        digest = hashlib.sha256(f"{FORMAT}\0".encode())
        for cid in sorted(fs.digests):
            digest.update(f"{cid}:{fs.digests[cid]}\0".encode())
        digest.update(json.dumps(to_json(fs.catalogue), sort_keys=True).encode())
        known = fs._memo["digest"] = digest.hexdigest()[:32]
    return str(known)


def path(root: Path, digest: str) -> Path:
    return root / FOLDER / f"{digest}.json"


def keep(fs: FlowSet, root: Path, *, durable: bool = True) -> str:
    """Keep a copy of ``fs`` in the data folder ``root`` (if none is kept for its
    digest yet); returns the digest. OSError when it cannot be written."""
    from wizard.base.privacy import atomic_write, private_dir

    digest = set_digest(fs)
    target = path(root, digest)
    if target.is_file():
        return digest
    private_dir(target.parent)
    text = fs._memo.get("kept_text")
    if text is None:  # the same set kept in several data folders: made once
        text = fs._memo["kept_text"] = json.dumps(
            {"format": FORMAT, "digest": digest, "set": to_payload(fs)}, ensure_ascii=False)
    atomic_write(target, str(text), durable=durable)
    return digest


@functools.lru_cache(maxsize=16)
def _read(file: str, digest: str) -> FlowSet | None:
    """The kept set of that file (contents never change for a digest: read once)."""
    try:
        if Path(file).stat().st_size > MAX_BYTES:
            return None
        data: Any = json.loads(Path(file).read_text(encoding="utf-8"))
        if (not isinstance(data, dict) or data.get("format") != FORMAT
                or data.get("digest") != digest):
            return None
        return from_payload(data["set"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError):
        return None


def kept(root: Path, digest: str) -> FlowSet | None:
    """The set kept for ``digest`` in the data folder ``root``, or None (gone, not
    readable, or from a program that wrote it another way)."""
    if not digest or any(c not in "0123456789abcdef" for c in digest):
        return None
    target = path(root, digest)
    if not target.is_file():
        return None
    return _read(str(target), digest)


def for_call(current: FlowSet, root: Path, digest: str) -> tuple[FlowSet, bool]:
    """The set a call with the recorded ``digest`` goes on with, and whether it had
    to be today's for want of its own (the call's copy is gone). A call recorded
    before sets were kept (no digest) goes on with today's, as it always did."""
    if not digest or digest == set_digest(current):
        return current, False
    pinned = kept(root, digest)
    if pinned is None:
        return current, True
    return pinned, False
