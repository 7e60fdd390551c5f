"""The lead's report page: the call classification report (as ``ipsec-triage report``)
for leads and admins.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from wizard.base.errors import ExitStatus, TriageError
from wizard.frontends.web.desk import (
    WebDesk,
    client_address,
)
from wizard.records.report import html_context
from wizard.records.store import CallFilter
from wizard.service import reports
from wizard.service.accounts import User


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
        web.audit.write("report_refused", user=user.name, address=client_address(request))
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
    web.audit.write("report", user=user.name, address=client_address(request))
    return web.page(request, "report_page.html.j2", user=user, nav="report", form=asked,
                    error="", r=html_context(made.report), warning=made.warning or "")


