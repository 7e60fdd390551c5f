"""Which known-issue entries a call matches (the catalogue: :mod:`wizard.flows.catalogue`).

An entry matches when any of its rules does: an answer given, an automatic check's
result, or a phrase in a free-text answer, a note or a check's evidence.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass

from wizard.calls.journal import CallState
from wizard.flows.flowset import FlowSet
from wizard.flows.nodes import Catalogue, Entry, TextNode, Validator

_FREE_TEXT = (Validator.ANY, Validator.NONEMPTY)


@dataclass(frozen=True)
class Hit:
    entry: Entry
    why: str


@functools.lru_cache(maxsize=512)
def _phrase(phrase: str) -> re.Pattern[str]:
    """A catalogue phrase as a whole word or words, in any case (made once per phrase:
    the catalogue is matched again after every answer)."""
    return re.compile(r"(?<![\w.])" + re.escape(phrase) + r"(?![\w])", re.IGNORECASE)


def _has_phrase(haystack: str, phrase: str) -> bool:
    return _phrase(phrase).search(haystack) is not None


def _free_text_steps(fs: FlowSet) -> frozenset[str]:
    """The steps whose answers are free text, worked out once per flowchart set."""
    found = fs._memo.get("free_text_steps")
    if not isinstance(found, frozenset):
        found = fs._memo["free_text_steps"] = frozenset(
            key for key in fs.node_keys()
            if isinstance(node := fs.node(key), TextNode) and node.validate_as in _FREE_TEXT)
    return found


def _texts(state: CallState, fs: FlowSet) -> Iterable[tuple[str, str]]:
    free = _free_text_steps(fs)
    for key, rec in state.answers.items():
        if key.split("@", 1)[0] in free:
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
    # the call's answers by step, read once for all the entries (in the journal's order)
    by_step: dict[str, list[tuple[str, str]]] = {}
    for key, rec in state.answers.items():
        by_step.setdefault(key.split("@", 1)[0], []).append((key, rec.value))
    hits: list[Hit] = []
    texts = list(_texts(state, fs))
    for entry in cat.entries:
        why = _why(entry, state, by_step, texts, on_route)
        if why:
            hits.append(Hit(entry, why))
    return hits


def _why(entry: Entry, state: CallState, by_step: dict[str, list[tuple[str, str]]],
         texts: list[tuple[str, str]], on_route: set[str] | None) -> str | None:
    for m in entry.match:
        if m.step is not None:
            for key, value in by_step.get(m.step, ()):
                if value == m.value and (on_route is None or key in on_route):
                    return f"answer {key} = {value}"
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
