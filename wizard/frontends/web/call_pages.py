"""The call pages: starting a call, the page of its current question (and the streamed
page of a check step, its checks run under the call's lock), and the forms that write
it (answer, note, sensitive request, quit, abandon, change an earlier answer).

Every form carries the session's CSRF token and the step it answers; the call is opened
(locked) for the one request that writes it and closed before the answer goes out.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote

from markupsafe import Markup
from starlette.concurrency import iterate_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from wizard.base.errors import TriageError
from wizard.calls.call import Call, Suggestion, check_location
from wizard.calls.engine import Step, StepKind, Visit
from wizard.calls.journal import CallBusy
from wizard.flows import answer_rules
from wizard.flows.nodes import (
    ActionNode,
    CheckNode,
    TextNode,
)
from wizard.frontends.web.desk import (
    BUSY,
    WebDesk,
    client_address,
    coalesced,
    field,
    render_block,
)
from wizard.frontends.web.records import ended_page
from wizard.frontends.web.security import SECURITY_HEADERS, csrf_token
from wizard.service import calls, turns
from wizard.service.accounts import User
from wizard.service.guidance import (
    SENSITIVE_KINDS,
    SOCIAL_ENGINEERING,
    SOCIAL_ENGINEERING_SOURCE,
)


def question_view(call: Call, visit: Visit, step: Step,
                  suggestion: Suggestion | None = None, offer: str | None = None
                  ) -> dict[str, Any]:
    """What the page shows for one question: its kind, text and the answers offered
    (the earlier answer, the check's suggestion or the chart's default selected)."""
    return _question_dict(turns.turn_of(call, step, visit, suggestion=suggestion, offer=offer))


def _question_dict(turn: turns.Turn) -> dict[str, Any]:
    view: dict[str, Any] = {"key": turn.key, "text": turn.text, "kind": turn.kind,
                            "options": [], "value": ""}
    if turn.kind == "text":
        view["value"] = turn.offer if turn.offer is not None else (turn.default or "")
        view["optional"] = turn.optional
        view["host"] = turn.host
    elif turn.kind == "choice":
        view["options"] = [{"value": o.value, "label": o.label,
                            "checked": o.value == turn.default} for o in turn.options]
    return view


def start(web: WebDesk, request: Request, user: User, form: FormData) -> Response:
    fs, org = web.flowset_org()
    call = calls.start_call(web.desk, fs, org, staffer=user.name, runs_on="helpdesk",
                            mode="web", practice=field(form, "practice") == "yes",
                            checks=web.settings.checks)
    call.close()
    web.audit.write("call_started", user=user.name, address=client_address(request),
                    call=call.call_id)
    request.session["opened"] = call.call_id
    return web.redirect(f"/calls/{call.call_id}")


# -- one question per page ------------------------------------------------------------------


def _write_before_showing(web: WebDesk, request: Request, user: User, call_id: str,
                          step: Step, call: Call) -> Call:
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
                ending = calls.end_and_store(web.desk, writer, step)
                if ending.store_warning:
                    web.flash(request, ending.store_warning, "warn")
        elif isinstance(step.visit.node, CheckNode) and writer.probe_applies(step) is None:
            writer.prefetch(step)
            writer.run_check(step)
    finally:
        writer.close()
    return writer  # read under the lock, and what was written since: nothing to read again


def call_page(web: WebDesk, request: Request, user: User, form: FormData) -> Response:
    call_id = request.path_params["call_id"]
    call = web.read(call_id, user)
    if request.session.get("opened") != call_id:
        web.audit.write("call_opened", user=user.name, address=client_address(request),
                        call=call_id)
        request.session["opened"] = call_id
    gone = call.flowcharts_gone_lines()  # its own flowcharts are no longer kept
    if gone:
        web.flash(request, " · ".join(gone), "warn")
    step = call.step()
    if _needs_check(call, step):
        return _checking_page(web, request, user, call, step)
    call = _write_before_showing(web, request, user, call_id, step, call)
    if call.state.ended is not None:
        return ended_page(web, request, user, call)
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
        if why_not == turns.CHECKS_OFF:
            why_not = "automatic checks are turned off on this help desk"
        elif why_not == turns.CALLER_ONLY:
            why_not = ("this check only tells something on the caller's computer, and the "
                       "help desk in the browser runs on the help desk's: ask the caller")
    turn = turns.turn_of(call, step, suggestion=suggestion, why_not=why_not,
                   offer=request.query_params.get("offer"))
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
    notices = [{"caution": n.caution, "text": n.text} for n in turn.notices]
    issues = [{"title": h.entry.title, "symptom": h.entry.symptom, "why": h.why,
               "says": h.entry.tier1_says, "does": h.entry.tier1_does,
               "escalate": h.entry.escalate_to} for h in turn.issues]
    return dict(
        user=user, call=call.state, step=step,
        token=turns.step_token(call.state, step), chart=chart.title,
        progress=turn.progress, question=_question_dict(turn), help=turn.help,
        command=turn.command, source=" ".join(node.source.split()),
        chart_source=" ".join(chart.source.split()),
        inferred=" ".join(node.inferred.split()) if node.inferred else "",
        caution=SOCIAL_ENGINEERING, caution_source=SOCIAL_ENGINEERING_SOURCE,
        sensitive_kinds=SENSITIVE_KINDS, check=check, why_not=why_not, notices=notices,
        issues=issues, recap=list(turn.recap), notes=call.state.notes.get(step.visit.key, []),
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
        after = web.read(call_id, user)
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
    chunks = coalesced(page.generate(**ctx))
    return StreamingResponse(iterate_in_threadpool(chunks), media_type="text/html",
                             headers=SECURITY_HEADERS)


def _stale(web: WebDesk, request: Request, call_id: str, exc: turns.StaleForm) -> Response:
    web.flash(request, str(exc), "warn")
    return web.redirect(f"/calls/{call_id}")


def _write_in_call(web: WebDesk, request: Request, user: User, form: FormData,
                   write: Callable[[Call, Step, FormData], str | None]) -> Response:
    """Open the call for this request, check the form's step, ``write`` (it returns
    where to go, None: the call's page), close the call. What a user writes in a call
    of someone else (a lead's answer in a staffer's call) is audited too."""
    call_id = request.path_params["call_id"]
    call = web.open(call_id, user)
    try:
        try:
            step = turns.check_token(call, field(form, "step"))
        except turns.StaleForm as exc:
            return _stale(web, request, call_id, exc)
        target = write(call, step, form)
    finally:
        call.close()
    if call.written and user.name != call.state.staffer:
        web.audit.write("call_written", user=user.name, address=client_address(request),
                        call=call_id, staffer=call.state.staffer,
                        form=request.url.path.rsplit("/", 1)[-1],
                        events=list(dict.fromkeys(call.written)))
    return web.redirect(target or f"/calls/{call_id}")


def answer(web: WebDesk, request: Request, user: User, form: FormData) -> Response:
    def record_answer(call: Call, step: Step, form: FormData) -> str | None:
        node = step.visit.node
        raw = field(form, "value") if not isinstance(node, ActionNode) else "done"
        host = turns.host_offer(node, raw)
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
            ending = calls.end_and_store(web.desk, call, after)
            if ending.store_warning:
                web.flash(request, ending.store_warning, "warn")
        return None

    return _write_in_call(web, request, user, form, record_answer)


def note(web: WebDesk, request: Request, user: User, form: FormData) -> Response:
    def save_note(call: Call, step: Step, form: FormData) -> str | None:
        text = field(form, "text")
        try:
            call.add_note(step.visit.key, text)
        except answer_rules.AnswerError as exc:
            web.flash(request, str(exc), "warn")
            return None
        if text.strip():
            web.flash(request, "Note saved.")
        return None

    return _write_in_call(web, request, user, form, save_note)


def sensitive(web: WebDesk, request: Request, user: User, form: FormData) -> Response:
    labels = dict(SENSITIVE_KINDS)

    def record_request(call: Call, step: Step, form: FormData) -> str | None:
        kind = field(form, "what")
        what = labels.get(kind) or field(form, "other").strip()
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

    return _write_in_call(web, request, user, form, record_request)


def quit_call(web: WebDesk, request: Request, user: User, form: FormData) -> Response:
    def leave_call(call: Call, step: Step, form: FormData) -> str | None:
        if turns.quit_call(call):
            web.flash(request, f"Call {call.call_id} discarded: nothing was answered yet.")
        else:
            web.flash(request, f"Call {call.call_id} saved. Continue it from \"Open calls\".")
        return "/"

    return _write_in_call(web, request, user, form, leave_call)


def _open_call(web: WebDesk, request: Request, user: User) -> tuple[Call, Step] | Response:
    """The call of the page's address (404 if not the user's) read at its current step,
    or the redirect to its end page when it has ended."""
    call_id = request.path_params["call_id"]
    call = web.read(call_id, user)
    if call.state.ended is not None:
        return web.redirect(f"/calls/{call_id}")
    return call, call.step()


def end_early_page(web: WebDesk, request: Request, user: User, form: FormData) -> Response:
    opened = _open_call(web, request, user)
    if isinstance(opened, Response):
        return opened
    call, step = opened
    return web.page(request, "abandon.html.j2", user=user, call=call.state,
                    token=turns.step_token(call.state, step), reasons=turns.ABANDON_CHOICES)


def end_early(web: WebDesk, request: Request, user: User, form: FormData) -> Response:
    def end_call_early(call: Call, step: Step, form: FormData) -> str | None:
        reason = field(form, "reason")
        duplicate_of = None
        if reason == "duplicate":
            try:
                duplicate_of = turns.duplicate_ticket(field(form, "duplicate_of"))
            except answer_rules.AnswerError as exc:
                web.flash(request, f"Ticket number: {exc}", "warn")
                return f"/calls/{call.call_id}/abandon"
        elif reason == "other":
            reason = field(form, "other").strip()
        elif reason not in turns.ABANDON_REASONS:
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
        call.end_early(reason, duplicate_of)
        warning = calls.store_call(web.desk, call)
        if warning:
            web.flash(request, warning, "warn")
        return None

    return _write_in_call(web, request, user, form, end_call_early)


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
    def change_answer(call: Call, step: Step, form: FormData) -> str | None:
        key = field(form, "key")
        visit = next((v for v in step.answered_route if v.key == key), None)
        if visit is None:
            web.flash(request, "That answer is no longer on the call's route.", "warn")
            return None
        raw = "done" if isinstance(visit.node, ActionNode) else field(form, "value")
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
            calls.end_and_store(web.desk, call, after)
        return None

    return _write_in_call(web, request, user, form, change_answer)


