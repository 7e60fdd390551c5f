"""The probes. Each takes a System, a timeout (seconds for the whole probe) and its
declared arguments, and returns a ProbeResult. Arguments are validated before anything
runs (see validate.py); a refused argument raises ProbeArgumentError, which run_probe
turns into a result."""

from __future__ import annotations

import ipaddress
import math
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

from wizard.base.validate import (
    ProbeArgumentError,
    is_address,
    validate_host,
    validate_port,
    validate_service,
)
from wizard.checks import linux, windows
from wizard.checks.base import ProbeResult, ProbeStatus, timed
from wizard.checks.system import ResolveError, RunOutput, System, TestTarget, is_reserved_name

OK, FAIL, ERROR, UNAVAILABLE, TIMEOUT = (ProbeStatus.OK, ProbeStatus.FAIL, ProbeStatus.ERROR,
                                         ProbeStatus.UNAVAILABLE, ProbeStatus.TIMEOUT)
#: Tried at once when there is no ping program: any answer, even a refusal, proves the
#: host is up. SMB, RPC, NetBIOS, web, SSH, RDP.
FALLBACK_PORTS = (445, 135, 139, 80, 443, 22, 3389)
NOT_HERE = "not available on this platform"

T = TypeVar("T")
R = TypeVar("R")


class Budget:
    """One probe's time: each step gets what is left of it."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.end = time.monotonic() + timeout

    def left(self, floor: float = 0.2) -> float:
        return max(floor, self.end - time.monotonic())


def at_once(func: Callable[[T], R], items: Sequence[T]) -> list[R]:
    """``[func(x) for x in items]``, run concurrently, in order."""
    if len(items) <= 1:
        return [func(x) for x in items]
    from concurrent.futures import ThreadPoolExecutor  # imported when first needed

    with ThreadPoolExecutor(max_workers=min(16, len(items))) as pool:
        return list(pool.map(func, items))


def renamed(result: ProbeResult, probe: str, summary: str | None = None,
            **data: object) -> ProbeResult:
    """A result of one probe reported under another's name."""
    return ProbeResult(probe, result.status, result.summary if summary is None else summary,
                       result.evidence, result.duration, {**result.data, **data})


# -- reachability ------------------------------------------------------------------------


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


# -- names -------------------------------------------------------------------------------


def dns_lookup(system: System, timeout: float, name: str) -> ProbeResult:
    start = time.monotonic()
    name = validate_host(name)
    if system.platform == "win32":
        return _nslookup(system, timeout, name, start)
    servers = system.dns_servers()
    server = servers[0] if servers else "(none configured)"
    try:
        addresses = system.resolve(name, timeout)
    except ResolveError as exc:
        return timed("dns_lookup", start, FAIL, str(exc), f"resolver: {server}",
                     server=server)
    return timed("dns_lookup", start, OK, f"{name} is {', '.join(addresses)} (asked {server})",
                 f"resolver: {server}\n" + "\n".join(addresses), server=server,
                 addresses=addresses)


def _nslookup(system: System, timeout: float, name: str, start: float) -> ProbeResult:
    if is_reserved_name(name):
        return timed("dns_lookup", start, FAIL, f"{name} is a reserved name that never "
                     "resolves")
    budget = Budget(timeout)
    ps = system.powershell(windows.resolve_script(name), timeout + 2)
    resolved = windows.parse_resolve(ps.stdout) if not ps.timed_out else None
    if ps.timed_out:
        return timed("dns_lookup", start, TIMEOUT, f"{name}: Resolve-DnsName gave no result "
                     "in time", f"$ powershell Resolve-DnsName {name} -DnsOnly\n{ps.text}")
    if resolved is not None and resolved.error != "CommandNotFoundException":
        return _resolved(name, resolved, ps, start)
    # nslookup has no option end marker; validate_host already refused a leading "-"
    out = system.run(["nslookup", name], timeout=budget.left(1.0) + 1)
    evidence = f"$ nslookup {name}\n{out.text}"
    if out.timed_out:
        return timed("dns_lookup", start, TIMEOUT, f"{name}: nslookup gave no result in time",
                     evidence)
    if out.not_found:
        return timed("dns_lookup", start, UNAVAILABLE, "nslookup is missing: ask the caller")
    server, addresses, error = windows.parse_nslookup(out.stdout + "\n" + out.stderr)
    method = "nslookup (English labels)"
    if addresses and not error:
        return timed("dns_lookup", start, OK, f"{name} is {', '.join(addresses)} "
                     f"(answered by {server})", evidence, server=server or "",
                     addresses=addresses, method=method)
    if server is None and error is None:
        return timed("dns_lookup", start, ERROR, f"{name}: nslookup's text was not "
                     "recognised (not English?): ask the caller", evidence, method=method)
    return timed("dns_lookup", start, FAIL,
                 f"{name}: {error or 'no address'} (asked {server or 'no server'})",
                 evidence, server=server or "", method=method)


def _resolved(name: str, resolved: windows.Resolved, ps: RunOutput,
              start: float) -> ProbeResult:
    """A Resolve-DnsName answer (Windows 8 / Server 2012 and later)."""
    evidence = f"$ powershell Resolve-DnsName {name} -DnsOnly\n{ps.text}"
    servers = ", ".join(resolved.servers) or "no server listed"
    data = {"server": resolved.servers[0] if resolved.servers else "",
            "servers": resolved.servers, "method": "Resolve-DnsName"}
    if resolved.addresses:
        return timed("dns_lookup", start, OK, f"{name} is {', '.join(resolved.addresses)} "
                     f"(this computer's DNS servers: {servers})", evidence,
                     addresses=resolved.addresses, **data)
    if resolved.error:
        known = windows.RESOLVE_ERRORS.get(resolved.error)
        reason = known or f"{resolved.error} ({_first_line(resolved.message)})"
        status = TIMEOUT if resolved.error in ("ERROR_TIMEOUT", "WIN32 1460") else FAIL
        return timed("dns_lookup", start, status, f"{name}: {reason} (asked {servers})",
                     evidence, error=resolved.error, **data)
    return timed("dns_lookup", start, FAIL, f"{name}: no address (asked {servers})",
                 evidence, **data)


def reverse_lookup(system: System, timeout: float, address: str) -> ProbeResult:
    """What `ping -a ADDRESS` shows: the name registered for an address."""
    start = time.monotonic()
    address = validate_host(address)
    if not is_address(address):
        raise ProbeArgumentError(f"{address!r} is a name; the reverse lookup needs an IP "
                                 "address")
    try:
        name = system.reverse(address, timeout)
    except TimeoutError as exc:
        return timed("reverse_lookup", start, TIMEOUT, f"{address}: {exc}")
    if name is None:
        return timed("reverse_lookup", start, FAIL, f"{address} has no name (no PTR record)")
    return timed("reverse_lookup", start, OK, f"{address} is {name}", name, name=name)


def dns_servers(system: System, timeout: float) -> ProbeResult:
    """ok: at least one configured DNS server replies to ping or answers a DNS query."""
    start = time.monotonic()
    budget = Budget(timeout)
    if system.platform == "win32":
        servers, source = system.windows_dns_servers(budget.left())
    else:
        servers, source = system.dns_servers(), "resolver configuration"
    if not servers and source == windows.IPCONFIG_NOT_RECOGNISED:
        return timed("dns_servers", start, ERROR, "could not read this computer's DNS "
                     "servers (ipconfig's text was not recognised): ask the caller",
                     f"read from {source}", source=source)
    if not servers:
        return timed("dns_servers", start, FAIL, "no DNS server configured",
                     f"read from {source}", source=source)
    wait = budget.left(0.5)

    def ask(job: tuple[str, str]) -> tuple[bool, str]:
        server, how = job
        if how == "ping":
            r = ping(system, wait, server)
            return r.status is OK, r.summary
        state, detail = system.dns_query(server, wait)
        return state == "answered", detail

    jobs = [(server, how) for server in servers for how in ("ping", "dns")]
    outcome = dict(zip(jobs, at_once(ask, jobs), strict=True))
    answering = [s for s in servers if outcome[s, "ping"][0] or outcome[s, "dns"][0]]
    evidence = "\n".join([f"DNS servers read from {source}",
                          *(outcome[job][1] for job in jobs)])
    data = {"servers": servers, "answering": answering, "source": source}
    if answering:
        return timed("dns_servers", start, OK, f"DNS server {answering[0]} answers",
                     evidence, **data)
    return timed("dns_servers", start, FAIL,
                 f"no DNS server answers ({', '.join(servers)})", evidence, **data)


# -- services ----------------------------------------------------------------------------

#: Windows service -> systemd units doing that job on Linux, tried in order.
LINUX_UNITS = {
    # IPsec Services / IKE: the IKE daemons
    "policyagent": ("strongswan", "strongswan-starter", "strongswan-swanctl", "ipsec",
                    "libreswan"),
    "ikeext": ("strongswan", "strongswan-starter", "strongswan-swanctl", "ipsec",
               "libreswan"),
    # Routing and Remote Access: L2TP/PPTP remote-access servers
    "remoteaccess": ("xl2tpd", "pptpd", "accel-ppp"),
}


def service_running(system: System, timeout: float, service: str) -> ProbeResult:
    start = time.monotonic()
    service = validate_service(service)
    if system.platform == "win32":
        return _windows_service(system, timeout, service, start)
    if system.which("systemctl") is None:
        return timed("service_running", start, UNAVAILABLE,
                     "no systemd here to ask about services: ask the caller")
    budget = Budget(timeout)
    units = LINUX_UNITS.get(service.lower(), (service,))
    evidence = []
    for unit in units:
        out = system.run(["systemctl", "is-active", "--", unit], budget.left())
        state = out.stdout.strip()
        evidence.append(f"$ systemctl is-active {unit}\n{out.text}")
        if out.timed_out:
            return timed("service_running", start, TIMEOUT, "systemctl did not answer",
                         "\n".join(evidence))
        if not state and linux.systemctl_unavailable(out.stderr):
            return timed("service_running", start, UNAVAILABLE,
                         f"{NOT_HERE}: systemd is not running here", "\n".join(evidence))
        if state == "active":
            return timed("service_running", start, OK, f"{unit} is running ({service})",
                         "\n".join(evidence), unit=unit, state=state)
    return timed("service_running", start, FAIL,
                 f"{service} is not running ({', '.join(units)}: not active)",
                 "\n".join(evidence), units=list(units))


def _windows_service(system: System, timeout: float, service: str,
                     start: float) -> ProbeResult:
    try:
        state = system.windows_service_status(service)
    except Exception as exc:  # no psutil service access, or access denied: ask sc
        out = system.run(["sc", "query", service], timeout)
        sc_state = windows.parse_sc_query_state(out.stdout)
        evidence = f"$ sc query {service}\n{out.text}"
        if out.timed_out or out.not_found:
            return timed("service_running", start, ERROR,
                         f"could not ask for service {service} ({exc}; sc: {out.stderr})",
                         out.text)
        if sc_state is None and out.returncode != windows.ERROR_SERVICE_DOES_NOT_EXIST:
            # not "no such service" (sc's exit status says that): access denied, or a
            # text with no state number in it
            return timed("service_running", start, ERROR,
                         f"could not read the state of service {service} (sc exit status "
                         f"{out.returncode}): ask the caller", evidence)
        state = sc_state.lower() if sc_state else None
    else:
        evidence = f"psutil: service {service}: {state or 'not installed'}"
    if state is None:
        return timed("service_running", start, FAIL, f"service {service} is not installed",
                     evidence, state="not installed")
    return timed("service_running", start, OK if state == "running" else FAIL,
                 f"service {service} is {state.replace('_', ' ')}", evidence,
                 state=state.upper())


# -- Windows-only facts ------------------------------------------------------------------


def domain_member(system: System, timeout: float) -> ProbeResult:
    start = time.monotonic()
    budget = Budget(timeout)
    out = system.powershell(windows.DOMAIN_SCRIPT, budget.left())
    if out.not_found or windows.parse_wmic_domain(out.stdout)[0] is None:
        # no PowerShell (Windows XP / Server 2003): wmic's /value names read the same too
        out = system.run(["wmic", "computersystem", "get", "Domain,PartOfDomain", "/value"],
                         budget.left())
    joined, domain = windows.parse_wmic_domain(out.stdout)
    if joined is None:
        return timed("domain_member", start, TIMEOUT if out.timed_out else ERROR,
                     "could not read the domain membership", out.text)
    return timed("domain_member", start, OK if joined else FAIL,
                 f"member of {domain}" if joined else f"not joined (workgroup {domain})",
                 out.text, domain=domain)


def ipsec_policy_version(system: System, timeout: float) -> ProbeResult:
    """Detect_IPsec_Policy.vbs, done with reg and PowerShell: the version of the domain
    IPsec policy cached in the registry against the one in Active Directory."""
    start = time.monotonic()
    budget = Budget(timeout)
    assigned = system.run(["reg", "query", windows.ASSIGNMENT_KEY], budget.left())
    cached = system.run(["reg", "query", windows.CACHE_KEY, "/v", "ipsecName"],
                        budget.left())
    directory = system.powershell(windows.AD_VERSION_SCRIPT, budget.left())
    evidence = "\n".join(f"$ {' '.join(o.argv[:3])} ...\n{o.text}"
                         for o in (assigned, cached, directory))
    if directory.not_found:
        return _detect_script(system, budget, start)
    if any(o.timed_out for o in (assigned, cached, directory)):
        return timed("ipsec_policy_version", start, TIMEOUT,
                     "the policy check gave no result in time", evidence)
    policy = windows.parse_reg_query(assigned.stdout).get("DSIPSECPolicyName", "")
    local = windows.parse_reg_query(cached.stdout).get("ipsecName")
    ad = windows.parse_key_values(directory.stdout).get("ipsecName")
    data = {"policy": policy, "local_version": local or "", "directory_version": ad or ""}
    if directory.returncode != 0 or not ad:
        return timed("ipsec_policy_version", start, ERROR,
                     "could not read the policy version from Active Directory: "
                     f"{_first_line(directory.stderr) or 'no value'}", evidence, **data)
    current = local == ad
    verdict = "IPsec policy is up-to-date." if current else "IPsec policy is not up-to-date."
    detail = (f" (assigned: {policy})" if policy else " (no domain IPsec policy assigned)") \
        if current or local else " (no policy version in the local cache)"
    return timed("ipsec_policy_version", start, OK if current else FAIL, verdict + detail,
                 evidence, **data)


def _detect_script(system: System, budget: Budget, start: float) -> ProbeResult:
    """No PowerShell (Windows XP / Server 2003): the published script, if it is here."""
    script = Path("Detect_IPsec_Policy.vbs")
    if not script.is_file():
        return timed("ipsec_policy_version", start, UNAVAILABLE,
                     "no PowerShell and no Detect_IPsec_Policy.vbs in the current folder: "
                     "ask the caller")
    out = system.run(["cscript", "//nologo", str(script)], budget.left())
    current, name = windows.parse_policy_version(out.stdout)
    if current is None:
        return timed("ipsec_policy_version", start, TIMEOUT if out.timed_out else ERROR,
                     f"the policy check printed no verdict: {_first_line(out.text)}",
                     out.text)
    verdict = "IPsec policy is up-to-date." if current else "IPsec policy is not up-to-date."
    return timed("ipsec_policy_version", start, OK if current else FAIL,
                 verdict + (f" (assigned: {name})" if name else ""), out.text, policy=name)


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")[:160]


#: Event ids looked for: 547 is Windows Server 2003's IKE failure; Windows Vista and
#: later log IKE failures as 4652/4653 (main mode) and 4654 (quick mode).
IKE_FAILURE_EVENTS = (547, 4652, 4653, 4654)


def _event(system: System, timeout: float, name: str, log: str,
           event_ids: Sequence[int]) -> ProbeResult:
    start = time.monotonic()
    query = " or ".join(f"EventID={i}" for i in event_ids)
    out = system.run(["wevtutil", "qe", log, f"/q:*[System[({query})]]", "/c:5", "/rd:true",
                      "/f:xml"], timeout)
    shown = f"event {event_ids[0]}" if len(event_ids) == 1 else \
        f"events {', '.join(map(str, event_ids))}"
    if out.not_found:
        return timed(name, start, UNAVAILABLE, "wevtutil is missing (Windows Vista or later "
                     "has it): ask the caller", out.text)
    if out.timed_out:
        return timed(name, start, TIMEOUT, f"reading the {log} log took too long", out.text)
    if out.returncode != 0:
        reason = _first_line(out.stderr) or f"exit status {out.returncode}"
        if "access is denied" in reason.lower():
            reason += " (run the wizard as an administrator)"
        return timed(name, start, ERROR, f"could not read the {log} log: {reason}", out.text)
    try:
        events = windows.parse_wevtutil_xml(out.stdout)
    except windows.EventsUnreadable as exc:
        return timed(name, start, ERROR, f"could not read the {log} log: {exc}", out.text)
    if not events:
        return timed(name, start, FAIL, f"no {shown} in the {log} log", out.text)
    latest = events[0]
    details = windows.event_details(latest)
    extra = f", {details['failure_reason']}" if "failure_reason" in details else ""
    extra += f", peer {details['peer']}" if "peer" in details else ""
    when = latest.get("TimeCreated", "")[:19] or "?"
    return timed(name, start, OK, f"event {latest.get('EventID', '?')} found ({len(events)} "
                 f"recent, latest {when}{extra})", out.text,
                 count=len(events), event_id=latest.get("EventID", ""),
                 latest=", ".join(f"{k}={v}" for k, v in latest.items())[:300], **details)


def event_547(system: System, timeout: float) -> ProbeResult:
    return _event(system, timeout, "event_547", "Security", IKE_FAILURE_EVENTS)


def event_4292(system: System, timeout: float) -> ProbeResult:
    return _event(system, timeout, "event_4292", "System", (4292,))
