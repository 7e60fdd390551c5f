"""The record pages: the desk's home (open and ended calls), a call's history, route
map, ticket download and end page, handing an ended call to Tier 2, the collector
script to download and the evidence packet to upload.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from wizard.base.errors import TriageError
from wizard.calls.call import Call, check_location, end_label
from wizard.calls.engine import StepKind
from wizard.calls.journal import CallBusy, CallState, JournalError
from wizard.flows import answer_rules, mermaid
from wizard.flows.nodes import Category
from wizard.frontends.web.desk import (
    NotFound,
    WebDesk,
    client_address,
    field,
)
from wizard.frontends.web.security import SECURITY_HEADERS
from wizard.records.ticket import attached_packet
from wizard.service import calls
from wizard.service.accounts import User

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


def ended_page(web: WebDesk, request: Request, user: User, call: Call) -> Response:
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
    web.audit.write(f"ticket_{how}", user=user.name, address=client_address(request),
                    call=state.call_id, format=fmt)
    return text


def collector_download(web: WebDesk, request: Request, user: User,
                       form: FormData) -> Response:
    """The call's collector script (PowerShell, for the caller to run as administrator)."""
    from wizard.service.evidence import collector_script

    call_id = request.path_params["call_id"]
    web.state_for(user, call_id)
    script = collector_script(web.desk, call_ref=call_id)
    web.audit.write("collector_download", user=user.name, address=client_address(request),
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
        done = attach_packet(web.desk, call_id, tmp, redact=field(form, "redact") == "on",
                             by=user.name, name=original)
    except CallBusy:  # the call is being answered elsewhere: its own answer (409)
        raise
    except TriageError as exc:
        web.audit.write("packet_refused", user=user.name, address=client_address(request),
                        call=call_id)
        web.flash(request, str(exc), "warn")
    else:
        web.audit.write("packet_attached", user=user.name, address=client_address(request),
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
    call = web.open(call_id, user)
    try:
        if call.state.ended is None:
            web.flash(request, "The call has not ended yet: nothing was sent.", "warn")
        elif field(form, "handoffs") != str(len(call.state.handoffs)):
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
                web.audit.write("call_sent", user=user.name, address=client_address(request),
                                call=call_id, status=outcome.status)
    finally:
        call.close()
    return web.redirect(f"/calls/{call_id}")


# -- the record -----------------------------------------------------------------------------


def history(web: WebDesk, request: Request, user: User, form: FormData) -> Response:
    call_id = request.path_params["call_id"]
    call = web.read(call_id, user)
    state = call.state
    web.audit.write("call_history", user=user.name, address=client_address(request), call=call_id)
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
    call = web.read(call_id, user)
    state = call.state
    web.audit.write("call_route", user=user.name, address=client_address(request), call=call_id)
    step = call.step()
    rows: list[dict[str, str]] = []
    chart = None
    for v in step.route:
        if v.chart != chart:
            chart = v.chart
            rows.append({"kind": "chart", "text": call.fs.charts[chart].title})
        rec = state.answers.get(v.key)
        if v.node.kind == "note":  # the node says its kind: a notice shown on the way
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


