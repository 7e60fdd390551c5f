"""Who is asking: the sign-in page and form, signing out, the single-sign-on proxy's
user, and the session's user (checked against the users file at every request).
"""

from __future__ import annotations

import sqlite3
import time

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from wizard.base.validate import trusted
from wizard.frontends.web.desk import WebDesk, client_address, field, web_of
from wizard.frontends.web.security import PEER, csrf_ok, csrf_token
from wizard.service.accounts import User, verify


def _local_path(target: str) -> str:
    """Where to go after login: a path of this site only."""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def sso_name(web: WebDesk, request: Request) -> str | None:
    """The user the single-sign-on proxy names, if it is configured, the header is
    there and the request comes from the proxy's address; a request from any other
    address with the header is audited and the header ignored."""
    header = web.settings.sso_header
    value = request.headers.get(header, "").strip() if header else ""
    if not value:
        return None
    peer = request.scope.get(PEER) or client_address(request)
    if not trusted(peer, web.settings.sso_from):
        web.audit.write("sso_untrusted", user=value[:64], address=peer,
                        header=header)
        return None
    return value


def sso_user(web: WebDesk, request: Request, name: str) -> User | None:
    """The account the proxy named: it must exist in the users file and be
    enabled (its role comes from there). A new name starts a new session."""
    user = web.accounts.get(name)
    session = request.session
    if user is None or user.disabled:
        if session.get("sso_refused") != name:
            web.audit.write("sso_refused", user=name[:64], address=client_address(request))
        session.clear()
        session["sso_refused"] = name
        request.state.sso_refused = name
        return None
    if session.get("user") != user.name or session.get("via") != "sso":
        session.clear()
        session.update({"user": user.name, "since": time.time(), "via": "sso"})
        csrf_token(session)
        web.audit.write("login", user=user.name, address=client_address(request),
                        via="sso")
    return user


def sso_refusal(web: WebDesk, request: Request) -> Response | None:
    """The page for a name the single-sign-on proxy sent that has no enabled account
    here (None: this request was not refused so). No sign-in form: while the proxy
    names that user, a password would not let anyone in either."""
    name = getattr(request.state, "sso_refused", None)
    if name is None:
        return None
    return web.message(
        request, "No access to the help desk",
        f"Your organization's sign-on names you {name[:64]}, and the help desk has no "
        "enabled account of that name. Ask the help desk's administrator to add or "
        "enable it, then open this page again.", 403, back=False)


def session_user(web: WebDesk, request: Request) -> User | None:
    sso = sso_name(web, request)
    if sso is not None:
        return sso_user(web, request, sso)
    if request.session.get("via") == "sso":  # the proxy no longer vouches for it
        request.session.clear()
        return None
    name = request.session.get("user")
    if not isinstance(name, str):
        return None
    user = web.accounts.get(name)
    since = request.session.get("since")
    if user is None or user.disabled or not isinstance(since, (int, float)) \
            or since < user.changed:
        request.session.clear()
        return None
    return user


# -- login ------------------------------------------------------------------------------


async def login_page(request: Request) -> Response:
    web = web_of(request)
    if await run_in_threadpool(session_user, web, request) is not None:
        return web.redirect("/")
    refused = sso_refusal(web, request)
    if refused is not None:
        return refused
    return web.page(request, "login.html.j2", next=request.query_params.get("next", "/"),
                    name="", error="")


async def login(request: Request) -> Response:
    web = web_of(request)
    form = await request.form()
    name, password = field(form, "name").strip(), field(form, "password")
    target = _local_path(field(form, "next") or "/")
    address = client_address(request)
    if not csrf_ok(request.session, field(form, "csrf")):
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
    web.audit.write("logout", user=user.name, address=client_address(request))
    request.session.clear()
    return web.redirect("/login")

