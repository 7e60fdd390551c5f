"""``ipsec-triage serve`` (one worker) with Python's allocation tracing on, for
:mod:`benchmarks.bench_memory`: on SIGUSR1 the worker writes the 25 places whose memory
grew most since it started (``tracemalloc`` snapshots) to ``$BENCH_MEMORY_TRACE``.

    python -m benchmarks.memory_worker serve --no-checks --port N
"""

from __future__ import annotations

import os
import runpy
import signal
import sys
import tracemalloc
from typing import Any


def main() -> None:
    tracemalloc.start(3)
    out = os.environ["BENCH_MEMORY_TRACE"]
    first: list[Any] = []

    def dump(signum: int, frame: Any) -> None:
        snapshot = tracemalloc.take_snapshot().filter_traces(
            [tracemalloc.Filter(False, tracemalloc.__file__)])
        if not first:
            first.append(snapshot)
        stats = snapshot.compare_to(first[0], "traceback")[:25]
        with open(out, "a", encoding="utf-8") as f:
            f.write(f"--- traced {tracemalloc.get_traced_memory()[0] / 2**20:.1f} MiB\n")
            for stat in stats:
                f.write(f"{stat.size_diff / 1024:9.1f} KiB {stat.count_diff:7d} blocks\n")
                for line in stat.traceback.format()[-8:]:
                    f.write(f"      {line}\n")

    signal.signal(signal.SIGUSR1, dump)
    sys.argv = ["ipsec-triage", *sys.argv[1:]]
    runpy.run_module("wizard", run_name="__main__")


if __name__ == "__main__":
    main()
