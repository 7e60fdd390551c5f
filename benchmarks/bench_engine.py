"""Engine: the next question of a long call.

A flowchart with a loop (question, action, the question again...) gives a 1,000-step
route. "Ours" is what a call does: the same engine asked for the next step after each
new answer (it reuses its last walk up to the first changed answer). The reference is
the walk from the start over the same answers (what every step used to cost).

    python -m benchmarks.bench_engine [--steps 1000] [--runs N]
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from benchmarks.common import best, figure, parser

LOOP = """\
id: main
title: Loop
version: "1"
source: benchmark
entry: true
start: ask
nodes:
  ask:
    kind: yesno
    text: Still broken after {{ staffer }} tried again?
    yes: retry
    no: done
    source: benchmark
  retry:
    kind: action
    text: Try again
    next: ask
    source: benchmark
  done:
    kind: terminal
    status: fixed_understood
    category: network
    text: Done
    source: benchmark
"""


def answers_for(steps: int) -> dict[str, str]:
    answers: dict[str, str] = {}
    for n in range(1, steps // 2 + 1):
        suffix = "" if n == 1 else f"@{n}"
        answers[f"main.ask{suffix}"] = "yes"
        answers[f"main.retry{suffix}"] = "done"
    return answers


def main() -> None:
    args = parser(__doc__).parse_args()
    from wizard.calls.engine import Engine
    from wizard.flows.flowset import load_flowset

    steps = 40 if args.tiny else 1000
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "main.yaml").write_text(LOOP, encoding="utf-8")
        fs = load_flowset(Path(tmp))
    engine = Engine(fs)
    base = {"staffer": "ann", "call_id": "x", "test_servers": ""}
    answers = answers_for(steps)
    keys = list(answers)
    engine.step(dict(answers), base)

    def next_question() -> None:  # the last answer changes, as when it is given
        last = keys[-1]
        answers[last] = "done" if answers[last] != "done" else "done "
        engine.step(answers, base)

    def from_start() -> None:
        engine._trail = None
        engine.step(answers, base)

    runs = 1 if args.tiny else max(args.runs, 20)
    ours = best(next_question, runs)
    ref = best(from_start, runs)
    figure(f"next question, {steps}-step route", ours, ref, "walk from the start",
           "under 5 ms")

    # a whole call: every answer given in turn
    script = answers_for(steps)

    def whole_call(reuse: bool) -> None:
        e = Engine(fs)
        given: dict[str, str] = {}
        for k in keys:
            given[k] = script[k]
            if not reuse:
                e._trail = None
            e.step(given, base)

    figure(f"whole {steps}-step call", best(lambda: whole_call(True), 1),
           best(lambda: whole_call(False), 1), "walk from the start each step",
           "linear in route length")


if __name__ == "__main__":
    main()
