"""The shared call store: finished calls of a whole help desk in one database.

SQLite in the data folder by default (nothing to set up); PostgreSQL (or any database
SQLAlchemy reaches) for a team, with ``$IPSEC_TRIAGE_STORE`` set to a URL such as
``postgresql+psycopg://helpdesk@db.example/ipsec``. The journal of a call stays the
source of truth: a call whose store was unreachable is stored by the next ``sync``,
once (the call id is the key; saving again replaces the row).
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    select,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from .journal import CallState, CallStore

metadata = MetaData()
calls = Table(
    "calls", metadata,
    Column("call_id", String(64), primary_key=True),
    Column("started", String(40), nullable=False),
    Column("ended", String(40), nullable=False),
    Column("duration_s", Float),
    Column("staffer", String(200)),
    Column("caller_machine", String(255)),
    Column("target", String(255)),
    Column("status", String(40), nullable=False),
    Column("category", String(40), nullable=False),
    Column("scope", String(40)),
    Column("severity", String(40)),
    Column("terminal", String(200)),
    Column("tier2", Boolean),
    Column("tier2_group", String(200)),
    Column("flowcharts", Text),
    Column("answers", Text),
)


class StoreError(Exception):
    """The store URL is wrong or the store cannot be reached (one line)."""


@dataclass(frozen=True)
class SyncResult:
    saved: int
    already: int
    failed: int


def store_url(data_dir: Path, environ: dict[str, str] | None = None,
              configured: str | None = None) -> str:
    """$IPSEC_TRIAGE_STORE, else the organization file's store_url, else SQLite."""
    url = (environ or {}).get("IPSEC_TRIAGE_STORE") or configured
    return url or f"sqlite:///{data_dir / 'calls.sqlite3'}"


def row_of(state: CallState) -> dict[str, Any]:
    """The stored form of an ended call."""
    assert state.ended is not None
    values = state.values()
    ended = str(state.ended.get("t", ""))
    duration = None
    with contextlib.suppress(ValueError):
        duration = (datetime.fromisoformat(ended)
                    - datetime.fromisoformat(state.started)).total_seconds()
    return {
        "call_id": state.call_id, "started": state.started, "ended": ended,
        "duration_s": duration, "staffer": state.staffer,
        "caller_machine": values.get("intake.caller_machine", ""),
        "target": values.get("intake.target", ""),
        "status": str(state.ended.get("status", "")),
        "category": str(state.ended.get("category", "")),
        "scope": values.get("intake.scope", ""), "severity": values.get("intake.severity", ""),
        "terminal": str(state.ended.get("terminal", "")),
        "tier2": bool(state.ended.get("tier2")),
        "tier2_group": state.ended.get("tier2_group") or "",
        "flowcharts": json.dumps(state.flowcharts, sort_keys=True),
        "answers": json.dumps(values, sort_keys=True, ensure_ascii=False),
    }


class SqlStore:
    def __init__(self, url: str) -> None:
        self.url = url
        try:
            self.engine: Engine = create_engine(url, pool_pre_ping=True)
        except (ArgumentError, ImportError, ValueError) as exc:
            raise StoreError(f"call store URL {self.safe_url}: {exc}") from None
        self._ready = False

    @property
    def safe_url(self) -> str:
        """The URL without its password, for messages."""
        try:
            from sqlalchemy.engine import make_url

            return make_url(self.url).render_as_string(hide_password=True)
        except (ArgumentError, ValueError):
            return "(unreadable URL)"

    def _prepare(self) -> None:
        if not self._ready:
            if self.engine.dialect.name == "sqlite":
                db = self.engine.url.database
                if db:
                    Path(db).parent.mkdir(parents=True, exist_ok=True)
            metadata.create_all(self.engine)
            self._ready = True

    def _upsert(self, rows: list[dict[str, Any]]) -> None:
        dialect = self.engine.dialect.name
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            stmt = pg_insert(calls)
        else:
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            stmt = sqlite_insert(calls)  # type: ignore[assignment]
        update = {c.name: stmt.excluded[c.name] for c in calls.columns if c.name != "call_id"}
        stmt = stmt.on_conflict_do_update(index_elements=["call_id"], set_=update)
        with self.engine.begin() as conn:
            conn.execute(stmt, rows)

    def save(self, state: CallState) -> bool:
        """Store an ended call; False (never an exception) when the store is unreachable."""
        try:
            self._prepare()
            self._upsert([row_of(state)])
        except (SQLAlchemyError, OSError):
            return False
        return True

    def ids(self) -> set[str]:
        self._prepare()
        with self.engine.connect() as conn:
            return {r[0] for r in conn.execute(select(calls.c.call_id))}

    def sync(self, data_dir: Path) -> SyncResult:
        """Store every ended call of this computer's journals not stored yet."""
        try:
            known = self.ids()
        except (SQLAlchemyError, OSError) as exc:
            raise StoreError(f"call store {self.safe_url} unreachable: "
                             f"{str(exc).splitlines()[0]}") from None
        saved = already = failed = 0
        for state in CallStore(data_dir).all():
            if state.ended is None:
                continue
            if state.call_id in known:
                already += 1
            elif self.save(state):
                saved += 1
            else:
                failed += 1
        return SyncResult(saved, already, failed)

    def query(self, *, since: str | None = None, until: str | None = None,
              category: str | None = None, target: str | None = None
              ) -> list[dict[str, Any]]:
        try:
            self._prepare()
            stmt = select(calls)
            if since:
                stmt = stmt.where(calls.c.started >= since)
            if until:
                stmt = stmt.where(calls.c.started < until)
            if category:
                stmt = stmt.where(calls.c.category == category)
            if target:
                stmt = stmt.where(calls.c.target == target)
            with self.engine.connect() as conn:
                return [dict(r._mapping) for r in conn.execute(stmt.order_by(calls.c.started))]
        except (SQLAlchemyError, OSError) as exc:
            raise StoreError(f"call store {self.safe_url} unreachable: "
                             f"{str(exc).splitlines()[0]}") from None


def open_store(data_dir: Path, environ: dict[str, str] | None = None,
               configured: str | None = None) -> SqlStore:
    return SqlStore(store_url(data_dir, environ, configured))
