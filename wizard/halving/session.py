"""A guided halving session: the service list, each restart's result, resumable.

Each session is a journal under ``halving/`` in the data folder: a start event with the
services, then one ``result`` event per restart. The next round is always recomputed
from that list by :func:`wizard.halving.search.next_round`.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wizard.calls.journal import Journal, JournalError, JournalFolder, read_events
from wizard.checks import System
from wizard.halving.search import DEFAULT_NOISY, Round, Verdict, next_round

FOLDER = "halving"


@dataclass
class Session:
    session_id: str
    services: list[str]
    noisy: list[str]
    label: str = ""
    results: list[bool] = field(default_factory=list)
    ended: dict[str, Any] | None = None

    def next(self) -> Round | Verdict:
        return next_round(self.services, self.results, self.noisy)


def store(data_dir: Path) -> JournalFolder:
    return JournalFolder(data_dir, FOLDER)


def parse_service_list(text: str) -> list[str]:
    """One service per line; blank lines and ``#`` comments ignored; msconfig/``sc``
    style "SERVICE_NAME: x" prefixes removed."""
    names: list[str] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.upper().startswith("SERVICE_NAME:"):
            line = line.split(":", 1)[1].strip()
        if line not in names:
            names.append(line)
    return names


def services_from_system(system: System | None = None) -> list[str]:
    """Services that start on this computer: Windows auto-start services via psutil,
    or the running systemd services on Linux."""
    if sys.platform == "win32":  # pragma: no cover - Windows only
        import psutil

        return sorted(s.name() for s in psutil.win_service_iter()
                      if s.start_type() == "automatic")
    system = system or System()
    out = system.run(["systemctl", "list-units", "--type=service", "--state=running",
                      "--no-legend", "--plain", "--no-pager"], timeout=10)
    if out.not_found:
        raise JournalError("systemctl is not available here: give --services FILE")
    if out.timed_out or out.returncode != 0:
        raise JournalError(f"systemctl failed: {(out.stderr or out.stdout).strip()[:200]}")
    names = [line.split()[0] for line in out.stdout.splitlines() if line.strip()]
    return [n[: -len(".service")] if n.endswith(".service") else n for n in names]


def start(data_dir: Path, services: Sequence[str], *, noisy: Sequence[str] = DEFAULT_NOISY,
          label: str = "") -> tuple[Session, Journal]:
    if len(services) < 1:
        raise JournalError("the service list is empty")
    next_round(services, [], noisy)  # raises HalvingError if the list cannot be searched
    session_id, journal, _ = store(data_dir).new_call(
        services=list(services), noisy=list(noisy), label=label)
    return Session(session_id, list(services), list(noisy), label), journal


def load(data_dir: Path, session_id: str | None) -> tuple[Session, Journal]:
    st = store(data_dir)
    if session_id is None:
        open_ids = [i for i in st.ids() if _load(st, i).ended is None]
        if not open_ids:
            raise JournalError(f"no open halving session in {st.calls}")
        session_id = open_ids[-1]
    full = st.resolve_id(session_id)
    session = _load(st, full)
    if session.ended is not None:
        raise JournalError(f"halving session {full} has already ended: "
                           f"{', '.join(session.ended.get('culprits', []))}")
    return session, st.open_journal(full)


def _load(st: JournalFolder, session_id: str) -> Session:
    events, _damaged = read_events(st.path(session_id))
    if not events or events[0].get("event") != "start":
        raise JournalError(f"{st.path(session_id)}: not a halving session")
    first = events[0]
    session = Session(session_id, list(first.get("services") or []),
                      list(first.get("noisy") or []), str(first.get("label", "")))
    for ev in events[1:]:
        if ev.get("event") == "result":
            session.results.append(bool(ev.get("failed")))
        elif ev.get("event") == "undo" and session.results:
            session.results.pop()
        elif ev.get("event") == "end":
            session.ended = ev
    return session


def record(session: Session, journal: Journal, rnd: Round, failed: bool) -> None:
    journal.append("result", round=rnd.number, enabled=list(rnd.enable), failed=failed)
    session.results.append(failed)


def undo(session: Session, journal: Journal) -> None:
    if session.results:
        journal.append("undo", round=len(session.results))
        session.results.pop()


def finish(session: Session, journal: Journal, verdict: Verdict) -> None:
    session.ended = journal.append("end", culprits=list(verdict.culprits),
                                   rounds=verdict.rounds, noisy=list(verdict.noisy))
