"""A ``serve`` worker's memory over many calls: resident memory (RSS) of one
``ipsec-triage serve --workers 1`` process after each number of whole calls (real
answers through the shipped flowcharts to an end, automatic checks off, staff signed
in, driven by httpx on loopback as in :mod:`benchmarks.bench_web`), against a trivial
Starlette worker under uvicorn doing the same number of pages.

``--trace`` runs the worker with allocation tracing (:mod:`benchmarks.memory_worker`)
and prints where its memory grew between the first figure and the last.

    python -m benchmarks.bench_memory [--calls 1000,10000] [--staff 8] [--trace]
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.bench_web import load, routes, servers, users
from benchmarks.common import ROOT, parser


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def pid_on(port: str) -> int:
    """The process listening on a loopback port (the one worker of that server)."""
    import psutil

    for conn in psutil.net_connections("tcp"):
        if conn.status == "LISTEN" and conn.laddr and conn.laddr.port == int(port):
            return int(conn.pid)
    raise RuntimeError(f"nothing listens on {port}")


def drive(url: str, calls: int, staff: int, route_list: list[list[str]], desk: bool) -> int:
    """Whole calls until ``calls`` are done; how many were done."""
    done = 0
    while done < calls:
        tally = asyncio.run(load(url, staff, 2.0, route_list, desk=desk, pause=0))
        if tally.errors:
            raise SystemExit("; ".join(tally.errors[:3]))
        done += len(tally.ended) if desk else max(1, len(tally.pages) // 11)
    return done


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--calls", default="1000,10000")
    p.add_argument("--staff", type=int, default=8)
    p.add_argument("--trace", action="store_true")
    args = p.parse_args()
    marks = [10] if args.tiny else [int(c) for c in args.calls.split(",")]
    route_list = routes(20)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        users(data, args.staff)
        trace = Path(tmp) / "trace.txt"
        env = {**os.environ, "IPSEC_TRIAGE_DATA": str(data),
               "IPSEC_TRIAGE_STORE": f"sqlite:///{data / 'calls.sqlite3'}",
               "IPSEC_TRIAGE_CACHE": str(Path(tmp) / "cache"), "PYTHONPATH": str(ROOT),
               "BENCH_MEMORY_TRACE": str(trace)}
        ref_cmd = [sys.executable, "-m", "uvicorn", "--factory",
                   "benchmarks.bench_web:reference", "--workers", "1", "--log-level",
                   "warning"]
        desk_cmd = [sys.executable, "-m",
                    "benchmarks.memory_worker" if args.trace else "wizard", "serve",
                    "--no-checks", "--workers", "1"]
        with servers([(ref_cmd, "/calls/0", Path(tmp) / "reference.log"),
                      (desk_cmd, "/login", Path(tmp) / "serve.log")], env) as (ref_url, url):
            ours_pid = pid_on(url.rsplit(":", 1)[1])
            ref_pid = pid_on(ref_url.rsplit(":", 1)[1])
            print(f"at start: ours {rss_mib(ours_pid):.1f} MiB, trivial Starlette worker "
                  f"{rss_mib(ref_pid):.1f} MiB", flush=True)
            done = ref_done = 0
            for i, mark in enumerate(marks):
                start = time.monotonic()
                done += drive(url, mark - done, args.staff, route_list, desk=True)
                ref_done += drive(ref_url, mark - ref_done, args.staff, route_list, desk=False)
                ours, ref = rss_mib(ours_pid), rss_mib(ref_pid)
                print(f"after {done:,} calls: ours {ours:.1f} MiB, trivial Starlette worker "
                      f"{ref:.1f} MiB (ratio {ours / ref:.2f}; "
                      f"{time.monotonic() - start:.0f} s)", flush=True)
                if args.trace and i in (0, len(marks) - 1):
                    os.kill(ours_pid, signal.SIGUSR1)
                    time.sleep(3)
        if args.trace and trace.exists():
            print(trace.read_text().split("--- traced")[-1][:6000])


if __name__ == "__main__":
    main()
