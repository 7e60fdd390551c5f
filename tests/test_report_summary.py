"""The report's summary tables: on a realistic generated desk (SQLite and PostgreSQL) the
report they give is the report counted from the stored calls themselves, with every
filter; storing a call again (handed off later, an open call ended) never counts it
twice; a populated store of revision 0003 is upgraded to the same report."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from benchmarks.desk import TIME_COLUMNS, copy_id, fill, generate
from wizard.records import store as st
from wizard.records.report import Report, build_report

from . import test_callstore as cs
from .test_callstore import store_url  # noqa: F401 - the fixture: SQLite and PostgreSQL
from .test_report import labels

FILTERS = [
    st.CallFilter(),
    st.CallFilter(practice=True),
    st.CallFilter(since=date(2026, 6, 3), until=date(2026, 7, 15)),
    st.CallFilter(since=date(2026, 6, 10), practice=True),
    st.CallFilter(until=date(2026, 5, 20)),
]


def same(report: Report) -> dict[str, Any]:
    """What a person sees of a report (everything but when it was made)."""
    out = report.to_dict()
    del out["generated"]
    return out


def assert_summaries_match_calls(store: st.DatabaseStore) -> None:
    """The summary tables hold what counting every stored call again gives."""
    with store.engine.connect() as conn:
        for table, select in st.summary_selects().items():
            width = len(table.primary_key.columns)
            counted = {tuple(r[:width]): tuple(r[width:]) for r in conn.execute(select)}
            kept = {tuple(r[:width]): tuple(r[width:]) for r in conn.execute(
                sa.select(*table.columns)) if any(r[width:])}
            assert kept == counted, table.name


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def desk_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
             ) -> Iterator[str]:
    """A realistic generated desk (see benchmarks/desk.py) of 1,000 calls over ten weeks,
    in SQLite and in PostgreSQL, shared by the tests that only read it."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('desk') / 'calls.sqlite3'}"
        fill(url, 1000, weeks=10)
        yield url
        return
    base = os.environ.get(cs.PG_ENV)
    if not base:
        pytest.skip(f"no PostgreSQL server: set {cs.PG_ENV}")
    with cs.pg_schema(base) as url:
        fill(url, 1000, weeks=10)
        yield url


def test_the_summary_report_is_the_report_counted_from_the_calls(desk_url: str) -> None:
    store = st.DatabaseStore(desk_url)
    names = labels()
    for filters in FILTERS:
        summary = build_report(store, filters, labels=names)
        assert summary.calls > 0
        assert same(summary) == same(build_report(store, filters, labels=names,
                                                  source="calls")), filters
    full = build_report(store, labels=names)
    assert full.steps and any(s.abandoned for s in full.steps) and full.handoffs
    assert full.practice_left_out > 0 and full.total.median_s is not None
    assert_summaries_match_calls(store)
    store.close()


def test_storing_calls_again_never_counts_them_twice(tmp_path: Path,
                                                     store_url: str) -> None:  # noqa: F811
    data = tmp_path / "desk"
    store = st.open_store(data, store_url)
    start = datetime(2026, 11, 2, 9, 0, tzinfo=cs.TZ)
    states = [cs.backdated(end, data, start.replace(hour=9 + i), 10 + i, staffer=f"S{i}")
              for i, end in enumerate(("fig7_1.fixed_network", "fig7_2.escalate_caller",
                                       "fig7_2.fixed_policy"))]
    for state in states:
        assert store.save(state)
    first = same(build_report(store))
    for state in states:  # again, as sync or a later hand-off does
        assert store.save(state)
    assert same(build_report(store)) == first
    assert_summaries_match_calls(store)
    moved = cs.backdated("fig7_3.escalate_logon", data, start.replace(day=3), 40)
    assert store.save(moved)
    moved.started = start.replace(day=9).isoformat()  # the same call, stored as another day
    assert moved.ended is not None
    moved.ended = {**moved.ended, "t": start.replace(day=9, hour=10).isoformat()}
    assert store.save(moved)
    after = build_report(store)
    assert after.calls == 4 and "2026-11-03" not in {d.key for d in after.days}
    assert same(after) == same(build_report(store, source="calls"))
    assert_summaries_match_calls(store)
    store.close()


def test_a_populated_store_at_revision_0003_is_upgraded_to_the_same_report(
        tmp_path: Path, store_url: str) -> None:  # noqa: F811
    from alembic import command
    from alembic.config import Config

    store = st.DatabaseStore(store_url)
    engine = store.engine
    if engine.dialect.name == "sqlite" and engine.url.database:
        Path(engine.url.database).parent.mkdir(parents=True, exist_ok=True)
    with engine.begin() as conn:
        config = Config()
        config.set_main_option("script_location",
                               str(Path(__file__).parent.parent / "wizard" / "records" /
                                   "migrations"))
        config.attributes["connection"] = conn
        command.upgrade(config, "0003")
        assert not sa.inspect(conn).has_table(st.SUMMARY_TABLES[0].name)
        rows: tuple[list[dict[str, Any]], ...] = ([], [], [])
        for row, steps, issues in generate(400, weeks=6):
            rows[0].append(row)
            rows[1].extend(steps)
            rows[2].extend(issues)
        tables = (st.calls, st.call_steps, st.call_known_issues)
        for table, values in zip(tables, rows, strict=True):
            conn.execute(table.insert(), values)
    assert store.upgrade() == ("0003", st.REVISION)
    assert_summaries_match_calls(store)
    names = labels()
    for filters in FILTERS:
        assert same(build_report(store, filters, labels=names)) == same(
            build_report(store, filters, labels=names, source="calls")), filters
    store.close()


@pytest.mark.parametrize(("filters", "dim", "key"), [
    (st.CallFilter(staffer="Staffer A"), "staffer", "Staffer A"),
    (st.CallFilter(category="network"), "category", "network"),
    (st.CallFilter(status="abandoned"), "status", "abandoned"),
    (st.CallFilter(target="SRV001.corp.example"), "target", "srv001.corp.example")])
def test_filters_the_summaries_cannot_answer_count_from_the_calls(
        desk_url: str, filters: st.CallFilter, dim: str, key: str) -> None:
    store = st.DatabaseStore(desk_url)
    whole = build_report(store)  # from the summary tables
    report = build_report(store, filters)
    assert 0 < report.calls == whole.group(dim)[key].calls < whole.calls
    assert report.group(dim)[key].statuses == whole.group(dim)[key].statuses
    store.close()


def test_a_desk_repeated_in_the_database_is_the_desk_generated_again_weeks_later(
        store_url: str) -> None:  # noqa: F811
    """The benchmark's bigger desk (the generated one copied in SQL): every copy's calls
    are the generated calls with their times the desk's weeks later (offset kept), their
    steps and known issues with them, and the summary tables count them all."""
    fill(store_url, 150, weeks=3, repeat=3)
    expected_calls, expected_steps, expected_issues = set(), [], []
    for k in range(3):
        for row, steps, issues in generate(150, weeks=3):
            cid = row["call_id"] + (copy_id(k) if k else "")
            expected_calls.add((cid, *(
                (datetime.fromisoformat(row[c]) + timedelta(weeks=3 * k)).isoformat()
                if row[c] else row[c] for c in TIME_COLUMNS), row["status"]))
            expected_steps += [(cid, s["seq"], s["step"], s["seconds"]) for s in steps]
            expected_issues += [(cid, x["issue"]) for x in issues]
    store = st.DatabaseStore(store_url)
    with store.engine.connect() as conn:
        c, s, k = st.calls.c, st.call_steps.c, st.call_known_issues.c
        assert set(conn.execute(sa.select(c.call_id, *(c[n] for n in TIME_COLUMNS),
                                          c.status))) == expected_calls
        assert sorted(conn.execute(sa.select(s.call_id, s.seq, s.step, s.seconds))
                      ) == sorted(expected_steps)
        assert sorted(conn.execute(sa.select(k.call_id, k.issue))) == sorted(expected_issues)
    assert_summaries_match_calls(store)
    report = build_report(store, labels=labels())
    assert report.calls + report.practice_left_out == 450
    assert same(report) == same(build_report(store, labels=labels(), source="calls"))
    first = build_report(store, st.CallFilter(until=date(2026, 5, 24)), labels=labels())
    assert (report.calls, len(report.days)) == (3 * first.calls, 3 * len(first.days))
    store.close()


KILLED_WRITER = """
import os, signal, sys
from pathlib import Path
from wizard.calls.journal import JournalFolder
from wizard.records import store as st

def die(*args, **kwargs):  # the row and steps are written, the summaries not yet
    os.kill(os.getpid(), signal.SIGKILL)

store = st.DatabaseStore(sys.argv[1])
store._add_to_summaries = die
for state in JournalFolder(Path(sys.argv[2])).all():
    store.save(state)
"""


def test_a_store_write_killed_half_way_is_stored_by_sync_and_counted_once(
        tmp_path: Path, store_url: str) -> None:  # noqa: F811
    import signal
    import subprocess
    import sys

    data = tmp_path / "desk"
    start = datetime(2026, 11, 2, 9, 0, tzinfo=cs.TZ)
    first = cs.backdated("fig7_1.fixed_network", data, start, 10, staffer="S1")
    store = st.open_store(data, store_url)
    assert store.save(first)  # stored whole before the killed writer
    cs.backdated("fig7_2.escalate_caller", data, start.replace(hour=11), 12, staffer="S2")
    killed = subprocess.run([sys.executable, "-c", KILLED_WRITER, store_url, str(data)],
                            capture_output=True, timeout=120, check=False)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert build_report(store).calls == 1  # the killed transaction left nothing behind
    result = store.sync(data)
    assert (result.saved, result.failed) == (1, 0)
    report = build_report(store)
    assert report.calls == 2
    assert same(report) == same(build_report(store, source="calls"))
    assert_summaries_match_calls(store)
    assert store.sync(data).saved == 0  # nothing left to store, nothing counted twice
    assert build_report(store).calls == 2
    store.close()
