"""Events as XML (``wevtutil qe ... /f:xml`` or ``Get-WinEvent | % ToXml()``), read as a
stream with defusedxml."""

from __future__ import annotations

import codecs
import io
import re
from collections.abc import Callable, Iterator
from typing import IO, Any

from defusedxml.ElementTree import DefusedXMLParser, iterparse

from wizard.evidence.analysis.codes import CODES, Reading, _reading
from wizard.evidence.analysis.findings import (
    DRIVER,
    ESTABLISHED,
    IPSEC_AUDIT_IDS,
    IPSEC_SERVICES,
    MAX_EVENTS,
    MAX_FILE,
    MODE_OF,
    SERVICE_EVENTS,
    WFP_DROPS,
    AnalysisRefused,
    Finding,
    Report,
    _failure,
    auth_of,
    point_of,
    role_of,
)

# -- events (XML) -------------------------------------------------------------------------

class _Wrapped(io.RawIOBase):
    """A stream of ``<Event>`` elements (no root) given a root; a leading XML declaration
    and byte-order mark are skipped, UTF-16 is read as UTF-8; at most ``limit`` bytes."""

    def __init__(self, raw: IO[bytes], limit: int) -> None:
        self._raw = raw
        self._limit = limit
        self._read = 0
        head = raw.read(4096)
        self._decoder: codecs.IncrementalDecoder | None = None
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            self._decoder = codecs.getincrementaldecoder("utf-16")()
            head = self._decoder.decode(head).encode()
        head = head.removeprefix(codecs.BOM_UTF8).lstrip()
        if head.startswith(b"<?xml"):
            end = head.find(b"?>")
            head = head[end + 2:].lstrip() if end >= 0 else head
        if re.search(rb"<!(DOCTYPE|ENTITY)", head, re.I):  # also after a comment
            raise AnalysisRefused("the XML declares a DTD (an XML bomb or external "
                                  "entities, not an export of Windows)")
        self._buf = b"<wrapped-events>" + head
        self._done = False

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        while not self._buf and not self._done:
            chunk = self._raw.read(256 * 1024)
            self._read += len(chunk)
            if self._read > self._limit:
                raise AnalysisRefused(f"more than {self._limit // 2**20} MiB of XML")
            if not chunk:
                self._buf = b"</wrapped-events>"
                self._done = True
            elif self._decoder is not None:
                self._buf = self._decoder.decode(chunk).encode()
            else:
                self._buf = chunk
        n = min(len(b), len(self._buf))
        b[:n] = self._buf[:n]
        self._buf = self._buf[n:]
        return n


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def iter_xml(raw: IO[bytes], want: Callable[[str, str], bool], *,
             limit: int = MAX_FILE) -> Iterator[Any]:
    """The elements ``want(tag, parent tag)`` picks (local names), each dropped from the
    tree after use, so memory stays flat whatever the file's size. Rootless or not."""
    stream = io.BufferedReader(_Wrapped(raw, limit), 256 * 1024)
    stack: list[Any] = []
    for event, elem in iterparse(stream, events=("start", "end"), forbid_dtd=True):
        if event == "start":
            stack.append(elem)
            continue
        stack.pop()
        parent = stack[-1] if stack else None
        if parent is not None and want(_local(elem.tag), _local(parent.tag)):
            yield elem
            elem.clear()
            parent.remove(elem)


SERVICE_NAMES = {"base filtering engine": "bfe", "ike and authip ipsec keying modules":
                 "ikeext", "windows firewall": "mpssvc", "windows defender firewall": "mpssvc",
                 "ipsec policy agent": "policyagent"}


def _service_of(data: dict[str, str]) -> str | None:
    """The IPsec service a 7023/7024 event is about: its key name in the event's binary
    data (UTF-16LE, the same in every language), else its English display name."""
    binary = data.get("Binary", "").strip()
    if binary and re.fullmatch(r"[0-9A-Fa-f]+", binary) and len(binary) % 4 == 0:
        key = bytes.fromhex(binary).decode("utf-16-le", "replace").split("\0")[0].lower()
        if key in IPSEC_SERVICES:
            return key
    display = data.get("param1", "").strip().lower()
    return SERVICE_NAMES.get(display) or (display if display in IPSEC_SERVICES else None)


def _peer(data: dict[str, str]) -> str:
    for key in ("RemoteAddress", "RemoteIPAddress", "RemoteIpAddress", "PeerAddress"):
        if data.get(key):
            return data[key].strip()
    return "unknown peer"


class _EventTarget:
    """Parser target for a stream of events: keeps only what an event's analysis needs
    (its id, time and named data), builds no tree, so memory is flat whatever the file's
    size and the work per element is a few comparisons."""

    def __init__(self, report: Report, source: str) -> None:
        self.report = report
        self.source = source
        self.depth = 0
        self.event_depth = 0
        self.text: list[str] = []
        self.key: str | None = None
        self.event_id = 0
        self.when = ""
        self.fields: dict[str, str] = {}
        self.security = False
        self.full = False

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        self.depth += 1
        if self.event_depth == 0:
            if tag.endswith("Event") and (len(tag) == 5 or tag[-6] == "}"):
                self.event_depth = self.depth
                self.event_id, self.when, self.fields = 0, "", {}
            return
        if tag.endswith("}Data") or tag == "Data" or tag.endswith("Binary"):
            self.key = attrs.get("Name") or ("Binary" if tag.endswith("Binary")
                                             else f"param{len(self.fields) + 1}")
            self.text = []
        elif tag.endswith("EventID"):
            self.key = "\0id"
            self.text = []
        elif tag.endswith("TimeCreated"):
            self.when = attrs.get("SystemTime", "")[:19]

    def data(self, text: str) -> None:
        if self.key is not None:
            self.text.append(text)

    def end(self, tag: str) -> None:
        self.depth -= 1
        if self.key is not None:
            value = "".join(self.text)
            if self.key == "\0id":
                try:
                    self.event_id = int(value.strip() or "0")
                except ValueError:
                    self.event_id = 0
            elif len(self.fields) < 64:
                self.fields[self.key] = value[:500]
            self.key = None
        elif self.depth + 1 == self.event_depth:
            self.event_depth = 0
            self.done()

    def done(self) -> None:
        report = self.report
        if self.full:
            return
        report.events += 1
        if report.events > MAX_EVENTS:
            report.notes.append(f"{self.source}: stopped after {MAX_EVENTS} events")
            self.full = True
            return
        event_id = self.event_id
        if event_id in IPSEC_AUDIT_IDS:
            report.ipsec_events += 1
        if 4600 <= event_id < 6500:
            self.security = True
        _event(report, event_id, self.when, self.fields, self.source)

    def close(self) -> None:
        return None


def read_events(raw: IO[bytes], report: Report, source: str) -> None:
    """Events in Microsoft's event schema (rootless or under one root)."""
    target = _EventTarget(report, source)
    parser = DefusedXMLParser(target=target, forbid_dtd=True)
    stream = _Wrapped(raw, MAX_FILE)
    buf = bytearray(256 * 1024)
    try:
        while True:
            n = stream.readinto(buf)
            if not n:
                break
            parser.feed(bytes(buf[:n]))
        parser.close()
    finally:
        if target.security or "security" in source.lower() or "_events_" in source:
            report.security_files += 1


def _event(report: Report, event_id: int, when: str, data: dict[str, str],
           source: str) -> None:
    if event_id in MODE_OF and event_id not in (4976, 4977, 4978):
        _failure(report, peer=_peer(data), mode=MODE_OF[event_id],
                 point=point_of(data.get("FailurePoint", "")),
                 reason=data.get("FailureReason", ""), role=role_of(data.get("Role", "")),
                 auth=auth_of(data.get("MMAuthMethod", "") + data.get("EMAuthMethod", "")),
                 when=when, source=f"event {event_id} ({source})")
    elif event_id in (4976, 4977, 4978):
        r = Reading("the peer sent a negotiation packet this computer could not read (an "
                    "incompatible or damaged IKE packet; fragments lost on the path)",
                    ("324", "905"), "possible")
        report.add((_peer(data), "invalid", str(event_id)), Finding(
            _peer(data), MODE_OF[event_id], None, None, "invalid negotiation packet", None,
            r.cause, r.sure, r.lines, source=f"event {event_id} ({source})"), when)
    elif event_id in ESTABLISHED:
        role = role_of(data.get("Role", ""))
        report.established.setdefault(_peer(data), set()).add(role or "either")
    elif event_id in DRIVER:
        cause = DRIVER[event_id]
        r = _reading(cause, None, "")
        code = {"integrity": 13915, "bad_spi": 13910, "replay": 13913,
                "cleartext": 13916}[cause]
        report.add((_peer(data), "driver", str(event_id)), Finding(
            _peer(data), "driver", None, code, CODES[code].meaning, None, r.cause, r.sure,
            r.lines, source=f"event {event_id} ({source})"), when)
    elif event_id in WFP_DROPS:
        peer = data.get("DestAddress", "") or data.get("SourceAddress", "") or "unknown peer"
        what = "dropped" if event_id == 5152 else "blocked"
        report.add((peer, "wfp", str(event_id)), Finding(
            peer, "filtering", None, None, f"the Windows Filtering Platform {what} packets "
            f"(event {event_id})", None, "a firewall rule, or a connection security rule "
            "that requires IPsec for traffic that was not secured: read the filter named "
            "in the events (netsh wfp show state)", "possible", ("886",),
            source=f"event {event_id} ({source})"), when)
    elif event_id in SERVICE_EVENTS:
        name = _service_of(data)
        if name is None:
            return
        report.add(("service", name), Finding(
            name, "service", None, None, f"service {name} stopped or did not start "
            f"(event {event_id})", None, "IPsec cannot work while this service is down "
            "(IKEEXT needs BFE; PolicyAgent applies the policy): start it and read the "
            "System log for why it stopped", "certain", (),
            source=f"event {event_id} ({source})"), when)
    elif event_id == 5453:
        report.add(("service", "ikeext-5453"), Finding(
            "-", "service", None, None, "an IPsec negotiation could not start because the "
            "IKEEXT service is not running (event 5453)", None, "start the 'IKE and AuthIP "
            "IPsec Keying Modules' service (IKEEXT)", "certain", (),
            source=f"event 5453 ({source})"), when)
