"""A realistic help desk's call store, generated: N calls over some weeks, taken by a
few dozen staffers about a few hundred targets (skewed), along real routes of the
shipped flowcharts (each call's steps with the time spent on each), with a flowchart
rollout half-way (a new version of Figure 7.2), abandoned calls, calls still open,
practice calls, known issues matched and social-engineering attempts logged.

Used by the report benchmark (100k and 1M calls, SQLite and PostgreSQL) and by the test
that looks at the HTML report in a real browser. Rows go in the way the wizard stores
them (same tables, same columns), in bulk: sqlite3 ``executemany``, PostgreSQL ``COPY``.
A bigger desk can be the generated one repeated (``repeat``): its calls, steps and known
issues copied in the database (``INSERT ... SELECT``), each copy with new call ids and
its times moved on by the desk's weeks, as if the same half-year came again. The
report's summary tables are then counted from the stored rows in the database, as the
migration that made them does.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from wizard.calls.engine import Engine, StepKind
from wizard.flows.flowset import load_flowset
from wizard.flows.nodes import TerminalNode
from wizard.records.store import (
    ROW_FORMAT,
    DatabaseStore,
    backfill_summaries,
    call_known_issues,
    call_steps,
    calls,
)

ROOT = Path(__file__).resolve().parent.parent
TZ = timezone(timedelta(hours=1))
ISSUES = ("autoconfig_address", "event_547", "event_4292", "negotiating_ip_security",
          "rras_l2tp_policy", "dns_port_conflict_953230")


@dataclass(frozen=True)
class Route:
    steps: tuple[str, ...]
    """Answered node keys, then the exit."""
    terminal: TerminalNode
    answers: dict[str, str]


@lru_cache(maxsize=1)
def routes() -> tuple[Route, ...]:
    fs = load_flowset(ROOT / "flowcharts")
    out = []
    for answers, step in Engine(fs).paths():
        assert step.kind is StepKind.END and isinstance(step.visit.node, TerminalNode)
        keys = tuple(dict.fromkeys(v.node_key for v in step.route if v.answered))
        out.append(Route(keys + (step.visit.node_key,), step.visit.node, answers))
    return tuple(out)


def generate(n: int, *, weeks: int = 26, seed: int = 7,
             start: datetime = datetime(2026, 5, 4, 8, 0, tzinfo=TZ)
             ) -> Iterator[tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]]:
    """N calls as (calls row, call_steps rows, call_known_issues rows)."""
    rng = random.Random(seed)
    paths = routes()
    weights = [rng.paretovariate(1.3) for _ in paths]
    staff = [f"Staffer {chr(65 + i % 26)}{i // 26 or ''}" for i in range(24)]
    targets = [f"srv{i:03d}.corp.example" for i in range(300)]
    target_weights = [1 / (i + 1) for i in range(len(targets))]
    scopes = ("caller", "several_users", "site", "everyone")
    severities = ("critical", "high", "medium", "low")
    days = weeks * 7
    rollout = start + timedelta(days=days // 2)
    for i in range(n):
        # more calls as the isolation rollout goes on, fewer after the new flowchart
        day = min(days - 1, int(days * rng.random() ** 0.8))
        began = start + timedelta(days=day, minutes=rng.randrange(600),
                                  seconds=rng.randrange(60))
        route = rng.choices(paths, weights)[0]
        node = route.terminal
        new_version = began >= rollout
        versions = {c: ("1.1" if new_version and c == "fig7_2" else "1.0")
                    for c in {k.split(".", 1)[0] for k in route.steps}}
        minutes = rng.lognormvariate(2.4 - (0.2 if new_version else 0), 0.6)
        steps = list(route.steps)
        kind = rng.random()
        status, terminal = node.status.value, steps[-1]
        ended_at = began + timedelta(minutes=minutes)
        if kind < 0.05:  # abandoned: the caller hung up somewhere on the route
            steps = steps[:rng.randrange(1, len(steps))]
            status, terminal = "abandoned", ""
            minutes *= len(steps) / len(route.steps)
            ended_at = began + timedelta(minutes=minutes)
        elif kind < 0.07 and day > days - 14:  # still open, recent
            steps = steps[:rng.randrange(1, len(steps))]
            status, terminal = "open", ""
        share = [rng.random() + 0.2 for _ in steps]
        total = sum(share)
        seconds = [round(minutes * 60 * s / total) for s in share]
        target = "" if terminal.startswith("server_restart.") else \
            rng.choices(targets, target_weights)[0]
        known = sorted(set(rng.sample(ISSUES, 1))) if rng.random() < 0.15 else []
        ended = terminal != "" or status == "abandoned"
        call_id = f"{began:%Y%m%d-%H%M%S}-{i:06x}"
        row = {
            "call_id": call_id, "started": began.isoformat(timespec="seconds"),
            "ended": (ended_at if ended else began + timedelta(seconds=sum(seconds)))
            .isoformat(timespec="seconds"),
            "duration_s": float(round(minutes * 60)) if ended else None,
            "staffer": rng.choice(staff), "caller_machine": f"ws-{i % 5000:04d}",
            "target": target, "status": status,
            "category": node.category.value if terminal else "",
            "scope": rng.choice(scopes), "severity": rng.choice(severities),
            "terminal": terminal, "tier2": bool(terminal) and node.tier2,
            "tier2_group": "Tier 2 IPsec support" if terminal and node.tier2 else "",
            "flowcharts": json.dumps(versions, sort_keys=True),
            "answers": json.dumps({k: route.answers[k] for k in steps if k in route.answers}),
            "call_type": "server_no_network" if route.steps[-1].startswith("server_restart.")
            else "reach",
            "extent": "", "known_issues": json.dumps(known), "notes": "{}",
            "mode": "interactive", "runs_on": "helpdesk", "resumed": 0,
            "stored_at": ended_at.isoformat(timespec="seconds"), "row_format": ROW_FORMAT,
            "practice": rng.random() < 0.03,
            "flowchart_version": ", ".join(f"{c} {v}" for c, v in sorted(versions.items())),
            "sensitive_requests": 1 if rng.random() < 0.02 else 0,
            **_handoff(i, bool(terminal) and node.tier2, ended_at),
        }
        step_rows = [{"call_id": call_id, "seq": k, "step": key, "seconds": s,
                      "final": k == len(steps) - 1}
                     for k, (key, s) in enumerate(zip(steps, seconds, strict=True))]
        yield row, step_rows, [{"call_id": call_id, "issue": x} for x in known]


HANDOFF_KINDS = ("servicenow", "jira", "email", "zendesk", "webhook")


def _handoff(i: int, escalated: bool, at: datetime) -> dict[str, Any]:
    """The hand-off of the i-th call (from its number, so the other figures of the desk
    stay as they were): most escalated calls sent, some waiting, a few failed or not
    sent."""
    none = {"handoff_status": "none", "handoff_kind": "", "handoff_number": "",
            "handoff_url": "", "handoff_at": "", "handoff_digest": ""}
    if not escalated or i % 10 == 9:
        return none
    kind = HANDOFF_KINDS[(i // 10) % 3 if i % 7 else 3 + i % 2]
    status = "queued" if i % 10 == 8 else "failed" if i % 23 == 0 else "sent"
    number = f"INC{i:07d}" if status == "sent" else ""
    return {"handoff_status": status, "handoff_kind": kind, "handoff_number": number,
            "handoff_url": f"https://tickets.corp.example/{number}" if number else "",
            "handoff_at": at.isoformat(timespec="seconds"),
            "handoff_digest": f"{i:032x}"}


RAW_TABLES = (calls, call_steps, call_known_issues)
TIME_COLUMNS = ("started", "ended", "stored_at", "handoff_at")
"""The columns of ``calls`` holding times (ISO 8601 with the desk's UTC offset, or "")."""


def copy_id(k: int) -> str:
    """What the call ids of the k-th copy of the desk end with."""
    return f"-r{k}"


def _later(dialect: str, column: sa.ColumnElement[Any], days: int) -> sa.ColumnElement[Any]:
    """A time column's ISO 8601 text ``days`` later, its UTC offset kept ("" stays "")."""
    local = sa.func.substr(column, 1, 19)
    if dialect == "postgresql":
        later = sa.cast(local, sa.DateTime) + sa.literal_column(f"interval '{days} days'",
                                                                sa.Interval)
        moved = sa.func.to_char(later, 'YYYY-MM-DD"T"HH24:MI:SS', type_=sa.String)
    else:
        moved = sa.func.strftime("%Y-%m-%dT%H:%M:%S", local, f"+{days} days",
                                 type_=sa.String)
    return sa.case((sa.func.coalesce(column, "") == "", column),
                   else_=moved + sa.func.substr(column, 20))


def repeat_desk(conn: sa.Connection, dialect: str, repeat: int, weeks: int) -> None:
    """Copy the stored calls (with their steps and known issues) ``repeat - 1`` times in
    the database, the k-th copy's call ids ending with :func:`copy_id` and its times
    ``k * weeks`` weeks later."""
    for k in range(1, repeat):
        for table in RAW_TABLES:
            days = 7 * weeks * k
            values = [
                (col + copy_id(k)).label(col.name) if col.name == "call_id"
                else _later(dialect, col, days).label(col.name) if table is calls and
                col.name in TIME_COLUMNS else col
                for col in table.columns]
            conn.execute(table.insert().from_select([c.name for c in table.columns],
                                                    sa.select(*values)
                                                    .where(~table.c.call_id.like("%-r%"))))


def fill(url: str, n: int, *, weeks: int = 26, seed: int = 7, batch: int = 20_000,
         repeat: int = 1) -> None:
    """Store N generated calls over ``weeks`` in the store at ``url`` (created at the
    newest revision), ``repeat`` times (:func:`repeat_desk`: N x ``repeat`` calls over
    ``weeks`` x ``repeat`` weeks)."""
    store = DatabaseStore(url)
    store.check()
    tables = ((calls, [c.name for c in calls.columns]),
              (call_steps, [c.name for c in call_steps.columns]),
              (call_known_issues, [c.name for c in call_known_issues.columns]))
    raw = store.engine.raw_connection()
    try:
        buffers: list[list[tuple[Any, ...]]] = [[], [], []]

        def flush() -> None:
            cur = raw.cursor()
            for (table, names), rows in zip(tables, buffers, strict=True):
                if not rows:
                    continue
                if store.dialect == "postgresql":
                    with cur.copy(f"COPY {table.name} ({', '.join(names)}) FROM STDIN"
                                  ) as copy:  # type: ignore[attr-defined]
                        for r in rows:
                            copy.write_row(r)
                else:
                    cur.executemany(f"INSERT INTO {table.name} ({', '.join(names)}) VALUES "
                                    f"({', '.join('?' * len(names))})", rows)
                rows.clear()
            raw.commit()

        for row, steps, issues in generate(n, weeks=weeks, seed=seed):
            buffers[0].append(tuple(row[c] for c in tables[0][1]))
            buffers[1].extend(tuple(s[c] for c in tables[1][1]) for s in steps)
            buffers[2].extend(tuple(x[c] for c in tables[2][1]) for x in issues)
            if len(buffers[0]) >= batch:
                flush()
        flush()
        with store.engine.begin() as conn:  # as the calls would have counted when stored
            repeat_desk(conn, store.dialect, repeat, weeks)
            backfill_summaries(conn)
        if store.dialect == "postgresql":
            raw.cursor().execute("ANALYZE")
            raw.commit()
    finally:
        raw.close()
        store.close()
