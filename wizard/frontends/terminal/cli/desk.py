"""The desk commands: serve (the web front end under uvicorn, named by its import
string, never imported here), users (its accounts) and completion (tab completion)."""

from __future__ import annotations

import argparse
import os

from wizard.base.errors import ExitStatus, TriageError
from wizard.frontends.terminal.environment import Environment

WEB_APP = "wizard.frontends.web.asgi:app_from_environ"
"""The web front end, as uvicorn imports it in each worker (``serve``)."""

def cmd_completion(args: argparse.Namespace, env: Environment) -> ExitStatus:
    # argcomplete: the well-kept completion library for argparse programs (bash and zsh,
    # completes commands, options and choices from this very parser)
    from argcomplete.shell_integration import shellcode

    env.stdout.write(shellcode(["ipsec-triage"], shell=args.shell))
    return ExitStatus.OK


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
