"""The call store's schema: its settings, the tables of the stored calls, and what a
stored call reads back as (:class:`StoredCall`, filtered by :class:`CallFilter`)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from wizard.base.errors import ExitStatus, TriageError
from wizard.flows.vocabulary import STATUS_LABELS

if TYPE_CHECKING:
    pass

ENV_VAR = "IPSEC_TRIAGE_STORE"
"""Environment variable with the store URL; it wins over the organization file."""
DEFAULT_FILE = "calls.sqlite3"
"""The default store: this file in the data folder."""
ROW_FORMAT = 4
"""Version of what a row holds; rows of an older format are stored again by ``sync``."""
REVISION = "0005"
"""The schema revision this version needs (the newest migration)."""
LEGACY = "none (release 0.1.0 or older)"
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


def stored_calls(rows: Iterable[StoredCall | Mapping[str, Any]]) -> list[StoredCall]:
    """StoredCall objects from stored calls or plain dicts of column values."""
    return [r if isinstance(r, StoredCall) else StoredCall.from_row(r) for r in rows]
