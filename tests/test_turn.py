"""The turn of a call as data (wizard.calls.turn): what a staffer is shown for a
question, whichever front end renders it: a choice, a text, a check, a pasted UNC path,
a previous answer; and the one quit-or-discard rule."""

from __future__ import annotations

from pathlib import Path

import pytest

from wizard.calls.call import Call
from wizard.calls.journal import JournalError, JournalFolder
from wizard.checks.base import ProbeResult, ProbeStatus
from wizard.flows import answer_rules
from wizard.flows.nodes import CheckNode
from wizard.service import turns

from .helpers.calls import shipped

INTAKE = {
    "intake.caller_name": "Ann", "intake.details": "now",
    "intake.caller_contact": "ann@corp.example",
    "intake.since": "today", "intake.existing_ticket": "", "intake.scope": "caller",
    "intake.extent": "one_server", "intake.address_type": "wired", "intake.severity": "low",
    "intake.call_type": "reach", "intake.caller_machine": "ws-ann",
    "intake.windows": "win10_11", "intake.target": "localhost",
    "intake.target_ip": "127.0.0.1", "intake.tried": "open a share",
}


def _call(tmp_path: Path) -> Call:
    return Call.start(flowset=shipped(), journals=JournalFolder(tmp_path), org=None,
                      staffer="tester", runs_on="helpdesk", mode="answers_file",
                      checks=False)


def _answer_until(call: Call, key: str) -> None:
    while (step := call.step()).visit.key != key:
        call.answer(step.visit, INTAKE[step.visit.key])


def test_a_choice_shows_its_labelled_options_and_no_default(tmp_path: Path) -> None:
    call = _call(tmp_path)
    step = call.step()
    turn = turns.turn_of(call, step)
    assert turn.key == "intake.call_type" and turn.kind == "choice"
    assert turn.text == call.text(step.visit.node.text, step)
    node = step.visit.node
    assert [(o.value, o.label) for o in turn.options] == [(o.value, o.label)
                                                          for o in node.options]
    assert turn.default is None and turn.default_why is None
    assert turn.progress == "at least 10 more"
    assert turn.recap == ()
    # the notice shown with the first question comes with it
    assert [n.text for n in turn.notices] == [call.text(v.node.text, step)
                                             for v in step.notices]
    call.close()


def test_a_chart_preselected_option_is_the_default_and_says_so(tmp_path: Path) -> None:
    call = _call(tmp_path)
    _answer_until(call, "intake.severity")
    turn = turns.turn_of(call, call.step())
    assert (turn.default, turn.default_why) == ("low", turns.PRESELECTED)
    # who and which computers are known so far, in the recap's order
    assert turn.recap == (("Computer", "ws-ann"), ("Target", "localhost"))
    call.close()


def test_a_previous_answer_is_the_default_when_it_is_changed(tmp_path: Path) -> None:
    call = _call(tmp_path)
    _answer_until(call, "intake.windows")
    step = call.step()
    earlier = next(v for v in step.answered_route if v.key == "intake.call_type")
    turn = turns.turn_of(call, step, earlier)
    assert (turn.default, turn.default_why) == ("reach", turns.PREVIOUS)
    assert turn.key == "intake.call_type"
    # an earlier question is shown without the current step's command and progress
    assert turn.command == "" and turn.progress == "" and turn.notices == ()
    # the current step shows the command for the caller's Windows
    assert turns.turn_of(call, step).command == call.command(step.visit.node, step)
    call.close()


def test_a_text_for_a_computer_offers_the_host_of_a_pasted_unc_path(tmp_path: Path) -> None:
    call = _call(tmp_path)
    _answer_until(call, "intake.caller_machine")
    step = call.step()
    turn = turns.turn_of(call, step)
    assert turn.kind == "text" and turn.host and not turn.optional
    assert turns.host_offer(step.visit.node, " \\\\fs01.corp.example\\share ") == \
        "fs01.corp.example"
    assert turns.host_offer(step.visit.node, "ws-ann") is None
    offered = turns.turn_of(call, step, offer="fs01.corp.example")
    assert offered.offer == "fs01.corp.example"
    # a text that takes no computer's name offers no host, whatever is pasted
    _answer_until(call, "intake.tried")
    tried = call.step()
    assert not turns.turn_of(call, tried).host
    assert turns.host_offer(tried.visit.node, "\\\\fs01\\share") is None
    call.close()


@pytest.mark.parametrize(("status", "default"), [(ProbeStatus.OK, "yes"),
                                                 (ProbeStatus.FAIL, None)])
def test_a_check_defaults_to_its_suggestion_and_keeps_the_result(
        tmp_path: Path, status: ProbeStatus, default: str | None) -> None:
    call = _call(tmp_path)
    _answer_until(call, "fig7_1.ping_ip")
    step = call.step()
    node = step.visit.node
    assert isinstance(node, CheckNode)
    result = ProbeResult(probe=node.probe.name, status=status, summary="127.0.0.1 replied")
    suggestion = call.suggestion_from(node, result)
    turn = turns.turn_of(call, step, suggestion=suggestion)
    assert turn.kind == "choice"
    assert [(o.value, o.label) for o in turn.options] == answer_rules.choices(node)
    if suggestion.value is not None:
        assert (turn.default, turn.default_why) == (suggestion.value, turns.CHECK)
    else:
        assert turn.default is None
    assert turn.check is suggestion
    # a check that did not run says why, in the core's words
    why = call.probe_applies(step)
    assert why is not None and "turned off" in why
    assert turns.turn_of(call, step, why_not=why).why_not == why
    call.close()


def test_quit_discards_an_empty_call_and_keeps_one_with_answers(tmp_path: Path) -> None:
    empty = _call(tmp_path)
    assert turns.quit_call(empty) is True
    empty.close()
    with pytest.raises(JournalError):  # nothing of it is kept
        JournalFolder(tmp_path).load(empty.call_id)
    kept = _call(tmp_path)
    kept.answer(kept.step().visit, "reach")
    assert turns.quit_call(kept) is False
    kept.close()
    state = JournalFolder(tmp_path).load(kept.call_id)
    assert state.ended is None and state.answers["intake.call_type"].value == "reach"


def test_a_duplicate_names_a_ticket_number() -> None:
    assert turns.duplicate_ticket(" INC0012345 ") == "INC0012345"
    with pytest.raises(answer_rules.AnswerError):
        turns.duplicate_ticket("not a ticket; rm -rf")


def test_the_core_says_why_a_check_did_not_run_without_command_line_options(
        tmp_path: Path) -> None:
    from wizard.base.documents import DocumentError
    from wizard.calls.replay import AnswersFile, run
    from wizard.frontends.terminal.wording import worded

    call = _call(tmp_path)
    _answer_until(call, "fig7_1.ping_ip")
    why = call.probe_applies(call.step())
    assert why == turns.CHECKS_OFF and "--" not in why
    # the answers file run from the command line names the option that turns them on
    doc = AnswersFile(tmp_path / "a.yaml", {})
    with pytest.raises(DocumentError) as raised:
        run(call, doc, probes=False, worded=worded)
    assert str(raised.value).endswith(
        "; automatic checks are turned off for this call (--no-checks)"), raised.value
    assert worded(turns.CALLER_ONLY) == ("this check only tells something when the wizard "
                                         "runs on the caller's computer (start it with "
                                         "--on caller)")
    call.close()
