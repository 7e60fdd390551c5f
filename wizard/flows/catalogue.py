"""The known-issues catalogue: symptoms the source texts name, and what Tier 1 does.

``flowcharts/catalogue/known_issues.yaml`` lists entries. Each has match rules; an
entry matches a call when any rule does:

- ``step`` + ``value``: an answer given (e.g. ``fig7_1.net_autoconfig: "yes"``);
- ``probe`` (+ ``status``, + ``data``): an automatic check's result;
- ``text``: a phrase (whole words, any case) in a free-text answer, a note or a check's
  evidence (e.g. "Negotiating IP security", "4292").

The wizard shows a matching entry as soon as it matches and the ticket names it.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wizard.base.textrender import TextError, variables
from wizard.base.yamlio import DocumentError, LineDict
from wizard.flows import answers as answer_rules
from wizard.flows.nodes import Catalogue, Entry, TextNode, Validator, from_model

if TYPE_CHECKING:
    from wizard.calls.journal import CallState
    from wizard.flows.flowset import FlowSet

CATALOGUE_DIR = "catalogue"
CATALOGUE_FILE = "known_issues.yaml"
_FREE_TEXT = (Validator.ANY, Validator.NONEMPTY)


@dataclass(frozen=True)
class Hit:
    entry: Entry
    why: str


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
                close = difflib.get_close_matches(m.probe, list(PROBES), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                out.append(DocumentError(path, line,
                                         f"entry '{entry.id}': unknown probe {m.probe!r}{hint}"))
            if m.step is not None and fs is not None:
                if not fs.has(m.step):
                    close = difflib.get_close_matches(m.step, sorted(fs.node_keys()), n=1)
                    hint = f" (did you mean {close[0]!r}?)" if close else ""
                    out.append(DocumentError(
                        path, line, f"entry '{entry.id}': unknown step {m.step!r}{hint}"))
                    continue
                try:
                    answer_rules.validate(fs.node(m.step), m.value, m.step)
                except answer_rules.AnswerError as exc:
                    out.append(DocumentError(path, line, f"entry '{entry.id}': {exc}"))
    return out


def _has_phrase(haystack: str, phrase: str) -> bool:
    pattern = r"(?<![\w.])" + re.escape(phrase) + r"(?![\w])"
    return re.search(pattern, haystack, re.IGNORECASE) is not None


def _texts(state: CallState, fs: FlowSet) -> Iterable[tuple[str, str]]:
    for key, rec in state.answers.items():
        node_key = key.split("@", 1)[0]
        if fs.has(node_key):
            node = fs.node(node_key)
            if isinstance(node, TextNode) and node.validate_as in _FREE_TEXT:
                yield f"answer to {key}", rec.value
    for key, notes in state.notes.items():
        for note in notes:
            yield f"note on {key}", note
    for key, result in state.probes.items():
        yield f"check {result.probe} at {key}", f"{result.summary}\n{result.evidence}"


def matches(cat: Catalogue, state: CallState, fs: FlowSet,
            route: Iterable[str] | None = None) -> list[Hit]:
    """Entries that match what the call has shown so far (answers on ``route`` only,
    when given: an answer changed away from the route no longer counts)."""
    on_route = set(route) if route is not None else None
    hits: list[Hit] = []
    texts = list(_texts(state, fs))
    for entry in cat.entries:
        why = _why(entry, state, texts, on_route)
        if why:
            hits.append(Hit(entry, why))
    return hits


def _why(entry: Entry, state: CallState, texts: list[tuple[str, str]],
         on_route: set[str] | None) -> str | None:
    for m in entry.match:
        if m.step is not None:
            for key, rec in state.answers.items():
                if key.split("@", 1)[0] != m.step or rec.value != m.value:
                    continue
                if on_route is None or key in on_route:
                    return f"answer {key} = {rec.value}"
        elif m.probe is not None:
            for key, result in state.probes.items():
                if result.probe != m.probe:
                    continue
                if m.status is not None and result.status.value != m.status:
                    continue
                if m.data and any(result.data.get(k) != v for k, v in m.data.items()):
                    continue
                return f"check {result.probe} at {key}: {result.summary}"
        elif m.text is not None:
            for where, text in texts:
                if _has_phrase(text, m.text):
                    return f'"{m.text}" in the {where}'
    return None
