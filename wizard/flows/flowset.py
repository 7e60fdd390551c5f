"""Loading a directory of flowcharts into one linked, checked set.

Node keys are ``chart_id.node_id``. In ``next``/``yes``/``no``/``options[].next`` a
bare id is a node of the same file and ``chart.node`` a node of another file; a
``goto`` target is a chart id (its start node) or ``chart.node``.
"""

from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wizard.base.bulk import without_cycle_collection
from wizard.base.documents import DocumentError, LineDict, did_you_mean
from wizard.base.errors import ExitStatus, TriageError
from wizard.flows.nodes import (
    BranchNode,
    Catalogue,
    CheckNode,
    ChoiceNode,
    Flowchart,
    GotoNode,
    Node,
    TerminalNode,
    YesNoNode,
    from_json,
    from_model,
    node_links,
    to_json,
)

if TYPE_CHECKING:
    from pydantic import BaseModel

#: What the organization's isolation design says (``isolation`` in the organization
#: file), recorded at the start of a call: ``ping_proves`` (ICMP exempt and answered,
#: so "no reply" says something about the path), ``ping_said_no`` (the file says ICMP
#: is not exempt or targets do not answer ping, not only leaves it unset) and
#: ``target_port``.
DESIGN_VARS = frozenset({"ping_proves", "ping_said_no", "target_port"})
#: The design when the organization file says nothing (and for calls that recorded none).
DEFAULT_DESIGN: dict[str, bool | int] = {"ping_proves": False, "ping_said_no": False,
                                         "target_port": 445}
BUILTIN_VARS = frozenset({"staffer", "call_id", "test_servers"}) | DESIGN_VARS


class FlowchartError(TriageError):
    """One or more problems in the flowcharts; each is a one-line ``file:line: ...``."""

    status = ExitStatus.FLOWCHART

    def __init__(self, problems: list[DocumentError]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass
class FlowSet:
    charts: dict[str, Flowchart]
    paths: dict[str, Path]
    data: dict[str, Any]
    digests: dict[str, str]
    entry: str
    catalogue: Catalogue | None = None
    _edges: dict[str, list[str]] = field(default_factory=dict, repr=False)
    _nodes: dict[str, Node] = field(default_factory=dict, repr=False)
    _memo: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    """What is worked out once from the set as loaded (its digest, its kept copy's
    text: :mod:`wizard.flows.pinned`)."""

    # -- lookup ---------------------------------------------------------------------
    @property
    def start_key(self) -> str:
        return f"{self.entry}.{self.charts[self.entry].start}"

    def nodes(self) -> dict[str, Node]:
        """Every node by its key (computed once)."""
        if not self._nodes:
            self._nodes = {f"{cid}.{nid}": node for cid, chart in self.charts.items()
                           for nid, node in chart.nodes.items()}
        return self._nodes

    def node(self, key: str) -> Node:
        return self.nodes()[key]

    def has(self, key: str) -> bool:
        return key in self.nodes()

    def resolve(self, chart_id: str, link: str, *, goto: bool = False) -> str:
        """Qualified key for a link written in ``chart_id`` (may not exist: see lint)."""
        if "." in link:
            return link
        if goto:
            target = self.charts.get(link)
            return f"{link}.{target.start}" if target else f"{link}.?"
        return f"{chart_id}.{link}"

    def successors(self, key: str) -> list[str]:
        edges = self._edges.get(key)
        if edges is None:
            chart = key.split(".", 1)[0]
            node = self.nodes()[key]
            goto = isinstance(node, GotoNode)
            edges = self._edges[key] = [self.resolve(chart, lk, goto=goto)
                                        for lk in node_links(node)]
        return edges

    def node_keys(self) -> Iterator[str]:
        yield from self.nodes()

    def versions(self) -> dict[str, str]:
        return {cid: f"{c.version} ({self.digests[cid]})" for cid, c in self.charts.items()}

    def where(self, key: str, field_name: str | None = None) -> tuple[Path, int | None]:
        """File and line of a node (or one of its fields)."""
        chart, nid = key.split(".", 1)
        data = self.lined(chart)
        line = None
        if isinstance(data, LineDict):
            nodes = data.get("nodes")
            if isinstance(nodes, LineDict):
                line = nodes.key_lines.get(nid)
                node_data = nodes.get(nid)
                if field_name and isinstance(node_data, LineDict):
                    line = node_data.key_lines.get(field_name, line)
        return self.paths[chart], line

    def lined(self, chart: str) -> Any:
        """The data of a chart with lines (read again, once, if it was read without)."""
        data = self.data.get(chart)
        if data is not None and not isinstance(data, LineDict):
            data = self.data[chart] = with_lines(self.paths[chart], data)
        return data

    def problem(self, key: str, message: str, field_name: str | None = None) -> DocumentError:
        path, line = self.where(key, field_name)
        return DocumentError(path, line, f"node '{key.split('.', 1)[1]}': {message}")


# -- loading ---------------------------------------------------------------------------


def _describe(loc: tuple[int | str, ...]) -> str:
    if len(loc) >= 2 and loc[0] == "nodes":
        rest = [str(p) for p in loc[3:]] if len(loc) > 2 else []
        field_path = ".".join(rest)
        return f"node '{loc[1]}'" + (f": field '{field_path}'" if field_path else "")
    return f"field '{'.'.join(str(p) for p in loc)}'" if loc else ""


def _field_names(model: type[BaseModel]) -> list[str]:
    return [f.alias or name for name, f in model.model_fields.items()]


def _known_fields(data: Any) -> Any:
    from wizard.flows import schema

    kind_models: dict[str, type[BaseModel]] = {
        "yesno": schema.YesNoNode, "choice": schema.ChoiceNode, "check": schema.CheckNode,
        "text": schema.TextNode, "action": schema.ActionNode, "note": schema.NoteNode,
        "goto": schema.GotoNode, "branch": schema.BranchNode,
        "terminal": schema.TerminalNode,
    }

    def known(loc: tuple[int | str, ...]) -> list[str]:
        if len(loc) >= 3 and loc[0] == "nodes":
            kind = str(loc[2])
            if len(loc) >= 5 and loc[3] == "probe":
                return _field_names(schema.ProbeCall)
            if len(loc) >= 6 and loc[3] == "options":
                return _field_names(schema.Option)
            model = kind_models.get(kind)
            return _field_names(model) if model else []
        return _field_names(schema.Flowchart)

    return known


def load_chart(path: Path) -> tuple[Flowchart, Any, str]:
    """One checked chart, the data it was read from and the digest of its bytes.

    The data is read without lines when the fast parser can (see
    :func:`wizard.base.yamlio.parse_plain`); a problem found in it is reported after
    reading the file again with lines (:func:`with_lines`)."""
    from pydantic import ValidationError

    from wizard.base.yamlio import format_validation_error, load_document
    from wizard.flows import schema

    raw_bytes = path.read_bytes()
    data = load_document(path, lines=False)
    if not isinstance(data, dict):
        raise FlowchartError([DocumentError(path, 1, "a flowchart file must be a mapping")])
    try:
        chart: Flowchart = from_model(schema.Flowchart.model_validate(data))
    except ValidationError as exc:
        # the same data, so the same errors: only their lines come from the second reading
        lined = with_lines(path, data)
        if lined is None:
            lined = data
        raise FlowchartError(
            format_validation_error(
                exc, lined, path, describe_loc=_describe, known_fields=_known_fields(lined)
            )
        ) from None
    return chart, data, hashlib.sha256(raw_bytes).hexdigest()[:12]


def with_lines(path: Path, data: Any) -> Any:
    """``data`` read from ``path`` with the line of every key (LineDicts): ``data`` itself
    if it has them, else the file read again, if it still holds the same data (None if
    it changed meanwhile or cannot be read: the problem is then reported without a line)."""
    if isinstance(data, LineDict):
        return data
    from wizard.base.yamlio import load_document

    try:
        lined = load_document(path)
    except DocumentError:
        return None
    return lined if isinstance(lined, LineDict) and lined == data else None


def load_flowset(directory: Path, *, check: bool = True, cache: bool = True) -> FlowSet:
    """Load every ``*.yaml``/``*.yml`` in ``directory`` (and the known-issues catalogue
    in ``directory/catalogue/``, if there); raise FlowchartError on any problem.

    A checked set (``check=True``) is kept in the user cache folder and read from there
    while neither the files nor this program change (see :mod:`wizard.flows.cache`);
    ``cache=False`` always reads the files."""
    if not directory.is_dir():
        raise FlowchartError([DocumentError(directory, None, "flowchart directory not found")])
    files = sorted(p for p in directory.iterdir() if p.suffix in (".yaml", ".yml"))
    if not files:
        raise FlowchartError([DocumentError(directory, None, "no flowchart files (*.yaml)")])
    if not (check and cache):
        return _load_files(directory, files, check)
    from wizard.flows import cache as flowcache

    key = flowcache.key(directory, files)
    cached = flowcache.read(key)
    if cached is not None:
        try:
            return from_payload(cached)
        except (KeyError, TypeError, ValueError, AttributeError):
            pass  # a cache from elsewhere or damaged: read the files
    flowset = _load_files(directory, files, check)
    flowcache.write(key, to_payload(flowset))
    return flowset


def to_payload(fs: FlowSet) -> dict[str, Any]:
    """A checked set as plain JSON data (the cache's and a call's kept copy)."""
    return {"entry": fs.entry, "charts": to_json(fs.charts),
            "paths": {cid: str(path) for cid, path in fs.paths.items()},
            "digests": fs.digests, "catalogue": to_json(fs.catalogue)}


def from_payload(data: dict[str, Any]) -> FlowSet:
    """The set :func:`to_payload` gave (KeyError, TypeError, ValueError or
    AttributeError when the data is not one)."""
    charts = from_json(data["charts"])
    if not all(isinstance(c, Flowchart) for c in charts.values()):
        raise TypeError("not a flowchart set")
    catalogue = from_json(data["catalogue"])
    if catalogue is not None and not isinstance(catalogue, Catalogue):
        raise TypeError("not a catalogue")
    return FlowSet(charts, {cid: Path(p) for cid, p in data["paths"].items()}, {},
                   dict(data["digests"]), str(data["entry"]), catalogue)


@without_cycle_collection
def _load_files(directory: Path, files: list[Path], check: bool) -> FlowSet:
    from wizard.flows.catalogue import catalogue_path, load_catalogue

    problems: list[DocumentError] = []
    charts: dict[str, Flowchart] = {}
    paths: dict[str, Path] = {}
    datas: dict[str, Any] = {}
    digests: dict[str, str] = {}
    for path in files:
        try:
            chart, data, digest = load_chart(path)
        except FlowchartError as exc:
            problems.extend(exc.problems)
            continue
        except DocumentError as exc:
            problems.append(exc)
            continue
        if chart.id in charts:
            lined = with_lines(path, data)
            line = lined.key_lines.get("id") if isinstance(lined, LineDict) else None
            problems.append(
                DocumentError(path, line, f"chart id {chart.id!r} also used by {paths[chart.id]}")
            )
            continue
        charts[chart.id], paths[chart.id], datas[chart.id], digests[chart.id] = (
            chart, path, data, digest,
        )
    if problems:
        raise FlowchartError(problems)
    entries = [cid for cid, c in charts.items() if c.entry]
    if len(entries) != 1:
        names = ", ".join(entries) or "none"
        message = f"exactly one chart needs 'entry: true' (found {names})"
        raise FlowchartError([DocumentError(directory, None, message)])
    flowset = FlowSet(charts, paths, datas, digests, entries[0])
    cat_path = catalogue_path(directory)
    if cat_path.is_file():
        try:
            flowset.catalogue = load_catalogue(cat_path, flowset)
        except DocumentError as exc:
            raise FlowchartError([exc]) from None
    if check:
        errors = lint(flowset)
        if errors:
            raise FlowchartError(errors)
    return flowset


# -- lint ------------------------------------------------------------------------------


def _texts(node: Node) -> Iterator[tuple[str, str]]:
    """(field name, Jinja source) pairs of a node."""
    yield "text", node.text
    if node.help:
        yield "help", node.help
    command = getattr(node, "command", None)
    if command:
        yield "command", command
    for family_command in (node.commands or {}).values():
        yield "commands", family_command
    probe = getattr(node, "probe", None)
    if probe is not None:
        for value in probe.args.values():
            yield "probe", value
    default = getattr(node, "default", None)
    if default:
        yield "default", default
    if isinstance(node, BranchNode):
        for case in node.cases:
            yield "cases", "{{ " + case.when + " }}"


def _defined_by(node: Node) -> set[str]:
    var = getattr(node, "var", None)
    return {var} if var else set()


@without_cycle_collection
def lint(fs: FlowSet) -> list[DocumentError]:
    """Graph and content checks beyond the schema. Returns problems, never raises."""
    from wizard.base.textrender import TextError, variables

    problems: list[DocumentError] = []

    # starts and links
    for cid, chart in fs.charts.items():
        if chart.start not in chart.nodes:
            hint = did_you_mean(chart.start, list(chart.nodes))
            data = fs.lined(cid)
            line = data.key_lines.get("start") if isinstance(data, LineDict) else None
            problems.append(
                DocumentError(fs.paths[cid], line, f"start node {chart.start!r} not found{hint}")
            )
    if problems:
        return problems

    all_keys = set(fs.node_keys())
    for key in sorted(all_keys):
        node = fs.node(key)
        for link, target in zip(node_links(node), fs.successors(key), strict=True):
            if target in all_keys:
                continue
            chart_id = target.split(".", 1)[0]
            if chart_id not in fs.charts:
                pool = list(fs.charts)
                what = f"chart {chart_id!r}"
                needle = chart_id
            else:
                pool = list(fs.charts[chart_id].nodes)
                what = f"node {target.split('.', 1)[1]!r}" + (
                    f" in chart {chart_id!r}" if chart_id != key.split(".", 1)[0] else ""
                )
                needle = target.split(".", 1)[1]
            hint = did_you_mean(needle, pool)
            problems.append(fs.problem(key, f"link {link!r}: {what} not found{hint}",
                                       _link_field(node, link)))
    if problems:
        return problems

    # reachability from the entry
    reach: set[str] = set()
    todo = deque([fs.start_key])
    while todo:
        k = todo.popleft()
        if k in reach:
            continue
        reach.add(k)
        todo.extend(fs.successors(k))
    for key in sorted(all_keys - reach):
        problems.append(fs.problem(key, "unreachable from the start of the call"))

    # every reachable node must be able to end with a status
    preds: dict[str, set[str]] = {k: set() for k in all_keys}
    for k in all_keys:
        for s in fs.successors(k):
            preds[s].add(k)
    can_end: set[str] = set()
    todo = deque(k for k in all_keys if isinstance(fs.node(k), TerminalNode))
    while todo:
        k = todo.popleft()
        if k in can_end:
            continue
        can_end.add(k)
        todo.extend(preds[k])
    for key in sorted(reach - can_end):
        problems.append(
            fs.problem(key, "no path from here ends with a status (a loop with no way out)")
        )

    # texts: syntax, and variables defined on every path that reaches them
    order = _reverse_postorder(fs, fs.start_key)
    bit: dict[str, int] = {}
    for name in sorted(BUILTIN_VARS):
        bit[name] = 1 << len(bit)
    defines: dict[str, int] = {}
    for k in order:
        for var in _defined_by(fs.node(k)):
            if var not in bit:
                bit[var] = 1 << len(bit)
            defines[k] = bit[var]
    builtins = sum(bit[n] for n in BUILTIN_VARS)
    must = _must_define(fs, order, preds, defines, builtins)
    all_vars = set(BUILTIN_VARS) | {v for k in all_keys for v in _defined_by(fs.node(k))}
    suspects: list[tuple[str, str, str]] = []
    for key in sorted(reach):
        node = fs.node(key)
        defined = must.get(key, 0)
        for fname, source in _texts(node):
            try:
                used = variables(source)
            except TextError as exc:
                problems.append(fs.problem(key, str(exc), fname))
                continue
            suspects.extend((key, fname, name) for name in sorted(used)
                            if not defined & bit.get(name, 0))
    if any(name in all_vars for _, _, name in suspects):
        # only then: paths that earlier answers rule out (a branch on a choice) are dropped
        for var, values in _decided_vars(fs, order).items():
            refined = _must_define_given(fs, order, preds, defines, builtins, var, values)
            for key, bits in refined.items():
                must[key] = must.get(key, 0) | bits
    for key, fname, name in suspects:
        if must.get(key, 0) & bit.get(name, 0):
            continue
        if name in all_vars:
            msg = f"{{{{ {name} }}}} may be undefined: not every path here sets it"
        else:
            hint = did_you_mean(name, sorted(all_vars))
            msg = f"unknown variable {name!r}{hint}"
        problems.append(fs.problem(key, msg, fname))

    problems.extend(_lint_probes(fs))
    return problems


def _reverse_postorder(fs: FlowSet, start: str) -> list[str]:
    """Nodes reachable from ``start``, each before its successors except along loops."""
    post: list[str] = []
    seen = {start}
    stack: list[tuple[str, Iterator[str]]] = [(start, iter(fs.successors(start)))]
    while stack:
        key, children = stack[-1]
        for child in children:
            if child not in seen:
                seen.add(child)
                stack.append((child, iter(fs.successors(child))))
                break
        else:
            stack.pop()
            post.append(key)
    post.reverse()
    return post


def _must_define(fs: FlowSet, order: list[str], preds: dict[str, set[str]],
                 defines: dict[str, int], builtins: int) -> dict[str, int]:
    """For each reachable node, the variables (bit set) set on every path to it.

    A forward "must" data-flow problem solved in reverse postorder: one pass for a
    flowchart without loops, one more per loop nesting level otherwise. Node names and
    the order of files play no part.
    """
    must: dict[str, int] = {order[0]: builtins} if order else {}
    changed = True
    while changed:
        changed = False
        for k in order[1:]:
            incoming = -1
            for p in preds[k]:
                if p in must:
                    incoming &= must[p] | defines.get(p, 0)
            if incoming != -1 and must.get(k) != incoming:
                must[k] = incoming
                changed = True
    return must


_UNSET = None
"""The value class of a variable not (yet) set on a path."""


def _answer_edges(fs: FlowSet, key: str, node: Node) -> list[tuple[str, str]] | None:
    """(successor, value) of each answer of a node whose answer can only be one of
    fixed values (a choice, a yes/no, a check); None for a free text."""
    chart = key.split(".", 1)[0]
    options = getattr(node, "options", None)
    if isinstance(node, (ChoiceNode, CheckNode)) and options is not None:
        return [(fs.resolve(chart, o.next), o.value) for o in options]
    if isinstance(node, (YesNoNode, CheckNode)):
        return [(fs.resolve(chart, link), value)
                for link, value in ((node.yes, "yes"), (node.no, "no")) if link]
    return None


def _decided_vars(fs: FlowSet, order: list[str]) -> dict[str, frozenset[str]]:
    """Variables a reachable branch condition reads that only fixed-answer nodes set,
    with the values they can take."""
    from wizard.base.textrender import variables

    values: dict[str, set[str]] = {}
    free: set[str] = set(BUILTIN_VARS)
    read: set[str] = set()
    for key in order:
        node = fs.node(key)
        var = getattr(node, "var", None)
        if var:
            edges = _answer_edges(fs, key, node)
            if edges is None:
                free.add(var)
            else:
                values.setdefault(var, set()).update(v for _, v in edges)
        if isinstance(node, BranchNode):
            for case in node.cases:
                read |= variables("{{ " + case.when + " }}")
    return {v: frozenset(vals) for v, vals in values.items() if v in read and v not in free}


def _truth(expr: Any, var: str, value: str | None) -> bool | None:
    """What a branch condition gives when ``var`` has ``value`` (``_UNSET``: not set),
    whatever the other variables are: True, False, or None when that is not decided
    (any form not understood here is undecided, so no path is wrongly dropped)."""
    from jinja2 import nodes as jn

    if value is _UNSET:
        return None
    if isinstance(expr, jn.Not):
        inner = _truth(expr.node, var, value)
        return None if inner is None else not inner
    if isinstance(expr, (jn.And, jn.Or)):
        left, right = _truth(expr.left, var, value), _truth(expr.right, var, value)
        stop = isinstance(expr, jn.Or)  # the value that decides the whole
        if stop in (left, right):
            return stop
        return None if None in (left, right) else not stop
    if isinstance(expr, jn.Name) and expr.name == var:
        return bool(value)
    if not (isinstance(expr, jn.Compare) and len(expr.ops) == 1
            and isinstance(expr.expr, jn.Name) and expr.expr.name == var):
        return None
    op, other = expr.ops[0].op, expr.ops[0].expr
    if op in ("eq", "ne") and isinstance(other, jn.Const) and isinstance(other.value, str):
        return (value == other.value) == (op == "eq")
    items: list[Any] = list(other.items) if isinstance(other, (jn.List, jn.Tuple)) else []
    if (op in ("in", "notin") and items
            and all(isinstance(i, jn.Const) and isinstance(i.value, str) for i in items)):
        return (value in {i.value for i in items}) == (op == "in")
    return None


def _conditions(node: BranchNode) -> list[Any]:
    """The parsed condition of each case of a branch."""
    from jinja2 import Environment

    env = Environment(autoescape=True)  # parsing only: nothing is rendered
    trees: list[Any] = [env.parse("{{ " + case.when + " }}").body[0] for case in node.cases]
    return [tree.nodes[0] for tree in trees]


def _branch_targets(fs: FlowSet, key: str, node: BranchNode, conditions: list[Any],
                    var: str, value: str | None) -> set[str]:
    """The successors a branch may take when ``var`` has ``value``."""
    chart = key.split(".", 1)[0]
    targets: set[str] = set()
    for case, expr in zip(node.cases, conditions, strict=True):
        truth = _truth(expr, var, value)
        if truth is not False:
            targets.add(fs.resolve(chart, case.next))
        if truth is True:
            return targets
    targets.add(fs.resolve(chart, node.otherwise))
    return targets


def _must_define_given(fs: FlowSet, order: list[str], preds: dict[str, set[str]],
                       defines: dict[str, int], builtins: int, var: str,
                       values: frozenset[str]) -> dict[str, int]:
    """Like :func:`_must_define`, with the paths split by the value ``var`` has on
    them: a branch on ``var`` passes only the values its condition can let through,
    so a path that earlier answers rule out adds nothing. Sound for any condition:
    one this check does not understand lets every value through."""
    classes: list[str | None] = [_UNSET, *sorted(values)]
    # per node and successor, the value classes that pass along that edge
    passes: dict[tuple[str, str], dict[str | None, set[str | None]]] = {}
    for k in order:
        node = fs.node(k)
        edges = _answer_edges(fs, k, node) if getattr(node, "var", None) == var else None
        if edges is not None:
            for succ, value in edges:
                for c in classes:
                    passes.setdefault((k, succ), {}).setdefault(c, set()).add(value)
        elif isinstance(node, BranchNode):
            conditions = _conditions(node)
            for c in classes:
                for succ in _branch_targets(fs, k, node, conditions, var, c):
                    passes.setdefault((k, succ), {}).setdefault(c, set()).add(c)
    state: dict[str, dict[str | None, int]] = {order[0]: {_UNSET: builtins}} if order else {}
    changed = True
    while changed:
        changed = False
        for k in order[1:]:
            incoming: dict[str | None, int] = {}
            for p in preds[k]:
                through = passes.get((p, k))
                for c, bits in state.get(p, {}).items():
                    out = bits | defines.get(p, 0)
                    for c2 in (through.get(c, ()) if through is not None else (c,)):
                        incoming[c2] = incoming.get(c2, -1) & out
            if incoming and state.get(k) != incoming:
                state[k] = incoming
                changed = True
    result: dict[str, int] = {}
    for k, by_class in state.items():
        bits = -1
        for b in by_class.values():
            bits &= b
        result[k] = bits
    return result


@without_cycle_collection
def route_count(fs: FlowSet) -> tuple[int, bool]:
    """How many distinct routes lead from the start to an end, and whether the charts
    loop. Answers that lead to the same node make one route; with loops, routes that
    go back to an earlier step are not counted. One pass over the graph."""
    order = _reverse_postorder(fs, fs.start_key)
    index = {k: i for i, k in enumerate(order)}
    counts: dict[str, int] = {}
    loops = False
    for k in reversed(order):
        if isinstance(fs.node(k), TerminalNode):
            counts[k] = 1
            continue
        total = 0
        for target in set(fs.successors(k)):
            if index[target] > index[k]:
                total += counts[target]
            else:
                loops = True
        counts[k] = total
    return counts.get(fs.start_key, 0), loops


def _link_field(node: Node, link: str) -> str | None:
    for name in ("yes", "no", "next", "target", "otherwise"):
        if getattr(node, name, None) == link:
            return name
    if isinstance(node, BranchNode):
        return "cases"
    return "options" if getattr(node, "options", None) is not None else None


def _lint_probes(fs: FlowSet) -> list[DocumentError]:
    from wizard.checks import PROBES

    problems: list[DocumentError] = []
    for key in sorted(fs.node_keys()):
        node = fs.node(key)
        if not isinstance(node, CheckNode):
            continue
        spec = PROBES.get(node.probe.name)
        if spec is None:
            hint = did_you_mean(node.probe.name, list(PROBES))
            problems.append(fs.problem(key, f"unknown probe {node.probe.name!r}{hint}", "probe"))
            continue
        given, wanted = set(node.probe.args), set(spec.params)
        if given != wanted:
            problems.append(fs.problem(
                key,
                f"probe {spec.name!r} takes arguments {sorted(wanted)}, got {sorted(given)}",
                "probe",
            ))
    return problems
