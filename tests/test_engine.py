"""The pure engine: next step from answers; back edits; loops; progress."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wizard.calls.answerlog import AnswerValues
from wizard.calls.engine import TRAILS_KEPT, Engine, Step, StepKind, _Trail
from wizard.calls.journal import AnswerRecord, CallState
from wizard.flows.flowset import load_flowset

from .helpers.calls import shipped

INTAKE = {
    "intake.caller_name": "Ann", "intake.details": "now",
    "intake.caller_contact": "ann@corp.example",
    "intake.call_type": "reach",
    "intake.caller_machine": "ws-ann", "intake.windows": "win10_11", "intake.target": "fs01",
    "intake.target_ip": "10.1.2.3",
    "intake.tried": "open a share", "intake.since": "today", "intake.existing_ticket": "",
    "intake.scope": "caller", "intake.extent": "one_server", "intake.address_type": "wired",
    "intake.severity": "low",
}


def test_first_step_is_the_call_type_with_the_social_engineering_caution() -> None:
    """What decides the route is asked first; the caution comes with the first question."""
    step = Engine(shipped()).step({})
    assert step.kind is StepKind.ASK
    assert step.visit.key == "intake.call_type"
    assert [n.key for n in step.notices] == ["intake.social_engineering"]
    assert step.number == 1 and step.remaining > 5


def test_no_connection_type_question_on_a_server_call() -> None:
    engine = Engine(shipped())
    answers = {"intake.call_type": "server_no_network", "intake.server_scope": "several_users",
               "intake.extent": "one_server", "intake.severity": "high",
               "intake.caller_name": "Sam", "intake.details": "later",
               "intake.server_name": "dns01", "intake.server_windows": "server2003"}
    step = engine.step(answers)
    assert step.visit.chart == "server_restart"
    assert "intake.address_type" not in [v.key for v in step.route]


def test_texts_see_earlier_answers() -> None:
    step = Engine(shipped()).step(dict(INTAKE))
    assert step.visit.key == "fig7_1.ping_ip"
    assert step.context["target"] == "fs01"


def test_back_edit_keeps_later_answers_on_an_unchanged_route() -> None:
    engine = Engine(shipped())
    answers = dict(INTAKE) | {"fig7_1.ping_ip": "yes", "fig7_1.reverse_lookup": "yes"}
    before = engine.step(answers)
    assert before.visit.key == "fig7_1.ping_name"
    answers["intake.caller_name"] = "Ann Other"  # change an early answer
    after = engine.step(answers)
    assert after.visit.key == "fig7_1.ping_name"
    assert after.context["caller_name"] == "Ann Other"


def test_back_edit_that_changes_the_route_drops_answers_off_the_route() -> None:
    engine = Engine(shipped())
    answers = dict(INTAKE) | {"fig7_1.ping_ip": "yes", "fig7_1.reverse_lookup": "yes"}
    answers["fig7_1.ping_ip"] = "no"
    step = engine.step(answers)
    assert step.visit.key == "fig7_1.no_reply"  # what the design says a silent ping proves
    assert "fig7_1.reverse_lookup" not in [v.key for v in step.route]
    answers["fig7_1.ping_ip"] = "yes"  # and back again: the kept answer is used again
    assert engine.step(answers).visit.key == "fig7_1.ping_name"


def test_invalid_stored_answer_is_asked_again() -> None:
    step = Engine(shipped()).step(dict(INTAKE) | {"intake.scope": "nobody"})
    assert step.visit.key == "intake.scope"


LOOP = """\
id: main
title: Loop
version: "1"
source: test
entry: true
start: ask
nodes:
  ask:
    kind: yesno
    text: Try again?
    source: test passage
    yes: retry
    no: done
  retry:
    kind: action
    text: Retry it
    source: test passage
    next: ask
  done:
    kind: terminal
    status: fixed_understood
    category: network
    text: Done
    source: test passage
"""


def test_loops_get_one_answer_per_visit(tmp_path: Path) -> None:
    (tmp_path / "main.yaml").write_text(LOOP)
    engine = Engine(load_flowset(tmp_path))
    step = engine.step({"main.ask": "yes", "main.retry": "done"})
    assert step.visit.key == "main.ask@2"
    end = engine.step({"main.ask": "yes", "main.retry": "done", "main.ask@2": "no"})
    assert end.kind is StepKind.END and end.number == 4
    assert len(list(engine.paths())) >= 2


@pytest.mark.parametrize("key", ["intake.caller_machine", "intake.target"])
def test_paths_give_valid_samples(key: str) -> None:
    answers, _ = next(iter(Engine(shipped()).paths()))
    assert answers[key]


BRANCH = """\
id: main
title: Branch
version: "1"
source: test
entry: true
start: ip
nodes:
  ip:
    kind: text
    var: ip
    optional: true
    validate: ip
    text: Address, if known?
    source: test passage
    next: which
  which:
    kind: branch
    text: Known address?
    source: test passage
    cases:
      - {when: "ip", next: with_ip}
    otherwise: without_ip
  with_ip:
    kind: terminal
    status: fixed_understood
    category: network
    text: With {{ ip }}
    source: test passage
  without_ip:
    kind: terminal
    status: fixed_unclear
    category: network
    text: Without
    source: test passage
"""


def test_branch_decides_from_earlier_answers_and_asks_nothing(tmp_path: Path) -> None:
    (tmp_path / "main.yaml").write_text(BRANCH)
    engine = Engine(load_flowset(tmp_path))
    assert engine.step({"main.ip": "10.0.0.1"}).visit.node_key == "main.with_ip"
    end = engine.step({"main.ip": ""})
    assert end.visit.node_key == "main.without_ip" and end.number == 2
    # both sides of the branch are routes, so both are replayed
    assert {s.visit.node_key for _, s in engine.paths()} == {"main.with_ip", "main.without_ip"}


def test_branch_with_an_unknown_variable_is_a_lint_problem(tmp_path: Path) -> None:
    from wizard.flows.flowset import lint

    (tmp_path / "main.yaml").write_text(BRANCH.replace('when: "ip"', 'when: "ipp"'))
    problems = [str(p) for p in lint(load_flowset(tmp_path, check=False))]
    assert any("node 'which'" in p and "unknown variable 'ipp'" in p for p in problems)


def _fresh(engine: Engine, answers: dict[str, str], base: dict[str, str]) -> Step:
    """The step of a walk from the start (the kept walks left as they are)."""
    return engine._step(answers, _Trail(dict(base)))


def _same(a: Step, b: Step) -> None:
    assert (a.kind, a.visit, a.route, a.notices, dict(a.context), a.number, a.remaining) == (
        b.kind, b.visit, b.route, b.notices, dict(b.context), b.number, b.remaining)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_a_reused_engine_gives_what_a_walk_from_the_start_gives(data: st.DataObject) -> None:
    """Answers, back edits, wrong answers and a changed context, in any order."""
    fs = shipped()
    reused, reference = Engine(fs), Engine(fs)
    answers: dict[str, str] = {}
    base = {"staffer": "ann", "call_id": "x", "test_servers": ""}
    for _ in range(data.draw(st.integers(5, 40))):
        step = reused.step(answers, base)
        _same(step, _fresh(reference, answers, base))
        if step.kind is StepKind.END:
            break
        action = data.draw(st.sampled_from(["answer", "answer", "answer", "back", "wrong",
                                            "context"]))
        answered = [v for v in step.route if v.answered]
        if action == "back" and answered:
            visit = data.draw(st.sampled_from(answered))
            answers[visit.key] = data.draw(st.sampled_from(reused.sample_value(visit.node)))
        elif action == "wrong":
            answers[step.visit.key] = "not an answer of this step \x00"
        elif action == "context":
            base = {**base, "staffer": data.draw(st.sampled_from(["ann", "bob"]))}
        else:
            node = step.visit.node
            answers[step.visit.key] = data.draw(st.sampled_from(reused.sample_value(node)))
    _same(reused.step(answers, base), _fresh(reference, answers, base))


def test_an_engine_per_request_reuses_the_walk_of_its_call() -> None:
    """A server makes an engine for every request: each picks up the last walk of its
    call (not of another call), and every step is the one a walk from the start gives."""
    fs = shipped()
    reference = Engine(fs)
    calls = [({}, {"staffer": "ann", "call_id": f"call-{n}", "test_servers": ""})
             for n in range(3)]
    for key, value in INTAKE.items():
        for answers, base in calls:  # the calls' requests interleaved
            answers[key] = value
            step = Engine(fs).step(answers, base)
            _same(step, _fresh(reference, answers, base))
            kept = Engine(fs)._shared.trails[frozenset(base.items())]
            assert kept.base == base and len(kept.route) == len(step.route)
    # a call's answer changed back: the next engine's step is still the walk's
    answers, base = calls[0]
    answers["intake.call_type"] = "server"
    _same(Engine(fs).step(answers, base), _fresh(reference, answers, base))


def test_the_walks_kept_are_bounded() -> None:
    fs = shipped()
    for n in range(TRAILS_KEPT + 10):
        Engine(fs).step({}, {"call_id": f"bounded-{n}"})
    trails = Engine(fs)._shared.trails
    assert len(trails) == TRAILS_KEPT
    assert frozenset({("call_id", f"bounded-{TRAILS_KEPT + 9}")}) in trails
    assert frozenset({("call_id", "bounded-0")}) not in trails


def test_a_thousand_step_route_reaches_its_end(tmp_path: Path) -> None:
    (tmp_path / "main.yaml").write_text(LOOP)
    engine = Engine(load_flowset(tmp_path))
    answers: dict[str, str] = {}
    for n in range(1, 501):
        suffix = "" if n == 1 else f"@{n}"
        answers[f"main.ask{suffix}"] = "yes"
        answers[f"main.retry{suffix}"] = "done"
        step = engine.step(answers)
        assert step.visit.key == f"main.ask@{n + 1}" and step.number == 2 * n + 1
    answers["main.ask@501"] = "no"
    end = engine.step(answers)
    assert end.kind is StepKind.END and end.number == 1002 and len(end.route) == 1001
    _same(end, _fresh(engine, answers, {}))


def _record(key: str, value: str) -> AnswerRecord:
    return AnswerRecord(key, value, "2026-01-01T00:00:00+00:00")


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_a_call_states_answers_give_what_a_walk_from_the_start_gives(
        data: st.DataObject) -> None:
    """The answers of a call (its state's values, which count their changes) through
    answers, back edits, wrong answers and removed answers: every step is the walk's."""
    fs = shipped()
    reused, reference = Engine(fs), Engine(fs)
    state = CallState(call_id="counted")
    base = {"staffer": "ann", "call_id": "counted", "test_servers": ""}
    for _ in range(data.draw(st.integers(5, 40))):
        step = reused.step(state.values(), base)
        _same(step, _fresh(reference, dict(state.values()), base))
        if step.kind is StepKind.END:
            break
        action = data.draw(st.sampled_from(["answer", "answer", "answer", "back", "wrong",
                                            "remove"]))
        answered = [v for v in step.route if v.answered]
        if action in ("back", "remove") and answered:
            visit = data.draw(st.sampled_from(answered))
            if action == "remove":
                del state.answers[visit.key]
            else:
                value = data.draw(st.sampled_from(reused.sample_value(visit.node)))
                state.answers[visit.key] = _record(visit.key, value)
        elif action == "wrong":
            state.answers[step.visit.key] = _record(step.visit.key, "not an answer \x00")
        else:
            value = data.draw(st.sampled_from(reused.sample_value(step.visit.node)))
            state.answers[step.visit.key] = _record(step.visit.key, value)
    _same(reused.step(state.values(), base), _fresh(reference, dict(state.values()), base))


class _CountedValues(AnswerValues):
    __slots__ = ("reads",)

    def get(self, key: str, default: object = None) -> object:  # type: ignore[override]
        self.reads += 1
        return super().get(key, default)


def test_a_long_calls_next_step_reads_only_what_changed(tmp_path: Path) -> None:
    """At every step of a 2,000-step call the engine reads the same few answers (the
    new one and the next), however long the route behind it is."""
    (tmp_path / "main.yaml").write_text(LOOP)
    engine = Engine(load_flowset(tmp_path))
    state = CallState(call_id="long")
    state.answers.plain = values = _CountedValues()  # type: ignore[attr-defined]
    values.reads = 0
    reads = []
    for n in range(1, 1001):
        suffix = "" if n == 1 else f"@{n}"
        for key, value in ((f"main.ask{suffix}", "yes"), (f"main.retry{suffix}", "done")):
            state.answers[key] = _record(key, value)
            values.reads = 0
            step = engine.step(state.values())
            reads.append(values.reads)
    assert step.visit.key == "main.ask@1001" and len(step.route) == 2000
    assert max(reads) <= 3, max(reads)
    # an earlier answer changed: the route is walked again from there, and is right
    state.answers["main.ask@10"] = _record("main.ask@10", "no")
    end = engine.step(state.values())
    assert end.kind is StepKind.END and len(end.route) == 19


def test_a_call_states_values_are_read_only_and_plain_to_readers() -> None:
    state = CallState(call_id="x", answers={"intake.target": _record("intake.target", "fs01")})
    values = state.values()
    assert values == {"intake.target": "fs01"} and values is state.values()
    with pytest.raises(TypeError):
        values["intake.target"] = "other"  # type: ignore[index]
    with pytest.raises(TypeError):
        values.pop("intake.target")
    assert json.loads(json.dumps(values)) == {"intake.target": "fs01"}
    assert type(copy.copy(values)) is dict and copy.deepcopy(state).values() == values
    state.answers.pop("intake.target")
    assert values == {}
