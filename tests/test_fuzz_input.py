"""A bounded fuzz of the answers-file loader and the organization file: whatever the
file holds, the answer is the checked settings or one TriageError of one line naming
the file, never an internal error.

Budget in CI: ``EXAMPLES`` examples for each of the four properties below (800 files in
all), with no deadline (the machines are shared)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wizard.base.errors import TriageError
from wizard.calls.replay import dry_run, load_answers
from wizard.config.organization import load_org_config

from .helpers.calls import shipped

EXAMPLES = 200
"""Examples per property in CI (four properties: 800 files in all)."""

FUZZ = settings(max_examples=EXAMPLES, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
                    st.text(max_size=20), st.sampled_from(
                        ["yes", "no", "done", "", " ", "10.1.2.3", "-rf", "SEC-12",
                         "a/../../x", "\x1b[31m", "INC0012345", "x" * 600, "{{ x }}",
                         "helpdesk", "caller", "email", "jira", "http://u:p@h"]))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=20)


def _step_keys() -> list[str]:
    keys = sorted(shipped().node_keys())
    return keys[:40] + ["intake.existing_ticket", "intake.caller_machine", "nope.step"]


STEP_KEYS = _step_keys()
answers_doc = st.fixed_dictionaries({}, optional={
    "staffer": values, "on": values,
    "answers": st.one_of(values, st.dictionaries(st.sampled_from(STEP_KEYS), values,
                                                  max_size=8)),
    "notes": st.one_of(values, st.dictionaries(st.sampled_from(STEP_KEYS), values,
                                                max_size=3)),
    "extra": values})

destination = st.fixed_dictionaries(
    {"kind": st.sampled_from(["email", "servicenow", "jira", "zendesk", "webhook", "x"])},
    optional={name: values for name in (
        "url", "to", "from", "smtp_host", "smtp_port", "security", "user", "secret",
        "timeout", "redacted_only", "project", "api_version", "group_id", "headers",
        "fields", "table", "password")})
org_doc = st.fixed_dictionaries({}, optional={
    "organization": values, "dns_suffix": values, "redact_keywords": values,
    "templates_dir": values, "store_url": values,
    "test_servers": st.lists(st.fixed_dictionaries({}, optional={
        "name": values, "address": values, "port": values}), max_size=3),
    "domain_controllers": values,
    "tier2": st.fixed_dictionaries({}, optional={
        "teams": st.one_of(values, st.dictionaries(st.sampled_from(
            ["ipsec_support", "security", "nope"]), values, max_size=3)),
        "groups": values, "default": values,
        "rules": st.lists(st.fixed_dictionaries({}, optional={
            "target": values, "group": values, "category": values}), max_size=2)}),
    "timeouts": st.fixed_dictionaries({}, optional={"default": values, "probes": values}),
    "handoff": st.fixed_dictionaries({}, optional={
        "destinations": st.dictionaries(st.sampled_from(
            ["Tier 2 IPsec support", "IT security", "", "Nobody"]),
            st.one_of(destination, values), max_size=2),
        "retry_base": values, "retry_max": values}),
})
yaml_text = st.one_of(
    st.text(max_size=300),
    st.lists(st.sampled_from(["answers:", "  intake.caller_machine: ", "notes:", "staffer:",
                              " {a: 1}", " [1, 2]", " !!python/name:os.system", " &a x",
                              " *a", "handoff:", "  destinations:", "    IT security:",
                              "      kind: jira", "      url: http://u:p@h", " true",
                              "test_servers:", "  - {name: x, address: 10.0.0.1, port: "
                              "true}", "\t", "- x", ": :", "'", '"\\x', "? k"]),
             max_size=12).map("\n".join))


def _one_line(exc: TriageError, path: Path) -> None:
    message = str(exc)
    assert "\n" not in message and str(path) in message and len(message) < 2000, message


def _answers(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "answers.yaml"
        path.write_text(text, encoding="utf-8")
        try:
            dry_run(shipped(), load_answers(path, shipped()))
        except TriageError as exc:
            _one_line(exc, path)


def _org(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "org.yaml"
        path.write_text(text, encoding="utf-8")
        try:
            load_org_config(path)
        except TriageError as exc:
            _one_line(exc, path)


def _dump(doc: dict[str, Any]) -> str:
    return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)


@FUZZ
@given(answers_doc)
def test_structured_answers_files_are_read_or_refused_in_one_line(doc: dict[str, Any]
                                                                  ) -> None:
    _answers(_dump(doc))


@FUZZ
@given(yaml_text)
def test_answers_file_text_is_read_or_refused_in_one_line(text: str) -> None:
    _answers(text)


@FUZZ
@given(org_doc)
def test_structured_organization_files_are_read_or_refused_in_one_line(
        doc: dict[str, Any]) -> None:
    _org(_dump(doc))


@FUZZ
@given(yaml_text)
def test_organization_file_text_is_read_or_refused_in_one_line(text: str) -> None:
    _org(text)


def test_a_control_character_in_the_file_found_by_the_fuzz_is_one_line_with_its_line(
        tmp_path: Path) -> None:
    for name, load in (("answers.yaml", lambda p: load_answers(p, shipped())),
                       ("org.yaml", load_org_config)):
        path = tmp_path / name
        path.write_text("staffer: sam\nnotes:\n  x: \x1f\n", encoding="utf-8")
        try:
            load(path)
        except TriageError as exc:
            assert str(exc) == (f"{path}:3: YAML error: character #x1f is a control "
                                "character, not allowed in the file")
        else:
            raise AssertionError("not refused")
