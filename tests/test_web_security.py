"""Attacks on the web desk, made against real ``ipsec-triage serve`` processes over
loopback HTTP: two servers on one data folder, as the workers of one server are, and one
``serve --workers 2`` (sessions, the login limit and the audit log are the data
folder's). A cookie copied before sign-out, a new password or a disabled account opens
nothing on either; a session idle too long has ended; switching source address or
forging ``X-Forwarded-For`` gives no more login tries; a doubled single-sign-on header
is refused; a huge request body is refused before it is read (the server's memory stays
put)."""

from __future__ import annotations

import base64
import contextlib
import json
import re
import select
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from wizard.service.accounts import Accounts

from .helpers.run import PYTHON, cli_env
from .helpers.web import PASSWORDS, Server, add_users, field, serve
from .test_web_workers import Desk, answered_by, tab_on
from .test_web_workers import desk as desk  # the fixture: one serve --workers 2

PROXY = "127.0.0.1"
"""The reverse proxy's address the servers trust (``--proxy``)."""
SSO_FROM = "127.0.0.9"
"""The single-sign-on proxy's address (``--sso-from``)."""
OTHERS = {"kim": "kim-password-1", "jo": "jo-password-1", "pat": "pat-password-1",
          "ray": "ray-password-1", "val": "val-password-1"}


class Team:
    def __init__(self, data: Path, servers: list[Server]) -> None:
        self.data = data
        self.servers = servers
        self.urls = [s.url for s in servers]


@pytest.fixture(scope="module")
def team(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Team]:
    data = tmp_path_factory.mktemp("websec") / "data"
    add_users(data)
    accounts = Accounts(data)
    for name, password in OTHERS.items():
        accounts.add(name, "staffer", password)
    args = ["--no-checks", "--proxy", PROXY, "--sso-header", "X-Remote-User",
            "--sso-from", SSO_FROM]
    with serve(data, *args) as one, serve(data, *args) as two:
        one.wait()
        two.wait()
        yield Team(data, [one, two])


def client(url: str, source: str = "127.0.0.1", **headers: str) -> httpx.Client:
    return httpx.Client(base_url=url, transport=httpx.HTTPTransport(local_address=source),
                        headers=headers, timeout=30)


def sign_in(http: httpx.Client, name: str, password: str,
            headers: dict[str, str] | None = None) -> httpx.Response:
    page = http.get("/login", headers=headers).text
    return http.post("/login", headers=headers, follow_redirects=True, data={
        "csrf": field(page, "csrf"), "name": name, "password": password, "next": "/"})


def audit(data: Path) -> list[dict[str, str]]:
    return [json.loads(line) for line in (data / "audit.log").read_text().splitlines()]


def calls_of(data: Path) -> set[str]:
    folder = data / "calls"
    return {p.name for p in folder.glob("*.jsonl")} if folder.exists() else set()


def signed_out(url: str, cookie: str, home_csrf: str) -> None:
    """The cookie opens no page and starts no call (a copy of it, on a new connection)."""
    with httpx.Client(base_url=url, timeout=30,
                      cookies={"ipsec_triage_session": cookie}) as thief:
        home = thief.get("/", follow_redirects=False)
        assert home.status_code == 303 and home.headers["location"].startswith("/login")
        started = thief.post("/calls", data={"csrf": home_csrf}, follow_redirects=False)
        assert started.status_code == 403 and "Your session has ended" in started.text


# -- sessions ---------------------------------------------------------------------------


def test_a_cookie_copied_before_sign_out_opens_nothing_on_either_worker(team: Team) -> None:
    one, two = team.urls
    http = client(one)
    home = sign_in(http, "sam", PASSWORDS["sam"])
    assert "sam · staffer" in home.text
    cookie = http.cookies["ipsec_triage_session"]
    csrf = field(home.text, "csrf")
    with httpx.Client(base_url=two, cookies={"ipsec_triage_session": cookie}) as other:
        assert "sam · staffer" in other.get("/").text  # the same session on the other
        out = other.post("/logout", data={"csrf": csrf}, follow_redirects=True)
        assert "Sign in" in out.text
    before = calls_of(team.data)
    for url in (one, two):
        signed_out(url, cookie, csrf)
    assert calls_of(team.data) == before
    assert ("logout", "sam") in {(e["event"], e["user"]) for e in audit(team.data)}


@pytest.mark.skipif(sys.platform != "linux", reason="which worker answered: Linux's /proc")
def test_sign_out_on_one_worker_ends_the_session_on_the_other(desk: Desk) -> None:
    one, two = desk.workers
    http, page = tab_on(desk, one)
    home = http.post("/login", follow_redirects=True, data={
        "csrf": field(page, "csrf"), "name": "lee", "password": PASSWORDS["lee"], "next": "/"})
    assert "lee · lead" in home.text and answered_by(home, desk.server, desk.workers) == one
    copied = {"Cookie": f"ipsec_triage_session={http.cookies['ipsec_triage_session']}"}
    csrf = field(home.text, "csrf")
    other, _ = tab_on(desk, two)
    other.cookies.clear()
    shown = other.get("/", headers=copied)
    assert "lee · lead" in shown.text and answered_by(shown, desk.server, desk.workers) == two
    out = other.post("/logout", headers=copied, data={"csrf": csrf})
    assert out.status_code == 303 and answered_by(out, desk.server, desk.workers) == two
    for worker in (one, two, one, two):  # the copy opens nothing on either worker
        tab, _ = tab_on(desk, worker)
        tab.cookies.clear()
        r = tab.get("/", headers=copied)
        assert r.status_code == 303 and r.headers["location"].startswith("/login")
        started = tab.post("/calls", headers=copied, data={"csrf": csrf})
        assert started.status_code == 403 and "Your session has ended" in started.text
        assert answered_by(started, desk.server, desk.workers) == worker


@pytest.mark.parametrize("how", ["passwd", "disable"])
def test_a_new_password_or_a_disabled_account_ends_its_sessions_on_both(
        team: Team, how: str) -> None:
    name = "pat" if how == "passwd" else "ray"
    tabs = [client(url) for url in team.urls]
    homes = [sign_in(http, name, OTHERS[name]) for http in tabs]
    assert all(f"{name} · staffer" in h.text for h in homes)
    cookies = [http.cookies["ipsec_triage_session"] for http in tabs]
    command = [PYTHON, "-m", "wizard", "users", how, name]
    if how == "passwd":
        command.append("--password-stdin")
    done = subprocess.run(command, input="another-password-1\n", text=True,
                          capture_output=True, env=cli_env(team.data), timeout=120)
    assert done.returncode == 0, done.stderr
    for cookie, home in zip(cookies, homes, strict=True):
        for url in team.urls:
            signed_out(url, cookie, field(home.text, "csrf"))
    with sqlite3.connect(team.data / "sessions.sqlite3") as db:  # gone from the server
        assert db.execute("SELECT COUNT(*) FROM sessions WHERE user = ?",
                          (name,)).fetchone() == (0,)


def post_answer(http: httpx.Client, call_id: str, page: str, value: str) -> httpx.Response:
    return http.post(f"/calls/{call_id}/answer", follow_redirects=False, data={
        "csrf": field(page, "csrf"), "step": field(page, "step"), "value": value})


def test_the_cookie_is_an_opaque_id_and_flash_text_stays_on_the_server(team: Team) -> None:
    http = client(team.urls[0])
    home = sign_in(http, "alex", PASSWORDS["alex"])
    cookie = http.cookies["ipsec_triage_session"]
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", cookie)
    started = http.post("/calls", data={"csrf": field(home.text, "csrf")},
                        follow_redirects=True)
    call_id = started.url.path.rsplit("/", 1)[-1]
    machine = http.get(post_answer(http, call_id, started.text, "reach").headers["location"])
    # a share path typed where the computer is asked: the page tells the computer in it
    r = post_answer(http, call_id, machine.text, "\\\\ws-secret-host\\payroll")
    assert r.status_code == 303 and "set-cookie" not in r.headers
    shown = http.get(r.headers["location"])
    assert "The computer in \\\\ws-secret-host\\payroll is ws-secret-host" in shown.text
    assert http.cookies["ipsec_triage_session"] == cookie  # the flash never in the cookie
    assert "secret" not in base64.urlsafe_b64decode(cookie + "=").decode("latin-1")
    with sqlite3.connect(team.data / "sessions.sqlite3") as db:  # only its digest kept
        assert db.execute("SELECT COUNT(*) FROM sessions WHERE id = ?",
                          (cookie,)).fetchone() == (0,)
        assert all("ws-secret-host" not in data for (data,) in
                   db.execute("SELECT data FROM sessions"))  # shown once, then gone


def test_a_session_idle_longer_than_the_timeout_has_ended(tmp_path: Path) -> None:
    data = tmp_path / "data"
    Accounts(data).add("sam", "staffer", PASSWORDS["sam"])
    with serve(data, "--no-checks", "--idle-timeout", "0.05") as server:  # 3 seconds
        server.wait()
        busy, idle = client(server.url), client(server.url)
        for http in (busy, idle):
            assert "sam · staffer" in sign_in(http, "sam", PASSWORDS["sam"]).text
        for _ in range(6):  # 4.8 s of a page every 0.8 s: still signed in
            time.sleep(0.8)
            assert busy.get("/", follow_redirects=False).status_code == 200
        r = idle.get("/", follow_redirects=False)  # 5 s without a page: ended
        assert r.status_code == 303 and r.headers["location"].startswith("/login")
        assert busy.get("/", follow_redirects=False).status_code == 200


def test_serve_refuses_an_idle_timeout_that_is_not_minutes(tmp_path: Path) -> None:
    data = tmp_path / "data"
    Accounts(data).add("sam", "staffer", PASSWORDS["sam"])
    for bad in ("soon", "0", "-5", "9999"):
        r = subprocess.run([PYTHON, "-m", "wizard", "serve", "--port", "1",
                            "--idle-timeout", bad], capture_output=True, text=True,
                           env=cli_env(data), timeout=120)
        assert r.returncode == 2, r.stderr
        assert r.stderr.strip().count("\n") == 0 and "Traceback" not in r.stderr
        assert f"serve --idle-timeout: '{bad}' is not a number of minutes" in r.stderr


# -- the login limit --------------------------------------------------------------------


def wrong(http: httpx.Client, name: str, headers: dict[str, str] | None = None) -> int:
    return sign_in(http, name, "wrong-guess-1", headers).status_code


def test_switching_source_address_gives_no_more_tries(team: Team) -> None:
    one, two = team.urls
    codes = [wrong(client(url, source=f"127.0.0.{2 + i // 5}"), "kim")
             for i, url in enumerate([one, two] * 5)]
    assert codes == [401] * 5 + [401] * 5  # five from each of two addresses
    # the account has had its ten tries: a third address is refused, on both workers
    for url, source in ((one, "127.0.0.4"), (two, "127.0.0.5")):
        assert wrong(client(url, source=source), "kim") == 429
        r = sign_in(client(url, source=source), "kim", OTHERS["kim"])
        assert r.status_code == 429 and "Too many failed attempts" in r.text
        assert "kim · staffer" not in r.text
    # another user on those addresses is not locked out
    assert "sam · staffer" in sign_in(client(one, source="127.0.0.4"), "sam",
                                      PASSWORDS["sam"]).text


def test_a_forged_forwarded_address_is_limited_and_the_real_peer_audited(
        team: Team) -> None:
    http = client(team.urls[0])  # a local process, where the trusted proxy also is
    codes = [wrong(http, "jo", {"X-Forwarded-For": f"203.0.113.{i}"}) for i in range(12)]
    assert codes == [401] * 10 + [429] * 2
    r = sign_in(http, "jo", OTHERS["jo"], {"X-Forwarded-For": "203.0.113.99"})
    assert r.status_code == 429
    lines = [e for e in audit(team.data) if e["user"] == "jo"]
    assert [e["event"] for e in lines] == ["login_failed"] * 10 + ["login_limited"] * 3
    assert [e["address"] for e in lines][:3] == ["203.0.113.0", "203.0.113.1",
                                                 "203.0.113.2"]
    assert {e.get("peer") for e in lines} == {"127.0.0.1"}


def test_the_browser_is_the_right_most_untrusted_forwarded_address(team: Team) -> None:
    http = client(team.urls[0])
    for chain, seen in (("198.51.100.7, 192.0.2.44", "192.0.2.44"),   # forged, then real
                        ("192.0.2.45, 127.0.0.1", "192.0.2.45"),       # two proxies
                        ("192.0.2.46, not-an-address", "127.0.0.1")):  # nothing believed
        wrong(http, "val", {"X-Forwarded-For": chain})
        line = [e for e in audit(team.data) if e["user"] == "val"][-1]
        assert line["address"] == seen, chain
    # from an address that is not the proxy's, the header is ignored
    wrong(client(team.urls[0], source="127.0.0.6"), "val", {"X-Forwarded-For": "192.0.2.47"})
    line = [e for e in audit(team.data) if e["user"] == "val"][-1]
    assert line["address"] == "127.0.0.6" and "peer" not in line


# -- single sign-on ---------------------------------------------------------------------


def test_a_doubled_single_sign_on_header_is_refused(team: Team) -> None:
    for url in team.urls:
        with httpx.Client(base_url=url, timeout=30,
                          transport=httpx.HTTPTransport(local_address=SSO_FROM)) as http:
            one = http.get("/", headers=[("X-Remote-User", "lee")])
            assert one.status_code == 200 and "lee · lead" in one.text
            http.cookies.clear()
            two = http.get("/", headers=[("X-Remote-User", "sam"), ("X-Remote-User", "lee")])
            assert two.status_code == 400 and "names its user twice" in two.text
            assert "set-cookie" not in two.headers
            assert two.headers["x-frame-options"] == "DENY"
    refused = [e for e in audit(team.data) if e["event"] == "sso_duplicate"]
    assert len(refused) == 2 and refused[0]["address"] == SSO_FROM


# -- request bodies ---------------------------------------------------------------------


def rss(pid: int) -> int:
    """The process's resident memory in bytes (Linux's /proc)."""
    with open(f"/proc/{pid}/status", encoding="ascii") as fh:
        kib = next(line for line in fh if line.startswith("VmRSS:")).split()[1]
    return int(kib) * 1024


def huge_post(port: int, path: str, *, declared: int | None, sent: int,
              cookie: str = "") -> str:
    """POST ``sent`` bytes to ``path`` (declaring ``declared`` as its Content-Length,
    or chunked when None) until the server answers; returns its status line."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                "Content-Type: application/x-www-form-urlencoded\r\n")
        if cookie:
            head += f"Cookie: ipsec_triage_session={cookie}\r\n"
        head += (f"Content-Length: {declared}\r\n" if declared is not None
                 else "Transfer-Encoding: chunked\r\n")
        s.sendall((head + "\r\n").encode("ascii"))
        chunk = b"a=" + b"x" * (64 * 1024 - 2)
        done = 0
        answer = b""
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            while done < sent:
                if select.select([s], [], [], 0)[0]:
                    break
                s.sendall(chunk if declared is not None
                          else b"%x\r\n%s\r\n" % (len(chunk), chunk))
                done += len(chunk)
        with contextlib.suppress(ConnectionResetError):
            while b"\r\n" not in answer:
                got = s.recv(4096)
                if not got:
                    break
                answer += got
        return answer.split(b"\r\n", 1)[0].decode("ascii", "replace")


def test_huge_bodies_are_refused_413_and_the_server_stays_small(team: Team) -> None:
    server = team.servers[0]
    http = client(server.url)
    sign_in(http, "lee", PASSWORDS["lee"])
    cookie = http.cookies["ipsec_triage_session"]
    before = rss(server.proc.pid)
    # (path, Content-Length or chunked, signed in, the answer)
    attacks = [("/login", 975 * 1024 * 1024, False, 413), ("/login", None, False, 413),
               ("/calls", None, True, 413), ("/calls", 975 * 1024 * 1024, False, 413),
               ("/login", 20_000, False, 413),
               # not read at all: refused for what it is before any body is asked for
               ("/calls", None, False, 403), ("/nowhere", None, False, 404)]
    expected = [f"HTTP/1.1 {a[3]} " for a in attacks]
    results: list[str] = [""] * len(attacks)

    def attack(i: int) -> None:
        path, declared, signed, _ = attacks[i]
        results[i] = huge_post(server.port, path, declared=declared, sent=32 * 1024 * 1024,
                               cookie=cookie if signed else "")

    for round_ in range(2):  # all at once, twice
        threads = [threading.Thread(target=attack, args=(i,)) for i in range(len(attacks))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert [r[:13] for r in results] == expected, (round_, results)
    assert rss(server.proc.pid) - before < 40 * 1024 * 1024
    # the server answers as before
    assert "lee · lead" in http.get("/").text
    assert "Traceback" not in server.log_path.read_text()


def test_a_413_answer_says_why_and_carries_the_headers(team: Team) -> None:
    http = client(team.urls[1])
    page = http.get("/login").text
    r = http.post("/login", data={"csrf": field(page, "csrf"), "name": "sam",
                                  "password": "x" * 20_000})
    assert r.status_code == 413 and "larger than this page takes (16 KiB)" in r.text
    assert r.headers["content-security-policy"].startswith("default-src 'none'")
    assert "Wrong user name" not in r.text
