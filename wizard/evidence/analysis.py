"""Read a packet for Tier 2: which IPsec negotiation failed with which peer, how often,
where, with which IKE/AuthIP error, and what the chapter says that points to.

Reads (one file, or the evidence files of a ``collect`` or collector packet):

- events as ``wevtutil qe ... /f:xml`` prints them (``<Event>`` elements in Microsoft's
  event schema one after another, no root element) or as ``Get-WinEvent | % ToXml()``;
- ``netsh wfp show netevents`` XML (IKEEXT main / quick / extended mode failures);
- ``netsh advfirewall monitor show mmsa`` text (the main mode SAs that are up);
- the 2003 script's ``<CompName>_ipsec_547_events.txt`` (events 547 as text).

XML is parsed with defusedxml (a DTD, entity declarations and external entities are
refused) as a stream: each event is read, counted and dropped, so memory stays flat in
the size of a Security log export. Each finding says how sure it is and rests on the
events it counts; none claims more than they show.
"""

from __future__ import annotations

import codecs
import io
import re
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser, iterparse

from wizard.base.errors import ExitStatus, TriageError

CHAPTER = "001_22559d8488eb8818.txt"
"""The chapter the readings cite (Tier 2 section, lines ~300-1060)."""
MAX_FILE = 4 * 1024 * 1024 * 1024
"""Most bytes read of one file (a Security log export of a busy server is far less)."""
MAX_EVENTS = 20_000_000
MAX_TEXT = 64 * 1024 * 1024
"""Most bytes read of a text file (547 events, SA listings)."""
MAX_FINDINGS = 500
"""Peers x failures kept apart; more are counted under the last one."""


class AnalysisRefused(TriageError):
    """A file is hostile (an XML bomb, external entities): refused, not read."""

    status = ExitStatus.USAGE


# -- IKE / AuthIP error codes (MicrosoftDocs win32 "System Error Codes (12000-15999)") ----

@dataclass(frozen=True)
class Code:
    meaning: str
    cause: str
    messages: tuple[str, ...] = ()
    """The code's message text as the 547 / 4653 reason strings print it (English)."""


CODES: dict[int, Code] = {
    13801: Code("IKE authentication credentials are unacceptable", "auth",
                ("ike authentication credentials are unacceptable",)),
    13802: Code("IKE security attributes are unacceptable", "auth",
                ("ike security attributes are unacceptable",)),
    13805: Code("negotiation timed out", "timeout", ("negotiation timed out",)),
    13806: Code("no valid machine certificate found", "certificate",
                ("ike failed to find valid machine certificate",)),
    13807: Code("IKE SA deleted by peer before establishment completed", "peer_deleted",
                ("ike sa deleted by peer before establishment completed",)),
    13808: Code("IKE SA deleted before establishment completed", "peer_deleted",
                ("ike sa deleted before establishment completed",)),
    13809: Code("negotiation request sat in queue too long", "timeout",
                ("negotiation request sat in queue too long",)),
    13810: Code("negotiation request sat in queue too long", "timeout"),
    13811: Code("negotiation request sat in queue too long", "timeout"),
    13812: Code("negotiation request sat in queue too long", "timeout"),
    13813: Code("no response from peer", "timeout", ("no response from peer",)),
    13814: Code("negotiation took too long", "timeout", ("negotiation took too long",)),
    13815: Code("negotiation took too long", "timeout"),
    13817: Code("certificate revocation check failed", "crl",
                ("certificate revocation check failed",)),
    13820: Code("the machine certificate has no private key", "certificate",
                ("does not have a private key",)),
    13825: Code("no policy configured", "no_policy", ("no policy configured",)),
    13827: Code("failed to authenticate using Kerberos", "kerberos",
                ("failed to authenticate using kerberos",)),
    13847: Code("peer failed to send a valid machine certificate", "certificate",
                ("peer failed to send valid machine certificate",)),
    13848: Code("certificate revocation check of the peer's certificate failed", "crl",
                ("certificate revocation check of peer's certificate failed",)),
    13850: Code("no main mode policy", "no_policy"),
    13855: Code("no Kerberos server credentials", "kerberos"),
    13857: Code("could not get an SPI", "sa"),
    13860: Code("could not add the SA", "sa"),
    13868: Code("policy match error", "no_policy", ("error processing policy match",)),
    13870: Code("hash verification failed", "auth", ("hash verification failed",)),
    13887: Code("the certificate does not chain to a root the policy trusts", "certificate"),
    13910: Code("bad SPI", "bad_spi"),
    13913: Code("replay check failed", "replay"),
    13915: Code("integrity check failed", "integrity"),
    13916: Code("cleartext received where it should have been secured", "cleartext"),
}
_BY_MESSAGE = sorted(((m, c) for c, code in CODES.items() for m in code.messages),
                     key=lambda mc: -len(mc[0]))


@dataclass(frozen=True)
class Reading:
    cause: str
    lines: tuple[str, ...]
    sure: str


def _reading(cause: str, point: str | None, auth: str) -> Reading:
    """The chapter's reading of a failure (lines of :data:`CHAPTER`)."""
    if cause == "timeout":
        text = ("the peer did not answer the negotiation: read the peer's own IPsec events "
                "for the same time (it may have no matching policy, or fail on its side); "
                "check that UDP 500/4500 (and fragments) pass on the path")
        lines = ("655", "324", "874-905")
        if auth == "kerberos":
            text += ("; with Kerberos the first IKE packets are large and are often "
                     "fragmented: a path that drops fragments times out exactly like this")
        return Reading(text, lines, "likely" if point == "me" else "possible")
    if cause == "kerberos":
        return Reading("Kerberos authentication of IKE failed: check that this computer "
                       "reaches a domain controller (DNS, then the DC itself) first, then "
                       "its domain membership and clock", ("308", "726-738"), "likely")
    if cause in ("certificate", "crl"):
        what = ("the certificate revocation list could not be checked (its distribution "
                "point is not reachable)" if cause == "crl" else
                "a machine certificate is missing, has no private key or is not trusted")
        return Reading(f"certificate authentication failed: {what}; the chapter does not "
                       "treat certificates (the reading is the error code's)", ("292",),
                       "likely")
    if cause == "no_policy":
        return Reading("no matching IPsec policy on one side: the policy did not apply "
                       "(Group Policy, group membership) or its filters do not match this "
                       "traffic", ("292", "300-304"), "likely")
    if cause == "auth":
        return Reading("the two sides' authentication methods or security methods do not "
                       "match (or, with a preshared key, the keys differ)", ("292",),
                       "likely")
    if cause == "peer_deleted":
        return Reading("the peer gave up the negotiation: the reason is in the peer's own "
                       "IPsec events", ("655", "324"), "likely")
    if cause == "sa":
        return Reading("the IPsec driver could not set up the SA (policy or filter "
                       "problem, or load)", ("935",), "possible")
    if cause == "integrity":
        return Reading("packets were changed on the way (a device rewrote a protected "
                       "part, or NIC offload): integrity check failures", ("941", "947"),
                       "likely")
    if cause == "bad_spi":
        return Reading("packets arrived for an SA the receiver does not have (bad SPI): a "
                       "rekey race between a fast initiator and a slow responder, or a "
                       "peer that missed a delete", ("992", "994", "1004"), "likely")
    if cause == "replay":
        return Reading("packets arrived twice or out of order (replay check)", ("935",),
                       "possible")
    if cause == "cleartext":
        return Reading("cleartext arrived where IPsec was expected: one side sends in the "
                       "clear (a more specific outbound permit filter) or deleted its SA",
                       ("1028", "1030"), "likely")
    return Reading("the failure code is not one the chapter reads", (), "possible")


# -- what is read -------------------------------------------------------------------------

MODE_OF = {4652: "main", 4653: "main", 4654: "quick", 4983: "extended", 4984: "extended",
           4976: "main", 4977: "quick", 4978: "extended", 547: "main"}
ESTABLISHED = {4650: "main", 4651: "main", 5451: "quick", 4979: "extended",
               4980: "extended", 4981: "extended", 4982: "extended"}
DRIVER = {4960: "integrity", 4961: "replay", 4962: "replay", 4963: "cleartext",
          4965: "bad_spi"}
WFP_DROPS = (5152, 5157)
SERVICE_EVENTS = (7023, 7024)
IPSEC_SERVICES = ("bfe", "ikeext", "mpssvc", "policyagent")
IPSEC_AUDIT_IDS = frozenset([*MODE_OF, *ESTABLISHED, *DRIVER, 4655, 5452, 5453]) - {547}


@dataclass
class Finding:
    peer: str
    mode: str
    failure_point: str | None
    code: int | None
    reason: str
    role: str | None
    likely_cause: str
    sure: str
    lines: tuple[str, ...]
    count: int = 0
    first: str = ""
    last: str = ""
    source: str = ""
    auth: str = ""

    def seen(self, when: str) -> None:
        self.count += 1
        if when and (not self.first or when < self.first):
            self.first = when
        if when and when > self.last:
            self.last = when

    def data(self) -> dict[str, Any]:
        return {"peer": self.peer, "mode": self.mode, "failure_point": self.failure_point,
                "failure_code": self.code, "failure_reason": self.reason, "role": self.role,
                "count": self.count, "first": self.first or None, "last": self.last or None,
                "likely_cause": self.likely_cause, "sure": self.sure,
                "chapter": CHAPTER, "chapter_lines": list(self.lines),
                "source": self.source}


@dataclass
class Report:
    findings: dict[tuple[str, ...], Finding] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    events: int = 0
    ipsec_events: int = 0
    security_files: int = 0
    established: dict[str, set[str]] = field(default_factory=dict)
    """peer -> the roles this computer had in an SA that was set up with it."""

    def add(self, key: tuple[str, ...], make: Finding, when: str) -> None:
        found = self.findings.get(key)
        if found is None:
            if len(self.findings) >= MAX_FINDINGS:
                key = ("more",)
                found = self.findings.setdefault(key, Finding(
                    "(more peers)", "-", None, None, "more failures than are listed",
                    None, "see the events", "possible", ()))
            else:
                found = self.findings[key] = make
        found.seen(when)

    def finish(self) -> list[Finding]:
        """The findings, with the direction and the "audit was off" readings added."""
        out = sorted(self.findings.values(), key=lambda f: (-f.count, f.peer, f.mode))
        for f in out:
            roles = self.established.get(f.peer, set())
            if f.role == "initiator" and "responder" in roles and f.mode in ("main", "quick"):
                f.likely_cause += ("; with this peer, negotiations this computer answers "
                                   "succeed and those it starts fail: the one-way case (the "
                                   "peer cannot authenticate or has no policy back)")
                f.lines = (*f.lines, "314-316")
        if self.security_files and not self.ipsec_events:
            out.append(Finding(
                "-", "-", None, None, "no IPsec audit events in the Security log read", None,
                "IPsec auditing was off (it is off by default) or nothing was negotiated: "
                "collect again with the collector script ('ipsec-triage collector'), which "
                "turns it on for the test as IPsec_Debug.vbs does", "likely", ("204",),
                count=0, source="Security events"))
        return out

    def summary(self, limit: int = 20) -> list[dict[str, Any]]:
        return [f.data() for f in self.finish()[:limit]]

    def data(self) -> dict[str, Any]:
        return {"files": self.files, "events_read": self.events,
                "ipsec_events": self.ipsec_events, "notes": self.notes,
                "findings": [f.data() for f in self.finish()]}

    def text(self) -> str:
        findings = self.finish()
        lines = [f"Read {len(self.files)} file(s), {self.events} event(s), "
                 f"{self.ipsec_events} IPsec event(s)."]
        if not findings:
            lines.append("No failed negotiation, IPsec drop or service failure found.")
        for i, f in enumerate(findings, 1):
            code = f" {f.code}" if f.code else ""
            where = f", failed at {'this computer' if f.failure_point == 'me' else 'the peer'}" \
                if f.failure_point else ""
            role = f", this computer {f.role}" if f.role else ""
            times = f", {f.first} .. {f.last}" if f.first else ""
            lines.append(f"{i}. {f.peer}: {f.mode} mode{where}{role}: {f.reason}{code} "
                         f"({f.count} time(s){times})" if f.mode not in ("-",) else
                         f"{i}. {f.reason}")
            lines.append(f"   likely cause ({f.sure}): {f.likely_cause}")
            if f.lines:
                lines.append(f"   chapter {CHAPTER}, lines {', '.join(f.lines)}")
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines) + "\n"


# -- values -------------------------------------------------------------------------------

def code_of(reason: str) -> int | None:
    """The IKE/AuthIP error code of a reason: a number (13805, 0x35ED, %%13805) or the
    code's message text."""
    text = reason.strip()
    m = re.fullmatch(r"(?:%%)?(?:0x([0-9a-fA-F]+)|(\d+))", text)
    if m:
        value = int(m.group(1), 16) if m.group(1) else int(m.group(2))
        return value if 12000 <= value < 16000 else None
    low = text.lower()
    for message, code in _BY_MESSAGE:
        if message in low:
            return code
    return None


def point_of(value: str) -> str | None:
    v = value.strip().lower()
    if v in ("1", "ipsec_failure_me", "local computer", "me", "local"):
        return "me"
    if v in ("2", "ipsec_failure_peer", "remote computer", "peer", "remote"):
        return "peer"
    return None


def role_of(value: str) -> str | None:
    v = value.strip().lower()
    if "initiator" in v or v == "0":
        return "initiator"
    if "responder" in v or v == "1":
        return "responder"
    return None


def auth_of(value: str) -> str:
    v = value.lower()
    if "kerberos" in v:
        return "kerberos"
    if "cert" in v:
        return "certificate"
    if "preshared" in v or "pre-shared" in v:
        return "psk"
    return ""


def _failure(report: Report, *, peer: str, mode: str, point: str | None, reason: str,
             role: str | None, auth: str, when: str, source: str) -> None:
    code = code_of(reason)
    cause = CODES[code].cause if code in CODES else ""
    shown = CODES[code].meaning if code in CODES else (reason.strip()[:200] or "not given")
    r = _reading(cause, point, auth)
    key = (peer, mode, str(code or shown), point or "", role or "")
    report.add(key, Finding(peer, mode, point, code, shown, role, r.cause, r.sure, r.lines,
                            source=source, auth=auth), when)


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


# -- WFP net events (netsh wfp show netevents) ---------------------------------------------

def read_netevents(raw: IO[bytes], report: Report, source: str) -> None:
    """IKEEXT failures of ``netsh wfp show netevents`` (FWPM_NET_EVENT_IKEEXT_*_FAILURE
    field names)."""
    for item in iter_xml(raw, lambda tag, parent: tag == "item" and parent == "netEvents"):
        kind = ""
        fields: dict[str, str] = {}
        for e in item.iter():
            name = _local(e.tag)
            if name == "type" and not kind:
                kind = (e.text or "").strip()
            elif name in ("failureErrorCode", "failurePoint", "saRole", "mmAuthMethod",
                          "emAuthMethod", "timeStamp", "remoteAddrV4", "remoteAddrV6"):
                fields.setdefault(name, (e.text or "").strip())
        mode = ("main" if "MM_FAILURE" in kind else "quick" if "QM_FAILURE" in kind
                else "extended" if "EM_FAILURE" in kind else "")
        if not mode:
            continue
        report.events += 1
        report.ipsec_events += 1
        _failure(report, peer=fields.get("remoteAddrV4") or fields.get("remoteAddrV6")
                 or "unknown peer", mode=mode,
                 point=point_of(fields.get("failurePoint", "")),
                 reason=fields.get("failureErrorCode", ""),
                 role=role_of(fields.get("saRole", "")),
                 auth=auth_of(fields.get("mmAuthMethod", "") + fields.get("emAuthMethod",
                                                                           "")),
                 when=fields.get("timeStamp", "")[:19], source=f"WFP net event ({source})")


# -- text: netsh advfirewall monitor show mmsa, 547 events -----------------------------------

def _text(raw: IO[bytes]) -> str:
    data = raw.read(MAX_TEXT + 1)
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16", "replace")
    return data.decode("utf-8-sig", "replace")


def read_mmsa(text: str, report: Report) -> None:
    """Main mode SAs that are up: their peers (``Remote IP Address``)."""
    for m in re.finditer(r"(?im)^\s*Remote IP Address\s*:\s*(\S+)", text):
        report.established.setdefault(m.group(1), set()).add("either")


_547_LABELS = ("mode", "peer identity", "filter", "failure point", "failure reason",
               "source ip address", "destination ip address", "date", "time", "extra status")
_547_LINE = re.compile(r"^\s*(" + "|".join(_547_LABELS) + r")\b\s*:?\s*(.*?)\s*$", re.I)


def _547_fields(block: str) -> dict[str, str]:
    """Label: value pairs of one 547 event; a value may be on the line after its label
    (as the event's description prints it)."""
    fields: dict[str, str] = {}
    pending: str | None = None
    for line in block.splitlines():
        m = _547_LINE.match(line)
        if m:
            label, value = m.group(1).lower(), m.group(2)
            pending = None if value else label
            if value:
                fields.setdefault(label, value)
        elif pending and line.strip():
            fields.setdefault(pending, line.strip())
            pending = None
    return fields


def read_547(text: str, report: Report, source: str) -> None:
    """Windows 2000/XP/2003 event 547 (IKE security association negotiation failed)."""
    blocks = re.split(r"(?im)^(?=\s*Event\s*(?:ID|Type)\s*:)", text)
    if len(blocks) <= 1:
        blocks = re.split(r"(?i)(?=IKE security association negotiation failed)", text)
    for block in blocks:
        if "547" not in block and "negotiation failed" not in block.lower():
            continue
        fields = _547_fields(block)
        if "failure reason" not in fields:
            continue
        report.events += 1
        report.ipsec_events += 1
        mode = "quick" if "quick" in fields.get("mode", "").lower() else "main"
        peer = fields.get("destination ip address") or ""
        if not re.fullmatch(r"[0-9a-fA-F.:]+", peer):
            found = re.search(r"(\d{1,3}(?:\.\d{1,3}){3})", fields.get("peer identity", "")
                              + " " + fields.get("filter", ""))
            peer = found.group(1) if found else "unknown peer"
        _failure(report, peer=peer, mode=mode, point=point_of(fields.get("failure point", "")),
                 reason=fields["failure reason"], role=None,
                 auth=auth_of(fields.get("peer identity", "")),
                 when=(fields.get("date", "") + " " + fields.get("time", "")).strip(),
                 source=f"event 547 ({source})")


# -- files and packets ------------------------------------------------------------------

def kind_of(name: str, head: bytes) -> str | None:
    low = name.lower()
    if low.endswith("_ipsec_547_events.txt"):
        return "547"
    probe = head[:4096]
    if probe.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        probe = probe.decode("utf-16", "replace").encode()
    probe = probe.removeprefix(codecs.BOM_UTF8).lstrip()
    probe = re.sub(rb"^(<\?xml[^>]*\?>\s*)?(<!--.*?-->\s*)*", b"", probe, flags=re.S)
    if re.match(rb"<Events?[\s>]", probe) or re.search(rb"<!(DOCTYPE|ENTITY)", probe, re.I):
        # (a DTD is refused when it is read)
        return "events"
    if re.match(rb"<(netEvents|wfpdiag|wfpstate)\b", probe) or (
            low.endswith("netevents.xml") and probe.startswith(b"<")):
        return "netevents"
    if b"Main Mode SA at" in probe or low.endswith("_netsh_mmsa.txt"):
        return "mmsa"
    if re.search(rb"(?i)event(\s*id)?\s*[:=]?\s*547\b", probe) and b"Failure Reason" in probe:
        return "547"
    return None


def read_stream(name: str, raw: IO[bytes], report: Report) -> None:
    """One file (of any kind read here, else noted and left alone)."""
    buffered: Any = raw if hasattr(raw, "peek") else io.BufferedReader(
        raw, 256 * 1024)
    kind = kind_of(name, buffered.peek(4096)[:4096])
    short = Path(name).name
    if kind is None:
        return
    report.files.append(short)
    try:
        if kind == "events":
            read_events(buffered, report, short)
        elif kind == "netevents":
            read_netevents(buffered, report, short)
        elif kind == "mmsa":
            read_mmsa(_text(buffered), report)
        else:
            read_547(_text(buffered), report, short)
    except DefusedXmlException as exc:
        raise AnalysisRefused(f"{short}: refused: the XML declares a DTD or entities "
                              f"({type(exc).__name__}): an XML bomb or external entity, "
                              "not an export of Windows") from None
    except AnalysisRefused as exc:
        raise AnalysisRefused(f"{short}: refused: {exc}") from None
    except RecursionError:
        raise AnalysisRefused(f"{short}: refused: XML nested too deep") from None
    except SyntaxError as exc:  # ParseError: the file is cut or damaged
        report.notes.append(f"{short}: not well-formed XML ({str(exc)[:100]}); read up to "
                            "there")


def analyze_packet(path: Path, report: Report | None = None) -> Report:
    """The evidence files of a packet (zip)."""
    report = report or Report()
    try:
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                if info.is_dir() or info.file_size > MAX_FILE:
                    continue
                with zf.open(info) as fh:
                    read_stream(info.filename, fh, report)
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise TriageError(f"{path.name}: cannot read the packet ({exc})",
                          ExitStatus.USAGE) from None
    return report


def analyze(paths: Iterable[Path]) -> Report:
    """Packets (zip) and files, in one report."""
    report = Report()
    for path in paths:
        try:
            if zipfile.is_zipfile(path):
                analyze_packet(path, report)
                continue
            with open(path, "rb") as fh:
                before = len(report.files)
                read_stream(path.name, fh, report)
                if len(report.files) == before:
                    report.notes.append(f"{path.name}: not a kind of file read here (events "
                                        "XML, WFP net events, mmsa text, 547 events)")
        except OSError as exc:
            raise TriageError(f"{path}: cannot read it: {exc.strerror or exc}",
                              ExitStatus.USAGE) from None
    return report
