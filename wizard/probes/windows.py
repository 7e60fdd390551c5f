"""Parsers for the output of Windows commands (tested on captured output)."""

from __future__ import annotations

import re

_TTL = re.compile(r"TTL=\d+", re.IGNORECASE)
_TIME = re.compile(r"time[=<](\d+)\s*ms", re.IGNORECASE)


def parse_ping(text: str) -> tuple[bool, bool, str]:
    """(replied, negotiating, summary) for Windows ping output."""
    negotiating = "negotiating ip security" in text.lower()
    if _TTL.search(text):
        rtt = _TIME.search(text)
        summary = f"replied ({rtt.group(1)} ms)" if rtt else "replied"
        if negotiating:
            summary += "; first showed \"Negotiating IP security\""
        return True, negotiating, summary
    if negotiating:
        return True, True, "\"Negotiating IP security\": IKE is negotiating with the target"
    for marker in ("could not find host", "Destination host unreachable", "Request timed out",
                   "General failure", "Transmit failed"):
        if marker.lower() in text.lower():
            return False, False, marker
    return False, False, "no reply"


def parse_ipconfig_dns(text: str) -> list[str]:
    """DNS server addresses from `ipconfig /all` (continuation lines included)."""
    servers: list[str] = []
    in_dns = False
    for line in text.splitlines():
        if re.match(r"\s*DNS Servers[ .]*:", line):
            in_dns = True
            value = line.split(":", 1)[1].strip()
        elif in_dns and re.match(r"^\s{20,}\S", line) and ":" not in line.split("%")[0][:3]:
            value = line.strip()
        else:
            in_dns = False
            continue
        value = value.split("%", 1)[0]
        if value and value not in servers:
            servers.append(value)
    return servers


def parse_route_print_gateway(text: str) -> str | None:
    """Default gateway from `route print 0.0.0.0`."""
    for line in text.splitlines():
        parts = line.split()
        default_route = ("0.0.0.0", "0.0.0.0")  # noqa: S104 - a route, not a bind address
        if tuple(parts[:2]) == default_route and re.match(r"^\d+\.\d+\.\d+\.\d+$", parts[2]):
            return parts[2]
    return None


def parse_wmic_domain(text: str) -> tuple[bool | None, str]:
    """(joined, domain) from `wmic computersystem get Domain,PartOfDomain /value`."""
    values = dict(
        line.strip().split("=", 1) for line in text.splitlines() if "=" in line
    )
    part = values.get("PartOfDomain", "").strip().upper()
    domain = values.get("Domain", "").strip()
    if part == "TRUE":
        return True, domain
    if part == "FALSE":
        return False, domain
    return None, domain


def parse_wevtutil_events(text: str) -> list[dict[str, str]]:
    """Events from `wevtutil qe ... /f:text` (blocks starting with "Event[n]:")."""
    events: list[dict[str, str]] = []
    current: dict[str, str] | None = None
    key = ""
    for line in text.splitlines():
        if re.match(r"^Event\[\d+\]:", line):
            current = {}
            events.append(current)
            key = ""
            continue
        if current is None:
            continue
        m = re.match(r"^\s{2}([A-Za-z ]+):\s?(.*)$", line)
        if m and m.group(1).strip() in ("Log Name", "Source", "Date", "Event ID", "Task",
                                         "Level", "Opcode", "Keyword", "User", "User Name",
                                         "Computer", "Description"):
            key = m.group(1).strip()
            current[key] = m.group(2).strip()
        elif key == "Description" and line.strip():
            current[key] = (current[key] + "\n" + line.strip()).strip()
    return events


def parse_policy_version(text: str) -> tuple[bool | None, str]:
    """(up_to_date, policy name) from Detect_IPsec_Policy.vbs output."""
    name = ""
    m = re.search(r"(?:Assigned|Current)?\s*(?:IPsec )?policy(?: name)?\s*[:=]\s*(.+)", text,
                  re.IGNORECASE)
    if m and "up-to-date" not in m.group(1).lower():
        name = m.group(1).strip()
    if re.search(r"IPsec policy is not up-to-date", text, re.IGNORECASE):
        return False, name
    if re.search(r"IPsec policy is up-to-date", text, re.IGNORECASE):
        return True, name
    return None, name


def parse_sc_query_state(text: str) -> str | None:
    """RUNNING / STOPPED / ... from `sc query NAME`."""
    m = re.search(r"STATE\s*:\s*\d+\s+(\w+)", text)
    return m.group(1).upper() if m else None


def parse_nslookup(text: str) -> tuple[str | None, list[str], str | None]:
    """(server that answered, addresses found, error) from Windows `nslookup NAME`."""
    server = None
    addresses: list[str] = []
    seen_name = False
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key, value = key.strip(), value.strip()
        if key == "Server" and server is None:
            server = value
        elif key == "Address" and not seen_name and server is not None and value:
            server = f"{server} ({value})" if value != server else server
        elif key in ("Name",):
            seen_name = True
        elif key in ("Address", "Addresses") and seen_name and value:
            addresses.append(value)
        elif seen_name and line.startswith(("\t", "          ")) and line.strip():
            addresses.append(line.strip())
    error = None
    for line in text.splitlines():
        if line.startswith("***"):
            error = line.strip("* ").strip()
    return server, addresses, error
