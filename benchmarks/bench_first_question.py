"""Start-up: how long before the wizard can ask its first question.

* ``python -c pass`` (the interpreter alone, for comparison),
* ``python -c "import wizard.probes"`` (the automatic checks),
* ``python -m wizard --version`` (the command line, if wizard/cli.py exists),
* ``ipsec-triage start`` until the first question is on the screen (a real
  pseudo-terminal; needs pexpect),
* loading and linting the shipped flowcharts.

    python benchmarks/bench_first_question.py [--runs N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _env(**extra: str) -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(ROOT), **extra)


def command(argv: Sequence[str], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, *argv], check=True, env=_env(), cwd=ROOT,
                       stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return times


def first_question(runs: int) -> list[float]:
    import pexpect

    times = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as data:
            env = _env(IPSEC_TRIAGE_DATA=data, IPSEC_TRIAGE_STAFFER="bench",
                       PROMPT_TOOLKIT_NO_CPR="1")
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
        Engine(load_flowset(ROOT / "flowcharts"))
        times.append(time.perf_counter() - start)
    return times


def show(label: str, times: list[float]) -> None:
    print(f"{label:42} median {statistics.median(times) * 1000:7.1f} ms, "
          f"max {max(times) * 1000:7.1f} ms ({len(times)} runs)")


def main() -> None:
    parser = argparse.ArgumentParser(description="start-up times")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    show("python -c pass", command(["-c", "pass"], args.runs))
    show('python -c "import wizard.probes"', command(["-c", "import wizard.probes"],
                                                     args.runs))
    if (ROOT / "wizard" / "cli.py").is_file():
        show("python -m wizard --version", command(["-m", "wizard", "--version"], args.runs))
        try:
            show("first question on a terminal (pty)", first_question(args.runs))
        except Exception as exc:  # pexpect missing, or the prompt changed
            print(f"first question on a terminal: not measured ({type(exc).__name__}: {exc})")
    if (ROOT / "wizard" / "engine.py").is_file():
        show("load + lint shipped flowcharts (in process)", load_and_lint(args.runs))


if __name__ == "__main__":
    main()
