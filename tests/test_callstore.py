"""The call store and reports: calls land once, an unreachable store loses nothing,
several staff finishing at once lose nothing, reports count what happened."""

from __future__ import annotations

import csv
import io
import json
import os
import socket
import subprocess
import threading
from pathlib import Path

import pytest
import yaml

from wizard.callstore import SqlStore, metadata, open_store, row_of
from wizard.engine import Engine
from wizard.report import build_report, to_csv, to_html

from .conftest import PYTHON, cli_env
from .support import replay, shipped

ENDS = ("fig7_1.fixed_network", "fig7_2.escalate_caller", "fig7_2.fixed_policy",
        "fig7_3.escalate_logon")


def routes() -> list[dict[str, str]]:
    found = {}
    for answers, step in Engine(shipped()).paths():
        found.setdefault(step.visit.node_key, answers)
    return [found[e] for e in ENDS]


PG_URL = os.environ.get("IPSEC_TRIAGE_TEST_PG_URL")


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh store: SQLite in a temporary folder, or the PostgreSQL server .ci/run
    starts (IPSEC_TRIAGE_TEST_PG_URL)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.sqlite3'}"
    if not PG_URL:
        pytest.skip("no PostgreSQL server: set IPSEC_TRIAGE_TEST_PG_URL (.ci/run does)")
    metadata.drop_all(SqlStore(PG_URL).engine)
    return PG_URL


def test_sync_stores_each_ended_call_once(tmp_path: Path, store_url: str) -> None:
    data = tmp_path / "data"
    for answers in routes():
        replay(answers, data)
    store = open_store(data, {"IPSEC_TRIAGE_STORE": store_url})
    first = store.sync(data)
    assert (first.saved, first.already, first.failed) == (4, 0, 0)
    again = store.sync(data)
    assert (again.saved, again.already) == (0, 4)
    rows = store.query()
    assert len(rows) == 4
    assert {r["status"] for r in rows} == {"fixed_understood", "not_fixed", "fixed_unclear"}
    assert all(r["duration_s"] is not None and r["duration_s"] >= 0 for r in rows)
    assert store.query(category="caller_ipsec")[0]["terminal"].startswith("fig7_2.")


def test_unreachable_store_never_breaks_a_call_and_sync_repairs(tmp_path: Path) -> None:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    data = tmp_path / "data"
    answers = tmp_path / "a.yaml"
    answers.write_text(yaml.safe_dump({"answers": routes()[1]}))
    url = f"postgresql+psycopg://helpdesk@127.0.0.1:{port}/ipsec?connect_timeout=2"
    r = subprocess.run([PYTHON, "-m", "wizard", "start", "--answers", str(answers),
                        "--no-checks"], capture_output=True, text=True, timeout=60,
                       env=cli_env(data, IPSEC_TRIAGE_STORE=url))
    assert r.returncode == 0, r.stderr
    assert "call store unreachable: the call is kept here; 'ipsec-triage sync'" in r.stderr
    assert "Traceback" not in r.stderr
    bad = subprocess.run([PYTHON, "-m", "wizard", "sync"], capture_output=True, text=True,
                         timeout=60, env=cli_env(data, IPSEC_TRIAGE_STORE=url))
    assert bad.returncode == 5 and bad.stderr.count("\n") == 1
    assert "helpdesk@127.0.0.1" in bad.stderr and "unreachable" in bad.stderr
    ok = subprocess.run([PYTHON, "-m", "wizard", "sync"], capture_output=True, text=True,
                        timeout=60, env=cli_env(data))
    assert ok.returncode == 0 and ok.stdout.startswith("1 call(s) stored, 0 already")
    again = subprocess.run([PYTHON, "-m", "wizard", "sync"], capture_output=True, text=True,
                           timeout=60, env=cli_env(data))
    assert again.stdout.startswith("0 call(s) stored, 1 already there, 0 failed")


def test_several_staff_finishing_at_once_lose_nothing(tmp_path: Path, store_url: str) -> None:
    states = []
    for i in range(12):
        call, _, _ = replay(routes()[i % 4], tmp_path / f"desk{i}")
        states.append(call.state)
    url = store_url
    SqlStore(url).ids()  # create the table once, as an installed team store would be
    results: list[bool] = []

    def finish(i: int) -> None:
        results.append(SqlStore(url).save(states[i]))

    threads = [threading.Thread(target=finish, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [True] * 12
    assert len(SqlStore(url).ids()) == 12
    # the same calls finished again (a retry after a crash) add nothing
    assert all(SqlStore(url).save(st) for st in states[:3])
    assert len(SqlStore(url).query()) == 12


def test_report_counts_and_formats(tmp_path: Path) -> None:
    states = [replay(a, tmp_path / "d")[0].state for a in routes()]
    data = build_report([row_of(s) for s in states])
    assert data["calls"] == 4 and data["escalated"] == 2 and data["escalation_rate"] == 0.5
    by_status = {i["key"]: i["calls"] for i in data["by"]["status"]}
    assert by_status == {"Fixed understood": 1, "Not fixed": 2, "Fixed unclear": 1}
    assert {i["key"] for i in data["by"]["terminal"]} == set(ENDS)
    rows = list(csv.reader(io.StringIO(to_csv(data))))
    assert rows[0] == ["dimension", "key", "calls"] and ["total", "calls", "4"] in rows
    page = to_html(data)
    assert page.count("<svg") >= 5 and "http" not in page.replace(
        'xmlns="http://www.w3.org/2000/svg"', "")


def test_report_command_with_filters(tmp_path: Path, data_dir: Path) -> None:
    for answers in routes():
        replay(answers, data_dir)
    r = subprocess.run([PYTHON, "-m", "wizard", "report", "--format", "json",
                        "--category", "caller_ipsec"], capture_output=True, text=True,
                       timeout=60, env=cli_env(data_dir))
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["calls"] == 2
    out = tmp_path / "report.html"
    r = subprocess.run([PYTHON, "-m", "wizard", "report", "--format", "html", "-o", str(out)],
                       capture_output=True, text=True, timeout=60, env=cli_env(data_dir))
    assert r.returncode == 0 and out.read_text().startswith("<!DOCTYPE html>")
    r = subprocess.run([PYTHON, "-m", "wizard", "report", "--since", "yesterday"],
                       capture_output=True, text=True, timeout=60, env=cli_env(data_dir))
    assert r.returncode == 2 and "'yesterday' is not a date" in r.stderr


def test_store_url_from_the_organization_file(tmp_path: Path, data_dir: Path) -> None:
    org = tmp_path / "org.yaml"
    db = tmp_path / "team.sqlite3"
    org.write_text(f"store_url: sqlite:///{db}\n")
    replay(routes()[0], data_dir)
    r = subprocess.run([PYTHON, "-m", "wizard", "sync", "--org", str(org)],
                       capture_output=True, text=True, timeout=60, env=cli_env(data_dir))
    assert r.returncode == 0 and f"({f'sqlite:///{db}'})" in r.stdout
    assert len(SqlStore(f"sqlite:///{db}").ids()) == 1
    org.write_text("store_url: nonsense://\n")
    bad = subprocess.run([PYTHON, "-m", "wizard", "sync", "--org", str(org)],
                         capture_output=True, text=True, timeout=60, env=cli_env(data_dir))
    assert bad.returncode == 7 and bad.stderr.count("\n") == 1 and "Traceback" not in bad.stderr
