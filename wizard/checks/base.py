"""The contract between the flowchart engine and the automatic checks.

A *probe* is a named, declared check that runs on the machine the wizard runs on.
It never raises: whatever happens (timeout, missing binary, wrong platform, bad
argument) it returns a :class:`ProbeResult`, and the question it pre-fills is then
asked as usual. Probes reach the operating system only through a :class:`System`
object, so tests can pass one that talks to loopback, and Windows-only facts can be
fed captured output.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any


class ProbeStatus(str, enum.Enum):
    """Outcome of one probe run.

    ``ok`` and ``fail`` are conclusive (the thing tested works / does not work);
    the others mean the probe could not tell and the question must be asked.
    """

    OK = "ok"
    FAIL = "fail"
    TIMEOUT = "timeout"
    ERROR = "error"
    UNAVAILABLE = "unavailable"

    @property
    def conclusive(self) -> bool:
        return self in (ProbeStatus.OK, ProbeStatus.FAIL)


@dataclass(frozen=True)
class ProbeResult:
    probe: str
    status: ProbeStatus
    summary: str
    """One line a help-desk user can read out, e.g. ``"10.0.0.5 replied (3 of 3, 1.2 ms)"``."""
    evidence: str = ""
    """Raw text (command output, addresses found) kept in the call record and ticket."""
    duration: float = 0.0
    data: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "probe": self.probe,
            "status": self.status.value,
            "summary": self.summary,
            "evidence": self.evidence,
            "duration": round(self.duration, 3),
            "data": dict(self.data),
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> ProbeResult:
        return cls(
            probe=str(raw["probe"]),
            status=ProbeStatus(raw["status"]),
            summary=str(raw.get("summary", "")),
            evidence=str(raw.get("evidence", "")),
            duration=float(raw.get("duration", 0.0)),
            data=dict(raw.get("data") or {}),
        )


@dataclass(frozen=True)
class ProbeSpec:
    """Declaration of a probe: what it needs and where it applies."""

    name: str
    description: str
    params: tuple[str, ...]
    func: Callable[..., ProbeResult]
    platforms: tuple[str, ...] = ("linux", "win32", "darwin")
    default_timeout: float = 5.0


def timed(probe: str, start: float, status: ProbeStatus, summary: str, evidence: str = "",
          **data: Any) -> ProbeResult:
    """Build a result whose duration runs from ``start`` (a ``time.monotonic()`` value)."""
    return ProbeResult(probe, status, summary, evidence, time.monotonic() - start, data)
