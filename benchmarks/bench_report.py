"""The report over many stored calls: time and peak memory, how they grow, and the ratio
to the same counts run directly in SQL on the same database.

For each database (SQLite; PostgreSQL when ``--pg URL`` or ``$IPSEC_TRIAGE_TEST_PG_URL``
names a server) and each size (default 100,000 and 1,000,000 calls of a realistic desk,
see ``desk.py``), in fresh processes, best of ``--runs``:

- ours: ``ipsec-triage report --format html -o FILE --no-sync``, the whole command (it
  counts from the summary tables);
- reference: a bare Python process running, through the driver alone and fetching every
  row, the SQL that counts the same figures from the stored calls and their steps (the
  report's queries over the raw tables, ``source="calls"``, as it ran before the
  summary tables): the database's own cost of the counts, plus an interpreter start.

Also in one process (start-up left out): the report's queries and assembly, the summary
tables' SQL alone, and the raw tables' SQL, each run directly. Peak memory is each
process's maximum resident size. The summary tables' row counts are printed too.

    python benchmarks/bench_report.py [--sizes 100000,1000000] [--runs 3] [--pg URL]
        [--backends sqlite,postgresql] [--generate 100000] [--screenshot FILE]
        [--store URL]

A size above ``--generate`` is that many generated calls repeated in the database (see
``desk.py``: each copy the same half-year again, later): 1,000,000 calls are 100,000
generated ones ten times over, five years of the desk, filled in minutes.

``--store URL``: measure an existing store (filled before, e.g. by ``desk.py``) instead
of generating one. ``--screenshot FILE``: the HTML report of the first size, as a manager
sees it in headless Chromium (Debian's ``chromium``), saved as a PNG.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from benchmarks.desk import fill  # noqa: E402
from wizard.records.report import (  # noqa: E402
    DEFAULT_GROUPS,
    build_report,
    report_queries,
    session_settings,
)
from wizard.records.store import SUMMARY_TABLES, CallFilter, DatabaseStore  # noqa: E402

T = TypeVar("T")
DIRECT = r"""
import json, sys, time
kind, target, statements = sys.argv[1], sys.argv[2], json.load(open(sys.argv[3]))
if kind == "sqlite":
    import sqlite3
    db = sqlite3.connect(target)
else:
    import psycopg
    db = psycopg.connect(target)
began = time.perf_counter()
cur = db.cursor()
rows = 0
for sql in statements:
    cur.execute(sql)
    rows += len(cur.fetchall()) if cur.description else 0
print(json.dumps({"seconds": time.perf_counter() - began, "rows": rows}))
"""


def statements(store: DatabaseStore, source: str = "summary") -> list[str]:
    """The report's SQL for this database (``source``: from the summary tables or the
    stored calls), with its values written in (its session settings first)."""
    return session_settings(store.dialect) + [str(q.compile(dialect=store.engine.dialect,
                          compile_kwargs={"literal_binds": True}))
            for q in report_queries(CallFilter(), DEFAULT_GROUPS, store.dialect,
                                    source).values()]


def run_direct(store: DatabaseStore, sql: list[str]) -> int:
    """Run statements through the driver alone, fetching every row."""
    with store.engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        cur = raw.cursor()  # type: ignore[union-attr]
        count = 0
        for s in sql:
            cur.execute(s)
            count += len(cur.fetchall()) if cur.description else 0
        raw.rollback()  # type: ignore[union-attr]
        return count


def summary_sizes(store: DatabaseStore) -> str:
    with store.engine.connect() as conn:
        return ", ".join(
            f"{t.name} {conn.execute(sa.select(sa.func.count()).select_from(t)).scalar()}"
            for t in SUMMARY_TABLES)


def best(fn: Callable[[], T], runs: int) -> tuple[float, T]:
    times, result = [], None
    for _ in range(runs):
        began = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - began)
    return min(times), result  # type: ignore[return-value]


def measure_process(argv: list[str], env: dict[str, str], runs: int) -> tuple[float, float]:
    """Best wall time and peak MiB of a command, each run in a fresh process measured on
    its own (``/usr/bin/time``-like, through a small wrapper)."""
    wrapper = ("import resource, subprocess, sys, json, time; t = time.perf_counter(); "
               "r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL); "
               "t = time.perf_counter() - t; "
               "print(json.dumps([r.returncode, t, "
               "resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss]))")
    times, peaks = [], []
    for _ in range(runs):
        r = subprocess.run([sys.executable, "-c", wrapper, *argv], env=env, cwd=ROOT,
                           capture_output=True, text=True, check=True)
        code, took, peak = json.loads(r.stdout.strip().splitlines()[-1])
        if code:
            raise SystemExit(f"{' '.join(argv[:6])}... exited {code}")
        times.append(took)
        peaks.append(peak / 1024)
    return min(times), max(peaks)


@contextmanager
def pg_schema(base: str) -> Any:
    admin = sa.create_engine(base)
    schema = f"bench_{secrets.token_hex(4)}"
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield admin.url.update_query_dict({"options": f"-csearch_path={schema}"}
                                          ).render_as_string(hide_password=False), schema
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def libpq(url: str) -> str:
    """A SQLAlchemy PostgreSQL URL as psycopg takes it (options kept)."""
    u = sa.engine.make_url(url)
    parts = [f"host={u.host or '127.0.0.1'}", f"port={u.port or 5432}",
             f"dbname={u.database}", f"user={u.username}"]
    if u.password:
        parts.append(f"password={u.password}")
    options = u.query.get("options")
    if options:
        parts.append(f"options='{options}'")
    return " ".join(parts)


def one(kind: str, url: str, n: int, runs: int, tmp: Path,
        screenshot: Path | None, fill_it: bool = True, generate: int = 100_000
        ) -> dict[str, Any]:
    began = time.perf_counter()
    if fill_it:
        if n > generate and n % generate:
            raise SystemExit(f"--sizes: {n} is not a multiple of --generate {generate}")
        fill(url, min(n, generate), repeat=max(1, n // generate))
    filled = time.perf_counter() - began
    store = DatabaseStore(url)
    summary_sql, calls_sql = statements(store), statements(store, "calls")
    t_ours_in, report = best(lambda: build_report(store), runs)
    t_summary_in, _rows = best(lambda: run_direct(store, summary_sql), runs)
    t_calls_in, _rows = best(lambda: run_direct(store, calls_sql), runs)
    sizes = summary_sizes(store)
    store.close()
    env = dict(os.environ, PYTHONPATH=str(ROOT), IPSEC_TRIAGE_DATA=str(tmp / "data"),
               IPSEC_TRIAGE_STORE=url)
    page = tmp / "report.html"
    t_cmd, mem_cmd = measure_process([sys.executable, "-m", "wizard", "report", "--format",
                                      "html", "-o", str(page), "--no-sync"], env, runs)
    (tmp / "sql.json").write_text(json.dumps(calls_sql))
    target = url.split("///", 1)[1] if kind == "sqlite" else libpq(url)
    t_ref, mem_ref = measure_process([sys.executable, "-c", DIRECT, kind, target,
                                      str(tmp / "sql.json")], env, runs)
    if screenshot is not None:
        take_screenshot(page, screenshot)
    return {"calls": report.calls, "fill": filled, "ours_in": t_ours_in,
            "summary_in": t_summary_in, "calls_in": t_calls_in, "cmd": t_cmd, "ref": t_ref,
            "mem_cmd": mem_cmd, "mem_ref": mem_ref, "sizes": sizes}


def take_screenshot(page: Path, png: Path) -> None:
    from playwright.sync_api import sync_playwright

    png.parent.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--headless", "--no-sandbox", "--disable-gpu",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync"])
        tab = browser.new_page(viewport={"width": 1200, "height": 900})
        tab.goto(page.as_uri())
        tab.screenshot(path=str(png), full_page=True)
        browser.close()
    print(f"screenshot of the HTML report: {png}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--runs", type=int, default=3, help="best of N (default 3)")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--pg", default=os.environ.get("IPSEC_TRIAGE_TEST_PG_URL"),
                        help="PostgreSQL server URL (default $IPSEC_TRIAGE_TEST_PG_URL)")
    parser.add_argument("--generate", type=int, default=100_000, metavar="N",
                        help="calls generated at most; bigger sizes repeat them (default "
                        "100000)")
    parser.add_argument("--screenshot", metavar="FILE", type=Path, default=None)
    parser.add_argument("--store", metavar="URL", default=None,
                        help="measure this existing store (no desk is generated)")
    args = parser.parse_args()
    sizes = [int(x) for x in args.sizes.split(",")]
    backends = [b for b in args.backends.split(",") if b]
    print(f"{'database':<10} {'calls':>8} {'fill':>7} | {'report':>7} {'summ SQL':>8} "
          f"{'raw SQL':>8} {'ratio':>5} | {'command':>7} {'raw proc':>8} {'ratio':>5} | "
          f"{'peak MiB':>8} {'raw proc':>8}")
    if args.store:
        kind = sa.engine.make_url(args.store).get_backend_name()
        with tempfile.TemporaryDirectory() as folder:
            show(kind, 0, one(kind, args.store, 0, args.runs, Path(folder), args.screenshot,
                              fill_it=False))
        backends = []
    for kind in backends:
        if kind == "postgresql" and not args.pg:
            print("postgresql: skipped (no --pg URL and no $IPSEC_TRIAGE_TEST_PG_URL)")
            continue
        first: dict[str, Any] | None = None
        for i, n in enumerate(sizes):
            with tempfile.TemporaryDirectory() as folder:
                tmp = Path(folder)
                shot = args.screenshot if (args.screenshot and i == 0 and
                                           kind == backends[0]) else None
                if kind == "sqlite":
                    r = one(kind, f"sqlite:///{tmp / 'calls.sqlite3'}", n, args.runs, tmp,
                            shot, generate=args.generate)
                else:
                    with pg_schema(args.pg) as (url, _schema):
                        r = one(kind, url, n, args.runs, tmp, shot, generate=args.generate)
            show(kind, n, r)
            if first is None:
                first = {"n": n, **r}
            else:
                grow = n / first["n"]
                print(f"{'':<10} x{grow:<7.0f} calls: command time x"
                      f"{r['cmd'] / first['cmd']:.1f}, peak memory x"
                      f"{r['mem_cmd'] / first['mem_cmd']:.2f}", flush=True)
    print("report: the report's queries and assembly in one process; summ SQL: the "
          "summary tables' statements run directly through the driver, rows fetched; raw "
          "SQL: the statements that count the same from the stored calls and their steps; "
          f"ratio: report / raw SQL (best of {args.runs}). command: 'ipsec-triage report "
          "--format html -o FILE --no-sync' in a new process; raw proc: a bare Python "
          "process running the raw SQL. Peak MiB: maximum resident size of each process.")


def show(kind: str, n: int, r: dict[str, Any]) -> None:
    print(f"{kind:<10} {n or r['calls']:>8} {r['fill']:>6.1f}s | {r['ours_in']:>6.2f}s "
          f"{r['summary_in']:>7.2f}s {r['calls_in']:>7.2f}s "
          f"{r['ours_in'] / r['calls_in']:>5.2f} | "
          f"{r['cmd']:>6.2f}s {r['ref']:>7.2f}s {r['cmd'] / r['ref']:>5.2f} | "
          f"{r['mem_cmd']:>8.0f} {r['mem_ref']:>8.0f}", flush=True)
    print(f"{'':<10} summary rows: {r['sizes']}", flush=True)


if __name__ == "__main__":
    main()
