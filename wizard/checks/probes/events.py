"""Event log checks: IKE failures in the Security log, the IPsec driver's Block mode in
the System log (Windows Server 2003), the IPsec failures of Windows Server 2008 and
later, and the service that event 7023 says did not start.

Each log is read with what the computer has: `wevtutil` on Windows Vista / Server 2008
and later, WMI's Win32_NTLogEvent through `wmic` on Windows XP / Server 2003 (which
have no wevtutil); with neither the question is asked."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import NamedTuple

from wizard.checks import eventlog
from wizard.checks.base import ProbeResult, ProbeStatus, timed
from wizard.checks.probes.common import ERROR, FAIL, OK, TIMEOUT, UNAVAILABLE, Budget, _first_line
from wizard.checks.system import System

#: Event ids looked for: 547 is Windows Server 2003's IKE failure; Windows Vista and
#: later log IKE failures as 4652/4653 (main mode) and 4654 (quick mode).
IKE_FAILURE_EVENTS = (547, 4652, 4653, 4654)
#: Windows Server 2008 and later, Security log: 5453 (an IPsec negotiation with a
#: remote computer failed because IKEEXT is not started), 5461 and 5462 (the Policy
#: Agent's store could not apply the IPsec policy, or some of its rules), 5480, 5483,
#: 5484 and 5485 (IPsec Services failures). 5478 and 5479 (IPsec Services started, shut
#: down) are no failure and are left out.
SERVER_IPSEC_FAILURES = (5453, 5461, 5462, 5480, 5483, 5484, 5485)
#: Service Control Manager: "The %1 service terminated with the following error: %2".
SERVICE_FAILED = 7023


class LogRead(NamedTuple):
    """The events read from a log (newest first), or why none could be read."""

    events: list[dict[str, str]]
    evidence: str
    method: str
    problem: tuple[ProbeStatus, str] | None = None


def read_log(system: System, timeout: float, log: str,
             event_ids: Sequence[int]) -> LogRead:
    budget = Budget(timeout)
    out = system.run(eventlog.wevtutil_argv(log, event_ids), budget.left())
    method = "wevtutil"
    parse: Callable[[str], list[dict[str, str]]] = eventlog.parse_wevtutil_xml
    if out.not_found:  # Windows XP / Server 2003
        out = system.run(eventlog.wmic_argv(log, event_ids), budget.left())
        method, parse = "wmic ntevent (Win32_NTLogEvent)", eventlog.parse_wmic_events
    shown = f"$ {' '.join(out.argv[:3])} ...\n{out.text}"
    if out.not_found:
        return LogRead([], out.text, "", (UNAVAILABLE, "wevtutil is missing (Windows Vista "
                       "and Server 2008 and later have it) and so is wmic (Windows XP and "
                       "Server 2003 have it): ask the caller"))
    if out.timed_out:
        return LogRead([], shown, method, (TIMEOUT, f"reading the {log} log took too long"))
    if out.returncode != 0:
        reason = _first_line(out.stderr) or f"exit status {out.returncode}"
        if "access is denied" in reason.lower():
            reason += " (run the wizard as an administrator)"
        return LogRead([], shown, method, (ERROR, f"could not read the {log} log: {reason}"))
    try:
        return LogRead(parse(out.stdout), shown, method)
    except eventlog.EventsUnreadable as exc:
        return LogRead([], shown, method, (ERROR, f"could not read the {log} log: {exc}"))


def _event(system: System, timeout: float, name: str, log: str,
           event_ids: Sequence[int]) -> ProbeResult:
    start = time.monotonic()
    read = read_log(system, timeout, log, event_ids)
    if read.problem is not None:
        return timed(name, start, *read.problem, read.evidence)
    shown = f"event {event_ids[0]}" if len(event_ids) == 1 else \
        f"events {', '.join(map(str, event_ids))}"
    if not read.events:
        return timed(name, start, FAIL, f"no {shown} in the {log} log", read.evidence,
                     method=read.method)
    latest = read.events[0]
    details = eventlog.event_details(latest)
    extra = f", {details['failure_reason']}" if "failure_reason" in details else ""
    extra += f", peer {details['peer']}" if "peer" in details else ""
    when = latest.get("TimeCreated", "")[:19] or "?"
    return timed(name, start, OK, f"event {latest.get('EventID', '?')} found "
                 f"({len(read.events)} recent, latest {when}{extra})", read.evidence,
                 count=len(read.events), event_id=latest.get("EventID", ""),
                 latest=", ".join(f"{k}={v}" for k, v in latest.items())[:300],
                 method=read.method, **details)


def event_547(system: System, timeout: float) -> ProbeResult:
    return _event(system, timeout, "event_547", "Security", IKE_FAILURE_EVENTS)


def event_4292(system: System, timeout: float) -> ProbeResult:
    return _event(system, timeout, "event_4292", "System", (4292,))


def server_ipsec_events(system: System, timeout: float) -> ProbeResult:
    return _event(system, timeout, "server_ipsec_events", "Security",
                  SERVER_IPSEC_FAILURES)


def event_7023(system: System, timeout: float) -> ProbeResult:
    """Which service event 7023 says did not start: ``data["outcome"]`` is ``ipsec``
    (one of the recent events names an IPsec service), ``other`` or ``none``."""
    start = time.monotonic()
    read = read_log(system, timeout, "System", (SERVICE_FAILED,))
    if read.problem is not None:
        return timed("event_7023", start, *read.problem, read.evidence)
    if not read.events:
        return timed("event_7023", start, FAIL, "no event 7023 in the System log",
                     read.evidence, method=read.method, outcome="none")
    named = [eventlog.failed_service(e) for e in read.events]
    ipsec = [shown for shown, is_ipsec in named if is_ipsec]
    services = list(dict.fromkeys(shown for shown, _ in named if shown))
    listed = ", ".join(services) or "no service name in the event"
    if ipsec:
        return timed("event_7023", start, OK, f"event 7023: an IPsec service did not "
                     f"start: {ipsec[0]} (recent: {listed})", read.evidence,
                     method=read.method, outcome="ipsec", services=services)
    return timed("event_7023", start, OK, f"event 7023 names {listed}", read.evidence,
                 method=read.method, outcome="other", services=services)
