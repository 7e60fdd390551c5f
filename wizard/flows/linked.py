"""A loaded set of flowcharts, linked: its nodes by key (``chart_id.node_id``), the
links between them, and where each node is written (file and line).

In ``next``/``yes``/``no``/``options[].next`` a bare id is a node of the same file and
``chart.node`` a node of another file; a ``goto`` target is a chart id (its start node)
or ``chart.node``. Loading is :mod:`wizard.flows.flowset`, lint :mod:`wizard.flows.lint`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wizard.base.documents import DocumentError, LineDict
from wizard.flows.nodes import Catalogue, Flowchart, GotoNode, Node, node_links

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
