"""A team's server: two ``ipsec-triage serve`` processes on one data folder, as the
workers of one server are, reached over real loopback HTTP. The login limit and the
per-call lock hold across them; single sign-on trusts its header only from the
proxy's address."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import httpx
import pytest

from wizard.calls.engine import Engine
from wizard.service.accounts import Accounts

from .helpers.calls import shipped
from .helpers.web import PASSWORDS, ROLES, current_key, field, serve

T = TypeVar("T")
SSO = ["--sso-header", "X-Remote-User", "--sso-from", "127.0.0.1"]


def stale(page: str) -> bool:
    """Whether the page tells that its form was refused as stale."""
    return "already moved past" in page or "has already ended" in page


@pytest.fixture(scope="module")
def team(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[list[str], Path]]:
    """Two server processes on one data folder (both trusting X-Remote-User from
    127.0.0.1), started at the same time."""
    data = tmp_path_factory.mktemp("team") / "data"
    accounts = Accounts(data)
    for name, password in PASSWORDS.items():
        accounts.add(name, ROLES[name], password)
    accounts.add("dana", "staffer", "dana-password-1")
    accounts.disable("dana")
    with serve(data, "--no-checks", *SSO) as first, serve(data, "--no-checks", *SSO) as second:
        yield [first.wait(), second.wait()], data


def client(url: str, source: str = "127.0.0.1", **headers: str) -> httpx.Client:
    transport = httpx.HTTPTransport(local_address=source)
    return httpx.Client(base_url=url, transport=transport, headers=headers, timeout=30)


def sign_in(http: httpx.Client, name: str, password: str) -> httpx.Response:
    page = http.get("/login").text
    return http.post("/login", data={"csrf": field(page, "csrf"), "name": name,
                                     "password": password, "next": "/"},
                     follow_redirects=True)


def at_once(jobs: list[Callable[[], T]]) -> list[T]:
    """Run the jobs in threads released at the same moment; their results in order."""
    go = threading.Barrier(len(jobs))
    results: list[T | None] = [None] * len(jobs)

    def run(i: int) -> None:
        go.wait()
        results[i] = jobs[i]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(jobs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(r is not None for r in results), "a request failed"
    return [r for r in results if r is not None]


def audit(data: Path) -> list[dict[str, str]]:
    return [json.loads(line) for line in (data / "audit.log").read_text().splitlines()]


def test_failed_logins_count_on_every_worker_of_the_server(
        team: tuple[list[str], Path]) -> None:
    (one, two), data = team
    a, b = client(one), client(two)
    # six attempts at the same moment, three on each worker: five are tried, one refused
    clients = [client(url) for url in (one, two) for _ in range(3)]
    pages = [http.get("/login").text for http in clients]
    results = at_once([lambda http=http, page=page: http.post("/login", data={
        "csrf": field(page, "csrf"), "name": "alex", "password": "wrong-guess-1",
        "next": "/"}).status_code for http, page in zip(clients, pages, strict=True)])
    assert Counter(results) == {401: 5, 429: 1}
    for http in (a, b):  # from then on refused on both workers, right password or not
        r = sign_in(http, "alex", PASSWORDS["alex"])
        assert r.status_code == 429 and "Too many failed attempts" in r.text
    # another user from the same address signs in on either worker
    assert "sam · staffer" in sign_in(a, "sam", PASSWORDS["sam"]).text
    assert [e["event"] for e in audit(data)].count("login_limited") == 3


ROUTE = next(a for a, s in Engine(shipped()).paths()
             if s.visit.node_key == "fig7_2.escalate_caller")


def answer_in_both_tabs(tabs: list[httpx.Client], pages: list[str], call_id: str,
                        key: str) -> list[httpx.Response]:
    """Both tabs post the route's answer to the step their page shows, at the same
    moment: one answer is taken, the other form refused with the current question."""
    assert field(pages[0], "step") == field(pages[1], "step")
    shown = at_once([lambda http=http, page=page, value=ROUTE[key]: http.post(
        f"/calls/{call_id}/answer", follow_redirects=True, data={
            "csrf": field(page, "csrf"), "step": field(page, "step"), "value": value})
        for http, page in zip(tabs, pages, strict=True)])
    assert [r.status_code for r in shown] == [200, 200]
    assert sum(stale(r.text) for r in shown) == 1, key
    return shown


def test_two_workers_answering_one_call_at_once_lose_and_double_nothing(
        team: tuple[list[str], Path]) -> None:
    (one, two), data = team
    tabs = [client(one), client(two)]
    for http in tabs:
        sign_in(http, "sam", PASSWORDS["sam"])
    started = tabs[0].post("/calls", data={"csrf": field(tabs[0].get("/").text, "csrf")},
                           follow_redirects=True)
    call_id = started.url.path.rsplit("/", 1)[-1]
    steps = 0
    pages = [started.text, tabs[1].get(f"/calls/{call_id}").text]
    while (key := current_key(data, call_id)) is not None:
        pages = [r.text for r in answer_in_both_tabs(tabs, pages, call_id, key)]
        steps += 1
    events = [json.loads(line) for line in
              (data / "calls" / f"{call_id}.jsonl").read_text().splitlines()]
    answered = [e["key"] for e in events if e["event"] == "answer"]
    assert len(answered) == steps and Counter(answered) == Counter(set(answered))
    assert {k: ROUTE[k] for k in answered} == {e["key"]: e["value"] for e in events
                                                if e["event"] == "answer"}
    end = tabs[1].get(f"/calls/{call_id}").text
    assert "Not fixed (escalated to Tier 2)" in end


def test_single_sign_on_trusts_the_header_only_from_the_proxy(
        team: tuple[list[str], Path]) -> None:
    (one, two), data = team
    proxied = client(two, **{"X-Remote-User": "sam"})
    home = proxied.get("/")
    assert home.status_code == 200 and "sam · staffer" in home.text
    started = proxied.post("/calls", data={"csrf": field(home.text, "csrf")},
                           follow_redirects=True)
    call_id = started.url.path.rsplit("/", 1)[-1]
    assert json.loads((data / "calls" / f"{call_id}.jsonl").read_text()
                      .splitlines()[0])["staffer"] == "sam"
    # the role is the users file's
    assert "lee · lead" in client(one, **{"X-Remote-User": "LEE"}).get("/").text
    # from another address the header is ignored (and audited): sign in first
    forged = client(one, source="127.0.0.2", **{"X-Remote-User": "lee"})
    r = forged.get("/")
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    assert forged.get(f"/calls/{call_id}").status_code == 303
    # a user not in the users file, or disabled, is not let in: told why, on any page,
    # with no sign-in form (while the proxy names them, a password would not help)
    for name in ("nobody", "dana"):
        refused = client(one, **{"X-Remote-User": name})
        for path in ("/", "/login", f"/calls/{call_id}"):
            r = refused.get(path)
            assert r.status_code == 403 and "No access to the help desk" in r.text, path
            assert 'name="password"' not in r.text and call_id not in r.text
    # the session lasts only as long as the proxy vouches for it
    proxied.headers.pop("X-Remote-User")
    assert proxied.get("/").status_code == 303
    events = [(e["event"], e["user"], e["address"], e.get("via", "")) for e in audit(data)]
    assert ("login", "sam", "127.0.0.1", "sso") in events
    assert ("sso_untrusted", "lee", "127.0.0.2", "") in events
    assert ("sso_refused", "nobody", "127.0.0.1", "") in events
    assert ("sso_refused", "dana", "127.0.0.1", "") in events
