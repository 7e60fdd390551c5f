"""The web desk's call pages on a real ``ipsec-triage serve`` (one worker), reached over
loopback HTTP: a call whose lock another program holds is answered 409 "being
answered elsewhere" while everyone else's pages go on; a check being run does not stop
the server either.

The other program is a child Python process taking the call's lock with the product's
own lock code (what a terminal ``resume`` of the call holds). The check's ``ping`` is
held by the test as in ``test_web_browser_live``: a ``ping`` first on the server's
``PATH`` waits while a file exists, then runs the system's own.
"""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from .helpers.calls import HOLD_LOCK
from .helpers.run import PYTHON, cli_env, run_cli
from .helpers.web import PASSWORDS, ROLES, add_users, current_key, field, held_ping, serve
from .test_web_browser_live import ANSWERS, Desk, wait_for_file


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    root = tmp_path_factory.mktemp("webcalls")
    ping = held_ping(root)
    data = root / "data"
    add_users(data)
    assert ROLES["lee"] == "lead"
    with serve(data, "--org", str(ping.org), env=ping.env) as server:
        yield Desk(server.wait(), data, ping.hold, ping.pinging)


def client(url: str) -> httpx.Client:
    return httpx.Client(base_url=url, timeout=60, follow_redirects=True)


def signed_in(url: str, name: str) -> httpx.Client:
    http = client(url)
    page = http.get("/login").text
    r = http.post("/login", data={"csrf": field(page, "csrf"), "name": name,
                                  "password": PASSWORDS[name], "next": "/"})
    assert r.status_code == 200 and f"{name} · " in r.text, r.text
    return http


def start(http: httpx.Client) -> tuple[str, str]:
    r = http.post("/calls", data={"csrf": field(http.get("/").text, "csrf")})
    assert r.status_code == 200
    return r.url.path.rsplit("/", 1)[-1], r.text


def give(http: httpx.Client, call_id: str, page: str, value: str) -> httpx.Response:
    return http.post(f"/calls/{call_id}/answer", data={
        "csrf": field(page, "csrf"), "step": field(page, "step"), "value": value})


def events(data: Path, call_id: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in
            (data / "calls" / f"{call_id}.jsonl").read_text().splitlines()]


class Pending:
    """A request sent in a thread: ``done`` tells whether its answer has come."""

    def __init__(self, send: object) -> None:
        self.response: httpx.Response | None = None
        self._finished = threading.Event()

        def run() -> None:
            try:
                self.response = send()  # type: ignore[operator]
            finally:
                self._finished.set()

        self._thread = threading.Thread(target=run)
        self._thread.start()

    @property
    def done(self) -> bool:
        return self._finished.is_set()

    def result(self) -> httpx.Response:
        self._thread.join(timeout=120)
        assert self.response is not None, "the request failed"
        return self.response


def others_answered(desk: Desk, lead: httpx.Client, call_id: str) -> None:
    """Another browser's sign-in page, and a lead's home and view of the call, answer."""
    assert client(desk.url).get("/login").status_code == 200
    home = lead.get("/")
    assert home.status_code == 200 and call_id in home.text
    assert lead.get(f"/calls/{call_id}/history").status_code == 200


def test_a_call_locked_elsewhere_is_answered_409_and_other_pages_go_on(desk: Desk) -> None:
    sam, lee = signed_in(desk.url, "sam"), signed_in(desk.url, "lee")
    call_id, page = start(sam)
    tabs = [signed_in(desk.url, "sam") for _ in range(2)]  # two more tabs on the call
    forms = [tab.get(f"/calls/{call_id}").text for tab in tabs]
    holder = subprocess.Popen([PYTHON, "-c", HOLD_LOCK, str(desk.data), call_id],
                              env=cli_env(desk.data), stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        key = current_key(desk.data, call_id)
        assert key is not None
        waiting = Pending(lambda: give(sam, call_id, page, ANSWERS[key]))
        threading.Event().wait(0.5)  # the answer is at the server, waiting for the lock
        others_answered(desk, lee, call_id)
        assert not waiting.done, "the other pages were answered only after the wait"
        # a second tab waits too; a third is answered busy at once, not a thread more
        second = Pending(lambda: give(tabs[0], call_id, forms[0], ANSWERS[key]))
        threading.Event().wait(0.5)
        third = give(tabs[1], call_id, forms[1], ANSWERS[key])
        assert third.status_code == 409 and "being answered elsewhere" in third.text
        assert not waiting.done and not second.done, "the third was answered after the wait"
        busy = waiting.result()
        assert second.result().status_code == 409
    finally:
        assert holder.stdin is not None
        holder.stdin.write("\n")
        holder.stdin.close()
        holder.wait(timeout=30)
    assert busy.status_code == 409
    assert "being answered elsewhere" in busy.text and "Try again" in busy.text
    assert "No such call" not in busy.text
    assert not [e for e in events(desk.data, call_id) if e["event"] == "answer"]
    # let go: the same form is taken
    again = give(sam, call_id, page, ANSWERS[key])
    assert again.status_code == 200
    assert current_key(desk.data, call_id) != key
    assert [e["value"] for e in events(desk.data, call_id) if e["event"] == "answer"] == [
        ANSWERS[key]]


def test_a_check_being_run_keeps_its_call_busy_and_the_server_answering(desk: Desk) -> None:
    sam, lee = signed_in(desk.url, "sam"), signed_in(desk.url, "lee")
    call_id, page = start(sam)
    while (key := current_key(desk.data, call_id)) != "fig7_1.net_tracert":
        assert key is not None and key in ANSWERS, key
        r = give(sam, call_id, page, ANSWERS[key])
        assert r.status_code == 200, r.text
        page = r.text
    desk.hold.touch()
    desk.pinging.unlink(missing_ok=True)
    try:
        checking = Pending(lambda: give(sam, call_id, page, ANSWERS["fig7_1.net_tracert"]))
        wait_for_file(desk.pinging)  # the check runs (under the call's lock), held
        others_answered(desk, lee, call_id)
        # a second tab's note while the check holds the call: busy, not lost silently
        tab = signed_in(desk.url, "sam")
        shown = tab.get(f"/calls/{call_id}")  # its own run of the checks: busy, said so
        assert shown.status_code == 200 and "being answered elsewhere" in shown.text
        note = tab.post(f"/calls/{call_id}/note", data={
            "csrf": field(tab.get("/").text, "csrf"), "step": "x", "text": "rebooted"})
        assert note.status_code == 409 and "being answered elsewhere" in note.text
        assert not checking.done, "the check page finished before the hold was let go"
    finally:
        desk.hold.unlink(missing_ok=True)
    done = checking.result()
    assert done.status_code == 200 and "Automatic check:" in done.text
    assert "rebooted" not in json.dumps(events(desk.data, call_id))


def copied_in(data: Path, call_id: str, new_id: str, tickets: dict[str, str]) -> None:
    """The journal of ``call_id`` copied into the calls folder as ``new_id`` (as the
    README lets an administrator do), its end event naming ``tickets`` as its files."""
    lines = []
    for event in events(data, call_id):
        if event["event"] == "start":
            event["call_id"] = new_id
        if event["event"] == "end":
            event["tickets"] = tickets
        lines.append(json.dumps(event))
    path = data / "calls" / f"{new_id}.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    path.chmod(0o600)


def test_a_ticket_is_served_from_the_calls_own_file_never_a_path_its_journal_names(
        desk: Desk) -> None:
    from .helpers.calls import replay, route_to

    call, _end, tickets = replay(route_to("fig7_2.escalate_caller"), desk.data)
    # any private file of the data folder (here a hand-off token an admin keeps there)
    private = desk.data / "servicenow-token"
    private.write_text("snow-token-5f2c9e\n", encoding="utf-8")
    secret = private.read_text().strip()
    users = (desk.data / "users.json").read_text()
    new_id = "20250101-000000-beef"
    copied_in(desk.data, call.call_id, new_id, {"md": str(private),
                                                "txt": str(desk.data / "users.json")})
    # and a link in the place of the copy's text ticket
    (desk.data / "calls" / f"{new_id}.ticket.txt").symlink_to(desk.data / "users.json")
    lee = signed_in(desk.url, "lee")
    served = {fmt: lee.get(f"/calls/{new_id}/ticket.{fmt}") for fmt in ("md", "txt")}
    end_page = lee.get(f"/calls/{new_id}")
    for r in (*served.values(), end_page):
        assert r.status_code == 200
        assert secret not in r.text and "argon2" not in r.text and users not in r.text
    # the tickets rendered again from the record: the same as the original's, for the copy
    for fmt, r in served.items():
        assert new_id in r.text
        assert r.text == tickets[fmt].replace(call.call_id, new_id)
    # the original's own files are served as written
    own = lee.get(f"/calls/{call.call_id}/ticket.md")
    assert own.text == tickets["md"]
    log = [json.loads(line) for line in (desk.data / "audit.log").read_text().splitlines()]
    reads = [(e["event"], e["call"], e["format"]) for e in log
             if e["event"].startswith("ticket_") and e["user"] == "lee"]
    assert reads == [("ticket_downloaded", new_id, "md"), ("ticket_downloaded", new_id, "txt"),
                     ("ticket_shown", new_id, "md"), ("ticket_downloaded", call.call_id, "md")]
    assert lee.get(f"/calls/{new_id}/route").status_code == 200
    assert any(e["event"] == "call_route" and e["call"] == new_id and e["user"] == "lee"
               for e in (json.loads(line) for line in
                         (desk.data / "audit.log").read_text().splitlines()))


def test_a_leads_answers_and_notes_in_a_staffers_call_name_the_lead_and_are_audited(
        desk: Desk) -> None:
    sam, lee = signed_in(desk.url, "sam"), signed_in(desk.url, "lee")
    call_id, page = start(sam)
    first = current_key(desk.data, call_id)
    assert first is not None
    r = give(sam, call_id, page, ANSWERS[first])
    second = current_key(desk.data, call_id)
    assert second is not None
    assert second == "intake.caller_machine"
    page = lee.get(f"/calls/{call_id}").text  # the lead takes over the call
    note = lee.post(f"/calls/{call_id}/note", data={
        "csrf": field(page, "csrf"), "step": field(page, "step"),
        "text": "lead <b>checked</b>"})
    assert note.status_code == 200 and "Note saved." in note.text
    r = give(lee, call_id, page, ANSWERS[second])
    assert r.status_code == 200 and current_key(desk.data, call_id) != second
    form = lee.get(f"/calls/{call_id}/change", params={"key": second}).text
    changed = lee.post(f"/calls/{call_id}/change", data={
        "csrf": field(form, "csrf"), "step": field(form, "step"), "key": second,
        "value": "ws-bea"})
    assert changed.status_code == 200 and "Changed to:" in changed.text
    page = lee.get(f"/calls/{call_id}/abandon").text
    ended = lee.post(f"/calls/{call_id}/abandon", data={
        "csrf": field(page, "csrf"), "step": field(page, "step"), "reason": "hung_up"})
    assert ended.status_code == 200
    written = [(e["event"], e.get("key"), e.get("by")) for e in events(desk.data, call_id)
               if e["event"] in ("answer", "note", "end")]
    assert written == [("answer", first, "sam"), ("note", second, "lee"),
                       ("answer", second, "lee"), ("answer", second, "lee"),
                       ("end", None, "lee")]
    # the staffer's history says who else answered; the staffer's own answers say nothing
    history = sam.get(f"/calls/{call_id}/history").text
    assert history.count("by lee") == 3  # the answer, the note, the change
    assert "Started " in history and history.count("by sam") == 1  # the start only
    assert "Note by lee: lead &lt;b&gt;checked&lt;/b&gt;" in history
    shown = run_cli(["show", call_id], cli_env(desk.data))
    assert shown.returncode == 0, shown.stderr
    assert "(by lee)" in shown.stdout and "note by lee: lead <b>checked</b>" in shown.stdout
    assert "(by sam)" not in shown.stdout
    log = [json.loads(line) for line in (desk.data / "audit.log").read_text().splitlines()]
    audited = [(e["user"], e["form"], e["events"]) for e in log
               if e["event"] == "call_written" and e["call"] == call_id]
    assert audited == [("lee", "note", ["note"]), ("lee", "answer", ["answer"]),
                       ("lee", "change", ["answer"]), ("lee", "abandon", ["end"])]
    assert all(e["staffer"] == "sam" for e in log
               if e["event"] == "call_written" and e["call"] == call_id)
