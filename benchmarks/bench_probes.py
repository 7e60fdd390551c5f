"""Concurrent checks: a battery of probes against hosts that never answer takes about
as long as the slowest single timeout, not the sum.

Targets are loopback ports whose accept queue is full (a connection gets no answer, as
from a host that drops packets), so nothing leaves this machine: every target is
checked to be a loopback address before anything runs.

    python benchmarks/bench_probes.py [--probes N] [--timeout S] [--runs N]
"""

from __future__ import annotations

import argparse
import ipaddress
import statistics
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.helpers.probes import HOSTS_FILE_LOCALHOST, black_hole  # noqa: E402
from wizard.checks import ProbeResult, System, run_probe, run_probes  # noqa: E402
from wizard.config.organization import OrgConfig, TestServer  # noqa: E402

LOOPBACK = "127.0.0.1"
Requests = Sequence[tuple[str, Mapping[str, str]]]


def loopback_only(requests: Requests, org: OrgConfig) -> None:
    hosts = [a for _, args in requests for k, a in args.items()
             if k in ("host", "address")] + [s.address for s in org.test_servers]
    for host in hosts:
        if not ipaddress.ip_address(host).is_loopback:
            raise SystemExit(f"refusing to benchmark against {host}: loopback only")


def timed_runs(requests: Requests, system: System, timeout: float,
               runs: int) -> tuple[float, float, list[ProbeResult]]:
    seq, conc = [], []
    results: list[ProbeResult] = []
    for _ in range(runs):
        start = time.perf_counter()
        for name, args in requests:
            run_probe(name, args, system, timeout)
        seq.append(time.perf_counter() - start)
        start = time.perf_counter()
        results = run_probes(requests, system, timeout)
        conc.append(time.perf_counter() - start)
    return statistics.median(seq), statistics.median(conc), results


def _timed(func: Callable[[], object]) -> float:
    start = time.perf_counter()
    func()
    return time.perf_counter() - start


def report(label: str, n: int, timeout: float, seq: float, conc: float) -> None:
    print(f"{label}: {n} checks, timeout {timeout:g} s each: one after another "
          f"{seq:.2f} s, at once {conc:.2f} s (x{seq / conc:.1f} faster; at once = "
          f"{conc / timeout:.2f} timeouts)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--probes", type=int, default=8)
    parser.add_argument("--timeout", type=float, default=1.0)
    parser.add_argument("--runs", type=int, default=1, help="median of N runs")
    parser.add_argument("--battery", type=int, default=40,
                        help="size of the large battery (more than the old 32 threads)")
    args = parser.parse_args()

    with black_hole(args.battery) as ports:
        # 0. a battery larger than a thread pool of 32: one timeout, not two
        holes = [("tcp_port", {"host": LOOPBACK, "port": str(p)}) for p in ports]
        loopback_only(holes, OrgConfig())
        once = statistics.median(
            _timed(lambda: run_probes(holes, System(), args.timeout)) for _ in range(args.runs))
        one = statistics.median(
            _timed(lambda: run_probes(holes[:1], System(), args.timeout))
            for _ in range(args.runs))
        print(f"{'battery of ' + str(len(holes)) + ' unanswered checks':44} ours "
              f"{once:7.2f} s  reference {one:7.2f} s (one check alone)  ratio "
              f"{once / one:5.2f}  [goal: one timeout, not two]")

    with black_hole(args.probes + 2) as ports:
        # 1. the same check N times: TCP connections that get no answer
        holes = [("tcp_port", {"host": LOOPBACK, "port": str(p)}) for p in ports[:args.probes]]
        plain = System()
        loopback_only(holes, plain.org)
        seq, conc, results = timed_runs(holes, plain, args.timeout, args.runs)
        bad = [r.summary for r in results if r.status.value != "fail"]
        if bad:
            raise SystemExit(f"a black hole answered: {bad}")
        report("unanswered TCP", len(holes), args.timeout, seq, conc)

        # 2. a mixed battery like the one ahead of a Figure 7.1 question
        org = OrgConfig(test_servers=[
            TestServer(name="HD-TEST1", address=LOOPBACK, port=ports[-2]),
            TestServer(name="HD-TEST2", address=LOOPBACK, port=ports[-1])])
        mixed_system = System(org)
        # names only where the hosts file answers: no DNS server is ever asked
        names: Requests = [("dns_lookup", {"name": "localhost"}),
                           ("reverse_lookup", {"address": LOOPBACK})]
        if not HOSTS_FILE_LOCALHOST:
            names = []
        mixed: Requests = [
            ("test_servers", {}),
            *holes[:max(1, args.probes - 2 - len(names))],
            ("loopback", {}),
            *names,
        ]
        loopback_only(mixed, org)
        seq, conc, results = timed_runs(mixed, mixed_system, args.timeout, args.runs)
        report("mixed battery", len(mixed), args.timeout, seq, conc)
        for (name, _), r in zip(mixed, results, strict=True):
            print(f"  {name:15} {r.status.value:8} {r.duration:5.2f} s  {r.summary}")


if __name__ == "__main__":
    main()
