"""A report from its queries' rows: weeks, days, breakdowns, drop-off per step, handling
times and hand-offs."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from wizard.calls.journal import now_iso
from wizard.flows.vocabulary import DESTINATION_LABELS, OUTCOMES
from wizard.records.report.model import (
    _FIXED_ORDER,
    DEFAULT_GROUPS,
    DIMENSIONS,
    TIMED,
    Group,
    HandoffRow,
    Labels,
    Period,
    Report,
    StepRow,
)
from wizard.records.report.queries import (
    SOURCES,
    report_queries,
    session_settings,
    split_results,
)

# SQLAlchemy and the store are imported by the functions that use them:
# this package is loaded with the command line, and the first question must not wait.

if TYPE_CHECKING:  # the store (and SQLAlchemy) is imported when a report is made
    from wizard.records.store import CallFilter, DatabaseStore


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
            label = (DESTINATION_LABELS.get(key, key) if key else
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
