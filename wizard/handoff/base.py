"""What every destination shares: the parcel handed off, the result, the errors, and
the HTTP plumbing (httpx: timeouts, auth headers, vendor error bodies, Retry-After)."""

from __future__ import annotations

import base64
import email.utils
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from wizard import __version__
from wizard.base.errors import ExitStatus, TriageError
from wizard.config.handoff import ticket_problem
from wizard.flows.answer_rules import quoted
from wizard.handoff.secrets import remember, scrub

if TYPE_CHECKING:  # imported when a hand-off is sent: a command that sends none never loads it
    import httpx

USER_AGENT = f"ipsec-triage/{__version__}"


@dataclass(frozen=True)
class Attachment:
    name: str
    data: bytes
    content_type: str


@dataclass(frozen=True)
class Parcel:
    """Everything handed to Tier 2 for one call."""

    call_id: str
    group: str
    subject: str
    body: str
    """The plain-text ticket (the e-mail body, the ticket description)."""
    attachments: tuple[Attachment, ...]
    existing_ticket: str | None = None
    """A ticket number given at intake: update it instead of creating one."""
    severity: str = ""
    redacted: bool = False

    @property
    def marker(self) -> str:
        """Text put in every ticket or comment so a retry finds what was already made."""
        return f"[ipsec-triage call {self.call_id}]"


@dataclass
class Delivery:
    """The result of a hand-off."""

    number: str | None
    url: str | None
    action: str
    """created | updated | found (made by an earlier try) | sent | written (.eml)"""
    attachments: list[str] = field(default_factory=list)
    file: str | None = None


class HandoffError(TriageError):
    """A hand-off failed. ``retry``: worth trying again later (server down, 5xx, 429,
    timeout); ``retry_after``: seconds the server asked to wait. ``unknown``: it is not
    known whether it arrived (the message or the request was sent, then no answer came in
    time, or the connection broke before one): never tried again at once, only later,
    from the outbox, with the same Message-ID or idempotency key. ``str()`` is one line
    with no secret in it."""

    status = ExitStatus.HANDOFF

    def __init__(self, message: str, *, retry: bool, retry_after: float | None = None,
                 http_status: int | None = None, unknown: bool = False) -> None:
        super().__init__(scrub(" ".join(message.split())))
        self.retry = retry or unknown
        self.retry_after = retry_after
        self.http_status = http_status
        """The HTTP status the server answered, if any (``status`` is the exit code)."""
        self.unknown = unknown


def segment(value: str) -> str:
    """A value put into a URL path as one segment: every ``/``, ``?``, ``#``, ``%``
    quoted, so ``a/../../x`` stays a name and never walks to another path."""
    return quote(value, safe="")


def earlier_ticket(kind: str, parcel: Parcel, what: str) -> str | None:
    """The earlier ticket number given at intake, as a ``kind`` destination takes it,
    checked before any request (the intake checks it too, against the destinations the
    organization file had then): HandoffError naming the field if it is not one."""
    number = (parcel.existing_ticket or "").strip()
    if not number:
        return None
    problem = ticket_problem(kind, number)
    if problem:
        raise HandoffError(f"{what}: the earlier ticket number {quoted(number)} "
                           f"(intake.existing_ticket) is not {problem}; nothing was sent",
                           retry=False)
    return number.lstrip("#") if kind == "zendesk" else number.upper()


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds from a Retry-After header: a number of seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, when.timestamp() - (now if now is not None else time.time()))


def basic_auth(user: str, secret: str) -> str:
    value = "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode("ascii")
    remember(value.split(" ", 1)[1])
    return value


def bearer(secret: str) -> str:
    return f"Bearer {secret}"


def auth_header(what: str, user: str | None, secret: str | None) -> str:
    """Basic auth when a user is named, else the secret as a Bearer token."""
    if secret is None:
        raise HandoffError(f"{what}: no 'secret' set for the password or API token",
                           retry=False)
    return basic_auth(user, secret) if user else bearer(secret)


def vendor_message(response: httpx.Response) -> str:
    """The error a ticket system put in its body (ServiceNow ``error.message``/``detail``,
    Jira ``errorMessages``/``errors``, Zendesk ``error``/``description``/``details``), or
    the start of the body."""
    try:
        body: Any = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
        text = response.text.strip()
        return text[:200]
    parts: list[str] = []
    if isinstance(body, Mapping):
        err = body.get("error")
        if isinstance(err, Mapping):  # ServiceNow
            parts += [str(err.get(k)) for k in ("message", "detail") if err.get(k)]
        elif isinstance(err, str):  # Zendesk
            parts.append(err)
            if body.get("description"):
                parts.append(str(body["description"]))
            details = body.get("details")
            if isinstance(details, Mapping):
                for name, items in details.items():
                    descs = [i.get("description", "") for i in items
                             if isinstance(i, Mapping)] if isinstance(items, list) else []
                    parts.append(f"{name}: {'; '.join(d for d in descs if d) or items}")
        msgs = body.get("errorMessages")  # Jira
        if isinstance(msgs, list):
            parts += [str(m) for m in msgs]
        errors = body.get("errors")
        if isinstance(errors, Mapping):
            parts += [f"{k}: {v}" for k, v in errors.items()]
        if not parts and body.get("message"):
            parts.append(str(body["message"]))
    return "; ".join(parts)[:300] or response.text.strip()[:200]


def check(response: httpx.Response, what: str) -> httpx.Response:
    """Raise HandoffError for a non-2xx response, saying what failed and why."""
    if response.is_success:
        return response
    status = response.status_code
    detail = vendor_message(response)
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    hint = ""
    if status == 401:
        hint = " (check the user and the secret)"
    elif status == 403:
        hint = " (the account lacks a permission)"
    retry = status in (408, 409, 425, 429) or status >= 500
    message = f"{what}: HTTP {status}{hint}" + (f": {detail}" if detail else "")
    if status == 429 and retry_after is not None:
        message += f" (retry after {retry_after:g} s)"
    raise HandoffError(message, retry=retry, retry_after=retry_after, http_status=status)


def client(base_url: str, timeout: float, headers: Mapping[str, str]) -> httpx.Client:
    import httpx

    return httpx.Client(base_url=base_url, timeout=httpx.Timeout(timeout),
                        headers={"User-Agent": USER_AGENT, "Accept": "application/json",
                                 **headers}, follow_redirects=False)


_SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def transport_error(exc: httpx.HTTPError, what: str) -> HandoffError:
    """A network failure (refused, timeout, TLS) as a retryable HandoffError; one after
    a request that makes or changes something was sent (a timeout waiting for its
    answer, a connection closed before it) has an unknown outcome."""
    import httpx

    #: failures after a request went out, before its answer came: the server may have
    #: done it
    after_sending = (httpx.ReadTimeout, httpx.WriteTimeout, httpx.ReadError,
                     httpx.WriteError, httpx.RemoteProtocolError)
    if isinstance(exc, httpx.TimeoutException):
        why = "no answer in time"
    elif isinstance(exc, httpx.ConnectError):
        why = f"cannot connect ({exc})"
    else:
        why = f"{type(exc).__name__}: {exc}"
    unknown = False
    if isinstance(exc, after_sending):
        try:
            unknown = exc.request.method.upper() not in _SAFE_METHODS
        except RuntimeError:  # no request attached: nothing is known to be sent
            unknown = False
    if unknown:
        why += " after the request was sent"
    return HandoffError(f"{what}: {why}", retry=True, unknown=unknown)


def json_body(response: httpx.Response, what: str) -> Any:
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
        raise HandoffError(f"{what}: the answer is not JSON: {response.text[:120]!r}",
                           retry=False) from None


def now_iso() -> str:
    return datetime.now(timezone.utc).astimezone().isoformat(timespec="seconds")
