"""Operations on the flowcharts: check them (``lint``), draw them (Mermaid, a call's
route highlighted), and give editors their JSON Schema."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field

from wizard.base.errors import ExitStatus, TriageError
from wizard.flows.flowset import FlowchartError, FlowSet, lint, load_flowset, route_count
from wizard.service.desk import Desk, describe_flowset


@dataclass
class LintResult:
    lines: list[str] = field(default_factory=list)
    """What to show, in order: the set in use, each problem, warnings, the summary."""
    failed: bool = False


def lint_flowcharts(desk: Desk, directory: str | None = None) -> LintResult:
    """Check a flowchart folder (the one in use by default) and the organization file
    that goes with it."""
    from wizard.config.organization import warnings as org_warnings

    result = LintResult()
    source = desk.flowchart_source(directory)
    try:
        fs = load_flowset(source.path, check=False)
    except FlowchartError as exc:
        result.lines.append(f"Flowcharts: {source.path} ({source.why})")
        result.lines += [str(p) for p in exc.problems]
        result.failed = True
        return result
    result.lines.append(describe_flowset(fs, source))
    problems = lint(fs)
    result.lines += [str(p) for p in problems]
    org = desk.org()
    design_used = desk.org_file is not None and uses_design(fs)
    result.lines += [f"warning: {w}" for w in org_warnings(org, desk.org_file, design_used)]
    if problems:
        result.lines.append(f"{len(problems)} problem(s)")
        result.failed = True
        return result
    nodes = sum(len(c.nodes) for c in fs.charts.values())
    routes, loops = route_count(fs)
    counted = " (not counting going round a loop)" if loops else ""
    result.lines.append(f"OK: {len(fs.charts)} flowcharts, {nodes} nodes, {routes} routes"
                        f"{counted} ({source.path})")
    return result


def uses_design(fs: FlowSet) -> bool:
    """Whether a step of the flowcharts reads the organization's isolation design (a
    branch, or the answer a question pre-selects)."""
    from wizard.base.textrender import variables
    from wizard.flows.flowset import DESIGN_VARS
    from wizard.flows.nodes import BranchNode

    for key in fs.node_keys():
        node = fs.node(key)
        sources = [str(getattr(node, "default", None) or "")]
        if isinstance(node, BranchNode):
            sources += ["{{ " + case.when + " }}" for case in node.cases]
        if any(variables(src) & DESIGN_VARS for src in sources):
            return True
    return False


def diagram(desk: Desk, charts: Sequence[str] = (), call_ref: str | None = None) -> str:
    """A Mermaid diagram of the charts (all by default), a call's route highlighted."""
    from wizard.flows.mermaid import render

    fs = desk.flowset()[0]
    chosen = list(charts) or list(fs.charts)
    for cid in chosen:
        if cid not in fs.charts:
            raise TriageError(f"no chart {cid!r}; charts: {', '.join(fs.charts)}",
                              ExitStatus.USAGE)
    route: list[str] = []
    if call_ref:  # the call code: loaded for a route only
        from wizard.service import calls

        _journals, state = desk.load_call(call_ref)
        step = calls.route_step(fs, state)
        route = [v.node_key for v in step.route] + [step.visit.node_key]
    return render(fs, chosen, route)


def flowchart_schema() -> str:
    """The JSON Schema of a flowchart file."""
    from wizard.flows.schema import Flowchart

    return json.dumps(Flowchart.model_json_schema(by_alias=True), indent=2) + "\n"
