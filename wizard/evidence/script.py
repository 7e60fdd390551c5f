"""The collector script: the collectors ``collect`` runs, written as one PowerShell 5.1
script for a caller's Windows 10/11 or Server 2016+ that has no Python.

One list of what to collect (:data:`wizard.evidence.collectors.COLLECTORS`, the ones
marked ``script``), two runners: ``collect`` runs the tasks itself, this module writes
them into the script's ``$Tasks`` table and the script runs them. Like IPsec_Debug.vbs,
the script turns logging on for the time of the test (it saves the audit policy, turns
on the IPsec and Filtering Platform subcategories by GUID) and restores the saved
policy in a ``finally`` block, also when interrupted with Ctrl-C. Each task has a time
limit; one that fails or hangs is recorded in the manifest and the rest goes on. It
writes one zip in the layout of :mod:`wizard.evidence.layout` and sends nothing.

Values put into the script (call id, computers, target) are checked first as the checks
check them and then written as single-quoted literals; nothing else from outside the
declarations reaches it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from wizard.base.errors import ExitStatus, TriageError
from wizard.base.resources import builtin_dir
from wizard.base.validate import ProbeArgumentError, validate_host
from wizard.checks import System
from wizard.evidence import layout
from wizard.evidence.base import WORK, Collector, Command, Context, ps_code, ps_quote
from wizard.evidence.collectors import COLLECTORS
from wizard.evidence.packet import safe_name

_CALL_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
SCRIPT_TIMEOUT_CAP = 600


@dataclass(frozen=True)
class ScriptRequest:
    computer: str
    target: str | None = None
    address: str | None = None
    call_id: str | None = None
    ports: tuple[int, ...] = (445,)


def checked(req: ScriptRequest) -> ScriptRequest:
    """The request with its values checked as the checks check them, or a one-line
    :class:`TriageError` naming the value."""
    def host(what: str, value: str | None) -> str | None:
        if not value:
            return None
        try:
            return validate_host(value)
        except ProbeArgumentError as exc:
            raise TriageError(f"{what}: {exc}", ExitStatus.USAGE) from None

    comp = host("computer", req.computer)
    if comp is None:
        raise TriageError("computer: a host name is required", ExitStatus.USAGE)
    if req.call_id is not None and not _CALL_ID.fullmatch(req.call_id):
        raise TriageError(f"call id {req.call_id[:40]!r} is not a call id", ExitStatus.USAGE)
    address = host("target address", req.address)
    if address is not None and not re.fullmatch(r"[0-9a-fA-F.:]+", address):
        raise TriageError(f"target address {address!r} is not an IP address", ExitStatus.USAGE)
    for port in req.ports:
        if not 0 < port < 65536:
            raise TriageError(f"port {port} is not a TCP port", ExitStatus.USAGE)
    return ScriptRequest(comp, host("target", req.target), address, req.call_id,
                         tuple(dict.fromkeys(req.ports)))


def script_context(req: ScriptRequest) -> Context:
    return Context(system=System(platform="win32"), comp=req.computer, target=req.target,
                   platform="win32", hostname="", address=req.address, ports=req.ports,
                   workdir=WORK)


def script_tasks(ctx: Context, collectors: Sequence[Collector] = COLLECTORS
                 ) -> list[tuple[str, Command]]:
    """The (collector, command) pairs the script runs, in order."""
    out: list[tuple[str, Command]] = []
    for col in collectors:
        if not (col.script and col.applies(ctx)):
            continue
        for task in col.setup(ctx):
            if not isinstance(task, Command):
                raise TypeError(f"{col.name}: the script runs commands only, not {task!r}")
            out.append((col.name, task))
    return out


def ps_arg(value: str) -> str:
    """One argument as a PowerShell expression (the work folder as ``$Work``)."""
    if WORK not in value:
        return ps_quote(value)
    parts: list[str] = []
    for i, piece in enumerate(value.split(WORK)):
        if i:
            parts.append("$Work")
        if piece:
            parts.append(ps_quote(piece))
    return "(" + " + ".join(parts) + ")"


def _argv(argv: Sequence[str]) -> str:
    return "@(" + ", ".join(ps_arg(a) for a in argv) + ")"


def _task_line(collector: str, cmd: Command) -> str:
    name = ps_quote(layout.EVIDENCE + safe_name(cmd.filename))
    timeout = int(min(max(cmd.timeout, 1), SCRIPT_TIMEOUT_CAP))
    code = ps_code(cmd)
    if code is not None:
        return (f"    @{{ File = {name}; Collector = {ps_quote(collector)}; "
                f"Command = {ps_quote(code)}; Timeout = {timeout}; Code = {{ {code} }} }}")
    return (f"    @{{ File = {name}; Collector = {ps_quote(collector)}; "
            f"Command = {ps_quote(' '.join(cmd.argv))}; Timeout = {timeout}; "
            f"Exe = {ps_quote(cmd.argv[0])}; Arguments = {_argv(cmd.argv[1:])} }}")


def _change_line(what: str, apply: Sequence[str], undo: Sequence[str], undo_text: str) -> str:
    undo_ps = _argv(undo) if undo else "@()"
    return (f"    @{{ What = {ps_quote(what)}; Apply = {_argv(apply)}; Undo = {undo_ps}; "
            f"UndoText = {ps_quote(undo_text)} }}")


def generate(req: ScriptRequest, collectors: Sequence[Collector] = COLLECTORS) -> str:
    """The collector script for ``req`` (checked first)."""
    req = checked(req)
    ctx = script_context(req)
    tasks = script_tasks(ctx, collectors)
    changes = [ch for col in collectors if col.script and col.applies(ctx)
               for ch in col.changes(ctx)]
    zip_name = layout.packet_zip_name(req.call_id, req.computer)
    values = {
        "@@CALL@@": ps_quote(req.call_id or ""),
        "@@COMPUTER@@": ps_quote(req.computer),
        "@@TARGET@@": ps_quote(req.target or ""),
        "@@ADDRESS@@": ps_quote(req.address or ""),
        "@@PORT@@": str(req.ports[0] if req.ports else 445),
        "@@VERSION@@": ps_quote(layout.COLLECTOR_VERSION),
        "@@ZIP@@": ps_quote(zip_name),
        "@@MANIFEST@@": ps_quote(layout.MANIFEST),
        "@@TASKS@@": "\n".join(_task_line(c, t) for c, t in tasks),
        "@@CHANGES@@": "\n".join(_change_line(ch.what, ch.apply, ch.undo, ch.undo_text)
                                 for ch in changes),
        "@@CALL_TEXT@@": req.call_id or "(none)",
        "@@FILE@@": script_name(req),
    }
    text = template()
    for key, value in values.items():
        text = text.replace(key, value)
    return text


def template() -> str:
    """The script's runner (``templates/collector.ps1``); the tasks are put into it."""
    return (builtin_dir("templates") / "collector.ps1").read_text(encoding="utf-8")


def script_name(req: ScriptRequest) -> str:
    stem = layout.packet_zip_name(req.call_id, req.computer).removesuffix(".zip")
    return stem.replace("ipsec_", "ipsec-collect_", 1) + ".ps1"
