"""Names: the DNS lookup (Resolve-DnsName or nslookup), the reverse lookup and the
configured DNS servers."""

from __future__ import annotations

import time

from wizard.base.validate import (
    ProbeArgumentError,
    is_address,
    validate_host,
)
from wizard.checks import windows
from wizard.checks.base import ProbeResult, timed
from wizard.checks.probes.common import (
    ERROR,
    FAIL,
    OK,
    TIMEOUT,
    UNAVAILABLE,
    Budget,
    _first_line,
    at_once,
)
from wizard.checks.probes.reachability import ping
from wizard.checks.system import ResolveError, RunOutput, System, is_reserved_name


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

