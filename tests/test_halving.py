"""Service halving finds the culprit(s) in about log2(n) restarts, for any position."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wizard.halving.search import (
    HalvingError,
    Round,
    Verdict,
    expected_rounds,
    next_round,
)


def simulate(services: Sequence[str], culprits: set[str]) -> Verdict:
    """Play the staffer: restart with the asked set; the problem occurs when all
    culprits are enabled."""
    results: list[bool] = []
    for _ in range(10 * len(services) + 10):
        step = next_round(services, results)
        if isinstance(step, Verdict):
            return step
        assert isinstance(step, Round)
        assert step.number == len(results) + 1
        assert set(step.enable).isdisjoint(step.disable)
        results.append(culprits <= set(step.enable))
    raise AssertionError("did not finish")


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=1, max_value=400).flatmap(
    lambda n: st.tuples(st.just(n), st.integers(min_value=0, max_value=n - 1))))
def test_one_culprit_anywhere(case: tuple[int, int]) -> None:
    n, pos = case
    services = [f"svc{i:03d}" for i in range(n)]
    verdict = simulate(services, {services[pos]})
    assert verdict.culprits == (services[pos],)
    assert verdict.rounds <= expected_rounds(n, 1)


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=2, max_value=400).flatmap(
    lambda n: st.tuples(st.just(n), st.sets(st.integers(0, n - 1), min_size=2, max_size=2))))
def test_two_services_that_fail_only_together(case: tuple[int, set[int]]) -> None:
    n, positions = case
    services = [f"svc{i:03d}" for i in range(n)]
    culprits = {services[p] for p in positions}
    verdict = simulate(services, culprits)
    assert set(verdict.culprits) == culprits
    assert verdict.together
    assert verdict.rounds <= expected_rounds(n, 2)


def test_log2_rounds_for_a_hundred_services() -> None:
    services = [f"svc{i}" for i in range(128)]
    assert simulate(services, {"svc77"}).rounds == 1 + 7 + 1


def test_noisy_service_is_kept_apart_and_always_disabled() -> None:
    services = ["Alerter", "Error Reporting Service", "IPSEC Services", "DNS Server"]
    step = next_round(services, [])
    assert isinstance(step, Round)
    assert "Error Reporting Service" not in step.enable
    assert "Error Reporting Service" in step.disable
    verdict = simulate(services, {"IPSEC Services"})
    assert verdict.culprits == ("IPSEC Services",)
    assert verdict.noisy == ("Error Reporting Service",)


def test_contradictory_results_are_reported() -> None:
    with pytest.raises(HalvingError, match="did not occur with every service enabled"):
        next_round(["a", "b"], [False])
    with pytest.raises(HalvingError, match="more result"):
        next_round(["a"], [True, True, True, True])
