"""The fast YAML path (yaml-rs) reads a document exactly as the PyYAML loader does, or
leaves it to PyYAML: on every shipped flowchart, on the cases where YAML 1.1 and 1.2
differ, and on a bounded fuzz of YAML text."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wizard.base import yamlio
from wizard.base.documents import DocumentError, LineDict
from wizard.base.yamlio import load_document, parse_plain, parse_yaml

pytest.importorskip("yaml_rs")

FLOWCHARTS = Path(__file__).resolve().parent.parent / "flowcharts"
EXAMPLES = int(os.environ.get("IPSEC_TRIAGE_FUZZ_EXAMPLES", "150"))


def same(a: Any, b: Any) -> bool:
    """Equal with the same types all the way down (1 == True == 1.0 in Python)."""
    if type(a) is not type(b) and not (isinstance(a, dict) and isinstance(b, dict)):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def agrees(text: str) -> bool:
    """parse_plain is None, or PyYAML reads the same data from the text."""
    fast = parse_plain(text)
    if fast is None:
        return True
    try:
        slow = parse_yaml(text, "f.yaml")
    except DocumentError as exc:
        raise AssertionError(f"fast path read {text!r}, PyYAML refused it: {exc}") from None
    assert same(fast, slow), (text, fast, slow)
    return False


@pytest.mark.parametrize("path", sorted(FLOWCHARTS.glob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_flowchart_takes_the_fast_path_and_reads_the_same(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    fast = parse_plain(text)
    assert fast is not None, f"{path.name} is not read by the fast parser"
    assert not isinstance(fast, LineDict)
    assert same(fast, parse_yaml(text, path))


@pytest.mark.parametrize("text", [
    "a: yes\nb: no\nc: on\nd: off",          # text in both (YAML 1.2 booleans)
    "a: true\nb: False\nc: ~\nd:\ne: null",  # the same booleans and nulls
    "version: '1'\nb: '1:30'\nc: '2001-01-01'\nd: 'null'\ne: '='",  # quoted: text
    "a: 017", "a: 0o17", "a: 1_000", "a: 1:30", "a: -.5", "a: 1e3", "a: .inf",  # numbers
    "a: 2001-01-01", "a: 2001-12-14 21:59:43.10 -5",  # dates
    "a: =", "1: x", "true: x", "null: x", "'1': x\n1: y", "? [a]\n: b",  # odd keys
    "id: a\nnodes:\n  : \n",  # an empty (null) key: PyYAML refuses it
    "a: !!str 1", "a: !!float x", "a: &x [1]\nb: *x", "a: {<<: {b: 1}}",  # tags, aliases
    "a: 1\n---\nb: 2\n", "%YAML 1.1\n---\na: 1", "\ufeffa: 1", "a: b\u2028c", "a: \x07",
    "a:\n\tb: 1", "a: b\na: c", "a: " + "[" * 70 + "]" * 70, "- a\n- b", "x", "",
    "a: |\n  x\n   y\n\n", "a: >-\n  x\n  y\n", "a: |+\n  x\n\n", "a: |2\n   x\n",
    "c: ipconfig /release && ipconfig /renew\nh: '%SystemRoot%' & more *x !y",
])
def test_where_yaml_1_1_and_1_2_differ_the_answer_is_pyyamls(text: str) -> None:
    agrees(text)


def test_what_only_yaml_1_1_reads_as_a_number_goes_to_pyyaml() -> None:
    for text in ("a: 1:30\n", "a: 017\n", "a: 1\n", "a: -.5\n", "a: =\n", "true: x\n"):
        assert parse_plain(text) is None, text
    assert parse_plain("version: '1'\nb: 'x 1'\nc: a1\n") == {"version": "1", "b": "x 1",
                                                              "c": "a1"}


def test_without_the_fast_parser_lines_false_reads_with_pyyaml(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "f.yaml"
    path.write_text("a: x\nb: [c, d]\n")
    assert not isinstance(load_document(path, lines=False), LineDict)
    monkeypatch.setattr(yamlio, "_fast_yaml", None)
    data = load_document(path, lines=False)
    assert isinstance(data, LineDict) and data.key_lines == {"a": 1, "b": 2}


fragments = st.sampled_from(
    list("abn01:-[]{}&*!|>'\"#%@?,. \n\n\t") +
    ["  ", "    ", "- ", ": ", "!!int ", "!!str ", "&a ", "*a", "<<: ", "yes", "no", "1:30",
     "017", "0o7", "1_0", "1e3", ".5", "2001-01-01", "~", "null", "true", "=", "---\n",
     "...\n", "|\n  ", ">-\n  ", "|+\n", "'x'", '"\\x41"', "\\", "{{ x }}", "%x", "\u2028",
     "\x85", "\ufeff", "\x07", "é"])


@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(fragments, max_size=60).map("".join))
def test_arbitrary_yaml_text_reads_as_pyyaml_reads_it(text: str) -> None:
    agrees("id: a\nnodes:\n  " + text + "\n")
    agrees(text + "\n")
    agrees(text)


scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
                    st.text(max_size=12), st.sampled_from(["yes", "no", "1", "1:30", "=",
                                                           "2001-01-01", "null", "~"]))
documents = st.dictionaries(st.one_of(st.text(max_size=8), st.integers()), st.recursive(
    scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                     st.dictionaries(st.text(max_size=6), inner, max_size=3)),
    max_leaves=12), max_size=5)


@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(documents, st.sampled_from([None, "'", '"', "|", ">"]),
       st.booleans())
def test_dumped_documents_read_as_pyyaml_reads_them(
        doc: dict[Any, Any], style: str | None, flow: bool) -> None:
    agrees(yaml.safe_dump(doc, default_style=style, default_flow_style=flow,
                          allow_unicode=True))


CHART = """id: a
title: A
version: '1'
source: s
entry: true
start: n0
nodes:
  n0:
    kind: yesno
    text: Works?
    source: s
    yes: done
    no: nowhere
  done:
    kind: terminal
    text: Done.
    source: s
    status: fixed_understood
    categry: network
"""


def test_problems_in_a_chart_read_without_lines_name_their_line(tmp_path: Path) -> None:
    from wizard.flows.flowset import FlowchartError, lint, load_flowset

    path = tmp_path / "a.yaml"
    path.write_text(CHART, encoding="utf-8")
    assert parse_plain(CHART) is not None  # the fast path reads it
    with pytest.raises(FlowchartError) as info:
        load_flowset(tmp_path, cache=False)
    assert [str(p) for p in info.value.problems] == [
        f"{path}:19: node 'done': unknown field 'categry' (did you mean 'category'?)",
        f"{path}:14: node 'done': missing required field 'category'",
    ]
    path.write_text(CHART.replace("categry", "category"), encoding="utf-8")
    fs = load_flowset(tmp_path, check=False)
    assert not isinstance(fs.data["a"], LineDict)
    assert [str(p) for p in lint(fs)] == [
        f"{path}:13: node 'n0': link 'nowhere': node 'nowhere' not found"]
    assert isinstance(fs.data["a"], LineDict)


def test_a_chart_changed_after_reading_is_reported_without_a_wrong_line(
        tmp_path: Path) -> None:
    from wizard.flows.flowset import lint, load_flowset

    path = tmp_path / "a.yaml"
    path.write_text(CHART.replace("categry", "category"), encoding="utf-8")
    fs = load_flowset(tmp_path, check=False)
    path.write_text("# edited\n" + CHART, encoding="utf-8")
    assert [str(p) for p in lint(fs)] == [f"{path}: node 'n0': link 'nowhere': node "
                                          "'nowhere' not found"]


# -- strings that must have been quoted: one search of the text for bare copies ------

PORT_CHECK = """id: a
nodes:
  smb:
    kind: check
    text: Does the server answer on TCP port 445?
    help: Port 445 is SMB, port 135
      445
    probe:
      name: tcp_port
      args: {host: server1, port: "445"}
      on_ok: 'yes'
      on_fail: 'no'
    'yes': done
    'no': escalate
"""


def test_a_quoted_port_whose_number_the_texts_also_say_stays_on_the_fast_path() -> None:
    fast = parse_plain(PORT_CHECK)
    assert fast is not None
    assert fast["nodes"]["smb"]["probe"]["args"]["port"] == "445"
    assert same(fast, parse_yaml(PORT_CHECK, "f.yaml"))


@pytest.mark.parametrize("bare", [
    "port: 445", "- 445", "? 445\n: x", "445: x", "x: [a, 445]", "x: {a: 445}",
    'x: {"a":445}', "x:\n  445", "x: # c\n  445", "x: 445 # c", "x:\n- 445",
    "x: [a,\n  445]", "445", "1:30: x", "x: 1:30", "x: '1:30'\n1:30: y",
])
def test_a_bare_copy_of_a_quoted_number_sends_the_file_to_pyyaml(bare: str) -> None:
    text = "q: '445'\nr: '1:30'\n" + bare + "\n"
    assert parse_plain(text) is None, text
    agrees(text)


@pytest.mark.parametrize("words", [
    "x: port 445 is open", "x: 'a 445'", "x: \"445, 135\"", "x: Is it port\n  445 then",
    "x: a-445", "x: server445", "x: 445th", "x: >-\n  445\n",
])
def test_a_number_inside_a_text_is_no_bare_copy(words: str) -> None:
    text = "q: '445'\n" + words + "\n"
    assert parse_plain(text) is not None, text
    agrees(text)


quoted_numbers = st.sampled_from(["445", "1:30", "017", "1_0", "2001-01-01", "=", ".5",
                                  "null", "~", "1e3"])
contexts = st.sampled_from(["{v}", "port {v}", "[{v}]", "[a, {v}]", '{{"a":{v}}}',
                            "{{a: {v}}}", "x\n  {v}", "\n  {v}", "'{v}'", '"{v}"',
                            "{v} # c", "a-{v}", "{v}:30", "{v}x"])


@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(st.tuples(quoted_numbers, contexts, st.booleans()), min_size=1, max_size=6))
def test_quoted_numbers_and_their_copies_read_as_pyyaml_reads_them(
        parts: list[tuple[str, str, bool]]) -> None:
    lines = []
    for i, (value, context, as_key) in enumerate(parts):
        lines.append(f"q{i}: '{value}'")
        written = context.format(v=value)
        lines.append(f"{written}: k{i}" if as_key and "\n" not in written
                     else f"k{i}: {written}")
    agrees("\n".join(lines) + "\n")
