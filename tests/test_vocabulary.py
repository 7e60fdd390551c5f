"""One vocabulary (``wizard.flows.vocabulary``): statuses, categories, teams and hand-off
states are defined once, cover what the rest of the product accepts, and are what the
store, the report and the hand-off show."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import get_args

import pytest

from wizard.config import organization
from wizard.config.handoff import DEST_MODELS
from wizard.config.organization import OrgConfigError, load_org_config
from wizard.flows import vocabulary
from wizard.flows.nodes import Category, Status
from wizard.handoff.outbox import Outcome
from wizard.records import store
from wizard.records.report import Labels

ROOT = Path(__file__).resolve().parents[1]

#: Names only the vocabulary defines.
ONCE = ("STATUS_LABELS", "HANDOFF_LABELS", "KIND_LABELS", "LABELS", "CATEGORIES",
        "DESTINATION_LABELS", "DESTINATION_WORDS", "STATUSES", "OUTCOMES", "HANDOFF_STATUSES",
        "ABANDONED", "OPEN")
PENDING: set[tuple[str, str]] = set()


def _assigned(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in tree.body:
        targets = (node.targets if isinstance(node, ast.Assign)
                   else [node.target] if isinstance(node, ast.AnnAssign) else [])
        names |= {t.id for t in targets if isinstance(t, ast.Name)}
    return names


def test_no_module_defines_the_vocabulary_again() -> None:
    again = sorted(
        f"{path.relative_to(ROOT).as_posix()}: {name}"
        for path in (ROOT / "wizard").rglob("*.py") if path.name != "vocabulary.py"
        for name in _assigned(path) & set(ONCE)
        if (path.relative_to(ROOT).as_posix(), name) not in PENDING)
    assert again == []


def test_statuses_are_the_outcomes_then_abandoned_and_open() -> None:
    assert vocabulary.OUTCOMES == ("fixed_understood", "fixed_unclear", "not_fixed")
    assert vocabulary.STATUSES == ("fixed_understood", "fixed_unclear", "not_fixed",
                                   "abandoned", "open")
    assert vocabulary.STATUS_LABELS == {
        "fixed_understood": "Fixed understood", "fixed_unclear": "Fixed unclear",
        "not_fixed": "Not fixed", "abandoned": "Abandoned", "open": "Still open"}
    assert set(vocabulary.OUTCOMES) == {s.value for s in Status}
    assert (store.ABANDONED, store.OPEN, store.HANDOFF_STATUSES) == (
        vocabulary.ABANDONED, vocabulary.OPEN, vocabulary.HANDOFF_STATUSES)
    assert Labels().of("status", "open") == "Still open"


def test_categories_and_teams_are_the_ones_the_organization_file_names() -> None:
    assert vocabulary.CATEGORIES == ("network", "name_resolution", "application",
                                     "caller_ipsec", "target_ipsec", "server_ipsec")
    # the organization file's type of a category key (a Literal) names the same ids
    assert get_args(organization.Category) == vocabulary.CATEGORIES
    assert set(vocabulary.TEAMS) == set(organization.DEFAULT_TEAMS)
    assert {Category(c).label for c in vocabulary.CATEGORIES} >= {"Application"}


def test_the_organization_file_accepts_the_vocabulary_categories(tmp_path: Path) -> None:
    org = tmp_path / "org.yaml"
    rule = "tier2:\n  rules:\n    - {{target: 'fin-*', group: Finance, category: {}}}\n"
    org.write_text(rule.format("server_ipsec"), encoding="utf-8")
    assert load_org_config(org).tier2.rules[0].category == "server_ipsec"
    org.write_text(rule.format("target"), encoding="utf-8")
    with pytest.raises(OrgConfigError) as err:
        load_org_config(org)
    assert f"'target' is not one of {', '.join(vocabulary.CATEGORIES)}" in str(err.value)


def test_every_destination_kind_has_a_label_and_a_word() -> None:
    assert set(vocabulary.DESTINATION_LABELS) == set(DEST_MODELS)
    assert vocabulary.DESTINATION_WORDS == {
        "email": "e-mail", "servicenow": "ServiceNow", "jira": "Jira", "zendesk": "Zendesk",
        "webhook": "webhook"}
    failed = Outcome(call_id="c1", group="Tier 2 IPsec support", kind="email",
                     status="failed", error="refused")
    assert failed.line() == "Hand-off to Tier 2 IPsec support (e-mail) failed: refused"


def test_hand_off_states_have_labels() -> None:
    assert set(vocabulary.HANDOFF_LABELS) == set(vocabulary.HANDOFF_STATUSES)
