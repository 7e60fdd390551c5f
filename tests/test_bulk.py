"""Big flowchart sets are built with the cycle collector paused, and it runs again after."""

from __future__ import annotations

import gc

import pytest

from wizard.base.bulk import without_cycle_collection
from wizard.flows import flowset


def test_the_collector_is_paused_while_building_and_back_after_even_on_a_failure() -> None:
    seen: list[bool] = []

    @without_cycle_collection
    def build(fail: bool) -> int:
        seen.append(gc.isenabled())
        if fail:
            raise ValueError("bad chart")
        return 7

    assert gc.isenabled()
    assert build(False) == 7
    with pytest.raises(ValueError, match="bad chart"):
        build(True)
    assert seen == [False, False] and gc.isenabled()
    gc.disable()  # a caller that paused it itself keeps it paused
    try:
        build(False)
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_loading_checking_and_counting_routes_pause_it() -> None:
    for fn in (flowset._load_files, flowset.lint, flowset.route_count):
        assert fn.__wrapped__ is not None  # type: ignore[attr-defined]
