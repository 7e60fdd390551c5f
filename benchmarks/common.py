"""Shared helpers: timing, and one line per figure (ours, the reference, the ratio)."""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def parser(doc: str | None) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=(doc or "").strip().splitlines()[0])
    p.add_argument("--runs", type=int, default=5, help="median of N runs")
    p.add_argument("--tiny", action="store_true",
                   help="tiny sizes, one run: checks that the benchmark works, not speed")
    return p


def best(func: Callable[[], object], runs: int) -> float:
    """Median seconds of ``runs`` calls."""
    times = []
    for _ in range(max(1, runs)):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def fmt(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 0.001:
        return f"{seconds * 1000:.1f} ms"
    return f"{seconds * 1e6:.0f} us"


def figure(label: str, ours: float, reference: float, ref_label: str,
           goal: str = "") -> None:
    """Print one figure: ours, the reference measured in the same run, and the ratio."""
    ratio = ours / reference if reference > 0 else float("inf")
    tail = f"  [goal: {goal}]" if goal else ""
    print(f"{label:44} ours {fmt(ours):>9}  reference {fmt(reference):>9} "
          f"({ref_label})  ratio {ratio:5.2f}{tail}", flush=True)
