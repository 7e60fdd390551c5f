"""One ``ipsec-triage serve --workers 2``: uvicorn's own two worker processes on one
listening socket, reached over real loopback HTTP. Which worker answered a request is
told by the connection it came on: the worker process that holds that connection's
socket (Linux's ``/proc``). The login limit and the per-call lock hold across the
workers, and the server stops cleanly on SIGTERM and on Ctrl-C, leaving no worker."""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import httpx
import pytest

from wizard.service.accounts import Accounts

from .helpers.web import PASSWORDS, ROLES, Server, current_key, field, serve
from .test_web_team import ROUTE, answer_in_both_tabs, at_once, audit

pytestmark = pytest.mark.skipif(sys.platform != "linux",
                                reason="which worker answered is read from Linux's /proc")


def _stat(pid: int) -> list[str]:
    """The fields of /proc/PID/stat after the command's name: state, parent, ..."""
    with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
        return fh.read().rsplit(")", 1)[1].split()


def worker_pids(server: Server) -> list[int]:
    """The server's worker processes (uvicorn starts them as multiprocessing children)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if int(_stat(int(entry))[1]) != server.proc.pid:
                continue
            with open(f"/proc/{entry}/cmdline", "rb") as fh:
                command = fh.read()
        except OSError:  # ended meanwhile
            continue
        if b"multiprocessing.spawn" in command:
            found.append(int(entry))
    return sorted(found)


def ended(pid: int) -> bool:
    try:
        return _stat(pid)[0] in ("Z", "X")  # a zombie has ended: only its parent's wait left
    except OSError:
        return True


def _sockets(pid: int) -> set[int]:
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(int(target[8:-1]))
    return inodes


def answered_by(response: httpx.Response, server: Server, pids: list[int]) -> int:
    """The worker that holds the server's end of the connection the response came on."""
    client_port = response.extensions["network_stream"].get_extra_info("client_addr")[1]
    with open("/proc/net/tcp", encoding="ascii") as fh:
        for line in fh.read().splitlines()[1:]:
            fields = line.split()
            local, remote = (int(f.rsplit(":", 1)[1], 16) for f in fields[1:3])
            if (local, remote) == (server.port, client_port):
                inode = int(fields[9])
                break
        else:
            raise AssertionError(f"no server end for client port {client_port}")
    owners = [pid for pid in pids if inode in _sockets(pid)]
    assert len(owners) == 1, owners
    return owners[0]


class Desk(NamedTuple):
    server: Server
    data: Path
    workers: list[int]
    tabs: list[httpx.Client]
    """Every client opened, closed at the end."""


def tab_on(desk: Desk, worker: int) -> tuple[httpx.Client, str]:
    """A new browser tab (its own connection, kept open) that the given worker answers,
    with the sign-in page it got. The kernel hands each new connection to one of the
    workers: a few tries find one of each."""
    for _ in range(60):
        http = httpx.Client(base_url=desk.server.url, timeout=30)
        desk.tabs.append(http)
        page = http.get("/login")
        if answered_by(page, desk.server, desk.workers) == worker:
            return http, page.text
    raise AssertionError(f"no connection went to worker {worker} in 60")


def sign_in(http: httpx.Client, page: str, name: str, password: str) -> httpx.Response:
    return http.post("/login", data={"csrf": field(page, "csrf"), "name": name,
                                     "password": password, "next": "/"},
                     follow_redirects=True)


def start_workers(server: Server) -> list[int]:
    """The two workers, once the server answers and both are running."""
    server.wait()
    pids = worker_pids(server)
    assert len(pids) == 2, (pids, server.log_path.read_text())
    return pids


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    data = tmp_path_factory.mktemp("workers") / "data"
    accounts = Accounts(data)
    for name, password in PASSWORDS.items():
        accounts.add(name, ROLES[name], password)
    with serve(data, "--no-checks", "--workers", "2") as server:
        desk = Desk(server, data, start_workers(server), [])
        yield desk
        for http in desk.tabs:
            http.close()


def test_failed_logins_are_refused_whichever_worker_answers(desk: Desk) -> None:
    one, two = desk.workers
    # six attempts at the same moment, three on each worker: five tried, one refused
    tabs = [tab_on(desk, worker) for worker in (one, two, one, two, one, two)]
    results = at_once([lambda http=http, page=page: sign_in(http, page, "alex",
                                                            "wrong-guess-1")
                       for http, page in tabs])
    assert Counter(r.status_code for r in results) == {401: 5, 429: 1}
    assert Counter(answered_by(r, desk.server, desk.workers) for r in results) == {
        one: 3, two: 3}
    # from then on each worker refuses, the right password or not
    for worker in (one, two, two, one):
        http, page = tab_on(desk, worker)
        r = sign_in(http, page, "alex", PASSWORDS["alex"])
        assert r.status_code == 429 and "Too many failed attempts" in r.text
        assert answered_by(r, desk.server, desk.workers) == worker
        assert 'name="password"' in r.text and "alex · staffer" not in r.text
    # another user from the same address signs in on either worker
    for worker in (one, two):
        http, page = tab_on(desk, worker)
        assert "sam · staffer" in sign_in(http, page, "sam", PASSWORDS["sam"]).text
    assert [e["event"] for e in audit(desk.data)].count("login_limited") == 5


def test_two_tabs_on_two_workers_answering_one_call_lose_and_double_nothing(
        desk: Desk) -> None:
    tabs = [tab_on(desk, worker)[0] for worker in desk.workers]
    for http in tabs:
        r = http.get("/login")
        assert "sam · staffer" in sign_in(http, r.text, "sam", PASSWORDS["sam"]).text
    started = tabs[0].post("/calls", data={"csrf": field(tabs[0].get("/").text, "csrf")},
                           follow_redirects=True)
    call_id = started.url.path.rsplit("/", 1)[-1]
    pages = [started.text, tabs[1].get(f"/calls/{call_id}").text]
    steps = 0
    workers: Counter[int] = Counter()
    while (key := current_key(desk.data, call_id)) is not None:
        shown = answer_in_both_tabs(tabs, pages, call_id, key)
        workers.update(answered_by(r, desk.server, desk.workers) for r in shown)
        pages = [r.text for r in shown]
        steps += 1
    assert set(workers) == set(desk.workers)  # each tab on its own worker throughout
    events = [json.loads(line) for line in
              (desk.data / "calls" / f"{call_id}.jsonl").read_text().splitlines()]
    answered = [(e["key"], e["value"]) for e in events if e["event"] == "answer"]
    assert len(answered) == steps and len({k for k, _ in answered}) == steps
    assert dict(answered) == {k: ROUTE[k] for k, _ in answered}
    assert "Not fixed (escalated to Tier 2)" in tabs[1].get(f"/calls/{call_id}").text


@pytest.mark.parametrize("how", ["SIGTERM to the server", "Ctrl-C: SIGINT to its group"])
def test_the_server_stops_cleanly_and_leaves_no_worker(tmp_path: Path, how: str) -> None:
    data = tmp_path / "data"
    Accounts(data).add("sam", "staffer", PASSWORDS["sam"])
    with serve(data, "--no-checks", "--workers", "2", own_group=True) as server:
        pids = start_workers(server)
        desk = Desk(server, data, pids, [])
        for worker in pids:  # both workers serve pages before the signal
            http, page = tab_on(desk, worker)
            assert "sam · staffer" in sign_in(http, page, "sam", PASSWORDS["sam"]).text
        for http in desk.tabs:
            http.close()
        if how.startswith("SIGTERM"):
            server.proc.send_signal(signal.SIGTERM)
        else:
            os.killpg(server.proc.pid, signal.SIGINT)
        assert server.proc.wait(timeout=30) == 0
    log = server.log_path.read_text()
    assert "Traceback" not in log and "Error" not in log, log
    for pid in pids:  # each worker shut down by itself, none left running
        assert f"Finished server process [{pid}]" in log, log
        assert ended(pid), pid
    assert f"Stopping parent process [{server.proc.pid}]" in log
    with socket.socket() as s:  # nothing listens on the port any more
        assert s.connect_ex(("127.0.0.1", server.port)) != 0
