"""``ipsec-triage``: the command line. Subcommands: start (default), resume, list, show,
ticket, lint, render, schema, probes, ...; ``serve`` runs the web front end under uvicorn
(named by its import string, never imported here) and ``users`` manages its accounts.
Exit codes: :class:`wizard.base.errors.ExitStatus`."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import traceback
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from wizard import __version__
from wizard.base.errors import DiskFull, ExitStatus, TriageError
from wizard.base.safetext import spreadsheet_safe
from wizard.base.textrender import TextError
from wizard.calls.call import Call, check_location, end_label
from wizard.calls.engine import Step, StepKind
from wizard.calls.journal import JournalError, atomic_write
from wizard.flows import answers as answer_rules
from wizard.flows.nodes import Category
from wizard.frontends.terminal.environment import Environment
from wizard.records.ticket import FORMATS, attached_packet
from wizard.service import calls
from wizard.service.desk import Desk, describe_flowset

if TYPE_CHECKING:  # imported where needed: start-up stays quick
    from types import ModuleType

    from wizard.calls.replay import AnswersFile


COMMANDS = ("start", "resume", "list", "show", "ticket", "lint", "render", "schema", "probes",
            "halve", "collect", "collector", "attach", "analyze", "report", "sync", "store",
            "completion", "send", "serve", "users")


def _reporting() -> ModuleType:
    """The report, sync and store commands (the report code is loaded for them only)."""
    from wizard.frontends.terminal import reporting

    return reporting


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(ExitStatus.USAGE, f"ipsec-triage: error: {message} (see --help)\n")


WEB_APP = "wizard.frontends.web.asgi:app_from_environ"
"""The web front end, as uvicorn imports it in each worker (``serve``)."""

GLOBAL_OPTIONS = ("--data-dir", "--flowcharts", "--org", "--templates")


def _add_global_options(parser: argparse.ArgumentParser, default: object) -> None:
    """The options every command takes. They may come before or after the command: the
    main parser sets them (default None); a command's parser only overrides them when
    given there (its default is SUPPRESS)."""
    parser.add_argument("--data-dir", metavar="DIR", default=default,
                        help="where call records live (default: the user data folder, or "
                             "$IPSEC_TRIAGE_DATA)")
    parser.add_argument("--flowcharts", metavar="DIR", default=default,
                        help="flowchart folder (default: $IPSEC_TRIAGE_FLOWCHARTS, then "
                             "flowcharts_dir in the organization file, then the shipped set)")
    parser.add_argument("--org", metavar="FILE", default=default,
                        help="organization file (default: $IPSEC_TRIAGE_ORG, or org.yaml in "
                             "the data folder)")
    parser.add_argument("--templates", metavar="DIR", default=default,
                        help="folder with ticket templates that override the shipped ones")


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The command line's parser; given a command, the parser for that command only
    (each command's options are built when it runs, not before every command)."""

    def wanted(name: str) -> bool:
        return command is None or name == command

    common = _Parser(add_help=False)
    _add_global_options(common, argparse.SUPPRESS)

    parser = _Parser(prog="ipsec-triage",
                     description="Tier-1 help-desk wizard for IPsec and isolation problems.",
                     epilog="Without a command, 'start' runs. Exit codes: 0 done, 2 usage, "
                            "3 flowchart problems, 4 answers file, 5 no such call, "
                            "6 no terminal, 7 organization file or template, "
                            "8 call store unreachable, 130 interrupted.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    _add_global_options(parser, None)
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)

    def add(name: str, help_text: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, parents=[common], help=help_text, description=help_text)

    for name, what in (("start", "start a new call"),
                       ("resume", "continue a call where it stopped")):
        if not wanted(name):
            continue
        p = add(name, what)
        p.add_argument("--staffer", help="your name (default: $IPSEC_TRIAGE_STAFFER or login)")
        p.add_argument("--answers", metavar="FILE",
                       help="answer from a YAML/JSON file instead of prompting")
        p.add_argument("--no-checks", action="store_true",
                       help="do not run automatic checks")
        p.add_argument("--send", action=argparse.BooleanOptionalAction, default=None,
                       help="hand an escalated call to its Tier 2 group at the end "
                            "(default: ask on a terminal, do not send without one)")
        if name == "start":
            p.add_argument("--practice", action="store_true",
                           help="a practice call (training): kept out of reports unless "
                                "they ask for practice calls")
            p.add_argument("--on", choices=("helpdesk", "caller"), default=None,
                           help="where this wizard runs: the help desk's computer (default) "
                                "or the caller's; checks marked for the caller's computer run "
                                "only there")
        else:
            p.add_argument("call_id", nargs="?", default=None,
                           help="call id or a unique prefix (default: the newest open call)")
    if wanted("list"):
        lst = add("list", "list recorded calls")
        lst.add_argument("--open", action="store_true", help="only calls that have not ended")
        lst.add_argument("--format", choices=("table", "csv", "json"), default="table",
                         help="table (default), or CSV / JSON for other tools")
    if wanted("show"):
        show = add("show", "show one recorded call")
        show.add_argument("call_id", help="call id, a unique prefix, or 'last'")
        show.add_argument("--json", action="store_true", help="print the record as JSON")
    if wanted("ticket"):
        ticket = add("ticket", "print (re-render) the ticket of an ended call")
        ticket.add_argument("call_id", help="call id, a unique prefix, or 'last'")
        ticket.add_argument("--format", choices=sorted(FORMATS), default="md")
        ticket.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead")
    if wanted("lint"):
        lint_p = add("lint", "check flowcharts for mistakes")
        lint_p.add_argument("directory", nargs="?", help="flowchart folder to check")
    if wanted("render"):
        render = add("render", "print flowcharts as a Mermaid diagram")
        render.add_argument("charts", nargs="*", help="chart ids (default: all)")
        render.add_argument("--call", metavar="ID", help="highlight this call's route")
        render.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead")
    if wanted("schema"):
        schema = add("schema", "print the flowchart JSON Schema (for editors)")
        schema.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead")
    if wanted("probes"):
        add("probes", "list the automatic checks")
    if wanted("halve"):
        halve_p = add("halve", "find the service that breaks the network, by halving the "
                               "service list over restarts")
        src = halve_p.add_mutually_exclusive_group()
        src.add_argument("--services", metavar="FILE",
                         help="service names, one per line (e.g. pasted from msconfig)")
        src.add_argument("--from-system", action="store_true",
                         help="the services of this computer (Windows auto-start services, "
                              "or running systemd services)")
        src.add_argument("--resume", metavar="ID", nargs="?", const="",
                         help="continue a halving session (the newest open one if no id)")
        halve_p.add_argument("--noisy", metavar="NAME", action="append",
                             help="a service to keep apart (default: Error Reporting Service)")
        halve_p.add_argument("--label", default="", help="what is being tested, for the record")
    if wanted("collect"):
        col = add("collect", "collect the Tier 2 evidence on this computer into one packet "
                             "(zip) with the ticket")
        col.add_argument("--call", metavar="ID", help="the call to include (ticket and record); "
                                                      "'last' for the newest")
        col.add_argument("--computer", metavar="NAME",
                         help="name for the files (default: the call's caller machine, or this "
                              "computer's name)")
        col.add_argument("--target", metavar="HOST", help="destination computer to test")
        col.add_argument("--redact", action="store_true",
                         help="replace addresses, host names, user names and keywords; the map "
                              "is written next to the packet, not inside")
        col.add_argument("--yes", action="store_true",
                         help="make the logging changes listed without asking (they are undone "
                              "at the end)")
        col.add_argument("--no-changes", action="store_true",
                         help="change nothing on this computer (less evidence)")
        col.add_argument("-o", "--output", metavar="DIR", default=".",
                         help="folder for the packet (default: the current folder)")
    if wanted("collector"):
        ctr = add("collector", "write the PowerShell collector for a caller's Windows 10/11 "
                               "or Server 2016+ (no Python needed there): it collects the "
                               "Tier 2 evidence into one zip to send back")
        ctr.add_argument("--call", metavar="ID", help="the call it is for ('last' for the "
                                                      "newest): its computer and target")
        ctr.add_argument("--computer", metavar="NAME", help="the caller's computer (default: "
                                                            "the call's)")
        ctr.add_argument("--target", metavar="HOST", help="destination computer to test "
                                                          "(default: the call's)")
        ctr.add_argument("--port", metavar="N", type=int, action="append", default=[],
                         help="the application's TCP port, tested besides 445 (repeatable)")
        ctr.add_argument("-o", "--output", metavar="FILE",
                         help="where to write the script (default: its own name in the "
                              "current folder; '-' for standard output)")
    if wanted("attach"):
        att = add("attach", "take an evidence packet (of 'collect' or the collector script) "
                            "into a call: checked, kept with the call, analysed for Tier 2")
        att.add_argument("call_id", help="call id, a unique prefix, or 'last'")
        att.add_argument("packet", metavar="PACKET.zip", help="the packet the caller sent")
        att.add_argument("--redact", action="store_true",
                         help="redact it on import (the map is kept beside it, not inside)")
    if wanted("analyze"):
        ana = add("analyze", "read a packet or exported logs for Tier 2: failed IPsec "
                             "negotiations per peer, their error codes, the likely cause")
        ana.add_argument("files", nargs="+", metavar="PACKET|FILE",
                         help="packets (zip), event exports (wevtutil /f:xml, Get-WinEvent "
                              "ToXml), netsh wfp show netevents, netsh advfirewall monitor "
                              "show mmsa, <CompName>_ipsec_547_events.txt")
        ana.add_argument("--format", choices=("text", "json"), default="text",
                         help="text (default) or the findings as JSON")
    if wanted("report"):
        _reporting().add_report_arguments(add("report", "call classification report (volume and "
                                                  "nature of the calls)"))
    if wanted("sync"):
        add("sync", "store calls of this computer in the call store "
                    "($IPSEC_TRIAGE_STORE, default SQLite in the data folder) and retry the "
                    "hand-offs waiting in the outbox")
    if wanted("send"):
        snd = add("send", "hand an ended call to Tier 2 (e-mail, ServiceNow, Jira, Zendesk or "
                          "webhook, as the organization file says for the group)")
        snd.add_argument("call_id", help="call id, a unique prefix, or 'last'")
        snd.add_argument("--to", metavar="GROUP",
                         help="Tier 2 group (default: the call's own group)")
        snd.add_argument("--packet", metavar="FILE",
                         help="escalation packet to attach (default: the newest recorded for "
                              "the call by 'collect --call')")
        snd.add_argument("--again", action="store_true",
                         help="send even if the call was already handed to this group")
    if wanted("store"):
        _reporting().add_store_arguments(add("store", "the call store's schema: its revision, or "
                                                "upgrade it"))
    if wanted("serve"):
        srv = add("serve", "the help desk in the browser: serve the wizard to the team (log in "
                           "with the accounts of 'ipsec-triage users')")
        srv.add_argument("--host", default="127.0.0.1",
                         help="address to listen on (default: 127.0.0.1, this computer only)")
        srv.add_argument("--port", type=int, default=8080, help="port (default: 8080)")
        srv.add_argument("--workers", type=int, default=1, help="worker processes (default: 1)")
        srv.add_argument("--https", action="store_true",
                         help="the desk is reached over TLS (a reverse proxy): session cookies "
                              "are only sent over HTTPS")
        srv.add_argument("--proxy", metavar="ADDRESS",
                         help="address of the reverse proxy whose X-Forwarded-For and "
                              "X-Forwarded-Proto headers are trusted")
        srv.add_argument("--sso-header", metavar="HEADER",
                         help="the single-sign-on proxy's header naming the signed-in user "
                              "(e.g. X-Remote-User; the user must be in 'users list')")
        srv.add_argument("--sso-from", metavar="ADDRESSES",
                         help="addresses or networks (comma-separated) the --sso-header is "
                              "trusted from: the proxy's own (ignored from any other)")
        srv.add_argument("--idle-timeout", metavar="MINUTES", default="30",
                         help="a session ends after this many minutes without a page "
                              "(default: 30)")
        srv.add_argument("--no-checks", action="store_true",
                         help="do not run automatic checks: every check is asked")
    if wanted("users"):
        usr = add("users", "the accounts of the help desk in the browser")
        usr.add_argument("action", choices=("add", "disable", "passwd", "list"))
        usr.add_argument("name", nargs="?", help="user name")
        usr.add_argument("--role", choices=("staffer", "lead", "admin"), default="staffer",
                         help="staffer (own calls, default), lead (every call, the report) or "
                              "admin")
        usr.add_argument("--password-stdin", action="store_true",
                         help="read the password from the first line of standard input")
    if wanted("completion"):
        comp = add("completion", "print the shell code for tab completion "
                                 "(e.g. eval \"$(ipsec-triage completion bash)\" in ~/.bashrc)")
        comp.add_argument("shell", choices=("bash", "zsh"), help="your shell")
    return parser


def _command_at(args: Sequence[str]) -> int:
    """Where the command is (or would be) in ``args``: after any global options."""
    i = 0
    while i < len(args):
        arg = args[i]
        if arg in GLOBAL_OPTIONS:
            i += 2
            continue
        if arg.split("=", 1)[0] in GLOBAL_OPTIONS:
            i += 1
            continue
        break
    return i


def _with_default_command(argv: Sequence[str]) -> list[str]:
    """Insert ``start`` where the command would be, after any global options."""
    args = list(argv)
    i = _command_at(args)
    if i >= len(args) or (args[i] not in COMMANDS and args[i] not in ("-h", "--help",
                                                                      "--version")):
        args.insert(min(i, len(args)), "start")
    return args


# -- helpers ---------------------------------------------------------------------------


def _finish(call: Call, step: Step, desk: Desk, env: Environment,
            send: bool | None = None) -> None:
    ending = calls.finish_call(desk, call, step)
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


def program(env: Environment) -> list[str]:
    """How to run this program again, as typed in a shell: ``ipsec-triage`` when that
    is what PATH finds, else the installed script's full path, else ``python -m wizard``
    with this interpreter."""
    argv0 = env.argv0
    name = Path(argv0).name
    if name in ("__main__.py", "-m", "-c", "") or name.startswith("__main__"):
        return [sys.executable, "-m", "wizard"]
    script = Path(argv0)
    if not script.is_file():
        found = shutil.which(argv0, path=env.environ.get("PATH"))
        if found is None:
            return [sys.executable, "-m", "wizard"]
        script = Path(found)
    on_path = shutil.which(script.name, path=env.environ.get("PATH"))
    if on_path and Path(on_path).resolve() == script.resolve():
        return [script.name]
    return [str(script.resolve())]


def command_line(env: Environment, args: argparse.Namespace, *words: str) -> str:
    """A command to type, with the global options of this run (so it finds the same
    calls, flowcharts and organization file), quoted for the shell."""
    parts = [*program(env), *words[:1]]
    for name in ("data_dir", "flowcharts", "org", "templates"):
        value = getattr(args, name, None)
        if value:
            parts += [f"--{name.replace('_', '-')}", str(Path(value).expanduser().resolve())]
    parts += words[1:]
    if os.name == "nt":
        return subprocess.list2cmdline(parts)
    return shlex.join(parts)


def _run_answers(call: Call, doc: AnswersFile, env: Environment, probes: bool,
                 resume_cmd: str) -> Step:
    from wizard.base.documents import DocumentError
    from wizard.calls.replay import run

    def progress(step: Step, value: str, source: str) -> None:
        label = answer_rules.label(step.visit.node, value)
        env.stdout.write(f"{step.number:3d}. {step.visit.key}: {label}"
                         f"{'' if source == 'answers file' else f' ({source})'}\n")

    try:
        return run(call, doc, probes=probes, on_step=progress)
    except DocumentError as exc:
        env.stdout.flush()
        raise TriageError(f"{exc}; call {call.call_id} is kept open: finish it with "
                        f"'{resume_cmd}'", ExitStatus.ANSWERS) from None


def _interactive(call: Call, env: Environment, args: argparse.Namespace, banner: str,
                 recap: bool = False) -> Step:
    from wizard.frontends.terminal.prompts import CallAbandoned, Frontend, QuitCall
    from wizard.frontends.terminal.screen import Screen

    screen = Screen(env.console, env.stdout)  # rich's console made when first needed
    resume_cmd = command_line(env, args, "resume", call.call_id)
    frontend = Frontend(call, screen, resume_command=resume_cmd, banner=banner)
    if recap:
        frontend.show_recap()
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
        return frontend.run()
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
        if call.is_empty and not call.state.resumed and call.discard():
            message = f"\nCall {call.call_id} discarded: nothing was answered yet.\n"
        else:
            call.interrupted()
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


class _Stop(Exception):
    def __init__(self, status: ExitStatus) -> None:
        self.status = status


# -- commands --------------------------------------------------------------------------


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
    call = calls.start_call(desk, fs, org, staffer=staffer, runs_on=runs_on,
                            mode="answers_file" if answers_path else "interactive",
                            practice=args.practice, system=env.system,
                            checks=not args.no_checks)
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


def _emit(env: Environment, text: str, output: str | None, what: str) -> None:
    """Print ``text``, or write it atomically to ``output`` and say so."""
    if output:
        atomic_write(Path(output), text)
        env.stdout.write(f"{what} written to {output}\n")
    else:
        env.stdout.write(text)


def cmd_lint(args: argparse.Namespace, env: Environment) -> ExitStatus:
    from wizard.service.flows import lint_flowcharts

    result = lint_flowcharts(env.desk(args), args.directory)
    for line in result.lines:
        env.stdout.write(f"{line}\n")
    return ExitStatus.FLOWCHART if result.failed else ExitStatus.OK


def cmd_render(args: argparse.Namespace, env: Environment) -> ExitStatus:
    from wizard.service.flows import diagram

    _emit(env, diagram(env.desk(args), args.charts, args.call), args.output, "Diagram")
    return ExitStatus.OK


def cmd_schema(args: argparse.Namespace, env: Environment) -> ExitStatus:
    from wizard.service.flows import flowchart_schema

    _emit(env, flowchart_schema(), args.output, "Schema")
    return ExitStatus.OK


def cmd_probes(args: argparse.Namespace, env: Environment) -> ExitStatus:
    from rich.table import Table

    from wizard.checks import PROBES

    table = Table("Probe", "Arguments", "Platforms", "What it checks")
    for spec in PROBES.values():
        table.add_row(spec.name, ", ".join(spec.params), ", ".join(spec.platforms),
                      spec.description)
    env.console().print(table)
    return ExitStatus.OK


def cmd_halve(args: argparse.Namespace, env: Environment) -> ExitStatus:
    from wizard.frontends.terminal.prompts import QuitCall, run_halving
    from wizard.halving import session as halve
    from wizard.halving.search import DEFAULT_NOISY, HalvingError

    data_dir = env.desk(args).data_dir
    if not env.interactive:
        raise TriageError("no terminal to ask questions on: halving needs a terminal",
                        ExitStatus.NO_TERMINAL)
    try:
        if args.resume is not None:
            session, journal = halve.load(data_dir, args.resume or None)
        else:
            if args.services:
                path = Path(args.services)
                try:
                    services = halve.parse_service_list(path.read_text(encoding="utf-8"))
                except (OSError, UnicodeDecodeError) as exc:
                    raise TriageError(f"{path}: cannot read the service list: {exc}",
                                    ExitStatus.USAGE) from None
            elif args.from_system:
                services = halve.services_from_system(env.system)
            else:
                raise TriageError("give the services: --services FILE, --from-system, or "
                                "--resume", ExitStatus.USAGE)
            session, journal = halve.start(data_dir, services,
                                           noisy=args.noisy or DEFAULT_NOISY, label=args.label)
    except JournalError as exc:
        raise TriageError(str(exc), ExitStatus.NOT_FOUND) from None
    except HalvingError as exc:
        raise TriageError(str(exc), ExitStatus.USAGE) from None
    try:
        run_halving(session, journal, env.console())
    except (KeyboardInterrupt, EOFError, QuitCall) as exc:
        env.stdout.write(f"\nHalving session {session.session_id} saved. After the restart: "
                         f"ipsec-triage halve --resume {session.session_id}\n")
        status = ExitStatus.OK if isinstance(exc, QuitCall) else ExitStatus.INTERRUPTED
        raise _Stop(status) from None
    finally:
        journal.close()
    return ExitStatus.OK


def cmd_collect(args: argparse.Namespace, env: Environment) -> ExitStatus:
    from wizard.evidence.packet import is_admin
    from wizard.service.evidence import make_packet, plan_packet

    desk = env.desk(args)
    plan = plan_packet(desk, call_ref=args.call, computer=args.computer, target=args.target,
                       out_dir=Path(args.output), redact=args.redact, system=env.system)
    if plan.warning:
        env.warn(plan.warning)
    if is_admin() is False:
        env.warn("not running as administrator: some evidence (event logs, IPsec state) "
                 "will be missing; run it again as an administrator for the full set")
    changes = plan.changes
    make_changes = bool(changes) and not args.no_changes
    if changes and make_changes and not args.yes:
        env.stdout.write("To capture the logs Tier 2 needs, these changes are made on this "
                         "computer and undone at the end:\n")
        for ch in changes:
            env.stdout.write(f"  - {ch.what}; to undo by hand: {ch.undo_text}\n")
        if env.interactive:
            from wizard.frontends.terminal.prompts import confirm

            make_changes = confirm("Make these changes (undone at the end)?")
        else:
            make_changes = False
            env.stdout.write("No terminal to confirm: collecting without changes "
                             "(use --yes to allow them).\n")

    def progress(name: str) -> None:
        env.stdout.write(f"collecting: {name}\n")
        env.stdout.flush()

    path, ev = make_packet(desk, plan, make_changes=make_changes, on_progress=progress)
    errors = [e for e in ev.entries if e.get("error")]
    env.stdout.write(f"Packet: {path}\n{len(ev.files)} files collected, "
                     f"{len(errors)} with errors (see manifest.json)\n")
    for change in ev.changes:
        if change["applied"] and not change["undone"]:
            env.warn(f"could not undo '{change['what']}': {change['undo']}")
    if args.redact:
        env.stdout.write(f"Redaction map (keep it private, not in the packet): "
                         f"{path.name}.redaction-map.json\n")
    return ExitStatus.OK


def cmd_collector(args: argparse.Namespace, env: Environment) -> ExitStatus:
    from wizard.service.evidence import RUN_AS_ADMIN, collector_script

    script = collector_script(env.desk(args), call_ref=args.call, computer=args.computer,
                              target=args.target, ports=tuple(args.port))
    if args.output == "-":
        env.stdout.write(script.text)
        return ExitStatus.OK
    path = Path(args.output or script.name).expanduser()
    try:
        atomic_write(path, script.text)
    except OSError as exc:
        raise TriageError(f"cannot write the collector script {path}: "
                          f"{exc.strerror or exc}", ExitStatus.USAGE) from None
    env.stdout.write(f"Collector script: {path}\n"
                     + RUN_AS_ADMIN.format(name=path.name) + "\n"
                     "It writes one zip and sends nothing: the caller sends it back; take it "
                     f"into the call with: ipsec-triage attach {script.call_id or 'ID'} "
                     "PACKET.zip\n")
    return ExitStatus.OK


def cmd_attach(args: argparse.Namespace, env: Environment) -> ExitStatus:
    from wizard.service.evidence import attach_packet

    done = attach_packet(env.desk(args), args.call_id, Path(args.packet).expanduser(),
                         redact=args.redact, by=env.default_staffer())
    evidence = [n for n, _ in done.members if n.startswith("evidence/")]
    env.stdout.write(f"Packet kept with the call: {done.path}\n{len(evidence)} evidence "
                     f"files{' (redacted; map beside it)' if done.redacted else ''}\n")
    for f in done.findings:
        env.stdout.write(f"For Tier 2: {f['peer']}: {f['failure_reason']} ({f['count']}x): "
                         f"{f['likely_cause']}\n")
    for path in done.tickets:
        env.stdout.write(f"Ticket written again: {path}\n")
    return ExitStatus.OK


def cmd_analyze(args: argparse.Namespace, env: Environment) -> ExitStatus:
    from wizard.evidence.analysis import analyze

    report = analyze([Path(f).expanduser() for f in args.files])
    if args.format == "json":
        env.stdout.write(json.dumps(report.data(), indent=2, ensure_ascii=False) + "\n")
    else:
        env.stdout.write(report.text())
    return ExitStatus.OK


def cmd_completion(args: argparse.Namespace, env: Environment) -> ExitStatus:
    # argcomplete: the well-kept completion library for argparse programs (bash and zsh,
    # completes commands, options and choices from this very parser)
    from argcomplete.shell_integration import shellcode

    env.stdout.write(shellcode(["ipsec-triage"], shell=args.shell))
    return ExitStatus.OK


def cmd_send(args: argparse.Namespace, env: Environment) -> ExitStatus:
    packet = Path(args.packet).expanduser() if args.packet else None
    outcome = calls.send(env.desk(args), args.call_id, group=args.to, packet=packet,
                         again=args.again)
    if outcome.status == "sent":
        env.stdout.write(outcome.line() + "\n")
        return ExitStatus.OK
    env.error(outcome.line())
    return ExitStatus.HANDOFF


def cmd_sync(args: argparse.Namespace, env: Environment) -> ExitStatus:
    """Retry the hand-offs waiting in the outbox (one line each), then store the calls."""
    outcomes, waiting = calls.retry_outbox(env.desk(args))
    for outcome in outcomes:
        env.stdout.write(outcome.line() + "\n")
    if waiting:
        env.stdout.write(f"{waiting} hand-off(s) still waiting in the outbox\n")
    return ExitStatus(_reporting().cmd_sync(args, env))


def cmd_serve(args: argparse.Namespace, env: Environment) -> ExitStatus:
    """Run the help desk in the browser under uvicorn until stopped. The web front end
    is named to uvicorn by its import string (each worker process builds the app from
    the settings passed in its environment): the command line never imports it."""
    import uvicorn

    from wizard.base.validate import networks
    from wizard.service.accounts import Accounts

    desk = env.desk(args)
    accounts = Accounts(desk.data_dir)
    if not accounts.load():
        raise TriageError(f"no users yet in {accounts.path}: add one first with "
                          "'ipsec-triage users add NAME --role admin'", ExitStatus.CONFIG)
    os.environ["IPSEC_TRIAGE_DATA"] = str(desk.data_dir.resolve())
    for name, value in (("IPSEC_TRIAGE_ORG", desk.org_file),
                        ("IPSEC_TRIAGE_FLOWCHARTS", desk.flowcharts),
                        ("IPSEC_TRIAGE_TEMPLATES", desk.templates)):
        if value is not None:
            os.environ[name] = str(value.resolve())
    os.environ["IPSEC_TRIAGE_WEB_HTTPS"] = "1" if args.https else "0"
    os.environ["IPSEC_TRIAGE_WEB_CHECKS"] = "0" if args.no_checks else "1"
    if bool(args.sso_header) != bool(args.sso_from):
        raise TriageError("serve: --sso-header and --sso-from go together (the header, "
                          "and the addresses of the proxy that sets it)", ExitStatus.USAGE)
    for option, value in (("--proxy", args.proxy), ("--sso-from", args.sso_from)):
        try:
            networks(value or "")
        except ValueError as exc:
            raise TriageError(f"serve {option}: {exc}", ExitStatus.USAGE) from None
    from wizard.service.sessions import idle_minutes

    idle_minutes(args.idle_timeout, "serve --idle-timeout", ExitStatus.USAGE)
    os.environ["IPSEC_TRIAGE_WEB_IDLE_TIMEOUT"] = args.idle_timeout
    for name, value in (("IPSEC_TRIAGE_WEB_PROXY", args.proxy),
                        ("IPSEC_TRIAGE_WEB_SSO_HEADER", args.sso_header),
                        ("IPSEC_TRIAGE_WEB_SSO_FROM", args.sso_from)):
        os.environ[name] = value or ""
    desk.flowset(desk.call_org())  # flowchart problems are told before the server starts
    env.stdout.write(f"ipsec-triage: the help desk on http://{args.host}:{args.port}/ "
                     f"(data {desk.data_dir}; Ctrl-C stops)\n")
    env.stdout.flush()
    uvicorn.run(WEB_APP, factory=True, host=args.host, port=args.port,
                workers=args.workers, proxy_headers=False, log_level="info",
                server_header=False)
    return ExitStatus.OK


def _new_password(args: argparse.Namespace, env: Environment) -> str:
    if args.password_stdin:
        return env.stdin.readline().rstrip("\r\n")
    if not env.interactive:
        raise TriageError("no terminal to ask for the password on: use --password-stdin",
                          ExitStatus.NO_TERMINAL)
    import getpass

    first = getpass.getpass(f"New password for {args.name}: ")
    if getpass.getpass("The same again: ") != first:
        raise TriageError("the two passwords differ; nothing was changed", ExitStatus.USAGE)
    return first


def cmd_users(args: argparse.Namespace, env: Environment) -> ExitStatus:
    """``users add|disable|passwd|list``: the accounts of the help desk in the browser."""
    from wizard.service.accounts import Accounts

    accounts = Accounts(env.desk(args).data_dir)
    out = env.stdout
    if args.action == "list":
        for user in sorted(accounts.load().values(), key=lambda u: u.name):
            out.write(f"{user.name}\t{user.role}\t"
                      f"{'disabled' if user.disabled else 'active'}\n")
        return ExitStatus.OK
    if not args.name:
        raise TriageError(f"users {args.action}: name the user", ExitStatus.USAGE)
    if args.action == "add":
        user = accounts.add(args.name, args.role, _new_password(args, env))
        out.write(f"user {user.name} added ({user.role})\n")
    elif args.action == "passwd":
        user = accounts.passwd(args.name, _new_password(args, env))
        out.write(f"password of {user.name} set; their open sessions end\n")
    else:
        user = accounts.disable(args.name)
        out.write(f"user {user.name} disabled; their open sessions end\n")
    return ExitStatus.OK


HANDLERS = {
    "start": cmd_start, "resume": cmd_resume, "list": cmd_list, "show": cmd_show,
    "ticket": cmd_ticket, "lint": cmd_lint, "render": cmd_render, "schema": cmd_schema,
    "probes": cmd_probes, "halve": cmd_halve, "collect": cmd_collect,
    "collector": cmd_collector, "attach": cmd_attach, "analyze": cmd_analyze,
    "report": lambda args, env: _reporting().cmd_report(args, env), "sync": cmd_sync,
    "store": lambda args, env: _reporting().cmd_store(args, env),
    "completion": cmd_completion, "send": cmd_send, "serve": cmd_serve, "users": cmd_users,
}


def _crash_report(env: Environment, args: argparse.Namespace | None) -> str:
    try:
        data_dir = env.desk(args).data_dir
        from wizard.base.privacy import private_dir

        private_dir(data_dir)
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        details = traceback.format_exc()
        for n in range(1, 1000):  # crashes in the same second each keep their own log
            path = data_dir / (f"crash-{stamp}.log" if n == 1 else f"crash-{stamp}-{n}.log")
            try:
                fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
            except FileExistsError:
                continue
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(details)
            return str(path)
        return "(could not be saved)"
    except OSError:
        return "(could not be saved)"


def main(argv: Sequence[str] | None = None, env: Environment | None = None) -> int:
    env = env or Environment()
    words = _with_default_command(sys.argv[1:] if argv is None else argv)
    completing = "_ARGCOMPLETE" in env.environ  # the shell asks for completions (tab)
    at = _command_at(words)
    parser = build_parser(None if completing or at >= len(words) or words[at] not in COMMANDS
                          else words[at])
    if completing:
        import argcomplete

        argcomplete.autocomplete(parser)
    args: argparse.Namespace | None = None
    try:
        args = parser.parse_args(words)
        if hasattr(args, "data_dir"):
            from wizard.base.privacy import tighten

            for warning in tighten(env.desk(args).data_dir):
                env.warn(warning)
        return int(HANDLERS[args.command](args, env))
    except SystemExit as exc:
        return int(exc.code) if isinstance(exc.code, int) else ExitStatus.USAGE
    except _Stop as exc:
        return int(exc.status)
    except TriageError as exc:  # the one place the error family becomes a message
        for line in getattr(exc, "problems", ()):  # flowchart problems, one line each
            env.stderr.write(f"{line}\n")
        env.error(str(exc))
        return int(exc.status)
    except KeyboardInterrupt:
        env.stderr.write("\nInterrupted.\n")
        return int(ExitStatus.INTERRUPTED)
    except OSError as exc:
        name = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        env.error(f"{name}{exc.strerror or exc}")
        return int(ExitStatus.ERROR)
    except Exception as exc:  # a bug: keep the details, show one line
        where = _crash_report(env, args)
        env.error(f"internal error ({type(exc).__name__}: {exc}); details saved in {where}")
        return int(ExitStatus.ERROR)
