"""Event log checks: IKE failures in the Security log and the IPsec driver's Block
mode in the System log."""

from __future__ import annotations

import time
from collections.abc import Sequence

from wizard.checks import eventlog
from wizard.checks.base import ProbeResult, timed
from wizard.checks.probes.common import ERROR, FAIL, OK, TIMEOUT, UNAVAILABLE, _first_line
from wizard.checks.system import System

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
        events = eventlog.parse_wevtutil_xml(out.stdout)
    except eventlog.EventsUnreadable as exc:
        return timed(name, start, ERROR, f"could not read the {log} log: {exc}", out.text)
    if not events:
        return timed(name, start, FAIL, f"no {shown} in the {log} log", out.text)
    latest = events[0]
    details = eventlog.event_details(latest)
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
