"""Counting, in the database: every query a report runs (from the summary tables or the
stored calls), and the settings of its transaction."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from wizard.flows.vocabulary import OUTCOMES
from wizard.records.report.model import TIMED

# SQLAlchemy and the store are imported by the functions that use them:
# this package is loaded with the command line, and the first question must not wait.

if TYPE_CHECKING:  # the store (and SQLAlchemy) is imported when a report is made
    import sqlalchemy as sa

    from wizard.records.store import CallFilter


# -- counting, in the database ----------------------------------------------------------------


def _key(dim: str) -> sa.ColumnElement[Any]:
    from wizard.records.store import dimension_key

    return dimension_key(dim)


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
