"""The record commands that reach past this computer: send (a hand-off to Tier 2) and
sync (the outbox retried, then the calls stored); report and store are in
:mod:`wizard.frontends.terminal.reporting`."""

from __future__ import annotations

import argparse
from pathlib import Path

from wizard.base.errors import ExitStatus
from wizard.frontends.terminal.cli.parser import _reporting
from wizard.frontends.terminal.environment import Environment
from wizard.service import calls


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
