"""The escalation packet as an operation: what to collect for which call, and the
packet made and recorded in the call's journal."""

from __future__ import annotations

import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from wizard.base.errors import ExitStatus, TriageError
from wizard.base.validate import ProbeArgumentError, validate_host
from wizard.service import calls
from wizard.service.desk import Desk

if TYPE_CHECKING:
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
                  values.get("intake.caller_contact", "")]
        for fmt in ("md", "txt"):
            path = journals.ticket_path(state.call_id, fmt)
            if path.is_file():
                tickets[fmt] = path.read_text(encoding="utf-8")
    call_machine = values.get("intake.caller_machine") or values.get("intake.server_name", "")
    comp = computer or call_machine or socket.gethostname()
    target = target or values.get("intake.target") or None
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
                            hosts=hosts)
    ctx = context(comp, target, system, org)
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
        journal = desk.journals().open_journal(plan.request.call_id)
        try:
            journal.append("packet", path=str(path.resolve()), redacted=plan.request.redact)
        finally:
            journal.close()
    return path, ev
