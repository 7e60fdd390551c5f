"""The intake: what decides the route first, severity pre-selected from scope and
extent (a quick Enter never logs "Critical" by accident), and the Tier 2 lead alert only
for logon or authentication failures across the network."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from wizard.calls.call import Call
from wizard.calls.engine import Engine
from wizard.calls.journal import JournalFolder
from wizard.config.organization import OrgConfig

from .helpers.calls import routes, shipped
from .helpers.terminal import ENTER, Terminal


def severity_step(tmp_path: Path, scope: str, extent: str) -> tuple[Call, object]:
    call = Call.start(flowset=shipped(), journals=JournalFolder(tmp_path), org=OrgConfig(),
                      staffer="t")
    for key, value in (("intake.call_type", "reach"), ("intake.caller_machine", "ws-ann"),
                       ("intake.windows", "win10_11"), ("intake.target", "fs01"),
                       ("intake.target_ip", ""), ("intake.address_type", "wired"),
                       ("intake.tried", "open the share"), ("intake.scope", scope),
                       ("intake.extent", extent)):
        step = call.step()
        assert step.visit.key == key
        call.answer(step.visit, value)
    return call, call.step()


@pytest.mark.parametrize(("scope", "extent", "suggested"), [
    ("caller", "one_server", "low"),
    ("caller", "everything_caller", "medium"),  # everything fails, but for one caller
    ("several_users", "one_server", "medium"),
    ("site", "one_server", "high"),
    ("caller", "several_servers", "high"),
    ("everyone", "one_server", "critical"),
    ("caller", "logon_network", "critical"),
])
def test_severity_suggestion_is_pre_selected(tmp_path: Path, scope: str, extent: str,
                                             suggested: str) -> None:
    call, step = severity_step(tmp_path, scope, extent)
    assert step.visit.key == "intake.severity"  # type: ignore[attr-defined]
    assert call.preselected(step.visit, step) == suggested  # type: ignore[attr-defined]
    call.close()


def test_only_logon_failures_across_the_network_alert_the_tier2_lead(tmp_path: Path) -> None:
    call, step = severity_step(tmp_path / "a", "caller", "everything_caller")
    assert "intake.widespread_note" not in [n.key for n in step.notices]  # type: ignore[attr-defined]
    call.close()
    call, step = severity_step(tmp_path / "b", "everyone", "logon_network")
    assert [n.key for n in step.notices] == ["intake.widespread_note"]  # type: ignore[attr-defined]
    call.close()


def intake_questions(answers: dict[str, str]) -> list[str]:
    """The intake questions asked, in order, for these answers."""
    engine = Engine(shipped())
    step = engine.step(answers)
    asked = [v.key for v in step.answered_route if v.chart == "intake"]
    return asked + ([step.visit.key] if step.visit.chart == "intake" else [])


def test_what_decides_the_route_comes_first() -> None:
    caller = {"intake.call_type": "reach", "intake.caller_machine": "ws-ann",
              "intake.windows": "win10_11", "intake.target": "fs01", "intake.target_ip": "",
              "intake.address_type": "wired", "intake.tried": "open the share",
              "intake.scope": "caller", "intake.extent": "one_server", "intake.severity": "low",
              "intake.caller_name": "Ann", "intake.details": "later"}
    assert intake_questions(caller) == list(caller)
    server = {"intake.call_type": "server_no_network", "intake.server_name": "dns01",
              "intake.server_windows": "server2003", "intake.server_scope": "caller",
              "intake.extent": "one_server", "intake.severity": "low",
              "intake.caller_name": "Sam", "intake.details": "later"}
    assert intake_questions(server) == list(server)


def test_server_calls_skip_what_does_not_apply() -> None:
    asked = set()
    for _, end in routes():
        if end.visit.chart == "server_restart":
            asked.update(v.key for v in end.route if v.chart == "intake")
    assert asked and "intake.address_type" not in asked and "intake.target" not in asked
    assert "intake.tried" not in asked
    # a server call asks who relies on the server, not "Who is affected? Only this caller"
    assert "intake.scope" not in asked and "intake.server_scope" in asked
    scope = shipped().node("intake.server_scope")
    assert "Only this caller" not in [o.label for o in scope.options]  # type: ignore[union-attr]


def test_a_quick_enter_at_severity_logs_the_suggestion_in_a_real_terminal(
        data_dir: Path) -> None:
    term = Terminal(data_dir, "start")
    term.expect("What is the call about?")
    term.send("1" + ENTER)
    term.expect("What is the name of the caller's computer?")
    term.send("ws-ann" + ENTER)
    term.expect("Which Windows does ws-ann run?")
    term.send("1" + ENTER)
    term.expect("Which computer is the caller trying to reach")
    term.send("fs01" + ENTER)
    term.expect("If known, the IP address of fs01")
    term.send(ENTER)
    term.expect("How is the caller's computer connected right now?")
    term.send("1" + ENTER)
    term.expect("What was the caller trying to do")
    term.send("open the share" + ENTER)
    term.expect("Who is affected?")
    term.send("1" + ENTER)             # only this caller
    term.expect("How far does the problem reach?")
    term.send("3" + ENTER)             # everything fails for this caller
    term.expect("Severity of this call?")
    term.send(ENTER)                   # the staffer just presses Enter
    term.expect("What is the caller's name?")
    term.send("\x03")                 # Ctrl-C: the call is saved
    term.child.expect("resume", timeout=30)
    term.child.close()
    (path,) = (data_dir / "calls").glob("*.jsonl")
    answers = {e["key"]: e["value"] for e in map(json.loads, path.read_text().splitlines())
               if e.get("event") == "answer"}
    assert answers["intake.severity"] == "medium"
    assert "intake.widespread_note" not in path.read_text()
