"""The web desk for an ASGI server of your own (several workers):

    IPSEC_TRIAGE_DATA=/srv/triage uvicorn wizard.frontends.web.asgi:app --workers 4

Settings come from the environment: ``IPSEC_TRIAGE_DATA``, ``IPSEC_TRIAGE_ORG``,
``IPSEC_TRIAGE_FLOWCHARTS``, ``IPSEC_TRIAGE_TEMPLATES``; ``IPSEC_TRIAGE_WEB_HTTPS=1``
(session cookies only over TLS), ``IPSEC_TRIAGE_WEB_CHECKS=0`` (no automatic checks),
``IPSEC_TRIAGE_WEB_PROXY`` (the reverse proxy's addresses, comma-separated: its
``X-Forwarded-For`` is trusted), ``IPSEC_TRIAGE_WEB_SSO_HEADER`` and
``IPSEC_TRIAGE_WEB_SSO_FROM`` (the single-sign-on proxy's header naming the user, and
the addresses it is trusted from), ``IPSEC_TRIAGE_WEB_IDLE_TIMEOUT`` (minutes without a
page after which a session has ended; default 30). The application reads the forwarded
headers itself: run uvicorn with ``--no-proxy-headers`` so that it sees the proxy's own address.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from starlette.applications import Starlette

from wizard.base.errors import ExitStatus, TriageError
from wizard.base.validate import Network, networks
from wizard.frontends.web.app import Settings, create_app
from wizard.service.desk import Desk
from wizard.service.sessions import IDLE_TIMEOUT, idle_minutes


def _flag(environ: Mapping[str, str], name: str, default: bool) -> bool:
    value = environ.get(name, "").strip().lower()
    if not value:
        return default
    return value in ("1", "yes", "true", "on")


def _networks(environ: Mapping[str, str], name: str) -> tuple[Network, ...]:
    try:
        return networks(environ.get(name, ""))
    except ValueError as exc:
        raise TriageError(f"{name}: {exc}", ExitStatus.CONFIG) from None


def settings_from_environ(environ: Mapping[str, str]) -> Settings:
    desk = Desk.from_options(environ=environ,
                             templates=environ.get("IPSEC_TRIAGE_TEMPLATES") or None)
    header = environ.get("IPSEC_TRIAGE_WEB_SSO_HEADER", "").strip()
    sso_from = _networks(environ, "IPSEC_TRIAGE_WEB_SSO_FROM")
    if header and not sso_from:
        raise TriageError("IPSEC_TRIAGE_WEB_SSO_HEADER needs IPSEC_TRIAGE_WEB_SSO_FROM: "
                          "the single-sign-on proxy's addresses", ExitStatus.CONFIG)
    idle = environ.get("IPSEC_TRIAGE_WEB_IDLE_TIMEOUT", "").strip()
    return Settings(desk=desk, https=_flag(environ, "IPSEC_TRIAGE_WEB_HTTPS", False),
                    idle_timeout=idle_minutes(idle, "IPSEC_TRIAGE_WEB_IDLE_TIMEOUT")
                    if idle else IDLE_TIMEOUT,
                    checks=_flag(environ, "IPSEC_TRIAGE_WEB_CHECKS", True),
                    proxy=_networks(environ, "IPSEC_TRIAGE_WEB_PROXY"),
                    sso_header=header, sso_from=sso_from)


def app_from_environ() -> Starlette:
    """The application, for ``uvicorn --factory``."""
    return create_app(settings_from_environ(dict(os.environ)))


_APP: list[Starlette] = []


def __getattr__(name: str) -> Starlette:
    """``app``: the application, built when the server first asks for it."""
    if name != "app":
        raise AttributeError(name)
    if not _APP:
        _APP.append(app_from_environ())
    return _APP[0]
