"""The web application: pages and plain HTML forms over :mod:`wizard.service`.

Every page works without JavaScript: a form posts, the server answers with a redirect
to the page to show next (post-redirect-get). Every form carries the session's CSRF
token and the step it answers; the call is opened (locked) for the one request that
writes it and closed before the answer goes out. A page's work (journals, the call's
lock, the checks, rendering) is done in a worker thread, never on the event loop; a
call another program is writing is answered 409 ("being answered elsewhere").
"""

from __future__ import annotations

import contextlib
import os
import queue
import sqlite3
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
from markupsafe import Markup
from starlette.applications import Starlette
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool
from starlette.datastructures import FormData
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from wizard.base.errors import DiskFull, ExitStatus, TriageError
from wizard.base.privacy import Stamp, file_stamp
from wizard.base.resources import builtin_dir
from wizard.base.validate import Network, trusted
from wizard.calls.call import ABANDON_REASONS, Call, Suggestion, check_location, end_label
from wizard.calls.engine import Step, StepKind, Visit
from wizard.calls.journal import CallBusy, CallState, JournalError
from wizard.flows import answers as answer_rules
from wizard.flows import mermaid
from wizard.flows.catalogue import catalogue_path
from wizard.flows.nodes import (
    ActionNode,
    Category,
    CheckNode,
    ChoiceNode,
    NoteNode,
    TextNode,
    Validator,
    YesNoNode,
)
from wizard.frontends.web.guards import (
    BodyLimit,
    Forwarded,
    OneHeader,
    SecurityHeaders,
    ServerSessions,
)
from wizard.frontends.web.security import (
    PEER,
    SECURITY_HEADERS,
    AuditLog,
    LoginLimiter,
    RecordPeer,
    csrf_ok,
    csrf_token,
)
from wizard.records.report import html_context
from wizard.records.store import CallFilter
from wizard.records.ticket import attached_packet
from wizard.service import calls, reports, turns
from wizard.service.accounts import Accounts, User, UsersFileError, verify
from wizard.service.desk import Desk
from wizard.service.guidance import (
    SENSITIVE_KINDS,
    SOCIAL_ENGINEERING,
    SOCIAL_ENGINEERING_SOURCE,
)
from wizard.service.sessions import IDLE_TIMEOUT, SessionStore

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


STATIC = Path(__file__).resolve().parent / "static"
STATIC_TYPES = {"desk.css": "text/css; charset=utf-8",
                "desk.js": "text/javascript; charset=utf-8"}
"""The pages' one stylesheet and one script, served by the app (nothing from elsewhere)."""


def _field(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _local_path(target: str) -> str:
    """Where to go after login: a path of this site only."""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def progress_text(call: Call, step: Step) -> str:
    after = call.engine.questions_after(step.visit.node_key)
    if not after or max(after) == 0:
        return "last question on this route"
    if min(after) == 0:
        return f"this may be the last question (or at least {min(a for a in after if a)} more)"
    return f"at least {min(after)} more"


def question_view(call: Call, visit: Visit, step: Step,
                  suggestion: Suggestion | None = None, offer: str | None = None
                  ) -> dict[str, Any]:
    """What the page shows for one question: its kind, text and the answers offered
    (the earlier answer, the check's suggestion or the chart's default selected)."""
    node = visit.node
    previous = call.state.answers.get(visit.key)
    default = previous.value if previous else None
    view: dict[str, Any] = {"key": visit.key, "text": call.text(node.text, step),
                            "options": [], "value": ""}
    if isinstance(node, TextNode):
        view["kind"] = "text"
        view["value"] = offer if offer is not None else (default or "")
        view["optional"] = node.optional
        view["host"] = node.validate_as in (Validator.HOST, Validator.HOSTNAME)
        return view
    if isinstance(node, ActionNode):
        view["kind"] = "action"
        return view
    view["kind"] = "choice"
    if isinstance(node, (YesNoNode, CheckNode)):
        options = answer_rules.choices(node)
        if default is None and suggestion and suggestion.value:
            default = suggestion.value
    else:
        assert isinstance(node, ChoiceNode)
        options = [(o.value, o.label) for o in node.options]
        if default is None:
            default = call.preselected(visit, step)
    view["options"] = [{"value": v, "label": label, "checked": v == default}
                       for v, label in options]
    return view


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

    # -- who is asking -----------------------------------------------------------------
    def sso_name(self, request: Request) -> str | None:
        """The user the single-sign-on proxy names, if it is configured, the header is
        there and the request comes from the proxy's address; a request from any other
        address with the header is audited and the header ignored."""
        header = self.settings.sso_header
        value = request.headers.get(header, "").strip() if header else ""
        if not value:
            return None
        peer = request.scope.get(PEER) or _address(request)
        if not trusted(peer, self.settings.sso_from):
            self.audit.write("sso_untrusted", user=value[:64], address=peer,
                             header=header)
            return None
        return value

    def sso_user(self, request: Request, name: str) -> User | None:
        """The account the proxy named: it must exist in the users file and be
        enabled (its role comes from there). A new name starts a new session."""
        user = self.accounts.get(name)
        session = request.session
        if user is None or user.disabled:
            if session.get("sso_refused") != name:
                self.audit.write("sso_refused", user=name[:64], address=_address(request))
            session.clear()
            session["sso_refused"] = name
            request.state.sso_refused = name
            return None
        if session.get("user") != user.name or session.get("via") != "sso":
            session.clear()
            session.update({"user": user.name, "since": time.time(), "via": "sso"})
            csrf_token(session)
            self.audit.write("login", user=user.name, address=_address(request),
                             via="sso")
        return user

    def sso_refusal(self, request: Request) -> Response | None:
        """The page for a name the single-sign-on proxy sent that has no enabled account
        here (None: this request was not refused so). No sign-in form: while the proxy
        names that user, a password would not let anyone in either."""
        name = getattr(request.state, "sso_refused", None)
        if name is None:
            return None
        return self.message(
            request, "No access to the help desk",
            f"Your organization's sign-on names you {name[:64]}, and the help desk has no "
            "enabled account of that name. Ask the help desk's administrator to add or "
            "enable it, then open this page again.", 403, back=False)

    def user(self, request: Request) -> User | None:
        sso = self.sso_name(request)
        if sso is not None:
            return self.sso_user(request, sso)
        if request.session.get("via") == "sso":  # the proxy no longer vouches for it
            request.session.clear()
            return None
        name = request.session.get("user")
        if not isinstance(name, str):
            return None
        user = self.accounts.get(name)
        since = request.session.get("since")
        if user is None or user.disabled or not isinstance(since, (int, float)) \
                or since < user.changed:
            request.session.clear()
            return None
        return user

    def permitted(self, user: User, state: CallState) -> bool:
        return user.sees_every_call or state.staffer == user.name

    def state_for(self, user: User, call_id: str) -> CallState:
        """The recorded call if this user may open it; NotFound otherwise (the same
        answer whether the call exists or not)."""
        if not call_id or any(c not in "0123456789abcdef-" for c in call_id):
            raise NotFound()
        try:
            state = self.desk.journals().load(call_id)
        except (JournalError, TriageError):
            raise NotFound() from None
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

    def read(self, call_id: str) -> Call:
        fs, org = self.flowset_org()
        return turns.read_call(self.desk, fs, org, call_id, checks=self.settings.checks)

    def open(self, call_id: str, user: User) -> Call:
        """The call locked for this request; what is written names ``user`` (``by``).
        At most :data:`LOCK_WAITERS` requests of this worker wait for one call's lock
        (each holds a worker thread meanwhile); any more are answered busy at once, so
        requests to one busy call never take the threads every other page needs."""
        fs, org = self.flowset_org()
        with self._waiting_lock:
            waiting = self._waiting.get(call_id, 0)
            self._waiting[call_id] = waiting + 1
        try:
            return turns.open_call(self.desk, fs, org, call_id,
                                   checks=self.settings.checks, by=user.name,
                                   wait=turns.LOCK_WAIT if waiting < LOCK_WAITERS else 0)
        finally:
            with self._waiting_lock:
                self._waiting[call_id] -= 1
                if not self._waiting[call_id]:
                    del self._waiting[call_id]


Handler = Callable[[WebDesk, Request, User, FormData], Response]
"""A page or form of a signed-in user (the form already read: empty for a page). It
reads journals, may wait for a call's lock and renders: the endpoint runs it in a worker
thread, as Starlette runs a plain endpoint, so the event loop answers everyone else
meanwhile."""


def create_app(settings: Settings) -> Starlette:
    """The ASGI application of one help desk."""
    web = WebDesk(settings)

    def signed_in(handler: Handler, *, post: bool = False
                  ) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            user = await run_in_threadpool(web.user, request)  # reads users.json
            if user is None:
                refused = web.sso_refusal(request)
                if refused is not None:
                    return refused
                if post:
                    return web.message(request, "Signed out",
                                       "Your session has ended: sign in again.", 403)
                return web.redirect(f"/login?next={quote(request.url.path)}")
            form = FormData()
            if post:
                form = await request.form()
                if not csrf_ok(request.session, _field(form, "csrf")):
                    web.audit.write("csrf_refused", user=user.name, address=_address(request),
                                    path=request.url.path)
                    return web.message(request, "Form refused",
                                       "This form is not from this page of the help desk "
                                       "(or it has expired): nothing was changed. Open the "
                                       "page again and repeat.", 403, user)
            try:
                return await run_in_threadpool(handler, web, request, user, form)
            except CallBusy:
                return web.busy(request, user)
            except NotFound:
                web.audit.write("call_refused", user=user.name, address=_address(request),
                                path=request.url.path)
                return web.not_found(request, user)
            except TriageError as exc:
                if isinstance(exc, DiskFull):  # 507: the server's own storage
                    return web.message(request, "The disk is full",
                                       exc.told[0].upper() + exc.told[1:] + ".", 507, user)
                status = 404 if exc.status == ExitStatus.NOT_FOUND else 409
                return web.message(request, "Not done", str(exc), status, user)
        return endpoint

    routes = [
        Route("/login", login_page, methods=["GET"]),
        Route("/login", login, methods=["POST"]),
        Route("/logout", signed_in(logout, post=True), methods=["POST"]),
        Route("/", signed_in(home), methods=["GET"]),
        Route("/calls", signed_in(start, post=True), methods=["POST"]),
        Route("/calls/{call_id}", signed_in(call_page), methods=["GET"]),
        Route("/calls/{call_id}/answer", signed_in(answer, post=True), methods=["POST"]),
        Route("/calls/{call_id}/note", signed_in(note, post=True), methods=["POST"]),
        Route("/calls/{call_id}/sensitive", signed_in(sensitive, post=True),
              methods=["POST"]),
        Route("/calls/{call_id}/quit", signed_in(quit_call, post=True), methods=["POST"]),
        Route("/calls/{call_id}/abandon", signed_in(abandon_page), methods=["GET"]),
        Route("/calls/{call_id}/abandon", signed_in(abandon, post=True), methods=["POST"]),
        Route("/calls/{call_id}/change", signed_in(change_page), methods=["GET"]),
        Route("/calls/{call_id}/change", signed_in(change, post=True), methods=["POST"]),
        Route("/calls/{call_id}/history", signed_in(history), methods=["GET"]),
        Route("/calls/{call_id}/ticket.{fmt}", signed_in(ticket), methods=["GET"]),
        Route("/calls/{call_id}/route", signed_in(route_map), methods=["GET"]),
        Route("/calls/{call_id}/send", signed_in(send, post=True), methods=["POST"]),
        Route("/calls/{call_id}/collector.ps1", signed_in(collector_download),
              methods=["GET"]),
        Route("/calls/{call_id}/packet", signed_in(packet_upload, post=True),
              methods=["POST"]),
        Route("/report", signed_in(report), methods=["GET"]),
        Route("/static/{name}", static_file, methods=["GET"]),
    ]
    forwarded = [Middleware(Forwarded, proxies=settings.proxy)] if settings.proxy else []
    one_user = [Middleware(OneHeader, header=settings.sso_header, audit=web.audit)
                ] if settings.sso_header else []
    store = SessionStore(settings.desk.data_dir, idle=settings.idle_timeout,
                         max_age=settings.max_age)
    app = Starlette(routes=routes, middleware=[
        Middleware(SecurityHeaders), Middleware(BodyLimit), Middleware(RecordPeer),
        *forwarded, *one_user,
        Middleware(ServerSessions, store=store, cookie=SESSION_COOKIE,
                   https=settings.https, max_age=settings.max_age),
    ], exception_handlers={UsersFileError: users_file_error, Exception: internal_error})
    app.state.web = web
    return app


async def users_file_error(request: Request, exc: Exception) -> Response:
    """users.json edited by hand with a mistake under a running desk: nobody can be
    signed in or recognised until it is corrected (the page names no file of the
    server; ``users list`` tells the administrator the line)."""
    return _web(request).message(request, "Sign-in not possible just now",
                                 "The help desk's list of users cannot be read (it was "
                                 "edited with a mistake): nothing was changed. An "
                                 "administrator sees the mistake with 'ipsec-triage "
                                 "users list'.", 503, back=False)


async def internal_error(request: Request, exc: Exception) -> Response:
    """A fault of the server's own (its traceback goes to the server's log only)."""
    return Response("The help desk met an internal error: nothing more was done. Try "
                    "again; if it happens again, tell the help desk's administrator.\n",
                    status_code=500, media_type="text/plain", headers=SECURITY_HEADERS)


def _web(request: Request) -> WebDesk:
    web: WebDesk = request.app.state.web
    return web


# -- login ------------------------------------------------------------------------------


async def login_page(request: Request) -> Response:
    web = _web(request)
    if await run_in_threadpool(web.user, request) is not None:
        return web.redirect("/")
    refused = web.sso_refusal(request)
    if refused is not None:
        return refused
    return web.page(request, "login.html.j2", next=request.query_params.get("next", "/"),
                    name="", error="")


async def login(request: Request) -> Response:
    web = _web(request)
    form = await request.form()
    name, password = _field(form, "name").strip(), _field(form, "password")
    target = _local_path(_field(form, "next") or "/")
    address = _address(request)
    if not csrf_ok(request.session, _field(form, "csrf")):
        return web.message(request, "Form refused", "The sign-in form had expired: open "
                           "the sign-in page again.", 403)
    try:
        wait = await run_in_threadpool(web.limiter.attempt, name, address)
    except sqlite3.Error as exc:  # the limit cannot be counted: nobody is let in
        return web.message(request, "Sign-in not possible just now",
                           f"The help desk cannot count sign-in attempts ({exc}): try "
                           "again in a moment.", 503, back=False)
    if wait:
        web.audit.write("login_limited", user=name[:64], address=address)
        return web.page(request, "login.html.j2", code=429, next=target, name=name,
                        error=f"Too many failed attempts: try again in "
                              f"{int(wait // 60) + 1} minute(s).")
    user = await run_in_threadpool(web.accounts.get, name) if name else None
    # the hash takes a while: in a thread, so the worker's other pages go on meanwhile
    if not await run_in_threadpool(verify, user, password) or user is None:
        web.audit.write("login_failed", user=name[:64], address=address)
        return web.page(request, "login.html.j2", code=401, next=target, name=name,
                        error="Wrong user name or password.")
    await run_in_threadpool(web.limiter.succeeded, name, address)
    request.session.clear()
    request.session.update({"user": user.name, "since": time.time()})
    csrf_token(request.session)
    web.audit.write("login", user=user.name, address=address)
    return web.redirect(target)


def logout(web: WebDesk, request: Request, user: User, form: FormData) -> Response:
    web.audit.write("logout", user=user.name, address=_address(request))
    request.session.clear()
    return web.redirect("/login")


# -- the desk's home ----------------------------------------------------------------------


def home(web: WebDesk, request: Request, user: User, form: FormData) -> Response:
    rows = []
    for s in web.desk.journals().all():
        if not web.permitted(user, s):
            continue
        vals = calls.call_vars(s, None)
        rows.append({"call_id": s.call_id, "started": s.started[:16].replace("T", " "),
                     "staffer": s.staffer, "caller": vals.get("caller_name", ""),
                     "computer": calls.call_machine(vals),
                     "status": end_label(s.ended), "open": s.ended is None})
    rows.reverse()
    open_calls = [r for r in rows if r["open"]]
    ended = [r for r in rows if not r["open"]][:20]
    return web.page(request, "home.html.j2", user=user, open_calls=open_calls, ended=ended)


def start(web: WebDesk, request: Request, user: User, form: FormData) -> Response:
    fs, org = web.flowset_org()
    call = calls.start_call(web.desk, fs, org, staffer=user.name, runs_on="helpdesk",
                            mode="web", practice=_field(form, "practice") == "yes",
                            checks=web.settings.checks)
    call.close()
    web.audit.write("call_started", user=user.name, address=_address(request),
                    call=call.call_id)
    request.session["opened"] = call.call_id
    return web.redirect(f"/calls/{call.call_id}")


# -- one question per page ------------------------------------------------------------------


def _prepare(web: WebDesk, request: Request, user: User, call_id: str, step: Step,
             call: Call) -> Call:
    """What a page needs written before it is shown: the check of this step run (and
    those ahead of it in the chart), new known issues recorded, an end reached by the
    answers recorded. Done under the call's lock, only when there is something to do."""
    needs_check = _needs_check(call, step)
    fresh = [h for h in call.known_issues(step) if h.entry.id not in call.state.known_issues]
    ends = step.kind is StepKind.END and call.state.ended is None
    if not (needs_check or fresh or ends):
        return call
    writer = web.open(call_id, user)
    try:
        step = writer.step()
        writer.new_known_issues(step)
        if step.kind is StepKind.END:
            if writer.state.ended is None:
                ending = calls.finish_call(web.desk, writer, step)
                if ending.store_warning:
                    web.flash(request, ending.store_warning, "warn")
        elif isinstance(step.visit.node, CheckNode) and writer.probe_applies(step) is None:
            writer.prefetch(step)
            writer.run_check(step)
    finally:
        writer.close()
    return web.read(call_id)


def call_page(web: WebDesk, request: Request, user: User, form: FormData) -> Response:
    call_id = request.path_params["call_id"]
    web.state_for(user, call_id)
    if request.session.get("opened") != call_id:
        web.audit.write("call_opened", user=user.name, address=_address(request),
                        call=call_id)
        request.session["opened"] = call_id
    call = web.read(call_id)
    gone = call.flowcharts_gone_lines()  # its own flowcharts are no longer kept
    if gone:
        web.flash(request, " · ".join(gone), "warn")
    step = call.step()
    if _needs_check(call, step):
        return _checking_page(web, request, user, call, step)
    call = _prepare(web, request, user, call_id, step, call)
    if call.state.ended is not None:
        return _ended_page(web, request, user, call)
    return web.page(request, "question.html.j2", **_question_ctx(web, request, user, call))


def _needs_check(call: Call, step: Step) -> bool:
    return (step.kind is StepKind.ASK and isinstance(step.visit.node, CheckNode)
            and call.probe_applies(step) is None and call.cached_check(step) is None)


def _question_ctx(web: WebDesk, request: Request, user: User, call: Call) -> dict[str, Any]:
    """What the question page shows for the call's current step."""
    step = call.step()
    assert step.kind is StepKind.ASK
    suggestion = None
    why_not = None
    if isinstance(step.visit.node, CheckNode):
        why_not = call.probe_applies(step)
        suggestion = call.cached_check(step) if why_not is None else None
        if why_not and not call.checks:
            why_not = "automatic checks are turned off on this help desk"
        elif why_not and step.visit.node.probe.runs_on == "caller":
            why_not = ("this check only tells something on the caller's computer, and the "
                       "help desk in the browser runs on the help desk's: ask the caller")
    offer = request.query_params.get("offer")
    node = step.visit.node
    chart = call.fs.charts[step.visit.chart]
    check = None
    if suggestion is not None:
        r = suggestion.result
        check = {"summary": r.summary, "probe": r.probe, "status": r.status.value,
                 "duration": f"{r.duration:.1f}",
                 "where": check_location(call.state.runs_on),
                 "suggests": answer_rules.label(node, suggestion.value)
                 if suggestion.value else ""}
    notices = []
    for visit in step.notices:
        assert isinstance(visit.node, NoteNode)
        notices.append({"caution": visit.node.level == "caution",
                        "text": call.text(visit.node.text, step)})
    issues = [{"title": h.entry.title, "symptom": h.entry.symptom, "why": h.why,
               "says": h.entry.tier1_says, "does": h.entry.tier1_does,
               "escalate": h.entry.escalate_to} for h in call.known_issues(step)]
    ctx = step.context
    recap = [(label, ctx[var]) for label, var in
             (("Caller", "caller_name"), ("Contact", "caller_contact"),
              ("Computer", "caller_machine"), ("Target", "target")) if ctx.get(var)]
    return dict(
        user=user, call=call.state, step=step,
        token=turns.step_token(call.state, step), chart=chart.title,
        progress=progress_text(call, step),
        question=question_view(call, step.visit, step, suggestion, offer),
        help=call.text(node.help, step) if node.help else "",
        command=call.command(node, step), source=" ".join(node.source.split()),
        chart_source=" ".join(chart.source.split()),
        inferred=" ".join(node.inferred.split()) if node.inferred else "",
        caution=SOCIAL_ENGINEERING, caution_source=SOCIAL_ENGINEERING_SOURCE,
        sensitive_kinds=SENSITIVE_KINDS, check=check, why_not=why_not, notices=notices,
        issues=issues, recap=recap, notes=call.state.notes.get(step.visit.key, []),
        can_change=bool(step.answered_route), checks_off=not call.checks,
        collector=_collector_offer(call, step))


def _collector_offer(call: Call, step: Step) -> dict[str, str] | None:
    """On the log step of a call: the collector script to download (for a caller's
    Windows 10/11 or Server 2016+ without Python) and how it is run."""
    from wizard.evidence.script import ScriptRequest, checked, script_name
    from wizard.service.evidence import RUN_AS_ADMIN

    node = step.visit.node
    if not (isinstance(node, ActionNode) and node.logs):
        return None
    machine = str(step.context.get("caller_machine") or "")
    try:
        name = script_name(checked(ScriptRequest(machine, call_id=call.call_id)))
    except TriageError:
        return None
    return {"href": f"/calls/{call.call_id}/collector.ps1", "name": name,
            "run": RUN_AS_ADMIN.format(name=name)}


CHECKS_WAIT = 120.0
"""Seconds a check page waits for the next result (each probe has its own timeout)."""


def _run_checks(web: WebDesk, user: User, call_id: str,
                out: queue.Queue[tuple[str, Any]]) -> None:
    """Run the checks of the call's step under its lock (in a thread of its own, so the
    lock is let go when they end even if the browser has gone): each result is put on
    ``out`` as it arrives, then ("done", None)."""
    try:
        writer = web.open(call_id, user)
    except Exception as exc:  # the call busy or gone: the page says so, asks the question
        out.put(("error", BUSY if isinstance(exc, CallBusy) else str(exc)))
        out.put(("done", None))
        return
    try:
        step = writer.step()
        writer.new_known_issues(step)
        if _needs_check(writer, step):
            pending = writer.pending_checks(step)
            writer.prefetch(step, on_result=lambda i, r: out.put(("result", (pending[i], r))))
            if writer.cached_check(step) is None:
                assert isinstance(step.visit.node, CheckNode)
                writer.run_check(step)
                result = writer.state.probes[step.visit.key]
                out.put(("result", ((step.visit.key, step.visit.node, {}), result)))
    except Exception as exc:  # a probe problem is shown; the question is asked
        out.put(("error", str(exc)))
    finally:
        writer.close()
        out.put(("done", None))


def _checking_page(web: WebDesk, request: Request, user: User, call: Call,
                   step: Step) -> Response:
    """The question page of a check step, streamed: the checks being run are listed
    first (an ``aria-live`` region), each result is sent as it arrives, then the
    question with the check's suggestion. Works the same without JavaScript."""
    call_id = call.call_id
    pending = [{"key": key, "probe": node.probe.name,
                "about": ", ".join(v for v in args.values() if v)}
               for key, node, args in call.pending_checks(step)]
    results: queue.Queue[tuple[str, Any]] = queue.Queue()
    threading.Thread(target=_run_checks, args=(web, user, call_id, results),
                     name=f"checks-{call_id}", daemon=True).start()

    def arriving() -> Iterator[dict[str, str]]:
        while True:
            try:
                kind, item = results.get(timeout=CHECKS_WAIT)
            except queue.Empty:
                yield {"probe": "check", "status": "error",
                       "summary": "the checks take too long: ask the caller"}
                return
            if kind == "done":
                return
            if kind == "error":
                yield {"probe": "check", "status": "error", "summary": str(item)}
                continue
            (_key, node, _args), r = item
            yield {"probe": node.probe.name, "status": r.status.value,
                   "summary": r.summary, "duration": f"{r.duration:.1f}"}

    def rest() -> Markup:
        after = web.read(call_id)
        if after.state.ended is not None or after.step().kind is not StepKind.ASK:
            return Markup('<p class="flash warn">The call has moved on: '
                          '<a href="/calls/{0}">open it again</a>.</p>').format(call_id)
        ctx = _question_ctx(web, request, user, after)
        ctx.update(csrf=csrf_token(request.session), flash=[], nav="")
        return render_block(web.templates, "question.html.j2", "question", ctx)

    page = web.templates.get_template("checking.html.j2")
    ctx = _question_ctx(web, request, user, call)
    ctx.update(csrf=csrf_token(request.session), flash=request.session.pop("flash", []),
               nav="", pending=pending, arriving=arriving(), rest=rest)
    chunks = _coalesced(page.generate(**ctx))
    return StreamingResponse(iterate_in_threadpool(chunks), media_type="text/html",
                             headers=SECURITY_HEADERS)


def _coalesced(pieces: Iterator[str], size: int = 8192) -> Iterator[str]:
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


def _ended_page(web: WebDesk, request: Request, user: User, call: Call) -> Response:
    ended = call.state.ended or {}
    tickets = sorted(fmt for fmt in ("md", "txt")
                     if (ended.get("tickets") or {}).get(fmt))
    tier2 = bool(ended.get("tier2"))
    where = calls.handoff_destination(call) if tier2 else None
    handoffs = call.state.handoffs
    text = ""
    if tickets:
        with contextlib.suppress(TriageError):  # the downloads say why
            text = _ticket_text(web, request, user, call.state, tickets[0], "shown")
    return web.page(request, "ended.html.j2", user=user, call=call.state,
                    status=end_label(ended), category=Category.label_of(ended.get("category")),
                    tier2=tier2, group=ended.get("tier2_group") or "",
                    tickets=tickets, ticket_error=ended.get("ticket_error") or "",
                    ticket=text,
                    handoffs=[calls.handoff_line(h) for h in handoffs],
                    sent=any(h.get("status") == "sent" for h in handoffs),
                    destination={"group": where[0], "kind": where[1]} if where else None,
                    packet=attached_packet(call.state.packets))


def _ticket_text(web: WebDesk, request: Request, user: User, state: CallState,
                 fmt: str, how: str) -> str:
    """The ticket written at the call's end, from the call's own ticket file in the
    calls folder (rendered again if it is gone or is not a plain file there); never a
    file the journal names. Every read is audited (``how``: shown or downloaded)."""
    text = None
    with contextlib.suppress(JournalError):
        text = web.desk.journals().read_ticket(state.call_id, fmt)
    if text is None:
        text = calls.ticket_text(web.desk, state.call_id, fmt)
    web.audit.write(f"ticket_{how}", user=user.name, address=_address(request),
                    call=state.call_id, format=fmt)
    return text


def collector_download(web: WebDesk, request: Request, user: User,
                       form: FormData) -> Response:
    """The call's collector script (PowerShell, for the caller to run as administrator)."""
    from wizard.service.evidence import collector_script

    call_id = request.path_params["call_id"]
    web.state_for(user, call_id)
    script = collector_script(web.desk, call_ref=call_id)
    web.audit.write("collector_download", user=user.name, address=_address(request),
                    call=call_id)
    headers = dict(SECURITY_HEADERS)
    headers["Content-Disposition"] = f'attachment; filename="{script.name}"'
    return Response(script.text, media_type="text/plain; charset=utf-8", headers=headers)


PACKET_FIELD = "packet"


def _save_upload(folder: Path, source: Any, limit: int) -> Path:
    """The uploaded file copied to a private temporary file (at most ``limit`` bytes:
    more is refused)."""
    import tempfile

    from wizard.base.privacy import private_dir

    private_dir(folder)
    fd, tmp = tempfile.mkstemp(prefix=".upload-", suffix=".zip", dir=folder)
    size = 0
    try:
        with os.fdopen(fd, "wb") as out:
            source.seek(0)
            while chunk := source.read(1024 * 1024):
                size += len(chunk)
                if size > limit:
                    raise TriageError(f"the packet is more than {limit // 2**20} MiB: "
                                      "refused; nothing of the call was changed")
                out.write(chunk)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return Path(tmp)


def packet_upload(web: WebDesk, request: Request, user: User, form: FormData) -> Response:
    """Take the evidence packet the caller sent into the call (the call's staffer, a
    lead or an admin): checked, kept, analysed and listed in the ticket as ``attach``
    does; a refusal is one line and changes nothing."""
    from starlette.datastructures import UploadFile

    from wizard.evidence import layout
    from wizard.service.evidence import attach_packet

    call_id = request.path_params["call_id"]
    web.state_for(user, call_id)
    upload = form.get(PACKET_FIELD)
    if not isinstance(upload, UploadFile) or not upload.filename:
        web.flash(request, "Choose the packet (zip) the caller sent first.", "warn")
        return web.redirect(f"/calls/{call_id}")
    original = Path(upload.filename.replace("\\", "/")).name or "packet.zip"
    folder = web.desk.data_dir / "uploads"
    try:
        tmp = _save_upload(folder, upload.file, layout.MAX_PACKET)
    except TriageError as exc:
        web.flash(request, f"{original}: {exc}", "warn")
        return web.redirect(f"/calls/{call_id}")
    try:
        done = attach_packet(web.desk, call_id, tmp, redact=_field(form, "redact") == "on",
                             by=user.name, name=original)
    except TriageError as exc:
        web.audit.write("packet_refused", user=user.name, address=_address(request),
                        call=call_id)
        web.flash(request, str(exc), "warn")
    else:
        web.audit.write("packet_attached", user=user.name, address=_address(request),
                        call=call_id)
        web.flash(request, f"Packet {done.path.name} taken into the call: "
                  f"{len(done.findings)} finding(s) for Tier 2, listed in the ticket.")
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()
    return web.redirect(f"/calls/{call_id}")


def send(web: WebDesk, request: Request, user: User, form: FormData) -> Response:
    """Hand the ended call to its Tier 2 group, as the terminal offers at the end (a
    destination that is down: the outbox keeps it and retries)."""
    call_id = request.path_params["call_id"]
    web.state_for(user, call_id)
    call = web.open(call_id, user)
    try:
        if call.state.ended is None:
            web.flash(request, "The call has not ended yet: nothing was sent.", "warn")
        elif _field(form, "handoffs") != str(len(call.state.handoffs)):
            web.flash(request, "That form was for an earlier hand-off of this call (a "
                      "reload or a second click): nothing was sent again.", "warn")
        else:
            try:
                outcome = calls.send_ended_call(web.desk, call)
            except TriageError as exc:
                web.flash(request, str(exc), "warn")
            else:
                web.flash(request, outcome.line(),
                          "info" if outcome.status == "sent" else "warn")
                web.audit.write("call_sent", user=user.name, address=_address(request),
                                call=call_id, status=outcome.status)
    finally:
        call.close()
    return web.redirect(f"/calls/{call_id}")


def _stale(web: WebDesk, request: Request, call_id: str, exc: turns.StaleForm) -> Response:
    web.flash(request, str(exc), "warn")
    return web.redirect(f"/calls/{call_id}")


def _writing(web: WebDesk, request: Request, user: User, form: FormData,
             act: Callable[[Call, Step, FormData], str | None]) -> Response:
    """Open the call for this request, check the form's step, do ``act`` (it returns
    where to go, None: the call's page), close the call. What a user writes in a call
    of someone else (a lead's answer in a staffer's call) is audited too."""
    call_id = request.path_params["call_id"]
    web.state_for(user, call_id)
    call = web.open(call_id, user)
    try:
        try:
            step = turns.check_token(call, _field(form, "step"))
        except turns.StaleForm as exc:
            return _stale(web, request, call_id, exc)
        target = act(call, step, form)
    finally:
        call.close()
    if call.written and user.name != call.state.staffer:
        web.audit.write("call_written", user=user.name, address=_address(request),
                        call=call_id, staffer=call.state.staffer,
                        form=request.url.path.rsplit("/", 1)[-1],
                        events=list(dict.fromkeys(call.written)))
    return web.redirect(target or f"/calls/{call_id}")


def answer(web: WebDesk, request: Request, user: User, form: FormData) -> Response:
    def act(call: Call, step: Step, form: FormData) -> str | None:
        node = step.visit.node
        raw = _field(form, "value") if not isinstance(node, ActionNode) else "done"
        if isinstance(node, TextNode) and node.validate_as in (Validator.HOST,
                                                               Validator.HOSTNAME):
            host = answer_rules.host_from_unc(raw.strip())
            if host:
                web.flash(request, f"The computer in {raw.strip()} is {host}: check it and "
                          "press Next.")
                return f"/calls/{call.call_id}?offer={quote(host)}"
        if not raw.strip() and not (isinstance(node, TextNode) and node.optional):
            web.flash(request, "Pick or type an answer first.", "warn")
            return None
        suggestion = call.cached_check(step) if isinstance(node, CheckNode) else None
        try:
            call.answer(step.visit, raw, suggested=suggestion.value if suggestion else None)
        except answer_rules.AnswerError as exc:
            web.flash(request, str(exc), "warn")
            return None
        after = call.step()
        if after.kind is StepKind.END:
            ending = calls.finish_call(web.desk, call, after)
            if ending.store_warning:
                web.flash(request, ending.store_warning, "warn")
        return None

    return _writing(web, request, user, form, act)


def note(web: WebDesk, request: Request, user: User, form: FormData) -> Response:
    def act(call: Call, step: Step, form: FormData) -> str | None:
        text = _field(form, "text")
        try:
            call.add_note(step.visit.key, text)
        except answer_rules.AnswerError as exc:
            web.flash(request, str(exc), "warn")
            return None
        if text.strip():
            web.flash(request, "Note saved.")
        return None

    return _writing(web, request, user, form, act)


def sensitive(web: WebDesk, request: Request, user: User, form: FormData) -> Response:
    labels = dict(SENSITIVE_KINDS)

    def act(call: Call, step: Step, form: FormData) -> str | None:
        kind = _field(form, "what")
        what = labels.get(kind) or _field(form, "other").strip()
        if not what:
            web.flash(request, "Nothing recorded: pick what the caller asked for.", "warn")
            return None
        try:
            answer_rules.check_free_text(what, answer_rules.MAX_NOTE, "the request")
        except answer_rules.AnswerError as exc:
            web.flash(request, str(exc), "warn")
            return None
        call.record_sensitive_request(step.visit.key, what)
        web.flash(request, "Recorded: it goes in the ticket and the report. Do not give "
                  "it out.", "warn")
        return None

    return _writing(web, request, user, form, act)


def quit_call(web: WebDesk, request: Request, user: User, form: FormData) -> Response:
    def act(call: Call, step: Step, form: FormData) -> str | None:
        if call.is_empty and not call.state.resumed and call.discard():
            web.flash(request, f"Call {call.call_id} discarded: nothing was answered yet.")
        else:
            call.interrupted()
            web.flash(request, f"Call {call.call_id} saved. Continue it from \"Open calls\".")
        return "/"

    return _writing(web, request, user, form, act)


def _open_call(web: WebDesk, request: Request, user: User) -> tuple[Call, Step] | Response:
    """The call of the page's address (404 if not the user's) read at its current step,
    or the redirect to its end page when it has ended."""
    call_id = request.path_params["call_id"]
    web.state_for(user, call_id)
    call = web.read(call_id)
    if call.state.ended is not None:
        return web.redirect(f"/calls/{call_id}")
    return call, call.step()


def abandon_page(web: WebDesk, request: Request, user: User, form: FormData) -> Response:
    opened = _open_call(web, request, user)
    if isinstance(opened, Response):
        return opened
    call, step = opened
    return web.page(request, "abandon.html.j2", user=user, call=call.state,
                    token=turns.step_token(call.state, step), reasons=ABANDON_REASONS)


def abandon(web: WebDesk, request: Request, user: User, form: FormData) -> Response:
    def act(call: Call, step: Step, form: FormData) -> str | None:
        reason = _field(form, "reason")
        duplicate_of = None
        if reason == "duplicate":
            try:
                duplicate_of = answer_rules.check_text(Validator.TICKET,
                                                       _field(form, "duplicate_of").strip())
            except answer_rules.AnswerError as exc:
                web.flash(request, f"Ticket number: {exc}", "warn")
                return f"/calls/{call.call_id}/abandon"
        elif reason == "other":
            reason = _field(form, "other").strip()
        elif reason not in ABANDON_REASONS:
            reason = ""
        try:
            if reason:
                answer_rules.check_free_text(reason, answer_rules.MAX_NOTE, "the reason")
        except answer_rules.AnswerError as exc:
            web.flash(request, str(exc), "warn")
            return f"/calls/{call.call_id}/abandon"
        if not reason:
            web.flash(request, "Pick why the call ends early.", "warn")
            return f"/calls/{call.call_id}/abandon"
        call.abandon(reason, duplicate_of)
        warning = calls.store_call(web.desk, call)
        if warning:
            web.flash(request, warning, "warn")
        return None

    return _writing(web, request, user, form, act)


def change_page(web: WebDesk, request: Request, user: User, form: FormData) -> Response:
    opened = _open_call(web, request, user)
    if isinstance(opened, Response):
        return opened
    call, step = opened
    route = list(step.answered_route)
    key = request.query_params.get("key")
    picked = next((v for v in route if v.key == key), None)
    answers = [{"key": v.key, "number": i, "text": call.text(v.node.text, step),
                "answer": answer_rules.label(v.node, v.value or "")}
               for i, v in enumerate(route, 1)]
    return web.page(request, "change.html.j2", user=user, call=call.state,
                    token=turns.step_token(call.state, step), answers=answers,
                    question=question_view(call, picked, step) if picked else None)


def change(web: WebDesk, request: Request, user: User, form: FormData) -> Response:
    def act(call: Call, step: Step, form: FormData) -> str | None:
        key = _field(form, "key")
        visit = next((v for v in step.answered_route if v.key == key), None)
        if visit is None:
            web.flash(request, "That answer is no longer on the call's route.", "warn")
            return None
        raw = "done" if isinstance(visit.node, ActionNode) else _field(form, "value")
        suggested = None
        probe = call.state.probes.get(visit.key)
        if isinstance(visit.node, CheckNode) and probe is not None:
            suggested = call.suggestion_from(visit.node, probe).value
        try:
            value = call.answer(visit, raw, suggested=suggested)
        except answer_rules.AnswerError as exc:
            web.flash(request, str(exc), "warn")
            return f"/calls/{call.call_id}/change?key={quote(key)}"
        web.flash(request, f"Changed to: {answer_rules.label(visit.node, value)}. Later "
                  "answers are kept where the route is unchanged.")
        after = call.step()
        if after.kind is StepKind.END:
            calls.finish_call(web.desk, call, after)
        return None

    return _writing(web, request, user, form, act)


# -- the record -----------------------------------------------------------------------------


def history(web: WebDesk, request: Request, user: User, form: FormData) -> Response:
    call_id = request.path_params["call_id"]
    state = web.state_for(user, call_id)
    web.audit.write("call_history", user=user.name, address=_address(request), call=call_id)
    call = web.read(call_id)
    step = call.step()
    rows = []
    for v in step.answered_route:
        rec = state.answers.get(v.key)
        probe = state.probes.get(v.key)
        suggested = answer_rules.label(v.node, rec.suggested) if rec and rec.suggested else ""
        verdict = ""
        if probe is not None and rec is not None and rec.suggested:
            verdict = "confirmed" if rec.suggested == rec.value else "overridden"
        rows.append({"text": call.text(v.node.text, step),
                     "answer": answer_rules.label(v.node, v.value or ""),
                     "by": calls.other_author(state, rec.by) if rec else "",
                     "at": rec.at[11:19] if rec else "",
                     "notes": calls.notes_with_authors(state, v.key),
                     "probe": probe, "suggested": suggested, "verdict": verdict,
                     "where": check_location(state.runs_on)})
    return web.page(request, "history.html.j2", user=user, call=state, rows=rows,
                    status=end_label(state.ended),
                    changes=[{**c, "by": calls.other_author(state, str(c.get("by") or ""))}
                             for c in state.changes],
                    sensitive=state.sensitive_requests, known=state.known_issues,
                    open=state.ended is None)


def ticket(web: WebDesk, request: Request, user: User, form: FormData) -> Response:
    call_id = request.path_params["call_id"]
    fmt = request.path_params["fmt"]
    state = web.state_for(user, call_id)
    if fmt not in ("md", "txt") or state.ended is None:
        raise NotFound()
    text = _ticket_text(web, request, user, state, fmt, "downloaded")
    media = "text/markdown" if fmt == "md" else "text/plain"
    return Response(text, media_type=f"{media}; charset=utf-8", headers={
        **SECURITY_HEADERS,
        "Content-Disposition": f'attachment; filename="{call_id}.ticket.{fmt}"'})


def route_map(web: WebDesk, request: Request, user: User, form: FormData) -> Response:
    """The call's route: every step it went through, chart by chart, with the answers
    given, and where it ended (or the step it is at)."""
    call_id = request.path_params["call_id"]
    state = web.state_for(user, call_id)
    web.audit.write("call_route", user=user.name, address=_address(request), call=call_id)
    call = web.read(call_id)
    step = call.step()
    rows: list[dict[str, str]] = []
    chart = None
    for v in step.route:
        if v.chart != chart:
            chart = v.chart
            rows.append({"kind": "chart", "text": call.fs.charts[chart].title})
        rec = state.answers.get(v.key)
        if isinstance(v.node, NoteNode):
            rows.append({"kind": "note", "text": call.text(v.node.text, step)})
        elif rec is not None:
            rows.append({"kind": "step", "text": call.text(v.node.text, step),
                         "answer": answer_rules.label(v.node, rec.value),
                         "source": "" if rec.source == "staffer" else rec.source})
    if step.kind is StepKind.END:
        rows.append({"kind": "end", "text": end_label(state.ended) if state.ended
                     else call.text(step.visit.node.text, step)})
    else:
        rows.append({"kind": "now", "text": call.text(step.visit.node.text, step)})
    charts = list(dict.fromkeys(v.chart for v in step.route))
    return web.page(request, "route.html.j2", user=user, call=state, rows=rows,
                    mermaid=mermaid.render(call.fs, charts,
                                           [v.node_key for v in (*step.route, step.visit)]),
                    open=state.ended is None)


# -- the lead's report ------------------------------------------------------------------


def _day(text: str, name: str) -> date | None:
    if not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise TriageError(f"{name}: {text.strip()[:40]!r} is not a day (YYYY-MM-DD)",
                          ExitStatus.USAGE) from None


def report(web: WebDesk, request: Request, user: User, _form: FormData) -> Response:
    """The call classification report (as ``ipsec-triage report``), for leads and
    admins; anyone else is answered as for a page that does not exist."""
    if not user.sees_every_call:
        web.audit.write("report_refused", user=user.name, address=_address(request))
        return web.message(request, "No such page", "There is no such page.", 404, user)
    q = request.query_params
    asked: dict[str, Any] = {"since": q.get("since", ""), "until": q.get("until", ""),
                             "practice": q.get("practice") == "yes"}
    try:
        since, until = _day(str(asked["since"]), "From"), _day(str(asked["until"]), "To")
        if since and until and since > until:
            raise TriageError(f"From {since} is after To {until}", ExitStatus.USAGE)
    except TriageError as exc:
        return web.page(request, "report_page.html.j2", code=400, user=user, nav="report",
                        form=asked, error=str(exc), r=None, warning="")
    made = reports.make_report(web.desk, CallFilter(since=since, until=until,
                                                    practice=bool(asked["practice"])))
    web.audit.write("report", user=user.name, address=_address(request))
    return web.page(request, "report_page.html.j2", user=user, nav="report", form=asked,
                    error="", r=html_context(made.report), warning=made.warning or "")


def static_file(request: Request) -> Response:  # a plain endpoint: run in a thread
    name = request.path_params["name"]
    if name not in STATIC_TYPES:
        return Response("Not found", status_code=404, media_type="text/plain",
                        headers=SECURITY_HEADERS)
    return Response((STATIC / name).read_bytes(), media_type=STATIC_TYPES[name],
                    headers={**SECURITY_HEADERS, "Cache-Control": "public, max-age=3600"})
