"""Synthetic flowchart sets of any size for the lint and engine benchmarks.

``shape`` is ``deep`` (one long chain of questions, every "no" ends the call) or
``wide`` (a balanced tree of questions); ``names`` is ``plain`` (n000001, n000002,
... in walking order) or ``random`` (unrelated names). Every tenth node is a text
question that sets a variable, and every fifth question's text uses the variable
set closest above it, so the variable check has real work in both shapes.

``content`` is ``questions`` (yes/no questions only, as above), ``checks`` (every eighth
yes/no question is an automatic TCP port check instead, shaped like the shipped ones:
the port quoted (``port: '445'``), ``on_ok: 'yes'``, ``yes:``/``no:`` keys, and texts
and help that also say "port 445" in words) or ``outcomes`` (every sixteenth: the same
checks answered by options whose values include a quoted yes and no, as the ping check
of the shipped ``fig7_1.yaml`` has).
"""

from __future__ import annotations

import random
from pathlib import Path

import yaml

SOURCE = "synthetic benchmark chart"


def _names(n: int, style: str, seed: int) -> list[str]:
    if style == "plain":
        return [f"n{i:06d}" for i in range(n)]
    rng = random.Random(seed)
    seen: set[str] = set()
    out: list[str] = []
    while len(out) < n:
        name = "q" + "".join(rng.choice("abcdefghijklmnopqrstuvwxyz_0123456789")
                             for _ in range(rng.randint(6, 14)))
        if name not in seen:
            seen.add(name)
            out.append(name)
    return out


PORTS = (445, 135, 139, 389, 88, 53, 3268, 636)
CONTENTS = ("questions", "checks", "outcomes")


def _check(i: int, text: str, yes: str, no: str, content: str) -> dict[str, object]:
    """A TCP port check in place of the yes/no question ``i``."""
    port = PORTS[i % len(PORTS)]
    node: dict[str, object] = {
        "kind": "check",
        "text": f"{text} Does server{i % 97} answer on TCP port {port}?",
        "help": f"Port {port} open? (port 445 is SMB)",
        "probe": {"name": "tcp_port", "args": {"host": f"server{i % 97}", "port": str(port)},
                  "on_ok": "yes", "on_fail": "no"},
        "source": f"{SOURCE}: test port {port}",
    }
    if content == "checks":
        node.update(yes=yes, no=no)
    else:
        node["options"] = [{"value": "yes", "label": f"Port {port} answers", "next": yes},
                           {"value": "no", "label": "No answer", "next": no},
                           {"value": "filtered", "label": "Filtered", "next": no}]
    return node


def chart(n: int, shape: str = "deep", names: str = "plain", seed: int = 1,
          content: str = "questions") -> dict[str, object]:
    """One flowchart (as data) of ``n`` question nodes plus two terminals."""
    if content not in CONTENTS:
        raise ValueError(content)
    ids = _names(n, names, seed)
    parent: dict[int, int] = {}
    if shape == "deep":
        children = {i: [i + 1] if i + 1 < n else [] for i in range(n)}
    elif shape == "wide":
        children = {i: [c for c in (2 * i + 1, 2 * i + 2) if c < n] for i in range(n)}
    else:
        raise ValueError(shape)
    for i, kids in children.items():
        for c in kids:
            parent[c] = i
    var_above: dict[int, str | None] = {}
    nodes: dict[str, object] = {}
    for i in range(n):  # parents come before their children in both shapes
        above = var_above.get(parent[i]) if i in parent else None
        kids = children[i]
        if i % 10 == 5 and len(kids) == 1:
            var = f"v{i}"
            var_above[i] = var
            nodes[ids[i]] = {"kind": "text", "text": "Value?", "var": var,
                             "validate": "any", "next": ids[kids[0]], "source": SOURCE}
            continue
        var_above[i] = above
        text = f"Question {i}" + (f" about {{{{ {above} }}}}?" if above and i % 5 == 0
                                  else "?")
        yes = ids[kids[0]] if kids else "fixed"
        no = ids[kids[1]] if len(kids) > 1 else "escalate"
        if content != "questions" and i % (8 if content == "checks" else 16) == 2:
            nodes[ids[i]] = _check(i, text, yes, no, content)
            continue
        nodes[ids[i]] = {"kind": "yesno", "text": text, "yes": yes, "no": no,
                         "source": SOURCE}
    nodes["fixed"] = {"kind": "terminal", "text": "Fixed.", "status": "fixed_understood",
                      "category": "network", "source": SOURCE}
    nodes["escalate"] = {"kind": "terminal", "text": "Escalate.", "status": "not_fixed",
                         "category": "network", "tier2": True, "team": "network_operations",
                         "source": SOURCE}
    return {"id": "main", "title": "Synthetic", "version": "1", "source": SOURCE,
            "entry": True, "start": ids[0], "nodes": nodes}


def write(directory: Path, n: int, shape: str = "deep", names: str = "plain",
          content: str = "questions") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "main.yaml"
    path.write_text(yaml.safe_dump(chart(n, shape, names, content=content), sort_keys=False,
                                   allow_unicode=True), encoding="utf-8")
    return directory
