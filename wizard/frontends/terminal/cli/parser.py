"""The command line's parser: the global options, each command's options, and where the
command is in the words typed (``start`` when none is named)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import TYPE_CHECKING

from wizard import __version__
from wizard.base.errors import ExitStatus
from wizard.records.ticket import FORMATS

if TYPE_CHECKING:  # imported where needed: start-up stays quick
    from types import ModuleType


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
