"""Finding and opening the store: its URL (argument, environment, organization file or
the SQLite file in the data folder), and the stores this process keeps open for the ends
of calls (:func:`save_ended_call`)."""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.engine import URL

from wizard.calls.journal import CallState
from wizard.records.store.schema import DEFAULT_FILE, ENV_VAR, StoreError
from wizard.records.store.store import DatabaseStore

if TYPE_CHECKING:
    from wizard.flows.flowset import FlowSet


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
    later = "the call is kept here, 'ipsec-triage sync' stores it later"
    try:
        store = _kept_store(resolve_url(data_dir, url, environ=environ,
                                        configured=configured))
    except StoreError as exc:
        return f"{exc}; {later}"
    why = store._save(state, fs)
    return None if why is None else f"{why}; {later}"


_KEPT: OrderedDict[str, DatabaseStore] = OrderedDict()
"""The stores calls were saved in by this process, newest last (at most :data:`KEPT`)."""
_KEPT_LOCK = threading.Lock()
KEPT = 4


def _kept_store(url: str) -> DatabaseStore:
    """The store at ``url``, opened once per process for the ends of calls: its engine
    (and connection pool) and its checked revision are kept, instead of a new engine and
    a schema inspection at the end of every call."""
    with _KEPT_LOCK:
        store = _KEPT.get(url)
        if store is not None and store._same_file():
            _KEPT.move_to_end(url)
            return store
        if store is not None:
            store.close()
        store = _KEPT[url] = DatabaseStore(url)
        store._same_file()
        while len(_KEPT) > KEPT:
            _KEPT.popitem(last=False)[1].close()
        return store
