"""The call commands: start, resume, list, show and ticket, and the live call they run
(the questions on the terminal or the answers file, the end of the call, the hand-off
offered, a closed terminal treated like Ctrl-C)."""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from wizard.base.errors import DiskFull, ExitStatus, TriageError
from wizard.base.safetext import spreadsheet_safe
from wizard.base.textrender import TextError
from wizard.calls.call import Call, check_location, end_label
from wizard.calls.engine import Step, StepKind
from wizard.flows import answer_rules
from wizard.flows.nodes import Category
from wizard.frontends.terminal.cli.common import _emit, _Stop, command_line
from wizard.frontends.terminal.environment import Environment
from wizard.frontends.terminal.wording import worded
from wizard.records.ticket import attached_packet
from wizard.service import calls, turns
from wizard.service.desk import Desk, describe_flowset

if TYPE_CHECKING:  # imported where needed: start-up stays quick
    from wizard.calls.replay import AnswersFile


def _finish(call: Call, step: Step, desk: Desk, env: Environment,
            send: bool | None = None) -> None:
    ending = calls.end_and_store(desk, call, step)
    out = env.stdout
    out.write(f"\nCall {ending.call_id} ended: {ending.status_label}\n")
    out.write(f"Category: {Category.label_of(ending.category)}\n")
    if ending.tier2:
        out.write(f"Escalate to: {ending.group}\n")
    for fmt, path in ending.tickets.items():
        out.write(f"Ticket ({fmt}): {path}\n")
    out.flush()
    if ending.store_warning:
        env.warn(ending.store_warning)
    if ending.tier2:
        _offer_handoff(call, desk, env, send)


def _offer_handoff(call: Call, desk: Desk, env: Environment, send: bool | None) -> None:
    """At the end of an escalated call: send it to its group if the organization file
    says where (asked on a terminal; ``--send`` / ``--no-send`` decide without one)."""
    where = calls.handoff_destination(call)
    if where is None or send is False:
        return
    group, kind = where
    if send is None:
        if not env.interactive:
            env.stdout.write(f"Not sent to {group}: use --send, or 'ipsec-triage send "
                             f"{call.call_id}'\n")
            return
        from wizard.frontends.terminal.prompts import confirm

        if not confirm(f"Send the escalation to {group} ({kind}) now?"):
            env.stdout.write(f"Not sent. Later: ipsec-triage send {call.call_id}\n")
            return
    try:
        outcome = calls.send_ended_call(desk, call)
    except TriageError as exc:
        env.warn(str(exc))
        return
    if outcome.status == "sent":
        env.stdout.write(outcome.line() + "\n")
    else:
        env.warn(outcome.line())


DRAIN_WAIT = 15.0
"""Seconds a finished ``start`` waits for the outbox retry it began (a call replayed
from an answers file ends in moments)."""


def _run_answers(call: Call, doc: AnswersFile, env: Environment, probes: bool,
                 resume_cmd: str) -> Step:
    from wizard.base.documents import DocumentError
    from wizard.calls.replay import run

    def progress(step: Step, value: str, source: str) -> None:
        label = answer_rules.label(step.visit.node, value)
        env.stdout.write(f"{step.number:3d}. {step.visit.key}: {label}"
                         f"{'' if source == 'answers file' else f' ({source})'}\n")

    try:
        return run(call, doc, probes=probes, on_step=progress, worded=worded)
    except DocumentError as exc:
        env.stdout.flush()
        raise TriageError(f"{exc}; call {call.call_id} is kept open: finish it with "
                        f"'{resume_cmd}'", ExitStatus.ANSWERS) from None


def _interactive(call: Call, env: Environment, args: argparse.Namespace, banner: str,
                 recap: bool = False) -> Step:
    from wizard.frontends.terminal.prompts import CallAbandoned, LiveCall, QuitCall
    from wizard.frontends.terminal.screen import Screen

    screen = Screen(env.console, env.stdout)  # rich's console made when first needed
    resume_cmd = command_line(env, args, "resume", call.call_id)
    live = LiveCall(call, screen, resume_command=resume_cmd, banner=banner)
    if recap:
        live.show_recap()
    gone = call.flowcharts_gone_lines()
    changed = call.changed_flowcharts()
    if gone:
        for line in gone:
            screen.line((line, "yellow"))
    elif changed:  # a call from before its flowcharts were kept
        screen.line((f"Note: flowcharts changed since this call started: "
                     f"{', '.join(changed)}. Answers still on the route are kept.", "yellow"))
    elif call.fs is not call.today:
        screen.line(("Note: the flowcharts changed since this call started; it goes on "
                     "with the ones it started with until it ends.", "yellow"))
    hangup = _on_hangup()
    try:
        return live.run()
    except DiskFull as exc:  # one line still, with the way back to the call
        raise TriageError(f"{exc}; resume it with: {resume_cmd}", exc.status) from None
    except CallAbandoned:
        env.stdout.write(f"\nCall {call.call_id} ended: {end_label(call.state.ended)}\n"
                         "No ticket: the call is kept for the record and the report.\n")
        env.stdout.flush()
        warning = calls.store_call(env.desk(args), call)
        if warning:
            env.warn(warning)
        raise _Stop(ExitStatus.OK) from None
    except (KeyboardInterrupt, EOFError, QuitCall) as exc:
        status = ExitStatus.OK if isinstance(exc, QuitCall) else ExitStatus.INTERRUPTED
        if turns.quit_call(call):
            message = f"\nCall {call.call_id} discarded: nothing was answered yet.\n"
        else:
            # the command on a line of its own: a long path is never cut inside it
            message = f"\nCall {call.call_id} saved. Resume it with:\n{resume_cmd}\n"
        with contextlib.suppress(OSError, ValueError):  # a closed terminal takes no text
            env.stdout.write(message)
            env.stdout.flush()
        raise _Stop(status) from None
    finally:
        hangup()


class _HangUp(KeyboardInterrupt):
    """The terminal was closed (SIGHUP) during a call."""


def _on_hangup() -> Callable[[], None]:
    """Treat a closed terminal like Ctrl-C while a call runs (the call is saved, or
    discarded if nothing was answered); returns the function that undoes it."""
    if not hasattr(signal, "SIGHUP"):  # Windows
        return lambda: None

    def raise_hangup(signum: int, frame: object) -> None:
        raise _HangUp()

    try:
        before = signal.signal(signal.SIGHUP, raise_hangup)
    except ValueError:  # not the main thread (tests driving main() in a thread)
        return lambda: None

    def restore() -> None:
        signal.signal(signal.SIGHUP, before)

    return restore


def cmd_start(args: argparse.Namespace, env: Environment) -> ExitStatus:
    desk = env.desk(args)
    org = desk.call_org()
    fs, source = desk.flowset(org)
    answers_path = Path(args.answers) if args.answers else None
    doc = None
    if answers_path:
        from wizard.base.documents import DocumentError
        from wizard.calls.replay import dry_run, load_answers

        try:
            doc = load_answers(answers_path, fs, org)
            dry_run(fs, doc)
        except DocumentError as exc:
            raise TriageError(f"{exc}; nothing was started", ExitStatus.ANSWERS) from None
    elif not env.interactive:
        raise TriageError("no terminal to ask questions on: use --answers FILE to replay a "
                          "call without prompts", ExitStatus.NO_TERMINAL)
    journals = desk.journals()
    wait_for_outbox = calls.retry_outbox_in_background(desk, journals, org)
    staffer = args.staffer or (doc.staffer if doc else None) or env.default_staffer()
    runs_on = args.on or (doc.on if doc else None) or "helpdesk"
    try:
        call = calls.start_call(desk, fs, org, staffer=staffer, runs_on=runs_on,
                                mode="answers_file" if answers_path else "interactive",
                                practice=args.practice, system=env.system,
                                checks=not args.no_checks)
    except calls.StafferRefused as exc:
        raise TriageError(f"--staffer: {exc}", exc.status) from None
    try:
        if answers_path:
            env.stdout.write(f"Call {call.call_id} · {describe_flowset(fs, source)}\n")
            assert doc is not None
            step = _run_answers(call, doc, env, probes=not args.no_checks,
                                resume_cmd=command_line(env, args, "resume", call.call_id))
        else:
            step = _interactive(call, env, args, describe_flowset(fs, source))
        _finish(call, step, desk, env, args.send)
    finally:
        call.close()
        # a retry begun at the start finishes before the program ends (a quick answers
        # file must not cut it off), but never holds the staffer long
        wait_for_outbox(DRAIN_WAIT)
    return ExitStatus.OK


def cmd_resume(args: argparse.Namespace, env: Environment) -> ExitStatus:
    desk = env.desk(args)
    org = desk.call_org()
    # which call: decided (or refused, exit 5) before anything else, terminal or not
    call_id = calls.resumable_call(desk, args.call_id)
    if not args.answers and not env.interactive:
        raise TriageError("no terminal to ask questions on: use --answers FILE to finish the "
                          "call without prompts", ExitStatus.NO_TERMINAL)
    fs, source = desk.flowset(org)
    doc = None
    if args.answers:  # the file is checked whole before the call is touched
        from wizard.base.documents import DocumentError
        from wizard.calls.replay import load_answers

        try:  # checked against the flowcharts the call goes on with
            doc = load_answers(Path(args.answers), calls.flowset_of_call(desk, fs, call_id),
                               org)
        except DocumentError as exc:
            raise TriageError(f"{exc}; call {call_id} is unchanged",
                              ExitStatus.ANSWERS) from None
    call = calls.resume_call(desk, fs, org, call_id, staffer=args.staffer,
                             system=env.system, checks=not args.no_checks)
    try:
        if doc is not None:
            step = _run_answers(call, doc, env, probes=not args.no_checks,
                                resume_cmd=command_line(env, args, "resume", call.call_id))
        else:
            step = _interactive(call, env, args, describe_flowset(call.fs, source),
                                recap=True)
        _finish(call, step, desk, env, args.send)
    finally:
        call.close()
    return ExitStatus.OK


def cmd_list(args: argparse.Namespace, env: Environment) -> ExitStatus:
    import csv
    import io

    from rich.table import Table
    from rich.text import Text

    desk = env.desk(args)
    rows = calls.list_calls(desk, open_only=args.open)
    if args.format == "json":
        env.stdout.write(json.dumps(rows, indent=2, ensure_ascii=False) + "\n")
        return ExitStatus.OK
    if args.format == "csv":
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=calls.LIST_FIELDS, lineterminator="\n")
        writer.writeheader()
        writer.writerows({k: spreadsheet_safe(v) for k, v in r.items()} for r in rows)
        env.stdout.write(buf.getvalue())
        return ExitStatus.OK
    if not rows:
        what = "No open calls" if args.open else "No calls recorded"
        env.stdout.write(f"{what} in {desk.journals().calls}\n")
        return ExitStatus.OK
    table = Table()
    table.add_column("Call", no_wrap=True)
    for header in ("Started", "Staffer", "Caller", "Computer", "Target", "Status",
                   "Category", "Tier 2 ticket"):
        table.add_column(header, overflow="fold")
    for r in rows:
        table.add_row(Text(r["call_id"]), Text(r["started"][:16].replace("T", " ")),
                      Text(r["staffer"]), Text(r["caller"]), Text(r["computer"]),
                      Text(r["target"]), Text(r["status"]),
                      Text(Category.label_of(r["category"]) if r["category"] else ""),
                      Text(r["ticket"]))
    env.console().print(table)
    return ExitStatus.OK


def cmd_show(args: argparse.Namespace, env: Environment) -> ExitStatus:
    from rich.table import Table
    from rich.text import Text

    desk = env.desk(args)
    journals, state = desk.load_call(args.call_id)
    if args.json:
        payload = calls.call_record(state)
        env.stdout.write(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
        return ExitStatus.OK
    call = calls.recorded_call(desk, state)
    fs = call.fs
    step = call.step()
    console = env.console()
    head = Text()
    head.append(f"Call {state.call_id}", style="bold")
    head.append(f" · {state.started} · staffer ")
    head.append(state.staffer)
    head.append(f" · {end_label(state.ended)}")
    console.print(head)
    table = Table("#", "Step", "Question", "Answer", "Check")
    questions: dict[str, str] = {}
    n = 0
    on_route = set()
    for v in step.route:
        if not v.answered:
            continue
        n += 1
        on_route.add(v.key)
        try:
            question = " ".join(_render_safe(v.node.text, step).split())
        except TextError:
            question = v.node.text
        questions[v.key] = question
        probe = state.probes.get(v.key)
        where = f" (ran on the {check_location(state.runs_on)})" if probe else ""
        rec = state.answers.get(v.key)
        by = calls.other_author(state, rec.by) if rec else ""
        table.add_row(str(n), v.key, Text(question),
                      Text(answer_rules.label(v.node, v.value or "")
                           + (f" (by {by})" if by else "")),
                      Text(f"{probe.status.value}: {probe.summary}{where}") if probe else "")
        for note, note_by in calls.notes_with_authors(state, v.key):
            table.add_row("", "", Text(f"note{f' by {note_by}' if note_by else ''}: {note}"),
                          "", "")
    console.print(table)
    waiting = step.visit.key if step.kind is StepKind.ASK and state.ended is None else None

    def question_of(key: str) -> str:
        """The question a step asked, in its words (the step id if it is gone)."""
        node_key = key.split("@", 1)[0]
        node = fs.node(node_key) if fs.has(node_key) else None
        return questions.get(key) or (" ".join(node.text.split()) if node else key)

    off_route = {k: t for k, t in state.notes.items() if k not in on_route and k != waiting}
    if off_route:
        console.print("Notes on steps no longer on the route:", style="bold")
        for key, texts in off_route.items():
            for note in texts:
                console.print(Text(f"  {question_of(key)}: {note}"))
    if state.changes:
        changes = Table("Question", "From", "To", "When", "By", title="Changed answers",
                        title_justify="left")
        for ch in state.changes:
            key = str(ch["key"])
            node_key = key.split("@", 1)[0]
            node = fs.node(node_key) if fs.has(node_key) else None
            question = question_of(key)

            def lab(value: object, node: object = node) -> Text:
                text = str(value)
                if node is not None:
                    text = answer_rules.label(node, text)  # type: ignore[arg-type]
                return Text(text)

            changes.add_row(Text(question), lab(ch.get("from", "")), lab(ch.get("to", "")),
                            str(ch.get("at", ""))[:19].replace("T", " "),
                            Text(str(ch.get("by") or state.staffer)))
        console.print(changes)
    for req in state.sensitive_requests:
        console.print(Text(f"Sensitive request at \"{question_of(str(req['step']))}\" "
                           f"({req['t'][:19]}): "
                           f"{req['what']}", style="yellow"))
    if waiting is not None:
        try:
            nxt = " ".join(_render_safe(step.visit.node.text, step).split())
        except TextError:
            nxt = step.visit.node.text
        console.print(Text(f"Next question: {nxt}"))
        for note in state.notes.get(waiting, []):  # taken at it before the call stopped
            console.print(Text(f"  note: {note}"))
    if state.ended:
        for fmt in ("md", "txt"):  # the call's own files (never a path the journal names)
            path = journals.ticket_path(state.call_id, fmt)
            if (state.ended.get("tickets") or {}).get(fmt) and path.is_file():
                console.print(Text(f"Ticket ({fmt}): {path}"))
    for h in state.handoffs:
        console.print(Text(calls.handoff_line(h)))
    packet = attached_packet(state.packets)
    if packet is not None:
        console.print(Text(f"Evidence packet: {packet['name']} ({len(packet['files'])} "
                           f"evidence files{', redacted' if packet['redacted'] else ''})"))
        for f in packet["findings"]:
            console.print(Text(f"  For Tier 2: {f.get('peer')}: {f.get('mode')}: "
                               f"{f.get('failure_reason')} ({f.get('count')}x); likely "
                               f"cause ({f.get('sure')}): {f.get('likely_cause')}"))
    for line in call.flowcharts_gone_lines():
        console.print(Text(line, style="yellow"))
    return ExitStatus.OK


def _render_safe(text: str, step: Step) -> str:
    from wizard.base.textrender import render

    return render(text, step.context)


def cmd_ticket(args: argparse.Namespace, env: Environment) -> ExitStatus:
    text = calls.ticket_text(env.desk(args), args.call_id, args.format,
                             resume_hint=lambda cid: command_line(env, args, "resume", cid))
    _emit(env, text, args.output, "Ticket")
    return ExitStatus.OK
