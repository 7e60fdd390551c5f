"""Start-up and answering speed as the staffer feels it, in a real pseudo-terminal.

* Time to the first question: ``ipsec-triage start`` until the first question is on
  the screen, against a bare questionary prompt
  (``python -c "import questionary; questionary.text(...).ask()"``), the two started in
  turn in the same loop so both see the same machine. Goal: at most 1.3x.
  Measured with the flowchart cache warm (the usual case) and cold (first start after
  an upgrade or a flowchart change).
* Every later question: from Enter to the next question on the screen (the first
  questions of a call, answered after a second each, as a staffer would), against
  the same in a bare script that asks two questionary prompts. Goal: under 20 ms.
* The processor time of both (Linux), which the other work of a shared machine
  disturbs far less than the time on the clock.
* In process: loading the shipped flowcharts from the cache and from the YAML files.

Keys are sent without pexpect's default 50 ms pause before each send (it would be
timed as ours and the reference's).

    python -m benchmarks.bench_first_question [--runs N]
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from typing import Any

from benchmarks.common import ROOT, best, figure, fmt, parser

TYPING = 1.0
"""Seconds between a question on the screen and Enter: the least a staffer takes to
read a question and type or pick an answer (the wizard loads what later steps need
in that time, in the background)."""

BARE = ("import questionary, sys\n"
        "questionary.text(sys.argv[1]).ask()\n"
        "questionary.text(sys.argv[2]).ask()\n")


def _env(**extra: str) -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(ROOT), PROMPT_TOOLKIT_NO_CPR="1",
                IPSEC_TRIAGE_STAFFER="bench", **extra)


def script() -> list[tuple[str, str]]:
    """(question text to wait for, keys to answer it) of the first questions of a call."""
    from wizard.base.textrender import render
    from wizard.calls.engine import SAMPLE_TEXT, Engine, StepKind
    from wizard.flows.flowset import load_flowset
    from wizard.flows.nodes import TextNode

    engine = Engine(load_flowset(ROOT / "flowcharts"))
    answers: dict[str, str] = {}
    out: list[tuple[str, str]] = []
    base = {"staffer": "bench", "call_id": "x", "test_servers": ""}
    for _ in range(4):
        step = engine.step(answers, base)
        if step.kind is StepKind.END:
            break
        node = step.visit.node
        text = " ".join(render(node.text, step.context).split())[:30]
        if isinstance(node, TextNode):
            value = SAMPLE_TEXT[node.validate_as.value]
            keys = value + "\r"
        else:
            value = engine.sample_value(node)[0]
            keys = "1\r"  # the first option (its shortcut key), then Enter
        answers[step.visit.key] = value
        out.append((text, keys))
    return out


def spawn(argv: list[str], env: dict[str, str]) -> Any:
    import pexpect

    child = pexpect.spawn(sys.executable, argv, env=env, encoding="utf-8", timeout=30,
                          dimensions=(40, 120), cwd=str(ROOT))
    # pexpect sleeps 50 ms before each send() by default: inside the timed interval
    child.delaybeforesend = None
    return child


def command() -> list[str]:
    """The wizard as a staffer starts it: the ``ipsec-triage`` command installed next
    to this Python (``python -m wizard`` where it is not installed, which also loads
    runpy)."""
    from pathlib import Path

    script = Path(sys.executable).with_name("ipsec-triage")
    return [str(script)] if script.is_file() else ["-m", "wizard"]


def cpu(child: Any) -> float:
    """Processor seconds the child has used so far (Linux: /proc; elsewhere 0). On a
    shared machine the wall-clock time is mostly waiting for a processor; this is not."""
    try:
        with open(f"/proc/{child.pid}/stat", encoding="ascii") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


Times = tuple[float, list[float], float, list[float]]
"""Wall seconds to the first question, from each Enter to the next question, and the
processor seconds of the same."""


def run_ours(steps: list[tuple[str, str]], cache: str, cold: bool) -> Times:
    import shutil

    import pexpect

    if cold:
        shutil.rmtree(cache, ignore_errors=True)
    with tempfile.TemporaryDirectory() as data:
        env = _env(IPSEC_TRIAGE_DATA=data, IPSEC_TRIAGE_CACHE=cache)
        start = time.perf_counter()
        child = spawn([*command(), "start"], env)
        child.expect_exact(steps[0][0])
        first, first_cpu = time.perf_counter() - start, cpu(child)
        later, later_cpu = [], []
        for (_, keys), (text, _) in zip(steps, steps[1:], strict=False):
            if keys != "\r":
                child.send(keys[:-1])
            time.sleep(TYPING)  # a staffer reading and typing: time only the Enter
            t, c = time.perf_counter(), cpu(child)
            child.send("\r")
            child.expect_exact(text)
            later.append(time.perf_counter() - t)
            later_cpu.append(cpu(child) - c)
        child.sendcontrol("c")
        child.expect(pexpect.EOF)
        child.close()
    return first, later, first_cpu, later_cpu


def run_bare(first_text: str) -> Times:
    import pexpect

    start = time.perf_counter()
    child = spawn(["-c", BARE, first_text, "The second question?"], _env())
    child.expect_exact(first_text)
    first, first_cpu = time.perf_counter() - start, cpu(child)
    child.send("x")
    time.sleep(TYPING)
    t, c = time.perf_counter(), cpu(child)
    child.send("\r")
    child.expect_exact("The second question?")
    later, later_cpu = time.perf_counter() - t, cpu(child) - c
    child.send("y\r")
    child.expect(pexpect.EOF)
    child.close()
    return first, [later], first_cpu, [later_cpu]


def compiled() -> None:
    """Byte-compile the wizard, as installing it does: questionary, the reference, is
    installed with its bytecode (``PYTHONDONTWRITEBYTECODE`` would else have the wizard
    compiled from source at every start)."""
    import compileall

    compileall.compile_dir(str(ROOT / "wizard"), quiet=1)


def main() -> None:
    global TYPING
    args = parser(__doc__).parse_args()
    runs = 1 if args.tiny else max(args.runs, 7)
    if args.tiny:
        TYPING = 0.05
    compiled()
    steps = script()
    with tempfile.TemporaryDirectory() as cache:
        run_ours(steps, cache, cold=True)  # warm the cache (and the disk)
        run_bare(steps[0][0])
        warm, cold, bare, ours_later, bare_later, pairs = [], [], [], [], [], []
        cpu_first: tuple[list[float], list[float]] = ([], [])
        cpu_later: tuple[list[float], list[float]] = ([], [])
        for _ in range(runs):
            f, lat, fc, lc = run_ours(steps, cache, cold=False)
            b, bl, bc, blc = run_bare(steps[0][0])
            warm.append(f)
            bare.append(b)
            pairs.append(f / b)
            ours_later.extend(lat)
            bare_later.extend(bl)
            cpu_first[0].append(fc)
            cpu_first[1].append(bc)
            cpu_later[0].extend(lc)
            cpu_later[1].extend(blc)
        for _ in range(max(1, runs // 2)):
            cold.append(run_ours(steps, cache, cold=True)[0])
    med = statistics.median
    figure("first question (flowchart cache warm)", med(warm), med(bare),
           "bare questionary prompt", "at most 1.3x")
    print(f"  pairwise ratios: median {med(pairs):.2f}, min {min(pairs):.2f}, "
          f"max {max(pairs):.2f} ({runs} pairs)")
    figure("first question (no cache: first start)", med(cold), med(bare),
           "bare questionary prompt")
    figure("Enter to the next question", med(ours_later), med(bare_later),
           "bare questionary, 2nd prompt", "under 20 ms")
    print(f"  slowest of {len(ours_later)} later questions: {fmt(max(ours_later))}")
    mean = statistics.fmean
    if mean(cpu_first[1]) > 0:  # processor time, where the system tells it
        figure("first question, processor time", mean(cpu_first[0]), mean(cpu_first[1]),
               "bare questionary prompt", "at most 1.3x")
        figure("Enter to the next question, processor time", mean(cpu_later[0]),
               mean(cpu_later[1]), "bare questionary, 2nd prompt")

    from wizard.flows.flowset import load_flowset

    with tempfile.TemporaryDirectory() as cache:
        os.environ["IPSEC_TRIAGE_CACHE"] = cache
        load_flowset(ROOT / "flowcharts")
        cached = best(lambda: load_flowset(ROOT / "flowcharts"), runs)
        figure("load shipped flowcharts (in process)", cached,
               best(lambda: load_flowset(ROOT / "flowcharts", cache=False), runs),
               "YAML + schema + lint, no cache")


if __name__ == "__main__":
    main()
