"""``main``: the command named in the words typed, parsed and run, and the one place the
error family becomes a message and an exit code. Each command's code is imported only
when it runs, from the table ``HANDLERS`` (command -> module and function, the way
pip's command table is), so a command's start loads that command alone.
Exit codes: :class:`wizard.base.errors.ExitStatus`."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from wizard.base.errors import ExitStatus, TriageError
from wizard.frontends.terminal.cli.common import _Stop
from wizard.frontends.terminal.cli.parser import (
    COMMANDS,
    _command_at,
    _with_default_command,
    build_parser,
)
from wizard.frontends.terminal.environment import Environment

Handler = Callable[[argparse.Namespace, Environment], int]


@dataclass(frozen=True)
class LazyCommand:
    """A command's function, named by its module and its name: the module is imported
    when the command runs."""

    module: str
    function: str

    def load(self) -> Handler:
        handler: Handler = getattr(importlib.import_module(self.module), self.function)
        return handler

    def __call__(self, args: argparse.Namespace, env: Environment) -> int:
        return int(self.load()(args, env))


_CLI = "wizard.frontends.terminal.cli"
_REPORTING = "wizard.frontends.terminal.reporting"
HANDLERS: dict[str, Handler] = {
    name: LazyCommand(module, function) for name, (module, function) in {
        "start": (f"{_CLI}.calls", "cmd_start"), "resume": (f"{_CLI}.calls", "cmd_resume"),
        "list": (f"{_CLI}.calls", "cmd_list"), "show": (f"{_CLI}.calls", "cmd_show"),
        "ticket": (f"{_CLI}.calls", "cmd_ticket"),
        "lint": (f"{_CLI}.flows", "cmd_lint"), "render": (f"{_CLI}.flows", "cmd_render"),
        "schema": (f"{_CLI}.flows", "cmd_schema"), "probes": (f"{_CLI}.flows", "cmd_probes"),
        "halve": (f"{_CLI}.halving", "cmd_halve"),
        "collect": (f"{_CLI}.evidence", "cmd_collect"),
        "collector": (f"{_CLI}.evidence", "cmd_collector"),
        "attach": (f"{_CLI}.evidence", "cmd_attach"),
        "analyze": (f"{_CLI}.evidence", "cmd_analyze"),
        "report": (_REPORTING, "cmd_report"), "sync": (f"{_CLI}.records", "cmd_sync"),
        "store": (_REPORTING, "cmd_store"), "send": (f"{_CLI}.records", "cmd_send"),
        "completion": (f"{_CLI}.desk", "cmd_completion"),
        "serve": (f"{_CLI}.desk", "cmd_serve"), "users": (f"{_CLI}.desk", "cmd_users"),
    }.items()
}
"""Every command's function (:data:`COMMANDS` names them), loaded when it runs."""


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
