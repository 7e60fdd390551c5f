"""Parsers for Linux command output and /proc files."""

from __future__ import annotations

import re
import socket
import struct


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


_RTT = re.compile(r"time[=<]([\d.]+)\s*ms")


def parse_ping(text: str, returncode: int | None) -> tuple[bool, str]:
    """(replied, one-line summary) for iputils/busybox ping output."""
    rtt = _RTT.search(text)
    if returncode == 0 and (rtt or " 0% packet loss" in text or "bytes from" in text):
        return True, f"replied ({rtt.group(1)} ms)" if rtt else "replied"
    for marker in ("Name or service not known", "Temporary failure in name resolution",
                   "unknown host", "Network is unreachable", "Destination Host Unreachable",
                   "100% packet loss"):
        if marker.lower() in text.lower():
            return False, marker[0].lower() + marker[1:]
    return False, "no reply"
