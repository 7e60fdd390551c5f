"""The ``report``, ``sync`` and ``store`` commands of the command line: their options
and what they print (the work is :mod:`wizard.service.reports`)."""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path

from wizard.base.errors import ExitStatus, TriageError
from wizard.calls.journal import atomic_write
from wizard.flows.nodes import Category, Status
from wizard.frontends.terminal.environment import Environment
from wizard.records.report import DEFAULT_TOP, DIMENSIONS, FORMATS, render, to_table
from wizard.service import reports


def _date_arg(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def _dims_arg(text: str) -> list[str]:
    dims = [d.strip() for d in text.split(",") if d.strip()]
    unknown = [d for d in dims if d not in DIMENSIONS]
    if unknown or not dims:
        raise argparse.ArgumentTypeError(
            f"unknown breakdown {', '.join(unknown) or repr(text)}; "
            f"one of: {', '.join(DIMENSIONS)}")
    return dims


def _top_arg(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of rows (0: all)")
    return value


def add_report_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``ipsec-triage report``."""
    parser.add_argument("--format", choices=FORMATS, default="table",
                        help="table (default), csv, json, or html (one page with charts)")
    parser.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead")
    parser.add_argument("--since", metavar="DATE", type=_date_arg,
                        help="calls started on or after this day (YYYY-MM-DD)")
    parser.add_argument("--until", metavar="DATE", type=_date_arg,
                        help="calls started on or before this day (YYYY-MM-DD)")
    parser.add_argument("--category", choices=[c.value for c in Category],
                        help="only calls of this category")
    parser.add_argument("--status", choices=[s.value for s in Status],
                        help="only calls that ended with this status")
    parser.add_argument("--target", metavar="HOST",
                        help="only calls about this destination computer")
    parser.add_argument("--staffer", metavar="NAME", help="only calls taken by NAME")
    parser.add_argument("--practice", action="store_true",
                        help="include practice calls ('start --practice', replayed answers "
                             "files); left out by default")
    parser.add_argument("--by", metavar="LIST", type=_dims_arg, default=None,
                        help="only these breakdowns, comma-separated: "
                             f"{', '.join(DIMENSIONS)} (default: all)")
    parser.add_argument("--top", metavar="N", type=_top_arg, default=DEFAULT_TOP,
                        help=f"rows per breakdown in the table and the HTML page "
                             f"(default {DEFAULT_TOP}; 0: all; weeks and days: the latest)")
    parser.add_argument("--no-sync", action="store_true",
                        help="do not first store this computer's ended calls that the "
                             "store does not have yet")


def add_store_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``ipsec-triage store``."""
    parser.add_argument("action", choices=("revision", "upgrade"),
                        help="revision: show the schema revision of the store and the one "
                             "this version needs; upgrade: bring the store to it (safe to "
                             "run again, and while staff store calls)")


def cmd_sync(args: argparse.Namespace, env: Environment) -> ExitStatus:
    """``ipsec-triage sync``: store this computer's calls the store lacks."""
    done = reports.sync(env.desk(args))
    result = done.result
    env.stdout.write(f"{result.saved} call(s) stored, {result.already} already there, "
                     f"{result.failed} failed ({done.url})\n")
    if result.failed:
        env.warn(f"{result.failed} call(s) not stored: {done.error}")
        return ExitStatus.STORE
    return ExitStatus.OK


def cmd_store(args: argparse.Namespace, env: Environment) -> ExitStatus:
    """``ipsec-triage store revision|upgrade``."""
    desk = env.desk(args)
    if args.action == "revision":
        rev = reports.store_revision(desk)
        state = "up to date" if rev.have == rev.need else (
            "run 'ipsec-triage store upgrade'" if rev.have != "none"
            else "created at the first use")
        env.stdout.write(f"call store {rev.url}: revision {rev.have}; this "
                         f"version needs {rev.need} ({state})\n")
        return ExitStatus.OK
    url, before, after = reports.store_upgrade(desk)
    if before == after:
        env.stdout.write(f"call store {url}: already at revision {after}\n")
    else:
        env.stdout.write(f"call store {url}: upgraded from revision {before} to {after}\n")
    return ExitStatus.OK


def cmd_report(args: argparse.Namespace, env: Environment) -> ExitStatus:
    """``ipsec-triage report``: the call classification report."""
    from wizard.records.store import CallFilter

    filters = CallFilter(since=args.since, until=args.until, category=args.category,
                         target=args.target, staffer=args.staffer, status=args.status,
                         practice=bool(args.practice))
    made = reports.make_report(env.desk(args), filters, args.by, sync_first=not args.no_sync)
    if made.warning:
        env.warn(made.warning)
    data = made.report
    if args.format == "table" and not args.output:
        to_table(data, env.console(), args.top)
        return ExitStatus.OK
    text = render(data, args.format, args.top)
    if not args.output:
        env.stdout.write(text)
        return ExitStatus.OK
    try:
        atomic_write(Path(args.output), text)
    except OSError as exc:
        raise TriageError(f"{args.output}: cannot write the report: {exc.strerror or exc}",
                          ExitStatus.USAGE) from None
    env.stdout.write(f"Report written to {args.output} ({data.calls} calls)\n")
    return ExitStatus.OK
