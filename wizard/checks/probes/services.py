"""Services: whether a Windows service runs (psutil, then sc), or its systemd
equivalent on Linux."""

from __future__ import annotations

import time

from wizard.base.validate import (
    validate_service,
)
from wizard.checks import linux, windows
from wizard.checks.base import ProbeResult, timed
from wizard.checks.probes.common import ERROR, FAIL, NOT_HERE, OK, TIMEOUT, UNAVAILABLE, Budget
from wizard.checks.system import System

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

