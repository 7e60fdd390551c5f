"""Time from starting `ipsec-triage` to the first question on the screen, in a real
pseudo-terminal, and the time to load and lint the shipped flowcharts.

    python benchmarks/bench_first_question.py [--runs N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pexpect

ROOT = Path(__file__).resolve().parent.parent


def first_question(runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as data:
            env = dict(os.environ, IPSEC_TRIAGE_DATA=data, IPSEC_TRIAGE_STAFFER="bench",
                       PROMPT_TOOLKIT_NO_CPR="1", PYTHONPATH=str(ROOT))
            start = time.perf_counter()
            child = pexpect.spawn(sys.executable, ["-m", "wizard", "start"], env=env,
                                  encoding="utf-8", timeout=30, dimensions=(40, 120))
            child.expect_exact("What is the caller's name?")
            times.append(time.perf_counter() - start)
            child.sendcontrol("c")
            child.expect(pexpect.EOF)
            child.close()
    return times


def load_and_lint(runs: int) -> list[float]:
    sys.path.insert(0, str(ROOT))
    from wizard.engine import Engine
    from wizard.flowset import load_flowset

    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fs = load_flowset(ROOT / "flowcharts")
        Engine(fs)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    fq = first_question(args.runs)
    ll = load_and_lint(args.runs)
    print(f"time to first question (pty, {args.runs} runs): median {statistics.median(fq):.3f} s,"
          f" max {max(fq):.3f} s")
    print(f"load + lint shipped flowcharts ({args.runs} runs): median "
          f"{statistics.median(ll) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
