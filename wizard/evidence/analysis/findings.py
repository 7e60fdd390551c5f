"""What an analysis finds: its bounds, the findings (peer, mode, failure, how sure) and the
report that counts them, and the values read from events (code, failure point, role,
authentication)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from wizard.base.errors import ExitStatus, TriageError
from wizard.evidence.analysis.codes import _BY_MESSAGE, CODES, _reading

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
