"""Every benchmark runs (on tiny sizes: this checks they work, it measures nothing) and
prints, for each figure, ours, the reference and the ratio."""

from __future__ import annotations

import re
import subprocess

import pytest

from .helpers.run import PYTHON, ROOT

FIGURE = re.compile(r"ours +[\d.]+ (s|ms|us) +reference +[\d.]+ (s|ms|us) .*ratio +[\d.]+")


@pytest.mark.parametrize("name", ["first_question", "engine", "lint", "records", "journal",
                                  "probes", "web", "analysis", "start"])
def test_benchmark_runs_on_tiny_sizes(name: str) -> None:
    done = subprocess.run([PYTHON, "-m", "benchmarks", "--tiny", name], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    figures = [line for line in done.stdout.splitlines() if FIGURE.search(line)]
    assert figures, done.stdout
