"""The escalation packet as an operation: what to collect for which call, and the
packet made and recorded in the call's journal."""

from __future__ import annotations

import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wizard.base.errors import ExitStatus, TriageError
from wizard.base.validate import ProbeArgumentError, validate_host
from wizard.service import calls
from wizard.service.desk import Desk

if TYPE_CHECKING:
    from wizard.calls.journal import JournalFolder
    from wizard.checks import System
    from wizard.config.organization import OrgConfig
    from wizard.evidence import Change, Evidence, PacketRequest


@dataclass
class Plan:
    """A packet about to be made: for which computer and call, and the logging changes
    it would make on this computer (each undone at the end) if allowed."""

    request: PacketRequest
    changes: list[Change]
    system: System
    org: OrgConfig
    warning: str | None = None
    """One line for the staffer: the evidence is of another computer than it is filed
    under (the real host name is recorded in the manifest and OSInfo)."""


def target_address(values: dict[str, str], target: str | None) -> str | None:
    """The call's target IP address, when the target is the call's own (another target's
    address is not known), as a plain address; None otherwise."""
    import ipaddress

    address = values.get("intake.target_ip") or ""
    if not address or (target and target != values.get("intake.target")):
        return None
    try:
        return str(ipaddress.ip_address(address.strip()))
    except ValueError:
        return None


def _short(host: str) -> str:
    return host.split(".", 1)[0].lower()


def plan_packet(desk: Desk, *, call_ref: str | None, computer: str | None,
                target: str | None, out_dir: Path, redact: bool,
                system: System | None = None) -> Plan:
    from wizard.checks import System
    from wizard.evidence import PacketRequest, context, planned_changes
    from wizard.evidence.packet import check_out_dir

    org = desk.org()
    tickets: dict[str, str] = {}
    record = None
    call_id = None
    values: dict[str, str] = {}
    people: list[str] = []
    if call_ref:
        journals, state = desk.load_call(call_ref)
        call_id = state.call_id
        record = calls.call_record(state)
        values = state.values()
        people = [state.staffer, values.get("intake.caller_name", ""),
                  values.get("intake.caller_contact", ""),  # and whoever else answered
                  *dict.fromkeys([a.by for a in state.answers.values()]
                                 + [b for by in state.note_by.values() for b in by])]
        for fmt in ("md", "txt"):
            text = journals.read_ticket(state.call_id, fmt)  # its own file, never a link
            if text is not None:
                tickets[fmt] = text
    call_machine = values.get("intake.caller_machine") or values.get("intake.server_name", "")
    comp = computer or call_machine or socket.gethostname()
    target = target or values.get("intake.target") or None
    address = target_address(values, target)
    try:
        comp = validate_host(comp)
        target = validate_host(target) if target else None
    except ProbeArgumentError as exc:
        raise TriageError(str(exc), ExitStatus.USAGE) from None
    check_out_dir(out_dir)  # before anything is asked or collected
    system = system or System(org)
    # the call's own computer and target are redacted too when others were named
    hosts = tuple(h for h in (call_machine, values.get("intake.target", ""),
                              values.get("intake.target_ip", "")) if h)
    request = PacketRequest(out_dir=out_dir, comp=comp, target=target, tickets=tickets,
                            record=record, call_id=call_id, redact=redact,
                            make_changes=False, people=tuple(p for p in people if p),
                            hosts=hosts, address=address)
    ctx = context(comp, target, system, org, address)
    warning = None
    if ctx.hostname and _short(ctx.hostname) != _short(comp):
        whose = "the computer named" if computer else "the call's computer"
        warning = (f"this computer is {ctx.hostname!r}, not {whose} {comp!r}: the evidence "
                   f"is of {ctx.hostname!r} (recorded in manifest.json and the OSInfo file)")
    return Plan(request, planned_changes(ctx), system, org, warning)


def make_packet(desk: Desk, plan: Plan, *, make_changes: bool,
                on_progress: Callable[[str], None] | None = None) -> tuple[Path, Evidence]:
    """Collect, build the zip, and record it in the call's journal (``send`` attaches
    the newest packet recorded)."""
    from wizard.evidence import make_packet as build

    plan.request.make_changes = make_changes
    path, ev = build(plan.request, plan.system, plan.org, on_progress=on_progress)
    if plan.request.call_id is not None:
        with desk.journals().writing(plan.request.call_id) as journal:
            journal.append("packet", path=str(path.resolve()), redacted=plan.request.redact)
    return path, ev


@dataclass
class CollectorScript:
    name: str
    """File name for the script (named for the call and the computer)."""
    text: str
    call_id: str | None


RUN_AS_ADMIN = ("Run it on the caller's computer as a local administrator: "
                "powershell -ExecutionPolicy Bypass -File .\\{name}")


def collector_script(desk: Desk, *, call_ref: str | None, computer: str | None = None,
                     target: str | None = None, ports: tuple[int, ...] = ()
                     ) -> CollectorScript:
    """The PowerShell collector for a call (its caller's computer, target and target
    address), or for the computer and target given; every value checked first."""
    from wizard.evidence.script import ScriptRequest, generate, script_name

    values: dict[str, str] = {}
    call_id = None
    if call_ref:
        _, state = desk.load_call(call_ref)
        call_id = state.call_id
        values = state.values()
    comp = computer or values.get("intake.caller_machine") or ""
    if not comp:
        raise TriageError("the caller's computer is not known: name it with --computer",
                          ExitStatus.USAGE)
    target = target or values.get("intake.target") or None
    req = ScriptRequest(comp, target, target_address(values, target), call_id,
                        (445, *ports))
    text = generate(req)
    from wizard.evidence.script import checked

    return CollectorScript(script_name(checked(req)), text, call_id)


@dataclass
class Attached:
    path: Path
    """Where the packet is kept with the call."""
    members: list[tuple[str, int]]
    redacted: bool
    findings: list[dict[str, Any]]
    tickets: list[Path]
    """Ticket files written again (they list the packet and its findings)."""


def packet_folder(journals: JournalFolder, call_id: str) -> Path:
    return journals.calls / f"{call_id}.packets"


def attach_packet(desk: Desk, call_ref: str, packet: Path, *, redact: bool = False,
                  by: str = "", name: str | None = None) -> Attached:
    """Take a packet (of ``collect`` or the collector script) into a call: checked all
    through first (:func:`wizard.evidence.attach.check_packet`; a refusal changes
    nothing), kept with the call (0600), redacted on request or by the organization's
    setting, analysed, recorded in the journal (``send`` attaches the newest), and the
    call's ticket written again listing it."""
    from wizard.evidence import org_redactor
    from wizard.evidence.analysis import AnalysisRefused, analyze_packet
    from wizard.evidence.attach import PacketRefused, check_packet, keep

    journals, state = desk.load_call(call_ref)
    org = desk.org()
    values = state.values()
    name = name or packet.name
    checked = check_packet(packet, call_id=state.call_id,
                           computer=values.get("intake.caller_machine") or None, name=name)
    try:
        report = analyze_packet(checked.path)
    except AnalysisRefused as exc:
        raise PacketRefused(f"{name}: packet refused: {exc}; nothing of the call was "
                            "changed") from None
    redact = redact or org.redact_attached_packets
    redactor = None
    if redact:
        hosts = [h for h in (values.get("intake.caller_machine", ""),
                             values.get("intake.target", ""), values.get("intake.target_ip", ""),
                             str(checked.manifest.get("computer") or ""),
                             str(checked.manifest.get("collected_on") or "")) if h]
        users = [u for u in (state.staffer, values.get("intake.caller_name", ""),
                             values.get("intake.caller_contact", "")) if u]
        redactor = org_redactor(org, hosts=hosts, users=users)
    with journals.writing(state.call_id) as journal:  # a call open elsewhere: nothing kept
        kept = keep(checked, packet_folder(journals, state.call_id), redactor=redactor)
        findings = report.summary(limit=20)
        if redactor is not None:
            findings = redactor.value(findings)
        journal.append("packet", path=str(kept.resolve()), redacted=redact,
                       source="attached", original=name[:200], by=by,
                       files=[{"name": n, "size": s} for n, s in checked.members][:500],
                       findings=findings,
                       collector_version=checked.manifest.get("collector_version"),
                       windows_build=checked.manifest.get("windows_build"))
    return Attached(kept, checked.members, redact, findings, rewrite_tickets(desk, state.call_id))


def rewrite_tickets(desk: Desk, call_id: str) -> list[Path]:
    """Write an ended call's ticket files again (after a packet was attached)."""
    from wizard.calls.journal import atomic_write

    journals, state = desk.load_call(call_id)
    if state.ended is None or not state.ended.get("terminal"):
        return []
    written = []
    for fmt in ("md", "txt"):
        path = journals.ticket_path(call_id, fmt)
        if path.is_file():
            atomic_write(path, calls.ticket_text(desk, call_id, fmt))
            written.append(path)
    return written
