"""Flowcharts as Mermaid diagrams, optionally with a recorded call's route highlighted."""

from __future__ import annotations

import re
from collections.abc import Iterable

from wizard.flows.flowset import FlowSet
from wizard.flows.nodes import (
    BranchNode,
    CheckNode,
    ChoiceNode,
    Node,
    TerminalNode,
    YesNoNode,
    node_links,
)

_SHAPES = {
    "yesno": ('{"', '"}'),
    "check": ('{{"', '"}}'),
    "choice": ('{"', '"}'),
    "branch": ('{"', '"}'),
    "text": ('[/"', '"/]'),
    "action": ('["', '"]'),
    "note": ('>"', '"]'),
    "goto": ('[["', '"]]'),
    "terminal": ('(["', '"])'),
}


def _label(text: str, limit: int = 70) -> str:
    text = " ".join(text.split())
    text = re.sub(r"\{\{-?\s*(.*?)\s*-?\}\}", r"<\1>", text)
    text = re.sub(r"\{%.*?%\}", "", text)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text.replace('"', "#quot;")


def _mid(key: str) -> str:
    return key.replace(".", "__")


def _node_label(node: Node) -> str:
    if isinstance(node, TerminalNode):
        return _label(f"{node.status.label} · {node.category.value}: {node.text}")
    return _label(node.text)


def _edge_labels(node: Node) -> list[str]:
    if isinstance(node, (ChoiceNode, CheckNode)) and node.options is not None:
        return [_label(o.label, 30) for o in node.options]
    if isinstance(node, (YesNoNode, CheckNode)):
        return ["yes", "no"]
    if isinstance(node, BranchNode):
        return [_label(c.when, 30) for c in node.cases] + ["otherwise"]
    return [""] * len(node_links(node))


def render(fs: FlowSet, charts: Iterable[str], route: Iterable[str] = ()) -> str:
    """Mermaid ``flowchart TD`` text for ``charts``; ``route`` is node keys visited."""
    wanted = list(charts)
    visited = list(route)
    taken = set(zip(visited, visited[1:], strict=False))
    lines = ["flowchart TD"]
    edges: list[tuple[str, str, str]] = []
    external: dict[str, str] = {}
    for cid in wanted:
        chart = fs.charts[cid]
        lines.append(f'  subgraph {cid}["{_label(chart.title)}"]')
        for nid, node in chart.nodes.items():
            key = f"{cid}.{nid}"
            left, right = _SHAPES[node.kind]
            lines.append(f"    {_mid(key)}{left}{_node_label(node)}{right}")
            for target, label in zip(fs.successors(key), _edge_labels(node), strict=True):
                edges.append((key, target, label))
                tchart = target.split(".", 1)[0]
                if tchart not in wanted and fs.has(target):
                    external[target] = fs.charts[tchart].title
        lines.append("  end")
    for target, title in external.items():
        lines.append(f'  {_mid(target)}[["{_label(title)}"]]')
    highlight: list[int] = []
    for i, (src, dst, label) in enumerate(edges):
        arrow = f"-- {label} -->" if label else "-->"
        lines.append(f"  {_mid(src)} {arrow} {_mid(dst)}")
        if (src, dst) in taken:
            highlight.append(i)
    if visited:
        lines.append("  classDef visited fill:#d4f7d4,stroke:#2e7d32,stroke-width:3px")
        shown = [k for k in dict.fromkeys(visited) if k.split(".", 1)[0] in wanted]
        if shown:
            lines.append(f"  class {','.join(_mid(k) for k in shown)} visited")
        if highlight:
            lines.append(
                f"  linkStyle {','.join(map(str, highlight))} stroke:#2e7d32,stroke-width:3px"
            )
    return "\n".join(lines) + "\n"
