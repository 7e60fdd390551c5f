"""The probes. Each takes a System, a timeout (seconds for the whole probe) and its
declared arguments, and returns a ProbeResult. Arguments are validated before anything
runs (see validate.py); a refused argument raises ProbeArgumentError, which run_probe
turns into a result.

One module per concern: ``common`` (what they share), ``reachability``, ``names``,
``services``, ``windows_facts`` and ``events``; the probes are re-exported here."""

from __future__ import annotations

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
from wizard.checks.probes.events import (
    IKE_FAILURE_EVENTS,
    SERVER_IPSEC_FAILURES,
    event_547,
    event_4292,
    event_7023,
    server_ipsec_events,
)
from wizard.checks.probes.names import dns_lookup, dns_servers, reverse_lookup
from wizard.checks.probes.reachability import (
    PING_STATUS_WAIT_MS,
    UNKNOWN_HOST_MARKERS,
    autoconfig_address,
    dc_ports,
    gateway,
    loopback,
    own_address,
    ping,
    ping_outcome,
    smb,
    tcp_port,
    test_servers,
)
from wizard.checks.probes.services import LINUX_UNITS, service_running
from wizard.checks.probes.windows_facts import domain_member, ipsec_policy_version

__all__ = [
    "ERROR", "FAIL", "FALLBACK_PORTS", "IKE_FAILURE_EVENTS", "LINUX_UNITS", "NOT_HERE", "OK",
    "SERVER_IPSEC_FAILURES", "server_ipsec_events",
    "PING_STATUS_WAIT_MS", "TIMEOUT", "UNAVAILABLE", "UNKNOWN_HOST_MARKERS", "Budget",
    "at_once", "autoconfig_address", "dc_ports", "dns_lookup", "dns_servers",
    "domain_member", "event_547", "event_4292", "event_7023", "gateway", "ipsec_policy_version",
    "loopback", "own_address", "ping", "ping_outcome", "renamed", "reverse_lookup",
    "service_running", "smb", "tcp_port", "test_servers",
]
