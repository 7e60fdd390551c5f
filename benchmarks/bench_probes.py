"""Concurrent checks: a battery of probes against hosts that never answer takes about
as long as the slowest single timeout, not the sum.

Targets are loopback ports whose accept queue is full (connections get no answer), so
nothing leaves this machine.

    python benchmarks/bench_probes.py [--probes N] [--timeout S]
"""

from __future__ import annotations

import argparse
import contextlib
import socket
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from wizard.probes import run_probe, run_probes  # noqa: E402


def black_holes(n: int) -> tuple[list[int], list[socket.socket]]:
    keep: list[socket.socket] = []
    ports = []
    for _ in range(n):
        srv = socket.socket()
        srv.bind(("127.0.0.1", 0))
        srv.listen(0)
        port = srv.getsockname()[1]
        keep.append(srv)
        for _ in range(2):
            c = socket.socket()
            c.settimeout(0.2)
            with contextlib.suppress(OSError):
                c.connect(("127.0.0.1", port))
            keep.append(c)
        ports.append(port)
    return ports, keep


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--probes", type=int, default=8)
    parser.add_argument("--timeout", type=float, default=1.0)
    args = parser.parse_args()
    ports, keep = black_holes(args.probes)
    requests = [("tcp_port", {"host": "127.0.0.1", "port": str(p)}) for p in ports]
    start = time.perf_counter()
    for name, a in requests:
        run_probe(name, a, timeout=args.timeout)
    sequential = time.perf_counter() - start
    start = time.perf_counter()
    results = run_probes(requests, timeout=args.timeout)
    concurrent = time.perf_counter() - start
    assert all(r.status.value == "fail" for r in results), [r.summary for r in results]
    for s in keep:
        s.close()
    print(f"{args.probes} unanswered checks, timeout {args.timeout:g} s each: "
          f"one after another {sequential:.2f} s, at once {concurrent:.2f} s "
          f"(ratio {sequential / concurrent:.1f}x; at once / one timeout = "
          f"{concurrent / args.timeout:.2f})")


if __name__ == "__main__":
    main()
