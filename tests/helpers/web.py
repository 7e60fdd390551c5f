"""Helpers for the web front end's tests: accounts, a signed-in client, the forms."""

from __future__ import annotations

import contextlib
import html
import os
import re
import shlex
import shutil
import signal
import subprocess
import time
import urllib.request
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import NamedTuple

with warnings.catch_warnings():  # the test client's note about its HTTP library
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from wizard.calls.engine import StepKind
from wizard.calls.journal import JournalFolder
from wizard.frontends.web.app import Settings, create_app
from wizard.service.accounts import Accounts
from wizard.service.calls import route_step
from wizard.service.desk import Desk

from .calls import shipped
from .handoff import free_port
from .run import PYTHON, cli_env

PASSWORDS = {"sam": "sam-password-1", "alex": "alex-password-1", "lee": "lee-password-1"}
ROLES = {"sam": "staffer", "alex": "staffer", "lee": "lead"}


def add_users(data_dir: Path) -> None:
    accounts = Accounts(data_dir)
    for name, password in PASSWORDS.items():
        accounts.add(name, ROLES[name], password)


def make_client(data_dir: Path, checks: bool = False) -> TestClient:
    app = create_app(Settings(desk=Desk(data_dir=data_dir), checks=checks))
    return TestClient(app, base_url="http://testserver", follow_redirects=True)


def field(page: str, name: str) -> str:
    m = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert m, f"no {name} field in the page"
    return html.unescape(m.group(1))


def login(client: TestClient, name: str, password: str | None = None) -> str:
    page = client.get("/login").text
    r = client.post("/login", data={"csrf": field(page, "csrf"), "name": name,
                                    "password": password or PASSWORDS[name], "next": "/"})
    assert r.status_code == 200, r.text
    return r.text


def start_call(client: TestClient) -> tuple[str, str]:
    """Start a call from the home page; returns its id and the first question's page."""
    home = client.get("/").text
    r = client.post("/calls", data={"csrf": field(home, "csrf")})
    assert r.status_code == 200
    call_id = str(r.url).rstrip("/").rsplit("/", 1)[-1]
    return call_id, r.text


def current_key(data_dir: Path, call_id: str) -> str | None:
    state = JournalFolder(data_dir).load(call_id)
    step = route_step(shipped(), state)
    return None if step.kind is StepKind.END else step.visit.key


def answer(client: TestClient, call_id: str, page: str, value: str):  # type: ignore[no-untyped-def]
    return client.post(f"/calls/{call_id}/answer", data={
        "csrf": field(page, "csrf"), "step": field(page, "step"), "value": value})


class Server:
    """``ipsec-triage serve`` on a free loopback port, started as a user would."""

    def __init__(self, data_dir: Path, *args: str, env: Mapping[str, str] | None = None,
                 own_group: bool = False) -> None:
        """``env``: more of the server's environment; ``own_group``: in a process group
        of its own (as a terminal's foreground job: Ctrl-C signals the whole group)."""
        self.own_group = own_group
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = data_dir.parent / f"serve-{self.port}.log"
        self._log = open(self.log_path, "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [PYTHON, "-m", "wizard", "serve", "--port", str(self.port), *args],
            env=cli_env(data_dir, **(env or {})), stdout=self._log,
            stderr=subprocess.STDOUT, start_new_session=own_group)

    def wait(self, timeout: float = 60.0) -> str:
        """The server's address once it answers."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/login", timeout=2) as r:  # noqa: S310
                    if r.status == 200:
                        return self.url
            except OSError:
                pass
            assert self.proc.poll() is None, self.log_path.read_text()
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.2)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            if self.own_group:  # the workers too (the group is the server's own)
                os.killpg(self.proc.pid, signal.SIGKILL)
            else:
                self.proc.kill()
            self.proc.wait()
        if not self._log.closed:
            self._log.close()


@contextlib.contextmanager
def serve(data_dir: Path, *args: str, env: Mapping[str, str] | None = None,
          own_group: bool = False) -> Iterator[Server]:
    server = Server(data_dir, *args, env=env, own_group=own_group)
    try:
        yield server
    finally:
        server.stop()



class HeldPing(NamedTuple):
    """A ``ping`` first on a server's ``PATH`` that waits while ``hold`` exists, then runs
    the system's own: a check is seen while it runs, whatever the machine's speed."""

    hold: Path
    """While this file exists, a ping the server starts waits (a minute at most, so
    that a failed test never leaves it waiting)."""
    pinging: Path
    """Made by each ping the server starts."""
    org: Path
    """An organization file whose ping time limit is well above the hold."""
    env: dict[str, str]
    """The server's ``PATH``."""


def held_ping(root: Path) -> HeldPing:
    system_ping = shutil.which("ping")
    if system_ping is None:
        import pytest

        pytest.skip("no ping program on this computer")
    hold, pinging, bin_dir = root / "hold", root / "pinging", root / "bin"
    bin_dir.mkdir()
    (bin_dir / "ping").write_text(
        "#!/bin/sh\n"
        f": > {shlex.quote(str(pinging))}\n"
        "n=0\n"
        f'while [ -e {shlex.quote(str(hold))} ] && [ "$n" -lt 600 ]; do\n'
        '  sleep 0.1; n=$((n + 1))\ndone\n'
        f'exec {shlex.quote(system_ping)} "$@"\n', encoding="utf-8")
    (bin_dir / "ping").chmod(0o755)
    org = root / "org.yaml"
    org.write_text("organization: Test desk\ntimeouts:\n  probes: {ping: 60}\n",
                   encoding="utf-8")
    return HeldPing(hold, pinging, org,
                    {"PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"})
