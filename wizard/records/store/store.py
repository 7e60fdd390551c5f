"""The store itself: a database SQLAlchemy reaches, its URL, its schema revision, and the
writing and reading of calls (see the package's docstring)."""

from __future__ import annotations

import contextlib
import gc
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from datetime import date
from operator import itemgetter
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    InterfaceError,
    OperationalError,
    SQLAlchemyError,
)

from wizard.calls.journal import CallState, JournalFolder
from wizard.records.store.facts import Record, handoff_digest, record_of, stored_version
from wizard.records.store.schema import (
    _ALL,
    _SUMMARY,
    BATCH,
    CALL_LOCK,
    CONNECT_TIMEOUT_S,
    LEGACY,
    MIGRATION_LOCK,
    REVISION,
    ROW_FORMAT,
    SQLITE_BUSY_TIMEOUT_S,
    CallFilter,
    StoredCall,
    StoreError,
    SyncResult,
    _revision,
    call_known_issues,
    call_steps,
    calls,
)
from wizard.records.store.summaries import (
    SUMMARY_TABLES,
    _measures,
    summary_changes,
    summary_rows,
)

if TYPE_CHECKING:
    from wizard.flows.flowset import FlowSet

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
                                       str(Path(__file__).parent.parent / "migrations"))
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
            # a call not stored before counts nothing yet: no need to read it
            before = summary_rows(conn, [i for i in done if i in have]) if have else {}
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
        self.last_error = self._save(state, fs)
        return self.last_error is None

    def _save(self, state: CallState, fs: FlowSet | None) -> str | None:
        """:meth:`save`, returning why it failed (None: stored) rather than keeping it in
        :attr:`last_error`, so that threads sharing this store each get their own."""
        if state.ended is None:
            raise ValueError(f"call {state.call_id} has not ended")
        record = record_of(state, fs)
        try:
            self._prepare()
            self._upsert([record])
        except StoreError as exc:
            return str(exc)
        except (SQLAlchemyError, OSError) as exc:
            return self._why(exc)
        return None

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

    def _same_file(self) -> bool:
        """Whether a SQLite store's file is the one this store first saw (a file moved
        away or replaced is not written through connections still open on the old one).
        Always True for a server database."""
        if self.dialect != "sqlite" or not self.engine.url.database:
            return True
        try:
            info = os.stat(self.engine.url.database)
            now: tuple[int, int] | None = (info.st_dev, info.st_ino)
        except OSError:
            now = None
        first = self.__dict__.setdefault("_file_id", now)
        return bool(first == now and now is not None)

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
