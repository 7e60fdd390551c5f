"""What is handed off for a call: the ticket as the body, the tickets and the packet as
attachments. A group set to ``redacted_only`` gets the redacted packet and the redacted
ticket inside it, nothing else."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from wizard.calls.journal import CallState, JournalError, JournalFolder
from wizard.handoff.base import Attachment, HandoffError, Parcel

CONTENT_TYPES = {"md": "text/markdown; charset=utf-8", "txt": "text/plain; charset=utf-8",
                 "zip": "application/zip"}


MAX_MANIFEST = 1024 * 1024
"""The largest packet manifest read (``collect`` writes a few kilobytes)."""


class PacketError(HandoffError):
    def __init__(self, message: str) -> None:
        super().__init__(message, retry=False)


def read_manifest(path: Path) -> dict[str, object]:
    """The manifest of an escalation packet (a zip made by ``collect``)."""
    try:
        with zipfile.ZipFile(path) as zf:
            if zf.getinfo("manifest.json").file_size > MAX_MANIFEST:
                raise ValueError(f"manifest.json over {MAX_MANIFEST} bytes")
            manifest = json.loads(zf.read("manifest.json").decode("utf-8"))
    except FileNotFoundError:
        raise PacketError(f"{path}: packet not found") from None
    except (OSError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise PacketError(f"{path}: not an escalation packet ({exc})") from None
    if not isinstance(manifest, dict):
        raise PacketError(f"{path}: not an escalation packet (bad manifest)")
    return manifest


def _packet_member(path: Path, name: str) -> str | None:
    with zipfile.ZipFile(path) as zf:
        try:
            return zf.read(name).decode("utf-8", "replace")
        except KeyError:
            return None


def choose_packet(state: CallState, given: Path | None, redacted_only: bool) -> Path | None:
    """The packet to attach: the one given, else the newest recorded for the call (the
    newest redacted one for a redacted-only group). Checks it belongs to the call."""
    candidates: list[Path] = []
    if given is not None:
        candidates = [given]
    else:
        for rec in reversed(state.packets):
            p = Path(str(rec.get("path", "")))
            if p.is_file():
                candidates.append(p)
    for path in candidates:
        try:
            manifest = read_manifest(path)
        except PacketError:
            if given is not None:
                raise
            continue  # a path the journal names that is no packet
        owner = manifest.get("call_id")
        if given is None and owner != state.call_id:
            # a path from the journal (one copied in could name any file): only a packet
            # made for this very call is taken
            continue
        if owner not in (None, state.call_id):
            raise PacketError(f"{path}: this packet belongs to call {owner}, not "
                              f"{state.call_id}")
        if redacted_only and not manifest.get("redacted"):
            if given is not None:
                raise PacketError(f"{path}: this group receives redacted packets only; "
                                  f"make one with 'ipsec-triage collect --call "
                                  f"{state.call_id} --redact'")
            continue
        return path
    return None


def build_parcel(state: CallState, store: JournalFolder, group: str, *,
                 packet: Path | None = None, redacted_only: bool = False) -> Parcel:
    """The parcel for an ended, escalated call."""
    if state.ended is None:
        raise HandoffError(f"call {state.call_id} has not ended yet: finish it with "
                           f"'ipsec-triage resume {state.call_id}'", retry=False)
    values = state.values()
    existing = values.get("intake.existing_ticket", "").strip() or None
    chosen = choose_packet(state, packet, redacted_only)
    category = str(state.ended.get("category") or "")
    status = str(state.ended.get("status_label") or "")
    severity = values.get("intake.severity", "")
    if redacted_only:
        if chosen is None:
            raise PacketError(
                f"{group} receives redacted packets only and call {state.call_id} has "
                f"none: run 'ipsec-triage collect --call {state.call_id} --redact' (where "
                f"the evidence is), then 'ipsec-triage send {state.call_id} --packet FILE'")
        body = _packet_member(chosen, "ticket.txt") or _packet_member(chosen, "ticket.md")
        if body is None:
            raise PacketError(f"{chosen}: the packet holds no ticket; make it with "
                              f"'ipsec-triage collect --call {state.call_id} --redact'")
        attachments = [Attachment(chosen.name, chosen.read_bytes(), CONTENT_TYPES["zip"])]
        subject = f"IPsec escalation {state.call_id}: {category} ({status})"
        return Parcel(call_id=state.call_id, group=group, subject=subject, body=body,
                      attachments=tuple(attachments), existing_ticket=existing,
                      severity=severity, redacted=True)
    tickets: dict[str, str] = {}
    for fmt in ("txt", "md"):
        try:  # the call's own file, never a link nor a path the journal names
            text = store.read_ticket(state.call_id, fmt)
        except JournalError as exc:
            raise HandoffError(str(exc), retry=False) from None
        if text is not None:
            tickets[fmt] = text
    if not tickets:
        raise HandoffError(f"call {state.call_id} has no ticket file: write it with "
                           f"'ipsec-triage ticket {state.call_id} -o FILE' after fixing the "
                           "template", retry=False)
    body = tickets.get("txt") or tickets["md"]
    attachments = [Attachment(f"{state.call_id}.ticket.{fmt}", text.encode("utf-8"),
                              CONTENT_TYPES[fmt]) for fmt, text in tickets.items()]
    if chosen is not None:
        attachments.append(Attachment(chosen.name, chosen.read_bytes(), CONTENT_TYPES["zip"]))
    where = _where(values)
    subject = f"IPsec escalation {state.call_id}: {category} ({status}){where}"
    return Parcel(call_id=state.call_id, group=group, subject=subject, body=body,
                  attachments=tuple(attachments), existing_ticket=existing,
                  severity=severity, redacted=False)


def _where(values: dict[str, str]) -> str:
    """The computers a subject names: the caller's computer and the target, or the
    server of a server call (the intake records it as ``server_name``; it has no
    target)."""
    machine = values.get("intake.caller_machine", "")
    target = values.get("intake.target", "")
    if machine and target:
        return f" {machine} -> {target}"
    server = values.get("intake.server_name", "")
    return f" server {server}" if server else ""
