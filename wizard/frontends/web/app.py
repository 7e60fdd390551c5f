"""The web application: pages and plain HTML forms over :mod:`wizard.service`.

Every page works without JavaScript: a form posts, the server answers with a redirect
to the page to show next (post-redirect-get). Every form carries the session's CSRF
token and the step it answers; the call is opened (locked) for the one request that
writes it and closed before the answer goes out. A page's work (journals, the call's
lock, the checks, rendering) is done in a worker thread, never on the event loop; a
call another program is writing is answered 409 ("being answered elsewhere").
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from wizard.base.errors import DiskFull, ExitStatus, TriageError
from wizard.calls.journal import CallBusy
from wizard.frontends.web.auth import login, login_page, logout, session_user, sso_refusal
from wizard.frontends.web.call_pages import (
    answer,
    call_page,
    change,
    change_page,
    end_early,
    end_early_page,
    note,
    quit_call,
    sensitive,
    start,
)
from wizard.frontends.web.desk import (
    SESSION_COOKIE,
    Handler,
    NotFound,
    Settings,
    WebDesk,
    client_address,
    field,
    web_of,
)
from wizard.frontends.web.guards import (
    BodyLimit,
    Forwarded,
    OneHeader,
    SecurityHeaders,
    ServerSessions,
)
from wizard.frontends.web.records import (
    collector_download,
    history,
    home,
    packet_upload,
    route_map,
    send,
    ticket,
)
from wizard.frontends.web.report import report
from wizard.frontends.web.security import SECURITY_HEADERS, RecordPeer, csrf_ok
from wizard.service.accounts import UsersFileError
from wizard.service.sessions import SessionStore

__all__ = ["Settings", "create_app"]

STATIC = Path(__file__).resolve().parent / "static"
STATIC_TYPES = {"desk.css": "text/css; charset=utf-8",
                "desk.js": "text/javascript; charset=utf-8"}
"""The pages' one stylesheet and one script, served by the app (nothing from elsewhere)."""


def create_app(settings: Settings) -> Starlette:
    """The ASGI application of one help desk."""
    web = WebDesk(settings)

    def signed_in(handler: Handler, *, post: bool = False
                  ) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            user = await run_in_threadpool(session_user, web, request)  # reads users.json
            if user is None:
                refused = sso_refusal(web, request)
                if refused is not None:
                    return refused
                if post:
                    return web.message(request, "Signed out",
                                       "Your session has ended: sign in again.", 403)
                return web.redirect(f"/login?next={quote(request.url.path)}")
            form = FormData()
            if post:
                form = await request.form()
                if not csrf_ok(request.session, field(form, "csrf")):
                    web.audit.write("csrf_refused", user=user.name, address=client_address(request),
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
                web.audit.write("call_refused", user=user.name, address=client_address(request),
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
        Route("/calls/{call_id}/abandon", signed_in(end_early_page), methods=["GET"]),
        Route("/calls/{call_id}/abandon", signed_in(end_early, post=True), methods=["POST"]),
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
    return web_of(request).message(request, "Sign-in not possible just now",
                                 "The help desk's list of users cannot be read (it was "
                                 "edited with a mistake): nothing was changed. An "
                                 "administrator sees the mistake with 'ipsec-triage "
                                 "users list'.", 503, back=False)


async def internal_error(request: Request, exc: Exception) -> Response:
    """A fault of the server's own (its traceback goes to the server's log only)."""
    return Response("The help desk met an internal error: nothing more was done. Try "
                    "again; if it happens again, tell the help desk's administrator.\n",
                    status_code=500, media_type="text/plain", headers=SECURITY_HEADERS)


def static_file(request: Request) -> Response:  # a plain endpoint: run in a thread
    name = request.path_params["name"]
    if name not in STATIC_TYPES:
        return Response("Not found", status_code=404, media_type="text/plain",
                        headers=SECURITY_HEADERS)
    return Response((STATIC / name).read_bytes(), media_type=STATIC_TYPES[name],
                    headers={**SECURITY_HEADERS, "Cache-Control": "public, max-age=3600"})
