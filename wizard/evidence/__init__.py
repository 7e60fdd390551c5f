"""The escalation packet: collect the Tier 2 evidence (the IPsec_Debug.vbs file set of
Table 7.3, or its Linux equivalent), redact on request, and bundle it with the ticket.

Same layer as :mod:`wizard.records`: may import the calls and everything below them.
"""

from __future__ import annotations

import getpass
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wizard.checks import System
from wizard.evidence.base import Change, Collector, Command, Context, Copy, Text
from wizard.evidence.collectors import COLLECTORS
from wizard.evidence.packet import Evidence, build_packet, check_out_dir, collect
from wizard.evidence.redact import Redactor, scrub_secrets

if TYPE_CHECKING:  # the organization model (pydantic): loaded by those that read the file
    from wizard.config.organization import OrgConfig

__all__ = ["COLLECTORS", "Change", "Collector", "Command", "Context", "Copy", "Evidence",
           "Redactor", "Text", "PacketRequest", "planned_changes", "make_packet",
           "scrub_secrets"]


@dataclass
class PacketRequest:
    out_dir: Path
    comp: str
    target: str | None
    tickets: dict[str, str]
    record: dict[str, Any] | None
    call_id: str | None
    redact: bool
    make_changes: bool
    people: tuple[str, ...] = ()
    """User names to redact (the staffer, the caller)."""
    hosts: tuple[str, ...] = ()
    """More host names and addresses to redact (the call's own computer and target when
    others were named)."""
    address: str | None = None
    """The target's IP address when the call has it (the WFP drops kept are its own)."""


def context(comp: str, target: str | None, system: System, org: OrgConfig,
            address: str | None = None) -> Context:
    return Context(system=system, comp=comp, target=target, platform=system.platform,
                   timeout=org.timeouts.default * 10, hostname=socket.gethostname(),
                   address=address)


def planned_changes(ctx: Context, collectors: tuple[Collector, ...] = COLLECTORS
                    ) -> list[Change]:
    out: list[Change] = []
    for col in collectors:
        if col.applies(ctx):
            out.extend(col.changes(ctx))
    return out


def org_redactor(org: OrgConfig, *, hosts: list[str], users: list[str]) -> Redactor:
    """The redactor of a packet: the hosts and users given, the organization's test
    servers and domain controllers, its keywords and DNS suffix."""
    hosts = hosts + [s.address for s in org.test_servers] + [s.name for s in org.test_servers]
    hosts += [d.address for d in org.domain_controllers] + [
        d.name for d in org.domain_controllers]
    return Redactor(hosts=hosts, users=users, keywords=org.redact_keywords,
                    dns_suffix=org.dns_suffix)


def make_packet(req: PacketRequest, system: System, org: OrgConfig,
                collectors: tuple[Collector, ...] = COLLECTORS,
                on_progress: Callable[[str], None] | None = None) -> tuple[Path, Evidence]:
    ctx = context(req.comp, req.target, system, org, req.address)
    check_out_dir(req.out_dir)  # a packet that cannot be written fails before collecting
    ev = collect(ctx, collectors, make_changes=req.make_changes, on_progress=on_progress)
    redactor = None
    if req.redact:
        hosts = [req.comp, ctx.hostname, socket.getfqdn(), *req.hosts]
        if req.target:
            hosts.append(req.target)
        redactor = org_redactor(org, hosts=hosts, users=[getpass.getuser(), *req.people])
    path = build_packet(req.out_dir, ctx, ev, tickets=req.tickets, record=req.record,
                        call_id=req.call_id, redactor=redactor)
    return path, ev
