"""What a report holds: its breakdowns, groups, periods, steps and hand-offs, and the
labels of stored values."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from wizard.flows.nodes import Category, ChoiceNode
from wizard.flows.vocabulary import HANDOFF_STATUSES, OUTCOMES, STATUS_LABELS, STATUSES

if TYPE_CHECKING:
    from wizard.flows.flowset import FlowSet
    from wizard.flows.nodes import Flowchart


FORMATS = ("table", "csv", "json", "html")
COLORS = {"fixed_understood": "#1b7837", "fixed_unclear": "#dfa000",
          "not_fixed": "#c51b7d", "abandoned": "#777777", "open": "#4393c3",
          "other": "#bbbbbb"}
"""Status colours (told apart without colour too: every chart has its table)."""
SERIES = ("#4477aa", "#ee6677", "#228833", "#ccbb44", "#66ccee", "#aa3377", "#bbbbbb")

HANDOFF_COLORS = {"sent": "#1b7837", "queued": "#4393c3", "failed": "#c51b7d",
                  "none": "#777777", "other": "#bbbbbb"}

DIMENSIONS: dict[str, str] = {
    "category": "Category",
    "status": "Status",
    "flowchart_version": "Flowchart version",
    "staffer": "Staffer",
    "target": "Target computer",
    "terminal": "Flowchart exit",
    "scope": "Scope (who is affected)",
    "severity": "Severity",
    "call_type": "Kind of call",
    "tier2_group": "Escalated to",
}
"""Every breakdown a report has, with its heading."""
DEFAULT_GROUPS: tuple[str, ...] = tuple(DIMENSIONS)
TIMED = ("staffer", "category")
"""Breakdowns with median and 90th-percentile handling time per group."""
DEFAULT_TOP = 15
ALL_ROWS = frozenset({"terminal", "status", "category", "flowchart_version"})
"""Breakdowns never cut to the top rows (every exit is listed)."""

_FIXED_ORDER: dict[str, tuple[str, ...]] = {
    "status": (*STATUSES, ""),
    "severity": ("critical", "high", "medium", "low"),
    "scope": ("caller", "several_users", "site", "everyone"),
}
_EMPTY_LABEL = {"tier2_group": "(not escalated)", "category": "(no outcome yet)",
                "terminal": "(no exit: abandoned or open)", "target": "(none given)",
                "flowchart_version": "(unknown)"}


# -- what a report holds ------------------------------------------------------------------


@dataclass
class Group:
    """The calls of one group (one category, one staffer, one week...)."""

    key: str
    label: str
    calls: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    escalated: int = 0
    median_s: float | None = None
    """Median handling time (start to outcome) of the group's calls with an outcome."""
    p90_s: float | None = None
    """90th percentile (nearest rank) of the same."""
    share: float = 0.0
    """This group's part of all calls in the report (0..1)."""

    def count(self, status: str) -> int:
        return self.statuses.get(status, 0)

    @property
    def with_outcome(self) -> int:
        return sum(self.count(s) for s in OUTCOMES)

    @property
    def escalation_rate(self) -> float:
        """Escalated calls among the calls that reached an outcome."""
        return self.escalated / self.with_outcome if self.with_outcome else 0.0

    @property
    def other(self) -> int:
        """Calls with a status this version does not know (from a newer one)."""
        return self.calls - sum(self.count(s) for s in STATUSES)

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "label": self.label, "calls": self.calls,
                "share": round(self.share, 4),
                **{s: self.count(s) for s in STATUSES},
                "escalated": self.escalated,
                "escalation_rate": round(self.escalation_rate, 4),
                "median_minutes": _min(self.median_s), "p90_minutes": _min(self.p90_s)}


@dataclass
class Period:
    """One week (or day) of calls."""

    key: str
    """2026-W45, or a day 2026-11-02."""
    label: str
    first_day: str
    group: Group
    versions: dict[str, int] = field(default_factory=dict)
    known_issues: dict[str, int] = field(default_factory=dict)
    sensitive_requests: int = 0
    trend: float | None = None
    """The trend line's value for this week."""

    def to_dict(self) -> dict[str, Any]:
        return {**self.group.to_dict(), "first_day": self.first_day,
                "versions": self.versions, "known_issues": self.known_issues,
                "sensitive_requests": self.sensitive_requests,
                "trend": None if self.trend is None else round(self.trend, 2)}


@dataclass
class StepRow:
    """Drop-off at one flowchart step."""

    key: str
    label: str
    reached: int = 0
    abandoned: int = 0
    """Calls abandoned while on this step."""
    open: int = 0
    """Calls still open on this step."""
    median_s: float | None = None
    """Median time spent on the step (the steps of the calls that reached it)."""

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "label": self.label, "reached": self.reached,
                "abandoned_here": self.abandoned, "open_here": self.open,
                "median_seconds": self.median_s}


@dataclass
class HandoffRow:
    """The hand-offs to Tier 2 of one kind of destination (or all of them)."""

    key: str
    label: str
    statuses: dict[str, int] = field(default_factory=dict)

    @property
    def calls(self) -> int:
        return sum(self.statuses.values())

    def count(self, status: str) -> int:
        return self.statuses.get(status, 0)

    @property
    def other(self) -> int:
        """Calls with a hand-off status this version does not know."""
        return self.calls - sum(self.count(s) for s in HANDOFF_STATUSES)

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "label": self.label, "calls": self.calls,
                **{s: self.count(s) for s in HANDOFF_STATUSES}}


@dataclass
class Report:
    total: Group
    groups: dict[str, list[Group]]
    """Breakdown name -> its groups, in report order (largest first)."""
    weeks: list[Period] = field(default_factory=list)
    days: list[Period] = field(default_factory=list)
    steps: list[StepRow] = field(default_factory=list)
    trend_per_week: float | None = None
    """Slope of the least-squares line over the weekly counts (calls per week)."""
    first_day: str | None = None
    last_day: str | None = None
    filters: dict[str, str] = field(default_factory=dict)
    practice_left_out: int = 0
    issue_labels: dict[str, str] = field(default_factory=dict)
    generated: str = ""
    handoffs: list[HandoffRow] = field(default_factory=list)
    """Escalated calls (and calls sent to a group with ``send --to``) by kind of
    destination, with their hand-off status; calls never sent have no kind."""

    @property
    def handoff_total(self) -> HandoffRow:
        total = HandoffRow("all", "All escalated calls")
        for row in self.handoffs:
            for s, n in row.statuses.items():
                total.statuses[s] = total.statuses.get(s, 0) + n
        return total

    @property
    def calls(self) -> int:
        return self.total.calls

    def group(self, dimension: str) -> dict[str, Group]:
        """One breakdown as key -> group."""
        return {g.key: g for g in self.groups.get(dimension, [])}

    @property
    def versions(self) -> list[str]:
        """Flowchart versions in the order they first appear."""
        seen: dict[str, None] = {}
        for week in self.weeks:
            for v in week.versions:
                seen.setdefault(v)
        return list(seen)

    @property
    def known_issues(self) -> list[str]:
        seen: dict[str, int] = defaultdict(int)
        for week in self.weeks:
            for k, n in week.known_issues.items():
                seen[k] += n
        return sorted(seen, key=lambda k: (-seen[k], k))

    def to_dict(self) -> dict[str, Any]:
        t = self.total
        return {
            "generated": self.generated, "filters": self.filters,
            "period": {"first_day": self.first_day, "last_day": self.last_day},
            "practice_calls_left_out": self.practice_left_out,
            "calls": t.calls, "escalated": t.escalated,
            "escalation_rate": round(t.escalation_rate, 4),
            "median_minutes": _min(t.median_s), "p90_minutes": _min(t.p90_s),
            "status": {s: t.count(s) for s in STATUSES},
            "trend_calls_per_week": (None if self.trend_per_week is None
                                     else round(self.trend_per_week, 3)),
            "weeks": [w.to_dict() for w in self.weeks],
            "days": [d.to_dict() for d in self.days],
            "by": {dim: [g.to_dict() for g in groups] for dim, groups in self.groups.items()},
            "steps": [s.to_dict() for s in self.steps],
            "known_issue_labels": self.issue_labels,
            "handoffs": {**self.handoff_total.to_dict(),
                         "by_kind": [r.to_dict() for r in self.handoffs]},
        }


def _min(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 60, 1)


# -- labels ---------------------------------------------------------------------------------


@dataclass
class Labels:
    """What to show for stored values: choice labels (scope, severity, kind of call),
    flowchart node titles (exits, steps), known-issue titles."""

    choices: dict[str, dict[str, str]] = field(default_factory=dict)
    nodes: dict[str, str] = field(default_factory=dict)
    issues: dict[str, str] = field(default_factory=dict)

    def of(self, dim: str, key: str) -> str:
        if not key:
            return _EMPTY_LABEL.get(dim, "(none)")
        if dim == "status":
            return STATUS_LABELS.get(key, key)
        if dim == "category":
            try:
                return Category(key).label
            except ValueError:
                return key
        if dim in ("terminal", "step"):
            return self.nodes.get(key, key)
        return self.choices.get(dim, {}).get(key, key)


_JINJA = re.compile(r"\{\{-?\s*([^}|]*?)\s*(\|[^}]*)?-?\}\}|\{%.*?%\}", re.S)


def node_title(chart_title: str, text: str) -> str:
    """A readable one-line title of a flowchart node: its chart and its first sentence
    ("Figure 7.1 · Can the caller ping target?")."""
    plain = _JINJA.sub(lambda m: (m.group(1) or "").replace("_", " "), text)
    plain = " ".join(plain.split())
    first = re.split(r"(?<=[.?!:])\s", plain, maxsplit=1)[0]
    if len(first) > 90:
        first = first[:89].rstrip() + "…"
    return f"{chart_title.split(':', 1)[0].strip()} · {first}"


def flowset_labels(fs: FlowSet | None, catalogue: Iterable[tuple[str, str]] = ()) -> Labels:
    """Labels from a flowchart set (and known-issue (id, title) pairs)."""
    labels = Labels(issues=dict(catalogue))
    if fs is None:
        return labels
    labels.choices = choice_labels(fs.charts.values())
    for cid, chart in fs.charts.items():
        for nid, node in chart.nodes.items():
            labels.nodes[f"{cid}.{nid}"] = node_title(chart.title, node.text)
    return labels


def choice_labels(charts: Iterable[Flowchart]) -> dict[str, dict[str, str]]:
    """Labels of the choices that set a reported variable (scope, severity, extent,
    call_type): variable -> value -> label ("Critical: many users..." -> "Critical")."""
    out: dict[str, dict[str, str]] = {}
    for chart in charts:
        for node in chart.nodes.values():
            if isinstance(node, ChoiceNode) and node.var and node.var in DIMENSIONS:
                names = out.setdefault(node.var, {})
                for option in node.options:
                    names.setdefault(option.value, option.label.split(":", 1)[0].strip())
    return out
