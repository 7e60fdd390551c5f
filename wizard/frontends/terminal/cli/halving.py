"""The ``halve`` command: the service that breaks the network, found by halving the
service list over restarts."""

from __future__ import annotations

import argparse
from pathlib import Path

from wizard.base.errors import ExitStatus, TriageError
from wizard.calls.journal import JournalError
from wizard.frontends.terminal.cli.common import _Stop
from wizard.frontends.terminal.environment import Environment


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
