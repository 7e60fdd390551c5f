"""Call classification reports: the volume and nature of the IPsec calls.

The chapter asks for "a call classification system so that help desk personnel can
provide clear reports about the volume and nature of IPsec-related problems". From the
call store, counted in the database (GROUP BY; nothing reads the calls one by one into
Python), from the summary tables the store keeps as it stores calls (per day: exact for
a date range and practice calls), or from the calls themselves when a filter on category,
status, target or staffer asks (the same figures):

- volume over time: calls per week and per day with their status, the trend (a least-
  squares line over the weekly counts), and the weekly calls of each flowchart version;
- outcomes: Fixed understood / Fixed unclear / Not fixed / Abandoned / Still open, the
  escalation rate, median and 90th-percentile handling time (start to outcome);
- per staffer (calls, escalation rate, handling time), per target, per category, scope,
  severity, kind of call, escalation group and flowchart version;
- every flowchart exit with its count, and the drop-off per step (calls that reached
  it, that were abandoned or are still open there, the median time spent on it);
- known issues matched and social-engineering attempts logged, by week;
- hand-offs to Tier 2: the escalated calls by hand-off status (sent, waiting in the
  outbox, failed, not sent) and per kind of destination (no call is listed).

Practice calls are left out unless the filter asks for them (the report says how many).
Renderers: a terminal table (rich), CSV, JSON, and one self-contained HTML page from the
Jinja template ``templates/report.html.j2`` (inline SVG charts, each with its table).

The ``report`` command itself (its options, the store it reads, printing) is the
front end's: :mod:`wizard.service.reports` and :mod:`wizard.frontends.terminal.reporting`.
"""

from __future__ import annotations

import io
import json
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from rich.console import Console

from wizard.base.safetext import plain, spreadsheet_safe
from wizard.calls.journal import now_iso
from wizard.flows.nodes import Category, ChoiceNode, Status

# csv, SQLAlchemy, Jinja and rich's tables are imported by the functions that use them:
# this module is loaded with the command line, and the first question must not wait.

if TYPE_CHECKING:  # the store (and SQLAlchemy) is imported when a report is made
    import sqlalchemy as sa
    from rich.table import Table

    from wizard.flows.flowset import FlowSet
    from wizard.flows.nodes import Flowchart
    from wizard.records.store import CallFilter, DatabaseStore

FORMATS = ("table", "csv", "json", "html")
OUTCOMES = ("fixed_understood", "fixed_unclear", "not_fixed")
"""The chapter's three statuses: calls that reached an outcome."""
STATUSES = (*OUTCOMES, "abandoned", "open")
STATUS_LABELS = {**{s.value: s.label.split(" (", 1)[0] for s in Status},
                 "abandoned": "Abandoned", "open": "Still open"}
"""fixed_understood -> Fixed understood, ..., abandoned -> Abandoned, open -> Still open."""
COLORS = {"fixed_understood": "#1b7837", "fixed_unclear": "#dfa000",
          "not_fixed": "#c51b7d", "abandoned": "#777777", "open": "#4393c3",
          "other": "#bbbbbb"}
"""Status colours (told apart without colour too: every chart has its table)."""
SERIES = ("#4477aa", "#ee6677", "#228833", "#ccbb44", "#66ccee", "#aa3377", "#bbbbbb")

HANDOFF_STATUSES = ("sent", "queued", "failed", "none")
HANDOFF_LABELS = {"sent": "Sent", "queued": "Waiting in the outbox", "failed": "Failed",
                  "none": "Not sent"}
"""A call's hand-off to Tier 2, as the store holds it."""
HANDOFF_COLORS = {"sent": "#1b7837", "queued": "#4393c3", "failed": "#c51b7d",
                  "none": "#777777", "other": "#bbbbbb"}
KIND_LABELS = {"email": "E-mail", "servicenow": "ServiceNow", "jira": "Jira",
               "zendesk": "Zendesk", "webhook": "Webhook"}
"""Kinds of hand-off destination (the organization file's ``handoff.destinations``)."""

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


# -- counting, in the database ----------------------------------------------------------------


def _key(dim: str) -> sa.ColumnElement[Any]:
    from wizard.records.store import dimension_key

    return dimension_key(dim)


def _fold(rows: Iterable[Sequence[Any]]) -> dict[Any, Group]:
    """(key, status, escalated, count) rows -> key -> Group (labels set later)."""
    out: dict[Any, Group] = {}
    for key, status, tier2, n in rows:
        g = out.get(key)
        if g is None:
            g = out[key] = Group(key=key, label="")
        n = int(n)
        g.calls += n
        g.statuses[str(status)] = g.statuses.get(str(status), 0) + n
        if tier2 and status in OUTCOMES:
            g.escalated += n
    return out


GROUPED = "grouped"
"""On PostgreSQL, counted from the calls themselves, the days, versions and every
breakdown come from one query with GROUPING SETS (one pass over the calls); elsewhere
each is a query of its own."""
SOURCES = ("summary", "calls")
"""Where a report counts: the summary tables (kept up to date as calls are stored), or
the stored calls and their steps themselves."""


def _grouped_layout(dims: Sequence[str]) -> dict[str, tuple[str, ...]]:
    """Result name -> the grouped columns it has (besides the measures)."""
    layout: dict[str, tuple[str, ...]] = {"days": ("day", "status", "tier2"),
                                          "versions": ("day", "version")}
    for dim in dims:
        if dim != "status":
            layout[f"by_{dim}"] = (dim, "status", "tier2")
    return layout


def summary_answers(filters: CallFilter) -> bool:
    """Whether the summary tables count exactly the calls ``filters`` asks for: they
    have each day and practice or not, not one category, status, target or staffer."""
    return not (filters.category or filters.status or filters.target or filters.staffer)


def report_queries(filters: CallFilter, dims: Sequence[str], dialect: str = "sqlite",
                   source: str = "summary") -> dict[str, sa.Select[Any]]:
    """Every query a report runs, by name (the benchmark runs the same ones directly):
    from the summary tables (``source`` "summary", when :func:`summary_answers`), or
    from the stored calls ("calls"). Both give the same rows."""
    if source == "summary" and summary_answers(filters):
        return summary_queries(filters, dims)
    return calls_queries(filters, dims, dialect)


def summary_queries(filters: CallFilter, dims: Sequence[str]) -> dict[str, sa.Select[Any]]:
    """The report's queries over the summary tables (:mod:`wizard.records.store`)."""
    import sqlalchemy as sa

    from wizard.records.store import (
        NO_SECONDS,
        TOTAL_DAY,
        report_calls,
        report_known_issues,
        report_steps,
        report_times,
    )

    every_day = filters.since is None and filters.until is None

    def where(table: sa.Table, practice: bool = filters.practice, *, per_day: bool = True
              ) -> list[sa.ColumnElement[bool]]:
        """Rows of the filters' days: per day (``per_day``), else those of every day at
        once when no date range is asked for."""
        out = []
        if not per_day and every_day:
            out.append(table.c.day == TOTAL_DAY)
        else:
            out.append(table.c.day != TOTAL_DAY)
        if filters.since is not None:
            out.append(table.c.day >= filters.since.isoformat())
        if filters.until is not None:
            out.append(table.c.day <= filters.until.isoformat())
        if not practice:
            out.append(table.c.practice == sa.false())
        return out

    def summed(*cols: sa.ColumnElement[Any], table: sa.Table = report_calls,
               dim: Sequence[str] | str | None = None, per_day: bool = True
               ) -> sa.Select[Any]:
        n = sa.func.sum(table.c.calls)
        measures = [n, sa.func.sum(table.c.sensitive)] if table is report_calls else [n]
        chosen = [] if dim is None else [table.c.dim == dim] if isinstance(dim, str) \
            else [table.c.dim.in_(dim)]
        return (sa.select(*cols, *measures).where(*where(table, per_day=per_day), *chosen)
                .group_by(*cols).having(n != 0))

    r, t, s, k = report_calls.c, report_times.c, report_steps.c, report_known_issues.c
    q: dict[str, sa.Select[Any]] = {
        "days": summed(r.day, r.status, r.tier2, dim=""),
        "versions": summed(r.day, r.key, dim="flowchart_version"),
        "summary": summed(r.dim, r.key, r.status, r.tier2,
                          dim=[*(d for d in dims if d != "status"), "handoff"],
                          per_day=False),
        "known_issues": summed(k.day, k.issue, table=report_known_issues),
        "times": summed(t.dim, t.key, t.seconds, table=report_times,
                        dim=["", *(d for d in TIMED if d in dims)], per_day=False),
        "steps": summed(s.step, sa.func.nullif(s.seconds, NO_SECONDS), s.ended_here,
                        table=report_steps, per_day=False)}
    if not filters.practice:
        q["practice"] = (sa.select(sa.func.coalesce(sa.func.sum(r.calls), 0))
                         .where(*where(report_calls, practice=True, per_day=False),
                                r.dim == "",
                                r.practice.is_(True)))
    return q


def calls_queries(filters: CallFilter, dims: Sequence[str], dialect: str = "sqlite"
                  ) -> dict[str, sa.Select[Any]]:
    """The report's queries over the stored calls and their steps (any filter)."""
    import sqlalchemy as sa

    from wizard.records.store import (
        call_day,
        call_known_issues,
        call_steps,
        calls,
        grouped_by,
        handed_off,
        time_bucket,
    )

    where = filters.conditions()
    c = calls.c
    count = sa.func.count()
    sensitive = sa.func.sum(c.sensitive_requests)
    q: dict[str, sa.Select[Any]] = {}
    keys: dict[str, sa.ColumnElement[Any]] = {
        "day": call_day(), "status": c.status, "tier2": c.tier2,
        "version": _key("flowchart_version"),
        **{dim: _key(dim) for dim in dims if dim != "status"}}
    layout = _grouped_layout(dims)
    if dialect == "postgresql":
        sets = [sa.tuple_(*(keys[k] for k in cols)) for cols in layout.values()]
        q[GROUPED] = (sa.select(*keys.values(), count, sensitive,
                                sa.func.grouping(*keys.values()))
                      .where(*where).group_by(sa.func.grouping_sets(*sets)))
    else:
        for name, cols in layout.items():
            group = [keys[k] for k in cols]
            q[name] = sa.select(*group, count, sensitive).where(*where).group_by(*group)
    joined = call_known_issues.join(calls, calls.c.call_id == call_known_issues.c.call_id)
    q["known_issues"] = (sa.select(keys["day"], call_known_issues.c.issue, count)
                         .select_from(joined).where(*where)
                         .group_by(keys["day"], call_known_issues.c.issue))
    bucket = time_bucket(c.duration_s)
    timed = {dim: _key(dim) for dim in ("", *(d for d in TIMED if d in dims))}
    q["times"] = sa.union_all(*(  # type: ignore[assignment]
        sa.select(sa.literal(dim), key, bucket, count)
        .where(*where, c.duration_s.is_not(None), c.status.in_(OUTCOMES))
        .group_by(*grouped_by(dim, key), bucket)  # the same expressions as selected
        for dim, key in timed.items()))
    steps = call_steps.join(calls, calls.c.call_id == call_steps.c.call_id)
    s = call_steps.c
    secs = time_bucket(s.seconds)
    ended_here = sa.case((sa.and_(s.final.is_(True), c.status.in_(("abandoned", "open"))),
                          c.status), else_="")
    q["steps"] = (sa.select(s.step, secs, ended_here, count).select_from(steps).where(*where)
                  .group_by(s.step, secs, ended_here))
    kind = sa.func.coalesce(c.handoff_kind, "")
    q["handoffs"] = (sa.select(kind, c.handoff_status, count).where(*where, handed_off())
                     .group_by(kind, c.handoff_status))
    if not filters.practice:
        from dataclasses import replace

        q["practice"] = (sa.select(count)
                         .where(*replace(filters, practice=True).conditions(),
                                c.practice.is_(True)))
    return q


def split_results(results: dict[str, list[Sequence[Any]]], dims: Sequence[str]
                  ) -> dict[str, list[Sequence[Any]]]:
    """The rows of the combined queries (PostgreSQL's grouping sets, the summary
    tables' groups), split as the separate queries give them."""
    out = dict(results)
    if GROUPED in out:
        keys = ["day", "status", "tier2", "version", *(d for d in dims if d != "status")]
        by_mask: dict[int, tuple[str, tuple[str, ...]]] = {}
        for name, cols in _grouped_layout(dims).items():
            mask = sum(1 << (len(keys) - 1 - i) for i, k in enumerate(keys) if k not in cols)
            by_mask[mask] = (name, cols)
            out[name] = []
        for row in out.pop(GROUPED):
            name, cols = by_mask[int(row[-1])]
            values = dict(zip(keys, row, strict=False))
            out[name].append((*(values[k] for k in cols), row[-3], row[-2]))
    if "summary" in out:
        for dim in dims:
            if dim != "status":
                out[f"by_{dim}"] = []
        out["handoffs"] = []
        for dim, key, status, tier2, n, sensitive in out.pop("summary"):
            if dim == "handoff":
                handoff, _bar, kind = str(key).partition("|")
                out["handoffs"].append((kind, handoff, n))
            else:
                out[f"by_{dim}"].append((key, status, tier2, n, sensitive))
    return out


def session_settings(dialect: str) -> list[str]:
    """Settings for the report's own transaction: on PostgreSQL, memory enough for the
    grouping sets to hash rather than sort, and no JIT compilation (it costs more than
    it saves on these queries)."""
    if dialect == "postgresql":
        return ["SET LOCAL work_mem = '64MB'", "SET LOCAL jit = off"]
    return []


def _ranks(histogram: Mapping[int, int], ranks: Sequence[int]) -> dict[int, int]:
    """The values at the given 0-based ranks of values given as value -> how many."""
    found: dict[int, int] = {}
    seen = 0
    for value in sorted(histogram):
        count = histogram[value]
        for rank in ranks:
            if rank not in found and seen <= rank < seen + count:
                found[rank] = value
        seen += count
        if len(found) == len(ranks):
            break
    return found


def _median_of(histogram: Mapping[int, int]) -> float | None:
    """The median of values given as value -> how many (a bounded aggregate)."""
    n = sum(histogram.values())
    if not n:
        return None
    lo, hi = (n - 1) // 2, n // 2
    found = _ranks(histogram, (lo, hi))
    return (found[lo] + found[hi]) / 2


def _percentiles(histogram: Mapping[int, int]) -> tuple[float | None, float | None]:
    """(median, 90th percentile by nearest rank) of a histogram."""
    n = sum(histogram.values())
    if not n:
        return None, None
    p90 = -(-9 * n // 10) - 1  # the ceil(0.9 n)-th value
    return _median_of(histogram), float(_ranks(histogram, (p90,))[p90])


def _iso_week(day: str) -> tuple[str, str]:
    """(2026-W45, Monday of that week) of a day; ("", day) if it is not a date."""
    try:
        d = date.fromisoformat(day)
    except ValueError:
        return "", day
    year, number, weekday = d.isocalendar()
    return f"{year}-W{number:02d}", (d - timedelta(days=weekday - 1)).isoformat()


def _trend(values: Sequence[int]) -> tuple[float | None, list[float]]:
    """Least-squares line over equally spaced values: (slope, the line's values)."""
    n = len(values)
    if n < 2:
        return None, [float(v) for v in values]
    mean_x, mean_y = (n - 1) / 2, sum(values) / n
    sxx = sum((i - mean_x) ** 2 for i in range(n))
    slope = sum((i - mean_x) * (v - mean_y) for i, v in enumerate(values)) / sxx
    return slope, [mean_y + slope * (i - mean_x) for i in range(n)]


def _order(dim: str, groups: Iterable[Group]) -> list[Group]:
    fixed = _FIXED_ORDER.get(dim)
    if fixed:
        rank = {k: i for i, k in enumerate(fixed)}
        return sorted(groups, key=lambda g: (rank.get(g.key, len(rank)), -g.calls, g.key))
    return sorted(groups, key=lambda g: (-g.calls, g.key))


def build_report(store: DatabaseStore, filters: CallFilter | None = None,
                 group_by: Sequence[str] = DEFAULT_GROUPS, *,
                 labels: Labels | None = None, source: str = "summary") -> Report:
    """Count the stored calls that match ``filters`` in the database: every breakdown
    of ``group_by`` (names from :data:`DIMENSIONS`; ValueError for others), weeks and
    days, drop-off per step, handling times. From the summary tables when they answer
    the filters (:func:`summary_answers`), else from the stored calls; ``source="calls"``
    counts from the stored calls always (the same report). StoreError if the store is
    unreachable."""
    from wizard.records.store import CallFilter, StoreError

    dims = tuple(dict.fromkeys(group_by))
    unknown = [d for d in dims if d not in DIMENSIONS]
    if unknown:
        raise ValueError(f"unknown breakdown {', '.join(unknown)}; "
                         f"one of: {', '.join(DIMENSIONS)}")
    filters = filters or CallFilter()
    names = labels or Labels()
    if source not in SOURCES:
        raise ValueError(f"unknown report source {source!r}; one of: {', '.join(SOURCES)}")
    queries = report_queries(filters, dims, store.dialect, source)
    results: dict[str, list[Sequence[Any]]] = {}
    from sqlalchemy.exc import SQLAlchemyError

    store.check()
    try:
        with store.engine.connect() as conn:
            for setting in session_settings(store.dialect):
                conn.exec_driver_sql(setting)
            for name, stmt in queries.items():
                results[name] = [tuple(r) for r in conn.execute(stmt)]
    except (SQLAlchemyError, OSError) as exc:
        raise StoreError(store.explain(exc)) from None
    return assemble(split_results(results, dims), dims, filters.describe(), names)


def assemble(results: Mapping[str, Sequence[Sequence[Any]]], dims: Sequence[str],
             filters: Mapping[str, str], names: Labels) -> Report:
    """A report from the rows of :func:`report_queries` (small: groups, not calls)."""
    day_rows = results["days"]
    by_day = _fold((d, s, t, n) for d, s, t, n, _x in day_rows)
    sensitive: dict[str, int] = defaultdict(int)
    for d, _s, _t, _n, x in day_rows:
        sensitive[d] += int(x or 0)
    total = _fold(("all", s, t, n) for _d, s, t, n, _x in day_rows).get("all") \
        or Group("all", "All calls")
    total.key, total.label, total.share = "all", "All calls", 1.0 if total.calls else 0.0
    histograms: dict[tuple[str, str], dict[int, int]] = defaultdict(dict)
    for dim, key, seconds, n in results.get("times", []):
        histogram = histograms[(str(dim), str(key))]
        histogram[int(seconds)] = histogram.get(int(seconds), 0) + int(n)
    total.median_s, total.p90_s = _percentiles(histograms.get(("", ""), {}))

    # days and weeks
    versions: dict[str, dict[str, int]] = defaultdict(dict)
    for d, v, n, *_sum in results.get("versions", []):
        versions[d][v or "(unknown)"] = versions[d].get(v or "(unknown)", 0) + int(n)
    issues: dict[str, dict[str, int]] = defaultdict(dict)
    for d, i, n in results.get("known_issues", []):
        issues[d][i] = issues[d].get(i, 0) + int(n)
    days = [Period(key=d, label=d, first_day=d, group=g, versions=dict(versions[d]),
                   known_issues=dict(issues[d]), sensitive_requests=sensitive[d])
            for d, g in sorted(by_day.items())]
    weeks_by: dict[str, Period] = {}
    for p in days:
        week, monday = _iso_week(p.key)
        w = weeks_by.get(week)
        if w is None:
            w = weeks_by[week] = Period(key=week, label=f"{week} (from {monday})",
                                        first_day=monday, group=Group(week, week))
        g = w.group
        g.calls += p.group.calls
        g.escalated += p.group.escalated
        for s, n in p.group.statuses.items():
            g.statuses[s] = g.statuses.get(s, 0) + n
        for target, source in ((w.versions, p.versions), (w.known_issues, p.known_issues)):
            for k, n in source.items():
                target[k] = target.get(k, 0) + n
        w.sensitive_requests += p.sensitive_requests
    weeks = [weeks_by[k] for k in sorted(weeks_by)]
    weeks = _fill_weeks(weeks)
    slope, line = _trend([w.group.calls for w in weeks])
    for w, y in zip(weeks, line, strict=True):
        w.trend = y if slope is not None else None
    for period in (*days, *weeks):
        period.group.share = period.group.calls / total.calls if total.calls else 0.0

    # breakdowns
    groups: dict[str, list[Group]] = {}
    for dim in dims:
        folded = (_fold(r[:4] for r in results[f"by_{dim}"]) if dim != "status"
                  else _fold((s, s, t, n) for _d, s, t, n, _x in day_rows))
        for key, g in folded.items():
            g.key = str(key)
            g.label = names.of(dim, g.key)
            g.share = g.calls / total.calls if total.calls else 0.0
            if dim in TIMED:
                g.median_s, g.p90_s = _percentiles(histograms.get((dim, g.key), {}))
        groups[dim] = _order(dim, folded.values())

    # drop-off per step
    hist: dict[str, dict[int, int]] = defaultdict(dict)
    reached: dict[str, int] = defaultdict(int)
    ends: dict[tuple[str, str], int] = defaultdict(int)
    for step, seconds, ended_here, n in results.get("steps", []):
        reached[step] += int(n)
        if seconds is not None:
            hist[step][int(seconds)] = hist[step].get(int(seconds), 0) + int(n)
        if ended_here:
            ends[(step, str(ended_here))] += int(n)
    steps = [StepRow(key=k, label=names.of("step", k), reached=n,
                     abandoned=ends.get((k, "abandoned"), 0), open=ends.get((k, "open"), 0),
                     median_s=_median_of(hist.get(k, {})))
             for k, n in reached.items()]
    steps.sort(key=lambda r: (-r.reached, r.key))

    # hand-offs to Tier 2
    kinds: dict[str, HandoffRow] = {}
    for kind, status, n in results.get("handoffs", []):
        key = str(kind or "")
        row = kinds.get(key)
        if row is None:
            label = (KIND_LABELS.get(key, key) if key else
                     "(not sent)" if status == "none" else "(kind not recorded)")
            row = kinds[key] = HandoffRow(key, label)
        row.statuses[str(status)] = row.statuses.get(str(status), 0) + int(n)
    handoffs = sorted(kinds.values(), key=lambda r: (not r.key, -r.calls, r.key))

    practice = results.get("practice")
    return Report(total=total, groups=groups, weeks=weeks, days=days, steps=steps,
                  trend_per_week=slope, first_day=days[0].key if days else None,
                  last_day=days[-1].key if days else None, filters=dict(filters),
                  practice_left_out=int(practice[0][0]) if practice else 0,
                  issue_labels={i: names.issues.get(i, i) for w in weeks
                                for i in w.known_issues},
                  generated=now_iso(), handoffs=handoffs)


def _fill_weeks(weeks: list[Period]) -> list[Period]:
    """Weeks without calls between the first and the last, as zero (a trend over time
    must see the quiet weeks)."""
    if len(weeks) < 2 or not weeks[0].key:
        return weeks
    out: list[Period] = []
    have = {w.first_day: w for w in weeks if w.key}
    monday = date.fromisoformat(weeks[0].first_day)
    last = date.fromisoformat(max(have))
    while monday <= last:
        w = have.get(monday.isoformat())
        if w is None:
            week, _m = _iso_week(monday.isoformat())
            w = Period(key=week, label=f"{week} (from {monday.isoformat()})",
                       first_day=monday.isoformat(), group=Group(week, week))
        out.append(w)
        monday += timedelta(days=7)
    return out + [w for w in weeks if not w.key]


# -- renderers ------------------------------------------------------------------------------


def _pct(x: float) -> str:
    if 0 < x < 0.005:
        return "<1%"
    return f"{x:.0%}"


def _minutes(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds / 60:.1f}"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 90:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.1f} min"


def period_text(report: Report) -> str:
    if not report.first_day:
        return "no calls"
    if report.first_day == report.last_day:
        return report.first_day
    return f"{report.first_day} to {report.last_day}"


def filters_text(report: Report) -> str:
    shown = {k: v for k, v in report.filters.items() if k != "practice"}
    text = ", ".join(f"{k} {v}" for k, v in shown.items()) or "none"
    if report.filters.get("practice"):
        return text + "; practice calls included"
    if report.practice_left_out:
        return (text + f"; {report.practice_left_out} practice call(s) left out "
                "(--practice includes them)")
    return text + "; practice calls left out"


def trend_text(report: Report) -> str:
    if report.trend_per_week is None:
        return "not enough weeks for a trend"
    slope = report.trend_per_week
    mean = report.calls / len(report.weeks) if report.weeks else 0
    way = "rising" if slope > 0.05 * max(mean, 1) / 4 else (
        "falling" if slope < -0.05 * max(mean, 1) / 4 else "flat")
    return f"{way}, {slope:+.1f} calls per week (least-squares line over {len(report.weeks)} " \
           "weeks)"


def summary_lines(report: Report) -> list[str]:
    t = report.total
    statuses = ", ".join(f"{STATUS_LABELS[s]} {t.count(s)}" for s in STATUSES)
    return [
        f"{t.calls} calls: {statuses}",
        f"Escalated to Tier 2: {t.escalated} of {t.with_outcome} calls with an outcome "
        f"({_pct(t.escalation_rate)})",
        f"Handling time (start to outcome): median {_minutes(t.median_s)} min, 90th "
        f"percentile {_minutes(t.p90_s)} min",
        f"Trend: {trend_text(report)}",
    ]


STATUS_HEADS = {"fixed_understood": "Fixed\nunderstood", "fixed_unclear": "Fixed\nunclear",
                "not_fixed": "Not\nfixed", "abandoned": "Aban-\ndoned", "open": "Still\nopen"}


def _table(title: str, heads: Sequence[str], rows: Sequence[Sequence[str]],
           caption: str | None = None) -> Table:
    from rich import box
    from rich.table import Table

    table = Table(title=title, title_justify="left", title_style="bold",
                  box=box.SIMPLE_HEAD, show_edge=False)
    table.add_column(heads[0], overflow="fold", min_width=min(12, len(heads[0]) + 4),
                     max_width=60)
    for i, name in enumerate(heads[1:], start=1):  # numbers keep their width
        width = max([len(w) for w in name.split("\n")] + [len(r[i]) for r in rows])
        table.add_column(name, justify="right", width=width)
    for row in rows:
        table.add_row(plain(row[0]), *row[1:])  # typed text is text, never markup
    if caption:
        table.caption, table.caption_justify = caption, "left"
    return table


def _group_cells(g: Group, timed: bool) -> list[str]:
    cells = [f"{g.calls} ({_pct(g.share)})", *(str(g.count(s)) for s in STATUSES),
             f"{g.escalated} ({_pct(g.escalation_rate)})"]
    if timed:
        cells += [_minutes(g.median_s), _minutes(g.p90_s)]
    return cells


def _group_heads(first: str, timed: bool) -> list[str]:
    heads = [first, "Calls\n(share)", *STATUS_HEADS.values(), "Escalated"]
    return heads + (["Median\nmin", "90th pct\nmin"] if timed else [])


def shown_rows(dim: str, groups: list[Group], top: int) -> list[Group]:
    if not top or dim in ALL_ROWS or len(groups) <= top:
        return groups
    return groups[:top]


def to_table(report: Report, console: Console, top: int = DEFAULT_TOP) -> None:
    """Print the report as terminal tables; ``top`` rows per long breakdown (0: all);
    every exit, status, category and version is always listed."""
    console.print(plain(f"IPsec calls · {period_text(report)} · filters: "
                       f"{filters_text(report)}", style="bold"))
    for line in summary_lines(report):
        console.print(plain(line))
    if not report.calls:
        console.print("No stored calls match.")
        return
    weeks = report.weeks[-top:] if top else report.weeks
    rows = [[w.label, str(w.group.calls), *(str(w.group.count(s)) for s in STATUSES),
             str(w.group.escalated), "-" if w.trend is None else f"{w.trend:.1f}"]
            for w in weeks]
    earlier = len(report.weeks) - len(weeks)
    console.print(_table("Calls per week", ["Week", "Calls", *STATUS_HEADS.values(),
                                            "Escalated", "Trend"], rows,
                         f"{earlier} earlier week(s) not shown (--top 0: all)"
                         if earlier else None))
    rows = [[w.label, v, str(n)] for w in weeks for v, n in sorted(w.versions.items())]
    console.print(_table("Calls per week by flowchart version",
                         ["Week", "Flowchart versions the calls went through", "Calls"], rows))
    for dim, groups in report.groups.items():
        shown = shown_rows(dim, groups, top)
        timed = dim in TIMED
        rest = groups[len(shown):]
        caption = (f"{len(rest)} more with {sum(g.calls for g in rest)} calls not shown "
                   "(--top 0: all)") if rest else None
        console.print(_table(f"By {DIMENSIONS[dim].lower()}", _group_heads(DIMENSIONS[dim],
                                                                            timed),
                             [[g.label, *_group_cells(g, timed)] for g in shown], caption))
    steps = report.steps[:top] if top else report.steps
    rows = [[s.label, str(s.reached), str(s.abandoned), str(s.open), _duration(s.median_s)]
            for s in steps]
    more = len(report.steps) - len(steps)
    console.print(_table("Drop-off per step", ["Step", "Reached", "Abandoned\nhere",
                                               "Open\nhere", "Median\ntime"], rows,
                         f"{more} more step(s) not shown (--top 0: all)" if more else None))
    rows = [[w.label, str(sum(w.known_issues.values())),
             "; ".join(f"{report.issue_labels.get(k, k)} ×{n}"
                       for k, n in sorted(w.known_issues.items(), key=lambda i: -i[1])),
             str(w.sensitive_requests)] for w in weeks]
    console.print(_table("Known issues and social-engineering attempts per week",
                         ["Week", "Known\nissues", "Which", "Social-engineering\nattempts"],
                         rows))
    console.print(_table("Hand-offs to Tier 2", HANDOFF_HEADS,
                         [_handoff_cells(r) for r in handoff_rows(report)],
                         handoff_text(report)))


HANDOFF_HEADS = ["Destination", "Calls", "Sent", "Waiting in\nthe outbox", "Failed",
                 "Not sent"]


def handoff_rows(report: Report) -> list[HandoffRow]:
    """The hand-off table's rows: each kind of destination, then all (when several)."""
    rows = list(report.handoffs)
    return rows + [report.handoff_total] if len(rows) != 1 else rows


def _handoff_cells(r: HandoffRow) -> list[str]:
    return [r.label, str(r.calls), *(str(r.count(s)) for s in HANDOFF_STATUSES)]


def handoff_text(report: Report) -> str:
    t = report.handoff_total
    if not t.calls:
        return "No escalated calls."
    return (f"{t.calls} escalated call(s): " + ", ".join(
        f"{HANDOFF_LABELS[s].lower()} {t.count(s)}" for s in HANDOFF_STATUSES) + ".")


def to_text(report: Report, top: int = DEFAULT_TOP, width: int = 140) -> str:
    """The terminal tables as plain text (for a file)."""
    out = io.StringIO()
    to_table(report, Console(file=out, width=width, color_system=None, highlight=False,
                             soft_wrap=False, force_terminal=False), top)
    return out.getvalue()


def to_json(report: Report) -> str:
    return json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n"


CSV_COLUMNS = ("section", "key", "label", "calls", "share", *STATUSES, "escalated",
               "escalation_rate", "median_minutes", "p90_minutes")
"""One row per group. Sections: all, week, day, each breakdown, step (calls: reached;
abandoned, open: ended there; median_minutes: time on the step), week_version,
week_known_issue, week_sensitive_requests, handoff (key: all or a hand-off status) and
handoff_kind (key: kind|status) (calls: how many)."""


def _cell(text: str) -> str:
    """Text a spreadsheet will not run as a formula."""
    return spreadsheet_safe(text)


def to_csv(report: Report) -> str:
    """Every number of the report, one row per group (the first row: all calls)."""
    import csv

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)

    def group(section: str, g: Group) -> None:
        d = g.to_dict()
        writer.writerow([section, _cell(g.key), _cell(g.label)]
                        + ["" if d[c] is None else d[c] for c in CSV_COLUMNS[3:]])

    def count(section: str, key: str, label: str, n: int) -> None:
        writer.writerow([section, _cell(key), _cell(label), n]
                        + [""] * (len(CSV_COLUMNS) - 4))

    group("all", report.total)
    for section, periods in (("week", report.weeks), ("day", report.days)):
        for p in periods:
            p.group.label = p.label
            group(section, p.group)
    for dim, groups in report.groups.items():
        for g in groups:
            group(dim, g)
    for s in report.steps:
        row = {"section": "step", "key": s.key, "label": s.label, "calls": s.reached,
               "abandoned": s.abandoned, "open": s.open,
               "median_minutes": _min(s.median_s)}
        writer.writerow([_cell(str(row[c])) if c in ("key", "label") else
                         ("" if row.get(c) is None else row.get(c, "")) for c in CSV_COLUMNS])
    for w in report.weeks:
        for v, n in w.versions.items():
            count("week_version", f"{w.key}|{v}", v, n)
        for i, n in w.known_issues.items():
            count("week_known_issue", f"{w.key}|{i}", report.issue_labels.get(i, i), n)
        count("week_sensitive_requests", w.key, w.label, w.sensitive_requests)
    total = report.handoff_total
    count("handoff", "all", total.label, total.calls)
    for status in HANDOFF_STATUSES:
        count("handoff", status, HANDOFF_LABELS[status], total.count(status))
    for r in report.handoffs:
        for status in HANDOFF_STATUSES:
            if r.count(status):
                count("handoff_kind", f"{r.key}|{status}",
                      f"{r.label}: {HANDOFF_LABELS[status]}", r.count(status))
    return out.getvalue()


# -- HTML -----------------------------------------------------------------------------------

HTML_TEMPLATE = "report.html.j2"


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


@dataclass
class Chart:
    """An SVG chart as shapes for the template: its title and description are what a
    screen reader says; the table after it has every number."""

    id: str
    title: str
    desc: str
    width: int
    height: int
    shapes: list[dict[str, Any]] = field(default_factory=list)
    legend: list[tuple[str, str]] = field(default_factory=list)


def column_chart(cid: str, title: str, desc: str, labels: Sequence[str],
                 series: Sequence[tuple[str, str, Sequence[int]]],
                 line: Sequence[float | None] | None = None) -> Chart:
    """Stacked columns over time (``series``: label, colour, values), with an optional
    line (the trend)."""
    n = max(len(labels), 1)
    plot_h, base, left = 200.0, 230.0, 48.0
    step = max(6.0, min(72.0, 860 / n))
    totals = [sum(s[2][i] for s in series) for i in range(len(labels))]
    top = max([*totals, *(v for v in (line or []) if v is not None), 1])
    width = int(left + step * n + 20)
    chart = Chart(cid, title, desc, width, int(base + 60),
                  legend=[(label, colour) for label, colour, _v in series])
    shapes = chart.shapes
    shapes.append({"kind": "line", "x1": left, "y1": base, "x2": left + step * n, "y2": base,
                   "stroke": "#666"})
    for value in (top, top / 2):
        y = base - plot_h * value / top
        shapes.append({"kind": "line", "x1": left, "y1": y, "x2": left + step * n, "y2": y,
                       "stroke": "#e4e4e4"})
        shapes.append({"kind": "text", "x": left - 6, "y": y + 4, "anchor": "end",
                       "text": f"{value:g}" if value == int(value) else f"{value:.1f}"})
    every = max(1, int(90 // step) + 1)
    for i, label in enumerate(labels):
        x = left + i * step + step * 0.12
        y = base
        for name, colour, values in series:
            h = plot_h * values[i] / top
            if values[i]:
                y -= h
                shapes.append({"kind": "rect", "x": x, "y": y, "w": step * 0.76,
                               "h": max(h, 0.6), "fill": colour,
                               "tip": f"{label}: {values[i]} {name}"})
        if i % every == 0:
            shapes.append({"kind": "text", "x": x, "y": base + 16, "anchor": "start",
                           "text": _short(label.split(" ")[0], 12)})
    if line and any(v is not None for v in line):
        points = " ".join(f"{left + i * step + step / 2:.1f},{base - plot_h * v / top:.1f}"
                          for i, v in enumerate(line) if v is not None)
        shapes.append({"kind": "polyline", "points": points, "stroke": "#222"})
        chart.legend.append(("Trend (least squares)", "#222"))
    return chart


def bar_chart(cid: str, title: str, desc: str,
              rows: Sequence[tuple[str, Sequence[tuple[str, str, int]]]]) -> Chart:
    """Horizontal bars, one per row (label, segments: name, colour, value). Long labels
    are shortened on the chart (the full text is in the tooltip and the table)."""
    row_h, label_w, bar_w = 24, 300, 520
    totals = [sum(v for _n, _c, v in segs) for _l, segs in rows]
    top = max([*totals, 1])
    chart = Chart(cid, title, desc, label_w + bar_w + 70, row_h * len(rows) + 8)
    for i, ((label, segments), total) in enumerate(zip(rows, totals, strict=True)):
        y = i * row_h + 4
        chart.shapes.append({"kind": "text", "x": label_w - 8, "y": y + 15, "anchor": "end",
                             "text": _short(label, 44), "tip": label})
        x = float(label_w)
        for name, colour, value in segments:
            if not value:
                continue
            w = bar_w * value / top
            chart.shapes.append({"kind": "rect", "x": x, "y": y + 2, "w": max(w, 0.6),
                                 "h": row_h - 8, "fill": colour,
                                 "tip": f"{label}: {value} {name}"})
            x += w
        chart.shapes.append({"kind": "text", "x": x + 6, "y": y + 15, "anchor": "start",
                             "text": str(total)})
    seen: dict[str, str] = {}
    for _l, segments in rows:
        for name, colour, _v in segments:
            seen.setdefault(name, colour)
    chart.legend = list(seen.items())
    return chart


@dataclass
class HtmlTable:
    caption: str
    heads: list[str]
    rows: list[list[str]]
    folded: bool = False
    """Shown folded (a long table): the chart shows its first rows."""


@dataclass
class Section:
    id: str
    title: str
    text: str = ""
    chart: Chart | None = None
    table: HtmlTable | None = None
    note: str = ""


def _status_segments(g: Group) -> list[tuple[str, str, int]]:
    segs = [(STATUS_LABELS[s], COLORS[s], g.count(s)) for s in STATUSES]
    if g.other:
        segs.append(("Other status", COLORS["other"], g.other))
    return segs


def _group_table(caption: str, first: str, groups: Sequence[Group], timed: bool,
                 folded: bool = False) -> HtmlTable:
    heads = [first, "Calls", "Share", *(STATUS_LABELS[s] for s in STATUSES), "Escalated",
             "Escalation rate"] + (["Median min", "90th percentile min"] if timed else [])
    rows = [[g.label, str(g.calls), _pct(g.share), *(str(g.count(s)) for s in STATUSES),
             str(g.escalated), _pct(g.escalation_rate)]
            + ([_minutes(g.median_s), _minutes(g.p90_s)] if timed else []) for g in groups]
    return HtmlTable(caption, heads, rows, folded)


def html_sections(report: Report, top: int = DEFAULT_TOP) -> list[Section]:
    """The sections of the HTML page, each a chart and its table."""
    out: list[Section] = []
    weeks = report.weeks
    labels = [w.label for w in weeks]
    out.append(Section(
        "volume", "Calls per week", f"Trend: {trend_text(report)}.",
        column_chart("c-volume", "Calls per week by status, with the trend",
                     f"{len(weeks)} weeks from {period_text(report)}; {trend_text(report)}",
                     labels, [(STATUS_LABELS[s], COLORS[s], [w.group.count(s) for w in weeks])
                              for s in STATUSES],
                     [w.trend for w in weeks]),
        HtmlTable("Calls per week", ["Week", "Calls", *(STATUS_LABELS[s] for s in STATUSES),
                                     "Escalated", "Trend"],
                  [[w.label, str(w.group.calls), *(str(w.group.count(s)) for s in STATUSES),
                    str(w.group.escalated), "-" if w.trend is None else f"{w.trend:.1f}"]
                   for w in weeks], folded=len(weeks) > 20)))
    versions = report.versions
    colours = {v: SERIES[i % len(SERIES)] for i, v in enumerate(versions)}
    out.append(Section(
        "versions", "Calls per week by flowchart version",
        "A flowchart version per set of isolation changes: a rollout shows as a change in "
        "the curve.",
        column_chart("c-versions", "Calls per week by flowchart version",
                     f"{len(versions)} flowchart version(s) over {len(weeks)} weeks", labels,
                     [(v, colours[v], [w.versions.get(v, 0) for w in weeks])
                      for v in versions]),
        HtmlTable("Calls per week by flowchart version", ["Week", *versions],
                  [[w.label, *(str(w.versions.get(v, 0)) for v in versions)] for w in weeks],
                  folded=len(weeks) > 20)))
    t = report.total
    out.append(Section(
        "outcomes", "Outcomes",
        f"Escalated to Tier 2: {t.escalated} of {t.with_outcome} calls with an outcome "
        f"({_pct(t.escalation_rate)}). Handling time: median {_minutes(t.median_s)} min, "
        f"90th percentile {_minutes(t.p90_s)} min.",
        bar_chart("c-outcomes", "Calls by outcome",
                  ", ".join(f"{STATUS_LABELS[s]} {t.count(s)}" for s in STATUSES),
                  [(STATUS_LABELS[s], [(STATUS_LABELS[s], COLORS[s], t.count(s))])
                   for s in STATUSES]),
        _group_table("Calls by outcome", "Status", report.groups.get("status", []), False)))
    for dim, groups in report.groups.items():
        if dim == "status" or not groups:
            continue
        shown = shown_rows(dim, groups, top)
        rest = groups[len(shown):]
        name = DIMENSIONS[dim]
        out.append(Section(
            f"by-{dim}", f"By {name.lower()}",
            "Every flowchart exit, with its count." if dim == "terminal" else "",
            bar_chart(f"c-{dim}", f"Calls by {name.lower()}, split by status",
                      f"{len(groups)} groups; the largest: " + ", ".join(
                          f"{g.label} {g.calls}" for g in shown[:3]),
                      [(g.label, _status_segments(g)) for g in shown]),
            _group_table(f"Calls by {name.lower()}" + (" (all of them)" if rest else ""),
                         name, groups, dim in TIMED, folded=len(groups) > 25),
            f"The chart shows the {len(shown)} largest; {len(rest)} more with "
            f"{sum(g.calls for g in rest)} calls are in the table." if rest else ""))
    steps = report.steps
    shown_steps = steps[:top * 2] if top else steps
    out.append(Section(
        "dropoff", "Drop-off per step",
        "For each step: the calls that reached it, those abandoned or still open there, "
        "and the median time spent on it.",
        bar_chart("c-dropoff", "Calls that reached each step",
                  f"{len(steps)} steps; abandoned calls: "
                  f"{sum(s.abandoned for s in steps)}",
                  [(s.label, [("Went on", SERIES[0], s.reached - s.abandoned - s.open),
                              ("Abandoned here", COLORS["abandoned"], s.abandoned),
                              ("Still open here", COLORS["open"], s.open)])
                   for s in shown_steps]),
        HtmlTable("Drop-off per step", ["Step", "Reached", "Abandoned here", "Still open here",
                                        "Median time on the step"],
                  [[s.label, str(s.reached), str(s.abandoned), str(s.open),
                    _duration(s.median_s)] for s in steps], folded=len(steps) > 25),
        f"The chart shows the {len(shown_steps)} steps reached most; all {len(steps)} are "
        "in the table." if len(shown_steps) < len(steps) else ""))
    issues = report.known_issues
    issue_colours = {k: SERIES[i % len(SERIES)] for i, k in enumerate(issues)}
    out.append(Section(
        "safety", "Known issues and social-engineering attempts per week",
        f"Known issues matched: {sum(sum(w.known_issues.values()) for w in weeks)}; "
        f"social-engineering attempts logged: {sum(w.sensitive_requests for w in weeks)}.",
        column_chart("c-safety", "Known issues matched and social-engineering attempts "
                     "per week", f"{len(issues)} known issue(s) over {len(weeks)} weeks",
                     labels,
                     [(report.issue_labels.get(k, k), issue_colours[k],
                       [w.known_issues.get(k, 0) for w in weeks]) for k in issues]
                     + [("Social-engineering attempts", COLORS["not_fixed"],
                         [w.sensitive_requests for w in weeks])]),
        HtmlTable("Known issues and social-engineering attempts per week",
                  ["Week", *(report.issue_labels.get(k, k) for k in issues),
                   "Social-engineering attempts"],
                  [[w.label, *(str(w.known_issues.get(k, 0)) for k in issues),
                    str(w.sensitive_requests)] for w in weeks], folded=len(weeks) > 20)))
    out.append(handoff_section(report))
    return out


def _handoff_segments(r: HandoffRow) -> list[tuple[str, str, int]]:
    segs = [(HANDOFF_LABELS[s], HANDOFF_COLORS[s], r.count(s)) for s in HANDOFF_STATUSES]
    if r.other:
        segs.append(("Other status", HANDOFF_COLORS["other"], r.other))
    return segs


def handoff_section(report: Report) -> Section:
    """Hand-offs to Tier 2: the escalated calls by kind of destination, split by
    hand-off status (sent, waiting in the outbox, failed, not sent)."""
    return Section(
        "handoffs", "Hand-offs to Tier 2",
        handoff_text(report) + " Sent: a ticket was opened or updated (or the e-mail "
        "sent); waiting: in the outbox, retried by 'ipsec-triage sync'; failed: not "
        "retried (check the destination's settings).",
        bar_chart("c-handoffs", "Escalated calls by destination, split by hand-off status",
                  handoff_text(report),
                  [(r.label, _handoff_segments(r))
                   for r in report.handoffs or [report.handoff_total]]),
        HtmlTable("Hand-offs to Tier 2 by destination",
                  [h.replace("\n", " ") for h in HANDOFF_HEADS],
                  [_handoff_cells(r) for r in handoff_rows(report)]))


def html_context(report: Report, top: int = DEFAULT_TOP,
                 title: str = "IPsec calls: classification report") -> dict[str, Any]:
    """What the HTML report shows (``templates/report_parts.html.j2``): the title,
    period, filters, summary cards and lines, and a chart and its table per section."""
    t = report.total
    cards = [("Calls", str(t.calls)),
             ("Escalated to Tier 2", f"{t.escalated} ({_pct(t.escalation_rate)})"),
             ("Median handling time", f"{_minutes(t.median_s)} min"),
             ("90th percentile", f"{_minutes(t.p90_s)} min"),
             *((STATUS_LABELS[s], str(t.count(s))) for s in STATUSES)]
    return {"title": title, "period": period_text(report), "filters": filters_text(report),
            "generated": report.generated, "cards": cards, "summary": summary_lines(report),
            "sections": html_sections(report, top) if report.calls else [],
            "empty": not report.calls}


def to_html(report: Report, top: int = DEFAULT_TOP,
            title: str = "IPsec calls: classification report") -> str:
    """One self-contained page (from ``templates/report.html.j2``): the period and
    filters at the top, the summary, then a chart and its table per section. Nothing
    is loaded from elsewhere (no scripts, fonts, images or links)."""
    import jinja2

    from wizard.base.resources import builtin_dir

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(builtin_dir("templates")),
                             autoescape=True, undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True)
    return env.get_template(HTML_TEMPLATE).render(r=html_context(report, top, title))


def render(report: Report, fmt: str, top: int = DEFAULT_TOP) -> str:
    """The report as text in one of :data:`FORMATS` (``table``: plain text)."""
    if fmt == "table":
        return to_text(report, top)
    if fmt == "csv":
        return to_csv(report)
    if fmt == "json":
        return to_json(report)
    if fmt == "html":
        return to_html(report, top)
    raise ValueError(f"unknown report format {fmt!r}; one of: {', '.join(FORMATS)}")
