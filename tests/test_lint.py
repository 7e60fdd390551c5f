"""`ipsec-triage lint` and flowchart loading catch each defect they claim to."""

from __future__ import annotations

from pathlib import Path

import pytest

from wizard.flows.flowset import FlowchartError, load_flowset

from .helpers.run import cli_env, run_cli

GOOD = """\
id: main
title: Test chart
version: "1"
source: test document
entry: true
start: ask
nodes:
  ask:
    kind: yesno
    text: Does it work?
    source: a passage
    yes: fixed
    no: broken
  fixed:
    kind: terminal
    status: fixed_understood
    category: network
    text: Fixed
    source: a passage
  broken:
    kind: terminal
    status: not_fixed
    category: network
    tier2: true
    team: network_operations
    text: Escalated
    source: a passage
"""


def problems(tmp_path: Path, text: str, extra: dict[str, str] | None = None) -> list[str]:
    (tmp_path / "main.yaml").write_text(text)
    for name, body in (extra or {}).items():
        (tmp_path / name).write_text(body)
    try:
        load_flowset(tmp_path)
    except FlowchartError as exc:
        return [str(p) for p in exc.problems]
    return []


def test_good_chart_has_no_problems(tmp_path: Path) -> None:
    assert problems(tmp_path, GOOD) == []


CASES = [
    ("yaml syntax", GOOD.replace("    text: Does it work?", "    text: [unclosed"),
     "main.yaml:11: YAML error"),
    ("unknown field", GOOD.replace("    yes: fixed", "    yes: fixed\n    txet: fixed"),
     "main.yaml:13: node 'ask': unknown field 'txet' (did you mean 'text'?)"),
    ("unknown field suggestion top", GOOD.replace("start: ask", "start: ask\nstrat: ask"),
     "unknown field 'strat' (did you mean 'start'?)"),
    ("dangling link", GOOD.replace("    yes: fixed", "    yes: fixd"),
     "main.yaml:12: node 'ask': link 'fixd': node 'fixd' not found (did you mean 'fixed'?)"),
    ("dangling chart", GOOD.replace("    yes: fixed", "    yes: other.x"),
     "node 'ask': link 'other.x': chart 'other' not found"),
    ("unreachable", GOOD + """  orphan:
    kind: terminal
    status: fixed_unclear
    category: network
    text: Orphan
    source: a passage
""", "main.yaml:28: node 'orphan': unreachable from the start of the call"),
    ("loop with no way out", GOOD.replace("    no: broken", "    no: spin") + """  spin:
    kind: action
    text: Again
    source: a passage
    next: spin2
  spin2:
    kind: note
    text: and again
    source: a passage
    next: spin
""", "node 'spin': no path from here ends with a status"),
    ("missing status", GOOD.replace("    status: fixed_understood\n", ""),
     "main.yaml:14: node 'fixed': missing required field 'status'"),
    ("bad status", GOOD.replace("status: fixed_understood", "status: fixed_maybe"),
     "node 'fixed': field 'status': 'fixed_maybe'"),
    ("not fixed without escalation", GOOD.replace("    tier2: true\n", ""),
     "a 'not_fixed' terminal must escalate"),
    ("missing source", GOOD.replace("    text: Fixed\n    source: a passage\n",
                                    "    text: Fixed\n"),
     "node 'fixed': missing required field 'source'"),
    ("unknown kind", GOOD.replace("kind: yesno", "kind: yesorno"),
     "node 'ask': unknown kind 'yesorno'"),
    ("unknown variable", GOOD.replace("Does it work?", "Does {{ targt }} work?"),
     "node 'ask': unknown variable 'targt'"),
    ("template syntax", GOOD.replace("Does it work?", "Does {{ x work?"),
     "node 'ask': template error"),
    ("bad start", GOOD.replace("start: ask", "start: aks"),
     "start node 'aks' not found (did you mean 'ask'?)"),
    ("python tag refused", GOOD.replace("text: Fixed", "text: !!python/name:os.system ''"),
     "YAML error"),
    ("unknown probe", GOOD.replace("    kind: yesno", """    kind: check
    probe: {name: pnig, args: {host: x}}"""), "unknown probe 'pnig' (did you mean 'ping'?)"),
    ("probe args", GOOD.replace("    kind: yesno", """    kind: check
    probe: {name: ping, args: {hots: x}}"""), "probe 'ping' takes arguments ['host']"),
]


@pytest.mark.parametrize(("text", "expected"), [(t, e) for _, t, e in CASES],
                         ids=[c[0] for c in CASES])
def test_lint_reports_defect_with_file_line_and_node(tmp_path: Path, text: str,
                                                     expected: str) -> None:
    found = problems(tmp_path, text)
    assert any(expected in p for p in found), found
    assert all(p.startswith(str(tmp_path)) for p in found), found


GET_NAME = """  get_name:
    kind: text
    var: who
    text: Name?
    source: a passage
    next: ask
  ask:
    kind: yesno"""


def test_variable_set_on_only_one_path_is_flagged(tmp_path: Path) -> None:
    text = GOOD.replace("""  ask:
    kind: yesno""", """  name:
    kind: yesno
    text: Do you know the name?
    source: a passage
    yes: get_name
    no: ask
""" + GET_NAME).replace("start: ask", "start: name").replace(
        "Does it work?", "Does it work for {{ who }}?")
    found = problems(tmp_path, text)
    assert any("{{ who }} may be undefined" in p for p in found), found


# A choice decides whether the name is asked; a later branch on that choice reads the
# name only where it was asked (the intake's call type and target work this way).
DECIDED = GOOD.replace("start: ask", "start: kind").replace("""  ask:
    kind: yesno""", """  kind:
    kind: choice
    var: kind
    text: What kind of call?
    source: a passage
    options:
      - {value: person, label: A person, next: get_name}
      - {value: server, label: A server, next: ask}
""" + GET_NAME).replace("    no: broken", "    no: route") + """  route:
    kind: branch
    text: By the kind of call
    source: a passage
    cases:
      - {when: "CONDITION", next: greet}
    otherwise: broken
  greet:
    kind: note
    text: Tell {{ who }} it is escalated
    source: a passage
    next: broken
"""


@pytest.mark.parametrize("condition", [
    "kind == 'person'", "kind in ['person']",
    "kind != 'server'", "not (kind == 'server')", "kind == 'person' and staffer",
    "kind not in ('server',)",
])
def test_a_branch_on_an_earlier_choice_rules_out_paths(tmp_path: Path, condition: str) -> None:
    assert problems(tmp_path, DECIDED.replace("CONDITION", condition)) == []


@pytest.mark.parametrize("condition", [
    "kind == 'server'",             # the path that never asked the name
    "kind != 'person'",
    "kind == 'person' or staffer",  # staffer alone lets a server call through
    "kind | length > 5",            # not understood: every path counts
    "kind == 'persn'",              # a value no option has: no path asked the name
])
def test_a_branch_that_lets_a_path_without_the_variable_through_is_flagged(
        tmp_path: Path, condition: str) -> None:
    found = problems(tmp_path, DECIDED.replace("CONDITION", condition))
    assert any("node 'greet': {{ who }} may be undefined" in p for p in found), found


def test_a_choice_variable_also_set_by_a_text_decides_nothing(tmp_path: Path) -> None:
    text = DECIDED.replace("CONDITION", "kind == 'person'").replace("""    text: Name?
    source: a passage
    next: ask""", """    text: Name?
    source: a passage
    next: retype
  retype:
    kind: text
    var: kind
    text: Kind again?
    source: a passage
    next: ask""")
    found = problems(tmp_path, text)
    assert any("node 'greet': {{ who }} may be undefined" in p for p in found), found


def test_the_otherwise_of_a_branch_is_checked_too(tmp_path: Path) -> None:
    text = DECIDED.replace("CONDITION", "kind == 'server'").replace(
        "      - {when: \"kind == 'server'\", next: greet}\n    otherwise: broken",
        "      - {when: \"kind == 'server'\", next: broken}\n    otherwise: greet")
    assert problems(tmp_path, text) == []
    text = text.replace("kind == 'server'", "kind == 'person'")
    found = problems(tmp_path, text)
    assert any("node 'greet': {{ who }} may be undefined" in p for p in found), found


def test_two_entries_and_duplicate_ids(tmp_path: Path) -> None:
    found = problems(tmp_path, GOOD, {"copy.yaml": GOOD})
    assert any("chart id 'main' also used by" in p for p in found), found


def test_lint_command_exit_codes(tmp_path: Path, data_dir: Path) -> None:
    (tmp_path / "main.yaml").write_text(GOOD.replace("    yes: fixed", "    yes: fixd"))
    bad = run_cli(["lint", str(tmp_path)], cli_env(data_dir))
    assert bad.returncode == 3
    assert "link 'fixd': node 'fixd' not found" in bad.stdout
    assert "Traceback" not in bad.stdout + bad.stderr
    good = run_cli(["lint"], cli_env(data_dir))
    assert good.returncode == 0, good.stdout + good.stderr
    assert good.stdout.startswith("Flowcharts: ")
    assert "(the shipped set); set " in good.stdout.splitlines()[0]
    assert good.stdout.splitlines()[1].startswith("OK: 5 flowcharts")


def test_start_refuses_broken_flowcharts_before_the_call(tmp_path: Path,
                                                         data_dir: Path) -> None:
    (tmp_path / "main.yaml").write_text(GOOD.replace("    yes: fixed", "    yes: fixd"))
    r = run_cli(["start", "--flowcharts", str(tmp_path)], cli_env(data_dir))
    assert r.returncode == 3
    assert "nothing was started" in r.stderr
    assert not (data_dir / "calls").exists() or not list((data_dir / "calls").iterdir())


@pytest.mark.parametrize("source", [
    "plain", "{{ a }} and {{ b.c }} and {{ d | upper }} {{ e ~ f }}", "{{ g[h] }}",
    "{% if a %}{{ b }}{% endif %}", "{% for x in xs %}{{ x }}{% endfor %}",
    "{% set y = 1 %}{{ y }} {{ z }}", "{{ a if b else c }}", "{# {{ hidden }} #}{{ shown }}",
])
def test_variables_of_a_text_are_those_jinja_finds(source: str) -> None:
    from jinja2 import meta
    from jinja2.sandbox import SandboxedEnvironment

    from wizard.base.textrender import variables

    expected = meta.find_undeclared_variables(SandboxedEnvironment().parse(source))
    assert variables(source) == expected
