"""Automatic checks inside a call: they pre-fill answers, run ahead at once, are
recorded with their arguments, and the staffer's own answer wins."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from wizard.calls.call import Call
from wizard.calls.journal import JournalFolder
from wizard.calls.replay import AnswersFile, run
from wizard.checks.base import ProbeStatus
from wizard.config.organization import OrgConfig, TestServer
from wizard.records.ending import write_tickets_then_end

from .helpers.calls import shipped

INTAKE = {
    "intake.caller_name": "Ann", "intake.details": "now",
    "intake.caller_contact": "ann@corp.example",
    "intake.since": "today", "intake.existing_ticket": "", "intake.scope": "caller",
    "intake.extent": "one_server", "intake.address_type": "wired", "intake.severity": "low",
    "intake.call_type": "reach", "intake.caller_machine": "ws-ann", "intake.windows": "win10_11",
    "intake.target": "localhost", "intake.target_ip": "127.0.0.1",
    "intake.tried": "open a share",
}


@pytest.fixture
def test_server() -> Iterator[int]:
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    yield srv.getsockname()[1]
    srv.close()


def make_call(tmp_path: Path, port: int, runs_on: str = "caller") -> Call:
    org = OrgConfig(test_servers=[TestServer(name="hd-test", address="127.0.0.1",
                                             port=port)])
    return Call.start(flowset=shipped(), journals=JournalFolder(tmp_path), org=org,
                      staffer="tester", runs_on=runs_on, mode="answers_file")


def test_checks_answer_what_the_file_leaves_open(tmp_path: Path, test_server: int) -> None:
    call = make_call(tmp_path, test_server)
    answers = INTAKE | {"fig7_1.traffic": "file",
                        "fig7_3.target_rras": "no", "fig7_3.isolation_group": "no",
                        "fig7_3.target_refresh": "done", "fig7_3.target_works": "yes"}
    step = run(call, AnswersFile(tmp_path / "a.yaml", answers))
    # the route went through the checks, each answered by its probe on this machine
    sources = {k: a.source for k, a in call.state.answers.items()}
    for key in ("fig7_1.reverse_lookup", "fig7_1.ping_name", "fig7_1.nslookup"):
        assert sources[key] == "probe", key
        assert call.state.answers[key].value == "yes"
        assert call.state.probe_args[key]
    assert call.state.probes["fig7_1.nslookup"].status is ProbeStatus.OK
    # port 445 is closed on loopback, so net view "fails" and the route goes on to the
    # help-desk test server, which answers: a target problem (Figure 7.3)
    assert call.state.answers["fig7_1.net_view"].value == "no"
    assert call.state.answers["fig7_1.test_servers"].value == "yes"
    assert step.visit.node_key == "fig7_3.fixed_refresh"
    call.close()


def test_staffer_answer_overrides_the_probe_and_both_are_kept(tmp_path: Path,
                                                              test_server: int) -> None:
    call = make_call(tmp_path, test_server)
    answers = INTAKE | {"fig7_1.ping_name": "no", "fig7_1.name_dns_server": "yes",
                        "fig7_1.name_flush": "done", "fig7_1.name_fixed": "hosts"}
    step = run(call, AnswersFile(tmp_path / "a.yaml", answers))
    rec = call.state.answers["fig7_1.ping_name"]
    assert rec.value == "no" and rec.suggested == "yes" and rec.source == "answers_file"
    assert step.visit.node_key == "fig7_1.fixed_name"
    paths = write_tickets_then_end(call, step)
    ticket = Path(paths["md"]).read_text()
    assert "suggested: Replies, or the name is found" in ticket, ticket
    assert "Check `ping` (ran on the caller's computer): ok" in ticket, ticket
    call.close()


def test_checks_ahead_run_at_once_and_are_reused(tmp_path: Path, test_server: int) -> None:
    call = make_call(tmp_path, test_server)
    step = run_until(call, INTAKE)
    assert step.visit.key == "fig7_1.ping_ip"
    pending = [k for k, _, _ in call.pending_checks(step)]
    assert {"fig7_1.ping_ip", "fig7_1.reverse_lookup", "fig7_1.nslookup",
            "fig7_1.net_view", "fig7_1.test_servers"} <= set(pending)
    assert call.prefetch(step) == len(pending)
    assert call.pending_checks(step) == []
    assert call.cached_check(step) is not None
    # a changed target makes the recorded results stale
    call.answer(next(v for v in step.route if v.key == "intake.target_ip"), "127.0.0.2")
    assert "fig7_1.ping_ip" in [k for k, _, _ in call.pending_checks(call.step())]
    call.close()


def test_from_the_help_desk_caller_side_checks_are_asked(tmp_path: Path,
                                                         test_server: int) -> None:
    call = make_call(tmp_path, test_server, runs_on="helpdesk")
    step = run_until(call, INTAKE)
    assert "caller's computer" in (call.probe_applies(step) or "")
    assert call.run_check(step) is None
    pending = {k for k, _, _ in call.pending_checks(step)}
    assert pending == {"fig7_1.reverse_lookup", "fig7_1.net_from_helpdesk"}
    call.close()


def run_until(call: Call, answers: dict[str, str]):  # type: ignore[no-untyped-def]
    while True:
        step = call.step()
        if step.visit.key not in answers:
            return step
        call.answer(step.visit, answers[step.visit.key])
