"""Automatic checks (probes): the registry, and how to run them safely and at once.

``run_probe`` never raises: a bad argument, a missing program, a timeout or a bug in a
probe all come back as a :class:`ProbeResult` whose summary says what happened.
"""

from __future__ import annotations

import concurrent.futures
import time
from collections.abc import Callable, Mapping, Sequence

from . import checks
from .base import ProbeArgumentError, ProbeResult, ProbeSpec, ProbeStatus
from .system import RunOutput, System
from .validate import validate_host

__all__ = [
    "PROBES", "ProbeArgumentError", "ProbeResult", "ProbeSpec", "ProbeStatus", "RunOutput",
    "System", "run_probe", "run_probes", "validate_host",
]

ALL = ("linux", "win32", "darwin")
WIN = ("win32",)

PROBES: dict[str, ProbeSpec] = {spec.name: spec for spec in (
    ProbeSpec("ping", "ok: the host answers ping (or, with no ping program, a TCP port)",
              ("host",), checks.ping, ALL),
    ProbeSpec("reverse_lookup", "ok: the address has a name (what `ping -a` shows)",
              ("address",), checks.reverse_lookup, ALL),
    ProbeSpec("dns_lookup", "ok: the name resolves; reports the resolver asked",
              ("name",), checks.dns_lookup, ALL),
    ProbeSpec("dns_servers", "ok: at least one configured DNS server answers ping", (),
              checks.dns_servers, ALL),
    ProbeSpec("gateway", "ok: the default gateway answers ping", (), checks.gateway, ALL),
    ProbeSpec("loopback", "ok: 127.0.0.1 answers ping", (), checks.loopback, ALL),
    ProbeSpec("own_address", "ok: this computer's own IPv4 address answers ping", (),
              checks.own_address, ALL),
    ProbeSpec("tcp_port", "ok: a TCP connection to host:port is accepted", ("host", "port"),
              checks.tcp_port, ALL),
    ProbeSpec("smb", "ok: TCP 445 (file sharing, what `net view` needs) accepts", ("host",),
              checks.smb, ALL),
    ProbeSpec("dc_ports", "ok: Kerberos (88) and LDAP (389) accept on a domain controller",
              ("host",), checks.dc_ports, ALL),
    ProbeSpec("test_servers", "ok: every help-desk test server is reachable; fail: none is",
              (), checks.test_servers, ALL),
    ProbeSpec("service_running", "ok: the service runs (Windows service name; on Linux the "
              "systemd equivalent)", ("service",), checks.service_running, ALL),
    ProbeSpec("autoconfig_address", "ok: NO 169.254.x.x address; fail: one is present", (),
              checks.autoconfig_address, ALL),
    ProbeSpec("ipsec_policy_version", "ok: Detect_IPsec_Policy says the policy is up-to-date",
              (), checks.ipsec_policy_version, WIN),
    ProbeSpec("domain_member", "ok: the computer is joined to a domain", (),
              checks.domain_member, WIN),
    ProbeSpec("event_547", "ok: event 547 (IKE negotiation failure) is in the Security log",
              (), checks.event_547, WIN),
    ProbeSpec("event_4292", "ok: event 4292 (IPsec driver in Block mode) is in the System "
              "log", (), checks.event_4292, WIN),
)}


def run_probe(name: str, args: Mapping[str, str], system: System | None = None,
              timeout: float | None = None) -> ProbeResult:
    """Run one probe. Never raises."""
    start = time.monotonic()
    spec = PROBES.get(name)
    if spec is None:
        return ProbeResult(name, ProbeStatus.ERROR, f"unknown check {name!r}")
    if set(args) != set(spec.params):
        return ProbeResult(name, ProbeStatus.ERROR,
                           f"check {name!r} takes {sorted(spec.params)}, got {sorted(args)}")
    system = system or System()
    if timeout is None:
        timeout = system.org.probe_timeout(name)
    try:
        return spec.func(system, timeout, **dict(args))
    except ProbeArgumentError as exc:
        return ProbeResult(name, ProbeStatus.ERROR, f"refused: {exc}",
                           duration=time.monotonic() - start)
    except Exception as exc:  # a failing probe never ends the call
        return ProbeResult(name, ProbeStatus.ERROR, f"check failed: {type(exc).__name__}: {exc}",
                           duration=time.monotonic() - start)


def run_probes(requests: Sequence[tuple[str, Mapping[str, str]]],
               system: System | None = None, timeout: float | None = None,
               on_result: Callable[[int, ProbeResult], None] | None = None
               ) -> list[ProbeResult]:
    """Run probes concurrently; results in request order; ``on_result`` as each ends."""
    if not requests:
        return []
    system = system or System()
    results: list[ProbeResult | None] = [None] * len(requests)
    with concurrent.futures.ThreadPoolExecutor(max_workers=min(32, len(requests))) as pool:
        futures = {pool.submit(run_probe, name, args, system, timeout): i
                   for i, (name, args) in enumerate(requests)}
        for fut in concurrent.futures.as_completed(futures):
            i = futures[fut]
            results[i] = fut.result()
            if on_result is not None:
                on_result(i, fut.result())
    return [r for r in results if r is not None]
