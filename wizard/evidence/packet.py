"""Run the collectors and build the escalation packet (one zip file).

The packet holds the tickets, the call record, the collected files and a manifest with
checksums, timings, timeouts hit and collector errors. With redaction, every file, file
name and the manifest go through the same :class:`Redactor`; its map is written next
to the packet, never inside it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import signal
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import Any

from wizard.evidence.base import Change, Collector, Command, Context, Copy, Task, Text
from wizard.evidence.redact import Redactor, scrub_secrets, scrub_value

MAX_COPY = 20 * 1024 * 1024
MAX_NAME = 100
"""Longest file name in the packet, and longest part (computer, target) of its own name;
with the folder and the map's suffix it stays far below 255 and Windows' MAX_PATH."""
MAX_PART = 48
_UNSAFE = re.compile(r"[^\w.-]+")  # Windows reserves <>:"/\|?* and control characters
_RESERVED = re.compile(r"(?i)(CON|PRN|AUX|NUL|COM[0-9¹²³]|LPT[0-9¹²³]|CONIN\$|CONOUT\$)")


@dataclass
class Evidence:
    files: dict[str, bytes] = field(default_factory=dict)
    entries: list[dict[str, Any]] = field(default_factory=list)
    collectors: list[dict[str, Any]] = field(default_factory=list)
    changes: list[dict[str, Any]] = field(default_factory=list)
    reg_default: list[str] = field(default_factory=list)


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM and SIGHUP (a kill, a closed terminal) interrupt like Ctrl-C, so the
    changes are still undone."""
    def handler(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signals = [getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name)]
    old: dict[int, Any] = {}
    try:
        for sig in signals:
            old[sig] = signal.signal(sig, handler)
    except ValueError:  # not the main thread: leave the handlers alone
        pass
    try:
        yield
    finally:
        for sig, previous in old.items():
            signal.signal(sig, previous)


def _run_task(ctx: Context, task: Task) -> tuple[bytes | None, dict[str, Any]]:
    start = time.monotonic()
    entry: dict[str, Any] = {"file": task.filename, "timeout_hit": False, "error": None}
    data: bytes | None = None
    if isinstance(task, Command):
        entry["command"] = " ".join(task.argv)
        out = ctx.system.run(task.argv, timeout=min(task.timeout, ctx.timeout * 10))
        entry["returncode"] = out.returncode
        if out.not_found:
            entry["error"] = f"{task.argv[0]}: not installed here"
        else:
            entry["timeout_hit"] = out.timed_out
            if out.timed_out:
                entry["error"] = f"stopped after {task.timeout:g} s"
            data = f"{task.header}$ {' '.join(task.argv)}\n{out.stdout}{out.stderr}".encode()
    elif isinstance(task, Copy):
        entry["copy_of"] = str(task.path)
        try:
            with open(task.path, "rb") as fh:
                data = fh.read(MAX_COPY + 1)
            if len(data) > MAX_COPY:
                data = data[:MAX_COPY] + b"\n[cut at 20 MiB]\n"
        except FileNotFoundError:
            entry["error"] = None
            entry["absent"] = True
        except OSError as exc:
            entry["error"] = f"cannot read {task.path}: {exc.strerror or exc}"
    elif isinstance(task, Text):
        data = task.make().encode()
    entry["duration"] = round(time.monotonic() - start, 3)
    return data, entry


def _apply(ctx: Context, change: Change, ev: Evidence) -> dict[str, Any]:
    record: dict[str, Any] = {"what": change.what, "undo": change.undo_text,
                              "applied": False, "undone": False, "error": None}
    if change.read_before:
        before = ctx.system.run(change.read_before, ctx.timeout)
        ev.reg_default.append(f"# {change.what}\n$ {' '.join(change.read_before)}\n"
                              f"{before.stdout}{before.stderr}\n# to undo: {change.undo_text}\n")
    out = ctx.system.run(change.apply, ctx.timeout)
    if change.output:
        ev.files[change.output] = f"$ {' '.join(change.apply)}\n{out.stdout}{out.stderr}".encode()
    if out.returncode == 0:
        record["applied"] = True
    else:
        record["error"] = (out.stderr or out.stdout).strip()[:300] or "failed"
    return record


def collect(ctx: Context, collectors: Sequence[Collector], *, make_changes: bool,
            on_progress: Callable[[str], None] | None = None) -> Evidence:
    """Run every applicable collector. Changes are made first and undone in ``finally``
    (also on Ctrl-C or SIGTERM)."""
    ev = Evidence()
    applicable = []
    for col in collectors:
        applies = col.applies(ctx)
        ev.collectors.append({"name": col.name, "description": col.description,
                              "applies": applies, "error": None})
        if applies:
            applicable.append((col, ev.collectors[-1]))
    changes: list[Change] = []
    for col, rec in applicable:
        try:
            changes.extend(col.changes(ctx))
        except Exception as exc:
            rec["error"] = f"declaring changes failed: {type(exc).__name__}: {exc}"
    made: list[tuple[Change, dict[str, Any]]] = []
    with _terminate_as_interrupt():
        try:
            for change in changes:
                if not make_changes:
                    ev.changes.append({"what": change.what, "undo": change.undo_text,
                                       "applied": False, "undone": False,
                                       "error": "not made: not confirmed"})
                    continue
                record = _apply(ctx, change, ev)
                ev.changes.append(record)
                made.append((change, record))
            for col, rec in applicable:
                if on_progress:
                    on_progress(col.name)
                try:
                    tasks = list(col.setup(ctx))
                except Exception as exc:
                    rec["error"] = f"{type(exc).__name__}: {exc}"
                    continue
                for task in tasks:
                    try:
                        data, entry = _run_task(ctx, task)
                    except Exception as exc:
                        data, entry = None, {"file": task.filename,
                                             "error": f"{type(exc).__name__}: {exc}"}
                    entry["collector"] = col.name
                    ev.entries.append(entry)
                    if data is not None:
                        ev.files[task.filename] = data
        finally:
            for change, record in reversed(made):
                if not record["applied"]:
                    continue
                if not change.needs_undo:
                    record["undone"] = True
                    continue
                out = ctx.system.run(change.undo, ctx.timeout)
                record["undone"] = out.returncode == 0
                if out.returncode != 0:
                    record["error"] = ("UNDO FAILED, undo by hand: " + change.undo_text)
    if ev.reg_default:
        ev.files[f"{ctx.comp}_RegDefault.txt"] = "\n".join(ev.reg_default).encode()
    return ev


def is_admin() -> bool | None:
    """Whether this process has administrator rights (None: cannot tell)."""
    if hasattr(os, "geteuid"):
        return os.geteuid() == 0
    try:  # pragma: no cover - Windows only
        import ctypes

        return bool(ctypes.windll.shell32.IsUserAnAdmin())  # type: ignore[attr-defined]
    except (AttributeError, OSError):  # pragma: no cover
        return None


def safe_name(name: str, limit: int = MAX_NAME) -> str:
    """A file name safe on every system: no reserved characters (``:`` and ``%`` of an
    IPv6 literal become ``-``), no reserved device name (CON, NUL, ...), no trailing dot
    or space, at most ``limit`` characters (a long one keeps its start and its ending,
    with a short digest of the whole between them)."""
    safe = _UNSAFE.sub("-", name.strip(". ")).strip(". -") or "_"
    if _RESERVED.fullmatch(safe.split(".", 1)[0]):
        safe = "_" + safe
    if len(safe) > limit:
        digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:8]
        tail = max(0, min(limit // 3, len(safe)))
        head = limit - tail - len(digest) - 2
        safe = f"{safe[:head]}~{digest}~{safe[len(safe) - tail:]}"
    return safe


def packet_name(comp: str, target: str | None, when: datetime,
                call_id: str | None = None) -> str:
    """``ipsec_<computer>_<target>_<date>-<time>[-<call>].zip``: ``<call>`` is the last
    part of the call's id (``20261207-224500-3fa9`` gives ``3fa9``), so that two calls'
    packets made in the same minute for the same computers have different names."""
    parts = [comp] + ([target] if target else [])
    stamp = when.strftime("%Y%m%d-%H%M")
    if call_id:
        stamp += "-" + safe_name(call_id.rsplit("-", 1)[-1], 16)
    return "_".join(["ipsec", *(safe_name(p, MAX_PART) for p in parts), stamp]) + ".zip"


def _names(target: Path) -> Iterator[Path]:
    """``target``, then ``<stem>-2.zip``, ``-3``, ..."""
    yield target
    for n in range(2, 1000):
        yield target.with_name(f"{target.stem}-{n}{target.suffix}")


def _free_name(target: Path) -> Path:
    return next((p for p in _names(target) if not os.path.lexists(p)), target)


def _place(tmp: str, target: Path) -> Path:
    """Move the written ``tmp`` to ``target``, or to the next of :func:`_names` when
    that name is taken: a packet never replaces another (a hard link is made, and fails
    if the name exists; where links are not supported, the name is reserved with an
    exclusive create first)."""
    for candidate in _names(target):
        try:
            os.link(tmp, candidate)
        except FileExistsError:
            continue
        except OSError:  # no hard links on this file system
            try:
                os.close(os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
            except FileExistsError:
                continue
            os.replace(tmp, candidate)
            return candidate
        os.unlink(tmp)
        return candidate
    raise FileExistsError(f"{target}: 999 packets of that name already")


def check_out_dir(out_dir: Path) -> None:
    """Before anything is collected: the packet can be written in ``out_dir``."""
    from wizard.base.errors import ExitStatus, TriageError

    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".packet-", suffix=".zip", dir=out_dir)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise TriageError(f"cannot write the packet in {out_dir}: "
                          f"{exc.strerror or exc}; nothing was collected",
                          ExitStatus.USAGE) from None


def build_packet(out_dir: Path, ctx: Context, ev: Evidence, *, tickets: dict[str, str],
                 record: dict[str, Any] | None, call_id: str | None,
                 redactor: Redactor | None, when: datetime | None = None) -> Path:
    """Write the zip atomically; return its path (and write the redaction map beside it)."""
    when = when or datetime.now()

    def text(s: str) -> str:
        s = scrub_secrets(s)
        return redactor.text(s) if redactor else s

    def structured(data: Any) -> str:
        data = scrub_value(data)  # value by value: JSON would escape "\" and '"'
        if redactor:
            data = redactor.value(data)
        return json.dumps(data, indent=2, ensure_ascii=False)

    def name(s: str) -> str:  # redacted first, so that a shortened name cannot leak
        return safe_name(redactor.name(s) if redactor else s)

    if redactor:  # everything is read first: a name found in the last file is in the first
        for body in tickets.values():
            redactor.learn(scrub_secrets(body))
        redactor.learn_value(scrub_value(record))
        for fname, data in ev.files.items():
            redactor.learn(fname)
            redactor.learn(scrub_secrets(data.decode("utf-8", "replace")))
        redactor.learn_value(scrub_value([ev.entries, ev.collectors, ev.changes,
                                          ctx.comp, ctx.hostname, ctx.target]))

    members: dict[str, bytes] = {}
    for fmt, body in tickets.items():
        members[f"ticket.{fmt}"] = text(body).encode()
    if record is not None:
        members["call.json"] = structured(record).encode()
    member_of: dict[str, str] = {}
    for fname, data in ev.files.items():
        member = f"evidence/{name(fname)}"
        stem, dot, ext = member.rpartition(".")
        n = 1
        while member in members:  # two names made alike by the rules above
            n += 1
            member = f"{stem}-{n}{dot}{ext}" if dot else f"{member}-{n}"
        member_of[fname] = member
        members[member] = text(data.decode("utf-8", "replace")).encode()
    files = []
    for entry in ev.entries:
        member = member_of.get(entry["file"], f"evidence/{name(entry['file'])}")
        item = dict(entry, file=member if member in members else None)
        if member in members:
            item["sha256"] = hashlib.sha256(members[member]).hexdigest()
            item["size"] = len(members[member])
        files.append(item)
    comp, dest = ctx.comp, ctx.target
    if redactor:
        comp, dest = redactor.name(comp), redactor.name(dest) if dest else None
    packet = _free_name(out_dir / packet_name(comp, dest, when, call_id)).name
    manifest = {
        "packet": packet,
        "created": when.astimezone().isoformat(timespec="seconds"),
        "call_id": call_id, "computer": ctx.comp, "collected_on": ctx.hostname or None,
        "destination": ctx.target,
        "platform": ctx.platform, "redacted": redactor is not None,
        "administrator": is_admin(),
        "collectors": ev.collectors, "files": files, "changes": ev.changes,
        "timeouts_hit": [f["file"] or f.get("command") for f in files if f.get("timeout_hit")],
        "errors": [{"collector": f.get("collector"), "error": f["error"]}
                   for f in files if f.get("error")]
        + [{"collector": c["name"], "error": c["error"]} for c in ev.collectors if c["error"]],
        "checksums": {m: hashlib.sha256(b).hexdigest() for m, b in sorted(members.items())},
    }
    members["manifest.json"] = structured(manifest).encode()
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / packet
    fd, tmp = tempfile.mkstemp(prefix=".packet-", suffix=".zip", dir=out_dir)
    os.close(fd)
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for member, data in members.items():
                zf.writestr(member, data)
        target = _place(tmp, target)  # never over another call's packet
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    if redactor is not None:
        write_redaction_map(target, redactor)
    return target


@contextlib.contextmanager
def replacing(target: Path) -> Iterator[str]:
    """A temporary file (0600) beside ``target`` that becomes ``target`` when the block
    ends well, and is removed when it does not (also on Ctrl-C): readers see the old
    file or the whole new one."""
    fd, tmp = tempfile.mkstemp(prefix=".packet-", suffix=target.suffix, dir=target.parent)
    os.close(fd)
    try:
        yield tmp
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_redaction_map(packet: Path, redactor: Redactor) -> Path:
    """The redactor's map of tokens to original values, beside the packet (0600), never
    in it."""
    map_path = packet.with_name(packet.name + ".redaction-map.json")
    fd = os.open(map_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(redactor.map, fh, indent=2, ensure_ascii=False)
    return map_path
