"""Questions per call: how many answers the staffer gives on each route through the
shipped flowcharts, now and with the intake as it was before it was reordered
(``benchmarks/data/intake_before.yaml``), measured over every route in the same run.

An answer is every question, check confirmation and "done" the staffer gives; notes
(cautions) cost none. "Before the first test" counts the answers before the route
leaves the intake (the first flowchart step: a check, or the server's first question).

    python -m benchmarks.bench_questions
"""

from __future__ import annotations

import shutil
import statistics
import tempfile
from pathlib import Path

from benchmarks.common import ROOT, parser


def counts(flowcharts: Path, *, details_now: bool = True) -> tuple[list[int], list[int]]:
    """Per route: all staffer answers, and those before the route leaves the intake;
    without ``details_now``, only the routes where the optional details step keeps its
    pre-selected "Not now" (each route is counted once, as the old intake had it)."""
    from wizard.calls.engine import Engine
    from wizard.flows.flowset import load_flowset

    fs = load_flowset(flowcharts)
    total, intake = [], []
    for answers, end in Engine(fs).paths():
        if not details_now and answers.get("intake.details") == "now":
            continue
        answered = end.answered_route
        total.append(len(answered))
        intake.append(sum(1 for v in answered if v.chart == fs.entry))
    return total, intake


def line(name: str, values: list[int]) -> str:
    return (f"{name}: median {statistics.median(values):g}, maximum {max(values)} "
            f"over {len(values)} routes")


def main() -> None:
    parser(__doc__).parse_args()
    shipped = ROOT / "flowcharts"
    with tempfile.TemporaryDirectory() as tmp:
        before_dir = Path(tmp) / "flowcharts"
        shutil.copytree(shipped, before_dir)
        shutil.copy(ROOT / "benchmarks" / "data" / "intake_before.yaml",
                    before_dir / "intake.yaml")
        old_total, old_intake = counts(before_dir)
    new_total, new_intake = counts(shipped)
    later_total, later_intake = counts(shipped, details_now=False)
    print(line("staffer answers per call, before", old_total))
    print(line("staffer answers per call, now", new_total))
    print(line("staffer answers per call, now, details 'Not now'", later_total))
    print(line("answers before the first test, before", old_intake))
    print(line("answers before the first test, now", new_intake))
    print(line("answers before the first test, now, details 'Not now'", later_intake))
    print(f"  ratio now / before (median answers per call): "
          f"{statistics.median(new_total) / statistics.median(old_total):.2f}")


if __name__ == "__main__":
    main()
