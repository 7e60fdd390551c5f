"""Windows event logs as the checks read them: `wevtutil qe ... /f:xml` (Windows Vista /
Server 2008 and later) and WMI's Win32_NTLogEvent through `wmic ntevent ... /value`
(Windows XP / Server 2003, which have no wevtutil), and what the events say about
IPsec."""

from __future__ import annotations

EVENT_NS = "{http://schemas.microsoft.com/win/2004/08/events/event}"
MAX_EVENTS_XML = 2_000_000
"""Most characters of `wevtutil qe /f:xml` output read (the query asks for 5 events)."""


class EventsUnreadable(ValueError):
    """wevtutil's XML could not be read (the message says why)."""


def parse_wevtutil_xml(text: str) -> list[dict[str, str]]:
    """Events from `wevtutil qe ... /f:xml`: element names, attributes and the event
    data's names are the event schema's, the same in every display language.

    Each event: ``EventID``, ``TimeCreated`` (SystemTime), ``Provider``, ``Computer`` and
    its named ``Data`` values (unnamed ones as param1, param2, ...). The output is a
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
