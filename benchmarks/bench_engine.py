"""Engine: the next question of a long call.

A flowchart with a loop (question, action, the question again...) gives a 5,000-step
route. "Ours" is what a call does: each answer recorded in the call's state, then the
engine asked for the next step with the state's answers (it reuses its last walk and
looks only at the answers changed since). The reference is the walk from the start over
the same answers (what every step used to cost). The per-step time is shown at several
points of the call: flat means the whole call is linear in its length.

    python -m benchmarks.bench_engine [--runs N] [--tiny]
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
    import statistics
    import time

    from wizard.calls.engine import Engine
    from wizard.calls.journal import AnswerRecord, CallState
    from wizard.flows.flowset import load_flowset

    steps = 40 if args.tiny else 5000
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "main.yaml").write_text(LOOP, encoding="utf-8")
        fs = load_flowset(Path(tmp))
    base = {"staffer": "ann", "call_id": "x", "test_servers": ""}
    script = answers_for(steps)
    keys = list(script)

    def from_start(answers: dict[str, str]) -> None:
        engine = Engine(fs)
        engine._shared.trails.clear()  # no kept walk: every visit again
        engine.step(answers, base)

    # a whole call as a call makes it: each answer recorded, then the next step
    def whole_call() -> list[float]:
        engine = Engine(fs)
        engine._shared.trails.clear()
        state = CallState(call_id="x")
        times = []
        for k in keys:
            state.answers[k] = AnswerRecord(k, script[k], "")
            start = time.perf_counter()
            engine.step(state.values(), base)
            times.append(time.perf_counter() - start)
        return times

    runs = 1 if args.tiny else max(1, min(args.runs, 3))
    per_step = [statistics.median(col) for col in zip(*(whole_call() for _ in range(runs)),
                                                       strict=True)]
    window = max(1, steps // 50)
    marks = sorted({window, steps // 5, steps // 2, steps})
    for mark in marks:
        at = statistics.median(per_step[max(0, mark - window):mark])
        ref = best(lambda m=mark: from_start(dict(list(script.items())[:m])), runs)
        figure(f"next question at step {mark:,} of a call", at, ref, "walk from the start",
               "under 5 ms, flat")
    first = statistics.median(per_step[:window])
    last = statistics.median(per_step[-window:])
    print(f"  per-step time at step {steps:,} / at step {window:,}: {last / first:.2f} "
          "(1 = flat: linear in the route's length for the whole call)")
    figure(f"whole {steps:,}-step call", sum(per_step),
           best(lambda: from_start(script), 1) * steps / 2,
           "walk from the start each step (estimated: the last one x steps / 2)",
           "linear in route length")


if __name__ == "__main__":
    main()
