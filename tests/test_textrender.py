"""Flowchart texts: the direct fill-in of answers gives exactly what Jinja gives."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from jinja2 import StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

from wizard.base.textrender import TextError, render

JINJA = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)
NAMES = ["target", "target_ip", "caller_name", "none", "missing"]
CONTEXT: dict[str, Any] = {"target": "fs01", "target_ip": "", "caller_name": "Ann {{ x }}",
                           "n": 3}


def jinja(source: str) -> str:
    return str(JINJA.from_string(source).render(**CONTEXT))


pieces = st.one_of(
    st.text(alphabet="ab {}%#\n!<>", max_size=6),
    st.sampled_from(NAMES).map(lambda n: "{{ " + n + " }}"),
    st.tuples(st.sampled_from(NAMES), st.sampled_from(NAMES)).map(
        lambda ab: "{{ " + ab[0] + " or " + ab[1] + " }}"),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(pieces, max_size=6).map("".join))
def test_a_text_renders_as_jinja_renders_it(source: str) -> None:
    assume("{" in source)  # a text without any is shown as written
    try:
        expected: str | None = jinja(source)
    except Exception:
        expected = None
    try:
        got: str | None = render(source, CONTEXT)
    except TextError:
        got = None
    assert got == expected


@pytest.mark.parametrize("source", ["How can we reach {{ caller_name }} again?\n",
                                    "Ping {{ target_ip or target }}", "{{ n }} tries"])
def test_answers_are_put_in_as_typed(source: str) -> None:
    assert render(source, CONTEXT) == jinja(source)


def test_a_name_that_is_not_set_is_an_error() -> None:
    with pytest.raises(TextError, match="missing"):
        render("Ping {{ missing }}", CONTEXT)


def test_a_condition_parsed_once_still_reports_its_error_every_time() -> None:
    from wizard.base.textrender import condition, variables

    names = variables("{{ a or b }}")
    names.add("changed by the caller")
    assert variables("{{ a or b }}") == {"a", "b"}
    for _ in range(2):
        with pytest.raises(TextError, match="template error"):
            condition("a ==", {"a": "1"})
