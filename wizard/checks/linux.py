"""Parsers for Linux (and other Unix) command output and /proc files."""

from __future__ import annotations

import re
import socket
import struct
from typing import NamedTuple


class PingOutcome(NamedTuple):
    """What one ping run showed (Linux and Windows parsers both return it)."""

    replied: bool
    summary: str
    address: str = ""
    """The address the name resolved to, as ping printed it ("" if none)."""
    negotiating: bool = False
    """Windows printed "Negotiating IP Security." (an IPsec filter matched ICMP)."""
    recognised: bool = True
    """False when the output could not be read (a display language not known here):
    the result then suggests no answer."""


def parse_proc_net_route(text: str) -> str | None:
    """Default IPv4 gateway from /proc/net/route (hex, little-endian)."""
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) >= 3 and fields[1] == "00000000" and fields[2] != "00000000":
            try:
                return socket.inet_ntoa(struct.pack("<L", int(fields[2], 16)))
            except (ValueError, struct.error):
                continue
    return None


def parse_ip_route_default(text: str) -> str | None:
    """Default gateway from `ip -4 route show default` ("default via A dev ...")."""
    m = re.search(r"^default\s+via\s+(\S+)", text, re.MULTILINE)
    return m.group(1) if m else None


def parse_route_get(text: str) -> str | None:
    """Default gateway from macOS/BSD `route -n get default` ("gateway: A")."""
    m = re.search(r"^\s*gateway:\s*(\S+)", text, re.MULTILINE)
    return m.group(1) if m else None


def parse_resolv_conf(text: str) -> list[str]:
    """The ``nameserver`` addresses of resolv.conf, in order (IPv6 zone ids removed)."""
    servers: list[str] = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] == "nameserver":
            server = parts[1].split("%", 1)[0]
            if server not in servers:
                servers.append(server)
    return servers


_RTT = re.compile(r"time[=<]([\d.]+)\s*ms")
_TARGET = re.compile(r"^PING\s+\S+\s+\(([^)]+)\)", re.MULTILINE)
_FAILURES = ("Name or service not known", "Temporary failure in name resolution",
             "unknown host", "bad address", "Network is unreachable",
             "Destination Host Unreachable", "Destination Net Unreachable",
             "100% packet loss")


def parse_ping(text: str, returncode: int | None) -> PingOutcome:
    """One iputils or busybox ``ping -c 1`` run."""
    target = _TARGET.search(text)
    address = target.group(1) if target else ""
    rtt = _RTT.search(text)
    if returncode == 0 and (rtt or " 0% packet loss" in text or "bytes from" in text):
        return PingOutcome(True, f"replied ({rtt.group(1)} ms)" if rtt else "replied",
                           address)
    for marker in _FAILURES:
        if marker.lower() in text.lower():
            return PingOutcome(False, marker[0].lower() + marker[1:], address)
    return PingOutcome(False, "no reply", address)


def systemctl_unavailable(stderr: str) -> bool:
    """systemctl is installed but cannot talk to systemd (a container, no PID 1)."""
    text = stderr.lower()
    return "not been booted with systemd" in text or "failed to connect to bus" in text
