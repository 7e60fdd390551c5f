"""The report's summary tables and the SQL that counts them from the stored calls: the
backfill of a migration, and the before and after of a save."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from wizard.records.store.schema import call_known_issues, call_steps, calls, metadata

if TYPE_CHECKING:
    pass

# -- summary tables: what the report counts, kept up to date as calls are stored ---------

SUMMARY_DIMS = ("", "category", "flowchart_version", "staffer", "target", "terminal",
                "scope", "severity", "call_type", "tier2_group", "handoff")
"""The groupings ``report_calls`` counts: "" (each day, status and escalation), every
breakdown of the report but status (that one is in every row), and ``handoff`` (the
escalated calls by ``status|kind`` of their hand-off to Tier 2)."""
TIMED_DIMS = ("", "staffer", "category")
"""The groupings ``report_times`` has handling times of ("": all calls)."""
NO_SECONDS = -999_999_999
"""``report_steps.seconds`` of steps without a time (a key column cannot be NULL)."""
SUMMARY_OUTCOMES = ("fixed_understood", "fixed_unclear", "not_fixed")
_KEY = sa.String(255)


def _summary_table(name: str, *keys: tuple[str, Any], measures: Sequence[str] = ("calls",)
                   ) -> sa.Table:
    """A summary table: a row per day, practice or not, and ``keys``; ``measures`` are
    sums."""
    return sa.Table(name, metadata, *(
        sa.Column(key, kind, primary_key=True)
        for key, kind in (("day", sa.String(10)), ("practice", sa.Boolean), *keys)),
        *(sa.Column(m, sa.Integer, nullable=False) for m in measures))


report_calls = _summary_table(
    "report_calls", ("status", sa.String(40)), ("tier2", sa.Boolean),
    ("dim", sa.String(40)), ("key", _KEY), measures=("calls", "sensitive"))
"""Calls per day, practice or not, status, escalated or not, and group of each of
:data:`SUMMARY_DIMS` (``dim``, ``key``), with their social-engineering attempts."""
report_times = _summary_table(
    "report_times", ("dim", sa.String(40)), ("key", _KEY), ("seconds", sa.Integer))
"""Handling times (start to outcome) of the calls with an outcome, as a histogram
(:func:`time_bucket`) per day, practice or not, and group of :data:`TIMED_DIMS`."""
report_steps = _summary_table(
    "report_steps", ("step", sa.String(200)), ("seconds", sa.Integer),
    ("ended_here", sa.String(40)))
"""Steps reached per day, practice or not, step, time spent on it (:func:`time_bucket`;
:data:`NO_SECONDS` without a time), and whether the call was abandoned or is still open
there (``ended_here``: abandoned, open or "")."""
report_known_issues = _summary_table("report_known_issues", ("issue", sa.String(200)))
"""Known issues matched per day, practice or not."""
sa.Index("ix_report_calls_dim_day", report_calls.c.dim, report_calls.c.day)
SUMMARY_TABLES = (report_calls, report_times, report_steps, report_known_issues)
"""In the order a save updates them (every writer locks their rows in the same order)."""


def call_day() -> sa.ColumnElement[Any]:
    """The day a call started at the help desk (the first ten characters of ``started``)."""
    return sa.func.substr(calls.c.started, 1, 10)


def dimension_key(dim: str) -> sa.ColumnElement[Any]:
    """What a call is grouped by in the breakdown ``dim`` (a column of ``calls``)."""
    c = calls.c
    if dim == "target":
        return sa.func.lower(sa.func.coalesce(c.target, ""))
    if dim == "tier2_group":
        named = sa.func.coalesce(sa.func.nullif(c.tier2_group, ""), "(group not named)")
        return sa.case((c.tier2.is_(True), named), else_="")
    if dim == "handoff":
        return c.handoff_status + "|" + sa.func.coalesce(c.handoff_kind, "")
    if dim == "":
        return sa.literal("")
    return sa.func.coalesce(c[dim], "")


def handed_off() -> sa.ColumnElement[bool]:
    """Calls the hand-off counts are about: escalated, or sent to Tier 2 all the same."""
    return sa.or_(calls.c.tier2.is_(True), calls.c.handoff_status != "none")


def time_bucket(seconds: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    """Whole seconds to the second under 10 s, to 5 s under 2 minutes, to 10 s under 20
    minutes, to the minute above (the bucket's lower end): the histograms stay bounded
    (about 150 values) however many calls there are."""
    whole = sa.cast(seconds, sa.Integer)
    return sa.case((whole < 10, whole), (whole < 120, (whole // 5) * 5),
                   (whole < 1200, (whole // 10) * 10), else_=(whole // 60) * 60)


def grouped_by(dim: str, key: sa.ColumnElement[Any]) -> list[sa.ColumnElement[Any]]:
    """``key`` to group by, unless it is the constant of ``dim`` "" (PostgreSQL takes no
    constant in GROUP BY once its value is written into the SQL)."""
    return [key] if dim else []


TOTAL_DAY = ""
"""The ``day`` of a summary row that counts every day at once (the report without a
date range reads these: a handful of rows instead of one per day)."""


def summary_selects(ids: Sequence[str] | None = None, *, days: bool = True,
                    totals: bool = True) -> dict[sa.Table, sa.Select[Any]]:
    """Each summary table's rows counted from the stored calls (only the calls ``ids``
    when given): the backfill of a migration, and the before and after of a save.
    ``days``: the rows per day; ``totals``: the rows of every day at once
    (:data:`TOTAL_DAY`)."""
    spans = [*([call_day()] if days else []), *([None] if totals else [])]
    c = calls.c
    only = [] if ids is None else [c.call_id.in_(ids)]
    return _summary_selects(spans, only)


def _summary_selects(spans: Sequence[sa.ColumnElement[Any] | None],
                     only: Sequence[sa.ColumnElement[bool]]
                     ) -> dict[sa.Table, sa.Select[Any]]:
    c = calls.c
    count = sa.func.count()
    tier2 = sa.func.coalesce(c.tier2, sa.false())

    def day_of(span: sa.ColumnElement[Any] | None) -> tuple[sa.ColumnElement[Any],
                                                              list[sa.ColumnElement[Any]]]:
        """The day column selected and what it adds to the grouping."""
        return (sa.literal(TOTAL_DAY), []) if span is None else (span, [span])

    parts, times, steps_parts, issue_parts = [], [], [], []
    s, k = call_steps.c, call_known_issues.c
    seconds = sa.func.coalesce(time_bucket(s.seconds), NO_SECONDS)
    ended_here = sa.case((sa.and_(s.final.is_(True), c.status.in_(("abandoned", "open"))),
                          c.status), else_="")
    steps = call_steps.join(calls, c.call_id == s.call_id)
    issues = call_known_issues.join(calls, c.call_id == k.call_id)
    timed = [*only, c.duration_s.is_not(None), c.status.in_(SUMMARY_OUTCOMES)]
    for span in spans:
        day, by_day = day_of(span)
        for dim in SUMMARY_DIMS:
            key = dimension_key(dim)
            extra = [handed_off()] if dim == "handoff" else []
            parts.append(sa.select(day, c.practice, c.status, tier2, sa.literal(dim), key,
                                   count, sa.func.coalesce(sa.func.sum(c.sensitive_requests),
                                                           0))
                         .where(*only, *extra)
                         .group_by(*by_day, c.practice, c.status, tier2,
                                   *grouped_by(dim, key)))
        for dim in TIMED_DIMS:
            key, bucket = dimension_key(dim), time_bucket(c.duration_s)
            times.append(sa.select(day, c.practice, sa.literal(dim), key, bucket, count)
                         .where(*timed)
                         .group_by(*by_day, c.practice, *grouped_by(dim, key), bucket))
        steps_parts.append(sa.select(day, c.practice, s.step, seconds, ended_here, count)
                           .select_from(steps).where(*only)
                           .group_by(*by_day, c.practice, s.step, seconds, ended_here))
        issue_parts.append(sa.select(day, c.practice, k.issue, count)
                           .select_from(issues).where(*only)
                           .group_by(*by_day, c.practice, k.issue))
    return {table: sa.union_all(*chosen) if len(chosen) > 1 else chosen[0]  # type: ignore[misc]
            for table, chosen in ((report_calls, parts), (report_times, times),
                                  (report_steps, steps_parts),
                                  (report_known_issues, issue_parts))}


def _measures(table: sa.Table) -> list[str]:
    return [col.name for col in table.columns if not col.primary_key]


def backfill_summaries(conn: Connection, *, days: bool = True, totals: bool = True
                       ) -> None:
    """Fill the summary tables' rows per day (``days``) and of every day at once
    (``totals``), which must be empty, from every stored call, in the database."""
    for table, select in summary_selects(days=days, totals=totals).items():
        conn.execute(table.insert().from_select([col.name for col in table.columns], select))


@lru_cache(maxsize=1)
def _selects_of_some() -> dict[sa.Table, sa.Select[Any]]:
    """:func:`summary_selects` of the calls in the expanding parameter ``ids``, built once
    per process: the same statement objects each time, so SQLAlchemy compiles them once
    (its compiled cache) instead of at every save."""
    only = [calls.c.call_id.in_(sa.bindparam("ids", expanding=True))]
    return _summary_selects([call_day(), None], only)


def summary_rows(conn: Connection, ids: Sequence[str]
                 ) -> dict[sa.Table, dict[tuple[Any, ...], tuple[int, ...]]]:
    """The summary rows of the calls ``ids`` as they are stored now: table -> key ->
    measures."""
    out: dict[sa.Table, dict[tuple[Any, ...], tuple[int, ...]]] = {}
    for table, select in _selects_of_some().items():
        width = len(table.primary_key.columns)
        rows = out[table] = {}
        for row in conn.execute(select, {"ids": list(ids)}):
            key = tuple(bool(v) if isinstance(v, bool) else v for v in row[:width])
            rows[key] = tuple(int(v or 0) for v in row[width:])
    return out


def summary_changes(before: Mapping[sa.Table, Mapping[tuple[Any, ...], tuple[int, ...]]],
                    after: Mapping[sa.Table, Mapping[tuple[Any, ...], tuple[int, ...]]]
                    ) -> dict[sa.Table, list[dict[str, Any]]]:
    """What to add to each summary table (negative: to take away) to go from the
    summary rows ``before`` to those ``after``, in key order (so that writers at once
    lock rows in the same order)."""
    out: dict[sa.Table, list[dict[str, Any]]] = {}
    for table in SUMMARY_TABLES:
        old, new = before.get(table, {}), after.get(table, {})
        names = [col.name for col in table.columns]
        rows = []
        for key in sorted(set(old) | set(new)):
            zero = (0,) * (len(names) - len(key))
            delta = tuple(n - o for n, o in zip(new.get(key, zero), old.get(key, zero),
                                                strict=True))
            if any(delta):
                rows.append(dict(zip(names, (*key, *delta), strict=True)))
        if rows:
            out[table] = rows
    return out
