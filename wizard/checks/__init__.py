"""Automatic checks (probes): the registry, and how to run them safely and at once.

Owns every contact with the operating system (``system``: the one injectable layer;
processes without a shell, sockets, DNS, the registry), the checks themselves
(``probes``), and the parsers of Windows and Linux output (``windows``, ``linux``). May
import only :mod:`wizard.base`; the organization's settings come in through the
:class:`~wizard.checks.system.CheckSettings` protocol.

``run_probe`` never raises: a bad argument, a missing program, a timeout or a bug in a
probe all come back as a :class:`ProbeResult` whose summary says what happened.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence

from wizard.base.documents import did_you_mean
from wizard.base.validate import ProbeArgumentError, validate_host, validate_port, validate_service
from wizard.checks import probes as checks
from wizard.checks.base import ProbeResult, ProbeSpec, ProbeStatus
from wizard.checks.system import DeadlineExceeded, RunOutput, System, with_deadline

__all__ = [
    "PROBES", "ProbeArgumentError", "ProbeResult", "ProbeSpec", "ProbeStatus", "RunOutput",
    "System", "run_probe", "run_probes", "validate_host", "validate_port", "validate_service",
]

ALL = ("linux", "win32", "darwin")
WIN = ("win32",)
NET = 3.0
"""Built-in timeout of the network checks (seconds); the organization file can change
any probe's timeout (``timeouts`` in examples/org.yaml)."""
MAX_AT_ONCE = 256
"""Most checks run at the same time: each waits on the network or a short command, so
a thread each costs little; the bound keeps a runaway flowchart from starting
thousands of processes. A larger battery runs in turns (one more timeout at most for
each further MAX_AT_ONCE checks); the shipped charts hold 17 checks in all."""

PROBES: dict[str, ProbeSpec] = {spec.name: spec for spec in (
    ProbeSpec("ping", "ok: the host answers ping (or, with no ping program, a TCP port); "
              "data.negotiating: Windows showed \"Negotiating IP Security\"",
              ("host",), checks.ping, ALL, NET),
    ProbeSpec("reverse_lookup", "ok: the address has a name (what `ping -a` shows)",
              ("address",), checks.reverse_lookup, ALL, NET),
    ProbeSpec("dns_lookup", "ok: the name resolves; reports the DNS server asked",
              ("name",), checks.dns_lookup, ALL, NET),
    ProbeSpec("dns_servers", "ok: at least one configured DNS server answers ping or a DNS "
              "query", (), checks.dns_servers, ALL, NET),
    ProbeSpec("gateway", "ok: the default gateway answers ping", (), checks.gateway, ALL,
              NET),
    ProbeSpec("loopback", "ok: 127.0.0.1 answers ping", (), checks.loopback, ALL, NET),
    ProbeSpec("own_address", "ok: this computer's own IPv4 address answers ping", (),
              checks.own_address, ALL, NET),
    ProbeSpec("tcp_port", "ok: a TCP connection to host:port is accepted", ("host", "port"),
              checks.tcp_port, ALL, NET),
    ProbeSpec("smb", "ok: TCP 445 (file sharing, what `net view` needs) accepts", ("host",),
              checks.smb, ALL, NET),
    ProbeSpec("dc_ports", "ok: Kerberos (88) and LDAP (389) accept on a domain controller",
              ("host",), checks.dc_ports, ALL, NET),
    ProbeSpec("test_servers", "ok: every help-desk test server (organization file) is "
              "reachable; fail: none is; some: asked", (), checks.test_servers, ALL, NET),
    ProbeSpec("service_running", "ok: the service runs (Windows service name; on Linux the "
              "systemd equivalent, e.g. PolicyAgent -> strongswan)", ("service",),
              checks.service_running, ALL, 5.0),
    ProbeSpec("autoconfig_address", "ok: NO 169.254.x.x address; fail: one IS present "
              "(no address from DHCP)", (), checks.autoconfig_address, ALL, NET),
    ProbeSpec("ipsec_policy_version", "ok: the cached domain IPsec policy matches Active "
              "Directory (Detect_IPsec_Policy: \"IPsec policy is up-to-date.\")", (),
              checks.ipsec_policy_version, WIN, 30.0),
    ProbeSpec("domain_member", "ok: the computer is joined to a domain", (),
              checks.domain_member, WIN, 15.0),
    ProbeSpec("event_547", "ok: an IKE negotiation failure (event 547; 4652-4654 on Vista "
              "and later) is in the Security log", (), checks.event_547, WIN, 15.0),
    ProbeSpec("event_4292", "ok: event 4292 (IPsec driver in Block mode, Windows Server "
              "2003) is in the System log (wevtutil, or wmic where there is none)", (),
              checks.event_4292, WIN, 15.0),
    ProbeSpec("server_ipsec_events", "ok: an IPsec failure of Windows Server 2008 and "
              "later (5453, 5461, 5462, 5480, 5483-5485) is in the Security log", (),
              checks.server_ipsec_events, WIN, 15.0),
    ProbeSpec("event_7023", "ok: an event 7023 (a service did not start) is in the "
              "System log; data.outcome: ipsec (it names IKEEXT, BFE, MpsSvc, PolicyAgent "
              "or IPSEC Services), other, or none", (), checks.event_7023, WIN,
              15.0),
)}


def overrun_limit(timeout: float) -> float:
    """How long run_probe waits for a probe given ``timeout`` before giving up on it
    (its steps have their own timeouts; this catches one that still hangs)."""
    return timeout * 1.5 + 2.0


def run_probe(name: str, args: Mapping[str, str], system: System | None = None,
              timeout: float | None = None) -> ProbeResult:
    """Run one probe. Never raises: every problem comes back as a result whose summary
    says what happened (status ``error``, ``timeout`` or ``unavailable``)."""
    start = time.monotonic()
    limit = 0.0

    def failed(status: ProbeStatus, summary: str) -> ProbeResult:
        return ProbeResult(name, status, summary, duration=time.monotonic() - start)

    spec = PROBES.get(name)
    if spec is None:
        hint = did_you_mean(str(name), list(PROBES))
        return failed(ProbeStatus.ERROR, f"unknown check {name!r}{hint}")
    try:
        if set(args) != set(spec.params):
            return failed(ProbeStatus.ERROR,
                          f"check {name!r} takes {sorted(spec.params)}, got {sorted(args)}")
        system = system or System()
        if system.platform not in spec.platforms:
            return failed(ProbeStatus.UNAVAILABLE, "not available on this platform: "
                          "ask the caller")
        if timeout is None:
            timeout = system.org.probe_timeout(name)
        if not timeout > 0:
            return failed(ProbeStatus.ERROR, f"timeout must be positive, not {timeout}")
        limit = overrun_limit(timeout)
        call_args = {k: str(v) for k, v in args.items()}
        bound_system, bound_timeout = system, timeout
        return with_deadline(lambda: spec.func(bound_system, bound_timeout, **call_args),
                             limit)
    except ProbeArgumentError as exc:
        return failed(ProbeStatus.ERROR, f"refused: {exc}")
    except DeadlineExceeded:
        return failed(ProbeStatus.TIMEOUT, f"the check did not finish within {limit:g} s")
    except TimeoutError as exc:
        return failed(ProbeStatus.TIMEOUT, f"the check took too long: {exc}")
    except Exception as exc:  # a failing probe never ends the call
        return failed(ProbeStatus.ERROR, f"check failed: {type(exc).__name__}: {exc}")


def run_probes(requests: Sequence[tuple[str, Mapping[str, str]]],
               system: System | None = None, timeout: float | None = None,
               on_result: Callable[[int, ProbeResult], None] | None = None
               ) -> list[ProbeResult]:
    """Run probes concurrently; results in request order.

    ``on_result(index, result)`` is called (in the calling thread) as each one ends, so
    a front end can show progress; an exception it raises ends run_probes (after the
    running probes finish). The whole batch takes about as long as its slowest probe:
    every check of a battery gets its own thread, up to MAX_AT_ONCE (a battery larger
    than that takes at most one timeout per MAX_AT_ONCE checks).
    """
    if not requests:
        return []
    from concurrent.futures import ThreadPoolExecutor, as_completed  # when first needed

    system = system or System()
    results: dict[int, ProbeResult] = {}
    with ThreadPoolExecutor(max_workers=min(MAX_AT_ONCE, len(requests)),
                            thread_name_prefix="probe") as pool:
        futures = {pool.submit(run_probe, name, args, system, timeout): i
                   for i, (name, args) in enumerate(requests)}
        for fut in as_completed(futures):
            i = futures[fut]
            results[i] = fut.result()
            if on_result is not None:
                on_result(i, results[i])
    return [results[i] for i in range(len(requests))]
