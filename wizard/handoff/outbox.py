"""Sending a call to its Tier 2 group, and the outbox that keeps what could not be sent.

A hand-off is tried a few times at once (short waits, the server's Retry-After when it
gives one) when it failed in a way known to have delivered nothing (connection refused,
an error answer); if it still fails for a reason that may pass (server down, 5xx, 429,
timeout), it goes to ``outbox/`` in the data folder and ``drain`` (run by
``ipsec-triage sync`` and at every start) tries it again with exponential backoff. One
whose outcome is unknown (the message or the request went out, then no answer came in
time) is never tried again at once: it goes to the outbox marked ``"outcome":
"unknown"`` (it may have arrived) and is tried again later with the same Message-ID or
idempotency key, so a receiver that drops repeats keeps one. The outbox holds the call
id, the group and the packet's path: no ticket text, no secret. Every attempt is
recorded in the call's journal (event ``handoff``; ``outcome: unknown`` when so).
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wizard.base.errors import ExitStatus, TriageError
from wizard.base.privacy import private_dir
from wizard.calls.journal import Journal, JournalError, JournalFolder, atomic_write
from wizard.config.handoff import EmailDest, JiraDest, ServiceNowDest, WebhookDest, ZendeskDest
from wizard.config.organization import OrgConfig
from wizard.flows.vocabulary import DESTINATION_WORDS
from wizard.handoff.base import Delivery, HandoffError, Parcel
from wizard.handoff.mail import slug
from wizard.handoff.parcel import build_parcel
from wizard.handoff.secrets import SecretMissing, get_secret, scrub

OUTBOX = "outbox"
LOCK_STALE = 600.0

AnyDest = EmailDest | ServiceNowDest | JiraDest | ZendeskDest | WebhookDest
MODULES = {"email": "mail", "servicenow": "servicenow", "jira": "jira", "zendesk": "zendesk",
           "webhook": "webhook"}


@dataclass
class Settings:
    """How hard one hand-off tries before it goes to the outbox."""

    attempts: int = 3
    pause: float = 1.0
    """Seconds before the second try; doubled for each further try."""
    max_wait: float = 30.0
    """Longest Retry-After waited for at once; a longer one goes to the outbox."""
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.time


@dataclass
class Outcome:
    call_id: str
    group: str
    kind: str
    status: str
    """sent | queued | failed"""
    delivery: Delivery | None = None
    error: str | None = None
    next_at: float | None = None
    record: dict[str, Any] = field(default_factory=dict)
    unknown: bool = False
    """Queued after an attempt whose outcome is unknown: it may have arrived."""

    def line(self) -> str:
        """One line for the staffer."""
        label = DESTINATION_WORDS.get(self.kind, self.kind)
        if self.status == "sent" and self.delivery is not None:
            d = self.delivery
            if d.file:
                return (f"Hand-off to {self.group}: e-mail written to {d.file} "
                        "(no SMTP server set: send it from your mail program)")
            what = {"created": "created", "updated": "updated", "found": "already there, "
                    "completed", "sent": "sent"}.get(d.action, d.action)
            ref = " ".join(x for x in (d.number, d.url) if x)
            return f"Hand-off to {self.group} ({label}): {what}{': ' + ref if ref else ''}"
        if self.status == "queued":
            when = time.strftime("%H:%M", time.localtime(self.next_at or 0))
            if self.unknown:
                same = "Message-ID" if self.kind == "email" else "idempotency key"
                return (f"Hand-off to {self.group} ({label}): outcome unknown, it may have "
                        f"arrived ({self.error}); not sent again now: kept in the outbox "
                        f"as unknown, retried with the same {same} by 'ipsec-triage sync' "
                        f"(next try after {when}) and at the next start")
            return (f"Hand-off to {self.group} ({label}) failed: {self.error}; kept in the "
                    f"outbox, retried by 'ipsec-triage sync' (next try after {when}) and at "
                    "the next start")
        return f"Hand-off to {self.group} ({label}) failed: {self.error}"


def _module(kind: str) -> Any:
    return importlib.import_module(f"{__package__}.{MODULES[kind]}")


def deliver(dest: AnyDest, parcel: Parcel, environ: Mapping[str, str], data_dir: Path,
            settings: Settings) -> Delivery:
    """Deliver with a few quick retries; raises the last HandoffError."""
    try:
        secret = get_secret(dest.secret, environ) if dest.secret else None
    except SecretMissing as exc:
        raise HandoffError(str(exc), retry=False) from None
    mod = _module(dest.kind)
    pause = settings.pause
    for attempt in range(1, max(1, settings.attempts) + 1):
        try:
            result: Delivery = mod.deliver(dest, parcel, secret, data_dir=data_dir)
            return result
        except HandoffError as exc:
            last = attempt >= settings.attempts
            if not exc.retry or exc.unknown or last:
                raise
            wait = pause if exc.retry_after is None else exc.retry_after
            if wait > settings.max_wait:
                raise
            settings.sleep(wait)
            pause *= 2
    raise AssertionError("unreachable")  # pragma: no cover


def _journal(store: JournalFolder, call_id: str, **fields: Any) -> dict[str, Any]:
    journal = Journal(store.path(call_id))
    try:
        return journal.append("handoff", **fields)
    finally:
        journal.close()


# -- the outbox -------------------------------------------------------------------------


def outbox_dir(data_dir: Path) -> Path:
    return data_dir / OUTBOX


def entry_path(data_dir: Path, call_id: str, group: str) -> Path:
    return outbox_dir(data_dir) / f"{call_id}--{slug(group)}.json"


def entries(data_dir: Path) -> list[dict[str, Any]]:
    """Waiting hand-offs, oldest first."""
    folder = outbox_dir(data_dir)
    out: list[dict[str, Any]] = []
    if not folder.is_dir():
        return out
    for path in sorted(folder.glob("*.json")):
        try:
            item = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(item, dict) and item.get("call_id") and item.get("group"):
            item["_path"] = str(path)
            out.append(item)
    return out


def _queue(data_dir: Path, org: OrgConfig, call_id: str, group: str, packet: Path | None,
           error: HandoffError, now: float) -> float:
    path = entry_path(data_dir, call_id, group)
    old: dict[str, Any] = {}
    with contextlib.suppress(OSError, ValueError):
        old = json.loads(path.read_text(encoding="utf-8"))
    attempts = int(old.get("attempts", 0)) + 1
    delay: float = min(org.handoff.retry_max, org.handoff.retry_base * 2.0 ** (attempts - 1))
    if not error.retry:
        delay = org.handoff.retry_max
    if error.retry_after is not None:
        delay = max(delay, error.retry_after)
    next_at = float(now + delay)
    unknown = error.unknown or old.get("outcome") == "unknown"  # it may have arrived then
    item = {"call_id": call_id, "group": group, "packet": str(packet) if packet else None,
            "attempts": attempts, "first_at": old.get("first_at", now), "next_at": next_at,
            "last_error": str(error), "outcome": "unknown" if unknown else "failed"}
    private_dir(path.parent)
    atomic_write(path, json.dumps(item, indent=2, ensure_ascii=False) + "\n")
    return next_at


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[bool]:
    """An exclusive claim on one outbox entry (a start and a sync may run at once)."""
    lock = path.with_suffix(".lock")
    try:
        fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        try:
            stale = time.time() - lock.stat().st_mtime > LOCK_STALE
        except OSError:
            stale = True
        if not stale:
            yield False
            return
        with contextlib.suppress(OSError):
            lock.unlink()
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        except FileExistsError:
            yield False
            return
    os.close(fd)
    try:
        yield True
    finally:
        with contextlib.suppress(OSError):
            lock.unlink()


# -- sending ---------------------------------------------------------------------------


class NotSent(TriageError):
    """Nothing was tried: no destination, the call not escalated, already sent."""

    status = ExitStatus.HANDOFF


def destination_for(org: OrgConfig, group: str | None) -> AnyDest | None:
    return org.handoff.destination(group)


def send_call(store: JournalFolder, org: OrgConfig, call_id: str, *, group: str | None = None,
              packet: Path | None = None, environ: Mapping[str, str] | None = None,
              settings: Settings | None = None, again: bool = False) -> Outcome:
    """Hand one call to a Tier 2 group (its own by default). Failures that may pass go
    to the outbox; every attempt is journaled. Raises NotSent when nothing was tried."""
    environ = os.environ if environ is None else environ
    settings = settings or Settings()
    state = store.load(call_id)
    call_id = state.call_id
    if state.ended is None:
        raise NotSent(f"call {call_id} has not ended yet: finish it with "
                      f"'ipsec-triage resume {call_id}'")
    group = group or state.ended.get("tier2_group")
    if not group:
        raise NotSent(f"call {call_id} was not escalated (status: "
                      f"{state.ended.get('status_label')}); name a group with --to GROUP")
    dest = destination_for(org, group)
    if dest is None:
        configured = ", ".join(sorted(org.handoff.destinations)) or "none"
        raise NotSent(f"no hand-off destination for {group!r} in the organization file "
                      f"(handoff.destinations; configured: {configured})")
    group = next((g for g in org.handoff.destinations if g.casefold() == group.casefold()),
                 group)
    if not again:
        done = [h for h in state.handoffs if h.get("status") == "sent"
                and str(h.get("group", "")).casefold() == group.casefold()]
        if done:
            ref = done[-1].get("number") or done[-1].get("file") or done[-1].get("kind")
            raise NotSent(f"call {call_id} was already handed to {group} ({ref}, "
                          f"{done[-1].get('t')}); use --again to send it again")
    data_dir = store.root
    now = settings.clock()
    base = {"group": group, "kind": dest.kind, "redacted": dest.redacted_only}
    try:
        parcel = build_parcel(state, store, group, packet=packet,
                              redacted_only=dest.redacted_only)
        delivery = deliver(dest, parcel, environ, data_dir, settings)
    except HandoffError as exc:
        error = scrub(str(exc))
        queued_path = entry_path(data_dir, call_id, group)
        if exc.retry or queued_path.exists():
            next_at = _queue(data_dir, org, call_id, group, packet, exc, now)
            extra = {"outcome": "unknown"} if exc.unknown else {}
            rec = _journal(store, call_id, status="queued", error=error, next_at=next_at,
                           **extra, **base)
            return Outcome(call_id, group, dest.kind, "queued", error=error,
                           next_at=next_at, record=rec, unknown=exc.unknown)
        rec = _journal(store, call_id, status="failed", error=error, **base)
        return Outcome(call_id, group, dest.kind, "failed", error=error, record=rec)
    if delivery.url:  # a link the server answered with may carry a password
        delivery.url = scrub(delivery.url)
    with contextlib.suppress(OSError):
        entry_path(data_dir, call_id, group).unlink()
    rec = _journal(store, call_id, status="sent", number=delivery.number, url=delivery.url,
                   action=delivery.action, attachments=delivery.attachments,
                   file=delivery.file, **base)
    return Outcome(call_id, group, dest.kind, "sent", delivery=delivery, record=rec)


def drain(store: JournalFolder, org: OrgConfig, *, environ: Mapping[str, str] | None = None,
          settings: Settings | None = None, force: bool = False) -> list[Outcome]:
    """Retry the outbox entries that are due (all of them with ``force``)."""
    settings = settings or Settings()
    results: list[Outcome] = []
    for item in entries(store.root):
        path = Path(item["_path"])
        if not force and float(item.get("next_at", 0)) > settings.clock():
            continue
        with _locked(path) as mine:
            if not mine or not path.exists():
                continue
            call_id, group = str(item["call_id"]), str(item["group"])
            packet = Path(item["packet"]) if item.get("packet") else None
            try:
                results.append(send_call(store, org, call_id, group=group, packet=packet,
                                         environ=environ, settings=settings))
            except NotSent as exc:
                # sent meanwhile, or no longer configured: nothing left to retry
                with contextlib.suppress(OSError):
                    path.unlink()
                results.append(Outcome(call_id, group, "", "failed", error=str(exc)))
            except JournalError as exc:
                with contextlib.suppress(OSError):
                    path.unlink()
                results.append(Outcome(call_id, group, "", "failed", error=str(exc)))
    return results
