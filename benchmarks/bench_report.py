"""Report time over many stored calls, and how it grows with their number.

Generates N calls straight into a SQLite store (a year of a help desk: real flowchart
exits with their status and category, 40 staffers, a few hundred targets, skewed), then
times each part of ``ipsec-triage report``: the query, the counting, and each renderer;
and the whole command (HTML to a file; nothing to sync) in a fresh process.

    python benchmarks/bench_report.py [--sizes 10000,30000,100000] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import TypeVar

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from wizard.callstore import ROW_FORMAT, CallFilter, SqlStore, calls  # noqa: E402
from wizard.flowset import load_flowset  # noqa: E402
from wizard.report import (  # noqa: E402
    build_report,
    to_csv,
    to_html,
    to_json,
    to_text,
)
from wizard.schema import TerminalNode  # noqa: E402

TZ = timezone(timedelta(hours=1))
T = TypeVar("T")


def terminals() -> list[tuple[str, TerminalNode]]:
    fs = load_flowset(ROOT / "flowcharts")
    return [(k, n) for k in fs.node_keys() if isinstance(n := fs.node(k), TerminalNode)]


def fill(path: Path, n: int, seed: int = 7) -> None:
    """N stored calls, written with sqlite3 directly (a few seconds for 100k)."""
    SqlStore(f"sqlite:///{path}").ids()  # creates the table as the wizard does
    rng = random.Random(seed)
    exits = terminals()
    exit_weights = [rng.paretovariate(1.2) for _ in exits]
    targets = [f"srv{i:03d}.corp.example" for i in range(300)]
    target_weights = [1 / (i + 1) for i in range(len(targets))]
    scopes = ("caller", "several_users", "site", "everyone")
    severities = ("critical", "high", "medium", "low")
    issues = ("event_547", "event_4292", "negotiating_ip_security", "apipa_169_254")
    year = datetime(2026, 1, 1, 8, 0, tzinfo=TZ)
    names = [c.name for c in calls.columns]
    rows = []
    for i in range(n):
        key, node = rng.choices(exits, exit_weights)[0]
        start = year + timedelta(days=rng.randrange(365), minutes=rng.randrange(600),
                                 seconds=rng.randrange(60))
        minutes = rng.lognormvariate(2.5, 0.6)
        end = start + timedelta(minutes=minutes)
        server = key.startswith("server_restart.")
        target = "" if server else rng.choices(targets, target_weights)[0]
        known = [rng.choice(issues)] if rng.random() < 0.2 else []
        row = {
            "call_id": f"{start:%Y%m%d-%H%M%S}-{i:06x}",
            "started": start.isoformat(timespec="seconds"),
            "ended": end.isoformat(timespec="seconds"), "duration_s": minutes * 60,
            "staffer": f"staff{rng.randrange(40):02d}", "caller_machine": f"ws-{i % 5000:04d}",
            "target": target, "status": node.status.value, "category": node.category.value,
            "scope": rng.choice(scopes), "severity": rng.choice(severities),
            "terminal": key, "tier2": node.tier2,
            "tier2_group": "Tier 2 IPsec support" if node.tier2 else "",
            "flowcharts": json.dumps({"intake": "1.0", "fig7_1": "1.0"}),
            "answers": json.dumps({"intake.caller_name": "Ann Caller",
                                   "intake.target": target, "intake.scope": "caller"}),
            "call_type": "server_no_network" if server else "reach",
            "extent": "one_server", "known_issues": json.dumps(known), "notes": "{}",
            "mode": "interactive", "runs_on": "helpdesk", "resumed": 0,
            "stored_at": end.isoformat(timespec="seconds"), "row_format": ROW_FORMAT,
        }
        rows.append(tuple(row[c] for c in names))
    with sqlite3.connect(path) as db:
        db.executemany(f"INSERT INTO calls ({', '.join(names)}) VALUES "
                       f"({', '.join('?' * len(names))})", rows)


def best(fn: Callable[[], T], runs: int) -> tuple[float, T]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def command(data: Path, db: Path, out: Path, runs: int) -> float:
    env = dict(os.environ, PYTHONPATH=str(ROOT), IPSEC_TRIAGE_DATA=str(data),
               IPSEC_TRIAGE_STORE=f"sqlite:///{db}")
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "wizard", "report", "--format", "html",
                        "-o", str(out)], check=True, env=env, cwd=ROOT,
                       stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return min(times)


def measure(n: int, runs: int) -> list[float]:
    """Seconds for: fill, query, count, table, csv, json, html, a month, the command."""
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "calls.sqlite3"
        began = time.perf_counter()
        fill(db, n)
        filled = time.perf_counter() - began
        store = SqlStore(f"sqlite:///{db}")
        t_query, stored = best(lambda: store.query(details=False), runs)
        t_count, report = best(lambda: build_report(stored), runs)
        t_table, _ = best(lambda: to_text(report), runs)
        t_csv, _ = best(lambda: to_csv(report), runs)
        t_json, _ = best(lambda: to_json(report), runs)
        t_html, _ = best(lambda: to_html(report), runs)
        month = CallFilter(since=date(2026, 3, 1), until=date(2026, 3, 31),
                           category="caller_ipsec")
        t_month, _ = best(lambda: build_report(store.query(month, details=False)), runs)
        store.close()
        t_cmd = command(Path(tmp) / "data", db, Path(tmp) / "r.html", max(1, runs - 1))
    return [filled, t_query, t_count, t_table, t_csv, t_json, t_html, t_month, t_cmd]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", default="10000,30000,100000")
    parser.add_argument("--runs", type=int, default=3, help="best of N (default 3)")
    args = parser.parse_args()
    sizes = [int(x) for x in args.sizes.split(",")]
    print(f"{'calls':>8} {'fill':>7} {'query':>7} {'count':>7} {'table':>7} {'csv':>6} "
          f"{'json':>6} {'html':>6} {'total':>7} {'us/call':>8} {'month+cat':>9} "
          f"{'command':>8}")
    first: float | None = None
    for n in sizes:
        filled, t_query, t_count, t_table, t_csv, t_json, t_html, t_month, t_cmd = \
            measure(n, args.runs)
        total = t_query + t_count + t_html
        per = total / n * 1e6
        first = per if first is None else first
        print(f"{n:>8} {filled:>6.2f}s {t_query:>6.2f}s {t_count:>6.2f}s {t_table:>6.3f}s "
              f"{t_csv:>5.3f}s {t_json:>5.3f}s {t_html:>5.3f}s {total:>6.2f}s {per:>8.1f} "
              f"{t_month:>8.3f}s {t_cmd:>7.2f}s", flush=True)
    print(f"total = query + count + html (best of {args.runs}); linear growth keeps us/call "
          "flat. command: 'ipsec-triage report --format html -o FILE' in a new process, "
          "start-up included. month+cat: query and count one month of one category.")


if __name__ == "__main__":
    main()
