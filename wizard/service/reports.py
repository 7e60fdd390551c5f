"""The call store and the report, as operations: store this desk's calls, tell and
bring forward the store's schema, build the call classification report."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from wizard.base.errors import ExitStatus, TriageError
from wizard.service.desk import Desk

if TYPE_CHECKING:
    from wizard.flows.flowset import FlowSet
    from wizard.records.report import Labels, Report
    from wizard.records.store import CallFilter, DatabaseStore, SyncResult


def store_exit(exc: Exception) -> ExitStatus:
    """Exit code for a store error: its own code (8) when the store cannot be reached."""
    return ExitStatus.STORE if " unreachable: " in str(exc) else ExitStatus.NOT_FOUND


@dataclass(frozen=True)
class Synced:
    result: SyncResult
    url: str
    """The store's URL with any password masked."""
    error: str | None
    """Why calls failed to be stored, when some did."""


def sync(desk: Desk) -> Synced:
    """Store this desk's calls the store lacks (open ones as open)."""
    from wizard.records.store import StoreError

    with desk.database() as store:
        try:
            result = store.sync(desk.data_dir)
        except StoreError as exc:
            raise TriageError(f"{exc}; the calls stay here, nothing is lost",
                              store_exit(exc)) from None
        return Synced(result, store.safe_url, store.last_error if result.failed else None)


@dataclass(frozen=True)
class Revision:
    url: str
    have: str
    need: str


def store_revision(desk: Desk) -> Revision:
    from wizard.records.store import REVISION, StoreError

    with desk.database() as store:
        try:
            return Revision(store.safe_url, store.revision(), REVISION)
        except StoreError as exc:
            raise TriageError(str(exc), store_exit(exc)) from None


def store_upgrade(desk: Desk) -> tuple[str, str, str]:
    """Bring the store to this version's revision: (url, before, after)."""
    from wizard.records.store import StoreError

    with desk.database() as store:
        try:
            before, after = store.upgrade()
        except StoreError as exc:
            raise TriageError(str(exc), store_exit(exc)) from None
        return store.safe_url, before, after


def labels(desk: Desk) -> tuple[FlowSet | None, Labels]:
    """The flowcharts in use and the labels they and the known-issue catalogue give;
    labels fall back to ids if they cannot be read."""
    from wizard.base.documents import DocumentError
    from wizard.flows.flowset import FlowchartError, load_flowset
    from wizard.records.report import flowset_labels

    try:
        folder = desk.flowchart_source().path
    except TriageError:
        from wizard.base.resources import builtin_dir

        folder = builtin_dir("flowcharts")
    fs: FlowSet | None = None
    for check in (True, False):  # the checked set is read from the cache; a set that
        try:  # fails its checks still gives its labels
            fs = load_flowset(folder, check=check)
            break
        except FlowchartError:
            continue
        except (DocumentError, OSError):
            break
    issues: list[tuple[str, str]] = []
    if fs is not None:  # the catalogue came with the set (from the cache, not parsed again)
        issues = [(e.id, e.title) for e in (fs.catalogue.entries if fs.catalogue else ())]
    else:
        from wizard.flows.catalogue import catalogue_path, load_catalogue

        with contextlib.suppress(DocumentError, OSError):
            issues = [(e.id, e.title) for e in load_catalogue(catalogue_path(folder)).entries]
    return fs, flowset_labels(fs, issues)


@dataclass(frozen=True)
class Made:
    report: Report
    warning: str | None
    """Calls of this desk that could not be stored first (not in the report)."""


def make_report(desk: Desk, filters: CallFilter, dims: Sequence[str] | None = None, *,
                sync_first: bool = True) -> Made:
    """The call classification report, counted in the database (this desk's calls not
    stored yet are stored first)."""
    from wizard.records.report import DEFAULT_GROUPS, build_report
    from wizard.records.store import StoreError

    if filters.since and filters.until and filters.since > filters.until:
        raise TriageError(f"--since {filters.since} is after --until {filters.until}",
                          ExitStatus.USAGE)
    fs, names = labels(desk)
    warning = None
    store: DatabaseStore
    with desk.database() as store:
        try:
            if sync_first:
                synced = store.sync(desk.data_dir, fs)
                if synced.failed:
                    warning = (f"{synced.failed} call(s) of this computer are not in the "
                               f"report: {store.last_error}")
            data = build_report(store, filters, dims or DEFAULT_GROUPS, labels=names)
        except StoreError as exc:
            raise TriageError(str(exc), store_exit(exc)) from None
    return Made(data, warning)
