"""Reachability: ping (with Win32_PingStatus and a TCP fallback), TCP ports, SMB, the
domain controller's ports, the help-desk test servers, loopback, the computer's own
address, the gateway and the 169.254 address."""

from __future__ import annotations

import ipaddress
import math
import time

from wizard.base.validate import (
    validate_host,
    validate_port,
)
from wizard.checks import linux, windows
from wizard.checks.base import ProbeResult, timed
from wizard.checks.probes.common import (
    ERROR,
    FAIL,
    FALLBACK_PORTS,
    NOT_HERE,
    OK,
    TIMEOUT,
    UNAVAILABLE,
    Budget,
    at_once,
    renamed,
)
from wizard.checks.system import ResolveError, RunOutput, System, TestTarget, is_reserved_name

#: What ping printed when the name did not resolve (Windows, iputils, busybox).
UNKNOWN_HOST_MARKERS = ("could not find host", "name or service not known",
                        "temporary failure in name resolution", "unknown host", "bad address")


def ping_outcome(replied: bool, negotiating: bool, summary: str) -> str:
    """The outcome a caller reads out: ``negotiating`` ("Negotiating IP security" was
    shown, replies or not: with ICMP exempt it never should be), ``replied``,
    ``unknown_host`` (the name did not resolve) or ``no_reply``."""
    if negotiating:
        return "negotiating"
    if replied:
        return "replied"
    if any(m in summary.lower() for m in UNKNOWN_HOST_MARKERS):
        return "unknown_host"
    return "no_reply"


def ping(system: System, timeout: float, host: str) -> ProbeResult:
    """The system ping (one echo request), or TCP connections where there is none.

    ``data["outcome"]`` is one of replied, negotiating, unknown_host, no_reply."""
    start = time.monotonic()
    host = validate_host(host)
    if is_reserved_name(host):  # not worth a query: it cannot resolve anywhere
        return timed("ping", start, FAIL, f"{host}: a reserved name that never resolves",
                     host=host, method="none", negotiating=False, outcome="unknown_host")
    binary = system.which("ping")
    if binary is None:
        return _socket_ping(system, timeout, host, start)
    budget = Budget(timeout)
    out, outcome = _ping_once(system, binary, host, timeout)
    evidence = [_shown(out)]
    negotiating = outcome.negotiating
    if outcome.negotiating and not outcome.replied and budget.left(0) >= 1:
        # IKE negotiates on the first echo request; the chapter's advice is to ping again
        out, outcome = _ping_once(system, binary, host, budget.left())
        evidence.append(_shown(out))
    if out.not_found:
        return _socket_ping(system, timeout, host, start)
    method = "ping"
    if system.platform == "win32" and not outcome.replied and not out.timed_out:
        outcome, shown, method = _ping_status(system, host, budget, outcome)
        evidence.append(shown)
        negotiating = negotiating or outcome.negotiating
    if out.timed_out:
        return timed("ping", start, TIMEOUT, f"{host}: ping gave no result in time",
                     "\n".join(evidence), host=host, method="ping", negotiating=negotiating,
                     outcome="negotiating" if negotiating else "")
    if not outcome.recognised and not negotiating:
        return timed("ping", start, ERROR, f"{host}: {outcome.summary}: ask the caller what "
                     "ping shows", "\n".join(evidence), host=host, method=method,
                     negotiating=negotiating, address=outcome.address, outcome="")
    return timed("ping", start, OK if outcome.replied else FAIL, f"{host}: {outcome.summary}",
                 "\n".join(evidence), host=host, method=method, negotiating=negotiating,
                 address=outcome.address,
                 outcome=ping_outcome(outcome.replied, negotiating, outcome.summary))


def _ping_once(system: System, binary: str, host: str,
               wait: float) -> tuple[RunOutput, linux.PingOutcome]:
    if system.platform == "win32":
        argv = [binary, "-n", "1", "-w", str(max(1, round(wait * 1000))), host]
    elif system.platform == "darwin":
        argv = [binary, "-c", "1", "-t", str(max(1, math.ceil(wait))), "--", host]
    else:
        argv = [binary, "-c", "1", "-W", str(max(1, math.ceil(wait))), "--", host]
    # ping itself stops at -W/-w; the extra second covers looking the name up first
    out = system.run(argv, timeout=wait + 1)
    text = out.stdout + "\n" + out.stderr
    outcome = (windows.parse_ping(text, out.returncode) if system.platform == "win32"
               else linux.parse_ping(text, out.returncode))
    return out, outcome


#: Most milliseconds the Win32_PingStatus echo request waits (PowerShell's start-up
#: comes on top, within the probe's time).
PING_STATUS_WAIT_MS = 1000


def _ping_status(system: System, host: str, budget: Budget,
                 seen: linux.PingOutcome) -> tuple[linux.PingOutcome, str, str]:
    """ping.exe got no reply: why, from one more echo request through Win32_PingStatus
    (a number, the same in every display language). Without PowerShell (Windows XP /
    Server 2003) ping's English text is all there is: ``seen`` stays.

    (outcome, evidence, method)."""
    wait_ms = min(PING_STATUS_WAIT_MS, max(1, round(budget.left() * 1000)))
    ps = system.powershell(windows.ping_status_script(host, wait_ms), budget.left(2.0))
    shown = "$ powershell Win32_PingStatus " + host + ("\n" + ps.text if ps.text else "")
    status = windows.parse_ping_status(ps.stdout) if ps.returncode == 0 else None
    if status is None:
        return seen, shown, "ping (English text)" if seen.recognised else "ping"
    method = "ping, Win32_PingStatus"
    address = status.address or seen.address
    if status.code is None:
        return linux.PingOutcome(False, "could not find host (the name did not resolve: "
                                 f"error {status.resolution})", address), shown, method
    if status.code == windows.NEGOTIATING_IPSEC:
        return linux.PingOutcome(False, "no reply: \"Negotiating IP Security\" (IKE is "
                                 "negotiating with the target)", address, True), shown, method
    if seen.negotiating:  # the English text said so: the second request does not undo it
        return seen, shown, method
    if status.code == 0:
        return linux.PingOutcome(False, "ping got no reply but a second echo request did "
                                 f"({status.time_ms} ms): not a clear answer", address,
                                 recognised=False), shown, method
    reason = windows.PING_STATUS.get(status.code, f"no reply (status {status.code})")
    if not seen.recognised:
        # ping's own screen (in a language not known here) may have shown "Negotiating
        # IP Security" although the second request did not: say what is known, no more
        return linux.PingOutcome(False, f"no reply (a second echo request: {reason}); "
                                 "ping's text was not recognised", address,
                                 recognised=False), shown, method
    return linux.PingOutcome(False, reason, address), shown, method


def _shown(out: RunOutput) -> str:
    return "$ " + " ".join(["ping", *out.argv[1:]]) + "\n" + out.text


def _socket_ping(system: System, timeout: float, host: str, start: float) -> ProbeResult:
    """No ping program: try TCP ports at once; any answer (even a refusal) proves the
    host is up."""
    data = {"host": host, "method": "tcp", "negotiating": False}
    budget = Budget(timeout)
    try:
        address = system.resolve(host, timeout)[0]
    except (ResolveError, IndexError) as exc:
        slow = "too long" in str(exc)
        return timed("ping", start, FAIL, f"{host}: {exc or 'no address'}", "",
                     outcome="no_reply" if slow else "unknown_host", **data)
    wait = budget.left()
    outcomes = at_once(lambda p: system.connect(address, p, wait), FALLBACK_PORTS)
    evidence = "\n".join(f"tcp/{p}: {d}" for p, (_, d) in zip(FALLBACK_PORTS, outcomes,
                                                             strict=True))
    answered = [p for p, (state, _) in zip(FALLBACK_PORTS, outcomes, strict=True)
                if state in ("open", "refused")]
    if answered:
        return timed("ping", start, OK,
                     f"{host}: answered on TCP port {answered[0]} (no ping program here)",
                     evidence, address=address, outcome="replied", **data)
    return timed("ping", start, FAIL, f"{host}: no answer on TCP ports "
                 f"{', '.join(map(str, FALLBACK_PORTS))} (no ping program here)", evidence,
                 address=address, outcome="no_reply", **data)


def tcp_port(system: System, timeout: float, host: str, port: str) -> ProbeResult:
    start = time.monotonic()
    host = validate_host(host)
    number = validate_port(port)
    state, detail = system.connect(host, number, timeout)
    return timed("tcp_port", start, OK if state == "open" else FAIL, detail, detail,
                 host=host, port=number, state=state)


def smb(system: System, timeout: float, host: str) -> ProbeResult:
    r = tcp_port(system, timeout, host, "445")
    return renamed(r, "smb", r.summary + (" (net view would work)" if r.status is OK else ""))


def dc_ports(system: System, timeout: float, host: str) -> ProbeResult:
    start = time.monotonic()
    host = validate_host(host)
    kerberos, ldap = at_once(lambda p: system.connect(host, p, timeout), (88, 389))
    lines = f"kerberos tcp/88: {kerberos[1]}\nldap tcp/389: {ldap[1]}"
    both = kerberos[0] == "open" and ldap[0] == "open"
    summary = (f"{host}: Kerberos and LDAP answer" if both else
               f"{host}: Kerberos {kerberos[0]}, LDAP {ldap[0]}")
    return timed("dc_ports", start, OK if both else FAIL, summary, lines, host=host,
                 kerberos=kerberos[0], ldap=ldap[0])


def test_servers(system: System, timeout: float) -> ProbeResult:
    """Each configured help-desk test server over a protocol IPsec protects: a TCP
    connection to its port (445, SMB as `net view` uses, unless the organization file
    names another). Ping would succeed even with the caller's IPsec broken."""
    start = time.monotonic()
    servers = system.org.test_servers
    if not servers:
        return timed("test_servers", start, UNAVAILABLE,
                     "no help-desk test servers configured (test_servers in the organization "
                     "file): ask the caller")

    def check(server: TestTarget) -> tuple[bool, str, str]:
        # never ping: ICMP is exempt from IPsec, so only a protected protocol tests it
        state, detail = system.connect(server.address, server.tested_port, timeout)
        return state == "open", detail, f"tcp/{server.tested_port}"

    results = at_once(check, list(servers))
    each = [{"name": s.name, "address": s.address, "test": how, "reachable": ok,
             "detail": detail}
            for s, (ok, detail, how) in zip(servers, results, strict=True)]
    evidence = "\n".join(f"{e['name']} ({e['address']}, {e['test']}): "
                         f"{'reachable' if e['reachable'] else 'NOT reachable'}: {e['detail']}"
                         for e in each)
    ok = [str(e["name"]) for e in each if e["reachable"]]
    data = {"servers": each, "reachable": ok, "total": len(servers)}
    if len(ok) == len(servers):
        return timed("test_servers", start, OK, f"all {len(servers)} test servers reachable",
                     evidence, **data)
    if not ok:
        return timed("test_servers", start, FAIL, "no test server reachable", evidence, **data)
    # some but not all: neither answer fits, so the question is asked with this shown
    return timed("test_servers", start, ERROR,
                 f"{len(ok)} of {len(servers)} test servers reachable ({', '.join(ok)}): "
                 "ask the caller", evidence, **data)


def loopback(system: System, timeout: float) -> ProbeResult:
    return renamed(ping(system, timeout, "127.0.0.1"), "loopback")


def _own_ipv4(system: System) -> list[tuple[str, str]]:
    found = []
    for nic, addrs in system.net_if_addrs().items():
        for a in addrs:
            try:
                ip = ipaddress.ip_address(a)
            except ValueError:
                continue
            if ip.version == 4 and not ip.is_loopback and not ip.is_link_local:
                found.append((nic, a))
    return found


def own_address(system: System, timeout: float) -> ProbeResult:
    start = time.monotonic()
    found = _own_ipv4(system)
    if not found:
        return timed("own_address", start, FAIL, "this computer has no IPv4 address besides "
                     "loopback and 169.254.x.x")
    nic, address = found[0]
    r = ping(system, timeout, address)
    return renamed(r, "own_address", f"{nic} {r.summary}", interface=nic,
                   addresses=[a for _, a in found])


def gateway(system: System, timeout: float) -> ProbeResult:
    start = time.monotonic()
    budget = Budget(timeout)
    try:
        gw = system.default_gateway()
    except NotImplementedError as exc:
        return timed("gateway", start, UNAVAILABLE, f"{NOT_HERE} ({exc}): ask the caller")
    if gw is None:
        return timed("gateway", start, FAIL, "no default gateway configured")
    r = ping(system, budget.left(0.5), gw)
    return renamed(r, "gateway", f"default gateway {r.summary}", gateway=gw)


def autoconfig_address(system: System, timeout: float) -> ProbeResult:
    """ok: NO 169.254.x.x address; fail: one is present (DHCP did not answer)."""
    start = time.monotonic()
    addrs = system.net_if_addrs()
    found = [(nic, a) for nic, nic_addrs in addrs.items() for a in nic_addrs
             if a.startswith("169.254.")]
    listing = "\n".join(f"{nic}: {', '.join(a) or '(none)'}" for nic, a in addrs.items())
    if found:
        nic, a = found[0]
        return timed("autoconfig_address", start, FAIL,
                     f"{nic} has the auto-configuration address {a}", listing,
                     addresses=[x for _, x in found])
    return timed("autoconfig_address", start, OK, "no 169.254.x.x address", listing,
                 addresses=[])

