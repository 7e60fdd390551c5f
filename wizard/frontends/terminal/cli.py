"""``ipsec-triage``: the command line. Subcommands: start (default), resume, list, show,
ticket, lint, render, schema, probes. Exit codes: :class:`wizard.base.errors.ExitStatus`."""

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
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from wizard import __version__
from wizard.base.environment import Environment
from wizard.base.errors import ExitStatus, TriageError
from wizard.base.resources import builtin_dir
from wizard.base.safetext import plain
from wizard.base.textrender import TextError
from wizard.base.yamlio import DocumentError
from wizard.calls.call import Call, check_location, end_label
from wizard.calls.engine import Engine, Step, StepKind
from wizard.calls.journal import CallState, CallStore, JournalError, atomic_write
from wizard.flows import answers as answer_rules
from wizard.flows.flowset import FlowchartError, FlowSet, lint, load_flowset, route_count
from wizard.records import report
from wizard.records.ending import end_call
from wizard.records.ticket import FORMATS, TicketError, render_tickets

if TYPE_CHECKING:  # imported where needed: start-up stays quick
    import threading

    from rich.console import Console

    from wizard.config.organization import OrgConfig

COMMANDS = ("start", "resume", "list", "show", "ticket", "lint", "render", "schema", "probes",
            "halve", "collect", "report", "sync", "store", "completion", "send")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(ExitStatus.USAGE, f"ipsec-triage: error: {message} (see --help)\n")


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


def build_parser() -> argparse.ArgumentParser:
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

    start = add("start", "start a new call")
    for p in (start, add("resume", "continue a call where it stopped")):
        p.add_argument("--staffer", help="your name (default: $IPSEC_TRIAGE_STAFFER or login)")
        p.add_argument("--answers", metavar="FILE",
                       help="answer from a YAML/JSON file instead of prompting")
        p.add_argument("--no-checks", action="store_true",
                       help="do not run automatic checks")
        p.add_argument("--send", action=argparse.BooleanOptionalAction, default=None,
                       help="hand an escalated call to its Tier 2 group at the end "
                            "(default: ask on a terminal, do not send without one)")
        if p is start:
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
    lst = add("list", "list recorded calls")
    lst.add_argument("--open", action="store_true", help="only calls that have not ended")
    lst.add_argument("--format", choices=("table", "csv", "json"), default="table",
                     help="table (default), or CSV / JSON for other tools")
    show = add("show", "show one recorded call")
    show.add_argument("call_id", help="call id, a unique prefix, or 'last'")
    show.add_argument("--json", action="store_true", help="print the record as JSON")
    ticket = add("ticket", "print (re-render) the ticket of an ended call")
    ticket.add_argument("call_id", help="call id, a unique prefix, or 'last'")
    ticket.add_argument("--format", choices=sorted(FORMATS), default="md")
    ticket.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead")
    lint_p = add("lint", "check flowcharts for mistakes")
    lint_p.add_argument("directory", nargs="?", help="flowchart folder to check")
    render = add("render", "print flowcharts as a Mermaid diagram")
    render.add_argument("charts", nargs="*", help="chart ids (default: all)")
    render.add_argument("--call", metavar="ID", help="highlight this call's route")
    render.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead")
    schema = add("schema", "print the flowchart JSON Schema (for editors)")
    schema.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead")
    add("probes", "list the automatic checks")
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
    report.add_report_arguments(add("report", "call classification report (volume and "
                                              "nature of the calls)"))
    add("sync", "store calls of this computer in the call store "
                "($IPSEC_TRIAGE_STORE, default SQLite in the data folder) and retry the "
                "hand-offs waiting in the outbox")
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
    report.add_store_arguments(add("store", "the call store's schema: its revision, or "
                                            "upgrade it"))
    comp = add("completion", "print the shell code for tab completion "
                             "(e.g. eval \"$(ipsec-triage completion bash)\" in ~/.bashrc)")
    comp.add_argument("shell", choices=("bash", "zsh"), help="your shell")
    return parser


def _with_default_command(argv: Sequence[str]) -> list[str]:
    """Insert ``start`` where the command would be, after any global options."""
    args = list(argv)
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
    if i >= len(args) or (args[i] not in COMMANDS and args[i] not in ("-h", "--help",
                                                                      "--version")):
        args.insert(min(i, len(args)), "start")
    return args


# -- helpers ---------------------------------------------------------------------------


@dataclass(frozen=True)
class FlowchartSource:
    """Which flowchart folder is used and why (the rule: --flowcharts, then
    $IPSEC_TRIAGE_FLOWCHARTS, then ``flowcharts_dir`` in the organization file, then the
    shipped set)."""

    path: Path
    why: str


def _flowchart_source(args: argparse.Namespace, env: Environment,
                      org: OrgConfig | None = None) -> FlowchartSource:
    if getattr(args, "directory", None):
        return FlowchartSource(Path(args.directory).expanduser(), "given on the command line")
    if args.flowcharts:
        return FlowchartSource(Path(args.flowcharts).expanduser(), "--flowcharts")
    if env.environ.get("IPSEC_TRIAGE_FLOWCHARTS"):
        return FlowchartSource(Path(env.environ["IPSEC_TRIAGE_FLOWCHARTS"]).expanduser(),
                               "$IPSEC_TRIAGE_FLOWCHARTS")
    if org is None and env.org_file(args.org, env.data_dir(args.data_dir)) is not None:
        org = _load_org(args, env, env.data_dir(args.data_dir))
    if org is not None and org.flowcharts_dir:
        return FlowchartSource(Path(org.flowcharts_dir).expanduser(),
                               "flowcharts_dir in the organization file")
    return FlowchartSource(builtin_dir("flowcharts"), "the shipped set")


def describe_flowset(fs: FlowSet, source: FlowchartSource) -> str:
    """One line naming the flowchart set in use and its versions."""
    import hashlib

    digest = hashlib.sha256(
        "".join(f"{c}:{d}" for c, d in sorted(fs.digests.items())).encode()).hexdigest()[:8]
    versions = ", ".join(f"{cid} {c.version}" for cid, c in fs.charts.items())
    return f"Flowcharts: {source.path} ({source.why}); set {digest}: {versions}"


def _load_flowset(args: argparse.Namespace, env: Environment,
                  org: OrgConfig | None = None) -> FlowSet:
    return _load_flowset_from(args, env, org)[0]


def _load_flowset_from(args: argparse.Namespace, env: Environment,
                       org: OrgConfig | None = None) -> tuple[FlowSet, FlowchartSource]:
    source = _flowchart_source(args, env, org)
    try:
        return load_flowset(source.path), source
    except FlowchartError as exc:
        for problem in exc.problems:
            env.stderr.write(f"{problem}\n")
        raise TriageError(f"{len(exc.problems)} flowchart problem(s) in {source.path} "
                        f"({source.why}); nothing was started (run 'ipsec-triage lint' "
                        "after fixing)", ExitStatus.FLOWCHART) from None


def _load_org(args: argparse.Namespace, env: Environment, data_dir: Path) -> OrgConfig:
    from wizard.config.organization import OrgConfig, OrgConfigError, load_org_config

    path = env.org_file(args.org, data_dir)
    try:
        org = load_org_config(path) if path else OrgConfig()
    except OrgConfigError as exc:
        raise TriageError(str(exc), ExitStatus.CONFIG) from None
    if args.templates:
        org = org.model_copy(update={"templates_dir": args.templates})
    if org.templates_dir and not Path(org.templates_dir).is_dir():
        raise TriageError(f"{org.templates_dir}: template folder not found", ExitStatus.CONFIG)
    return org


def _call_org(args: argparse.Namespace, env: Environment, data_dir: Path) -> OrgConfig | None:
    """The organization file for a call; None without one (the call then builds the
    defaults when it first needs them, not before its first question)."""
    if not args.templates and env.org_file(args.org, data_dir) is None:
        return None
    return _load_org(args, env, data_dir)


def _console(env: Environment) -> Console:
    from rich.console import Console

    # piped output gets a wide page so ids and paths are never cut
    width = None if env.interactive else 160
    return Console(file=env.stdout, force_terminal=env.interactive or None,
                   highlight=False, soft_wrap=False, width=width)


def _store_call(call: Call, env: Environment) -> None:
    """Save an ended call in the call store; a store that cannot be reached loses
    nothing (the journal stays here and ``sync`` stores it later)."""
    from wizard.records.store import save_ended_call

    warning = save_ended_call(call.store.root, call.state, call.fs,
                              environ=dict(env.environ), configured=call.org.store_url)
    if warning:
        env.warn(warning)


def _finish(call: Call, step: Step, env: Environment, send: bool | None = None) -> None:
    try:
        paths = end_call(call, step)
    except TicketError as exc:
        raise TriageError(f"ticket template: {exc}; the call is recorded as ended, fix the "
                        f"template and run 'ipsec-triage ticket {call.call_id}'",
                        ExitStatus.CONFIG) from None
    node = step.visit.node
    ended = call.state.ended or {}
    out = env.stdout
    out.write(f"\nCall {call.call_id} ended: {ended.get('status_label')}\n")
    out.write(f"Category: {ended.get('category')}\n")
    if getattr(node, "tier2", False):
        out.write(f"Escalate to: {ended.get('tier2_group')}\n")
    for fmt, path in paths.items():
        out.write(f"Ticket ({fmt}): {path}\n")
    out.flush()
    _store_call(call, env)
    if getattr(node, "tier2", False):
        _offer_handoff(call, env, send)


def _offer_handoff(call: Call, env: Environment, send: bool | None) -> None:
    """At the end of an escalated call: send it to its group if the organization file
    says where (asked on a terminal; ``--send`` / ``--no-send`` decide without one)."""
    from wizard.handoff.outbox import LABELS, NotSent, destination_for, send_call

    group = (call.state.ended or {}).get("tier2_group")
    dest = destination_for(call.org, group)
    if dest is None or send is False:
        return
    if send is None:
        if not env.interactive:
            env.stdout.write(f"Not sent to {group}: use --send, or 'ipsec-triage send "
                             f"{call.call_id}'\n")
            return
        from wizard.frontends.terminal.prompts import confirm

        if not confirm(f"Send the escalation to {group} ({LABELS[dest.kind]}) now?"):
            env.stdout.write(f"Not sent. Later: ipsec-triage send {call.call_id}\n")
            return
    try:
        outcome = send_call(call.store, call.org, call.call_id, environ=env.environ)
    except NotSent as exc:
        env.warn(str(exc))
        return
    call.state.handoffs.append(outcome.record)
    if outcome.status == "sent":
        env.stdout.write(outcome.line() + "\n")
    else:
        env.warn(outcome.line())


DRAIN_WAIT = 15.0
"""Seconds a finished ``start`` waits for the outbox retry it began (a call replayed
from an answers file ends in moments)."""


def _drain_in_background(store: CallStore, org: OrgConfig | None, env: Environment
                         ) -> threading.Thread | None:
    """Retry waiting hand-offs while the new call goes on (results go to the journals
    of their calls; nothing is printed over the questions)."""
    if org is None or not (store.root / "outbox").is_dir() or not org.handoff.destinations:
        return None
    import threading

    from wizard.handoff.outbox import drain

    def run() -> None:
        # a retry problem must never stop a call: it stays in the outbox
        with contextlib.suppress(Exception):
            drain(store, org, environ=env.environ)

    thread = threading.Thread(target=run, name="outbox", daemon=True)
    thread.start()
    return thread


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


def _run_answers(call: Call, path: Path, env: Environment, probes: bool,
                 resume_cmd: str) -> Step:
    from wizard.calls.replay import load_answers, run

    doc = load_answers(path, call.fs)

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

    console = _console(env)
    resume_cmd = command_line(env, args, "resume", call.call_id)
    frontend = Frontend(call, console, resume_command=resume_cmd, banner=banner)
    if recap:
        frontend.show_recap()
    changed = call.changed_flowcharts()
    if changed:
        console.print(plain(f"Note: flowcharts changed since this call started: "
                            f"{', '.join(changed)}. Answers still on the route are kept.",
                            style="yellow"))
    hangup = _on_hangup()
    try:
        return frontend.run()
    except CallAbandoned:
        env.stdout.write(f"\nCall {call.call_id} ended: {end_label(call.state.ended)}\n"
                         "No ticket: the call is kept for the record and the report.\n")
        env.stdout.flush()
        _store_call(call, env)
        raise _Stop(ExitStatus.OK) from None
    except (KeyboardInterrupt, EOFError, QuitCall) as exc:
        status = ExitStatus.OK if isinstance(exc, QuitCall) else ExitStatus.INTERRUPTED
        if call.is_empty and not call.state.resumed and call.discard():
            message = f"\nCall {call.call_id} discarded: nothing was answered yet.\n"
        else:
            call.interrupted()
            message = f"\nCall {call.call_id} saved. Resume it with: {resume_cmd}\n"
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
    data_dir = env.data_dir(args.data_dir)
    org = _call_org(args, env, data_dir)
    fs, source = _load_flowset_from(args, env, org)
    store = CallStore(data_dir, on_warning=env.warn)
    answers_path = Path(args.answers) if args.answers else None
    doc = None
    if answers_path:
        from wizard.calls.replay import dry_run, load_answers

        try:
            doc = load_answers(answers_path, fs)
            dry_run(fs, doc)
        except DocumentError as exc:
            raise TriageError(f"{exc}; nothing was started", ExitStatus.ANSWERS) from None
    elif not env.interactive:
        raise TriageError("no terminal to ask questions on: use --answers FILE to replay a "
                        "call without prompts", ExitStatus.NO_TERMINAL)
    drainer = _drain_in_background(store, org, env)
    staffer = args.staffer or (doc.staffer if doc else None) or env.default_staffer()
    runs_on = args.on or (doc.on if doc else None) or "helpdesk"
    try:
        answer_rules.check_free_text(staffer, answer_rules.MAX_STAFFER, "the staffer name")
    except answer_rules.AnswerError as exc:
        raise TriageError(f"--staffer: {exc}", ExitStatus.USAGE) from None
    call = Call.start(flowset=fs, store=store, org=org, staffer=staffer, runs_on=runs_on,
                      mode="answers_file" if answers_path else "interactive",
                      practice=args.practice, system=env.system,
                      checks=not args.no_checks)
    try:
        if answers_path:
            env.stdout.write(f"Call {call.call_id} · {describe_flowset(fs, source)}\n")
            step = _run_answers(call, answers_path, env, probes=not args.no_checks,
                                resume_cmd=command_line(env, args, "resume", call.call_id))
        else:
            step = _interactive(call, env, args, describe_flowset(fs, source))
        _finish(call, step, env, args.send)
    finally:
        call.close()
    if drainer is not None:
        # let the retry finish rather than cut it off at exit (it would be retried
        # again, without a second ticket, but only at the next sync or start)
        drainer.join(DRAIN_WAIT)
    return ExitStatus.OK


def cmd_resume(args: argparse.Namespace, env: Environment) -> ExitStatus:
    data_dir = env.data_dir(args.data_dir)
    org = _call_org(args, env, data_dir)
    store = CallStore(data_dir, on_warning=env.warn)
    # which call: decided (or refused, exit 5) before anything else, terminal or not
    if args.call_id is None:
        open_calls = [s.call_id for s in store.all() if s.ended is None]
        if not open_calls:
            raise TriageError(f"no open call to resume in {store.calls}", ExitStatus.NOT_FOUND)
        call_id = open_calls[-1]
    else:
        try:
            state = store.load(args.call_id)
        except JournalError as exc:
            raise TriageError(str(exc), ExitStatus.NOT_FOUND) from None
        if state.ended is not None:
            raise TriageError(f"call {state.call_id} has already ended "
                            f"({end_label(state.ended)}); see 'ipsec-triage show "
                            f"{state.call_id}'", ExitStatus.NOT_FOUND)
        call_id = state.call_id
    if not args.answers and not env.interactive:
        raise TriageError("no terminal to ask questions on: use --answers FILE to finish the "
                        "call without prompts", ExitStatus.NO_TERMINAL)
    fs, source = _load_flowset_from(args, env, org)
    try:
        call = Call.resume(flowset=fs, store=store, org=org, call_id=call_id,
                           staffer=args.staffer, system=env.system,
                           checks=not args.no_checks)
    except JournalError as exc:
        raise TriageError(str(exc), ExitStatus.NOT_FOUND) from None
    try:
        if args.answers:
            step = _run_answers(call, Path(args.answers), env, probes=not args.no_checks,
                                resume_cmd=command_line(env, args, "resume", call.call_id))
        else:
            step = _interactive(call, env, args, describe_flowset(fs, source), recap=True)
        _finish(call, step, env, args.send)
    finally:
        call.close()
    return ExitStatus.OK


def _load_call(args: argparse.Namespace, env: Environment) -> tuple[CallStore, CallState]:
    store = CallStore(env.data_dir(args.data_dir), on_warning=env.warn)
    try:
        return store, store.load(args.call_id)
    except JournalError as exc:
        raise TriageError(str(exc), ExitStatus.NOT_FOUND) from None


def call_vars(state: CallState, fs: FlowSet | None) -> dict[str, str]:
    """The call's answers by variable name (``caller_machine`` for a caller's computer
    and for a server alike), newest answer last."""
    out: dict[str, str] = {}
    for key, rec in state.answers.items():
        node_key = key.split("@", 1)[0]
        var = None
        if fs is not None and fs.has(node_key):
            var = getattr(fs.node(node_key), "var", None)
        out[var or node_key.split(".", 1)[-1]] = rec.value
    return out


LIST_FIELDS = ("call_id", "started", "staffer", "caller", "computer", "target", "status",
               "category", "ticket")


def cmd_list(args: argparse.Namespace, env: Environment) -> ExitStatus:
    import csv
    import io

    from rich.table import Table
    from rich.text import Text

    store = CallStore(env.data_dir(args.data_dir), on_warning=env.warn)
    try:
        fs: FlowSet | None = _load_flowset(args, env)
    except TriageError:
        fs = None  # the list still works, by step names
    states = [s for s in store.all() if not (args.open and s.ended is not None)]
    rows = []
    for s in states:
        vals = call_vars(s, fs)
        rows.append({
            "call_id": s.call_id, "started": s.started, "staffer": s.staffer,
            "caller": vals.get("caller_name", ""), "computer": vals.get("caller_machine", ""),
            "target": vals.get("target", ""), "status": end_label(s.ended),
            "category": str((s.ended or {}).get("category") or ""),
            "ticket": _ticket_ref(s),
        })
    if args.format == "json":
        env.stdout.write(json.dumps(rows, indent=2, ensure_ascii=False) + "\n")
        return ExitStatus.OK
    if args.format == "csv":
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=LIST_FIELDS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        env.stdout.write(buf.getvalue())
        return ExitStatus.OK
    if not rows:
        what = "No open calls" if args.open else "No calls recorded"
        env.stdout.write(f"{what} in {store.calls}\n")
        return ExitStatus.OK
    table = Table()
    table.add_column("Call", no_wrap=True)
    for header in ("Started", "Staffer", "Caller", "Computer", "Target", "Status",
                   "Category", "Tier 2 ticket"):
        table.add_column(header, overflow="fold")
    for r in rows:
        table.add_row(Text(r["call_id"]), Text(r["started"][:16].replace("T", " ")),
                      Text(r["staffer"]), Text(r["caller"]), Text(r["computer"]),
                      Text(r["target"]), Text(r["status"]), Text(r["category"]),
                      Text(r["ticket"]))
    _console(env).print(table)
    return ExitStatus.OK


def _ticket_ref(state: CallState) -> str:
    """The Tier 2 ticket of a call for ``list``: number (or link), or the outbox."""
    ref = state.ticket_ref()
    if ref is not None:
        return str(ref.get("number") or ref.get("url") or ref.get("kind") or "sent")
    if state.handoffs and state.handoffs[-1].get("status") == "queued":
        return "outbox"
    return ""


def _route_step(fs: FlowSet, state: CallState) -> Step:
    engine = Engine(fs)
    return engine.step(state.values(), {"staffer": state.staffer, "call_id": state.call_id,
                                        "test_servers": ""})


def cmd_show(args: argparse.Namespace, env: Environment) -> ExitStatus:
    from rich.table import Table
    from rich.text import Text

    _store, state = _load_call(args, env)
    if args.json:
        payload = _json_record(state)
        env.stdout.write(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
        return ExitStatus.OK
    fs = _load_flowset(args, env)
    step = _route_step(fs, state)
    console = _console(env)
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
        table.add_row(str(n), v.key, Text(question),
                      Text(answer_rules.label(v.node, v.value or "")),
                      Text(f"{probe.status.value}: {probe.summary}{where}") if probe else "")
        for note in state.notes.get(v.key, []):
            table.add_row("", "", Text(f"note: {note}"), "", "")
    console.print(table)
    off_route = {k: t for k, t in state.notes.items() if k not in on_route}
    if off_route:
        console.print("Notes on steps no longer on the route:", style="bold")
        for key, texts in off_route.items():
            for note in texts:
                console.print(Text(f"  {key}: {note}"))
    if state.changes:
        changes = Table("Question", "From", "To", "When", "By", title="Changed answers",
                        title_justify="left")
        for ch in state.changes:
            key = str(ch["key"])
            node_key = key.split("@", 1)[0]
            node = fs.node(node_key) if fs.has(node_key) else None
            question = questions.get(key) or (" ".join(node.text.split()) if node else key)

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
        console.print(Text(f"Sensitive request at {req['step']} ({req['t'][:19]}): "
                           f"{req['what']}", style="yellow"))
    if step.kind is StepKind.ASK and state.ended is None:
        try:
            nxt = " ".join(_render_safe(step.visit.node.text, step).split())
        except TextError:
            nxt = step.visit.node.text
        console.print(Text(f"Next question: {nxt}"))
    if state.ended:
        for fmt, path in (state.ended.get("tickets") or {}).items():
            console.print(Text(f"Ticket ({fmt}): {path}"))
    for h in state.handoffs:
        console.print(Text(_handoff_line(h)))
    return ExitStatus.OK


def _handoff_line(h: dict[str, object]) -> str:
    """One recorded hand-off, for ``show``."""
    what = {"sent": "sent", "queued": "failed, waiting in the outbox",
            "failed": "failed"}.get(str(h.get("status")), str(h.get("status")))
    ref = " ".join(str(h[k]) for k in ("number", "url", "file") if h.get(k))
    error = f": {h['error']}" if h.get("error") else ""
    return (f"Hand-off to {h.get('group')} ({h.get('kind')}) {str(h.get('t', ''))[:16]}: "
            f"{what}{' ' + ref if ref else ''}{error}")


def _render_safe(text: str, step: Step) -> str:
    from wizard.base.textrender import render

    return render(text, step.context)


def cmd_ticket(args: argparse.Namespace, env: Environment) -> ExitStatus:
    if args.call_id == "last":
        # the newest call that has a ticket: ended at a flowchart exit (not open, not
        # abandoned)
        store = CallStore(env.data_dir(args.data_dir), on_warning=env.warn)
        ticketed = [s for s in store.all() if s.ended and s.ended.get("terminal")]
        if not ticketed:
            raise TriageError(f"no ended call with a ticket in {store.calls}",
                            ExitStatus.NOT_FOUND)
        state = ticketed[-1]
    else:
        store, state = _load_call(args, env)
    if state.ended is None:
        raise TriageError(f"call {state.call_id} has not ended yet: finish it with "
                        f"'{command_line(env, args, 'resume', state.call_id)}'",
                        ExitStatus.NOT_FOUND)
    if not state.ended.get("terminal"):
        raise TriageError(f"call {state.call_id} ended without a ticket "
                        f"({end_label(state.ended)})", ExitStatus.NOT_FOUND)
    fs = _load_flowset(args, env)
    data_dir = env.data_dir(args.data_dir)
    org = _load_org(args, env, data_dir)
    engine = Engine(fs)
    call = Call(flowset=fs, store=store, state=state, journal=None, org=org)
    step = engine.step(state.values(), call.base_context())
    if step.kind is not StepKind.END:
        raise TriageError(f"call {state.call_id} no longer reaches an end with the current "
                        "flowcharts; use 'ipsec-triage show' for its record",
                        ExitStatus.NOT_FOUND)
    try:
        text = render_tickets(call, step, (args.format,))[args.format]
    except TicketError as exc:
        raise TriageError(f"ticket template: {exc}", ExitStatus.CONFIG) from None
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
    source = _flowchart_source(args, env)
    directory = source.path
    try:
        fs = load_flowset(directory, check=False)
    except FlowchartError as exc:
        env.stdout.write(f"Flowcharts: {directory} ({source.why})\n")
        for p in exc.problems:
            env.stdout.write(f"{p}\n")
        return ExitStatus.FLOWCHART
    env.stdout.write(describe_flowset(fs, source) + "\n")
    problems = lint(fs)
    for p in problems:
        env.stdout.write(f"{p}\n")
    from wizard.config.organization import warnings as org_warnings

    data_dir = env.data_dir(args.data_dir)
    org = _load_org(args, env, data_dir)
    for warning in org_warnings(org, env.org_file(args.org, data_dir)):
        env.stdout.write(f"warning: {warning}\n")
    if problems:
        env.stdout.write(f"{len(problems)} problem(s)\n")
        return ExitStatus.FLOWCHART
    nodes = sum(len(c.nodes) for c in fs.charts.values())
    routes, loops = route_count(fs)
    counted = " (not counting going round a loop)" if loops else ""
    env.stdout.write(f"OK: {len(fs.charts)} flowcharts, {nodes} nodes, {routes} routes"
                     f"{counted} ({directory})\n")
    return ExitStatus.OK


def cmd_render(args: argparse.Namespace, env: Environment) -> ExitStatus:
    from wizard.flows.mermaid import render

    fs = _load_flowset(args, env)
    charts = args.charts or list(fs.charts)
    for cid in charts:
        if cid not in fs.charts:
            raise TriageError(f"no chart {cid!r}; charts: {', '.join(fs.charts)}",
                            ExitStatus.USAGE)
    route: list[str] = []
    if args.call:
        ns = argparse.Namespace(call_id=args.call, data_dir=args.data_dir)
        _store, state = _load_call(ns, env)
        step = _route_step(fs, state)
        route = [v.node_key for v in step.route] + [step.visit.node_key]
    text = render(fs, charts, route)
    _emit(env, text, args.output, "Diagram")
    return ExitStatus.OK


def cmd_schema(args: argparse.Namespace, env: Environment) -> ExitStatus:
    from wizard.flows.schema import Flowchart

    text = json.dumps(Flowchart.model_json_schema(by_alias=True), indent=2) + "\n"
    _emit(env, text, args.output, "Schema")
    return ExitStatus.OK


def cmd_probes(args: argparse.Namespace, env: Environment) -> ExitStatus:
    from rich.table import Table

    from wizard.checks import PROBES

    table = Table("Probe", "Arguments", "Platforms", "What it checks")
    for spec in PROBES.values():
        table.add_row(spec.name, ", ".join(spec.params), ", ".join(spec.platforms),
                      spec.description)
    _console(env).print(table)
    return ExitStatus.OK


def cmd_halve(args: argparse.Namespace, env: Environment) -> ExitStatus:
    from wizard.frontends.terminal.prompts import QuitCall, run_halving
    from wizard.halving import session as halve
    from wizard.halving.search import DEFAULT_NOISY, HalvingError

    data_dir = env.data_dir(args.data_dir)
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
        run_halving(session, journal, _console(env))
    except (KeyboardInterrupt, EOFError, QuitCall) as exc:
        env.stdout.write(f"\nHalving session {session.session_id} saved. After the restart: "
                         f"ipsec-triage halve --resume {session.session_id}\n")
        status = ExitStatus.OK if isinstance(exc, QuitCall) else ExitStatus.INTERRUPTED
        raise _Stop(status) from None
    finally:
        journal.close()
    return ExitStatus.OK


def _json_record(state: CallState) -> dict[str, object]:
    return {
        "call_id": state.call_id, "staffer": state.staffer, "started": state.started,
        "runs_on": state.runs_on, "mode": state.mode, "flowcharts": state.flowcharts,
        "answers": {k: vars(a) for k, a in state.answers.items()},
        "probes": {k: p.to_dict() for k, p in state.probes.items()},
        "notes": state.notes, "changes": state.changes, "ended": state.ended,
        "known_issues": state.known_issues, "handoffs": state.handoffs,
    }


def cmd_collect(args: argparse.Namespace, env: Environment) -> ExitStatus:
    import socket

    from wizard.checks import ProbeArgumentError, System, validate_host
    from wizard.evidence import PacketRequest, context, make_packet, planned_changes

    data_dir = env.data_dir(args.data_dir)
    org = _load_org(args, env, data_dir)
    tickets: dict[str, str] = {}
    record = None
    call_id = None
    values: dict[str, str] = {}
    people: list[str] = []
    if args.call:
        store, state = _load_call(argparse.Namespace(call_id=args.call,
                                                     data_dir=args.data_dir), env)
        call_id = state.call_id
        record = _json_record(state)
        values = state.values()
        people = [state.staffer, values.get("intake.caller_name", ""),
                  values.get("intake.caller_contact", "")]
        for fmt in ("md", "txt"):
            path = store.ticket_path(state.call_id, fmt)
            if path.is_file():
                tickets[fmt] = path.read_text(encoding="utf-8")
    comp = args.computer or values.get("intake.caller_machine") or socket.gethostname()
    target = args.target or values.get("intake.target") or None
    try:
        comp = validate_host(comp)
        target = validate_host(target) if target else None
    except ProbeArgumentError as exc:
        raise TriageError(str(exc), ExitStatus.USAGE) from None
    from wizard.evidence.packet import is_admin

    if is_admin() is False:
        env.warn("not running as administrator: some evidence (event logs, IPsec state) "
                 "will be missing; run it again as an administrator for the full set")
    system = env.system or System(org)
    changes = planned_changes(context(comp, target, system, org))
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

    path, ev = make_packet(
        PacketRequest(out_dir=Path(args.output), comp=comp, target=target, tickets=tickets,
                      record=record, call_id=call_id, redact=args.redact,
                      make_changes=make_changes, people=tuple(p for p in people if p)),
        system, org, on_progress=progress)
    if call_id is not None:
        journal = CallStore(env.data_dir(args.data_dir)).open_journal(call_id)
        try:
            journal.append("packet", path=str(path.resolve()), redacted=bool(args.redact))
        finally:
            journal.close()
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


def cmd_completion(args: argparse.Namespace, env: Environment) -> ExitStatus:
    # argcomplete: the well-kept completion library for argparse programs (bash and zsh,
    # completes commands, options and choices from this very parser)
    from argcomplete.shell_integration import shellcode

    env.stdout.write(shellcode(["ipsec-triage"], shell=args.shell))
    return ExitStatus.OK


def cmd_send(args: argparse.Namespace, env: Environment) -> ExitStatus:
    from wizard.handoff.outbox import NotSent, send_call

    store, state = _load_call(args, env)
    org = _load_org(args, env, store.root)
    packet = Path(args.packet).expanduser() if args.packet else None
    try:
        outcome = send_call(store, org, state.call_id, group=args.to, packet=packet,
                            environ=env.environ, again=args.again)
    except NotSent as exc:
        raise TriageError(str(exc), ExitStatus.HANDOFF) from None
    if outcome.status == "sent":
        env.stdout.write(outcome.line() + "\n")
        return ExitStatus.OK
    env.error(outcome.line())
    return ExitStatus.HANDOFF


def cmd_sync(args: argparse.Namespace, env: Environment) -> ExitStatus:
    """Retry the hand-offs waiting in the outbox (one line each), then store the calls."""
    from wizard.handoff.outbox import drain, entries

    data_dir = env.data_dir(args.data_dir)
    if entries(data_dir):
        org = _load_org(args, env, data_dir)
        for outcome in drain(CallStore(data_dir), org, environ=env.environ):
            env.stdout.write(outcome.line() + "\n")
        waiting = len(entries(data_dir))
        if waiting:
            env.stdout.write(f"{waiting} hand-off(s) still waiting in the outbox\n")
    return report.cmd_sync(args, env)


HANDLERS = {
    "start": cmd_start, "resume": cmd_resume, "list": cmd_list, "show": cmd_show,
    "ticket": cmd_ticket, "lint": cmd_lint, "render": cmd_render, "schema": cmd_schema,
    "probes": cmd_probes, "halve": cmd_halve, "collect": cmd_collect,
    "report": report.cmd_report, "sync": cmd_sync, "store": report.cmd_store,
    "completion": cmd_completion, "send": cmd_send,
}


def _crash_report(env: Environment, args: argparse.Namespace | None) -> str:
    try:
        data_dir = env.data_dir(getattr(args, "data_dir", None) if args else None)
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
    parser = build_parser()
    if "_ARGCOMPLETE" in env.environ:  # the shell asks for completions (tab pressed)
        import argcomplete

        argcomplete.autocomplete(parser)
    args: argparse.Namespace | None = None
    try:
        args = parser.parse_args(_with_default_command(sys.argv[1:] if argv is None else argv))
        if hasattr(args, "data_dir"):
            from wizard.base.privacy import tighten

            for warning in tighten(env.data_dir(args.data_dir)):
                env.warn(warning)
        return int(HANDLERS[args.command](args, env))
    except SystemExit as exc:
        return int(exc.code) if isinstance(exc.code, int) else ExitStatus.USAGE
    except _Stop as exc:
        return int(exc.status)
    except TriageError as exc:  # the one place the error family becomes a message
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
