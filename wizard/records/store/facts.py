"""What is stored of a call: its row, its steps and its known issues, worked out from
its journal and the route its answers take through the flowcharts."""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from operator import itemgetter
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from wizard.calls.journal import CallState, now_iso
from wizard.flows.vocabulary import OPEN
from wizard.records.store.schema import (
    PRACTICE_MODES,
    ROW_FORMAT,
    call_known_issues,
    call_steps,
    calls,
)

if TYPE_CHECKING:
    from wizard.calls.engine import Engine as Engine_
    from wizard.calls.engine import Step as Step_
    from wizard.flows.flowset import FlowSet

# -- what is stored ---------------------------------------------------------------------

_FALLBACK_KEYS = {
    "target": ("intake.target",),
    "caller_machine": ("intake.caller_machine", "intake.server_name"),
    "scope": ("intake.scope",),
    "severity": ("intake.severity",),
    "extent": ("intake.extent",),
    "call_type": ("intake.call_type",),
}


@lru_cache(maxsize=1)
def _shipped_flowset() -> FlowSet | None:
    from wizard.base.resources import builtin_dir
    from wizard.flows.flowset import FlowchartError, load_flowset

    try:
        return load_flowset(builtin_dir("flowcharts"), check=False)
    except (FlowchartError, OSError):
        return None


_ENGINES: dict[int, tuple[FlowSet, Engine_]] = {}


def _engine(fs: FlowSet) -> Engine_:
    """One engine per flowset (building one walks every node)."""
    from wizard.calls.engine import Engine as FlowEngine

    hit = _ENGINES.get(id(fs))
    if hit is None or hit[0] is not fs:
        if len(_ENGINES) > 8:
            _ENGINES.clear()
        hit = _ENGINES[id(fs)] = (fs, FlowEngine(fs))
    return hit[1]


def _route(state: CallState, fs: FlowSet | None) -> Step_ | None:
    """Where the call's answers lead in ``fs`` (else the shipped flowcharts); None when
    they cannot be followed (flowcharts changed beyond recognition)."""
    flowset = fs if fs is not None else _shipped_flowset()
    if flowset is None:
        return None
    from wizard.calls.engine import EngineError

    try:
        return _engine(flowset).step(state.values())
    except (EngineError, KeyError, ValueError):
        return None


def call_facts(state: CallState, fs: FlowSet | None = None,
               step: Step_ | None = None) -> dict[str, str]:
    """Target, caller machine, scope, severity, extent and kind of call of a call.

    Read from the flowchart variables along the call's route (``fs``, else the shipped
    flowcharts), so only answers still on the route count; anything the route does not
    give (flowcharts changed since) comes from the intake answers by name.
    """
    from wizard.calls.engine import StepKind

    values = state.values()
    if step is None:
        step = _route(state, fs)
    context: Mapping[str, Any] = step.context if step is not None else {}
    complete = step is not None and step.kind is StepKind.END
    facts: dict[str, str] = {}
    for var, keys in _FALLBACK_KEYS.items():
        value = context.get(var)
        if not value and not complete:  # the route stops short: flowcharts changed
            value = next((values[k] for k in keys if values.get(k)), "")
        facts[var] = str(value or "")
    return facts


def _time(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return None


def _seconds(started: str, ended: str) -> float | None:
    begin, end = _time(started), _time(ended)
    if begin is None or end is None:
        return None
    try:
        took = (end - begin).total_seconds()
    except TypeError:  # one with a UTC offset, one without
        return None
    return took if took >= 0 else None


def step_times(state: CallState, step: Step_ | None) -> list[tuple[str, int | None, bool]]:
    """The steps a call reached, in route order: (node key, seconds spent, final).

    The time on a step runs from the answer before it (or the start of the call, or its
    resumption after a pause) to its own answer, so a pause between sessions is not
    counted. The final step is where the call ended (its exit, or the question it was
    abandoned at; its time runs to the end) or, for an open call, where it waits."""
    if step is None:
        return []
    marks: list[tuple[datetime, str | None]] = []
    for mark in (state.started, *state.resumed):
        t = _time(mark)
        if t is not None:
            marks.append((t, None))
    order: list[str] = []
    for visit in step.route:
        record = state.answers.get(visit.key) if visit.answered else None
        if record is None:
            continue
        if visit.node_key not in order:
            order.append(visit.node_key)
        t = _time(record.at)
        if t is not None:
            marks.append((t, visit.node_key))
    spent: dict[str, float] = {}
    previous: datetime | None = None
    with contextlib.suppress(TypeError):  # offsets mixed with naive times: no timing
        for t, key in sorted(marks, key=itemgetter(0)):
            if key is not None and previous is not None:
                spent[key] = spent.get(key, 0.0) + max(0.0, (t - previous).total_seconds())
            previous = t
    final = step.visit.node_key
    if final not in order:
        order.append(final)
    ended = _time(str(state.ended.get("t", ""))) if state.ended is not None else None
    if ended is not None and previous is not None:
        with contextlib.suppress(TypeError):
            spent[final] = spent.get(final, 0.0) + max(0.0, (ended - previous).total_seconds())
    return [(key, round(spent[key]) if key in spent else None, key == final)
            for key in order]


def flowchart_version(flowcharts: Mapping[str, str], used: Iterable[str]) -> str:
    """The versions of the flowcharts a call went through: "fig7_1 1.0, intake 1.0"."""
    charts = {key.split(".", 1)[0] for key in used if key}
    return ", ".join(f"{c} {str(flowcharts[c]).split(' (', 1)[0]}"  # the version, no digest
                     for c in sorted(charts) if c in flowcharts)


def _clip(value: Any, name: str, table: sa.Table | None = None) -> str:
    text = "" if value is None else str(value)
    length = getattr((calls if table is None else table).c[name].type, "length", None)
    return text[:length] if length else text


def _last_activity(state: CallState) -> str:
    times = [state.started, *state.resumed, *(a.at for a in state.answers.values())]
    known = [(t, text) for text in times if (t := _time(text)) is not None]
    with contextlib.suppress(TypeError):
        return max(known, key=itemgetter(0))[1] if known else state.started
    return state.started


@dataclass(frozen=True)
class Record:
    """What is stored of one call: its row, its steps and its known issues."""

    row: dict[str, Any]
    steps: list[dict[str, Any]]
    issues: list[dict[str, Any]]

    @property
    def call_id(self) -> str:
        return str(self.row["call_id"])


def record_of(state: CallState, fs: FlowSet | None = None) -> Record:
    """The stored form of a call, ended or still open."""
    step = _route(state, fs)
    facts = call_facts(state, fs, step)
    if state.ended is not None:
        ended = str(state.ended.get("t", ""))
        status = str(state.ended.get("status", ""))
        duration = _seconds(state.started, ended)
    else:
        ended, status, duration = _last_activity(state), OPEN, None
    end = state.ended or {}
    steps = step_times(state, step)
    used = [k for k, _s, _f in steps] + list(state.answers)
    row: dict[str, Any] = {
        "call_id": state.call_id, "started": state.started, "ended": ended,
        "duration_s": duration, "staffer": state.staffer, "status": status,
        "category": str(end.get("category") or ""),
        "terminal": str(end.get("terminal") or ""),
        "tier2": bool(end.get("tier2")),
        "tier2_group": end.get("tier2_group") or "",
        "mode": state.mode, "runs_on": state.runs_on,
        "flowchart_version": flowchart_version(state.flowcharts, used),
        **facts,
        **handoff_facts(state.handoffs),
    }
    for name in list(row):
        if isinstance(calls.c[name].type, sa.String):
            row[name] = _clip(row[name], name)
    row.update({
        "flowcharts": json.dumps(state.flowcharts, sort_keys=True),
        "answers": json.dumps(state.values(), sort_keys=True, ensure_ascii=False),
        "notes": json.dumps(state.notes, sort_keys=True, ensure_ascii=False),
        "known_issues": json.dumps(sorted(state.known_issues), ensure_ascii=False),
        "resumed": len(state.resumed), "stored_at": now_iso(), "row_format": ROW_FORMAT,
        "practice": bool(state.practice or state.mode in PRACTICE_MODES),
        "sensitive_requests": len(state.sensitive_requests),
    })
    return Record(
        row=row,
        steps=[{"call_id": state.call_id, "seq": n, "step": _clip(key, "step", call_steps),
                "seconds": seconds, "final": final}
               for n, (key, seconds, final) in enumerate(steps)],
        issues=[{"call_id": state.call_id, "issue": issue}
                for issue in dict.fromkeys(_clip(i, "issue", call_known_issues)
                                           for i in sorted(state.known_issues) if i)])


def handoff_digest(handoffs: Sequence[Mapping[str, Any]]) -> str:
    """A digest of a call's hand-off events ("" without any): a call handed off after
    it was stored has another one, so ``sync`` stores it again."""
    if not handoffs:
        return ""
    text = json.dumps(list(handoffs), sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def handoff_facts(handoffs: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The stored hand-off facts of a call, from its journal's ``handoff`` events: the
    newest one that reached Tier 2 (its kind, ticket number and link), else the newest
    attempt (queued or failed); status ``none`` without any."""
    sent = [h for h in handoffs if h.get("status") == "sent"]
    last = sent[-1] if sent else (handoffs[-1] if handoffs else None)
    if last is None:
        return {"handoff_status": "none", "handoff_kind": "", "handoff_number": "",
                "handoff_url": "", "handoff_at": "", "handoff_digest": ""}
    facts = {"handoff_status": last.get("status") or "failed",
             "handoff_kind": last.get("kind"), "handoff_number": last.get("number"),
             "handoff_url": last.get("url"), "handoff_at": last.get("t")}
    return {**{k: _clip(v, k) for k, v in facts.items()},
            "handoff_digest": handoff_digest(handoffs)}


def row_of(state: CallState, fs: FlowSet | None = None) -> dict[str, Any]:
    """The stored row of an ended call (ValueError if it has not ended)."""
    if state.ended is None:
        raise ValueError(f"call {state.call_id} has not ended")
    return record_of(state, fs).row


def stored_version(state: CallState) -> str:
    """What a stored row of this call holds as its ``ended``: the end, or for an open
    call its last activity (a later state replaces an earlier one)."""
    return str(state.ended.get("t", "")) if state.ended is not None else _last_activity(state)
