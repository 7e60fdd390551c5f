"""The flowchart commands: lint, render, schema and probes."""

from __future__ import annotations

import argparse

from wizard.base.errors import ExitStatus
from wizard.frontends.terminal.cli.common import _emit
from wizard.frontends.terminal.environment import Environment


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
