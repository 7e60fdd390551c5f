"""The web desk's guards through Starlette's test client and on their own: every answer
carries the security headers (Starlette's own 404 and 405, an internal error), the
browser's address behind a proxy, the login limit's two counts, the session store's
bounds, and a fuzz of the forms (arbitrary fields and values never make a 500)."""

from __future__ import annotations

import sqlite3
import time
import warnings
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wizard.base.validate import networks
from wizard.frontends.web.app import Settings, create_app
from wizard.frontends.web.guards import BODY_LIMITS, FORM_LIMIT, BodyLimit, forwarded_client
from wizard.frontends.web.security import SECURITY_HEADERS, LoginLimiter
from wizard.service import sessions
from wizard.service.desk import Desk
from wizard.service.sessions import SessionStore

from .helpers.web import add_users, field, login, make_client, start_call

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

FUZZ_EXAMPLES = 150
"""Hypothesis examples per form in the fuzz tests below (the CI budget)."""


def has_headers(headers: object) -> bool:
    return all(headers[name.lower()] == value  # type: ignore[index]
               for name, value in SECURITY_HEADERS.items() if name != "Cache-Control")


def test_starlettes_own_answers_and_an_internal_error_carry_the_headers(
        data_dir: Path) -> None:
    add_users(data_dir)
    client = make_client(data_dir)
    missing = client.get("/no/such/page")
    assert missing.status_code == 404 and has_headers(missing.headers)
    wrong_method = client.put("/login")
    assert wrong_method.status_code == 405 and has_headers(wrong_method.headers)
    # a fault of the server's own: a journal folder that cannot be listed
    app = create_app(Settings(desk=Desk(data_dir=data_dir)))
    broken = TestClient(app, raise_server_exceptions=False)
    login(broken, "sam")

    def fail() -> object:
        raise RuntimeError("disk on fire")

    app.state.web.desk.journals = fail
    r = broken.get("/")
    assert r.status_code == 500 and has_headers(r.headers)
    assert "internal error" in r.text and "disk on fire" not in r.text


def test_the_browser_is_the_right_most_address_the_proxies_did_not_add() -> None:
    proxies = networks("127.0.0.1, 10.0.0.0/8")
    assert forwarded_client("203.0.113.5", proxies) == "203.0.113.5"
    assert forwarded_client("6.6.6.6, 203.0.113.5", proxies) == "203.0.113.5"
    assert forwarded_client("6.6.6.6, 203.0.113.5, 10.1.1.1", proxies) == "203.0.113.5"
    assert forwarded_client(" 2001:db8::1 , 127.0.0.1", proxies) == "2001:db8::1"
    assert forwarded_client("203.0.113.5, <script>", proxies) is None
    assert forwarded_client("10.0.0.3, 127.0.0.1", proxies) is None  # only proxies
    assert forwarded_client("", proxies) is None


def test_body_limits_come_from_one_table_per_route() -> None:
    guard = BodyLimit(app=None, limits={**BODY_LIMITS,  # type: ignore[arg-type]
                                        "/calls/{call_id}/packet": 8 * 1024 * 1024})
    assert guard.limit("/login") == BODY_LIMITS["/login"] < FORM_LIMIT
    assert guard.limit("/calls/abc-123/packet") == 8 * 1024 * 1024
    assert guard.limit("/calls/abc-123/answer") == FORM_LIMIT == 256 * 1024


def test_the_login_limit_counts_the_account_as_well_as_the_address(tmp_path: Path) -> None:
    limiter = LoginLimiter(tmp_path, attempts=3, account_attempts=5, window=60)
    assert [limiter.attempt("kim", "10.0.0.1") for _ in range(4)][-1] > 0  # per address
    assert limiter.attempt("Kim", "10.0.0.2") == 0 and limiter.attempt("kim", "10.0.0.2") == 0
    assert limiter.attempt("kim", "10.0.0.3") > 0  # five for the account: a new one waits
    assert limiter.attempt("sam", "10.0.0.3") == 0
    limiter.succeeded("kim", "10.0.0.2")  # the user's own failures go, the others stay
    assert [limiter.attempt("kim", "10.0.0.4") for _ in range(3)][:2] == [0, 0]
    assert limiter.attempt("kim", "10.0.0.5") > 0  # the three from 10.0.0.1 still count
    wait = limiter.attempt("kim", "10.0.0.9")
    assert 0 < wait <= 60


def test_a_session_ends_idle_or_old_and_anonymous_ones_are_bounded(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = SessionStore(tmp_path, idle=60, max_age=3600)
    sid = store.save(None, {"user": "sam", "csrf": "t"})
    assert sid is not None and store.load(sid) is not None
    loaded = store.load(sid)
    assert loaded is not None and store.save(loaded, {"user": "lee"}) != sid  # new user
    assert store.load(sid) is None
    sid = store.save(None, {"user": "sam"})
    assert sid is not None
    now = time.time()
    monkeypatch.setattr(sessions.time, "time", lambda: now + 61)
    assert store.load(sid) is None  # idle
    kept = store.save(None, {"user": "sam"})
    assert kept is not None
    for step in range(1, 60):  # used every minute: ended after the day's length all the same
        monkeypatch.setattr(sessions.time, "time", lambda step=step: now + 61 + step * 59)
        live = store.load(kept)
        assert live is not None, step
        store.touch(live)
    monkeypatch.setattr(sessions.time, "time", lambda: now + 61 + 3601)
    assert store.load(kept) is None
    monkeypatch.setattr(sessions, "ANONYMOUS_KEPT", 20)
    for _ in range(50):
        store.save(None, {"csrf": "x"})
    db = store.file.connect()
    try:
        assert db.execute("SELECT COUNT(*) FROM sessions WHERE user IS NULL"
                          ).fetchone() == (20,)
    finally:
        db.close()
    big = store.save(None, {"user": "sam", "flash": [["info", "x" * 100_000]]})
    assert big is not None
    again = store.load(big)
    assert again is not None and again.data == {"user": "sam"}


# -- fuzz --------------------------------------------------------------------------------

TEXT = st.text(st.characters(codec="utf-8"), max_size=300)
FIELDS = st.dictionaries(st.sampled_from(["name", "password", "next", "csrf", "value",
                                          "step", "text", "kind", "reason", "key",
                                          "practice", "to", "ticket"]) | TEXT,
                         TEXT | st.just(""), max_size=8)


@pytest.fixture(scope="module")
def fuzz_desk(tmp_path_factory: pytest.TempPathFactory) -> tuple[TestClient, str]:
    data = tmp_path_factory.mktemp("fuzz") / "data"
    add_users(data)
    client = TestClient(create_app(Settings(desk=Desk(data_dir=data), checks=False)),
                        follow_redirects=True)  # a 500 raises its exception here
    login(client, "lee")
    call_id, _ = start_call(client)
    client.follow_redirects = False
    return client, call_id


PATHS = ["/calls", "/logout", "/calls/{id}/answer", "/calls/{id}/note",
         "/calls/{id}/sensitive", "/calls/{id}/quit", "/calls/{id}/abandon",
         "/calls/{id}/change", "/calls/{id}/send"]


def test_a_session_that_cannot_be_kept_still_shows_the_page_whose_work_is_done(
        data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A full disk met only by the session store (what the page keeps for the next
    one: here the "Note saved." message) after the call's journal took the note: the
    answer is the page of the work done, not "try again", which would have the note
    written twice."""
    add_users(data_dir)
    client = make_client(data_dir)
    login(client, "sam")
    call_id, page = start_call(client)

    def full(*args: object) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(SessionStore, "save", full)
    monkeypatch.setattr(SessionStore, "touch", full)
    r = client.post(f"/calls/{call_id}/note", data={
        "csrf": field(page, "csrf"), "step": field(page, "step"), "text": "caller on mobile"})
    assert r.status_code == 200, r.text
    assert "could not keep your session" not in r.text
    assert "What is the call about?" in r.text  # the same question, the note taken
    from wizard.calls.journal import JournalFolder
    assert JournalFolder(data_dir).load(call_id).notes["intake.call_type"] == \
        ["caller on mobile"]


@settings(max_examples=FUZZ_EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(fields=FIELDS, real_csrf=st.booleans())
def test_fuzz_the_login_form(fuzz_desk: tuple[TestClient, str],
                             fields: dict[str, str], real_csrf: bool) -> None:
    client, _ = fuzz_desk
    anonymous = TestClient(client.app, follow_redirects=False)
    page = anonymous.get("/login")
    if real_csrf:
        fields = {**fields, "csrf": field(page.text, "csrf")}
    r = anonymous.post("/login", data=fields)
    assert r.status_code in (303, 401, 403, 413, 429), r.text


@settings(max_examples=FUZZ_EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(path=st.sampled_from(PATHS), fields=FIELDS, real_csrf=st.booleans(),
       query=st.dictionaries(TEXT, TEXT, max_size=3))
def test_fuzz_the_call_pages(fuzz_desk: tuple[TestClient, str], path: str,
                             fields: dict[str, str], real_csrf: bool,
                             query: dict[str, str]) -> None:
    client, call_id = fuzz_desk
    home = client.get("/")
    if home.status_code != 200:  # signed out by an earlier example
        client.follow_redirects = True
        login(client, "lee")
        client.follow_redirects = False
        home = client.get("/")
    if real_csrf:
        fields = {**fields, "csrf": field(home.text, "csrf")}
    target = path.replace("{id}", call_id)
    r = client.post(target, data=fields, params=query)
    assert r.status_code < 500, r.text
    for page in (f"/calls/{call_id}", f"/calls/{call_id}/change", "/report", "/"):
        shown = client.get(page, params=query)
        assert shown.status_code < 500, shown.text


def test_every_sign_in_gives_a_new_session_id(data_dir: Path) -> None:
    add_users(data_dir)
    client = make_client(data_dir)
    client.get("/login")
    before = client.cookies["ipsec_triage_session"]  # known before: e.g. planted
    login(client, "sam")
    first = client.cookies["ipsec_triage_session"]
    assert first != before
    page = client.post("/login", data={"csrf": field(client.get("/").text, "csrf"),
                                       "name": "sam", "password": "sam-password-1"})
    assert "sam · staffer" in page.text
    assert client.cookies["ipsec_triage_session"] not in (before, first)
    for old in (before, first):
        planted = TestClient(client.app, cookies={"ipsec_triage_session": old},
                             follow_redirects=False)
        assert planted.get("/").status_code == 303


@pytest.mark.parametrize("broken", ["the session store", "the login limit"])
def test_a_full_disk_answers_503_and_signs_nobody_in(
        data_dir: Path, monkeypatch: pytest.MonkeyPatch, broken: str) -> None:
    add_users(data_dir)
    client = make_client(data_dir)
    page = client.get("/login").text

    def full(*args: object) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    if broken == "the session store":
        monkeypatch.setattr(SessionStore, "save", full)
        told = "could not keep your session (database or disk is full)"
    else:
        monkeypatch.setattr(LoginLimiter, "attempt", full)
        told = "cannot count sign-in attempts (database or disk is full)"
    r = client.post("/login", data={"csrf": field(page, "csrf"), "name": "sam",
                                    "password": "sam-password-1"}, follow_redirects=False)
    assert r.status_code == 503 and told in r.text
    assert "location" not in r.headers and "set-cookie" not in r.headers
    assert has_headers(r.headers)
    monkeypatch.undo()
    assert client.get("/", follow_redirects=False).status_code == 303  # not signed in


@settings(max_examples=FUZZ_EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(path=st.sampled_from(["/login", *PATHS]), body=st.binary(max_size=2000),
       kind=st.sampled_from(["application/x-www-form-urlencoded",
                             "multipart/form-data; boundary=xyz", "multipart/form-data",
                             "text/plain", "application/x-www-form-urlencoded; charset=latin-1"]))
def test_fuzz_raw_bodies(fuzz_desk: tuple[TestClient, str], path: str, body: bytes,
                         kind: str) -> None:
    client, call_id = fuzz_desk
    r = client.post(path.replace("{id}", call_id), content=body,
                    headers={"Content-Type": kind})
    assert r.status_code < 500, r.text


def test_a_users_file_broken_while_the_desk_runs_is_a_page_not_an_internal_error(
        data_dir: Path) -> None:
    """users.json edited by hand with a mistake under a running desk: a signed-in
    user's next page says sign-in is not possible and how the mistake is found, with
    no path of the server and no traceback."""
    add_users(data_dir)
    client = make_client(data_dir)
    login(client, "sam")
    users = data_dir / "users.json"
    users.write_text('{"users": [{"name": "sam", "hash": 5}]}', encoding="utf-8")
    r = client.get("/")
    assert r.status_code == 503
    assert "cannot be read" in r.text and "ipsec-triage users list" in r.text
    assert str(data_dir) not in r.text and "Traceback" not in r.text
    assert has_headers(r.headers)
    other = make_client(data_dir)  # and the sign-in of someone else
    r = other.post("/login", data={"csrf": field(other.get("/login").text, "csrf"),
                                   "name": "lee", "password": "lee-password-1"})
    assert r.status_code == 503 and "cannot be read" in r.text and "Traceback" not in r.text
