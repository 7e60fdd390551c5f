"""Report time over many stored calls, and how it grows with their number.

    python benchmarks/bench_report.py [--sizes 10000,30000,100000]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from wizard.callstore import SqlStore, calls  # noqa: E402
from wizard.report import build_report, to_html  # noqa: E402

STATUSES = ("fixed_understood", "fixed_unclear", "not_fixed")
CATEGORIES = ("network", "name_resolution", "application", "caller_ipsec", "target_ipsec")


def fill(store: SqlStore, n: int) -> None:
    rng = random.Random(7)
    store.ids()  # creates the table
    rows = []
    for i in range(n):
        day = 1 + i % 28
        status = rng.choice(STATUSES)
        rows.append({
            "call_id": f"20261{day:03d}-{i:06d}", "started": f"2026-10-{day:02d}T10:00:00",
            "ended": f"2026-10-{day:02d}T10:12:00", "duration_s": rng.uniform(60, 3600),
            "staffer": f"staff{i % 40}", "caller_machine": f"ws-{i}",
            "target": f"srv{rng.randrange(200)}", "status": status,
            "category": rng.choice(CATEGORIES), "scope": "caller", "severity": "low",
            "terminal": f"fig7_{rng.randrange(1, 4)}.end{rng.randrange(6)}",
            "tier2": status == "not_fixed", "tier2_group": "", "flowcharts": "{}",
            "answers": json.dumps({"intake.caller_name": "x"}),
        })
    with store.engine.begin() as conn:
        conn.execute(calls.insert(), rows)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,30000,100000")
    args = parser.parse_args()
    for n in (int(x) for x in args.sizes.split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            store = SqlStore(f"sqlite:///{tmp}/calls.sqlite3")
            fill(store, n)
            start = time.perf_counter()
            report = build_report(store.query())
            to_html(report)
            took = time.perf_counter() - start
            print(f"{n:>7} stored calls: report (query + counts + HTML) {took:.2f} s "
                  f"({took / n * 1e6:.1f} µs per call)")


if __name__ == "__main__":
    main()
