"""Run every benchmark: ``python -m benchmarks [--runs N] [--tiny] [NAME ...]`` (or
``benchmarks/run.sh``). Each prints, for each figure, ours, a reference measured in the
same run, and the ratio; the README's speed table comes from this output. ``--tiny``
runs each on tiny sizes (a check that they work, not a measurement); NAME picks some
(e.g. ``lint``).

Everything runs on this machine against loopback only.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NAMES = ("first_question", "engine", "lint", "records", "journal", "probes", "report",
         "questions", "web", "analysis", "memory", "start")


def arguments(name: str, runs: int | None, tiny: bool) -> list[str]:
    if name == "probes":
        return (["--probes", "4", "--timeout", "0.3", "--battery", "40"] if tiny else []) + (
            ["--runs", str(runs)] if runs else [])
    if name == "questions":
        return []
    if name == "report":
        return ["--sizes", "100,200", "--generate", "100", "--runs", "1"] if tiny else (
            ["--runs", str(runs)] if runs else [])
    return (["--tiny"] if tiny else []) + (["--runs", str(runs)] if runs else [])


def main() -> None:
    p = argparse.ArgumentParser(description="run the benchmarks")
    p.add_argument("--runs", type=int)
    p.add_argument("--tiny", action="store_true")
    p.add_argument("names", nargs="*", choices=[[], *NAMES], metavar="NAME")
    args = p.parse_args()
    for name in NAMES:
        if args.names and name not in args.names:
            continue
        print(f"== {name}", flush=True)
        subprocess.run([sys.executable, "-m", f"benchmarks.bench_{name}",
                        *arguments(name, args.runs, args.tiny)], check=True, cwd=ROOT)


main()
