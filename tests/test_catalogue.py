"""The known-issues catalogue: valid, every entry reachable, shown and put in the ticket."""

from __future__ import annotations

from pathlib import Path

import pytest

from wizard.base.documents import DocumentError
from wizard.calls.engine import Engine
from wizard.calls.journal import AnswerRecord, CallState
from wizard.calls.known_issues import matches
from wizard.checks.base import ProbeResult, ProbeStatus
from wizard.flows.catalogue import Catalogue, load_catalogue

from .helpers.calls import ROOT, replay, shipped

CATALOGUE = shipped().catalogue
assert isinstance(CATALOGUE, Catalogue)
ENTRIES = {e.id: e for e in CATALOGUE.entries}


def test_catalogue_covers_the_symptoms_the_sources_name() -> None:
    assert {"event_547", "event_4268", "event_4284", "event_4285", "event_4292",
            "negotiating_ip_security", "autoconfig_address"} <= set(ENTRIES)


@pytest.mark.parametrize("entry_id", sorted(ENTRIES))
def test_each_rule_of_each_entry_matches(entry_id: str) -> None:
    fs = shipped()
    entry = ENTRIES[entry_id]
    for rule in entry.match:
        state = CallState(call_id="x")
        if rule.step is not None:
            state.answers[rule.step] = AnswerRecord(rule.step, rule.value or "", "t")
        elif rule.probe is not None:
            state.probes["k"] = ProbeResult(
                rule.probe, ProbeStatus(rule.status or "ok"), "summary", "",
                0.1, dict(rule.data or {}))
        else:
            state.notes["intake.caller_name"] = [f"caller reads: {rule.text} (twice)"]
        hits = [h.entry.id for h in matches(CATALOGUE, state, fs)]
        assert entry_id in hits, rule


def test_step_rules_only_count_on_the_current_route() -> None:
    state = CallState(call_id="x")
    state.answers["fig7_1.net_autoconfig"] = AnswerRecord("fig7_1.net_autoconfig", "yes", "t")
    assert matches(CATALOGUE, state, shipped(), route=["fig7_1.net_autoconfig"])
    assert not [h for h in matches(CATALOGUE, state, shipped(), route=[])
                if h.entry.id == "autoconfig_address"]


def test_phone_numbers_do_not_trigger_event_numbers() -> None:
    state = CallState(call_id="x")
    state.answers["intake.caller_contact"] = AnswerRecord("intake.caller_contact",
                                                          "+1 555 4292", "t")
    assert matches(CATALOGUE, state, shipped()) == []


def test_a_route_showing_a_symptom_names_it_in_the_ticket(tmp_path: Path) -> None:
    answers = next(a for a, s in Engine(shipped()).paths()
                   if a.get("fig7_1.net_autoconfig") == "yes")
    call, _, tickets = replay(answers, tmp_path)
    assert "autoconfig_address" in call.state.known_issues
    assert "## Known issues matched" in tickets["md"]
    assert "Auto-configuration address 169.254.x.x" in tickets["txt"]


def test_every_entry_with_a_step_rule_is_reachable_by_some_route() -> None:
    routes = [a for a, _ in Engine(shipped()).paths()]
    for entry in CATALOGUE.entries:
        for rule in entry.match:
            if rule.step:
                assert any(a.get(rule.step) == rule.value for a in routes), (entry.id, rule)


def test_bad_catalogue_is_reported_with_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "known_issues.yaml"
    text = (ROOT / "flowcharts" / "catalogue" / "known_issues.yaml").read_text()
    path.write_text(text.replace("step: fig7_1.net_autoconfig", "step: fig7_1.net_autoconf"))
    with pytest.raises(DocumentError, match=r"known_issues.yaml:\d+: entry 'autoconfig_address'"
                                            r": unknown step 'fig7_1.net_autoconf' \(did you"):
        load_catalogue(path, shipped())
    path.write_text(text.replace("tier1_says:", "tier1_sez:", 1))
    with pytest.raises(DocumentError, match="unknown field 'tier1_sez'"):
        load_catalogue(path, shipped())
