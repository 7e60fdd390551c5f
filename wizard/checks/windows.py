"""Parsers for the output of Windows commands (tested on captured output) and the
fixed command lines that produce it."""

from __future__ import annotations

import re

from wizard.checks.linux import PingOutcome

#: Detect_IPsec_Policy.vbs: the domain IPsec policy's version object. Its ``ipsecName``
#: is cached in the registry when the policy is downloaded and compared with Active
#: Directory to tell whether the cached policy is current.
VERSION_OBJECT = "ipsecFilter{aa3d274e-da18-45c9-907d-9f6ba31ae361}"
CACHE_KEY = (r"HKLM\SOFTWARE\Policies\Microsoft\Windows\IPSec\Policy\Cache" "\\"
             + VERSION_OBJECT)
ASSIGNMENT_KEY = r"HKLM\SOFTWARE\Policies\Microsoft\Windows\IPSec\GPTIPSECPolicy"

#: PowerShell reading the version object from Active Directory (a fixed text: nothing
#: from the caller or the flowchart goes into it).
AD_VERSION_SCRIPT = (
    "$ErrorActionPreference='Stop';"
    "$d=([adsi]'LDAP://RootDSE').defaultNamingContext;"
    f"$o=[adsi]('LDAP://CN={VERSION_OBJECT},CN=IP Security,CN=System,'+$d);"
    "'ipsecName='+$o.ipsecName"
)

#: PowerShell printing domain membership in `wmic ... /value` form (wmic is gone from
#: current Windows releases).
DOMAIN_SCRIPT = (
    "$c=Get-CimInstance Win32_ComputerSystem;"
    "'Domain='+$c.Domain;'PartOfDomain='+$c.PartOfDomain"
)

_TTL = re.compile(r"TTL=\d+", re.IGNORECASE)
_REPLY = re.compile(r"^Reply from \S+: (?:bytes=\d+ )?time[=<]\d+\s*ms",
                    re.IGNORECASE | re.MULTILINE)
_TIME = re.compile(r"time([=<])(\d+)\s*ms", re.IGNORECASE)
_TARGET = re.compile(r"^Pinging\s+(?:\S+\s+\[([^\]]+)\]|(\S+)\s+with)", re.MULTILINE)
_FAILURES = ("could not find host", "Destination host unreachable",
             "Destination net unreachable", "Request timed out", "General failure",
             "Transmit failed", "TTL expired in transit")


def parse_ping(text: str) -> PingOutcome:
    """One Windows ``ping -n 1`` run.

    "Negotiating IP Security." takes the place of a reply while IKE negotiates (the
    IPsec policy matched ICMP): the ping did not get through, and ``negotiating`` says
    why. A reply line (TTL=, or ``time=`` for IPv6) counts as a reply.
    """
    target = _TARGET.search(text)
    address = (target.group(1) or target.group(2)) if target else ""
    negotiating = "negotiating ip security" in text.lower()
    if _TTL.search(text) or _REPLY.search(text):
        rtt = _TIME.search(text)
        shown = ("<" if rtt.group(1) == "<" else "") + rtt.group(2) if rtt else ""
        summary = f"replied ({shown} ms)" if rtt else "replied"
        if negotiating:
            summary += "; first showed \"Negotiating IP Security\""
        return PingOutcome(True, summary, address, negotiating)
    if negotiating:
        return PingOutcome(False, "no reply: \"Negotiating IP Security\" (IKE is negotiating "
                           "with the target)", address, True)
    for marker in _FAILURES:
        if marker.lower() in text.lower():
            return PingOutcome(False, marker, address)
    return PingOutcome(False, "no reply", address)


def parse_ipconfig_dns(text: str) -> list[str]:
    """DNS server addresses from `ipconfig /all` (continuation lines included)."""
    servers: list[str] = []
    in_dns = False
    for line in text.splitlines():
        if re.match(r"\s*DNS Servers[ .]*:", line):
            in_dns = True
            value = line.split(":", 1)[1].strip()
        elif in_dns and re.match(r"^\s{20,}\S", line) and " : " not in line:
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
    default_route = ("0.0.0.0", "0.0.0.0")  # noqa: S104 - a route, not a bind address
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 3 and tuple(parts[:2]) == default_route \
                and re.match(r"^\d+\.\d+\.\d+\.\d+$", parts[2]):
            return parts[2]
    return None


def parse_key_values(text: str) -> dict[str, str]:
    """``Name=value`` lines (wmic /value, and the PowerShell lines above)."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.strip().partition("=")
        if sep and key:
            values[key.strip()] = value.strip()
    return values


def parse_wmic_domain(text: str) -> tuple[bool | None, str]:
    """(joined, domain) from `wmic computersystem get Domain,PartOfDomain /value` or
    :data:`DOMAIN_SCRIPT`."""
    values = parse_key_values(text)
    part = values.get("PartOfDomain", "").upper()
    domain = values.get("Domain", "")
    if part == "TRUE":
        return True, domain
    if part == "FALSE":
        return False, domain
    return None, domain


_EVENT_FIELDS = ("Log Name", "Source", "Date", "Event ID", "Task", "Level", "Opcode",
                 "Keyword", "User", "User Name", "Computer", "Description")


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
        if m and m.group(1).strip() in _EVENT_FIELDS and key != "Description":
            key = m.group(1).strip()
            current[key] = m.group(2).strip()
        elif key == "Description" and line.strip():
            current[key] = (current[key] + "\n" + line.strip()).strip()
    return events


def event_details(description: str) -> dict[str, str]:
    """The failure reason and the peer's address from an IKE failure event (547 on
    Windows Server 2003, 4652-4654 on later versions)."""
    out: dict[str, str] = {}
    reason = re.search(r"Failure Reason:\s*\n?\s*(.+)", description)
    if reason:
        out["failure_reason"] = reason.group(1).strip()
    peer = (re.search(r"Remote Endpoint:.*?Network Address:\s*(\S+)", description, re.S)
            or re.search(r"IKE Peer Addr\s+(\S+)", description))
    if peer:
        out["peer"] = peer.group(1)
    return out


def parse_policy_version(text: str) -> tuple[bool | None, str]:
    """(up_to_date, policy name) from Detect_IPsec_Policy.vbs output.

    The published script prints ``<computer>: <policy name>`` and then
    ``<computer>: IPsec policy is up-to-date.`` (or ``is not up-to-date.``); an
    ``Assigned policy: <name>`` line is read too.
    """
    name = ""
    for line in text.splitlines():
        value = line.split(":", 1)[1].strip() if ":" in line else ""
        lowered = line.lower()
        if not value or "up-to-date" in lowered or "error #" in lowered \
                or "windows script host" in lowered or "version" in line.split(":", 1)[0]:
            continue
        if re.match(r"^\s*(assigned|current)?\s*(ipsec )?policy( name)?\s*:", lowered) \
                or re.match(r"^\S+: ", line):
            name = value
    if re.search(r"IPsec policy is not up-to-date", text, re.IGNORECASE):
        return False, name
    if re.search(r"IPsec policy is up-to-date", text, re.IGNORECASE):
        return True, name
    return None, name


def parse_reg_query(text: str) -> dict[str, str]:
    """Value name -> data from `reg query KEY [/v NAME]` (REG_SZ/REG_DWORD as printed)."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        m = re.match(r"^\s+(.+?)\s+(REG_[A-Z_]+)\s*(.*)$", line)
        if m:
            values[m.group(1)] = m.group(3).strip()
    return values


def parse_sc_query_state(text: str) -> str | None:
    """RUNNING / STOPPED / ... from `sc query NAME`."""
    m = re.search(r"STATE\s*:\s*\d+\s+(\w+)", text)
    return m.group(1).upper() if m else None


def parse_nslookup(text: str) -> tuple[str | None, list[str], str | None]:
    """(server that answered, addresses found, error) from Windows `nslookup NAME`."""
    server = None
    addresses: list[str] = []
    seen_name = in_addresses = False
    error = None
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key, value = key.strip(), value.strip()
        if line.startswith("***"):
            error = line.strip("* ").strip()
            in_addresses = False
        elif in_addresses and line[:1].isspace() and line.strip():
            addresses.append(line.strip())  # continuation of "Addresses:"
        elif key == "Server" and server is None:
            server = value
        elif key == "Address" and not seen_name and server is not None and value:
            server = f"{server} ({value})" if value != server else server
        elif key == "Name":
            seen_name = True
        elif key in ("Address", "Addresses") and seen_name and value:
            addresses.append(value)
            in_addresses = True
        else:
            in_addresses = False
    return server, addresses, error
