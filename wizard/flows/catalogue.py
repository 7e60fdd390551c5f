"""The known-issues catalogue: symptoms the source texts name, and what Tier 1 does.

``flowcharts/catalogue/known_issues.yaml`` lists entries. Each has match rules; an
entry matches a call when any rule does:

- ``step`` + ``value``: an answer given (e.g. ``fig7_1.net_autoconfig: "yes"``);
- ``probe`` (+ ``status``, + ``data``): an automatic check's result;
- ``text``: a phrase (whole words, any case) in a free-text answer, a note or a check's
  evidence (e.g. "Negotiating IP security", "4292").

The wizard shows a matching entry as soon as it matches and the ticket names it
(the matching itself is :mod:`wizard.calls.known_issues`: it reads a call).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

from wizard.base.documents import DocumentError, LineDict, did_you_mean
from wizard.base.textrender import TextError, variables
from wizard.flows import answer_rules
from wizard.flows.nodes import Catalogue, Node, from_model

CATALOGUE_DIR = "catalogue"
CATALOGUE_FILE = "known_issues.yaml"


class FlowSet(Protocol):
    """What the catalogue needs of a flowchart set to check the steps it names."""

    def has(self, key: str) -> bool: ...

    def node(self, key: str) -> Node: ...

    def node_keys(self) -> Iterator[str]: ...


def catalogue_path(flowchart_dir: Path) -> Path:
    return flowchart_dir / CATALOGUE_DIR / CATALOGUE_FILE


def _describe(loc: tuple[int | str, ...]) -> str:
    if len(loc) >= 2 and loc[0] == "entries":
        rest = ".".join(str(p) for p in loc[2:])
        return f"entry {int(loc[1]) + 1}" + (f": field '{rest}'" if rest else "")
    return f"field '{'.'.join(str(p) for p in loc)}'" if loc else ""


def load_catalogue(path: Path, fs: FlowSet | None = None) -> Catalogue:
    """Load and check the catalogue; raise DocumentError (one line) on a problem."""
    from pydantic import ValidationError

    from wizard.base.yamlio import format_validation_error, load_document
    from wizard.flows.catalogue_schema import Catalogue as CatalogueModel

    data = load_document(path)
    try:
        cat: Catalogue = from_model(CatalogueModel.model_validate(data))
    except ValidationError as exc:
        raise format_validation_error(exc, data, path, describe_loc=_describe)[0] from None
    problems = check(cat, data, path, fs)
    if problems:
        raise problems[0]
    return cat


def check(cat: Catalogue, data: Any, path: Path, fs: FlowSet | None) -> list[DocumentError]:
    """Ids unique; steps, values and probes real."""
    from wizard.checks import PROBES

    out: list[DocumentError] = []
    entries = data.get("entries") if isinstance(data, LineDict) else None
    seen: set[str] = set()
    for i, entry in enumerate(cat.entries):
        line = entries[i].line if isinstance(entries, list) and isinstance(
            entries[i], LineDict) else None
        if entry.id in seen:
            out.append(DocumentError(path, line, f"entry '{entry.id}': id used twice"))
        seen.add(entry.id)
        if fs is not None:
            known = {getattr(fs.node(k), "var", None) for k in fs.node_keys()} - {None}
            try:
                used = variables(entry.ticket)
            except TextError as exc:
                out.append(DocumentError(path, line, f"entry '{entry.id}': ticket: {exc}"))
                used = set()
            for name in sorted(used - known):
                out.append(DocumentError(
                    path, line, f"entry '{entry.id}': ticket: no step records {name!r}"))
        for m in entry.match:
            if m.probe is not None and m.probe not in PROBES:
                hint = did_you_mean(m.probe, list(PROBES))
                out.append(DocumentError(path, line,
                                         f"entry '{entry.id}': unknown probe {m.probe!r}{hint}"))
            if m.step is not None and fs is not None:
                if not fs.has(m.step):
                    hint = did_you_mean(m.step, sorted(fs.node_keys()))
                    out.append(DocumentError(
                        path, line, f"entry '{entry.id}': unknown step {m.step!r}{hint}"))
                    continue
                try:
                    answer_rules.validate(fs.node(m.step), m.value, m.step)
                except answer_rules.AnswerError as exc:
                    out.append(DocumentError(path, line, f"entry '{entry.id}': {exc}"))
    return out
