"""Parsers for the output of Windows commands (tested on captured output) and the
fixed command lines that produce it."""

from __future__ import annotations

import ipaddress
import re
from typing import NamedTuple

from wizard.checks.eventlog import EVENT_NS as EVENT_NS  # re-exported: callers read windows.*
from wizard.checks.eventlog import MAX_EVENTS_XML as MAX_EVENTS_XML
from wizard.checks.eventlog import EventsUnreadable as EventsUnreadable
from wizard.checks.eventlog import event_details as event_details
from wizard.checks.eventlog import parse_wevtutil_xml as parse_wevtutil_xml
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

#: PowerShell printing domain membership as JSON (wmic is gone from current Windows
#: releases; its ``/value`` output is the fallback on Windows XP / Server 2003, which have
#: no PowerShell). Property names and JSON booleans read the same in every display
#: language.
DOMAIN_SCRIPT = (
    "Get-CimInstance -ClassName Win32_ComputerSystem|"
    "Select-Object Domain,PartOfDomain|ConvertTo-Json -Compress"
)

#: Get-DnsClientServerAddress (Windows 8 / Server 2012 and later): every interface's DNS
#: servers as JSON (MSFT_DNSClientServerAddress: InterfaceAlias, AddressFamily,
#: ServerAddresses).
DNS_SERVERS_SCRIPT = (
    "ConvertTo-Json -Compress -InputObject @(Get-DnsClientServerAddress|"
    "Select-Object InterfaceAlias,AddressFamily,ServerAddresses)"
)

#: Only these characters reach a PowerShell text (validate_host allows no others; this
#: is checked again where a host is put into a script, inside single quotes).
_SCRIPT_SAFE = re.compile(r"[A-Za-z0-9.:%_-]{1,255}")


def _quoted(host: str) -> str:
    """``host`` in single quotes for a script (no double quotes anywhere in the scripts:
    Windows' command-line quoting would have to carry them)."""
    if not _SCRIPT_SAFE.fullmatch(host):
        raise ValueError(f"{host!r} cannot be put into a PowerShell command")
    return f"'{host}'"


def ping_status_script(host: str, wait_ms: int) -> str:
    """One echo request through WMI's Win32_PingStatus, as JSON: StatusCode and
    PrimaryAddressResolutionStatus are numbers in every display language. (Test-Connection
    of Windows PowerShell 5.1 wraps this class but reports a failed ping as an error
    whose text is localized, so the class is asked directly.)"""
    quoted = _quoted(host).replace("'", "''")  # inside a single-quoted string
    return (
        "$ErrorActionPreference='Stop';"
        "$p=Get-CimInstance -ClassName Win32_PingStatus -Filter "
        f"('Address={quoted} AND Timeout={max(1, int(wait_ms))}');"
        "$p|Select-Object Address,ProtocolAddress,StatusCode,"
        "PrimaryAddressResolutionStatus,ResponseTime|ConvertTo-Json -Compress"
    )


def resolve_script(name: str) -> str:
    """Resolve-DnsName -DnsOnly (Windows 8 / Server 2012 and later) as JSON, with this
    computer's DNS servers; a failure comes back as its FullyQualifiedErrorId (a fixed
    identifier such as ``DNS_ERROR_RCODE_NAME_ERROR,...``, not a localized message)."""
    return (
        "$ErrorActionPreference='Stop';"
        "$s=@(Get-DnsClientServerAddress|ForEach-Object {$_.ServerAddresses});"
        f"try{{$r=@(Resolve-DnsName -Name {_quoted(name)} -DnsOnly|"
        "Select-Object Name,Type,Section,IPAddress,NameHost);"
        "ConvertTo-Json -Compress -Depth 3 -InputObject @{records=$r;servers=$s}}"
        "catch{ConvertTo-Json -Compress -InputObject "
        "@{error=$_.FullyQualifiedErrorId;message=$_.Exception.Message;servers=$s}}"
    )


#: Win32_PingStatus StatusCode values (the class's documentation) -> what they mean.
PING_STATUS = {
    11002: "Destination net unreachable", 11003: "Destination host unreachable",
    11004: "Destination protocol unreachable", 11005: "Destination port unreachable",
    11010: "Request timed out", 11013: "TTL expired in transit",
    11018: "Bad destination", 11032: "Negotiating IP Security",
    11050: "General failure",
}
NEGOTIATING_IPSEC = 11032


MAX_JSON = 1_000_000
"""Most characters of PowerShell JSON read (a few objects are expected)."""


def load_json(text: str) -> object:
    """PowerShell's ConvertTo-Json output; None when it is empty, too long or not JSON."""
    text = text.strip().lstrip("\ufeff")
    if not text or len(text) > MAX_JSON:
        return None
    import json

    try:
        return json.loads(text)
    except ValueError:
        return None


def _objects(value: object) -> list[dict[str, object]]:
    """ConvertTo-Json gives one object for one item and a list for several."""
    items = value if isinstance(value, list) else [value]
    return [item for item in items if isinstance(item, dict)]


def _address_text(value: object) -> str:
    return value.split("%", 1)[0].strip() if isinstance(value, str) else ""


class PingStatus(NamedTuple):
    """One Win32_PingStatus answer (None: PowerShell gave none that could be read)."""

    code: int | None
    resolution: int
    address: str
    time_ms: int | None


def parse_ping_status(text: str) -> PingStatus | None:
    """The JSON of :func:`ping_status_script`."""
    found = _objects(load_json(text))
    if not found:
        return None
    item = found[0]
    code, resolution, rtt = (item.get(k) for k in ("StatusCode",
                                                   "PrimaryAddressResolutionStatus",
                                                   "ResponseTime"))
    if not isinstance(resolution, int):
        resolution = 0
    if not isinstance(code, int):
        if resolution == 0:
            return None  # neither a status nor a failed name lookup: nothing to go on
        code = None
    return PingStatus(code, resolution, _address_text(item.get("ProtocolAddress")),
                      rtt if isinstance(rtt, int) else None)


#: The site-local addresses Windows lists as IPv6 DNS servers where none is configured
#: (fec0:0:0:ffff::1 to ::3, deprecated by RFC 3879): nothing answers there.
DEFAULT_SITE_LOCAL_DNS = ("fec0:0:0:ffff::1", "fec0:0:0:ffff::2", "fec0:0:0:ffff::3")


def parse_dns_client_servers(text: str) -> list[str] | None:
    """DNS server addresses from :data:`DNS_SERVERS_SCRIPT` (None: no JSON to read),
    without :data:`DEFAULT_SITE_LOCAL_DNS`."""
    value = load_json(text)
    if value is None:
        return None
    servers: list[str] = []
    for item in _objects(value):
        listed = item.get("ServerAddresses")
        for address in listed if isinstance(listed, list) else [listed]:
            shown = _address_text(address)
            if shown and shown not in servers and shown.lower() not in DEFAULT_SITE_LOCAL_DNS:
                servers.append(shown)
    return servers


class Resolved(NamedTuple):
    addresses: list[str]
    servers: list[str]
    error: str
    """FullyQualifiedErrorId's first part (e.g. DNS_ERROR_RCODE_NAME_ERROR), "" if none."""
    message: str


#: Resolve-DnsName's record types (DNS RR type numbers, as ConvertTo-Json writes the
#: enum) that carry an address, and its Section value for the answer section.
ADDRESS_TYPES, ANSWER_SECTION = (1, 28), 1
#: FullyQualifiedErrorId prefixes -> what the staffer reads.
RESOLVE_ERRORS = {
    "DNS_ERROR_RCODE_NAME_ERROR": "the name does not exist (NXDOMAIN)",
    "DNS_INFO_NO_RECORDS": "the name has no address records",
    "DNS_ERROR_RCODE_SERVER_FAILURE": "the DNS server failed (SERVFAIL)",
    "DNS_ERROR_RCODE_REFUSED": "the DNS server refused the query",
    "ERROR_TIMEOUT": "no DNS server answered in time",
    "WIN32 1460": "no DNS server answered in time",
}


def parse_resolve(text: str) -> Resolved | None:
    """The JSON of :func:`resolve_script` (None: no JSON to read)."""
    found = _objects(load_json(text))
    if not found:
        return None
    item = found[0]
    listed = item.get("servers")
    servers = [s for s in (_address_text(a) for a in (listed if isinstance(listed, list)
                                                      else [listed])) if s]
    servers = list(dict.fromkeys(servers))
    error = item.get("error")
    if isinstance(error, str) and error:
        message = item.get("message")
        return Resolved([], servers, error.split(",", 1)[0].strip(),
                        message.strip() if isinstance(message, str) else "")
    addresses: list[str] = []
    for record in _objects(item.get("records")):
        address = _address_text(record.get("IPAddress"))
        if record.get("Type") in ADDRESS_TYPES and record.get("Section") in (
                ANSWER_SECTION, None) and address and address not in addresses:
            addresses.append(address)
    return Resolved(addresses, servers, "", "")


_TTL = re.compile(r"TTL=\d+", re.IGNORECASE)
#: A round-trip time as ping prints it in a reply line (``time=1ms``, ``Zeit<1ms``): the
#: word before it is localized, the ``=``/``<`` digits ``ms`` are not.
_RTT = re.compile(r"([=<])(\d+)\s?ms\b", re.IGNORECASE)
_FAILURES = ("could not find host", "Destination host unreachable",
             "Destination net unreachable", "Request timed out", "General failure",
             "Transmit failed", "TTL expired in transit")


def _ping_address(text: str) -> str:
    """The address ping sent to: the first address on its first line (``[10.1.2.3]``
    after a name, or the address itself), in any display language."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    for token in first.split():
        candidate = token.strip("[]:,")
        try:
            return str(ipaddress.ip_address(candidate.split("%", 1)[0]))
        except ValueError:
            continue
    return ""


def parse_ping(text: str, returncode: int | None = 0) -> PingOutcome:
    """One Windows ``ping -n 1`` run, decided on what reads the same in every display
    language: the exit status (0 when a reply came back) and a reply line, which holds
    ``TTL=`` (IPv4) or the target's address and a time in ms (IPv6).

    Without a reply, the English texts are the fallback ("Negotiating IP Security."
    takes the place of a reply while IKE negotiates: the IPsec policy matched ICMP).
    Text in another language is not recognised: ``recognised`` is False and the summary
    says so, never "no reply" as if it were known why.
    """
    address = _ping_address(text)
    lowered = text.lower()
    negotiating = "negotiating ip security" in lowered
    reply = None
    if returncode in (0, None):
        for line in text.splitlines():
            if _TTL.search(line) or (address and address in line and _RTT.search(line)
                                     and not line.rstrip().endswith(":")):
                reply = line
                break
    if reply is not None:
        rtt = _RTT.search(reply)
        shown = ("<" if rtt.group(1) == "<" else "") + rtt.group(2) if rtt else ""
        summary = f"replied ({shown} ms)" if rtt else "replied"
        if negotiating:
            summary += "; first showed \"Negotiating IP Security\""
        return PingOutcome(True, summary, address, negotiating)
    if negotiating:
        return PingOutcome(False, "no reply: \"Negotiating IP Security\" (IKE is negotiating "
                           "with the target)", address, True)
    for marker in _FAILURES:
        if marker.lower() in lowered:
            return PingOutcome(False, marker, address)
    return PingOutcome(False, "no reply, and ping's text was not recognised (not English?): "
                       "whether it showed \"Negotiating IP Security\" is not known",
                       address, recognised=False)


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


#: ``ipconfig /all`` read, but its labels not recognised (not English): no servers
#: found says nothing then.
IPCONFIG_NOT_RECOGNISED = "ipconfig /all (its text not recognised: not English?)"


def ipconfig_source(text: str) -> str:
    """What :meth:`System.windows_dns_servers` says it read from ``ipconfig /all``."""
    if "Windows IP Configuration" in text:
        return "ipconfig /all (English labels)"
    return IPCONFIG_NOT_RECOGNISED


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
    """(joined, domain) from :data:`DOMAIN_SCRIPT`'s JSON, or from
    `wmic computersystem get Domain,PartOfDomain /value` (Windows XP / Server 2003)."""
    found = _objects(load_json(text))
    if found:
        part, domain = found[0].get("PartOfDomain"), found[0].get("Domain")
        return (part if isinstance(part, bool) else None,
                domain if isinstance(domain, str) else "")
    values = parse_key_values(text)
    part_text = values.get("PartOfDomain", "").upper()
    domain_text = values.get("Domain", "")
    if part_text == "TRUE":
        return True, domain_text
    if part_text == "FALSE":
        return False, domain_text
    return None, domain_text


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


#: The service states of the service control manager (winsvc.h SERVICE_STOPPED = 1 ...
#: SERVICE_PAUSED = 7): `sc query` prints the number before the name.
SERVICE_STATES = {1: "STOPPED", 2: "START_PENDING", 3: "STOP_PENDING", 4: "RUNNING",
                  5: "CONTINUE_PENDING", 6: "PAUSE_PENDING", 7: "PAUSED"}
#: sc's exit status (the Win32 error) when there is no such service.
ERROR_SERVICE_DOES_NOT_EXIST = 1060
_SC_STATE = re.compile(r"^\s*\S[^:]*:\s*([1-7])\s+(?:" + "|".join(SERVICE_STATES.values())
                       + r")\b", re.MULTILINE)


def parse_sc_query_state(text: str) -> str | None:
    """RUNNING / STOPPED / ... from `sc query NAME`, by the state's number (the label
    before it is localized on some Windows; the number is not)."""
    m = _SC_STATE.search(text)
    return SERVICE_STATES[int(m.group(1))] if m else None


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
