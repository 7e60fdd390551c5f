"""The automatic checks of a call: whether a check step's probe runs here, its recorded
or new result, the checks run ahead at once, and the answer a result suggests."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from wizard.base.textrender import TextError, render
from wizard.calls.call.labels import CALLER_ONLY, CHECKS_OFF
from wizard.calls.engine import Step, StepKind
from wizard.calls.journal import CallState, Journal
from wizard.flows.flowset import FlowSet
from wizard.flows.nodes import CheckNode

if TYPE_CHECKING:  # the checks and the organization's defaults load when first needed
    from wizard.checks import System
    from wizard.checks.base import ProbeResult
    from wizard.config.organization import OrgConfig


@dataclass(frozen=True)
class Suggestion:
    """A probe's result for a check step and the answer it suggests (if conclusive)."""

    result: ProbeResult
    value: str | None
    skipped_reason: str | None = None



class Probing:
    """The checks part of a :class:`~wizard.calls.call.Call`, which sets these."""

    fs: FlowSet
    state: CallState
    checks: bool

    if TYPE_CHECKING:
        @property
        def org(self) -> OrgConfig: ...

        @property
        def system(self) -> System: ...

        @property
        def _journal(self) -> Journal: ...

    def probe_applies(self, step: Step) -> str | None:
        """Why the step's probe should not run here (None: it should run)."""
        node = step.visit.node
        if not isinstance(node, CheckNode):
            return "not a check"
        if not self.checks:
            return CHECKS_OFF
        if node.probe.runs_on == "caller" and self.state.runs_on != "caller":
            return CALLER_ONLY
        return None

    def _request(self, node: CheckNode, context: Mapping[str, Any]) -> dict[str, str]:
        return {k: render(v, context).strip() for k, v in node.probe.args.items()}

    def _record(self, key: str, args: dict[str, str], result: ProbeResult) -> None:
        self._journal.append("probe", key=key, args=args, result=result.to_dict())
        self.state.probes[key] = result
        self.state.probe_args[key] = args

    def cached_check(self, step: Step) -> Suggestion | None:
        """The recorded result for this step, if its arguments are still the same."""
        node = step.visit.node
        key = step.visit.key
        if not isinstance(node, CheckNode) or key not in self.state.probes:
            return None
        if self.state.probe_args.get(key, {}) != self._request(node, step.context):
            return None
        return self.suggestion_from(node, self.state.probes[key])

    def run_check(self, step: Step) -> Suggestion | None:
        """The probe result of a check step: recorded already, or run now and journaled."""
        node = step.visit.node
        if not isinstance(node, CheckNode) or self.probe_applies(step) is not None:
            return None
        cached = self.cached_check(step)
        if cached is not None:
            return cached
        args = self._request(node, step.context)
        from wizard.checks import run_probe

        result = run_probe(node.probe.name, args, self.system,
                           self.org.probe_timeout(node.probe.name))
        self._record(step.visit.key, args, result)
        return self.suggestion_from(node, result)

    def pending_checks(self, step: Step) -> list[tuple[str, CheckNode, dict[str, str]]]:
        """Checks ahead in the current flowchart that can run now (their arguments are
        known and they apply here) and have no result yet."""
        if step.kind is not StepKind.ASK or not self.checks:
            return []
        chart = step.visit.chart
        seen: set[str] = set()
        todo = [step.visit.node_key]
        out: list[tuple[str, CheckNode, dict[str, str]]] = []
        visited_keys = {v.node_key for v in step.route}
        while todo:
            key = todo.pop()
            if key in seen or key.split(".", 1)[0] != chart:
                continue
            seen.add(key)
            node = self.fs.node(key)
            todo.extend(self.fs.successors(key))
            if not isinstance(node, CheckNode) or key in visited_keys:
                continue
            if node.probe.runs_on == "caller" and self.state.runs_on != "caller":
                continue
            try:
                args = self._request(node, step.context)
            except TextError:
                continue
            if any(not v for v in args.values()):
                continue  # an argument not known on this call (e.g. no target address)
            if key in self.state.probes and self.state.probe_args.get(key) == args:
                continue
            out.append((key, node, args))
        return out

    def prefetch(self, step: Step,
                 on_result: Callable[[int, ProbeResult], None] | None = None) -> int:
        """Run the pending checks of the current flowchart at once; returns how many."""
        pending = self.pending_checks(step)
        if not pending:
            return 0

        def done(i: int, result: ProbeResult) -> None:
            key, _node, args = pending[i]
            self._record(key, args, result)
            if on_result is not None:
                on_result(i, result)

        from wizard.checks import run_probes


        run_probes([(n.probe.name, a) for _, n, a in pending], self.system, None,
                   on_result=done)
        return len(pending)

    @staticmethod
    def suggestion_from(node: CheckNode, result: ProbeResult) -> Suggestion:
        value = None
        outcome = result.data.get("outcome")
        if isinstance(outcome, str) and outcome in node.probe.on_outcome:
            return Suggestion(result, node.probe.on_outcome[outcome])
        from wizard.checks.base import ProbeStatus

        if result.status is ProbeStatus.OK:
            value = node.probe.on_ok
        elif result.status is ProbeStatus.FAIL:
            value = node.probe.on_fail
        return Suggestion(result, value)

