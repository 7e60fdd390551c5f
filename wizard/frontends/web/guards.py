"""The web desk's ASGI middleware, each guarding every request before a page sees it:

* :class:`SecurityHeaders`: every answer carries the content policy, frame and sniffing
  headers (Starlette's own 404 and 405 too);
* :class:`BodyLimit`: a request body is bounded per route (:data:`BODY_LIMITS`), refused
  413 from its ``Content-Length`` before it is read, or as soon as it streams past;
* :class:`Forwarded`: behind the trusted reverse proxy, the browser's address is the
  right-most address of ``X-Forwarded-For`` that is not one of the proxy's;
* :class:`OneHeader`: a request naming its single-sign-on user twice is refused;
* :class:`ServerSessions`: the session kept on the server, the cookie holding only its
  opaque id (:mod:`wizard.service.sessions`).
"""

from __future__ import annotations

import ipaddress
import json
import sqlite3
import time
from collections.abc import Mapping
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from wizard.base.errors import is_disk_full
from wizard.base.validate import Network, trusted
from wizard.evidence.layout import MAX_PACKET
from wizard.frontends.web.security import SECURITY_HEADERS, AuditLog, peer_of
from wizard.service.sessions import TOUCH_EVERY, Session, SessionStore

FORM_LIMIT = 256 * 1024
"""The most a request body may hold on a route not in :data:`BODY_LIMITS` (a form)."""
BODY_LIMITS: Mapping[str, int] = {
    "/login": 16 * 1024,  # a name, a password, the CSRF token and where to go next
    # the evidence packet the caller sent, with the form around it
    "/calls/{call_id}/packet": MAX_PACKET + 1024 * 1024,
}
"""The body limit of a route (its path as the router writes it, ``/calls/{call_id}/x``),
where it is not :data:`FORM_LIMIT`: a route taking an upload names its own here."""


async def _answer(send: Send, status: int, text: str, headers: Mapping[str, str] = {}
                  ) -> None:
    body = text.encode("utf-8")
    raw = [(b"content-type", b"text/plain; charset=utf-8"),
           (b"content-length", str(len(body)).encode("ascii")),
           *((k.lower().encode("latin-1"), v.encode("latin-1"))
             for k, v in {**SECURITY_HEADERS, **headers}.items())]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


class SecurityHeaders:
    """Adds each of :data:`~wizard.frontends.web.security.SECURITY_HEADERS` an answer
    does not set itself."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, with_headers)


class BodyTooLarge(Exception):
    """Raised from ``receive`` once a body has streamed past its route's limit."""


class BodyLimit:
    """Bounds every request's body: :data:`BODY_LIMITS` for the routes it names,
    :data:`FORM_LIMIT` for every other. A declared ``Content-Length`` over the limit is
    answered 413 at once, nothing read; a body sent without one (chunked) or longer
    than it said is cut off and answered 413 when it passes the limit."""

    def __init__(self, app: ASGIApp, limits: Mapping[str, int] = BODY_LIMITS,
                 default: int = FORM_LIMIT) -> None:
        self.app = app
        self.default = default
        self.routes = [(compile_path(path)[0], size) for path, size in limits.items()]

    def limit(self, path: str) -> int:
        for pattern, size in self.routes:
            if pattern.match(path):
                return size
        return self.default

    async def _refuse(self, send: Send, limit: int) -> None:
        await _answer(send, 413, f"This request is larger than this page takes "
                                 f"({limit // 1024} KiB): nothing was done.\n",
                      {"Connection": "close"})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit(scope["path"])
        declared = [v for k, v in scope["headers"] if k == b"content-length"]
        if declared:
            if len(declared) > 1 or not declared[0].strip().isdigit():
                await _answer(send, 400, "Bad Content-Length.\n", {"Connection": "close"})
                return
            if int(declared[0]) > limit:
                await self._refuse(send, limit)
                return
        received = 0
        started = False

        async def bounded_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge()
            return message

        async def noting_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, bounded_receive, noting_send)
        except BodyTooLarge:
            if not started:
                await self._refuse(send, limit)


def forwarded_client(value: str, proxies: tuple[Network, ...]) -> str | None:
    """The browser's address in an ``X-Forwarded-For`` a trusted proxy passed on: the
    right-most address that is not one of ``proxies`` (each proxy appends the address
    it was reached from; whatever is to the left of that one the browser may have
    written itself). None when there is none, or when an entry at or right of it is
    not an address (nothing in that header can be believed)."""
    for item in reversed(value.split(",")):
        item = item.strip()
        try:
            address = str(ipaddress.ip_address(item))
        except ValueError:
            return None
        if not trusted(address, proxies):
            return address
    return None


class Forwarded:
    """Behind the reverse proxy (``serve --proxy``): a request whose connection comes
    from one of its addresses gets the browser's address from ``X-Forwarded-For``
    (:func:`forwarded_client`) and its scheme from ``X-Forwarded-Proto``; from any
    other address both headers are ignored."""

    def __init__(self, app: ASGIApp, proxies: tuple[Network, ...]) -> None:
        self.app = app
        self.proxies = proxies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        client = scope.get("client")
        if scope["type"] == "http" and client and trusted(client[0], self.proxies):
            chain = b", ".join(v for k, v in scope["headers"] if k == b"x-forwarded-for")
            address = forwarded_client(chain.decode("latin-1"), self.proxies) \
                if chain else None
            if address is not None:
                scope["client"] = (address, 0)
            proto = [v for k, v in scope["headers"] if k == b"x-forwarded-proto"]
            if len(proto) == 1 and proto[0].strip() in (b"http", b"https"):
                scope["scheme"] = proto[0].strip().decode("ascii")
        await self.app(scope, receive, send)


class OneHeader:
    """Refuses (400, and a line in the audit log) a request that carries the
    single-sign-on header more than once: which of the two the proxy set cannot be
    told."""

    def __init__(self, app: ASGIApp, header: str, audit: AuditLog) -> None:
        self.app = app
        self.header = header.lower().encode("latin-1")
        self.audit = audit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            values = [v for k, v in scope["headers"] if k == self.header]
            if len(values) > 1:
                client = scope.get("client")
                await run_in_threadpool(lambda: self.audit.write(
                    "sso_duplicate", user="", address=client[0] if client else "",
                    peer=peer_of(scope), header=self.header.decode("latin-1")))
                await _answer(send, 400, f"The request names its user twice "
                                         f"({self.header.decode('latin-1')}): refused.\n")
                return
        await self.app(scope, receive, send)


class ServerSessions:
    """``request.session`` from the session store: the cookie holds only the session's
    random id; the data, and whether the session still goes on, are the server's. The
    session is saved (and its id renewed at a sign-in) as the answer starts; one emptied
    (``session.clear()``) has ended, its cookie is removed. When the store cannot be
    read or written (a full disk), the answer is a 503 saying so, never the page: a
    sign-in or sign-out is not told done unless it is."""

    def __init__(self, app: ASGIApp, store: SessionStore, cookie: str, *, https: bool,
                 max_age: int) -> None:
        self.app = app
        self.store = store
        self.cookie = cookie
        self.flags = "; Path=/; HttpOnly; SameSite=Lax" + ("; Secure" if https else "")
        self.max_age = max_age
        self.touch_every = min(TOUCH_EVERY, store.idle / 10)

    def _cookie(self, value: str, max_age: int) -> str:
        return f"{self.cookie}={value}; Max-Age={max_age}{self.flags}"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sid = HTTPConnection(scope).cookies.get(self.cookie, "")
        try:
            loaded = await run_in_threadpool(self.store.load, sid) if sid else None
        except (sqlite3.Error, OSError, ValueError):
            await _answer(send, 503, "The help desk cannot read its sessions just now: "
                                     "try again in a moment.\n")
            return
        data: dict[str, Any] = dict(loaded.data) if loaded is not None else {}
        before = _dump(data)
        scope["session"] = data

        failed = False

        async def saving_send(message: Message) -> None:
            nonlocal failed
            if message["type"] == "http.response.start":
                try:
                    await self._save(scope, message, sid, loaded, before)
                except (sqlite3.Error, OSError) as exc:  # e.g. the disk is full
                    if _signs_in_or_out(loaded, scope["session"]):
                        failed = True
                        full = is_disk_full(exc)
                        await _answer(send, 507 if full else 503, (
                            "The disk of the help desk is full" if full else
                            f"The help desk could not keep your session ({exc})")
                            + ": you are not signed in or out; try again in a moment.\n")
                    # else the page's own work is done (a call's journal has it): the
                    # page is shown; only what it kept for the next page (a message, the
                    # call last opened) is not kept, and a form whose token was not
                    # kept is refused with nothing changed
            if not failed:
                await send(message)

        await self.app(scope, receive, saving_send)

    async def _save(self, scope: Scope, message: Message, sid: str,
                    loaded: Session | None, before: str) -> None:
        data = scope["session"]
        headers = MutableHeaders(scope=message)
        if _dump(data) != before or (loaded is None and data):
            new = await run_in_threadpool(self.store.save, loaded, data)
            if new is None:
                if sid:
                    headers.append("Set-Cookie", self._cookie("", 0))
            elif new != sid:
                headers.append("Set-Cookie", self._cookie(new, self.max_age))
        elif loaded is not None:
            if message.get("status", 200) < 500 and \
                    _seconds_since(loaded) >= self.touch_every:
                await run_in_threadpool(self.store.touch, loaded)
        elif sid:  # a session that has ended: the browser forgets its id
            headers.append("Set-Cookie", self._cookie("", 0))
        headers.setdefault("Vary", "Cookie")


def _signs_in_or_out(loaded: Session | None, data: dict[str, Any]) -> bool:
    """Saving ``data`` over ``loaded`` starts, renews or ends a session (a sign-in or a
    sign-out), which must not be told done unless it was kept."""
    if loaded is None or not data:
        return True
    return loaded.user != data.get("user") or loaded.data.get("since") != data.get("since")


def _dump(data: dict[str, Any]) -> str:
    return json.dumps(data, sort_keys=True, default=str)


def _seconds_since(session: Session) -> float:
    return time.time() - session.seen

