"""The probes. Each takes a System, a timeout and its declared arguments, and returns a
ProbeResult. Arguments are validated before anything runs (see validate.py)."""

from __future__ import annotations

import concurrent.futures
import ipaddress
import time
from pathlib import Path

from . import linux, windows
from .base import ProbeArgumentError, ProbeResult, ProbeStatus, timed
from .system import ResolveError, System
from .validate import validate_host

OK, FAIL, ERROR, UNAVAILABLE, TIMEOUT = (ProbeStatus.OK, ProbeStatus.FAIL, ProbeStatus.ERROR,
                                         ProbeStatus.UNAVAILABLE, ProbeStatus.TIMEOUT)
FALLBACK_PORTS = (445, 135, 139, 80, 443, 22, 3389)


def _windows_only(name: str, system: System, start: float) -> ProbeResult | None:
    if system.platform != "win32":
        return timed(name, start, UNAVAILABLE, "not available on this platform: ask the caller")
    return None


# -- reachability ------------------------------------------------------------------------


def ping(system: System, timeout: float, host: str) -> ProbeResult:
    start = time.monotonic()
    host = validate_host(host)
    binary = system.which("ping")
    if binary is None:
        return _socket_ping(system, timeout, host, start)
    if system.platform == "win32":
        argv = [binary, "-n", "1", "-w", str(max(1, int(timeout * 1000))), host]
    else:
        argv = [binary, "-c", "1", "-W", str(max(1, int(round(timeout)))), "--", host]
    out = system.run(argv, timeout=timeout + 2)
    evidence = "$ " + " ".join(["ping", *argv[1:]]) + "\n" + out.text
    if out.timed_out:
        return timed("ping", start, TIMEOUT, f"{host}: ping gave no result in time", evidence)
    if out.not_found:
        return _socket_ping(system, timeout, host, start)
    if system.platform == "win32":
        replied, negotiating, summary = windows.parse_ping(out.text)
    else:
        replied, summary = linux.parse_ping(out.text, out.returncode)
        negotiating = False
    return timed("ping", start, OK if replied else FAIL, f"{host}: {summary}", evidence,
                 host=host, method="ping", negotiating=negotiating)


def _socket_ping(system: System, timeout: float, host: str, start: float) -> ProbeResult:
    """No ping binary: try TCP ports at once; any answer (even a refusal) proves the host
    is up."""
    outcomes: dict[int, tuple[str, str]] = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(FALLBACK_PORTS)) as pool:
        futures = {pool.submit(system.connect, host, p, timeout): p for p in FALLBACK_PORTS}
        for fut in concurrent.futures.as_completed(futures):
            outcomes[futures[fut]] = fut.result()
    evidence = "\n".join(f"tcp/{p}: {d}" for p, (_, d) in sorted(outcomes.items()))
    answered = [p for p, (state, _) in sorted(outcomes.items()) if state in ("open", "refused")]
    if answered:
        return timed("ping", start, OK,
                     f"{host}: answered on TCP port {answered[0]} (no ping program here)",
                     evidence, host=host, method="tcp", negotiating=False)
    errors = {state for state, _ in outcomes.values()}
    if errors == {"error"}:
        detail = next(iter(outcomes.values()))[1]
        return timed("ping", start, FAIL, f"{host}: {detail}", evidence, host=host,
                     method="tcp", negotiating=False)
    return timed("ping", start, FAIL, f"{host}: no answer on TCP ports "
                 f"{', '.join(map(str, FALLBACK_PORTS))} (no ping program here)", evidence,
                 host=host, method="tcp", negotiating=False)


def tcp_port(system: System, timeout: float, host: str, port: str) -> ProbeResult:
    start = time.monotonic()
    host = validate_host(host)
    try:
        number = int(port)
    except ValueError:
        raise ProbeArgumentError(f"{port!r} is not a port number") from None
    if not 1 <= number <= 65535:
        raise ProbeArgumentError(f"{number} is not a port number (1-65535)")
    state, detail = system.connect(host, number, timeout)
    return timed("tcp_port", start, OK if state == "open" else FAIL, detail, detail,
                 host=host, port=number, state=state)


def smb(system: System, timeout: float, host: str) -> ProbeResult:
    r = tcp_port(system, timeout, host, "445")
    summary = r.summary + (" (net view would work)" if r.status is OK else "")
    return ProbeResult("smb", r.status, summary, r.evidence, r.duration, r.data)


def dc_ports(system: System, timeout: float, host: str) -> ProbeResult:
    start = time.monotonic()
    host = validate_host(host)
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        kerberos, ldap = pool.map(lambda p: system.connect(host, p, timeout), (88, 389))
    lines = f"kerberos tcp/88: {kerberos[1]}\nldap tcp/389: {ldap[1]}"
    both = kerberos[0] == "open" and ldap[0] == "open"
    summary = (f"{host}: Kerberos and LDAP answer" if both else
               f"{host}: Kerberos {kerberos[0]}, LDAP {ldap[0]}")
    return timed("dc_ports", start, OK if both else FAIL, summary, lines, host=host,
                 kerberos=kerberos[0], ldap=ldap[0])


def test_servers(system: System, timeout: float) -> ProbeResult:
    start = time.monotonic()
    servers = system.org.test_servers
    if not servers:
        return timed("test_servers", start, UNAVAILABLE,
                     "no help-desk test servers configured (test_servers in the organization "
                     "file): ask the caller")
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(servers)) as pool:
        results = list(pool.map(lambda s: system.connect(s.address, s.port, timeout), servers))
    ok = [s.name for s, (state, _) in zip(servers, results, strict=True) if state == "open"]
    evidence = "\n".join(f"{s.name} ({s.address}:{s.port}): {d}"
                         for s, (_, d) in zip(servers, results, strict=True))
    data = {"reachable": ok, "total": len(servers)}
    if len(ok) == len(servers):
        return timed("test_servers", start, OK, f"all {len(servers)} test servers reachable",
                     evidence, **data)
    if not ok:
        return timed("test_servers", start, FAIL, "no test server reachable", evidence, **data)
    return timed("test_servers", start, ERROR,
                 f"{len(ok)} of {len(servers)} test servers reachable ({', '.join(ok)}): "
                 "ask the caller", evidence, **data)


def loopback(system: System, timeout: float) -> ProbeResult:
    r = ping(system, timeout, "127.0.0.1")
    return ProbeResult("loopback", r.status, r.summary, r.evidence, r.duration, r.data)


def own_address(system: System, timeout: float) -> ProbeResult:
    start = time.monotonic()
    for nic, addrs in system.net_if_addrs().items():
        for a in addrs:
            ip = ipaddress.ip_address(a)
            if ip.version == 4 and not ip.is_loopback and not ip.is_link_local:
                r = ping(system, timeout, a)
                return ProbeResult("own_address", r.status, f"{nic} {r.summary}", r.evidence,
                                   r.duration, {**r.data, "interface": nic})
    return timed("own_address", start, FAIL, "this computer has no IPv4 address besides "
                 "loopback and 169.254.x.x")


def gateway(system: System, timeout: float) -> ProbeResult:
    start = time.monotonic()
    gw = system.default_gateway()
    if gw is None:
        return timed("gateway", start, FAIL, "no default gateway configured")
    r = ping(system, timeout, gw)
    return ProbeResult("gateway", r.status, f"default gateway {r.summary}", r.evidence,
                       r.duration, {**r.data, "gateway": gw})


def autoconfig_address(system: System, timeout: float) -> ProbeResult:
    start = time.monotonic()
    found = [(nic, a) for nic, addrs in system.net_if_addrs().items() for a in addrs
             if a.startswith("169.254.")]
    listing = "\n".join(f"{nic}: {', '.join(addrs)}"
                        for nic, addrs in system.net_if_addrs().items())
    if found:
        nic, a = found[0]
        return timed("autoconfig_address", start, FAIL,
                     f"{nic} has the auto-configuration address {a}", listing,
                     addresses=[x for _, x in found])
    return timed("autoconfig_address", start, OK, "no 169.254.x.x address", listing)


# -- names -------------------------------------------------------------------------------


def dns_lookup(system: System, timeout: float, name: str) -> ProbeResult:
    start = time.monotonic()
    name = validate_host(name)
    if system.platform == "win32":
        out = system.run(["nslookup", name], timeout=timeout + 2)
        server, addresses, error = windows.parse_nslookup(out.stdout + out.stderr)
        evidence = f"$ nslookup {name}\n{out.text}"
        if addresses and not error:
            return timed("dns_lookup", start, OK, f"{name} is {', '.join(addresses)} "
                         f"(answered by {server})", evidence, server=server or "",
                         addresses=addresses)
        return timed("dns_lookup", start, FAIL,
                     f"{name}: {error or 'no address'} (asked {server or 'no server'})",
                     evidence, server=server or "")
    servers = system.dns_servers()
    server = servers[0] if servers else "(none configured)"
    try:
        addresses = system.resolve(name, timeout)
    except ResolveError as exc:
        return timed("dns_lookup", start, FAIL, str(exc), f"resolver: {server}",
                     server=server)
    return timed("dns_lookup", start, OK, f"{name} is {', '.join(addresses)}",
                 f"resolver: {server}\n" + "\n".join(addresses), server=server,
                 addresses=addresses)


def reverse_lookup(system: System, timeout: float, address: str) -> ProbeResult:
    start = time.monotonic()
    address = validate_host(address)
    try:
        ipaddress.ip_address(address)
    except ValueError:
        raise ProbeArgumentError(f"{address!r} is a name; the reverse lookup needs an IP "
                                 "address") from None
    try:
        name = system.reverse(address, timeout)
    except TimeoutError as exc:
        return timed("reverse_lookup", start, TIMEOUT, f"{address}: {exc}")
    if name is None:
        return timed("reverse_lookup", start, FAIL, f"{address} has no name (no PTR record)")
    return timed("reverse_lookup", start, OK, f"{address} is {name}", name, name=name)


def dns_servers(system: System, timeout: float) -> ProbeResult:
    start = time.monotonic()
    servers = system.dns_servers()
    if not servers:
        return timed("dns_servers", start, FAIL, "no DNS server configured")
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(servers)) as pool:
        results = list(pool.map(lambda s: ping(system, timeout, s), servers))
    answering = [s for s, r in zip(servers, results, strict=True) if r.status is OK]
    evidence = "\n".join(r.summary for r in results)
    if answering:
        return timed("dns_servers", start, OK, f"DNS server {answering[0]} answers",
                     evidence, servers=servers, answering=answering)
    return timed("dns_servers", start, FAIL,
                 f"no DNS server answers ping ({', '.join(servers)})", evidence,
                 servers=servers, answering=[])


# -- services and Windows facts ----------------------------------------------------------

LINUX_UNITS = {
    "policyagent": ("strongswan", "strongswan-starter", "ipsec", "libreswan"),
    "remoteaccess": ("pppd-dns", "xl2tpd"),
}


def service_running(system: System, timeout: float, service: str) -> ProbeResult:
    start = time.monotonic()
    if not service.replace("-", "").replace("_", "").replace(".", "").isalnum() \
            or service.startswith("-"):
        raise ProbeArgumentError(f"{service!r} is not a service name")
    if system.platform == "win32":
        out = system.run(["sc", "query", service], timeout)
        state = windows.parse_sc_query_state(out.stdout)
        if state is None:
            return timed("service_running", start, FAIL,
                         f"service {service} is not installed", out.text)
        return timed("service_running", start, OK if state == "RUNNING" else FAIL,
                     f"service {service} is {state.lower()}", out.text, state=state)
    if system.which("systemctl") is None:
        return timed("service_running", start, UNAVAILABLE,
                     "no systemd here to ask about services: ask the caller")
    units = LINUX_UNITS.get(service.lower(), (service,))
    evidence = []
    for unit in units:
        out = system.run(["systemctl", "is-active", "--", unit], timeout)
        evidence.append(f"{unit}: {out.stdout.strip() or out.stderr.strip()}")
        if out.timed_out:
            return timed("service_running", start, TIMEOUT, "systemctl did not answer",
                         "\n".join(evidence))
        if out.stdout.strip() == "active":
            return timed("service_running", start, OK, f"{unit} is running ({service})",
                         "\n".join(evidence), unit=unit)
    return timed("service_running", start, FAIL,
                 f"{service} is not running ({', '.join(units)} inactive)",
                 "\n".join(evidence))


def domain_member(system: System, timeout: float) -> ProbeResult:
    start = time.monotonic()
    other = _windows_only("domain_member", system, start)
    if other:
        return other
    out = system.run(["wmic", "computersystem", "get", "Domain,PartOfDomain", "/value"],
                     timeout)
    joined, domain = windows.parse_wmic_domain(out.stdout)
    if joined is None:
        return timed("domain_member", start, ERROR, "could not read the domain membership",
                     out.text)
    return timed("domain_member", start, OK if joined else FAIL,
                 f"member of {domain}" if joined else f"not joined (workgroup {domain})",
                 out.text, domain=domain)


def ipsec_policy_version(system: System, timeout: float) -> ProbeResult:
    start = time.monotonic()
    other = _windows_only("ipsec_policy_version", system, start)
    if other:
        return other
    script = Path("Detect_IPsec_Policy.vbs")
    if not script.is_file():
        return timed("ipsec_policy_version", start, UNAVAILABLE,
                     "Detect_IPsec_Policy.vbs is not in the current folder: ask the caller")
    out = system.run(["cscript", "//nologo", str(script)], timeout=max(timeout, 30))
    current, name = windows.parse_policy_version(out.stdout)
    if current is None:
        return timed("ipsec_policy_version", start, ERROR,
                     "the policy check printed no verdict", out.text)
    return timed("ipsec_policy_version", start, OK if current else FAIL,
                 ("IPsec policy is up-to-date" if current else "IPsec policy is not up-to-date")
                 + (f" ({name})" if name else ""), out.text, policy=name)


def _event(system: System, timeout: float, log: str, event_id: int, name: str) -> ProbeResult:
    start = time.monotonic()
    other = _windows_only(name, system, start)
    if other:
        return other
    out = system.run(["wevtutil", "qe", log, f"/q:*[System[(EventID={event_id})]]", "/c:5",
                      "/rd:true", "/f:text"], timeout=max(timeout, 15))
    if out.returncode not in (0, None) or out.timed_out:
        return timed(name, start, ERROR, f"could not read the {log} log: "
                     f"{out.stderr.strip()[:120] or 'no answer'}", out.text)
    events = windows.parse_wevtutil_events(out.stdout)
    if not events:
        return timed(name, start, FAIL, f"no event {event_id} in the {log} log", out.text)
    latest = events[0]
    return timed(name, start, OK, f"event {event_id} found ({len(events)} recent, latest "
                 f"{latest.get('Date', '?')})", out.text, count=len(events),
                 latest=latest.get("Description", "")[:300])


def event_547(system: System, timeout: float) -> ProbeResult:
    return _event(system, timeout, "Security", 547, "event_547")


def event_4292(system: System, timeout: float) -> ProbeResult:
    return _event(system, timeout, "System", 4292, "event_4292")
