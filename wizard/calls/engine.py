"""The engine: flowcharts + answers so far -> the next step. Pure, no I/O.

Answers are a mapping from *visit keys* to values. A visit key is the node key
(``chart.node``) for the first visit of a node and ``chart.node@2`` etc. for later
visits, so a flowchart may loop. The route is defined as the walk from the start
(the engine reuses its last walk up to the first changed answer, which gives the same
result in linear time): changing an earlier answer ("back") keeps every later answer
that the new route still passes through, and simply ignores the others.
"""

from __future__ import annotations

import enum
import functools
import threading
import weakref
from collections import OrderedDict, deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from wizard.base.errors import ExitStatus, TriageError
from wizard.base.textrender import condition, variables
from wizard.calls.answerlog import AnswerValues
from wizard.flows import answer_rules
from wizard.flows.flowset import FlowSet
from wizard.flows.nodes import (
    ANSWERED_KINDS,
    ActionNode,
    BranchNode,
    CheckNode,
    ChoiceNode,
    GotoNode,
    Node,
    NoteNode,
    TerminalNode,
    TextNode,
    YesNoNode,
)

MAX_VISITS = 10_000


class EngineError(TriageError):
    """The flowcharts loop forever (lint reports this before a call starts)."""

    status = ExitStatus.FLOWCHART


class StepKind(str, enum.Enum):
    ASK = "ask"
    END = "end"


@dataclass(frozen=True)
class Visit:
    key: str
    """Visit key: ``chart.node`` or ``chart.node@N``."""
    node_key: str
    node: Node
    value: str | None = None

    @property
    def chart(self) -> str:
        return self.node_key.split(".", 1)[0]

    @property
    def answered(self) -> bool:
        return self.node.kind in ANSWERED_KINDS


@dataclass(frozen=True)
class Step:
    kind: StepKind
    visit: Visit
    """The node to answer (ASK) or the terminal reached (END)."""
    route: tuple[Visit, ...]
    """Every node passed before this one, answered or not, in order."""
    notices: tuple[Visit, ...]
    """Notes passed since the last answered node: show them with this step."""
    context: Mapping[str, Any] = field(default_factory=dict)
    number: int = 1
    """1-based number of this question among the questions of the route."""
    remaining: int = 0
    """Fewest further questions before a status can be reached (0 at the end)."""

    @property
    def answered_route(self) -> tuple[Visit, ...]:
        return tuple(v for v in self.route if v.answered)


def visit_key(node_key: str, n: int) -> str:
    return node_key if n == 1 else f"{node_key}@{n}"


def next_key(fs: FlowSet, node_key: str, node: Node, value: str | None,
             context: Mapping[str, Any] | None = None) -> str:
    chart = node_key.split(".", 1)[0]
    if isinstance(node, CheckNode) and node.options is not None:
        for opt in node.options:
            if opt.value == value:
                return fs.resolve(chart, opt.next)
        raise EngineError(f"{node_key}: no option {value!r}")  # pragma: no cover
    if isinstance(node, (YesNoNode, CheckNode)):
        return fs.resolve(chart, (node.yes if value == "yes" else node.no) or "")
    if isinstance(node, BranchNode):
        for case in node.cases:
            if condition(case.when, context or {}):
                return fs.resolve(chart, case.next)
        return fs.resolve(chart, node.otherwise)
    if isinstance(node, ChoiceNode):
        for opt in node.options:
            if opt.value == value:
                return fs.resolve(chart, opt.next)
        raise EngineError(f"{node_key}: no option {value!r}")  # pragma: no cover
    if isinstance(node, (TextNode, ActionNode, NoteNode)):
        return fs.resolve(chart, node.next)
    if isinstance(node, GotoNode):
        return fs.resolve(chart, node.target, goto=True)
    raise EngineError(f"{node_key}: terminal has no successor")  # pragma: no cover


def _valid(node: Node, value: Any) -> str | None:
    try:
        return answer_rules.validate(node, value)
    except answer_rules.AnswerError:
        return None


_MISSING: Any = object()


def _same(given: Any, raw: Any) -> bool:
    """Whether an answer is the one a kept visit was computed from."""
    return given is raw or (type(given) is type(raw) and given == raw)


class _Trail:
    """The route of the last :meth:`Engine.step` call, kept to be extended.

    ``raws[i]`` is the answer ``route[i]`` was computed from (``_MISSING`` for nodes
    that take none); undo records restore the counts and the context on truncation.
    """

    def __init__(self, base: dict[str, Any]) -> None:
        self.base = base
        self.context: dict[str, Any] = dict(base)
        self.route: list[Visit] = []
        self.raws: list[Any] = []
        self.nexts: list[str] = []
        self.numbers: list[int] = []  # question number after each visit
        self.undo: list[tuple[str, bool, Any]] = []  # (var, was set, old value) or ("",..)
        self.counts: dict[str, int] = {}
        self.answered_at: dict[str, int] = {}  # visit key -> its place, for answered visits
        self.source: weakref.ref[AnswerValues] | None = None
        """The answers the route was last walked with, when they count their changes,
        and their revision then: only the answers changed since need looking at."""
        self.revision = 0

    @property
    def next_key(self) -> str:
        return self.nexts[-1]

    def valid_prefix(self, answers: Mapping[str, Any]) -> int:
        """How many visits of the kept route the answers still lead through.

        When they are the same :class:`AnswerValues` the route was last walked with,
        only the keys changed since are looked at (a long call: the same cost at every
        step); any other mapping is compared along the whole route."""
        source = self.source() if self.source is not None else None
        if source is answers and isinstance(answers, AnswerValues):
            keep = len(self.route)
            for key in answers.changed_since(self.revision):
                at = self.answered_at.get(key)
                if at is not None and at < keep and not _same(answers.get(key, _MISSING),
                                                              self.raws[at]):
                    keep = at
            return keep
        for i, (visit, raw) in enumerate(zip(self.route, self.raws, strict=True)):
            if raw is _MISSING:
                continue
            if not _same(answers.get(visit.key, _MISSING), raw):
                return i
        return len(self.route)

    def walked_with(self, answers: Mapping[str, Any]) -> None:
        """The route now follows ``answers`` (as they are now)."""
        if isinstance(answers, AnswerValues):
            self.source, self.revision = weakref.ref(answers), answers.revision
        else:
            self.source = None

    def truncate(self, keep: int) -> None:
        while len(self.route) > keep:
            visit = self.route.pop()
            self.raws.pop()
            self.nexts.pop()
            self.numbers.pop()
            self.answered_at.pop(visit.key, None)
            var, was_set, old = self.undo.pop()
            if var:
                if was_set:
                    self.context[var] = old
                else:
                    del self.context[var]
            left = self.counts[visit.node_key] - 1
            if left:
                self.counts[visit.node_key] = left
            else:
                del self.counts[visit.node_key]

    def push(self, visit: Visit, raw: Any) -> None:
        """Pass ``visit``; the caller then appends the key of the node after it to
        ``nexts`` (a branch decides it from the context, which includes this answer)."""
        if raw is not _MISSING:
            self.answered_at[visit.key] = len(self.route)
        self.route.append(visit)
        self.raws.append(raw)
        self.counts[visit.node_key] = self.counts.get(visit.node_key, 0) + 1
        number = self.numbers[-1] if self.numbers else 1
        var = getattr(visit.node, "var", None) if visit.answered else None
        if var:
            self.undo.append((var, var in self.context, self.context.get(var)))
            self.context[var] = visit.value
        else:
            self.undo.append(("", False, None))
        self.numbers.append(number + 1 if visit.answered else number)

    def step(self, kind: StepKind, visit: Visit, remaining: int) -> Step:
        notices: list[Visit] = []
        for passed in reversed(self.route):
            if passed.answered:
                break
            if isinstance(passed.node, NoteNode):
                notices.append(passed)
        notices.reverse()
        number = self.numbers[-1] if self.numbers else 1
        return Step(kind, visit, tuple(self.route), tuple(notices), dict(self.context),
                    number, remaining)


TRAILS_KEPT = 256
"""Walks kept per flowchart set: one per call (its base context names the call), the
most recently used kept."""


class _Shared:
    """What every engine of one flowchart set shares: the questions to the end from each
    node (worked out once per set, not once per call: a server makes an engine for every
    request) and the last walk of each call, reused by the next engine of that call."""

    def __init__(self, remaining: dict[str, int]) -> None:
        self.remaining = remaining
        self.trails: OrderedDict[Any, _Trail] = OrderedDict()
        self.lock = threading.Lock()


_SHARED: dict[int, tuple[weakref.ref[FlowSet], _Shared]] = {}


def _trail_key(base: dict[str, Any]) -> Any:
    """Which kept walk to try for this base context (the walk itself is only reused
    when its base context is equal: this only picks the candidate)."""
    try:
        return frozenset(base.items())
    except TypeError:  # a value that cannot be hashed: one kept walk for all of them
        return None


class Engine:
    """Computes steps for one flowchart set. Holds no call state."""

    def __init__(self, flowset: FlowSet) -> None:
        self.fs = flowset
        shared = _SHARED.get(id(flowset))
        if shared is None or shared[0]() is not flowset:
            shared = (weakref.ref(flowset), _Shared(self._questions_to_end()))
            _SHARED[id(flowset)] = shared
            weakref.finalize(flowset, _SHARED.pop, id(flowset), None)
        self._shared = shared[1]
        self._remaining = self._shared.remaining

    @functools.cached_property
    def _branch_conditions(self) -> dict[str, list[tuple[str, frozenset[str]]]]:
        """For each variable a branch condition reads, those conditions and the
        variables each reads (for :meth:`paths`; worked out when first needed, so
        starting a call does not parse the conditions)."""
        found: dict[str, list[tuple[str, frozenset[str]]]] = {}
        for key in self.fs.node_keys():
            node = self.fs.node(key)
            if isinstance(node, BranchNode):
                for case in node.cases:
                    read = frozenset(variables("{{ " + case.when + " }}"))
                    for var in read:
                        found.setdefault(var, []).append((case.when, read))
        return found

    def _decided_as(self, var: str, value: str) -> str:
        """What a later branch can tell of ``var`` = ``value``: where every condition
        reading the variable reads it alone, the values that make each of them come
        out the same are one route (a Windows version the branches group with
        another); else the value itself."""
        conditions = self._branch_conditions[var]
        if any(read != {var} for _, read in conditions):
            return value
        try:
            return repr(tuple(bool(condition(when, {var: value})) for when, _ in conditions))
        except Exception:  # noqa: BLE001 - a condition this cannot decide alone
            return value

    def _questions_to_end(self) -> dict[str, int]:
        """Fewest answered nodes from each node (inclusive) to a terminal (0-1 BFS)."""
        preds: dict[str, list[str]] = {k: [] for k in self.fs.node_keys()}
        for k in preds:
            for s in self.fs.successors(k):
                preds.setdefault(s, []).append(k)
        dist: dict[str, int] = {}
        dq: deque[tuple[int, str]] = deque(
            (0, k) for k in preds if isinstance(self.fs.node(k), TerminalNode)
        )
        while dq:
            d, k = dq.popleft()
            if k in dist:
                continue
            dist[k] = d
            for p in preds.get(k, []):
                if p in dist:
                    continue
                cost = 1 if self.fs.node(p).kind in ANSWERED_KINDS else 0
                if cost:
                    dq.append((d + 1, p))
                else:
                    dq.appendleft((d, p))
        return dist

    def questions_after(self, node_key: str) -> list[int]:
        """For each way out of a node, the fewest questions still to answer after it
        before a status is reached (0: that answer ends the route)."""
        return [self._remaining.get(s, 0) for s in self.fs.successors(node_key)]

    def step(self, answers: Mapping[str, Any], base_context: Mapping[str, Any] | None = None
             ) -> Step:
        """The next step for these answers: the same result as walking from the start.

        The walk of the previous call is kept and reused up to the first visit whose
        answer (or the base context) differs, so a long call costs linear time per
        answer, not quadratic; the result depends only on the arguments.
        """
        base = dict(base_context or {})
        key = _trail_key(base)
        shared = self._shared
        with shared.lock:
            trail = shared.trails.pop(key, None)
            if trail is None or trail.base != base:
                trail = _Trail(base)
            step = self._step(answers, trail)  # raises: the half-extended walk is dropped
            shared.trails[key] = trail
            if len(shared.trails) > TRAILS_KEPT:
                shared.trails.popitem(last=False)
            return step

    def _step(self, answers: Mapping[str, Any], trail: _Trail) -> Step:
        fs = self.fs
        trail.truncate(trail.valid_prefix(answers))
        trail.walked_with(answers)
        route = trail.route
        key = trail.next_key if route else fs.start_key
        counts = trail.counts
        for _ in range(MAX_VISITS - len(route)):
            node = fs.node(key)
            n = counts.get(key, 0) + 1
            vkey = visit_key(key, n)
            if isinstance(node, TerminalNode):
                return trail.step(StepKind.END, Visit(vkey, key, node), 0)
            if node.kind in ANSWERED_KINDS:
                raw = answers.get(vkey, _MISSING)
                value = None if raw is _MISSING else _valid(node, raw)
                if value is None:
                    return trail.step(StepKind.ASK, Visit(vkey, key, node),
                                      self._remaining.get(key, 0))
                visit = Visit(vkey, key, node, value)
            else:
                raw = _MISSING
                visit = Visit(vkey, key, node)
            trail.push(visit, raw)
            key = next_key(fs, key, node, visit.value, trail.context)
            trail.nexts.append(key)
        raise EngineError(f"more than {MAX_VISITS} steps: the flowcharts loop")

    # -- enumeration for tests and lint ---------------------------------------------
    def sample_value(self, node: Node) -> list[str]:
        """Answers that take each branch of a node once (text gets one valid sample)."""
        if isinstance(node, CheckNode):
            return node.answer_values()
        if isinstance(node, YesNoNode):
            return ["yes", "no"]
        if isinstance(node, ChoiceNode):
            return [o.value for o in node.options]
        if isinstance(node, ActionNode):
            return ["done"]
        if isinstance(node, TextNode):
            sample = SAMPLE_TEXT[node.validate_as.value]
            empty_ok = node.optional or node.validate_as.value == "any"
            return ["", sample] if empty_ok else [sample]
        return []

    def paths(self, limit: int = 100_000) -> Iterator[tuple[dict[str, str], Step]]:
        """Every distinct route through the flowcharts as (answers, final step).

        Options that lead to the same node make one route, not one each; which of them
        a route uses rotates from route to route, so every option still appears in
        some route. A loop is walked at most twice.
        """
        # each entry: answers so far, and for grouped answers the values they stand for
        stack: list[tuple[dict[str, str], dict[str, list[str]]]] = [({}, {})]
        produced = 0
        uses: dict[str, int] = {}
        while stack:
            answers, groups = stack.pop()
            step = self.step(answers)
            if step.kind is StepKind.END:
                final = dict(answers)
                for vkey, values in groups.items():
                    turn = uses.get(vkey, 0)
                    uses[vkey] = turn + 1
                    final[vkey] = values[turn % len(values)]
                produced += 1
                yield final, self.step(final)
                if produced >= limit:
                    return
                continue
            if "@" in step.visit.key and int(step.visit.key.rsplit("@", 1)[1]) > 2:
                continue  # a loop taken twice: its routes are already covered
            node = step.visit.node
            by_target: dict[str, list[str]] = {}
            var = str(getattr(node, "var", None) or "")
            decides = var in self._branch_conditions
            for value in self.sample_value(node):
                target = next_key(self.fs, step.visit.node_key, node, value)
                if decides:  # a later branch reads this answer: each way it tells is a route
                    target = f"{target}#{self._decided_as(var, value)}"
                by_target.setdefault(target, []).append(value)
            for values in reversed(list(by_target.values())):
                nxt = dict(answers)
                nxt[step.visit.key] = values[0]
                stack.append((nxt, {**groups, step.visit.key: values} if len(values) > 1
                              else groups))


SAMPLE_TEXT = {
    "any": "sample text",
    "nonempty": "sample text",
    "hostname": "ws-sample01",
    "ip": "192.0.2.10",
    "host": "srv-sample.corp.example",
    "contact": "+1 555 0100",
    "ticket": "INC-0001",
}
