"""The web desk's state: what ``serve`` tells it (:class:`Settings`) and what every page
shares (:class:`WebDesk`: the accounts, the login limit, the audit log, the templates,
the flowchart set, and the call opened for a request).

A page's work is done in a worker thread, never on the event loop; a call another
program is writing is answered 409 ("being answered elsewhere").
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from wizard.base.errors import ExitStatus, TriageError
from wizard.base.privacy import Stamp, file_stamp
from wizard.base.resources import builtin_dir
from wizard.base.validate import Network
from wizard.calls.call import Call
from wizard.calls.journal import CallBusy, CallState, JournalError
from wizard.flows.catalogue import catalogue_path
from wizard.frontends.web.security import SECURITY_HEADERS, AuditLog, LoginLimiter, csrf_token
from wizard.service import turns
from wizard.service.accounts import Accounts, User
from wizard.service.desk import Desk
from wizard.service.sessions import IDLE_TIMEOUT

SESSION_COOKIE = "ipsec_triage_session"
SESSION_MAX_AGE = 10 * 60 * 60
"""A login lasts a working day at most (and ends after :attr:`Settings.idle_timeout`
without a page)."""


@dataclass(frozen=True)
class Settings:
    """What the web desk is told by ``serve`` (or, for another ASGI server, by the
    environment: see :mod:`wizard.frontends.web.asgi`)."""

    desk: Desk
    https: bool = False
    """Session cookies only over TLS (``Secure``): set behind a TLS proxy."""
    checks: bool = True
    """False: no automatic check runs; every check is asked (``--no-checks``)."""
    max_age: int = SESSION_MAX_AGE
    idle_timeout: float = IDLE_TIMEOUT
    """Seconds without a request after which a session has ended (``serve
    --idle-timeout``, in minutes)."""
    proxy: tuple[Network, ...] = ()
    """The reverse proxy's addresses: their ``X-Forwarded-For`` and
    ``X-Forwarded-Proto`` name the browser's address and the scheme."""
    sso_header: str = ""
    """The single-sign-on proxy's header naming the signed-in user (``X-Remote-User``);
    empty: no single sign-on."""
    sso_from: tuple[Network, ...] = ()
    """The addresses the single-sign-on header is trusted from (the proxy's own)."""


BUSY = ("This call is being answered elsewhere (another tab, window or computer) right "
        "now: nothing was changed. Try again in a moment.")
"""The answer to a request for a call whose lock another program holds (409)."""


LOCK_WAITERS = 2
"""Requests of one worker that may wait together for one call's lock (two tabs)."""


class NotFound(Exception):
    """No such call for this user: answered 404 whether it exists or not."""


def _templates() -> jinja2.Environment:
    env = jinja2.Environment(
        # the pages, and the report's parts shared with 'report --format html'
        loader=jinja2.FileSystemLoader([str(builtin_dir("templates") / "web"),
                                        str(builtin_dir("templates"))]),
        autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True,
        lstrip_blocks=True)
    return env


def field(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def coalesced(pieces: Iterator[str], size: int = 8192) -> Iterator[str]:
    """The template's many small pieces sent in fewer chunks: a line of the check list
    goes out at once (the list ends each with ``</li>``), the rest in chunks of ``size``."""
    buffer: list[str] = []
    held = 0
    for piece in pieces:
        buffer.append(piece)
        held += len(piece)
        if held >= size or piece.rstrip().endswith("</li>"):
            yield "".join(buffer)
            buffer, held = [], 0
    if buffer:
        yield "".join(buffer)


def render_block(env: jinja2.Environment, template: str, block: str,
                 ctx: dict[str, Any]) -> Markup:
    """One block of a page (the question under a streamed list of checks)."""
    tpl = env.get_template(template)
    html = "".join(tpl.blocks[block](tpl.new_context(ctx)))
    return Markup(html)  # noqa: S704 - the output of an autoescaped template


class WebDesk:
    """The application's state: settings, accounts, limiter, audit log, templates."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.desk = settings.desk
        self.accounts = Accounts(self.desk.data_dir)
        self.limiter = LoginLimiter(self.desk.data_dir)
        self.audit = AuditLog(self.desk.data_dir)
        self.templates = _templates()
        self._setting: tuple[tuple[Any, ...], Path, Any, Any] | None = None
        self._waiting: dict[str, int] = {}
        self._waiting_lock = threading.Lock()

    # -- pages -------------------------------------------------------------------------
    def page(self, request: Request, template: str, code: int = 200, **ctx: Any) -> Response:
        session = request.session
        flash = session.pop("flash", [])
        ctx.setdefault("nav", "")
        html = self.templates.get_template(template).render(
            user=ctx.pop("user", None), csrf=csrf_token(session), flash=flash, **ctx)
        return HTMLResponse(html, status_code=code, headers=SECURITY_HEADERS)

    def message(self, request: Request, title: str, text: str, status: int,
                user: User | None = None, back: bool = True) -> Response:
        return self.page(request, "message.html.j2", code=status, title=title, text=text,
                         user=user, back=back)

    def not_found(self, request: Request, user: User | None) -> Response:
        return self.message(request, "No such call",
                            "There is no call with that number that you can open.", 404,
                            user)

    def busy(self, request: Request, user: User) -> Response:
        return self.message(request, "Call busy", BUSY, 409, user)

    @staticmethod
    def flash(request: Request, text: str, kind: str = "info") -> None:
        request.session.setdefault("flash", []).append([kind, text])

    @staticmethod
    def redirect(path: str) -> Response:
        return RedirectResponse(path, status_code=303)

    def permitted(self, user: User, state: CallState) -> bool:
        return user.sees_every_call or state.staffer == user.name

    def state_for(self, user: User, call_id: str) -> CallState:
        """The recorded call if this user may open it; NotFound otherwise (the same
        answer whether the call exists or not). For a page that needs no :class:`Call`:
        :meth:`read` and :meth:`open` check the same on the one reading they make."""
        _call_id_shape(call_id)
        try:
            state = self.desk.journals().load(call_id)
        except (JournalError, TriageError):
            raise NotFound() from None
        return self._mine(user, call_id, state)

    def _mine(self, user: User, call_id: str, state: CallState) -> CallState:
        """``state`` if it is the call the address names exactly (not a call a prefix
        of the id resolves to) and this user may open it; NotFound otherwise."""
        if state.call_id != call_id or not self.permitted(user, state):
            raise NotFound()
        return state

    # -- the call's setting ------------------------------------------------------------
    def flowset_org(self) -> tuple[Any, Any]:
        """The flowchart set and organization file, read again only when one of their
        files changes (a few ``stat`` calls per request instead of loading the set)."""
        cached = self._setting
        if cached is not None and cached[0] == self._setting_stamp(cached[1]):
            return cached[2], cached[3]
        org = self.desk.call_org()
        fs, source = self.desk.flowset(org)
        self._setting = (self._setting_stamp(source.path), source.path, fs, org)
        return fs, org

    def _setting_stamp(self, charts: Path) -> tuple[Any, ...]:
        def stamp(path: Path) -> Stamp | None:
            try:
                return file_stamp(path)
            except OSError:  # unreadable: counted as missing, as before
                return None

        files = []
        with contextlib.suppress(OSError):
            files = sorted(e.name for e in os.scandir(charts)
                           if e.name.endswith((".yaml", ".yml")))
        return (stamp(self.desk.org_file) if self.desk.org_file else None,
                stamp(catalogue_path(charts)),
                *((name, stamp(charts / name)) for name in files))

    def read(self, call_id: str, user: User) -> Call:
        """The call as recorded, read-only, if this user may open it (NotFound
        otherwise): one reading of its journal, which the permission is checked on."""
        _call_id_shape(call_id)
        fs, org = self.flowset_org()
        with _not_found():
            call = turns.read_call(self.desk, fs, org, call_id,
                                   checks=self.settings.checks)
        self._mine(user, call_id, call.state)
        return call

    def open(self, call_id: str, user: User) -> Call:
        """The call locked for this request, if this user may open it (NotFound
        otherwise, checked on the reading made under the lock: one reading of the
        journal); what is written names ``user`` (``by``). A call locked elsewhere is
        :class:`CallBusy`, once the journal read without the lock shows it is the
        user's (someone else's busy call is NotFound at once, as a call that is not
        there). At most :data:`LOCK_WAITERS` requests of this worker wait for one
        call's lock (each holds a worker thread meanwhile); any more are answered busy
        at once, so requests to one busy call never take the threads every other page
        needs."""
        _call_id_shape(call_id)
        fs, org = self.flowset_org()
        try:
            return self._opened(user, call_id, fs, org, wait=0)
        except CallBusy:
            self.state_for(user, call_id)
        with self._waiting_lock:
            waiting = self._waiting.get(call_id, 0)
            self._waiting[call_id] = waiting + 1
        try:
            return self._opened(user, call_id, fs, org,
                                wait=turns.LOCK_WAIT if waiting < LOCK_WAITERS else 0)
        finally:
            with self._waiting_lock:
                self._waiting[call_id] -= 1
                if not self._waiting[call_id]:
                    del self._waiting[call_id]

    def _opened(self, user: User, call_id: str, fs: Any, org: Any, *, wait: float) -> Call:
        with _not_found():
            call = turns.open_call(self.desk, fs, org, call_id,
                                   checks=self.settings.checks, by=user.name, wait=wait)
        try:
            self._mine(user, call_id, call.state)
        except NotFound:
            call.close()
            raise
        return call


def _call_id_shape(call_id: str) -> None:
    """NotFound for what cannot be a call's id (a call is only ever named whole)."""
    if not call_id or any(c not in "0123456789abcdef-" for c in call_id):
        raise NotFound()


@contextlib.contextmanager
def _not_found() -> Iterator[None]:
    """A call record that is not there or cannot be read: NotFound, as for a call of
    someone else; a call being answered elsewhere stays :class:`CallBusy`."""
    try:
        yield
    except CallBusy:
        raise
    except TriageError as exc:
        if exc.status != ExitStatus.NOT_FOUND:
            raise
        raise NotFound() from None


Handler = Callable[[WebDesk, Request, User, FormData], Response]
"""A page or form of a signed-in user (the form already read: empty for a page). It
reads journals, may wait for a call's lock and renders: the endpoint runs it in a worker
thread, as Starlette runs a plain endpoint, so the event loop answers everyone else
meanwhile."""


def web_of(request: Request) -> WebDesk:
    web: WebDesk = request.app.state.web
    return web
