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

By concern: :mod:`.schema` (settings, tables, :class:`StoredCall`), :mod:`.summaries`
(the report's summary tables and their SQL), :mod:`.facts` (what is stored of a call),
:mod:`.store` (:class:`DatabaseStore`), :mod:`.opening` (the store's URL,
:func:`open_store`, and the stores kept open per process for :func:`save_ended_call`).

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

from wizard.flows.vocabulary import ABANDONED, HANDOFF_STATUSES, OPEN, STATUS_LABELS
from wizard.records.store.facts import (
    Record,
    call_facts,
    flowchart_version,
    handoff_digest,
    handoff_facts,
    record_of,
    row_of,
    step_times,
    stored_version,
)
from wizard.records.store.opening import open_store, resolve_url, save_ended_call
from wizard.records.store.schema import (
    BATCH,
    CALL_LOCK,
    CONNECT_TIMEOUT_S,
    DEFAULT_FILE,
    ENV_VAR,
    LEGACY,
    MIGRATION_LOCK,
    PRACTICE_MODES,
    REVISION,
    ROW_FORMAT,
    SQLITE_BUSY_TIMEOUT_S,
    CallFilter,
    StoredCall,
    StoreError,
    SyncResult,
    call_known_issues,
    call_steps,
    calls,
    metadata,
    stored_calls,
)
from wizard.records.store.store import DatabaseStore, gc_paused
from wizard.records.store.summaries import (
    NO_SECONDS,
    SUMMARY_DIMS,
    SUMMARY_OUTCOMES,
    SUMMARY_TABLES,
    TIMED_DIMS,
    TOTAL_DAY,
    backfill_summaries,
    call_day,
    dimension_key,
    grouped_by,
    handed_off,
    report_calls,
    report_known_issues,
    report_steps,
    report_times,
    summary_changes,
    summary_rows,
    summary_selects,
    time_bucket,
)

__all__ = [
    "ABANDONED",
    "BATCH",
    "CALL_LOCK",
    "CONNECT_TIMEOUT_S",
    "CallFilter",
    "DEFAULT_FILE",
    "DatabaseStore",
    "ENV_VAR",
    "HANDOFF_STATUSES",
    "LEGACY",
    "MIGRATION_LOCK",
    "NO_SECONDS",
    "OPEN",
    "PRACTICE_MODES",
    "REVISION",
    "ROW_FORMAT",
    "Record",
    "SQLITE_BUSY_TIMEOUT_S",
    "STATUS_LABELS",
    "SUMMARY_DIMS",
    "SUMMARY_OUTCOMES",
    "SUMMARY_TABLES",
    "StoreError",
    "StoredCall",
    "SyncResult",
    "TIMED_DIMS",
    "TOTAL_DAY",
    "backfill_summaries",
    "call_day",
    "call_facts",
    "call_known_issues",
    "call_steps",
    "calls",
    "dimension_key",
    "flowchart_version",
    "gc_paused",
    "grouped_by",
    "handed_off",
    "handoff_digest",
    "handoff_facts",
    "metadata",
    "open_store",
    "record_of",
    "report_calls",
    "report_known_issues",
    "report_steps",
    "report_times",
    "resolve_url",
    "row_of",
    "save_ended_call",
    "step_times",
    "stored_calls",
    "stored_version",
    "summary_changes",
    "summary_rows",
    "summary_selects",
    "time_bucket",
]
