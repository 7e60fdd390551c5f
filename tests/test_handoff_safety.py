"""Hand-off safety: an earlier ticket number never walks the request to another path,
a password written into a destination URL is refused and never shown."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from wizard.calls.journal import JournalFolder
from wizard.config.organization import OrgConfig
from wizard.handoff.outbox import send_call

from .helpers.handoff import GROUP, escalated_call
from .helpers.handoff_servers import serve
from .test_handoff_tickets import SECRET_ENV, SYSTEMS, Rig, sent_once_after

ATTACK = "a/../../../../../evil/path"
TICKET_SYSTEMS = ["servicenow", "jira2", "jira3", "zendesk"]


@contextmanager
def running(name: str, data_dir: Path) -> Iterator[Rig]:
    """The ticket system ``name`` on loopback, with a rig to send to it."""
    system = SYSTEMS[name]
    fake = system.make()
    with serve(fake) as url:
        yield Rig(system, fake, url, data_dir, JournalFolder(data_dir), [])


@pytest.fixture(params=TICKET_SYSTEMS)
def rig(request: pytest.FixtureRequest, data_dir: Path) -> Iterator[Rig]:
    with running(request.param, data_dir) as made:
        yield made


def test_a_path_in_the_earlier_ticket_number_is_refused_before_any_request(rig: Rig) -> None:
    # typed where no ticket system was set up yet (any number is taken then) ...
    call_id = escalated_call(rig.data_dir, OrgConfig(), existing_ticket=ATTACK)
    # ... and sent once one is: nothing leaves, the refusal names the field
    org = rig.org()
    outcome = send_call(rig.store, org, call_id, environ=SECRET_ENV, settings=rig.settings())
    assert outcome.status == "failed"
    error = outcome.error or ""
    assert "intake.existing_ticket" in error and ATTACK in error and "\n" not in error
    assert "nothing was sent" in error
    assert rig.fake.requests == []
    assert rig.tickets() == []


@pytest.mark.parametrize("system", ["jira2", "jira3"])
def test_a_key_from_the_server_is_quoted_in_every_path(data_dir: Path, system: str) -> None:
    """Even a key the server itself answers with stays one path segment."""
    with running(system, data_dir) as rig:
        fake = rig.fake
        org = rig.org()
        call_id = escalated_call(data_dir, org)
        fake.issues[ATTACK] = {"id": "666", "key": ATTACK,
                               "fields": {"labels": [f"ipsec-triage-{call_id}"]}}
        outcome = send_call(rig.store, org, call_id, environ=SECRET_ENV,
                            settings=rig.settings())
    assert outcome.status == "failed"
    paths = [r.path for r in fake.requests]
    assert not any(p.startswith("/evil") for p in paths), paths
    assert any("..%2F..%2F" in p for p in paths), paths


WRONG = {"servicenow": ("SEC-12", "a ServiceNow number (e.g. INC0012345)"),
         "jira2": ("INC0012345", "a Jira issue key (e.g. SEC-123)"),
         "jira3": ("12345", "a Jira issue key (e.g. SEC-123)"),
         "zendesk": ("SEC-12", "a Zendesk ticket number (digits, e.g. 4567)")}


def test_the_intake_refuses_a_number_the_ticket_system_does_not_take(rig: Rig) -> None:
    from wizard.base.documents import DocumentError

    number, expected = WRONG[rig.system.name]
    with pytest.raises(DocumentError) as info:
        escalated_call(rig.data_dir, rig.org(), existing_ticket=number)
    message = str(info.value)
    assert f"Invalid answer for 'intake.existing_ticket': \"{number}\" is not {expected}" \
        in message
    assert rig.fake.requests == []


def test_the_intake_takes_any_number_when_a_group_gets_e_mail(data_dir: Path) -> None:
    org = OrgConfig.model_validate({"handoff": {"destinations": {
        GROUP: {"kind": "jira", "url": "http://127.0.0.1:9", "project": "SEC"},
        "Data center operations": {"kind": "email", "to": ["dc@corp.example"],
                                   "from": "hd@corp.example"}}}})
    escalated_call(data_dir, org, existing_ticket="CHG-2024.17")


# -- passwords in destination URLs --------------------------------------------------------

PASSWORD = "Pw-7d1e-s3cret"
URL_DESTS = {
    "servicenow": "{kind: servicenow, url: 'https://svc-triage:" + PASSWORD
                  + "@corp.service-now.com'}",
    "jira": "{kind: jira, project: SEC, url: 'https://" + PASSWORD + "@jira.corp.example'}",
    "zendesk": "{kind: zendesk, url: 'https://agent:" + PASSWORD + "@corp.zendesk.com'}",
    "webhook": "{kind: webhook, url: 'http://svc:" + PASSWORD + "@hooks.corp.example/x'}",
}


@pytest.mark.parametrize("kind", list(URL_DESTS))
def test_a_password_in_a_destination_url_is_refused_and_not_repeated(
        tmp_path: Path, kind: str) -> None:
    from wizard.config.organization import OrgConfigError, load_org_config

    path = tmp_path / "org.yaml"
    path.write_text(f"handoff:\n  destinations:\n    {GROUP}: {URL_DESTS[kind]}\n")
    with pytest.raises(OrgConfigError) as info:
        load_org_config(path)
    message = str(info.value)
    assert message.startswith(f"{path}:3: handoff.destinations.{GROUP}.{kind}.url: ")
    assert "a user name or password in the URL is never read" in message
    assert "'secret: NAME'" in message and "'user:'" in message
    assert PASSWORD not in message and "\n" not in message


def _with_url(org: OrgConfig, url: str) -> OrgConfig:
    """The destination with ``url`` as it is, past the file's checks (a password that
    slipped through: an older file read by an older version, a link a server gave)."""
    dest = org.handoff.destinations[GROUP].model_copy(update={"url": url})
    handoff = org.handoff.model_copy(update={"destinations": {GROUP: dest}})
    return org.model_copy(update={"handoff": handoff})


def test_a_password_that_slips_into_a_url_is_masked_everywhere_it_is_shown(
        data_dir: Path) -> None:
    from .helpers.handoff import closed_port

    with running("webhook", data_dir) as rig:
        fake = rig.fake
        call_id = escalated_call(data_dir, rig.org())
        # down, with the password in the URL: the line, the journal, the outbox
        down = _with_url(rig.org(), f"http://svc:{PASSWORD}@127.0.0.1:{closed_port()}/x")
        queued = send_call(rig.store, down, call_id, environ=SECRET_ENV,
                           settings=rig.settings(attempts=1))
        assert queued.status == "queued"
        assert "http://svc:***@127.0.0.1" in queued.line()
        # up, answering with a link that holds a password
        fake.plan("POST", r"^/hooks/triage$", status=201, after=True,
                  body={"number": "WH-1", "url": f"https://svc:{PASSWORD}@tickets/WH-1"})
        sent = send_call(rig.store, rig.org(), call_id, environ=SECRET_ENV,
                         settings=rig.settings())
    assert sent.status == "sent", sent.error
    assert "https://svc:***@tickets/WH-1" in sent.line()
    assert PASSWORD not in queued.line() + sent.line()
    for path in data_dir.rglob("*"):
        if path.is_file():
            assert PASSWORD.encode() not in path.read_bytes(), path
    from wizard.service.calls import handoff_line

    lines = [handoff_line(h) for h in rig.store.load(call_id).handoffs]
    assert len(lines) == 2 and not any(PASSWORD in line for line in lines)
    # a record an older version wrote, shown by 'show': masked as it is printed
    assert PASSWORD not in handoff_line({"group": GROUP, "kind": "jira", "status": "failed",
                                         "error": f"Jira https://svc:{PASSWORD}@j: down"})


# -- an unknown outcome is not sent again at once -------------------------------------------

@pytest.fixture(params=[*TICKET_SYSTEMS, "webhook"])
def any_rig(request: pytest.FixtureRequest, data_dir: Path) -> Iterator[Rig]:
    with running(request.param, data_dir) as made:
        yield made


def test_no_answer_in_time_after_a_create_was_sent_is_unknown_and_not_repeated_now(
        any_rig: Rig) -> None:
    from wizard.handoff.outbox import drain, entries

    rig = any_rig
    rig.fake.plan("POST", rig.system.create_path, status=201, after=True, delay=2.5,
                  times=1)  # done, answered after the client's 1 s
    org = rig.org()
    call_id = escalated_call(rig.data_dir, org)
    outcome = send_call(rig.store, org, call_id, environ=SECRET_ENV, settings=rig.settings())
    assert outcome.status == "queued" and outcome.unknown
    assert "after the request was sent" in (outcome.error or "")
    assert "outcome unknown" in outcome.line() and "same idempotency key" in outcome.line()
    assert rig.sleeps == []  # not tried again at once
    creates = [r for r in rig.fake.requests if r.method == "POST"
               and re.search(rig.system.create_path, r.path)]
    assert len(creates) == 1
    [entry] = entries(rig.data_dir)
    assert entry["outcome"] == "unknown"
    # later, from the outbox: the receiver knows it by the call id, one ticket
    [result] = drain(rig.store, org, environ=SECRET_ENV, settings=rig.settings(),
                     force=True)
    assert result.status == "sent", result.error
    assert len(rig.tickets()) == 1


def test_a_lookup_that_times_out_made_nothing_and_is_retried_at_once(rig: Rig) -> None:
    search = {"servicenow": r"^/api/now/table/incident$", "jira2": r"/search",
              "jira3": r"/search", "zendesk": r"^/api/v2/tickets\.json$"}[rig.system.name]
    rig.fake.plan("GET", search, status=0, delay=2.5, times=1)
    sent_once_after(rig, [0.01])


def test_an_answers_file_with_such_a_number_is_refused_before_the_call_starts(
        tmp_path: Path, data_dir: Path) -> None:
    import yaml

    from .helpers.handoff import route_to
    from .test_hostile_input import cli

    org = tmp_path / "org.yaml"
    org.write_text(yaml.safe_dump({"handoff": {"destinations": {GROUP: {
        "kind": "jira", "url": "http://127.0.0.1:9", "project": "SEC"}}}}))
    answers = {**route_to("fig7_2.escalate_caller"), "intake.details": "now",
               "intake.caller_contact": "", "intake.since": "",
               "intake.existing_ticket": ATTACK}
    path = tmp_path / "answers.yaml"
    path.write_text(yaml.safe_dump({"answers": answers}, sort_keys=False))
    line = next(i for i, text in enumerate(path.read_text().splitlines(), 1)
                if "intake.existing_ticket" in text)
    code, _, err = cli(["start", "--answers", str(path), "--no-checks"],
                       IPSEC_TRIAGE_DATA=str(data_dir), IPSEC_TRIAGE_ORG=str(org))
    assert code == 4 and err.count("\n") == 1, err
    assert (f"{path}:{line}: Invalid answer for 'intake.existing_ticket': \"{ATTACK}\" is "
            "not a Jira issue key (e.g. SEC-123); nothing was started") in err
    assert not (data_dir / "calls").exists() or not list((data_dir / "calls").iterdir())


def test_the_prompt_refuses_it_in_its_own_words(data_dir: Path) -> None:
    """What the terminal's text prompt shows under the field (it asks the call)."""
    from wizard.calls.call import Call
    from wizard.flows.answer_rules import AnswerError

    from .helpers.calls import shipped

    org = OrgConfig.model_validate({"handoff": {"destinations": {GROUP: {
        "kind": "zendesk", "url": "http://127.0.0.1:9"}}}})
    call = Call.start(flowset=shipped(), journals=JournalFolder(data_dir), org=org,
                      staffer="sam", mode="interactive")
    try:
        node = shipped().node("intake.existing_ticket")
        with pytest.raises(AnswerError) as info:
            call.check_answer(node, "intake.existing_ticket", "SEC-12", what="")
        assert str(info.value) == ('"SEC-12" is not a Zendesk ticket number (digits, '
                                   'e.g. 4567)')
        assert call.check_answer(node, "intake.existing_ticket", "4567", what="") == "4567"
    finally:
        call.close()


def test_the_web_desk_refuses_it_where_it_is_typed(data_dir: Path) -> None:
    import html

    import yaml

    from wizard.frontends.web.app import Settings, create_app
    from wizard.service.desk import Desk

    from .helpers.handoff import route_to
    from .helpers.web import TestClient, add_users, answer, current_key, login, start_call

    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    org = data_dir / "org.yaml"
    org.write_text(yaml.safe_dump({"handoff": {"destinations": {GROUP: {
        "kind": "jira", "url": "http://127.0.0.1:9", "project": "SEC"}}}}))
    add_users(data_dir)
    app = create_app(Settings(desk=Desk(data_dir=data_dir, org_file=org)))
    client = TestClient(app, base_url="http://testserver", follow_redirects=True)
    login(client, "sam")
    call_id, page = start_call(client)
    answers = {**route_to("fig7_2.escalate_caller"), "intake.details": "now",
               "intake.caller_contact": "", "intake.since": ""}
    while (key := current_key(data_dir, call_id)) != "intake.existing_ticket":
        assert key is not None
        page = answer(client, call_id, page, answers[key]).text
    page = answer(client, call_id, page, ATTACK).text
    assert f'"{ATTACK}" is not a Jira issue key (e.g. SEC-123)' in html.unescape(page)
    assert current_key(data_dir, call_id) == "intake.existing_ticket"
    page = answer(client, call_id, page, "SEC-12").text
    assert current_key(data_dir, call_id) != "intake.existing_ticket"
    assert JournalFolder(data_dir).load(call_id).values()["intake.existing_ticket"] == "SEC-12"
