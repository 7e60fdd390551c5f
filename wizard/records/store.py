"""The shared call store: the ended calls of a whole help desk in one database.

SQLite in the data folder by default (nothing to set up); PostgreSQL for a team, with
``$IPSEC_TRIAGE_STORE`` (or ``store_url`` in the organization file) set to a URL such as
``postgresql+psycopg://helpdesk@db.corp.example/ipsec``; through SQLAlchemy 2.

The journal of a call stays the source of truth while it runs; an ended call is stored
as one row keyed by its call id. Saving is an idempotent upsert (saving again replaces
the row, never adds one), so a call whose store was unreachable, or whose process died
between the end of its journal and the store write, is stored by the next :meth:`sync`,
exactly once. :meth:`DatabaseStore.save` never raises for an unreachable store: it returns
False and says why in :attr:`DatabaseStore.last_error`. Calls still open are stored too (status
``open``, replaced when they end), so reports can count them.

With each call its steps are stored (``call_steps``: the steps it reached, in order, with
the seconds spent on each, read from the journal's times) and the known issues it matched
(``call_known_issues``), so that reports count in the database, never in Python. Its
hand-off to Tier 2 is stored from the journal's ``handoff`` events (status sent, queued,
failed or none; the kind of destination; the ticket number and link); a call handed off
after it was stored (``send`` later, the outbox retried) is stored again by the next
save or :meth:`sync`, which tells by a digest of those events. In the same transaction
the report's summary tables (``report_calls``, ``report_times``, ``report_steps``,
``report_known_issues``: counts per day) lose what the call counted before and gain what
it counts now, so a call stored again is never counted twice.

The schema is under Alembic migrations (:mod:`wizard.records.migrations`). A new, empty store is
created at the newest revision by its first use (under a lock: staff finishing calls at
once on a new database all succeed); a store at an older revision is refused with a
one-line message until ``ipsec-triage store upgrade`` (:meth:`DatabaseStore.upgrade`) is run.

Public API::

    store = open_store(data_dir, url=None)      # StoreError (one line) for a bad URL
    store.save(state, fs=None) -> bool          # False when the store is unreachable
    store.sync(data_dir) -> SyncResult(saved, already, failed)   # StoreError: unreachable
    store.query(CallFilter(...)) -> list[StoredCall]
    store.upgrade() -> (from_revision, to_revision)   # ipsec-triage store upgrade
    save_ended_call(data_dir, state, fs, url=None) -> str | None   # for the end of a call
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import json
import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from operator import itemgetter
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    InterfaceError,
    OperationalError,
    SQLAlchemyError,
)

from wizard.base.errors import ExitStatus, TriageError
from wizard.calls.journal import CallState, JournalFolder, now_iso
from wizard.flows.vocabulary import STATUS_LABELS

if TYPE_CHECKING:
    from wizard.calls.engine import Engine as Engine_
    from wizard.calls.engine import Step as Step_
    from wizard.flows.flowset import FlowSet

ENV_VAR = "IPSEC_TRIAGE_STORE"
"""Environment variable with the store URL; it wins over the organization file."""
DEFAULT_FILE = "calls.sqlite3"
"""The default store: this file in the data folder."""
ROW_FORMAT = 4
"""Version of what a row holds; rows of an older format are stored again by ``sync``."""
REVISION = "0005"
"""The schema revision this version needs (the newest migration)."""
LEGACY = "none (release 0.1.0 or older)"
OPEN = "open"
"""Status of a stored call that has not ended yet."""
ABANDONED = "abandoned"
"""Status of a call ended without an outcome (hung up, wrong number, duplicate)."""
PRACTICE_MODES = frozenset({"answers_file"})
"""Calls replayed from an answers file are practice calls."""
CONNECT_TIMEOUT_S = 5
"""A server that does not answer costs this long at the end of a call, not minutes."""
SQLITE_BUSY_TIMEOUT_S = 30
BATCH = 200

metadata = sa.MetaData()
calls = sa.Table(
    "calls", metadata,
    sa.Column("call_id", sa.String(64), primary_key=True),
    sa.Column("started", sa.String(40), nullable=False),
    sa.Column("ended", sa.String(40), nullable=False),
    sa.Column("duration_s", sa.Float),
    sa.Column("staffer", sa.String(200)),
    sa.Column("caller_machine", sa.String(255)),
    sa.Column("target", sa.String(255)),
    sa.Column("status", sa.String(40), nullable=False),
    sa.Column("category", sa.String(40), nullable=False),
    sa.Column("scope", sa.String(40)),
    sa.Column("severity", sa.String(40)),
    sa.Column("terminal", sa.String(200)),
    sa.Column("tier2", sa.Boolean),
    sa.Column("tier2_group", sa.String(200)),
    sa.Column("flowcharts", sa.Text),
    sa.Column("answers", sa.Text),
    # row format 2 (columns added to a format-1 table when it is opened)
    sa.Column("call_type", sa.String(40)),
    sa.Column("extent", sa.String(40)),
    sa.Column("known_issues", sa.Text),
    sa.Column("notes", sa.Text),
    sa.Column("mode", sa.String(20)),
    sa.Column("runs_on", sa.String(20)),
    sa.Column("resumed", sa.Integer),
    sa.Column("stored_at", sa.String(40)),
    sa.Column("row_format", sa.Integer),
    # revision 0002 (row format 3)
    sa.Column("practice", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("flowchart_version", sa.String(200)),
    sa.Column("sensitive_requests", sa.Integer, nullable=False, server_default="0"),
    # revision 0003 (row format 4)
    sa.Column("handoff_status", sa.String(20), nullable=False, server_default="none"),
    sa.Column("handoff_kind", sa.String(20)),
    sa.Column("handoff_number", sa.String(200)),
    sa.Column("handoff_url", sa.String(1000)),
    sa.Column("handoff_at", sa.String(40)),
    sa.Column("handoff_digest", sa.String(64)),
    sa.Index("ix_calls_started", "started"),
    sa.Index("ix_calls_category", "category"),
    sa.Index("ix_calls_target", "target"),
    sa.Index("ix_calls_practice_started", "practice", "started"),
    sa.Index("ix_calls_staffer", "staffer"),
    sa.Index("ix_calls_handoff", "handoff_status", "handoff_kind"),
)
call_steps = sa.Table(
    "call_steps", metadata,
    sa.Column("call_id", sa.String(64), primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True),
    sa.Column("step", sa.String(200), nullable=False),
    sa.Column("seconds", sa.Integer),
    sa.Column("final", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Index("ix_call_steps_step", "step", "seconds"),
)
"""The steps a call reached, in order (``seq``), as flowchart node keys, with the
seconds spent on each (from the answer before it, or the start or a resume, to its own
answer); ``final`` marks where the call ended: its exit, or the step it was abandoned
at or is still open on."""
call_known_issues = sa.Table(
    "call_known_issues", metadata,
    sa.Column("call_id", sa.String(64), primary_key=True),
    sa.Column("issue", sa.String(200), primary_key=True),
    sa.Index("ix_call_known_issues_issue", "issue"),
)
"""``started`` and ``ended`` are ISO 8601 times with the help desk's UTC offset, so
their first ten characters are the day of the call where it was taken."""

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


def summary_rows(conn: Connection, ids: Sequence[str]
                 ) -> dict[sa.Table, dict[tuple[Any, ...], tuple[int, ...]]]:
    """The summary rows of the calls ``ids`` as they are stored now: table -> key ->
    measures."""
    out: dict[sa.Table, dict[tuple[Any, ...], tuple[int, ...]]] = {}
    for table, select in summary_selects(ids).items():
        width = len(table.primary_key.columns)
        rows = out[table] = {}
        for row in conn.execute(select):
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


_DETAIL_COLUMNS = ("flowcharts", "answers", "notes")
_SUMMARY_NAMES = ("call_id", "started", "ended", "duration_s", "staffer", "caller_machine",
                  "target", "status", "category", "scope", "severity", "terminal", "tier2",
                  "tier2_group", "call_type", "extent", "known_issues", "mode", "runs_on",
                  "resumed", "stored_at", "row_format", "practice", "flowchart_version",
                  "sensitive_requests", "handoff_status", "handoff_kind", "handoff_number",
                  "handoff_url", "handoff_at", "handoff_digest")
_SUMMARY = [calls.c[n] for n in _SUMMARY_NAMES]
_ALL = _SUMMARY + [calls.c[n] for n in _DETAIL_COLUMNS]
assert {c.name for c in _ALL} == {c.name for c in calls.columns}


MIGRATION_LOCK = 0x1F5EC7A6E
"""PostgreSQL advisory lock held while the schema is created or upgraded."""
CALL_LOCK = 0x5EC0
"""PostgreSQL advisory locks (this, a hash of the call id) held while a call is stored."""


def _revision(conn: Connection) -> tuple[str | None, bool]:
    """(schema revision, whether the store predates revisions: release 0.1.0 or older)."""
    inspector = sa.inspect(conn)
    if not inspector.has_table("alembic_version"):
        return None, inspector.has_table(calls.name)
    found = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars().all()
    if not found:
        return None, inspector.has_table(calls.name)
    return str(max(found)), False


class StoreError(TriageError):
    """The store URL is wrong or the store cannot be reached. ``str()`` is one line."""

    status = ExitStatus.CONFIG


@dataclass(frozen=True)
class SyncResult:
    saved: int
    """Ended calls of this computer stored now (new, or changed since stored)."""
    already: int
    """Ended calls that were in the store already, as they are."""
    failed: int
    """Ended calls the store refused (see the store's ``last_error``)."""


@dataclass(frozen=True)
class CallFilter:
    """Which stored calls a query returns. Days are the calendar days of the help desk
    that took the call; ``until`` is inclusive."""

    since: date | None = None
    until: date | None = None
    category: str | None = None
    target: str | None = None
    """Case-insensitive, the whole name or address as the caller gave it."""
    staffer: str | None = None
    status: str | None = None
    practice: bool = False
    """Include practice calls (left out by default)."""

    def describe(self) -> dict[str, str]:
        """The filters that are set, for a report's heading."""
        out = {k: (v.isoformat() if isinstance(v, date) else str(v))
               for k, v in vars(self).items() if v not in (None, "", False)}
        if self.practice:
            out["practice"] = "practice calls included"
        return out

    def conditions(self) -> list[sa.ColumnElement[bool]]:
        where: list[sa.ColumnElement[bool]] = []
        if self.since is not None:
            where.append(calls.c.started >= self.since.isoformat())
        if self.until is not None:
            where.append(calls.c.started < (self.until + timedelta(days=1)).isoformat())
        if self.category:
            where.append(calls.c.category == self.category)
        if self.status:
            where.append(calls.c.status == self.status)
        if self.target:
            where.append(sa.func.lower(calls.c.target) == self.target.strip().lower())
        if self.staffer:
            where.append(calls.c.staffer == self.staffer)
        if not self.practice:
            where.append(calls.c.practice == sa.false())
        return where


@dataclass(slots=True)
class StoredCall:
    """One ended call as the store holds it."""

    call_id: str
    started: str
    ended: str
    status: str
    category: str
    duration_s: float | None = None
    """Start to end, in seconds (a call saved and resumed later counts the pause)."""
    staffer: str = ""
    caller_machine: str = ""
    target: str = ""
    scope: str = ""
    severity: str = ""
    call_type: str = ""
    extent: str = ""
    terminal: str = ""
    """The flowchart exit (terminal node) the call ended at, ``chart.node``."""
    tier2: bool = False
    tier2_group: str = ""
    known_issues: tuple[str, ...] = ()
    mode: str = ""
    runs_on: str = ""
    resumed: int = 0
    stored_at: str = ""
    row_format: int = 0
    practice: bool = False
    flowchart_version: str = ""
    """The versions of the flowcharts the call went through ("fig7_1 1.0, intake 1.0")."""
    sensitive_requests: int = 0
    handoff_status: str = "none"
    """The hand-off to Tier 2: sent, queued (waiting in the outbox), failed or none."""
    handoff_kind: str = ""
    """The kind of destination: email, servicenow, jira, zendesk, webhook."""
    handoff_number: str = ""
    """The Tier 2 ticket number (of the newest hand-off that reached Tier 2)."""
    handoff_url: str = ""
    """The link to that ticket."""
    handoff_at: str = ""
    """When the hand-off that gives the status was made."""
    handoff_digest: str = ""
    """A digest of the journal's hand-off events ("" without any)."""
    flowcharts: dict[str, str] = field(default_factory=dict)
    answers: dict[str, str] = field(default_factory=dict)
    notes: dict[str, list[str]] = field(default_factory=dict)

    @property
    def day(self) -> str:
        """YYYY-MM-DD, the day the call started at the help desk."""
        return self.started[:10]

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> StoredCall:
        """From a database row or a dict of column values (missing ones get defaults)."""
        def text(name: str) -> str:
            value = row.get(name)
            return "" if value is None else str(value)

        duration = row.get("duration_s")
        return cls(
            call_id=text("call_id"), started=text("started"), ended=text("ended"),
            status=text("status"), category=text("category"),
            duration_s=None if duration is None else float(duration),
            staffer=text("staffer"), caller_machine=text("caller_machine"),
            target=text("target"), scope=text("scope"), severity=text("severity"),
            call_type=text("call_type"), extent=text("extent"), terminal=text("terminal"),
            tier2=bool(row.get("tier2")), tier2_group=text("tier2_group"),
            known_issues=_issues(row.get("known_issues")),
            mode=text("mode"), runs_on=text("runs_on"), resumed=int(row.get("resumed") or 0),
            stored_at=text("stored_at"), row_format=int(row.get("row_format") or 1),
            practice=bool(row.get("practice")), flowchart_version=text("flowchart_version"),
            sensitive_requests=int(row.get("sensitive_requests") or 0),
            handoff_status=text("handoff_status") or "none",
            handoff_kind=text("handoff_kind"), handoff_number=text("handoff_number"),
            handoff_url=text("handoff_url"), handoff_at=text("handoff_at"),
            handoff_digest=text("handoff_digest"),
            flowcharts=dict(_json(row.get("flowcharts"), {})),
            answers=dict(_json(row.get("answers"), {})),
            notes=dict(_json(row.get("notes"), {})),
        )

    @classmethod
    def from_values(cls, v: Sequence[Any]) -> StoredCall:
        """From the values of the summary columns (and the detail ones, if there), in the
        order the store selects them (fast: a report reads many)."""
        call = cls(
            call_id=v[0], started=v[1] or "", ended=v[2] or "",
            duration_s=None if v[3] is None else float(v[3]), staffer=v[4] or "",
            caller_machine=v[5] or "", target=v[6] or "", status=v[7] or "",
            category=v[8] or "", scope=v[9] or "", severity=v[10] or "",
            terminal=v[11] or "", tier2=bool(v[12]), tier2_group=v[13] or "",
            call_type=v[14] or "", extent=v[15] or "", known_issues=_issues(v[16]),
            mode=v[17] or "", runs_on=v[18] or "", resumed=v[19] or 0,
            stored_at=v[20] or "", row_format=v[21] or 1, practice=bool(v[22]),
            flowchart_version=v[23] or "", sensitive_requests=v[24] or 0,
            handoff_status=v[25] or "none", handoff_kind=v[26] or "",
            handoff_number=v[27] or "", handoff_url=v[28] or "", handoff_at=v[29] or "",
            handoff_digest=v[30] or "")
        n = len(_SUMMARY_NAMES)
        if len(v) > n:
            call.flowcharts = dict(_json(v[n], {}))
            call.answers = dict(_json(v[n + 1], {}))
            call.notes = dict(_json(v[n + 2], {}))
        return call

    def to_dict(self) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in self.__dataclass_fields__}
        out["known_issues"] = list(self.known_issues)
        return out


def _issues(text: Any) -> tuple[str, ...]:
    if not text or text == "[]":
        return ()
    return tuple(str(i) for i in _json(text, []))


def _json(text: Any, default: Any) -> Any:
    if isinstance(text, (dict, list)):
        return text
    if not text:
        return default
    try:
        value = json.loads(str(text))
    except ValueError:
        return default
    return value if isinstance(value, type(default)) else default


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


HANDOFF_STATUSES = ("sent", "queued", "failed", "none")
"""A call's hand-off to Tier 2: a ticket was made or updated (or the e-mail sent or
written); waiting in the outbox to be retried; failed (not retried: check the
settings); never handed off."""


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


# -- the store --------------------------------------------------------------------------

_PASSWORD = re.compile(r"(://[^:/@\s]*):[^@\s]*@")


_QUERY_PASSWORD = re.compile(r"([?&](?:ssl)?(?:password|passwd|pwd)=)[^&#\s]*", re.IGNORECASE)


def _hide_password(url: str) -> str:
    """The URL with its password masked, in the user part or in the query
    (``?password=``, and libpq's ``sslpassword=`` for the client key)."""
    return _QUERY_PASSWORD.sub(r"\1***", _PASSWORD.sub(r"\1:***@", url))


def _first_line(exc: BaseException) -> str:
    inner = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    lines = [ln.strip() for ln in str(inner).splitlines() if ln.strip()]
    line = lines[0] if lines else type(inner).__name__
    return line if len(line) <= 240 else line[:237] + "..."


def resolve_url(data_dir: Path, url: str | None = None, *,
                environ: Mapping[str, str] | None = None,
                configured: str | None = None) -> str:
    """The store URL: ``url``, else ``$IPSEC_TRIAGE_STORE`` (from ``environ``, default the
    process environment), else ``configured`` (the organization file's ``store_url``),
    else the SQLite file in the data folder."""
    env = os.environ if environ is None else environ
    for candidate in (url, env.get(ENV_VAR), configured):
        if candidate and candidate.strip():
            return candidate.strip()
    return URL.create("sqlite", database=str(data_dir / DEFAULT_FILE)).render_as_string(
        hide_password=False)


class DatabaseStore:
    """A call store in any database SQLAlchemy reaches (SQLite and PostgreSQL tested)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.last_error: str | None = None
        """Why the last save, sync or query failed (one line), None after a success."""
        self._ready = False
        try:
            parsed = make_url(url)
        except (ArgumentError, ValueError):
            raise StoreError(f"call store URL {_hide_password(url)!r} is not a database URL "
                             "(e.g. sqlite:///FILE or postgresql+psycopg://USER@HOST/DB)"
                             ) from None
        if parsed.drivername in ("postgresql", "postgres"):
            parsed = parsed.set(drivername="postgresql+psycopg")  # the driver installed
        self._url = parsed
        kwargs: dict[str, Any] = {"pool_pre_ping": True}
        backend = parsed.get_backend_name()
        if backend == "sqlite":
            kwargs["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_S}
        elif backend == "postgresql" and "connect_timeout" not in parsed.query:
            kwargs["connect_args"] = {"connect_timeout": CONNECT_TIMEOUT_S}
        try:
            self.engine: Engine = sa.create_engine(parsed, **kwargs)
        except ImportError as exc:
            if backend == "postgresql":
                raise StoreError(f"call store URL {self.safe_url}: the PostgreSQL driver is "
                                 "not installed: pip install 'ipsec-triage[postgres]'"
                                 ) from None
            raise StoreError(f"call store URL {self.safe_url}: its database driver is not "
                             f"installed ({exc})") from None
        except (ArgumentError, ValueError, TypeError) as exc:
            name = parsed.drivername
            why = (f"unknown kind of database {name!r}" if "plugin" in str(exc)
                   else _first_line(exc))
            raise StoreError(f"call store URL {self.safe_url}: {why} (e.g. sqlite:///FILE "
                             "or postgresql+psycopg://USER@HOST/DB)") from None

    @property
    def safe_url(self) -> str:
        """The URL without its password, for messages."""
        return _hide_password(self._url.render_as_string(hide_password=True))

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    # -- setup ------------------------------------------------------------------------
    def _prepare(self) -> None:
        """Check the schema revision once: create a new store at the newest revision;
        refuse (StoreError, one line) a store at another revision."""
        if self._ready:
            return
        self._make_folder()
        with self.engine.connect() as conn:  # an unreachable store fails here, once
            current, legacy = _revision(conn)
        if current is None and not legacy:
            current, legacy = self._migrate(only_new=True)
        if current != REVISION:
            raise StoreError(self._outdated(current, legacy))
        self._ready = True

    def check(self) -> None:
        """Reach the store and check its revision (a new one is created). StoreError
        (one line) if it is unreachable or at another revision."""
        try:
            self._prepare()
        except (SQLAlchemyError, OSError) as exc:
            self.last_error = self._why(exc)
            raise StoreError(self.last_error) from None

    def explain(self, exc: BaseException) -> str:
        """One line about a database error, naming the store (without its password)."""
        return self._why(exc)

    def _make_folder(self) -> None:
        """The folder of a SQLite file (the file itself is made by its first use)."""
        if self.dialect == "sqlite":
            db = self.engine.url.database
            if db and db != ":memory:" and not db.startswith("file:"):
                from wizard.base.privacy import private_dir, private_file

                private_dir(Path(db).parent)
                private_file(Path(db))  # SQLite would create it world-readable

    def _outdated(self, current: str | None, legacy: bool) -> str:
        have = LEGACY if legacy or current is None else current
        if current is not None and current > REVISION:
            return (f"call store {self.safe_url} is at revision {have}, newer than this "
                    f"version of ipsec-triage knows (it needs {REVISION}): update "
                    "ipsec-triage")
        return (f"call store {self.safe_url} is at revision {have}, this version needs "
                f"{REVISION}: run 'ipsec-triage store upgrade'")

    def revision(self) -> str:
        """The store's schema revision ("none" for an empty database). StoreError if
        unreachable."""
        try:
            self._make_folder()
            with self.engine.connect() as conn:
                current, legacy = _revision(conn)
        except (SQLAlchemyError, OSError) as exc:
            raise StoreError(self._why(exc)) from None
        return LEGACY if legacy else (current or "none")

    def upgrade(self) -> tuple[str, str]:
        """Bring the store to the newest revision (``ipsec-triage store upgrade``);
        returns (revision before, revision now). Safe to run again, and while calls are
        being stored (the upgrade holds a lock). StoreError (one line) on failure."""
        self._make_folder()
        try:
            with self.engine.connect() as conn:
                before, legacy = _revision(conn)
            after, _legacy = self._migrate(only_new=False)
        except (SQLAlchemyError, OSError) as exc:
            raise StoreError(self._why(exc)) from None
        self._ready = after == REVISION
        return (LEGACY if legacy else (before or "none")), str(after)

    def _migrate(self, *, only_new: bool) -> tuple[str | None, bool]:
        """Run the migrations under a lock that makes concurrent writers wait (SQLite:
        an immediate transaction; PostgreSQL: an advisory lock), in one transaction.
        ``only_new``: only when the database has no store yet (nothing is changed in an
        existing one without ``store upgrade``). Returns the revision after."""
        from alembic import command
        from alembic.config import Config

        engine = self._migration_engine()
        try:
            with engine.begin() as conn:
                if self.dialect == "postgresql":
                    conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"),
                                 {"key": MIGRATION_LOCK})
                current, legacy = _revision(conn)
                if current == REVISION or (only_new and (current is not None or legacy)):
                    return current, legacy
                config = Config()
                config.set_main_option("script_location",
                                       str(Path(__file__).with_name("migrations")))
                config.attributes["connection"] = conn
                command.upgrade(config, REVISION)
                return _revision(conn)
        finally:
            if engine is not self.engine:
                engine.dispose()

    def _migration_engine(self) -> Engine:
        if self.dialect != "sqlite":
            return self.engine
        from sqlalchemy.pool import NullPool

        engine = sa.create_engine(self._url, poolclass=NullPool,
                                  connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S})

        @sa.event.listens_for(engine, "connect")
        def _own_transactions(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # BEGIN is ours, and so is DDL in it

        @sa.event.listens_for(engine, "begin")
        def _begin_immediate(conn: Connection) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")  # the write lock, taken first

        return engine

    def _why(self, exc: BaseException) -> str:
        reach = isinstance(exc, (OperationalError, InterfaceError, OSError))
        return (f"call store {self.safe_url} {'unreachable' if reach else 'error'}: "
                f"{_first_line(exc)}")

    # -- writing ----------------------------------------------------------------------
    def _upsert(self, records: Sequence[Record]) -> None:
        if not records:
            return
        with self.engine.begin() as conn:
            ids = sorted({r.call_id for r in records})
            self._lock_calls(conn, ids)
            have = {cid: (str(ended), int(fmt or 1)) for cid, ended, fmt in conn.execute(
                sa.select(calls.c.call_id, calls.c.ended, calls.c.row_format)
                .where(calls.c.call_id.in_(ids)))}
            # an older state of a call never replaces a newer one
            todo = [r for r in records if r.call_id not in have
                    or have[r.call_id][0] <= str(r.row["ended"])
                    or have[r.call_id][1] < ROW_FORMAT]
            if not todo:
                return
            done = [r.call_id for r in todo]
            before = summary_rows(conn, done)
            self._put_rows(conn, [r.row for r in todo])
            conn.execute(call_steps.delete().where(call_steps.c.call_id.in_(done)))
            conn.execute(call_known_issues.delete()
                         .where(call_known_issues.c.call_id.in_(done)))
            for table, rows in ((call_steps, [s for r in todo for s in r.steps]),
                                (call_known_issues, [i for r in todo for i in r.issues])):
                if rows:
                    conn.execute(self._insert_ignoring_duplicates(table), rows)
            self._add_to_summaries(conn, summary_changes(before, summary_rows(conn, done)))

    def _lock_calls(self, conn: Connection, ids: Sequence[str]) -> None:
        """Make other writers of these calls wait until this transaction ends, so that
        what a call counted before it is stored again is read after theirs (SQLite: the
        database's write lock; PostgreSQL: a lock per call id, taken in order)."""
        if self.dialect == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        elif self.dialect == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:kind, hashtext(:id))"),
                         [{"kind": CALL_LOCK, "id": i} for i in ids])

    def _add_to_summaries(self, conn: Connection,
                          changes: Mapping[sa.Table, list[dict[str, Any]]]) -> None:
        """Add each change to its summary row (made if missing), in the order given."""
        for table in SUMMARY_TABLES:
            rows = changes.get(table)
            if not rows:
                continue
            measures = _measures(table)
            if self.dialect in ("postgresql", "sqlite"):
                if self.dialect == "postgresql":
                    from sqlalchemy.dialects.postgresql import insert as pg_insert

                    stmt: Any = pg_insert(table)
                else:
                    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

                    stmt = sqlite_insert(table)
                stmt = stmt.on_conflict_do_update(
                    index_elements=list(table.primary_key.columns),
                    set_={m: table.c[m] + stmt.excluded[m] for m in measures})
                conn.execute(stmt, rows)
                continue
            for row in rows:  # any other database: update, else insert
                match = [col == row[col.name] for col in table.primary_key.columns]
                done = conn.execute(table.update().where(*match).values(
                    {m: table.c[m] + row[m] for m in measures}))
                if not done.rowcount:
                    conn.execute(table.insert(), row)

    def _insert_ignoring_duplicates(self, table: sa.Table) -> Any:
        if self.dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            return pg_insert(table).on_conflict_do_nothing()
        if self.dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            return sqlite_insert(table).on_conflict_do_nothing()
        return table.insert()

    def _put_rows(self, conn: Connection, rows: list[dict[str, Any]]) -> None:
        if self.dialect in ("postgresql", "sqlite"):
            if self.dialect == "postgresql":
                from sqlalchemy.dialects.postgresql import insert as pg_insert

                stmt: Any = pg_insert(calls)
            else:
                from sqlalchemy.dialects.sqlite import insert as sqlite_insert

                stmt = sqlite_insert(calls)
            new = stmt.excluded
            stmt = stmt.on_conflict_do_update(
                index_elements=[calls.c.call_id],
                set_={c.name: new[c.name] for c in calls.columns if c.name != "call_id"},
                where=sa.or_(calls.c.ended <= new.ended, calls.c.row_format.is_(None),
                             calls.c.row_format < ROW_FORMAT))
            conn.execute(stmt, rows)
            return
        for row in rows:  # any other database: replace the row
            conn.execute(calls.delete().where(calls.c.call_id == row["call_id"]))
            conn.execute(calls.insert(), row)

    def save(self, state: CallState, fs: FlowSet | None = None) -> bool:
        """Store an ended call (again: the row is replaced, never doubled).

        False, never an exception, when the store cannot be reached, is at another
        schema revision, or refuses the row; :attr:`last_error` says why. ValueError if
        the call has not ended.
        """
        if state.ended is None:
            raise ValueError(f"call {state.call_id} has not ended")
        record = record_of(state, fs)
        try:
            self._prepare()
            self._upsert([record])
        except StoreError as exc:
            self.last_error = str(exc)
            return False
        except (SQLAlchemyError, OSError) as exc:
            self.last_error = self._why(exc)
            return False
        self.last_error = None
        return True

    def sync(self, data_dir: Path, fs: FlowSet | None = None) -> SyncResult:
        """Store every call of the journals in ``data_dir`` that the store does not
        hold as it is (missing, or changed since it was stored); open calls as open.

        StoreError if the store cannot be reached at all, or is at another revision.
        """
        states = list(JournalFolder(data_dir).all())
        try:
            self._prepare()
            stored = self._stored_versions([s.call_id for s in states])
        except (SQLAlchemyError, OSError) as exc:
            self.last_error = self._why(exc)
            raise StoreError(self.last_error) from None
        todo = [s for s in states
                if stored.get(s.call_id) != (stored_version(s), ROW_FORMAT,
                                             handoff_digest(s.handoffs))]
        saved = failed = 0
        self.last_error = None
        for chunk in _chunks(todo, BATCH):
            records = [record_of(s, fs) for s in chunk]
            try:
                self._upsert(records)
                saved += len(records)
                continue
            except (SQLAlchemyError, OSError) as exc:
                self.last_error = self._why(exc)
            for record in records:  # one by one: which ones does the store refuse?
                try:
                    self._upsert([record])
                    saved += 1
                except (SQLAlchemyError, OSError) as exc:
                    self.last_error = self._why(exc)
                    failed += 1
        return SyncResult(saved, len(states) - len(todo), failed)

    def _stored_versions(self, ids: Sequence[str]) -> dict[str, tuple[str, int, str]]:
        """Call id -> (its stored ``ended``, row format, hand-off digest)."""
        found: dict[str, tuple[str, int, str]] = {}
        with self.engine.connect() as conn:
            for chunk in _chunks(list(ids), 500):
                stmt = (sa.select(calls.c.call_id, calls.c.ended, calls.c.row_format,
                                  calls.c.handoff_digest)
                        .where(calls.c.call_id.in_(chunk)))
                for call_id, ended, fmt, digest in conn.execute(stmt):
                    found[call_id] = (str(ended), int(fmt or 1), str(digest or ""))
        return found

    # -- reading ----------------------------------------------------------------------
    def query(self, filters: CallFilter | None = None, *, details: bool = True,
              since: date | str | None = None, until: date | str | None = None,
              category: str | None = None, target: str | None = None) -> list[StoredCall]:
        """Stored calls matching ``filters``, oldest first. ``details=False`` leaves out
        the answers, notes and flowchart versions. The keyword filters are a shorthand for
        a :class:`CallFilter` that includes practice calls. StoreError if unreachable."""
        if filters is None:  # a listing: practice calls too
            filters = CallFilter(since=_as_date(since), until=_as_date(until),
                                 category=category, target=target, practice=True)
        stmt = sa.select(*(_ALL if details else _SUMMARY)).where(*filters.conditions())
        try:
            self._prepare()
            with gc_paused(), self.engine.connect() as conn:
                rows = conn.execute(stmt).all()
        except (SQLAlchemyError, OSError) as exc:
            self.last_error = self._why(exc)
            raise StoreError(self.last_error) from None
        self.last_error = None
        make = StoredCall.from_values
        with gc_paused():
            return [make(r) for r in sorted(rows, key=itemgetter(1))]  # oldest first

    def ids(self) -> set[str]:
        """Every stored call id. StoreError if unreachable."""
        try:
            self._prepare()
            with self.engine.connect() as conn:
                return {r[0] for r in conn.execute(sa.select(calls.c.call_id))}
        except (SQLAlchemyError, OSError) as exc:
            self.last_error = self._why(exc)
            raise StoreError(self.last_error) from None

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> DatabaseStore:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while many objects are made (none of them cyclic):
    a collection per few hundred new rows makes reading 100,000 calls twice as slow."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def _as_date(value: date | str | None) -> date | None:
    if value is None or isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        raise StoreError(f"{value!r} is not a date (YYYY-MM-DD)") from None


def open_store(data_dir: Path, url: str | Mapping[str, str] | None = None,
               configured: str | None = None, *,
               environ: Mapping[str, str] | None = None) -> DatabaseStore:
    """The call store: ``url``, else ``$IPSEC_TRIAGE_STORE``, else ``configured`` (the
    organization file's ``store_url``), else SQLite in ``data_dir``.

    Nothing is contacted yet. StoreError (one line) for a URL that cannot work.
    (The older form ``open_store(data_dir, environ, configured)`` still works.)
    """
    if isinstance(url, Mapping):
        environ, url = url, None
    return DatabaseStore(resolve_url(data_dir, url, environ=environ, configured=configured))


def save_ended_call(data_dir: Path, state: CallState, fs: FlowSet | None = None,
                    url: str | None = None, *, environ: Mapping[str, str] | None = None,
                    configured: str | None = None) -> str | None:
    """Store a call that has just ended: None if stored, else a one-line warning for the
    staffer (the call is safe in its journal; ``sync`` stores it later). Never raises
    for a bad URL or an unreachable store."""
    try:
        store = open_store(data_dir, url, configured, environ=environ)
    except StoreError as exc:
        return f"{exc}; the call is kept here, 'ipsec-triage sync' stores it later"
    with store:
        if store.save(state, fs):
            return None
        return f"{store.last_error}; the call is kept here, 'ipsec-triage sync' stores it later"


def stored_calls(rows: Iterable[StoredCall | Mapping[str, Any]]) -> list[StoredCall]:
    """StoredCall objects from stored calls or plain dicts of column values."""
    return [r if isinstance(r, StoredCall) else StoredCall.from_row(r) for r in rows]
