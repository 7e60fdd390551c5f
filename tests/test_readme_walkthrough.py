"""The README's walk-through asks the questions in the order the wizard really asks
them: its answers, fed to the engine, reach each next question it shows."""

from __future__ import annotations

import re

from wizard.base.textrender import render
from wizard.calls.engine import Engine, StepKind
from wizard.flows import answer_rules
from wizard.flows.nodes import ChoiceNode, TextNode, YesNoNode

from .helpers.calls import shipped
from .helpers.run import ROOT

CONTEXT = {"staffer": "sam", "call_id": "x", "test_servers": ""}


def walkthrough() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## A call, step by step", 1)[1].split("\n## ", 1)[0]
    lines = [line[6:] for line in section.splitlines() if line.startswith("    ? ")]
    # up to the first "..." gap: the questions shown one after the other
    gap = section.split("\n    ...\n", 1)[0]
    return [q for q in lines if f"    ? {q}" in gap]


def value_for(node: object, shown: str) -> str:
    if isinstance(node, TextNode):
        return shown
    if isinstance(node, (ChoiceNode, YesNoNode)) or hasattr(node, "options"):
        for value in Engine(shipped()).sample_value(node):  # type: ignore[arg-type]
            if answer_rules.label(node, value) == shown:  # type: ignore[arg-type]
                return value
    raise AssertionError(f"README answer {shown!r} is not a choice of {node}")


def test_the_walkthrough_follows_the_real_order_of_questions() -> None:
    lines = walkthrough()
    assert len(lines) >= 10
    engine = Engine(shipped())
    answers: dict[str, str] = {}
    for line in lines:
        step = engine.step(answers, CONTEXT)
        assert step.kind is StepKind.ASK
        question = " ".join(render(step.visit.node.text, step.context).split())
        assert line.startswith(question), (
            f"README walk-through shows {line!r}, but the wizard asks {question!r} "
            f"({step.visit.key}) at that point")
        shown = line[len(question):].strip()
        answers[step.visit.key] = value_for(step.visit.node, shown)
    assert re.search(r"Step \d+ · ", (ROOT / "README.md").read_text(encoding="utf-8"))
