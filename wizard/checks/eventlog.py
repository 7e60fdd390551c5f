"""Windows event logs as the checks read them: `wevtutil qe ... /f:xml` (Windows Vista /
Server 2008 and later) and WMI's Win32_NTLogEvent through `wmic ntevent ... /value`
(Windows XP / Server 2003, which have no wevtutil), and what the events say about
IPsec."""

from __future__ import annotations

from collections.abc import Sequence

EVENT_NS = "{http://schemas.microsoft.com/win/2004/08/events/event}"
MAX_EVENTS_XML = 2_000_000
"""Most characters of `wevtutil qe /f:xml` output read (the query asks for 5 events)."""


class EventsUnreadable(ValueError):
    """wevtutil's XML could not be read (the message says why)."""


def parse_wevtutil_xml(text: str) -> list[dict[str, str]]:
    """Events from `wevtutil qe ... /f:xml`: element names, attributes and the event
    data's names are the event schema's, the same in every display language.

    Each event: ``EventID``, ``TimeCreated`` (SystemTime), ``Provider``, ``Computer``,
    its named ``Data`` values (unnamed ones as param1, param2, ...) and its ``Binary``
    data (hexadecimal) if any. The output is a
    run of ``<Event>`` elements without a root; it is parsed with defusedxml (no DTD,
    no entities), bounded by :data:`MAX_EVENTS_XML`."""
    from xml.etree.ElementTree import ParseError

    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import fromstring

    text = text.strip().lstrip("\ufeff")
    if not text:
        return []
    if len(text) > MAX_EVENTS_XML:
        raise EventsUnreadable(f"more than {MAX_EVENTS_XML} characters of event XML")
    try:
        root = fromstring(f"<Events>{text}</Events>", forbid_dtd=True)
    except (ParseError, DefusedXmlException) as exc:
        raise EventsUnreadable(f"the event XML is not well-formed ({exc})") from None
    events: list[dict[str, str]] = []
    for event in root:
        if event.tag not in (f"{EVENT_NS}Event", "Event"):
            continue
        system = event.find(f"{EVENT_NS}System")
        system = system if system is not None else event.find("System")
        found: dict[str, str] = {}
        if system is not None:
            for child in system:
                name = child.tag.rsplit("}", 1)[-1]
                if name == "EventID":
                    found["EventID"] = (child.text or "").strip()
                elif name == "TimeCreated":
                    found["TimeCreated"] = child.get("SystemTime", "")
                elif name == "Provider":
                    found["Provider"] = child.get("Name", "")
                elif name == "Computer":
                    found["Computer"] = (child.text or "").strip()
        for block in event:
            if block.tag.rsplit("}", 1)[-1] not in ("EventData", "UserData"):
                continue
            unnamed = 0
            binary = block.find(f"{EVENT_NS}Binary")
            binary = binary if binary is not None else block.find("Binary")
            if binary is not None and binary.text:
                found["Binary"] = binary.text.strip()[:512]
            for data in block.iter():
                if data is block or data.tag.rsplit("}", 1)[-1] != "Data":
                    continue
                if not data.get("Name"):
                    unnamed += 1
                key = data.get("Name") or f"param{unnamed}"
                found.setdefault(key, (data.text or "").strip()[:500])
        events.append(found)
    return events


def event_details(event: dict[str, str]) -> dict[str, str]:
    """The failure reason and the peer's address from an IKE failure event's named data
    (4652-4654: FailureReason, RemoteAddress). A reason still in ``%%nnnn`` form (a
    message number, not text) is left out."""
    out: dict[str, str] = {}
    reason = event.get("FailureReason", "")
    if reason and not reason.startswith("%%"):
        out["failure_reason"] = reason
    peer = event.get("RemoteAddress", "")
    if peer and peer != "-":
        out["peer"] = peer
    return out


#: The Win32_NTLogEvent properties read through wmic (names as the class documents them).
WMIC_FIELDS = ("EventCode", "InsertionStrings", "RecordNumber", "SourceName", "TimeGenerated")
MAX_WMIC_EVENTS = 5
"""Most events kept from wmic's answer, newest first (as many as wevtutil is asked for)."""


def wevtutil_argv(log: str, event_ids: Sequence[int]) -> list[str]:
    """`wevtutil qe`: the newest events of ``log`` with one of ``event_ids``, as XML."""
    query = " or ".join(f"EventID={i}" for i in event_ids)
    return ["wevtutil", "qe", log, f"/q:*[System[({query})]]", f"/c:{MAX_WMIC_EVENTS}",
            "/rd:true", "/f:xml"]


def wmic_argv(log: str, event_ids: Sequence[int]) -> list[str]:
    """`wmic ntevent` (WMI's Win32_NTLogEvent): what Windows XP and Server 2003 have to
    read a log from the command line. The WQL filter is one argument (no shell)."""
    codes = " or ".join(f"EventCode={i}" for i in event_ids)
    return ["wmic", "ntevent", "where", f"Logfile='{log}' and ({codes})", "get",
            ",".join(WMIC_FIELDS), "/value"]


def _cim_time(value: str) -> str:
    """A CIM_DATETIME (``yyyymmddHHMMSS.mmmmmm+UUU``) as ``yyyy-mm-ddTHH:MM:SS``."""
    digits = value[:14]
    if len(digits) != 14 or not digits.isdigit():
        return value[:30]
    return (f"{digits[:4]}-{digits[4:6]}-{digits[6:8]}T{digits[8:10]}:{digits[10:12]}:"
            f"{digits[12:14]}")


def _insertion_strings(value: str) -> list[str]:
    """wmic's ``{"a","b"}`` rendering of a string array."""
    import csv

    inner = value.strip()
    if inner.startswith("{") and inner.endswith("}"):
        inner = inner[1:-1]
    if not inner:
        return []
    return [s.strip() for s in next(csv.reader([inner], skipinitialspace=True), [])]


def parse_wmic_events(text: str) -> list[dict[str, str]]:
    """Events from :func:`wmic_argv`'s output (``Name=value`` lines, each instance with
    the same properties, blank lines between), newest first, with the keys
    :func:`parse_wevtutil_xml` gives: ``EventID``, ``TimeCreated``, ``Provider`` and the
    insertion strings as param1, param2, ... Bounded like the XML; "No Instance(s)
    Available." (on standard error) leaves standard output empty: no event."""
    if len(text) > MAX_EVENTS_XML:
        raise EventsUnreadable(f"more than {MAX_EVENTS_XML} characters of wmic output")
    records: list[dict[str, str]] = []
    current: dict[str, str] = {}
    for line in text.replace("\ufeff", "").splitlines():
        key, sep, value = line.strip().partition("=")
        if not sep or key not in WMIC_FIELDS:
            continue  # blank lines: wmic writes CR CR LF, read as one or two line ends
        if key in current:  # every instance lists the same properties: the next one
            records.append(current)
            current = {}
        current[key] = value.strip()
    if current:
        records.append(current)
    events = []
    for rec in records:
        if not rec.get("EventCode", "").isdigit():
            continue
        event = {"EventID": rec["EventCode"], "Provider": rec.get("SourceName", ""),
                 "TimeCreated": _cim_time(rec.get("TimeGenerated", "")),
                 "RecordNumber": rec.get("RecordNumber", "")}
        for i, s in enumerate(_insertion_strings(rec.get("InsertionStrings", "")), 1):
            event[f"param{i}"] = s[:500]
        events.append(event)
    events.sort(key=lambda e: int(e["RecordNumber"]) if e["RecordNumber"].isdigit() else 0,
                reverse=True)
    return events[:MAX_WMIC_EVENTS]


#: Words of the IPsec services' names (service and display names, any Windows): IPSEC
#: Services (Windows Server 2003), IKEEXT, BFE, MpsSvc and PolicyAgent (2008 and later).
#: The same words the server chart's ``named_service`` branch matches a typed name with.
IPSEC_SERVICE_WORDS = ("ikeext", "ike and authip", "bfe", "base filtering", "mpssvc",
                       "firewall", "policyagent", "ipsec")


def failed_service(event: dict[str, str]) -> tuple[str, bool]:
    """The service a Service Control Manager event 7023 ("The %1 service terminated with
    the following error: %2") names, and whether it is one of IPsec's. ``param1`` is
    the display name (translated); the event's binary data is the service's key name
    in UTF-16LE on Windows Vista / Server 2008 and later (the same in every language)."""
    display = event.get("param1", "")
    key = ""
    raw = event.get("Binary", "")
    if raw and len(raw) % 4 == 0:
        try:
            key = bytes.fromhex(raw).decode("utf-16-le").split("\0", 1)[0].strip()
        except (ValueError, UnicodeDecodeError):
            key = ""
    shown = f"{display} ({key})" if display and key and key.lower() != display.lower() \
        else (display or key)
    names = f"{display} {key}".lower()
    return shown, any(word in names for word in IPSEC_SERVICE_WORDS)
