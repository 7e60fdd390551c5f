"""Independent probes run at once: a battery against hosts that never answer takes about
one timeout, not the sum; results come back in request order, progress as each ends."""

from __future__ import annotations

import threading
import time

from wizard.checks import ProbeResult, ProbeStatus, System, run_probe, run_probes
from wizard.config.organization import OrgConfig, TestServer

from .helpers.probes import LOOPBACK, black_hole, listening_port

TIMEOUT = 0.5


def test_a_battery_against_black_holes_takes_one_timeout_not_eight() -> None:
    with black_hole(8) as ports:
        requests = [("tcp_port", {"host": LOOPBACK, "port": str(p)}) for p in ports]
        start = time.monotonic()
        results = run_probes(requests, timeout=TIMEOUT)
        elapsed = time.monotonic() - start
    assert [r.status for r in results] == [ProbeStatus.FAIL] * 8
    assert all("did not answer" in r.summary for r in results)
    assert elapsed < 3 * TIMEOUT, elapsed  # one after another: 8 x 0.5 s = 4 s


def test_results_in_request_order_progress_in_finishing_order() -> None:
    seen: list[tuple[int, str, str]] = []
    main = threading.get_ident()
    callback_threads: set[int] = set()

    def on_result(i: int, r: ProbeResult) -> None:
        callback_threads.add(threading.get_ident())
        seen.append((i, r.probe, r.status.value))

    with black_hole(2) as (slow1, slow2), listening_port() as fast:
        requests = [("tcp_port", {"host": LOOPBACK, "port": str(slow1)}),
                    ("tcp_port", {"host": LOOPBACK, "port": str(fast)}),
                    ("nope", {}),
                    ("tcp_port", {"host": LOOPBACK, "port": str(slow2)})]
        results = run_probes(requests, timeout=TIMEOUT, on_result=on_result)
    assert [r.status for r in results] == [ProbeStatus.FAIL, ProbeStatus.OK,
                                           ProbeStatus.ERROR, ProbeStatus.FAIL]
    assert {i for i, _, _ in seen[:2]} == {1, 2}  # the quick ones are reported first
    assert sorted(i for i, _, _ in seen) == [0, 1, 2, 3]
    assert callback_threads == {main}  # a front end may draw from the callback


def test_mixed_battery_with_test_servers_and_a_hung_probe() -> None:
    class OneHangs(System):
        def reverse(self, address: str, timeout: float) -> str | None:
            time.sleep(30)  # ignores its timeout: the overrun guard ends the wait
            return None

    with black_hole(3) as (a, b, c):
        org = OrgConfig(test_servers=[TestServer(name="HD-TEST1", address=LOOPBACK, port=a),
                                      TestServer(name="HD-TEST2", address=LOOPBACK, port=b)])
        requests = [("test_servers", {}), ("tcp_port", {"host": LOOPBACK, "port": str(c)}),
                    ("reverse_lookup", {"address": LOOPBACK}),
                    ("dns_lookup", {"name": "fs09.corp.invalid"})]
        start = time.monotonic()
        results = run_probes(requests, OneHangs(org), timeout=0.2)
        elapsed = time.monotonic() - start
    assert [r.status for r in results] == [ProbeStatus.FAIL, ProbeStatus.FAIL,
                                           ProbeStatus.TIMEOUT, ProbeStatus.FAIL]
    assert results[0].summary == "no test server reachable"
    assert elapsed < 4  # bounded by the guard of the hung one (0.2 * 1.5 + 2 s)


def test_no_requests_no_work() -> None:
    assert run_probes([]) == []


def test_one_probe_alone_matches_the_battery() -> None:
    with listening_port() as port:
        args = {"host": LOOPBACK, "port": str(port)}
        alone = run_probe("tcp_port", args, timeout=1)
        (together,) = run_probes([("tcp_port", args)], timeout=1)
    assert (alone.status, alone.summary) == (together.status, together.summary)


def test_a_battery_of_forty_checks_runs_all_at_once() -> None:
    """More checks than the 32 threads a pool used to have: all 40 must be waiting at
    the same time for any of them to pass the barrier (else they fail after 5 s)."""
    barrier = threading.Barrier(40)

    class AllAtOnce(System):
        def reverse(self, address: str, timeout: float) -> str | None:
            barrier.wait(timeout=5)
            return "met.example"

    requests = [("reverse_lookup", {"address": LOOPBACK})] * 40
    results = run_probes(requests, AllAtOnce(), timeout=8)
    assert [r.status for r in results] == [ProbeStatus.OK] * 40
    assert not barrier.broken


def test_a_battery_over_max_at_once_runs_in_turns_of_max_at_once() -> None:
    """More than MAX_AT_ONCE checks: never more than MAX_AT_ONCE run at the same time
    (a runaway flowchart starts no thousands of processes), the rest start as the first
    end, and every result comes back in request order."""
    from wizard.checks import MAX_AT_ONCE

    total = MAX_AT_ONCE + 44
    first, rest = threading.Barrier(MAX_AT_ONCE), threading.Barrier(total - MAX_AT_ONCE)
    lock = threading.Lock()
    started = active = most = 0

    class Counted(System):
        def reverse(self, address: str, timeout: float) -> str | None:
            nonlocal started, active, most
            with lock:
                turn, started, active = started, started + 1, active + 1
                most = max(most, active)
            (first if turn < MAX_AT_ONCE else rest).wait(timeout=10)
            with lock:
                active -= 1
            return f"host{turn}.example"

    results = run_probes([("reverse_lookup", {"address": LOOPBACK})] * total, Counted(),
                         timeout=15)
    assert [r.status for r in results] == [ProbeStatus.OK] * total
    assert most == MAX_AT_ONCE and not first.broken and not rest.broken
