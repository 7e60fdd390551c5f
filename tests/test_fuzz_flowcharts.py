"""A bounded fuzz of the flowchart loader and lint: whatever the files hold, the answer
is a list of one-line problems with file and line, never an internal error."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wizard.base.documents import DocumentError
from wizard.flows.flowset import FlowchartError, lint, load_flowset

EXAMPLES = 150
"""Examples per property in CI (two properties: 300 flowchart sets in all)."""

scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
                    st.text(max_size=20), st.sampled_from(["yesno", "choice", "end", "x",
                                                           "start", "fixed", "{{ x }}",
                                                           "{% if %}", "intake"]))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=20)
node = st.fixed_dictionaries({"kind": st.sampled_from(["yesno", "choice", "text", "end",
                                                       "check", "note", "action", "zz"])},
                             optional={"text": scalars, "yes": scalars, "no": scalars,
                                       "next": scalars, "options": values, "var": scalars,
                                       "status": scalars, "category": scalars,
                                       "probe": values})
chart = st.fixed_dictionaries(
    {"id": st.sampled_from(["a", "b", "intake"]), "title": scalars,
     "start": st.sampled_from(["n0", "n1", "x"])},
    optional={"version": scalars, "nodes": st.dictionaries(
        st.sampled_from(["n0", "n1", "n2"]), st.one_of(node, values), max_size=3)})


def _check(files: dict[str, str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for name, text in files.items():
            (folder / name).write_text(text, encoding="utf-8")
        try:
            fs = load_flowset(folder, check=False)
        except FlowchartError as exc:
            assert exc.problems and all("\n" not in str(p) for p in exc.problems)
            return
        except DocumentError as exc:
            assert "\n" not in str(exc)
            return
        for problem in lint(fs):
            assert "\n" not in str(problem) and len(str(problem)) < 2000


@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(chart, min_size=1, max_size=3))
def test_structured_flowcharts_never_crash_loader_or_lint(charts: list[dict[str, Any]]
                                                          ) -> None:
    _check({f"c{i}.yaml": yaml.safe_dump(c) for i, c in enumerate(charts)})


@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(st.sampled_from(list("abn:-[]{}&*!|>'\"#%@ \n\t0x1.") +
                                ["!!int ", "!!float ", "!!timestamp ", "&a ", "*a",
                                 "kind: ", "nodes:\n  ", "id: a\n"]),
                max_size=120).map("".join))
def test_arbitrary_yaml_text_never_crashes_loader_or_lint(text: str) -> None:
    _check({"a.yaml": "id: a\ntitle: A\nstart: n0\n" + text})
