"""The bodies of ``ipsec-triage serve`` and ``ipsec-triage users`` (the command line
parses the options and hands them here)."""

from __future__ import annotations

import os
from typing import IO

from wizard.base.errors import ExitStatus, TriageError
from wizard.frontends.web.accounts import Accounts
from wizard.service.desk import Desk


def serve(desk: Desk, *, host: str, port: int, workers: int = 1, https: bool = False,
          checks: bool = True, proxy: str | None = None, out: IO[str]) -> ExitStatus:
    """Run the web desk under uvicorn until stopped."""
    import uvicorn

    accounts = Accounts(desk.data_dir)
    if not accounts.load():
        raise TriageError(f"no users yet in {accounts.path}: add one first with "
                          "'ipsec-triage users add NAME --role admin'", ExitStatus.CONFIG)
    # the settings go to the workers by the environment (each one builds the app)
    os.environ["IPSEC_TRIAGE_DATA"] = str(desk.data_dir.resolve())
    for name, value in (("IPSEC_TRIAGE_ORG", desk.org_file),
                        ("IPSEC_TRIAGE_FLOWCHARTS", desk.flowcharts),
                        ("IPSEC_TRIAGE_TEMPLATES", desk.templates)):
        if value is not None:
            os.environ[name] = str(value.resolve())
    os.environ["IPSEC_TRIAGE_WEB_HTTPS"] = "1" if https else "0"
    os.environ["IPSEC_TRIAGE_WEB_CHECKS"] = "1" if checks else "0"
    desk.flowset(desk.call_org())  # flowchart problems are told before the server starts
    out.write(f"ipsec-triage: the help desk on http://{host}:{port}/ "
              f"(data {desk.data_dir}; Ctrl-C stops)\n")
    out.flush()
    uvicorn.run("wizard.frontends.web.asgi:app_from_environ", factory=True, host=host,
                port=port, workers=workers, proxy_headers=proxy is not None,
                forwarded_allow_ips=proxy or "127.0.0.1", log_level="info",
                server_header=False)
    return ExitStatus.OK


def users(desk: Desk, action: str, name: str | None, *, role: str = "staffer",
          password: str | None = None, out: IO[str]) -> ExitStatus:
    """``users add|disable|passwd|list``; ``password`` is asked for by the caller."""
    accounts = Accounts(desk.data_dir)
    if action == "list":
        for user in sorted(accounts.load().values(), key=lambda u: u.name):
            out.write(f"{user.name}\t{user.role}\t{'disabled' if user.disabled else 'active'}\n")
        return ExitStatus.OK
    assert name is not None
    if action == "add":
        user = accounts.add(name, role, password or "")
        out.write(f"user {user.name} added ({user.role})\n")
    elif action == "passwd":
        user = accounts.passwd(name, password or "")
        out.write(f"password of {user.name} set; their open sessions end\n")
    elif action == "disable":
        user = accounts.disable(name)
        out.write(f"user {user.name} disabled; their open sessions end\n")
    return ExitStatus.OK
