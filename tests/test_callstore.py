"""The call store, against SQLite and a real PostgreSQL server: an ended call lands once
with what reports and Tier 2 need; an unreachable store never breaks a call and the next
sync stores it exactly once; several staff finishing at once lose nothing.

PostgreSQL: the tests use the server named by $IPSEC_TRIAGE_TEST_PG_URL (.ci/run starts
one and sets it), each in a schema of its own; without it only those tests are skipped.
"""

from __future__ import annotations

import functools
import json
import os
import secrets
import socket
import subprocess
import textwrap
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml

from wizard.calls.call import Call
from wizard.calls.engine import Engine
from wizard.calls.journal import AnswerRecord, CallState, JournalFolder
from wizard.config.organization import OrgConfig
from wizard.records.store import (
    REVISION,
    ROW_FORMAT,
    CallFilter,
    DatabaseStore,
    StoreError,
    open_store,
    resolve_url,
    save_ended_call,
)
from wizard.records.store.opening import _kept_store as kept_store

from .helpers.calls import replay, routes, shipped
from .helpers.run import PYTHON, ROOT, CliResult, cli_env
from .helpers.run import run_cli as run_program

PG_ENV = "IPSEC_TRIAGE_TEST_PG_URL"
TZ = timezone(timedelta(hours=1))


@functools.lru_cache(maxsize=1)
def _routes() -> dict[str, dict[str, str]]:
    found: dict[str, dict[str, str]] = {}
    for answers, step in routes():
        found.setdefault(step.visit.node_key, answers)
    return found


def route(end: str) -> dict[str, str]:
    """Answers of a whole call that ends at the flowchart exit ``end``."""
    return dict(_routes()[end])


def ended_call(end: str, data_dir: Path) -> CallState:
    """A real call, run to ``end`` and recorded in ``data_dir`` (not stored yet: as if
    the process died right after the end went to the journal)."""
    return replay(route(end), data_dir)[0].state


def backdated(end: str, data_dir: Path, start: datetime, minutes: float, *,
              staffer: str = "tester", practice: bool = False) -> CallState:
    """A real call to ``end`` whose journal says a staffer took it on the phone at
    ``start`` and ended it ``minutes`` later (so a sync finds nothing to change); not a
    practice call unless ``practice``."""
    call_id = ended_call(end, data_dir).call_id
    path = JournalFolder(data_dir).path(call_id)
    events = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    events[0].update(mode="interactive", practice=practice, staffer=staffer)
    for n, event in enumerate(events):
        at = start + timedelta(minutes=minutes * n / max(len(events) - 1, 1))
        event["t"] = at.isoformat(timespec="seconds")
    path.write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")
    return JournalFolder(data_dir).load(call_id)


def shifted(state: CallState, start: datetime, minutes: float) -> CallState:
    """The same call, as if taken at ``start`` and ended ``minutes`` later (its journal
    still says otherwise)."""
    assert state.ended is not None
    state.started = start.isoformat(timespec="seconds")
    state.ended = {**state.ended,
                   "t": (start + timedelta(minutes=minutes)).isoformat(timespec="seconds")}
    return state


@contextmanager
def pg_schema(base_url: str) -> Iterator[str]:
    """A URL to a fresh schema of its own on the test server, dropped afterwards."""
    admin = DatabaseStore(base_url).engine
    schema = f"t_{secrets.token_hex(6)}"
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    url = admin.url.update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty team store: a SQLite file, or a schema on the PostgreSQL test server."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'team' / 'calls.sqlite3'}"
        return
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"no PostgreSQL server for the store tests: set {PG_ENV} to a URL "
                    "such as postgresql+psycopg://triage:triage@127.0.0.1:5432/triage "
                    "(.ci/run starts a server and sets it)")
    with pg_schema(base) as url:
        yield url


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"postgresql+psycopg://helpdesk:s3cret@127.0.0.1:{port}/ipsec"


def run_cli(args: list[str], data_dir: Path, **env: str) -> CliResult:
    return run_program(args, cli_env(data_dir, **env))


# -- what is stored -----------------------------------------------------------------------


def test_an_ended_call_is_stored_with_what_reports_and_tier2_need(
        tmp_path: Path, store_url: str) -> None:
    data = tmp_path / "desk"
    call, _step, _tickets = replay(route("fig7_2.escalate_caller"), data)
    answers = route("fig7_2.escalate_caller")
    store = open_store(data, store_url)
    assert store.save(call.state, call.fs) is True
    assert store.save(call.state, call.fs) is True  # again: replaced, not doubled
    [stored] = store.query()
    assert stored.call_id == call.call_id
    assert (stored.status, stored.status_label, stored.category) == (
        "not_fixed", "Not fixed", "caller_ipsec")
    assert stored.terminal == "fig7_2.escalate_caller"
    assert stored.tier2 is True
    assert stored.tier2_group == OrgConfig().tier2_group("caller_ipsec",
                                                         answers["intake.target"])
    assert stored.target == answers["intake.target"]
    assert stored.caller_machine == answers["intake.caller_machine"]
    assert (stored.scope, stored.severity, stored.call_type) == (
        answers["intake.scope"], answers["intake.severity"], "reach")
    assert stored.staffer == "tester"
    assert stored.flowcharts == shipped().versions()
    assert stored.answers == call.state.values()
    assert stored.started == call.state.started and stored.day == call.state.started[:10]
    assert stored.duration_s is not None and stored.duration_s >= 0
    summary = store.query(details=False)[0]
    assert summary.answers == {} and summary.terminal == stored.terminal


def test_a_server_call_names_the_server_as_the_machine(tmp_path: Path) -> None:
    state = ended_call("server_restart.escalate_no_network", tmp_path / "desk")
    # first taken as a "cannot reach" call, then the kind of call was changed ("back"):
    # the answers off the route are kept in the record but are not the call's facts
    for key, value in (("intake.caller_machine", "ws-first"), ("intake.target", "fs01")):
        state.answers[key] = AnswerRecord(key, value, state.started)
    store = open_store(tmp_path / "desk", environ={})  # the default: SQLite, no setup
    assert store.save(state)  # without the flowcharts: the shipped ones are used
    [stored] = store.query()
    assert stored.caller_machine == route("server_restart.escalate_no_network")[
        "intake.server_name"]
    assert (stored.target, stored.call_type) == ("", "server_no_network")
    assert stored.answers["intake.target"] == "fs01"
    assert (tmp_path / "desk" / "calls.sqlite3").is_file()


def test_duration_is_start_to_end(tmp_path: Path) -> None:
    state = backdated("fig7_1.fixed_network", tmp_path / "d",
                      datetime(2026, 3, 28, 23, 50, tzinfo=TZ), 25)
    store = open_store(tmp_path / "d", environ={})
    assert store.save(state)
    [stored] = store.query()
    assert stored.duration_s == 25 * 60
    assert stored.day == "2026-03-28"  # the day where the call was taken


# -- sync: nothing lost, nothing twice ----------------------------------------------------


def test_sync_stores_each_call_once_and_open_calls_as_open_until_they_end(
        tmp_path: Path, store_url: str) -> None:
    data = tmp_path / "desk"
    ends = ("fig7_1.fixed_network", "fig7_2.escalate_caller", "fig7_2.fixed_policy",
            "fig7_3.escalate_logon")
    ended = {ended_call(e, data).call_id for e in ends}
    still_open = Call.start(flowset=shipped(), journals=JournalFolder(data), org=OrgConfig(),
                            staffer="tester", mode="answers_file")
    still_open.close()
    store = open_store(data, store_url)
    first = store.sync(data)
    assert (first.saved, first.already, first.failed) == (5, 0, 0)
    again = store.sync(data)
    assert (again.saved, again.already, again.failed) == (0, 5, 0)
    stored = {c.call_id: c for c in store.query()}
    assert set(stored) == ended | {still_open.call_id}
    assert stored[still_open.call_id].status == "open"
    assert stored[still_open.call_id].duration_s is None
    assert {stored[i].status for i in ended} == {
        "fixed_understood", "not_fixed", "fixed_unclear"}
    everything = CallFilter(category="caller_ipsec", practice=True)
    assert store.query(everything)[0].terminal.startswith("fig7_2.")
    # answers-file calls are practice calls: a report leaves them out unless asked
    assert store.query(CallFilter()) == []


def test_an_older_state_of_a_call_never_replaces_a_newer_one(
        tmp_path: Path, store_url: str) -> None:
    state = ended_call("fig7_2.escalate_caller", tmp_path / "d")
    store = open_store(tmp_path / "d", store_url)
    start = datetime(2026, 11, 2, 9, 0, tzinfo=TZ)
    assert store.save(shifted(state, start, 30))
    old = shifted(CallState(**{**vars(state), "ended": dict(state.ended or {})}), start, 10)
    old.ended = {**(old.ended or {}), "status": "fixed_understood"}
    assert store.save(old)  # accepted, but the newer end stays
    [stored] = store.query()
    assert (stored.status, stored.duration_s) == ("not_fixed", 30 * 60)


def test_unreachable_store_does_not_break_a_call_and_sync_stores_it_once(
        tmp_path: Path, store_url: str) -> None:
    data = tmp_path / "desk"
    answers = tmp_path / "answers.yaml"
    answers.write_text(yaml.safe_dump({"answers": route("fig7_2.escalate_caller")}))
    closed = closed_port_url()
    began = time.monotonic()
    r = run_cli(["start", "--answers", str(answers), "--no-checks"], data,
                IPSEC_TRIAGE_STORE=closed)
    assert r.returncode == 0, r.stderr
    assert "ended: Not fixed" in r.stdout
    assert time.monotonic() - began < 30
    warning = r.stderr.strip()
    assert warning.count("\n") == 0 and "Traceback" not in r.stderr
    assert "unreachable" in warning and "ipsec-triage sync" in warning
    assert "s3cret" not in r.stderr
    call_id = JournalFolder(data).ids()[0]
    assert JournalFolder(data).load(call_id).ended is not None  # the call itself is whole

    bad = run_cli(["sync"], data, IPSEC_TRIAGE_STORE=closed)
    assert bad.returncode == 8 and bad.stderr.count("\n") == 1, bad.stderr
    assert "helpdesk:***@127.0.0.1" in bad.stderr and "unreachable" in bad.stderr
    assert "s3cret" not in bad.stderr and "Traceback" not in bad.stderr

    ok = run_cli(["sync"], data, IPSEC_TRIAGE_STORE=store_url)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith("1 call(s) stored, 0 already there, 0 failed")
    again = run_cli(["sync"], data, IPSEC_TRIAGE_STORE=store_url)
    assert again.stdout.startswith("0 call(s) stored, 1 already there, 0 failed")
    assert [c.call_id for c in open_store(data, store_url).query()] == [call_id]


def test_save_never_raises_for_an_unreachable_store(tmp_path: Path) -> None:
    state = ended_call("fig7_1.fixed_network", tmp_path / "d")
    store = open_store(tmp_path / "d", closed_port_url())
    assert store.save(state) is False
    assert store.last_error is not None and "unreachable" in store.last_error
    assert "s3cret" not in store.last_error and "\n" not in store.last_error
    warning = save_ended_call(tmp_path / "d", state, url=closed_port_url())
    assert warning is not None and "'ipsec-triage sync' stores it later" in warning
    assert save_ended_call(tmp_path / "d", state, url="nonsense://") is not None
    assert save_ended_call(tmp_path / "d", state, environ={}) is None
    with pytest.raises(StoreError, match="unreachable"):
        store.sync(tmp_path / "d")


def test_the_end_of_a_call_keeps_its_store_open_but_follows_a_replaced_file(
        tmp_path: Path) -> None:
    data = tmp_path / "d"
    first = ended_call("fig7_1.fixed_network", data)
    assert save_ended_call(data, first, environ={}) is None
    second = ended_call("fig7_2.escalate_caller", data)
    assert save_ended_call(data, second, environ={}) is None
    url = resolve_url(data, environ={})
    assert kept_store(url) is kept_store(url)  # one engine, one revision check
    (data / "calls.sqlite3").rename(tmp_path / "moved-away.sqlite3")
    third = ended_call("fig7_1.fixed_network", data)
    assert save_ended_call(data, third, environ={}) is None
    with open_store(data, environ={}) as store:  # in the new file, not the moved one
        assert store.ids() == {third.call_id}
    with open_store(data, f"sqlite:///{tmp_path / 'moved-away.sqlite3'}") as store:
        assert store.ids() == {first.call_id, second.call_id}


# -- several staff at once ----------------------------------------------------------------


def test_staff_finishing_calls_at_the_same_moment_lose_nothing(
        tmp_path: Path, store_url: str) -> None:
    ends = list(_routes())[:12]
    states = [ended_call(e, tmp_path / f"desk{i}") for i, e in enumerate(ends)]
    gate = threading.Barrier(len(states))
    results: dict[str, bool] = {}

    def finish(state: CallState) -> None:
        store = open_store(tmp_path, store_url)  # each staffer: a store of their own
        gate.wait()  # the table does not exist yet: all create it at once, too
        results[state.call_id] = store.save(state)
        store.close()

    threads = [threading.Thread(target=finish, args=(s,)) for s in states]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == {s.call_id: True for s in states}
    stored = open_store(tmp_path, store_url).query()
    assert sorted(c.call_id for c in stored) == sorted(s.call_id for s in states)


SYNC_AT = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from wizard.records.store import open_store
    data, url, at = Path(sys.argv[1]), sys.argv[2], float(sys.argv[3])
    store = open_store(data, url)
    time.sleep(max(0.0, at - time.time()))
    r = store.sync(data)
    print(r.saved, r.already, r.failed)
""")


def test_processes_syncing_at_once_store_every_call_exactly_once(
        tmp_path: Path, store_url: str) -> None:
    desks = [tmp_path / f"desk{i}" for i in range(3)]
    ends = list(_routes())
    ids = {ended_call(ends[(3 * d + k) % len(ends)], desk).call_id
           for d, desk in enumerate(desks) for k in range(3)}
    at = time.time() + 2.0  # every process starts its sync at this moment
    # two processes per desk: the same calls pushed twice, at the same time
    procs = [subprocess.Popen([PYTHON, "-c", SYNC_AT, str(desk), store_url, str(at)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              cwd=ROOT, env={**cli_env(desk), "PYTHONPATH": str(ROOT)})
             for desk in desks for _ in range(2)]
    outputs = [p.communicate(timeout=60) for p in procs]
    for (out, err), p in zip(outputs, procs, strict=True):
        assert p.returncode == 0, err
        saved, already, failed = map(int, out.split())
        assert (saved + already, failed) == (3, 0)
    stored = open_store(tmp_path, store_url).query()
    assert sorted(c.call_id for c in stored) == sorted(ids)


# -- URLs and configuration ---------------------------------------------------------------


@pytest.mark.parametrize(("url", "says"), [
    ("nonsense://x", "unknown kind of database 'nonsense'"),
    ("mysql://helpdesk:s3cret@db/ipsec", "database driver is not installed"),
    ("this is not a url", "is not a database URL"),
])
def test_a_wrong_store_url_is_one_line(tmp_path: Path, url: str, says: str) -> None:
    with pytest.raises(StoreError) as caught:
        open_store(tmp_path, url)
    message = str(caught.value)
    assert says in message and "\n" not in message and "s3cret" not in message


def test_a_plain_postgresql_url_uses_the_installed_driver(tmp_path: Path) -> None:
    store = open_store(tmp_path, "postgresql://helpdesk:s3cret@db.corp.example/ipsec")
    assert store.safe_url == "postgresql+psycopg://helpdesk:***@db.corp.example/ipsec"


def test_a_wrong_store_url_on_the_command_line(tmp_path: Path) -> None:
    data = tmp_path / "desk"
    answers = tmp_path / "answers.yaml"
    answers.write_text(yaml.safe_dump({"answers": route("fig7_1.fixed_network")}))
    call = run_cli(["start", "--answers", str(answers), "--no-checks"], data,
                   IPSEC_TRIAGE_STORE="nonsense://")
    assert call.returncode == 0 and "ended: Fixed understood" in call.stdout
    assert call.stderr.count("\n") == 1 and "nonsense" in call.stderr
    bad = run_cli(["sync"], data, IPSEC_TRIAGE_STORE="nonsense://")
    assert bad.returncode == 7 and bad.stderr.count("\n") == 1
    assert "Traceback" not in bad.stderr + call.stderr


def test_store_url_from_the_organization_file_and_the_variable_wins(
        tmp_path: Path) -> None:
    data = tmp_path / "desk"
    ended_call("fig7_1.fixed_network", data)
    org = tmp_path / "org.yaml"
    team = tmp_path / "team.sqlite3"
    org.write_text(f"store_url: sqlite:///{team}\n")
    r = run_cli(["sync", "--org", str(org)], data)
    assert r.returncode == 0 and f"(sqlite:///{team})" in r.stdout
    assert len(open_store(data, f"sqlite:///{team}").ids()) == 1
    other = tmp_path / "other.sqlite3"
    r = run_cli(["sync", "--org", str(org)], data, IPSEC_TRIAGE_STORE=f"sqlite:///{other}")
    assert r.returncode == 0 and f"(sqlite:///{other})" in r.stdout


def test_a_store_made_by_the_first_version_is_refused_until_upgraded(
        tmp_path: Path, store_url: str) -> None:
    data = tmp_path / "desk"
    state = ended_call("fig7_2.escalate_caller", data)
    first = sa.MetaData()
    old = sa.Table("calls", first, *[sa.Column(n, sa.String(255), primary_key=n == "call_id")
                                     for n in ("call_id", "started", "ended", "staffer",
                                               "target", "status", "category")])
    engine = DatabaseStore(store_url).engine
    if engine.url.database and engine.dialect.name == "sqlite":
        Path(engine.url.database).parent.mkdir(parents=True, exist_ok=True)
    first.create_all(engine)
    with engine.begin() as conn:
        conn.execute(old.insert(), [
            {"call_id": state.call_id, "started": state.started, "ended": "x",
             "status": "not_fixed", "category": "caller_ipsec"},
            {"call_id": "20260101-090000-abcd", "started": "2026-01-01T09:00:00+01:00",
             "ended": "2026-01-01T09:10:00+01:00", "status": "fixed_unclear",
             "category": "network"}])
    engine.dispose()
    store = open_store(data, store_url)
    with pytest.raises(StoreError) as refused:
        store.sync(data)
    assert str(refused.value).endswith(
        f"is at revision none (release 0.1.0 or older), this version needs {REVISION}: "
        "run 'ipsec-triage store upgrade'")
    assert store.save(state) is False and "store upgrade" in str(store.last_error)
    assert store.upgrade() == ("none (release 0.1.0 or older)", REVISION)
    assert store.upgrade() == (REVISION, REVISION)  # again: nothing to do
    result = store.sync(data)  # the call of this desk in the old format is stored anew
    assert (result.saved, result.already, result.failed) == (1, 0, 0)
    by_id = {c.call_id: c for c in store.query()}
    assert by_id[state.call_id].row_format == ROW_FORMAT
    assert by_id[state.call_id].terminal == "fig7_2.escalate_caller"
    assert by_id["20260101-090000-abcd"].status == "fixed_unclear"  # kept as it was
    assert store.sync(data).already == 1


# -- queries ------------------------------------------------------------------------------


def test_query_filters_by_day_category_target_staffer_and_status(
        tmp_path: Path, store_url: str) -> None:
    data = tmp_path / "desk"
    store = open_store(data, store_url)
    plan = [("fig7_1.fixed_network", date(2026, 10, 30)),
            ("fig7_2.escalate_caller", date(2026, 10, 31)),
            ("fig7_2.fixed_policy", date(2026, 11, 1)),
            ("fig7_3.escalate_logon", date(2026, 11, 2))]
    for end, day in plan:
        start = datetime(day.year, day.month, day.day, 23, 30, tzinfo=TZ)
        assert store.save(backdated(end, data, start, 45))  # ends the next day: by start

    def days(**kw: object) -> list[str]:
        return [c.day for c in store.query(
            CallFilter(practice=True, **kw))]  # type: ignore[arg-type]

    assert days() == ["2026-10-30", "2026-10-31", "2026-11-01", "2026-11-02"]
    assert days(since=date(2026, 10, 31), until=date(2026, 11, 1)) == [
        "2026-10-31", "2026-11-01"]
    assert days(until=date(2026, 10, 30)) == ["2026-10-30"]
    assert days(category="caller_ipsec") == ["2026-10-31", "2026-11-01"]
    assert days(status="not_fixed") == ["2026-10-31", "2026-11-02"]
    target = route("fig7_2.escalate_caller")["intake.target"]
    assert len(days(target=target.upper())) == 4  # host names: any case
    assert days(target="no-such-host") == []
    assert len(days(staffer="tester")) == 4 and days(staffer="someone") == []


# -- schema revisions -----------------------------------------------------------------------

RELEASE_0_1_0 = Path(__file__).parent / "data" / "store_0_1_0.json"


def store_of_release_0_1_0(url: str) -> list[dict[str, object]]:
    """A store as release 0.1.0 made it (its calls table, no revision), with its rows."""
    made = json.loads(RELEASE_0_1_0.read_text(encoding="utf-8"))
    kinds = {"String(length=64)": sa.String(64), "String(length=40)": sa.String(40),
             "String(length=200)": sa.String(200), "String(length=255)": sa.String(255),
             "String(length=20)": sa.String(20), "Float()": sa.Float(),
             "Boolean()": sa.Boolean(), "Text()": sa.Text(), "Integer()": sa.Integer()}
    old = sa.MetaData()
    table = sa.Table("calls", old, *[
        sa.Column(name, kinds[kind], primary_key=name == "call_id",
                  nullable=name not in ("call_id", "started", "ended", "status", "category"))
        for name, kind in made["columns"]],
        sa.Index("ix_calls_started", "started"), sa.Index("ix_calls_category", "category"),
        sa.Index("ix_calls_target", "target"))
    engine = sa.create_engine(url)
    if engine.dialect.name == "sqlite" and engine.url.database:
        Path(engine.url.database).parent.mkdir(parents=True, exist_ok=True)
    old.create_all(engine)
    with engine.begin() as conn:
        conn.execute(table.insert(), made["rows"])
    engine.dispose()
    return list(made["rows"])


def test_a_store_of_the_previous_release_is_upgraded_with_its_calls(
        tmp_path: Path, store_url: str) -> None:
    rows = store_of_release_0_1_0(store_url)
    data = tmp_path / "desk"
    r = run_cli(["report", "--format", "json"], data, IPSEC_TRIAGE_STORE=store_url)
    assert r.returncode == 5 and "Traceback" not in r.stderr
    assert r.stderr.count("\n") == 1
    assert "is at revision none (release 0.1.0 or older), this version needs " \
           f"{REVISION}: run 'ipsec-triage store upgrade'" in r.stderr
    r = run_cli(["store", "revision"], data, IPSEC_TRIAGE_STORE=store_url)
    assert r.returncode == 0 and "run 'ipsec-triage store upgrade'" in r.stdout
    r = run_cli(["store", "upgrade"], data, IPSEC_TRIAGE_STORE=store_url)
    assert r.returncode == 0, r.stderr
    assert f"upgraded from revision none (release 0.1.0 or older) to {REVISION}" in r.stdout
    r = run_cli(["store", "upgrade"], data, IPSEC_TRIAGE_STORE=store_url)
    assert r.returncode == 0 and f"already at revision {REVISION}" in r.stdout

    store = open_store(data, store_url)
    kept = {c.call_id: c for c in store.query()}
    assert set(kept) == {str(row["call_id"]) for row in rows}
    for row in rows:
        call = kept[str(row["call_id"])]
        assert (call.status, call.terminal, call.staffer) == (
            row["status"], row["terminal"], row["staffer"])
        assert call.practice == (row["mode"] == "answers_file")
        used = {k.split(".")[0] for k in json.loads(str(row["answers"]))}
        assert call.flowchart_version == ", ".join(
            f"{c} 1.0" for c in sorted(used | {str(row["terminal"]).split(".")[0]}))
    with store.engine.connect() as conn:
        issues = conn.execute(sa.text("SELECT call_id, issue FROM call_known_issues")).all()
    assert sorted(issues) == sorted((row["call_id"], "event_547") for row in rows
                                    if row["known_issues"] != "[]")
    # revision 0003: no hand-off was ever stored, so none is counted
    assert {(c.handoff_status, c.handoff_kind, c.handoff_number) for c in kept.values()} == {
        ("none", "", "")}
    assert "ix_calls_handoff" in {i["name"] for i in sa.inspect(store.engine)
                                  .get_indexes("calls")}
    # the report counts them, and leaves the replayed (practice) one out
    r = run_cli(["report", "--format", "json", "--no-sync"], data,
                IPSEC_TRIAGE_STORE=store_url)
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert report["calls"] == len(rows) - 1
    escalated = [row for row in rows if row["tier2"] and row["mode"] != "answers_file"]
    assert escalated  # the fixture has escalated calls
    assert (report["handoffs"]["calls"], report["handoffs"]["none"]) == (
        len(escalated), len(escalated))


def test_a_store_at_revision_0002_is_upgraded_and_its_calls_get_their_hand_offs(
        tmp_path: Path, store_url: str) -> None:
    """A store the previous version made (revision 0002, row format 3) with a call that
    was handed off after it was stored: the upgrade keeps the row, and sync stores it
    again with its ticket, once."""
    from alembic import command
    from alembic.config import Config

    data = tmp_path / "desk"
    state = ended_call("fig7_2.escalate_caller", data)
    engine = DatabaseStore(store_url).engine
    if engine.dialect.name == "sqlite" and engine.url.database:
        Path(engine.url.database).parent.mkdir(parents=True, exist_ok=True)
    with engine.begin() as conn:
        config = Config()
        config.set_main_option("script_location", str(ROOT / "wizard" / "records" /
                                                      "migrations"))
        config.attributes["connection"] = conn
        command.upgrade(config, "0002")
        columns = {c["name"] for c in sa.inspect(conn).get_columns("calls")}
        assert "handoff_status" not in columns and "sensitive_requests" in columns
        conn.execute(sa.text(
            "INSERT INTO calls (call_id, started, ended, status, category, tier2, "
            "tier2_group, terminal, mode, row_format) VALUES (:id, :s, :e, 'not_fixed', "
            "'caller_ipsec', :t, 'Tier 2 IPsec support', 'fig7_2.escalate_caller', "
            "'interactive', 3)"),
            {"id": state.call_id, "s": state.started, "e": state.ended["t"]
             if state.ended else "", "t": True})
    engine.dispose()
    journal = JournalFolder(data).path(state.call_id)
    with journal.open("a", encoding="utf-8") as f:  # handed off after it was stored
        f.write(json.dumps({"event": "handoff", "t": "2026-11-02T10:00:00+01:00",
                            "group": "Tier 2 IPsec support", "kind": "jira",
                            "status": "sent", "number": "SEC-7",
                            "url": "https://jira.corp.example/browse/SEC-7",
                            "action": "created"}) + "\n")
    store = open_store(data, store_url)
    with pytest.raises(StoreError, match=f"is at revision 0002, this version needs {REVISION}"):
        store.sync(data)
    assert store.upgrade() == ("0002", REVISION)
    [before] = store.query()
    assert (before.handoff_status, before.row_format) == ("none", 3)
    assert store.sync(data).saved == 1
    [after] = store.query()
    assert (after.handoff_status, after.handoff_kind, after.handoff_number,
            after.handoff_url, after.row_format) == (
        "sent", "jira", "SEC-7", "https://jira.corp.example/browse/SEC-7", ROW_FORMAT)
    assert store.sync(data).already == 1


def test_a_call_handed_off_after_it_was_stored_is_stored_again_once(
        tmp_path: Path, store_url: str) -> None:
    data = tmp_path / "desk"
    state = ended_call("fig7_2.escalate_caller", data)
    assert save_ended_call(data, state, url=store_url) is None
    store = open_store(data, store_url)
    [stored] = store.query()
    assert (stored.handoff_status, stored.handoff_digest) == ("none", "")
    assert store.sync(data).already == 1
    path = JournalFolder(data).path(state.call_id)

    def hand_off(**event: str) -> None:
        with path.open("a", encoding="utf-8") as f:
            f.write(json.dumps({"event": "handoff", "group": "Tier 2 IPsec support",
                                **event}) + "\n")

    hand_off(t="2026-11-02T10:00:00+01:00", kind="servicenow", status="queued",
             error="cannot connect")
    result = store.sync(data)
    assert (result.saved, result.already) == (1, 0)
    [stored] = store.query()
    assert (stored.handoff_status, stored.handoff_kind, stored.handoff_number) == (
        "queued", "servicenow", "")
    assert store.sync(data).already == 1  # once
    hand_off(t="2026-11-02T10:05:00+01:00", kind="servicenow", status="sent",
             number="INC0010001", url="https://sn.corp.example/incident.do?sys_id=1")
    assert store.sync(data).saved == 1
    [stored] = store.query()
    assert (stored.handoff_status, stored.handoff_number, stored.handoff_at) == (
        "sent", "INC0010001", "2026-11-02T10:05:00+01:00")
    # a later failed attempt for another group: the ticket that was made still counts
    hand_off(t="2026-11-02T11:00:00+01:00", kind="webhook", status="failed",
             error="HTTP 401")
    assert store.sync(data).saved == 1
    [stored] = store.query()
    assert (stored.handoff_status, stored.handoff_kind, stored.handoff_number) == (
        "sent", "servicenow", "INC0010001")
    assert store.sync(data).already == 1 and len(store.ids()) == 1


def test_a_new_store_is_created_at_the_newest_revision(tmp_path: Path,
                                                       store_url: str) -> None:
    store = open_store(tmp_path, store_url)
    assert store.revision() == "none"
    assert store.save(ended_call("fig7_1.fixed_network", tmp_path / "desk"))
    assert store.revision() == REVISION
    r = run_cli(["store", "revision"], tmp_path, IPSEC_TRIAGE_STORE=store_url)
    assert r.returncode == 0 and f"revision {REVISION}" in r.stdout and "up to date" in r.stdout


def test_a_store_newer_than_this_version_is_refused_in_one_line(
        tmp_path: Path, store_url: str) -> None:
    store = open_store(tmp_path, store_url)
    assert store.save(ended_call("fig7_1.fixed_network", tmp_path / "desk"))
    with store.engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))
    fresh = open_store(tmp_path, store_url)
    assert fresh.save(ended_call("fig7_1.fixed_network", tmp_path / "desk")) is False
    assert fresh.last_error is not None and fresh.last_error.endswith(
        f"is at revision 9999, newer than this version of ipsec-triage knows (it needs "
        f"{REVISION}): update ipsec-triage")


def test_without_the_postgresql_driver_a_postgresql_url_is_one_clear_line(
        tmp_path: Path) -> None:
    script = textwrap.dedent("""
        import sys
        sys.modules["psycopg"] = None  # as if 'ipsec-triage[postgres]' was not installed
        sys.modules["psycopg2"] = None
        from wizard.frontends.terminal.cli import main
        sys.exit(main(["sync"]))
    """)
    r = subprocess.run([PYTHON, "-c", script], capture_output=True, text=True, timeout=60,
                       env=cli_env(tmp_path, IPSEC_TRIAGE_STORE=closed_port_url()))
    assert r.returncode == 7 and "Traceback" not in r.stderr
    assert r.stderr.strip().endswith(
        "the PostgreSQL driver is not installed: pip install 'ipsec-triage[postgres]'")
    assert r.stderr.count("\n") == 1 and "s3cret" not in r.stderr


# -- practice calls and the time spent on each step ---------------------------------------


def test_a_practice_call_is_stored_as_practice(tmp_path: Path, store_url: str) -> None:
    data = tmp_path / "desk"
    call = Call.start(flowset=shipped(), journals=JournalFolder(data), org=OrgConfig(),
                      staffer="trainee", mode="interactive", practice=True)
    call.close()
    live = Call.start(flowset=shipped(), journals=JournalFolder(data), org=OrgConfig(),
                      staffer="Sam", mode="interactive")
    live.close()
    assert JournalFolder(data).load(call.call_id).practice is True
    store = open_store(data, store_url)
    assert store.sync(data).saved == 2
    assert [c.call_id for c in store.query(CallFilter())] == [live.call_id]
    assert {c.call_id for c in store.query(CallFilter(practice=True))} == {
        call.call_id, live.call_id}


def test_each_step_is_stored_with_the_time_spent_on_it(tmp_path: Path, store_url: str) -> None:
    data = tmp_path / "desk"
    start = datetime(2026, 11, 2, 9, 0, tzinfo=TZ)
    state = backdated("fig7_2.escalate_caller", data, start, 30)
    store = open_store(data, store_url)
    assert store.save(state)
    with store.engine.connect() as conn:
        steps = conn.execute(sa.text(
            "SELECT step, seconds, final FROM call_steps WHERE call_id = :id ORDER BY seq"),
            {"id": state.call_id}).all()
    engine_step = Engine(shipped()).step(state.values())
    answered = [v.node_key for v in engine_step.route if v.answered]
    assert [s[0] for s in steps] == answered + ["fig7_2.escalate_caller"]
    assert [bool(s[2]) for s in steps] == [False] * len(answered) + [True]
    # the journal's times were spread evenly over the 30 minutes: the steps add up to it
    assert sum(s[1] for s in steps) == pytest.approx(30 * 60, abs=len(steps))
    assert all(s[1] >= 0 for s in steps)
