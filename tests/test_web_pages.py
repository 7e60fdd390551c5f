"""The web desk's later pages, through Starlette's test client: the lead's report, the
end page (the ticket to copy, the hand-off to Tier 2 on a real ServiceNow on loopback,
the outbox while it is down), the route map, the static files and the strict policy."""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

import pytest
import yaml

from wizard.calls.call import end_label
from wizard.calls.journal import JournalFolder
from wizard.flows.nodes import NoteNode
from wizard.frontends.web.app import Settings, create_app
from wizard.service.calls import route_step
from wizard.service.desk import Desk

from .helpers.calls import shipped
from .helpers.handoff import GROUP, closed_port
from .helpers.handoff_servers import ServiceNow, basic, serve
from .helpers.web import add_users, field, login, make_client, start_call
from .test_web import answer_all, route_to

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

ESCALATED = "fig7_2.escalate_caller"
TOKEN = "tok-9f8e7d6c5b-SECRET"


@pytest.fixture
def desk_dir(data_dir: Path) -> Path:
    add_users(data_dir)
    return data_dir


def ended_call(client: TestClient, data_dir: Path, end: str = ESCALATED) -> tuple[str, str]:
    call_id, page = start_call(client)
    return call_id, answer_all(client, data_dir, call_id, page, route_to(end))


def text_of(page: str) -> str:
    """The page as a person reads it: tags gone, spaces collapsed."""
    import html

    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


# -- the lead's report ---------------------------------------------------------------


def test_a_lead_sees_the_report_a_staffer_is_answered_404(desk_dir: Path) -> None:
    sam = make_client(desk_dir)
    login(sam, "sam")
    ended_call(sam, desk_dir)
    refused = sam.get("/report")
    assert refused.status_code == 404 and "There is no such page" in refused.text
    assert 'href="/report"' not in sam.get("/").text
    lee = make_client(desk_dir)
    home = login(lee, "lee")
    assert 'href="/report"' in home
    page = lee.get("/report")
    assert page.status_code == 200
    seen = text_of(page.text)
    assert "IPsec calls: classification report" in seen
    # a call of the web desk is a real call (not practice): it is counted
    assert re.search(r"Calls 1 Escalated to Tier 2 1 \(100", seen), seen[:600]
    for heading in ("Calls per week", "Outcomes", "Drop-off per step", "Hand-offs to Tier 2",
                    "Known issues and social-engineering attempts per week"):
        assert re.search(rf'<h2 id="[\w-]+">{heading}</h2>', page.text), heading
    assert page.text.count("<h1") == 1
    assert "style=" not in page.text  # the page's policy allows the stylesheet only
    # the filters: a day range that leaves the call out, practice calls included
    empty = text_of(lee.get("/report", params={"since": "2000-01-01",
                                               "until": "2000-01-31"}).text)
    assert "No stored calls match." in empty and "2000-01-01" in empty
    practice = lee.get("/report", params={"practice": "yes"}).text
    assert 'name="practice" value="yes" checked' in practice
    assert "practice calls included" in text_of(practice)
    events = [json.loads(x)["event"] for x in (desk_dir / "audit.log").read_text().splitlines()]
    assert "report_refused" in events and "report" in events


def test_report_filters_typed_wrong_get_one_line(desk_dir: Path) -> None:
    lee = make_client(desk_dir)
    login(lee, "lee")
    bad = lee.get("/report", params={"since": "<b>yesterday</b>"})
    assert bad.status_code == 400
    assert "From: &#39;&lt;b&gt;yesterday&lt;/b&gt;&#39; is not a day (YYYY-MM-DD)" in bad.text
    late = lee.get("/report", params={"since": "2026-03-02", "until": "2026-03-01"})
    assert late.status_code == 400 and "From 2026-03-02 is after To 2026-03-01" in late.text
    assert "Traceback" not in bad.text + late.text


# -- the end page: the ticket and the hand-off -----------------------------------------


def handoff_client(data_dir: Path, port: int) -> TestClient:
    org = data_dir.parent / "org.yaml"
    org.write_text(yaml.safe_dump({"handoff": {"destinations": {GROUP: {
        "kind": "servicenow", "url": f"http://127.0.0.1:{port}", "user": "svc-triage",
        "secret": "TRIAGE_TICKET_SECRET", "assignment_group": GROUP, "timeout": 2}}}}))
    desk = Desk(data_dir=data_dir, environ={"TRIAGE_TICKET_SECRET": TOKEN}, org_file=org)
    return TestClient(create_app(Settings(desk=desk, checks=False)),
                      base_url="http://testserver", follow_redirects=True)


def send(client: TestClient, call_id: str, page: str):  # type: ignore[no-untyped-def]
    return client.post(f"/calls/{call_id}/send", data={
        "csrf": field(page, "csrf"), "handoffs": field(page, "handoffs")})


def test_the_end_page_shows_the_ticket_and_hands_off_as_the_terminal_does(
        desk_dir: Path) -> None:
    port = closed_port()
    client = handoff_client(desk_dir, port)
    login(client, "sam")
    call_id, end = ended_call(client, desk_dir)
    ticket = re.search(r'<pre class="ticket" id="ticket-text"[^>]*>(.*?)</pre>', end, re.S)
    assert ticket and "Help-desk staffer | sam" in text_of(ticket.group(1))
    assert 'data-copy="ticket-text" hidden' in end  # the copy button comes with the script
    assert f"Send the escalation to {GROUP} (ServiceNow)" in end
    # the destination is down: the outbox keeps it, and the page says so
    down = send(client, call_id, end)
    assert "kept in the outbox" in text_of(down.text) or "outbox" in text_of(down.text)
    assert list((desk_dir / "outbox").glob("*.json"))
    # a second click on the same form sends nothing again
    again = send(client, call_id, end)
    assert "nothing was sent again" in again.text
    assert len(JournalFolder(desk_dir).load(call_id).handoffs) == 1
    fake = ServiceNow(basic("svc-triage", TOKEN))
    with serve(fake, port):
        sent = send(client, call_id, down.text)
    shown = text_of(sent.text)
    number = fake.tables["incident"][0]["number"]
    assert f"Hand-off to {GROUP} (ServiceNow): created: {number}" in shown
    assert f"sent {number}" in shown  # the hand-off's record on the end page
    assert "Send again" in shown
    assert not list((desk_dir / "outbox").glob("*.json"))
    state = JournalFolder(desk_dir).load(call_id)
    assert [h["status"] for h in state.handoffs] == ["queued", "sent"]
    # another staffer cannot send someone else's call
    alex = handoff_client(desk_dir, port)
    login(alex, "alex")
    home = alex.get("/").text
    r = alex.post(f"/calls/{call_id}/send", data={"csrf": field(home, "csrf"),
                                                  "handoffs": "2"})
    assert r.status_code == 404


# -- the route map -----------------------------------------------------------------------


def test_the_route_map_lists_every_step_with_its_answer_chart_by_chart(desk_dir: Path) -> None:
    client = handoff_client(desk_dir, closed_port())
    login(client, "sam")
    call_id, end = ended_call(client, desk_dir, "fig7_1.fixed_network")
    # not escalated: the end page offers no hand-off, the ticket is shown
    assert "Hand-off to Tier 2" not in end and "/send" not in end
    assert '<pre class="ticket"' in end
    page = client.get(f"/calls/{call_id}/route")
    assert page.status_code == 200
    items = re.findall(r"<li( class=\"[^\"]*\")?>(.*?)</li>", page.text, re.S)
    charts = [text_of(t) for c, t in items if c == ' class="chart"']
    steps = [text_of(t) for c, t in items if not c]
    assert charts[0] == "Intake, scope and severity" and len(charts) >= 2
    state = JournalFolder(desk_dir).load(call_id)
    assert len(steps) == len(state.answers)
    assert steps[0].startswith("What is the call about? Answer: ")
    assert text_of(items[-1][1]) == f"Ended: {end_label(state.ended)}"
    # the notices shown on the way, in their place among the steps
    notes = [text_of(t) for c, t in items if c == ' class="note-step"']
    passed = [v for v in route_step(shipped(), state).route if isinstance(v.node, NoteNode)]
    assert passed and len(notes) == len(passed)
    assert all(n.startswith("Shown: ") for n in notes)
    # the flowcharts' Mermaid text, a chart with a branch among them
    assert "flowchart TD" in page.text and "fig7_1__fixed_network" in page.text
    other = make_client(desk_dir)
    login(other, "alex")
    assert other.get(f"/calls/{call_id}/route").status_code == 404


# -- the script, the stylesheet, the policy ---------------------------------------------


def test_pages_load_their_one_script_and_stylesheet_from_the_app_only(desk_dir: Path) -> None:
    client = make_client(desk_dir)
    page = client.get("/login")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "style-src 'self'" in policy
    assert "unsafe-inline" not in policy and "default-src 'none'" in policy
    assert '<script src="/static/desk.js" defer></script>' in page.text
    assert "<style" not in page.text and "style=" not in page.text
    js = client.get("/static/desk.js")
    assert js.status_code == 200 and js.headers["content-type"].startswith("text/javascript")
    assert "keydown" in js.text
    css = client.get("/static/desk.css")
    assert css.headers["content-type"].startswith("text/css") and ":focus-visible" in css.text
    assert client.get("/static/../app.py").status_code == 404
    assert client.get("/static/app.py").status_code == 404


def test_a_check_step_streams_its_checks_then_the_question(desk_dir: Path) -> None:
    from .helpers.web import answer, current_key
    from .test_checks_in_calls import INTAKE

    client = make_client(desk_dir, checks=True)
    login(client, "sam")
    call_id, page = start_call(client)
    for _ in range(40):
        if 'id="check-progress"' in page:
            break
        key = str(current_key(desk_dir, call_id))
        first = re.search(r'name="value" value="(\w+)"', page)  # asked: the first answer
        value = INTAKE[key] if key in INTAKE else first.group(1) if first else ""
        page = answer(client, call_id, page, value).text
    progress = re.search(r'<ul id="check-progress" aria-live="polite">(.*?)</ul>', page, re.S)
    assert progress, "a check step lists its checks in a live region"
    results = re.findall(r'<li class="result (\w+)"><b>(\w+)</b>', progress.group(1))
    assert results and "All checks done." in progress.group(1)
    assert "Automatic check:" in page and page.count("<h1") == 1
    assert page.rstrip().endswith("</html>")
    # the results are recorded: the page again is the plain question with the suggestion
    again = client.get(f"/calls/{call_id}").text
    assert 'id="check-progress"' not in again and "Automatic check:" in again
    probes = JournalFolder(desk_dir).load(call_id).probes
    assert {name for _status, name in results} <= {p.probe for p in probes.values()}
