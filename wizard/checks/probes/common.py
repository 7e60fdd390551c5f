"""What every probe module shares: the result constants, one probe's time budget,
running steps at once, and renaming a result."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TypeVar

from wizard.checks.base import ProbeResult, ProbeStatus

OK, FAIL, ERROR, UNAVAILABLE, TIMEOUT = (ProbeStatus.OK, ProbeStatus.FAIL, ProbeStatus.ERROR,
                                         ProbeStatus.UNAVAILABLE, ProbeStatus.TIMEOUT)
#: Tried at once when there is no ping program: any answer, even a refusal, proves the
#: host is up. SMB, RPC, NetBIOS, web, SSH, RDP.
FALLBACK_PORTS = (445, 135, 139, 80, 443, 22, 3389)
NOT_HERE = "not available on this platform"

T = TypeVar("T")
R = TypeVar("R")


class Budget:
    """One probe's time: each step gets what is left of it."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.end = time.monotonic() + timeout

    def left(self, floor: float = 0.2) -> float:
        return max(floor, self.end - time.monotonic())


def at_once(func: Callable[[T], R], items: Sequence[T]) -> list[R]:
    """``[func(x) for x in items]``, run concurrently, in order."""
    if len(items) <= 1:
        return [func(x) for x in items]
    from concurrent.futures import ThreadPoolExecutor  # imported when first needed

    with ThreadPoolExecutor(max_workers=min(16, len(items))) as pool:
        return list(pool.map(func, items))


def renamed(result: ProbeResult, probe: str, summary: str | None = None,
            **data: object) -> ProbeResult:
    """A result of one probe reported under another's name."""
    return ProbeResult(probe, result.status, result.summary if summary is None else summary,
                       result.evidence, result.duration, {**result.data, **data})



def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")[:160]

