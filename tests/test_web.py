"""The help desk in the browser, through Starlette's test client: login, sessions,
CSRF, the login limit, other staffers' calls, and a call answered page by page."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from wizard.calls.journal import JournalFolder
from wizard.service.accounts import Accounts

from .helpers.calls import route_to
from .helpers.web import (
    add_users,
    answer,
    current_key,
    field,
    login,
    make_client,
    start_call,
)
from .test_checks_in_calls import INTAKE

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture
def desk_dir(data_dir: Path) -> Path:
    add_users(data_dir)
    return data_dir



def answer_all(client, data_dir: Path, call_id: str, page: str,  # type: ignore[no-untyped-def]
               answers: dict[str, str]) -> str:
    while (key := current_key(data_dir, call_id)) is not None:
        r = answer(client, call_id, page, answers[key])
        assert r.status_code == 200, r.text
        page = r.text
    return page


def audit(data_dir: Path) -> list[dict[str, str]]:
    path = data_dir / "audit.log"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


# -- login ---------------------------------------------------------------------------


def test_pages_need_a_login_and_the_session_cookie_is_httponly_and_lax(desk_dir: Path) -> None:
    client = make_client(desk_dir)
    r = client.get("/", follow_redirects=False)
    assert r.status_code == 307 or r.status_code == 303
    assert r.headers["location"].startswith("/login")
    page = client.get("/login")
    cookie = page.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "max-age=" in cookie
    assert "secure" not in cookie
    home = login(client, "sam")
    assert "sam · staffer" in home and "Start a call" in home
    out = client.post("/logout", data={"csrf": field(home, "csrf")})
    assert "Sign in" in out.text
    assert client.get("/", follow_redirects=False).status_code in (303, 307)
    events = [e["event"] for e in audit(desk_dir)]
    assert events == ["login", "logout"]


def test_https_makes_the_cookie_secure(desk_dir: Path) -> None:
    from starlette.testclient import TestClient

    from wizard.frontends.web.app import Settings, create_app
    from wizard.service.desk import Desk

    app = create_app(Settings(desk=Desk(data_dir=desk_dir), https=True))
    client = TestClient(app, base_url="https://testserver")
    assert "secure" in client.get("/login").headers["set-cookie"].lower()


def test_a_wrong_password_and_an_unknown_user_get_the_same_answer(desk_dir: Path) -> None:
    client = make_client(desk_dir)
    page = client.get("/login").text
    wrong = client.post("/login", data={"csrf": field(page, "csrf"), "name": "sam",
                                        "password": "not-it-at-all"})
    nobody = client.post("/login", data={"csrf": field(page, "csrf"), "name": "nobody",
                                         "password": "not-it-at-all"})
    assert wrong.status_code == nobody.status_code == 401
    assert "Wrong user name or password." in wrong.text and "Wrong user name" in nobody.text
    assert [e["event"] for e in audit(desk_dir)] == ["login_failed", "login_failed"]


def test_login_attempts_are_limited_per_user_and_address(desk_dir: Path) -> None:
    client = make_client(desk_dir)
    page = client.get("/login").text
    for _ in range(5):
        r = client.post("/login", data={"csrf": field(page, "csrf"), "name": "sam",
                                        "password": "guess-guess"})
        assert r.status_code == 401
    # the right password no longer helps from here for a while
    r = client.post("/login", data={"csrf": field(page, "csrf"), "name": "sam",
                                    "password": "sam-password-1"})
    assert r.status_code == 429 and "Too many failed attempts" in r.text
    # another user from the same address is not locked out
    assert "alex · staffer" in login(client, "alex")
    assert "login_limited" in [e["event"] for e in audit(desk_dir)]


def test_a_disabled_user_or_a_new_password_ends_the_session(desk_dir: Path) -> None:
    client = make_client(desk_dir)
    login(client, "sam")
    Accounts(desk_dir).passwd("sam", "a-new-password")
    assert client.get("/", follow_redirects=False).status_code in (303, 307)
    login(client, "sam", "a-new-password")
    Accounts(desk_dir).disable("sam")
    assert client.get("/", follow_redirects=False).status_code in (303, 307)
    page = client.get("/login").text
    r = client.post("/login", data={"csrf": field(page, "csrf"), "name": "sam",
                                    "password": "a-new-password"})
    assert r.status_code == 401


# -- CSRF --------------------------------------------------------------------------------


def test_a_form_without_its_csrf_token_is_refused_and_changes_nothing(desk_dir: Path) -> None:
    client = make_client(desk_dir)
    home = login(client, "sam")
    assert client.post("/calls", data={}).status_code == 403
    assert client.post("/calls", data={"csrf": "forged"}).status_code == 403
    assert JournalFolder(desk_dir).ids() == []
    call_id, page = start_call(client)
    r = client.post(f"/calls/{call_id}/answer", data={"step": field(page, "step"),
                                                       "value": "reach"})
    assert r.status_code == 403 and "nothing was changed" in r.text
    assert "<h1>Form refused</h1>" in r.text  # the page says so (was a browser test)
    assert JournalFolder(desk_dir).load(call_id).answers == {}
    # the login form carries one too
    fresh = make_client(desk_dir)
    r = fresh.post("/login", data={"name": "sam", "password": "sam-password-1"})
    assert r.status_code == 403
    assert field(home, "csrf")


# -- whose calls ---------------------------------------------------------------------------


def test_another_staffers_call_is_answered_404_like_a_missing_one(desk_dir: Path) -> None:
    sam = make_client(desk_dir)
    login(sam, "sam")
    call_id, page = start_call(sam)
    answer(sam, call_id, page, "reach")
    alex = make_client(desk_dir)
    home = login(alex, "alex")
    assert call_id not in home
    refused = alex.get(f"/calls/{call_id}")
    missing = alex.get("/calls/20990101-000000-ffff")
    assert refused.status_code == missing.status_code == 404
    strip = lambda text: re.sub(r'value="[^"]*"', "", text)  # noqa: E731
    assert strip(refused.text) == strip(missing.text)
    for path in ("history", "change", "abandon", "ticket.md"):
        assert alex.get(f"/calls/{call_id}/{path}").status_code == 404
    r = alex.post(f"/calls/{call_id}/answer", data={
        "csrf": field(home, "csrf"), "step": field(page, "step"), "value": "report"})
    assert r.status_code == 404
    assert JournalFolder(desk_dir).load(call_id).answers["intake.call_type"].value == "reach"
    refusals = [e for e in audit(desk_dir) if e["event"] == "call_refused"]
    assert refusals and all(e["user"] == "alex" for e in refusals)
    # a lead sees every call
    lee = make_client(desk_dir)
    assert call_id in login(lee, "lee")
    assert lee.get(f"/calls/{call_id}").status_code == 200
    opened = [e for e in audit(desk_dir) if e["event"] == "call_opened"]
    assert {e["user"] for e in opened} >= {"lee"}


# -- a call, page by page ----------------------------------------------------------------


def test_a_whole_call_to_the_ticket_with_the_staffer_logged_in(desk_dir: Path) -> None:
    client = make_client(desk_dir)
    login(client, "sam")
    call_id, page = start_call(client)
    assert "Step 1" in page and 'name="step"' in page
    end = answer_all(client, desk_dir, call_id, page, route_to("fig7_2.escalate_caller"))
    assert "Not fixed (escalated to Tier 2)" in end and "Escalate to:" in end
    assert "IPsec on the caller&#39;s computer" in end and "caller_ipsec" not in end
    md = client.get(f"/calls/{call_id}/ticket.md")
    assert md.status_code == 200
    assert md.headers["content-disposition"] == f'attachment; filename="{call_id}.ticket.md"'
    assert "Help-desk staffer | sam" in md.text
    txt = client.get(f"/calls/{call_id}/ticket.txt")
    assert "STATUS: Not fixed" in txt.text
    state = JournalFolder(desk_dir).load(call_id)
    assert state.staffer == "sam" and state.mode == "web"
    assert "Recently ended" in client.get("/").text
    assert "History" in client.get(f"/calls/{call_id}/history").text


def test_a_stale_form_is_refused_and_the_current_question_shown(desk_dir: Path) -> None:
    client = make_client(desk_dir)
    login(client, "sam")
    call_id, first = start_call(client)
    second = answer(client, call_id, first, "reach").text
    # a second click on the same form, or the back button: refused, nothing doubled
    again = answer(client, call_id, first, "report")
    assert "already moved past" in again.text
    assert field(again.text, "step") == field(second, "step")
    state = JournalFolder(desk_dir).load(call_id)
    assert state.answers["intake.call_type"].value == "reach" and not state.changes
    # two tabs: the one that answers first wins, the other is told
    tab_b = client.get(f"/calls/{call_id}").text
    answer(client, call_id, second, "ws-ann")
    late = answer(client, call_id, tab_b, "ws-bob")
    assert "already moved past" in late.text
    state = JournalFolder(desk_dir).load(call_id)
    assert len(state.answers) == 2
    assert state.answers["intake.caller_machine"].value == "ws-ann"
    # a reload shows the same question with the same step
    assert field(client.get(f"/calls/{call_id}").text, "step") == field(late.text, "step")


def test_typed_text_is_escaped_everywhere(desk_dir: Path) -> None:
    client = make_client(desk_dir)
    login(client, "sam")
    call_id, page = start_call(client)
    page = answer(client, call_id, page, "reach").text
    refused = answer(client, call_id, page, "<script>alert(1)</script>").text
    assert "<script>alert(1)" not in refused and "Invalid" in refused
    note = client.post(f"/calls/{call_id}/note", data={
        "csrf": field(page, "csrf"), "step": field(page, "step"), "text": "<b>bold</b>"})
    assert "&lt;b&gt;bold&lt;/b&gt;" in note.text and "<b>bold</b>" not in note.text
    answer(client, call_id, note.text, "ws-ann")
    history = client.get(f"/calls/{call_id}/history").text
    assert "<script>alert" not in history and "&lt;b&gt;bold" in history


def test_notes_changes_sensitive_requests_quit_and_resume(desk_dir: Path) -> None:
    client = make_client(desk_dir)
    login(client, "sam")
    call_id, page = start_call(client)
    page = answer(client, call_id, page, "reach").text
    page = answer(client, call_id, page, "ws-ann").text
    page = client.post(f"/calls/{call_id}/note", data={
        "csrf": field(page, "csrf"), "step": field(page, "step"),
        "text": "caller is in a hurry"}).text
    assert "Note saved." in page and "caller is in a hurry" in page
    page = client.post(f"/calls/{call_id}/sensitive", data={
        "csrf": field(page, "csrf"), "step": field(page, "step"),
        "what": "admins"}).text
    assert "Recorded" in page
    # change the first answer
    listing = client.get(f"/calls/{call_id}/change").text
    assert "ws-ann" in listing
    form = client.get(f"/calls/{call_id}/change", params={"key": "intake.caller_machine"}).text
    page = client.post(f"/calls/{call_id}/change", data={
        "csrf": field(form, "csrf"), "step": field(form, "step"),
        "key": "intake.caller_machine", "value": "ws-anna"}).text
    assert "Changed to: ws-anna" in page
    # save and quit, then continue from the open calls
    home = client.post(f"/calls/{call_id}/quit", data={
        "csrf": field(page, "csrf"), "step": field(page, "step")}).text
    assert "saved" in home and f"/calls/{call_id}" in home
    state = JournalFolder(desk_dir).load(call_id)
    assert state.answers["intake.caller_machine"].value == "ws-anna"
    assert state.changes[0]["from"] == "ws-ann"
    assert list(state.notes.values()) == [["caller is in a hurry"]]
    assert state.sensitive_requests[0]["what"] == "Who the administrators are"
    resumed = client.get(f"/calls/{call_id}").text
    assert "ws-anna" in resumed and field(resumed, "step") == field(page, "step")
    # the journal lock is free between requests: the terminal could take the call
    JournalFolder(desk_dir).lock(call_id).release()


def test_quitting_before_the_first_answer_discards_the_call(desk_dir: Path) -> None:
    client = make_client(desk_dir)
    login(client, "sam")
    call_id, page = start_call(client)
    home = client.post(f"/calls/{call_id}/quit", data={
        "csrf": field(page, "csrf"), "step": field(page, "step")}).text
    assert "discarded" in home and JournalFolder(desk_dir).ids() == []


def test_ending_a_call_early(desk_dir: Path) -> None:
    client = make_client(desk_dir)
    login(client, "sam")
    call_id, page = start_call(client)
    page = answer(client, call_id, page, "reach").text
    form = client.get(f"/calls/{call_id}/abandon").text
    offered = [label.strip() for label in re.findall(
        r'<input type="radio" name="reason" value="[a-z_]+"[^>]*>([^<:]+)', form)]
    assert offered == ["The caller hung up", "Wrong number (not an IPsec or network problem)",
                       "Duplicate of an existing ticket", "Another reason"]
    bad = client.post(f"/calls/{call_id}/abandon", data={
        "csrf": field(form, "csrf"), "step": field(form, "step"), "reason": "duplicate",
        "duplicate_of": ""})
    assert "Ticket number" in bad.text
    assert JournalFolder(desk_dir).load(call_id).ended is None
    end = client.post(f"/calls/{call_id}/abandon", data={
        "csrf": field(form, "csrf"), "step": field(form, "step"), "reason": "hung_up"}).text
    assert "Abandoned (caller hung up)" in end and "No ticket" in end
    assert JournalFolder(desk_dir).load(call_id).ended["status"] == "abandoned"
    # the question form of before is stale now
    late = answer(client, call_id, page, "more")
    assert "already ended" in late.text


def test_checks_run_on_the_help_desk_and_are_confirmed_or_overridden(desk_dir: Path) -> None:
    client = make_client(desk_dir, checks=True)
    login(client, "sam")
    call_id, page = start_call(client)
    checked = None
    for _ in range(40):
        key = current_key(desk_dir, call_id)
        if key in INTAKE:
            page = answer(client, call_id, page, INTAKE[key]).text
            continue
        if "Automatic check:" in page:
            assert "ran on the help-desk computer" in page
            checked = re.search(r'value="(\w+)" checked', page)
            assert checked, "the check's suggestion is selected"
            page = answer(client, call_id, page, checked.group(1)).text
            break
        first = re.search(r'name="value" value="(\w+)"', page)  # asked: the first answer
        assert first, key
        if key.startswith("fig7_1."):  # the caller-side checks are asked, and why
            assert "only tells something on the caller&#39;s computer" in page
        page = answer(client, call_id, page, first.group(1)).text
    assert checked is not None and key is not None
    history = client.get(f"/calls/{call_id}/history").text
    assert "confirmed" in history and "overridden" not in history
    assert "on the help-desk computer" in history
    form = client.get(f"/calls/{call_id}/change", params={"key": key}).text
    other = "no" if checked.group(1) == "yes" else "yes"
    client.post(f"/calls/{call_id}/change", data={
        "csrf": field(form, "csrf"), "step": field(form, "step"), "key": key,
        "value": other})
    assert "overridden" in client.get(f"/calls/{call_id}/history").text


def test_a_form_of_one_call_is_stale_for_another(desk_dir: Path) -> None:
    client = make_client(desk_dir)
    login(client, "sam")
    first_id, first = start_call(client)
    second_id, _second = start_call(client)
    r = answer(client, second_id, first, "reach")
    assert "already moved past" in r.text
    assert JournalFolder(desk_dir).load(second_id).answers == {}
    assert first_id != second_id


def test_a_server_call_is_listed_on_the_home_page_by_the_servers_name(desk_dir: Path) -> None:
    """A server administrator's call about a server that lost its network: the open
    calls on the home page name the server, as a caller's call names the caller's
    computer."""
    client = make_client(desk_dir)
    login(client, "sam")
    call_id, page = start_call(client)
    page = answer(client, call_id, page, "server_no_network").text
    assert "What is the name of the server that lost its network?" in page
    page = answer(client, call_id, page, "srv-dns01").text
    home = client.post(f"/calls/{call_id}/quit", data={
        "csrf": field(page, "csrf"), "step": field(page, "step")}).text
    assert "saved" in home
    link = home.index(f'href="/calls/{call_id}"')
    row = home[home.rindex("<tr>", 0, link):home.index("</tr>", link)]
    assert "<td>srv-dns01</td>" in row and call_id in row
