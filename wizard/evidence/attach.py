"""A packet coming back to the call: checked against the layout (:mod:`.layout`) and its
own manifest before anything of the call is changed, then kept with the call.

Refused, each with one line saying why: a file too big or not a zip, a truncated or
damaged zip, more members than a packet has, a member name that is absolute, climbs
(``..``), is a link or a device, or is not in the layout, a member whose unpacked size
is too big or whose packing ratio is a zip bomb's, a manifest that is not JSON or names
another call, a member missing from the manifest's checksums or whose sha256 differs.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from wizard.base.errors import ExitStatus, TriageError
from wizard.evidence import layout
from wizard.evidence.packet import replacing, safe_name, write_redaction_map
from wizard.evidence.redact import Redactor

CHUNK = 1024 * 1024


class PacketRefused(TriageError):
    """The packet is not taken; nothing of the call was changed."""

    status = ExitStatus.USAGE


@dataclass
class CheckedPacket:
    path: Path
    manifest: dict[str, Any]
    name: str = ""
    """The packet's own name (an upload's file name; else the path's)."""
    members: list[tuple[str, int]] = field(default_factory=list)
    """(name, size) of every member, as checked."""

    @property
    def evidence(self) -> list[str]:
        return [n for n, _ in self.members if n.startswith(layout.EVIDENCE)]


def _refuse(path: Path | str, why: str) -> PacketRefused:
    name = path.name if isinstance(path, Path) else path
    return PacketRefused(f"{name}: packet refused: {why}; nothing of the call was changed")


def _member_name(info: zipfile.ZipInfo) -> str | None:
    """The member's name if the layout allows it (None: refuse)."""
    name = info.filename
    if "\\" in name:  # .NET Framework before 4.6.1 wrote "\" between folders
        name = name.replace("\\", "/")
    return name if layout.member_ok(name) else None


def _why_bad_name(name: str) -> str:
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        return f"member {name[:80]!r} has an absolute path"
    if ".." in name.replace("\\", "/").split("/"):
        return f"member {name[:80]!r} climbs out of its folder ('..')"
    return f"member {name[:80]!r} is not part of a packet"


def check_packet(path: Path, *, call_id: str | None, computer: str | None,
                 name: str | None = None) -> CheckedPacket:
    """Check ``path`` all through (it is read, never unpacked to disk); raise
    :class:`PacketRefused` with one line (naming the packet ``name``, default the path's
    name), or return the checked packet."""
    checked = _check_file(path, name or path.name, call_id=call_id, computer=computer)
    checked.name = name or path.name
    return checked


def _check_file(real: Path, name: str, *, call_id: str | None,
                computer: str | None) -> CheckedPacket:
    path = Path(name)  # refusals name the packet as the user knows it
    try:
        st = real.stat()
    except OSError as exc:
        raise _refuse(path, f"cannot read it: {exc.strerror or exc}") from None
    if not stat.S_ISREG(st.st_mode):
        raise _refuse(path, "not a regular file")
    if st.st_size > layout.MAX_PACKET:
        raise _refuse(path, f"{st.st_size // 2**20} MiB is more than the "
                            f"{layout.MAX_PACKET // 2**20} MiB a packet may have")
    try:
        with zipfile.ZipFile(real) as zf:
            checked = _check_zip(path, zf, call_id=call_id, computer=computer)
            checked.path = real
            return checked
    except zipfile.BadZipFile as exc:
        raise _refuse(path, f"not a zip file, or truncated or damaged ({exc})") from None
    except (zipfile.LargeZipFile, NotImplementedError, EOFError, ValueError) as exc:
        raise _refuse(path, f"a zip this program does not read ({exc})") from None
    except OSError as exc:
        raise _refuse(path, f"cannot read it: {exc.strerror or exc}") from None


def _check_zip(path: Path, zf: zipfile.ZipFile, *, call_id: str | None,
               computer: str | None) -> CheckedPacket:
    infos = zf.infolist()
    if len(infos) > layout.MAX_MEMBERS:
        raise _refuse(path, f"{len(infos)} members, more than the {layout.MAX_MEMBERS} a "
                            "packet has")
    names: dict[str, zipfile.ZipInfo] = {}
    total = 0
    for info in infos:
        if info.is_dir():
            if info.filename.replace("\\", "/") not in ("evidence/",):
                raise _refuse(path, _why_bad_name(info.filename))
            continue
        mode = info.external_attr >> 16
        kind_bits = stat.S_IFMT(mode)  # 0: a writer that gives permissions only
        if info.create_system == 3 and kind_bits and kind_bits != stat.S_IFREG:
            kind = "a link" if stat.S_ISLNK(mode) else "a device or special file"
            raise _refuse(path, f"member {info.filename[:80]!r} is {kind}")
        name = _member_name(info)
        if name is None:
            raise _refuse(path, _why_bad_name(info.filename))
        if name in names:
            raise _refuse(path, f"member {name!r} is there twice")
        if info.file_size > layout.MAX_MEMBER:
            raise _refuse(path, f"member {name!r} claims {info.file_size // 2**20} MiB "
                                f"unpacked, more than {layout.MAX_MEMBER // 2**20} MiB")
        if info.file_size > 65536 and info.file_size > layout.MAX_RATIO * max(
                info.compress_size, 1):
            raise _refuse(path, f"member {name!r} unpacks to "
                                f"{info.file_size // max(info.compress_size, 1)} times its "
                                "packed size (a zip bomb)")
        total += info.file_size
        names[name] = info
    if total > layout.MAX_TOTAL:
        raise _refuse(path, f"{total // 2**20} MiB unpacked, more than "
                            f"{layout.MAX_TOTAL // 2**20} MiB")
    if layout.MANIFEST not in names:
        raise _refuse(path, "no manifest.json (not a packet of collect or the collector)")
    manifest = _manifest(path, zf, names[layout.MANIFEST])
    _check_owner(path, manifest, call_id=call_id, computer=computer)
    checksums = manifest.get("checksums")
    if not isinstance(checksums, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in checksums.items()):
        raise _refuse(path, "manifest.json has no checksums")
    listed = {k.replace("\\", "/"): v.lower() for k, v in checksums.items()}
    members: list[tuple[str, int]] = []
    for name, info in names.items():
        if name == layout.MANIFEST:
            members.append((name, info.file_size))
            continue
        if name not in listed:
            raise _refuse(path, f"member {name!r} is not in the manifest's checksums "
                                "(added after it was made)")
        digest = hashlib.sha256()
        size = 0
        with zf.open(info) as fh:
            for chunk in _chunks(fh, info.file_size):
                size += len(chunk)
                digest.update(chunk)
        if digest.hexdigest() != listed[name]:
            raise _refuse(path, f"member {name!r} does not match its sha256 in the manifest "
                                "(changed or damaged)")
        members.append((name, size))
    missing = sorted(set(listed) - set(names))
    if missing:
        raise _refuse(path, f"{len(missing)} member(s) of the manifest missing, e.g. "
                            f"{missing[0][:80]!r} (truncated or incomplete)")
    return CheckedPacket(path, manifest, members=members)


def _chunks(fh: IO[bytes], claimed: int) -> Iterator[bytes]:
    """The member's bytes, never more than it claims (zipfile checks the CRC at the end)."""
    read = 0
    while True:
        chunk = fh.read(CHUNK)
        if not chunk:
            return
        read += len(chunk)
        if read > claimed:
            raise zipfile.BadZipFile("a member is longer than it says")
        yield chunk


def _manifest(path: Path, zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> dict[str, Any]:
    if info.file_size > layout.MAX_MANIFEST:
        raise _refuse(path, "manifest.json is too big")
    with zf.open(info) as fh:
        raw = b"".join(_chunks(fh, info.file_size))
    try:
        data = json.loads(raw.decode("utf-8-sig"))  # PowerShell 5.1 may write a BOM
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise _refuse(path, f"manifest.json is not JSON ({str(exc)[:80]})") from None
    if not isinstance(data, dict):
        raise _refuse(path, "manifest.json is not a manifest")
    absent = [k for k in ("computer", "files", "checksums") if k not in data]
    if absent:
        raise _refuse(path, f"manifest.json has no {absent[0]!r}")
    return data


def _check_owner(path: Path, manifest: dict[str, Any], *, call_id: str | None,
                 computer: str | None) -> None:
    owner = manifest.get("call_id")
    if call_id is None:
        return
    if owner not in (None, ""):
        if str(owner) != call_id:
            raise _refuse(path, f"it is for call {str(owner)[:40]}, not {call_id}")
        return
    comp = str(manifest.get("computer") or "")
    if computer and comp.split(".")[0].lower() != computer.split(".")[0].lower():
        raise _refuse(path, f"it names no call and is of computer {comp[:60]!r}, not the "
                            f"call's {computer!r}")


def keep(checked: CheckedPacket, folder: Path, *, redactor: Redactor | None) -> Path:
    """Copy the checked packet into the call's ``folder`` (0600), redacted on request
    (names and contents through the same redactor, new checksums; its map is written
    beside the packet, never in it). Atomic: a kill leaves the old folder."""
    from wizard.base.privacy import private_dir

    private_dir(folder)
    base = safe_name(checked.name or checked.path.name)
    if not base.endswith(".zip"):
        base += ".zip"
    target = folder / base
    n = 1
    while target.exists() or target.with_name(target.name + ".redaction-map.json").exists():
        n += 1
        target = folder / f"{base.removesuffix('.zip')}-{n}.zip"
    with replacing(target) as tmp:
        with open(tmp, "wb") as out:
            if redactor is None:
                with open(checked.path, "rb") as src:
                    while chunk := src.read(CHUNK):
                        out.write(chunk)
            else:
                _redacted_copy(checked, out, redactor)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o600)
    if redactor is not None:
        write_redaction_map(target, redactor)
    return target


def _redacted_copy(checked: CheckedPacket, out: IO[bytes], redactor: Redactor) -> None:
    new_name: dict[str, str] = {}
    checksums: dict[str, str] = {}
    with zipfile.ZipFile(checked.path) as src, \
            zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as dst:
        for name, _ in checked.members:
            if name == layout.MANIFEST:
                continue
            info = next(i for i in src.infolist() if _member_name(i) == name)
            text = src.read(info).decode("utf-8", "replace")
            if name.startswith(layout.EVIDENCE):
                member = layout.EVIDENCE + safe_name(redactor.name(name[len(layout.EVIDENCE):]))
            else:
                member = name
            data = redactor.text(text).encode()
            new_name[name] = member
            checksums[member] = hashlib.sha256(data).hexdigest()
            dst.writestr(member, data)
        original = checked.manifest.get("files")
        manifest = redactor.value(dict(checked.manifest))
        manifest["redacted"] = True
        manifest["checksums"] = checksums
        files = manifest.get("files")
        if isinstance(files, list) and isinstance(original, list):
            for entry, before in zip(files, original, strict=False):
                old = before.get("file") if isinstance(before, dict) else None
                if isinstance(entry, dict) and isinstance(old, str) and old in new_name:
                    entry["file"] = new_name[old]
                    entry["sha256"] = checksums[new_name[old]]
        dst.writestr(layout.MANIFEST, json.dumps(manifest, indent=2, ensure_ascii=False))
