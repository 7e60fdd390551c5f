"""Local call records: ``list``, ``resume`` (finding the open call) and ``sync`` over
many records, and how the time grows with their number.

Records are copies of a real call (run through the shipped flowcharts) under new ids;
every tenth is left open. ``sync`` stores into a SQLite store in the same folder:
first every call, then again with nothing to do (what ``report`` pays each time).
The reference reads every record and ``json.loads`` each of its lines: the least any
of these commands must do.

    python -m benchmarks.bench_records [--sizes 5000,10000] [--runs N]
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from benchmarks.common import best, figure, parser


def sample_call(tmp: Path) -> tuple[list[str], list[str]]:
    """Journal lines of one ended call, and of the same call before its end."""
    from tests.helpers.calls import replay
    from wizard.calls.engine import Engine
    from wizard.flows.flowset import load_flowset

    from .common import ROOT

    fs = load_flowset(ROOT / "flowcharts")
    answers, _ = next(iter(Engine(fs).paths()))
    call, _, _ = replay(answers, tmp, flowset=fs)
    lines = call.journals.path(call.call_id).read_text(encoding="utf-8").splitlines()
    open_lines = [ln for ln in lines if json.loads(ln)["event"] != "end"]
    return lines, open_lines


def fill(calls: Path, n: int, ended: list[str], opened: list[str]) -> None:
    calls.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        call_id = f"2026{1 + i // 40000 % 12:02d}{1 + i // 2000 % 28:02d}-" \
                  f"{i // 60 % 24:02d}{i % 60:02d}{i % 60:02d}-{i:04x}"
        lines = opened if i % 10 == 9 else ended
        first = json.loads(lines[0])
        first["call_id"] = call_id
        text = "\n".join([json.dumps(first, sort_keys=True), *lines[1:]]) + "\n"
        (calls / f"{call_id}.jsonl").write_text(text, encoding="utf-8")


def bulk_insert(data: Path, db: Path) -> float:
    """Seconds for one ``executemany`` per table of the rows ``sync`` stores (built
    beforehand, not timed), into a fresh SQLite file with the store's tables: the
    reference for the first ``sync`` (with the time to read the journals)."""
    import sqlite3
    import time

    import sqlalchemy as sa

    from wizard.calls.journal import JournalFolder
    from wizard.records.store import call_known_issues, call_steps, calls, metadata, record_of

    records = [record_of(s) for s in JournalFolder(data).all()]
    engine = sa.create_engine(f"sqlite:///{db}")
    metadata.create_all(engine)
    engine.dispose()
    tables = ((calls, [r.row for r in records]),
              (call_steps, [s for r in records for s in r.steps]),
              (call_known_issues, [i for r in records for i in r.issues]))
    statements = []
    for table, rows in tables:
        names = [c.name for c in table.columns]
        marks = ", ".join("?" * len(names))
        statements.append((f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({marks})",
                           [tuple(row.get(n) for n in names) for row in rows]))
    con = sqlite3.connect(db)
    start = time.perf_counter()
    with con:
        for text, values in statements:
            con.executemany(text, values)
    took = time.perf_counter() - start
    con.close()
    return took


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--sizes", default="5000,10000")
    args = p.parse_args()
    from wizard.calls.journal import JournalFolder
    from wizard.records.store import open_store

    sizes = [50] if args.tiny else [int(s) for s in args.sizes.split(",")]
    runs = 1 if args.tiny else min(args.runs, 3)
    per_size: dict[int, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        ended, opened = sample_call(Path(tmp) / "sample")
        for n in sizes:
            data = Path(tmp) / f"n{n}"
            fill(data / "calls", n, ended, opened)
            store = JournalFolder(data)

            def reference(store: JournalFolder = store) -> None:
                for path in sorted(store.calls.glob("*.jsonl")):
                    for line in path.read_text(encoding="utf-8").splitlines():
                        json.loads(line)

            ref = best(reference, runs)

            def listing(store: JournalFolder = store, n: int = n) -> None:
                assert sum(1 for _ in store.all()) == n

            def open_call(store: JournalFolder = store) -> None:
                [s.call_id for s in store.all() if s.ended is None][-1]

            t_list = per_size[n] = best(listing, runs)
            figure(f"list, {n} local records", t_list, ref, "read + json.loads",
                   "10,000 under 2 s")
            figure(f"resume (find the open call), {n} records", best(open_call, runs), ref,
                   "read + json.loads")
            sql = open_store(data, f"sqlite:///{data / 'calls.db'}")
            first = best(lambda sql=sql, data=data: sql.sync(data), 1)
            again = best(lambda sql=sql, data=data: sql.sync(data), runs)
            assert sql.sync(data).saved == 0
            figure(f"sync, {n} records, first time", first, ref, "read + json.loads")
            bulk = t_list + bulk_insert(data, Path(tmp) / f"bulk{n}.db")
            figure(f"sync, {n} records, into a fresh SQLite store", first, bulk,
                   "read + bulk insert of the same rows", "within 2x")
            figure(f"sync, {n} records, nothing new", again, ref, "read + json.loads",
                   "10,000 under 2 s")
        if len(sizes) > 1:
            a, b = sizes[0], sizes[-1]
            print(f"  list: {b} / {a} records: time x{per_size[b] / per_size[a]:.1f} "
                  f"(linear: x{b / a:.1f})")


if __name__ == "__main__":
    main()
