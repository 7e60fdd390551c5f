"""Guided service halving: find the service(s) whose start breaks the network.

The blog's "selective startup", done properly. Known: with every candidate service
enabled the problem occurs; in safe mode (none of them) it does not. Each round the
staffer enables a set of services, restarts, and reports whether the problem came back.

The search assumes the problem appears once *all* services of some culprit set are
enabled (one service, or two that only fail together). It orders the candidates and
binary-searches the shortest failing prefix: its last service is a culprit. That
service then stays enabled, and the search repeats on the services before it until the
culprit set alone reproduces the problem. One culprit takes about log2(n) restarts; each
further culprit about log2(n) more.

Noisy services (the blog's Error Reporting Service, which makes error reports appear
as soon as it runs) are kept out of the rounds: always disabled, listed apart, to be
tested alone at the end.

The search is a pure function of (services, results so far): resuming between
restarts is replaying the recorded results.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from wizard.base.errors import ExitStatus, TriageError

DEFAULT_NOISY = ("Error Reporting Service", "ERSvc", "WerSvc", "Windows Error Reporting Service")


class HalvingError(TriageError, ValueError):
    """Inconsistent input or results (e.g. the problem occurs with nothing enabled)."""

    status = ExitStatus.USAGE


@dataclass(frozen=True)
class Round:
    """Enable exactly ``enable`` (plus the safe-mode baseline), restart, report."""

    number: int
    enable: tuple[str, ...]
    disable: tuple[str, ...]


@dataclass(frozen=True)
class Verdict:
    culprits: tuple[str, ...]
    rounds: int
    noisy: tuple[str, ...]

    @property
    def together(self) -> bool:
        return len(self.culprits) > 1


def split_noisy(services: Sequence[str], noisy: Sequence[str] = DEFAULT_NOISY
                ) -> tuple[list[str], list[str]]:
    low = {n.lower() for n in noisy}
    keep = [s for s in services if s.lower() not in low]
    apart = [s for s in services if s.lower() in low]
    return keep, apart


def expected_rounds(n: int, culprits: int = 1) -> int:
    """Upper bound on restarts for ``n`` candidates and ``culprits`` culprits."""
    if n <= 0:
        return 0
    return culprits * (math.ceil(math.log2(n)) + 1) + 1


def next_round(services: Sequence[str], results: Sequence[bool],
               noisy: Sequence[str] = DEFAULT_NOISY) -> Round | Verdict:
    """The next restart to do, or the verdict. ``results[i]``: did round i+1 fail?"""
    candidates, apart = split_noisy(_unique(services), noisy)
    if not candidates:
        raise HalvingError("no services to test (all are kept apart as noisy)")
    found: list[str] = []
    pool = list(candidates)  # services still searched, in order
    it = iter(results)
    rounds = 0

    def ask(enabled: list[str]) -> bool | None:
        nonlocal rounds
        try:
            value = next(it)
        except StopIteration:
            return None
        rounds += 1
        return bool(value)

    def round_for(enabled: list[str]) -> Round:
        chosen = set(enabled)
        return Round(rounds + 1, tuple(s for s in candidates if s in chosen),
                     tuple(s for s in candidates if s not in chosen) + tuple(apart))

    while True:
        # does the found set alone (nothing else) reproduce the problem?
        if found:
            alone = ask(found)
            if alone is None:
                return round_for(found)
            if alone:
                _check_done(results, rounds)
                return Verdict(tuple(found), rounds, tuple(apart))
            if not pool:
                raise HalvingError(
                    f"the problem does not occur with {', '.join(found)} enabled, but "
                    "every other service was ruled out: the results contradict each other "
                    "(was a restart result entered wrongly?)"
                )
        # shortest prefix of pool that fails together with `found`: lo..hi inclusive
        lo, hi = 1, len(pool)
        if not found:
            # with everything enabled the problem must occur; check once to be sure
            full = ask(pool)
            if full is None:
                return round_for(pool)
            if not full:
                raise HalvingError(
                    "the problem did not occur with every service enabled: it is not caused "
                    "by these services (or needs a restart more to show)"
                )
        while lo < hi:
            mid = (lo + hi) // 2
            enabled = found + pool[:mid]
            result = ask(enabled)
            if result is None:
                return round_for(enabled)
            if result:
                hi = mid
            else:
                lo = mid + 1
        culprit = pool[lo - 1]
        found.append(culprit)
        pool = pool[: lo - 1]


def _check_done(results: Sequence[bool], used: int) -> None:
    if len(results) > used:
        raise HalvingError(f"{len(results) - used} more result(s) recorded than rounds asked")


def _unique(services: Sequence[str]) -> list[str]:
    seen: dict[str, None] = {}
    for s in services:
        s = s.strip()
        if s and s not in seen:
            seen[s] = None
    return list(seen)
