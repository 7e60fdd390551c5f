"""Helpers for the hand-off tests: an escalated call, a real packet, free ports, a
self-signed certificate, a real SMTP server on loopback (aiosmtpd)."""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from wizard.calls.journal import Journal, JournalFolder
from wizard.config.organization import OrgConfig
from wizard.evidence import Redactor
from wizard.evidence.base import Context
from wizard.evidence.packet import Evidence, build_packet

from .calls import replay, route_to

ESCALATION = "fig7_2.escalate_caller"
GROUP = "Tier 2 IPsec support"  # the built-in group of caller_ipsec



def escalated_call(data_dir: Path, org: OrgConfig | None = None,
                   existing_ticket: str = "", end: str = ESCALATION) -> str:
    answers = dict(route_to(end))
    answers["intake.caller_machine"] = "ws-ann"
    answers["intake.target"] = "fs01.corp.example"
    answers["intake.existing_ticket"] = existing_ticket
    if existing_ticket:  # the number is taken in the intake's optional details step
        answers["intake.details"] = "now"
        answers.setdefault("intake.caller_contact", "")
        answers.setdefault("intake.since", "")
    call, _step, _tickets = replay(answers, data_dir, org=org)
    return call.call_id


#: The Tier 2 group of the server chart's escalations (team data_center)
SERVER_GROUP = "Data center operations"


def server_escalated_call(data_dir: Path, org: OrgConfig | None = None) -> str:
    """A server call (dns01 lost its network after a restart) escalated to
    :data:`SERVER_GROUP`."""
    answers = dict(route_to("server_restart.escalate_server"))
    answers["intake.server_name"] = "dns01"
    call, step, _tickets = replay(answers, data_dir, org=org)
    assert step.visit.node_key == "server_restart.escalate_server"
    return call.call_id


def make_packet(folder: Path, data_dir: Path, call_id: str, *, redacted: bool,
                of_call: bool = True) -> Path:
    """A real escalation packet (the zip ``collect`` writes), recorded for the call;
    ``of_call=False``: one made without ``--call`` (its manifest names no call)."""
    store = JournalFolder(data_dir)
    tickets = {fmt: store.ticket_path(call_id, fmt).read_text(encoding="utf-8")
               for fmt in ("md", "txt")}
    ev = Evidence(files={"ws-ann_OSInfo.txt": b"Host ws-ann 10.1.2.3 user ann\n"},
                  entries=[{"file": "ws-ann_OSInfo.txt", "timeout_hit": False,
                            "error": None}])
    ctx = Context(system=None, comp="ws-ann", target="fs01.corp.example",  # type: ignore[arg-type]
                  platform="linux")
    redactor = Redactor(hosts=["ws-ann", "fs01.corp.example"], users=["ann", "Ann Caller"],
                        keywords=[], dns_suffix="corp.example") if redacted else None
    path = build_packet(folder, ctx, ev, tickets=tickets, record=None,
                        call_id=call_id if of_call else None, redactor=redactor)
    journal = Journal(store.path(call_id))
    journal.append("packet", path=str(path), redacted=redacted)
    journal.close()
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def closed_port() -> int:
    """A loopback port nobody listens on (connection refused)."""
    return free_port()


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1/localhost made by the openssl program."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                    str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                   check=True, capture_output=True, timeout=60)
    return cert, key


@dataclass
class Mailbox:
    """What the SMTP server received."""

    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[Any] = field(default_factory=list)
    logins: list[tuple[str, str]] = field(default_factory=list)
    late: list[float] = field(default_factory=list)
    """Seconds to wait before answering the DATA of the first messages, one each: the
    server has the message, its 250 comes after the client's timeout."""

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        import asyncio

        self.envelopes.append(envelope)
        msg = message_from_bytes(envelope.original_content or envelope.content,
                                 policy=policy.default)
        assert isinstance(msg, EmailMessage)
        self.messages.append(msg)
        if self.late:
            await asyncio.sleep(self.late.pop(0))
        return "250 OK"


def smtp_server(cert: Path | None, key: Path | None, users: dict[str, str],
                port: int | None = None) -> Iterator[tuple[int, Mailbox]]:
    """A real SMTP server (aiosmtpd) on loopback: STARTTLS required and AUTH when a
    certificate is given."""
    import ssl

    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    box = Mailbox()

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str,
                      auth_data: Any) -> AuthResult:
        if isinstance(auth_data, LoginPassword):
            user = auth_data.login.decode()
            password = auth_data.password.decode()
            box.logins.append((user, password))
            if users.get(user) == password:
                return AuthResult(success=True)
        return AuthResult(success=False, handled=False)

    kwargs: dict[str, Any] = {}
    if cert is not None and key is not None:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(str(cert), str(key))
        kwargs = {"tls_context": ctx, "require_starttls": True,
                  "authenticator": authenticator, "auth_require_tls": True}
    port = port or free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    try:
        yield port, box
    finally:
        controller.stop()
