"""The shared call store: the ended calls of a whole help desk in one database.

SQLite in the data folder by default (nothing to set up); PostgreSQL for a team, with
``$IPSEC_TRIAGE_STORE`` (or ``store_url`` in the organization file) set to a URL such as
``postgresql+psycopg://helpdesk@db.corp.example/ipsec``; through SQLAlchemy 2.

The journal of a call stays the source of truth while it runs; an ended call is stored
as one row keyed by its call id. Saving is an idempotent upsert (saving again replaces
the row, never adds one), so a call whose store was unreachable, or whose process died
between the end of its journal and the store write, is stored by the next :meth:`sync`,
exactly once. :meth:`SqlStore.save` never raises for an unreachable store: it returns
False and says why in :attr:`SqlStore.last_error`.

Public API::

    store = open_store(data_dir, url=None)      # StoreError (one line) for a bad URL
    store.save(state, fs=None) -> bool          # False when the store is unreachable
    store.sync(data_dir) -> SyncResult(saved, already, failed)   # StoreError: unreachable
    store.query(CallFilter(...)) -> list[StoredCall]
    save_ended_call(data_dir, state, fs, url=None) -> str | None   # for the end of a call
"""

from __future__ import annotations

import contextlib
import gc
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
    IntegrityError,
    InterfaceError,
    OperationalError,
    SQLAlchemyError,
)

from .journal import CallState, CallStore, now_iso
from .schema import Status

if TYPE_CHECKING:
    from .engine import Engine as Engine_
    from .flowset import FlowSet

ENV_VAR = "IPSEC_TRIAGE_STORE"
"""Environment variable with the store URL; it wins over the organization file."""
DEFAULT_FILE = "calls.sqlite3"
"""The default store: this file in the data folder."""
ROW_FORMAT = 2
"""Version of what a row holds; rows of an older format are stored again by ``sync``."""
CONNECT_TIMEOUT_S = 5
"""A server that does not answer costs this long at the end of a call, not minutes."""
SQLITE_BUSY_TIMEOUT_S = 30
BATCH = 200

STATUS_LABELS = {s.value: s.label.split(" (", 1)[0] for s in Status}
"""fixed_understood -> Fixed understood, ..., not_fixed -> Not fixed."""

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
    sa.Index("ix_calls_started", "started"),
    sa.Index("ix_calls_category", "category"),
    sa.Index("ix_calls_target", "target"),
)
"""``started`` and ``ended`` are ISO 8601 times with the help desk's UTC offset, so
their first ten characters are the day of the call where it was taken."""

_DETAIL_COLUMNS = ("flowcharts", "answers", "notes")
_SUMMARY_NAMES = ("call_id", "started", "ended", "duration_s", "staffer", "caller_machine",
                  "target", "status", "category", "scope", "severity", "terminal", "tier2",
                  "tier2_group", "call_type", "extent", "known_issues", "mode", "runs_on",
                  "resumed", "stored_at", "row_format")
_SUMMARY = [calls.c[n] for n in _SUMMARY_NAMES]
_ALL = _SUMMARY + [calls.c[n] for n in _DETAIL_COLUMNS]
assert {c.name for c in _ALL} == {c.name for c in calls.columns}


class StoreError(Exception):
    """The store URL is wrong or the store cannot be reached. ``str()`` is one line."""


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

    def describe(self) -> dict[str, str]:
        """The filters that are set, for a report's heading."""
        out = {k: (v.isoformat() if isinstance(v, date) else str(v))
               for k, v in vars(self).items() if v not in (None, "")}
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
            stored_at=v[20] or "", row_format=v[21] or 1)
        if len(v) > len(_SUMMARY_NAMES):
            call.flowcharts = dict(_json(v[22], {}))
            call.answers = dict(_json(v[23], {}))
            call.notes = dict(_json(v[24], {}))
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
    from .flowset import FlowchartError, load_flowset
    from .resources import builtin_dir

    try:
        return load_flowset(builtin_dir("flowcharts"), check=False)
    except (FlowchartError, OSError):
        return None


_ENGINES: dict[int, tuple[FlowSet, Engine_]] = {}


def _engine(fs: FlowSet) -> Engine_:
    """One engine per flowset (building one walks every node)."""
    from .engine import Engine as FlowEngine

    hit = _ENGINES.get(id(fs))
    if hit is None or hit[0] is not fs:
        if len(_ENGINES) > 8:
            _ENGINES.clear()
        hit = _ENGINES[id(fs)] = (fs, FlowEngine(fs))
    return hit[1]


def call_facts(state: CallState, fs: FlowSet | None = None) -> dict[str, str]:
    """Target, caller machine, scope, severity, extent and kind of call of a call.

    Read from the flowchart variables along the call's route (``fs``, else the shipped
    flowcharts), so only answers still on the route count; anything the route does not
    give (flowcharts changed since) comes from the intake answers by name.
    """
    values = state.values()
    context: Mapping[str, Any] = {}
    complete = False
    flowset = fs if fs is not None else _shipped_flowset()
    if flowset is not None:
        from .engine import EngineError, StepKind

        with contextlib.suppress(EngineError, KeyError, ValueError):
            step = _engine(flowset).step(values)
            context, complete = step.context, step.kind is StepKind.END
    facts: dict[str, str] = {}
    for var, keys in _FALLBACK_KEYS.items():
        value = context.get(var)
        if not value and not complete:  # the route stops short: flowcharts changed
            value = next((values[k] for k in keys if values.get(k)), "")
        facts[var] = str(value or "")
    return facts


def _seconds(started: str, ended: str) -> float | None:
    try:
        took = (datetime.fromisoformat(ended) - datetime.fromisoformat(started)).total_seconds()
    except (TypeError, ValueError):
        return None
    return took if took >= 0 else None


def _clip(value: Any, name: str) -> str:
    text = "" if value is None else str(value)
    length = getattr(calls.c[name].type, "length", None)
    return text[:length] if length else text


def row_of(state: CallState, fs: FlowSet | None = None) -> dict[str, Any]:
    """The stored form of an ended call (ValueError if it has not ended)."""
    if state.ended is None:
        raise ValueError(f"call {state.call_id} has not ended")
    ended = str(state.ended.get("t", ""))
    facts = call_facts(state, fs)
    row: dict[str, Any] = {
        "call_id": state.call_id, "started": state.started, "ended": ended,
        "duration_s": _seconds(state.started, ended), "staffer": state.staffer,
        "status": str(state.ended.get("status", "")),
        "category": str(state.ended.get("category", "")),
        "terminal": str(state.ended.get("terminal", "")),
        "tier2": bool(state.ended.get("tier2")),
        "tier2_group": state.ended.get("tier2_group") or "",
        "mode": state.mode, "runs_on": state.runs_on,
        **facts,
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
    })
    return row


# -- the store --------------------------------------------------------------------------

_PASSWORD = re.compile(r"(://[^:/@\s]*):[^@\s]*@")


def _hide_password(url: str) -> str:
    return _PASSWORD.sub(r"\1:***@", url)


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


class SqlStore:
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
        return self._url.render_as_string(hide_password=True)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    # -- setup ------------------------------------------------------------------------
    def _prepare(self) -> None:
        """Create the table (or add the columns an older version lacked), once."""
        if self._ready:
            return
        if self.dialect == "sqlite":
            db = self.engine.url.database
            if db and db != ":memory:" and not db.startswith("file:"):
                Path(db).parent.mkdir(parents=True, exist_ok=True)
        with self.engine.connect() as conn:  # an unreachable store fails here, once
            try:
                metadata.create_all(conn)
                conn.commit()
            except SQLAlchemyError:
                conn.rollback()  # another writer created it at the same moment?
                if not sa.inspect(conn).has_table(calls.name):
                    raise
            self._migrate(conn)
        self._ready = True

    def _migrate(self, conn: Connection) -> None:
        inspector = sa.inspect(conn)
        have = {c["name"] for c in inspector.get_columns(calls.name)}
        quote = conn.dialect.identifier_preparer.quote
        for column in calls.columns:
            if column.name in have:
                continue
            ddl = (f"ALTER TABLE {quote(calls.name)} ADD COLUMN {quote(column.name)} "
                   f"{column.type.compile(dialect=conn.dialect)}")
            try:
                conn.execute(sa.text(ddl))
                conn.commit()
            except SQLAlchemyError:
                conn.rollback()
                if column.name not in {c["name"] for c in
                                       sa.inspect(conn).get_columns(calls.name)}:
                    raise
        indexes = {i["name"] for i in sa.inspect(conn).get_indexes(calls.name)}
        for index in calls.indexes:
            if index.name in indexes:
                continue
            try:
                index.create(conn, checkfirst=True)
                conn.commit()
            except SQLAlchemyError:  # made by another writer meanwhile; only for speed
                conn.rollback()

    def _why(self, exc: BaseException) -> str:
        reach = isinstance(exc, (OperationalError, InterfaceError, OSError))
        return (f"call store {self.safe_url} {'unreachable' if reach else 'error'}: "
                f"{_first_line(exc)}")

    # -- writing ----------------------------------------------------------------------
    def _upsert(self, rows: Sequence[dict[str, Any]]) -> None:
        if not rows:
            return
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
                # an older state of a call never replaces a newer one
                where=sa.or_(calls.c.ended <= new.ended, calls.c.row_format.is_(None),
                             calls.c.row_format < ROW_FORMAT))
            with self.engine.begin() as conn:
                conn.execute(stmt, list(rows))
            return
        for row in rows:  # any other database: insert, or update the row already there
            try:
                with self.engine.begin() as conn:
                    conn.execute(calls.insert(), row)
            except IntegrityError:
                with self.engine.begin() as conn:
                    conn.execute(calls.update().where(calls.c.call_id == row["call_id"])
                                 .values({k: v for k, v in row.items() if k != "call_id"}))

    def save(self, state: CallState, fs: FlowSet | None = None) -> bool:
        """Store an ended call (again: the row is replaced, never doubled).

        False, never an exception, when the store cannot be reached or refuses the row;
        :attr:`last_error` says why. ValueError if the call has not ended.
        """
        row = row_of(state, fs)
        try:
            self._prepare()
            self._upsert([row])
        except (SQLAlchemyError, OSError) as exc:
            self.last_error = self._why(exc)
            return False
        self.last_error = None
        return True

    def sync(self, data_dir: Path, fs: FlowSet | None = None) -> SyncResult:
        """Store every ended call of the journals in ``data_dir`` that the store does not
        hold as it is (missing, or changed since it was stored).

        StoreError if the store cannot be reached at all.
        """
        ended = [s for s in CallStore(data_dir).all() if s.ended is not None]
        try:
            self._prepare()
            stored = self._stored_versions([s.call_id for s in ended])
        except (SQLAlchemyError, OSError) as exc:
            self.last_error = self._why(exc)
            raise StoreError(self.last_error) from None
        todo = [s for s in ended
                if stored.get(s.call_id) != (str((s.ended or {}).get("t", "")), ROW_FORMAT)]
        saved = failed = 0
        self.last_error = None
        for chunk in _chunks(todo, BATCH):
            rows = [row_of(s, fs) for s in chunk]
            try:
                self._upsert(rows)
                saved += len(rows)
                continue
            except (SQLAlchemyError, OSError) as exc:
                self.last_error = self._why(exc)
            for row in rows:  # one by one: which ones does the store refuse?
                try:
                    self._upsert([row])
                    saved += 1
                except (SQLAlchemyError, OSError) as exc:
                    self.last_error = self._why(exc)
                    failed += 1
        return SyncResult(saved, len(ended) - len(todo), failed)

    def _stored_versions(self, ids: Sequence[str]) -> dict[str, tuple[str, int]]:
        found: dict[str, tuple[str, int]] = {}
        with self.engine.connect() as conn:
            for chunk in _chunks(list(ids), 500):
                stmt = (sa.select(calls.c.call_id, calls.c.ended, calls.c.row_format)
                        .where(calls.c.call_id.in_(chunk)))
                for call_id, ended, fmt in conn.execute(stmt):
                    found[call_id] = (str(ended), int(fmt or 1))
        return found

    # -- reading ----------------------------------------------------------------------
    def query(self, filters: CallFilter | None = None, *, details: bool = True,
              since: date | str | None = None, until: date | str | None = None,
              category: str | None = None, target: str | None = None) -> list[StoredCall]:
        """Stored calls matching ``filters``, oldest first. ``details=False`` leaves out
        the answers, notes and flowchart versions (faster for reports). The keyword
        filters are a shorthand for a :class:`CallFilter`. StoreError if unreachable."""
        if filters is None:
            filters = CallFilter(since=_as_date(since), until=_as_date(until),
                                 category=category, target=target)
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

    def __enter__(self) -> SqlStore:
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
               environ: Mapping[str, str] | None = None) -> SqlStore:
    """The call store: ``url``, else ``$IPSEC_TRIAGE_STORE``, else ``configured`` (the
    organization file's ``store_url``), else SQLite in ``data_dir``.

    Nothing is contacted yet. StoreError (one line) for a URL that cannot work.
    (The older form ``open_store(data_dir, environ, configured)`` still works.)
    """
    if isinstance(url, Mapping):
        environ, url = url, None
    return SqlStore(resolve_url(data_dir, url, environ=environ, configured=configured))


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
