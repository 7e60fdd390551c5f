"""Call classification reports: what a help-desk lead reads about the volume and nature of
the calls, counted from real calls, in every format, with the report command's filters."""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import re
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import pytest
from rich.console import Console

from wizard.callstore import StoredCall, open_store
from wizard.environment import Environment
from wizard.report import (
    DIMENSIONS,
    Report,
    add_report_arguments,
    build_report,
    choice_labels,
    cmd_report,
    cmd_sync,
    to_csv,
    to_html,
    to_json,
    to_table,
)
from wizard.status import ExitStatus

from .conftest import PYTHON, cli_env
from .support import shipped
from .test_callstore import (
    PG_ENV,
    TZ,
    backdated,
    closed_port_url,
    ended_call,
    pg_schema,
    route,
)

# (flowchart exit, day, minutes to the outcome) of a small help desk's fortnight
PLAN = [
    ("fig7_1.fixed_network", date(2026, 11, 2), 6),
    ("fig7_1.fixed_network", date(2026, 11, 2), 8),
    ("fig7_1.fixed_network", date(2026, 11, 4), 10),
    ("fig7_2.escalate_caller", date(2026, 11, 5), 30),
    ("fig7_2.escalate_caller", date(2026, 11, 9), 40),
    ("fig7_2.fixed_policy", date(2026, 11, 10), 20),
    ("fig7_3.escalate_logon", date(2026, 11, 12), 50),
    ("server_restart.fixed_ports", date(2026, 11, 15), 60),  # "Fixed unclear" (KB 956188)
]


def take_calls(data: Path, url: str | None = None) -> list[str]:
    """Run the planned calls in ``data`` and store them; their ids."""
    store = open_store(data, url, environ={})
    ids = []
    for n, (end, day, minutes) in enumerate(PLAN):
        start = datetime(day.year, day.month, day.day, 9 + n, 0, tzinfo=TZ)
        state = backdated(end, data, start, minutes)
        assert store.save(state)
        ids.append(state.call_id)
    return ids


@pytest.fixture
def report(tmp_path: Path) -> Report:
    take_calls(tmp_path / "desk")
    stored = open_store(tmp_path / "desk", environ={}).query()
    return build_report(stored, labels=choice_labels(shipped().charts.values()))


def counts(report: Report, dim: str) -> dict[str, int]:
    return {g.key: g.calls for g in report.groups[dim]}


def test_calls_by_category_status_and_escalation(report: Report) -> None:
    assert report.calls == 8
    assert counts(report, "status") == {"fixed_understood": 3, "fixed_unclear": 2,
                                        "not_fixed": 3}
    assert [g.label for g in report.groups["status"]] == [
        "Fixed understood", "Fixed unclear", "Not fixed"]
    assert counts(report, "category") == {"network": 3, "caller_ipsec": 4,
                                          "target_ipsec": 1}
    caller = report.group("category")["caller_ipsec"]
    assert caller.label == "IPsec on the caller's computer"
    assert (caller.fixed_understood, caller.fixed_unclear, caller.not_fixed) == (0, 2, 2)
    assert caller.escalation_rate == 0.5
    assert report.total.escalated == 3 and report.escalation_rate == 3 / 8
    assert report.group("tier2_group")[""].calls == 5  # the ones not escalated


def test_median_time_to_outcome_overall_and_per_group(report: Report) -> None:
    assert report.median_minutes == 25  # of 6, 8, 10, 20, 30, 40, 50, 60
    assert report.group("category")["network"].median_minutes == 8
    assert report.group("status")["not_fixed"].median_minutes == 40


def test_the_flowchart_exits_hit_most_come_first(report: Report) -> None:
    exits = report.groups["terminal"]
    assert [(g.key, g.calls) for g in exits[:2]] == [("fig7_1.fixed_network", 3),
                                                     ("fig7_2.escalate_caller", 2)]
    assert len(exits) == 5


def test_scope_severity_target_staffer_day_and_week(report: Report) -> None:
    answers = route("fig7_1.fixed_network")
    scope = report.group("scope")[answers["intake.scope"]]
    assert scope.label  # the option's words from the intake flowchart, not only its value
    assert sum(counts(report, "severity").values()) == 8
    assert counts(report, "staffer") == {"tester": 8}
    assert counts(report, "target")[answers["intake.target"].lower()] == 7
    assert counts(report, "target")[""] == 1  # the server call has no target
    assert counts(report, "call_type") == {"reach": 7, "server_no_network": 1}
    assert list(counts(report, "day")) == sorted(counts(report, "day"))
    assert counts(report, "day")["2026-11-02"] == 2
    assert counts(report, "week") == {"2026-W45": 4, "2026-W46": 4}
    assert (report.first_day, report.last_day) == ("2026-11-02", "2026-11-15")


def test_known_issues_shown_during_calls_are_counted() -> None:
    calls = [StoredCall("a", "2026-11-02T09:00:00+01:00", "", "not_fixed", "network",
                        known_issues=("event_547", "event_4292")),
             StoredCall("b", "2026-11-02T10:00:00+01:00", "", "fixed_understood",
                        "network", known_issues=("event_547",)),
             StoredCall("c", "2026-11-03T10:00:00+01:00", "", "fixed_understood",
                        "network")]
    data = build_report(calls, group_by=["known_issue"])
    assert counts(data, "known_issue") == {"event_547": 2, "event_4292": 1, "": 1}
    assert list(data.groups) == ["known_issue"]
    with pytest.raises(ValueError, match="unknown breakdown colour"):
        build_report(calls, group_by=["colour"])


def test_an_empty_report_still_renders() -> None:
    empty = build_report([])
    assert empty.calls == 0 and empty.median_minutes is None
    assert json.loads(to_json(empty))["calls"] == 0
    assert "No stored calls match" in to_html(empty)
    assert to_csv(empty).splitlines()[1].startswith("all,all,all,0,")


# -- formats ------------------------------------------------------------------------------


def test_csv_has_one_row_per_group_and_a_total(report: Report) -> None:
    rows = list(csv.DictReader(io.StringIO(to_csv(report))))
    assert rows[0]["dimension"] == "all" and rows[0]["calls"] == "8"
    status = {r["label"]: r for r in rows if r["dimension"] == "status"}
    assert status["Not fixed"]["calls"] == "3" and status["Not fixed"]["escalated"] == "3"
    assert {r["dimension"] for r in rows} == {"all", *DIMENSIONS}


def test_json_has_totals_and_every_breakdown(report: Report) -> None:
    data = json.loads(to_json(report))
    assert (data["calls"], data["escalated"], data["escalation_rate"]) == (8, 3, 0.375)
    assert data["median_minutes_to_outcome"] == 25
    assert data["status"] == {"fixed_understood": 3, "fixed_unclear": 2, "not_fixed": 3}
    assert data["period"] == {"first_day": "2026-11-02", "last_day": "2026-11-15"}
    assert data["by"]["terminal"][0] == {
        "key": "fig7_1.fixed_network", "label": "fig7_1.fixed_network", "calls": 3,
        "share": 0.375, "fixed_understood": 3, "fixed_unclear": 0, "not_fixed": 0,
        "escalated": 0, "escalation_rate": 0.0, "median_minutes": 8.0}


def test_terminal_table_shows_counts_and_statuses(report: Report) -> None:
    out = io.StringIO()
    to_table(report, Console(file=out, width=150, color_system=None), top=3)
    text = out.getvalue()
    assert "8 calls, 3 escalated to Tier 2 (38%), median time to outcome 25.0 min" in text
    assert re.search(r"Fixed understood +3 \(38%\) +3 +0 +0 +0% +8\.0", text)
    assert "IPsec on the caller's computer" in text
    assert "2 more not shown" in text  # 5 flowchart exits, 3 shown


def test_html_is_one_self_contained_page_with_charts(report: Report) -> None:
    page = to_html(report)
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    charts = re.findall(r"<svg.*?</svg>", page, re.DOTALL)
    assert len(charts) == len(DIMENSIONS)
    for chart in charts:
        ET.fromstring(chart)  # well-formed
    for outside in ("http:", "https:", "<script", "src=", "href=", "url(", "@import",
                    "<link"):
        assert outside not in page
    assert "Fixed understood" in page and "fig7_1.fixed_network" in page


def test_what_callers_and_staff_typed_cannot_inject_into_html_or_csv() -> None:
    calls = [StoredCall("a", "2026-11-02T09:00:00+01:00", "", "not_fixed", "network",
                        staffer='<script>alert("x")</script>', tier2=True,
                        tier2_group="=HYPERLINK(\"http://evil\")")]
    data = build_report(calls)
    page = to_html(data)
    assert "<script" not in page and "&lt;script&gt;" in page
    rows = list(csv.reader(io.StringIO(to_csv(data))))
    group = next(r for r in rows if r[0] == "tier2_group")
    assert group[1:3] == ["'=HYPERLINK(\"http://evil\")"] * 2  # shown as text, not run


# -- the commands -------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ipsec-triage report")
    parser.add_argument("--data-dir")
    parser.add_argument("--org")
    parser.add_argument("--flowcharts")
    add_report_arguments(parser)
    return parser


def command(cmd: object, argv: list[str], data: Path, **environ: str
            ) -> tuple[int, str, str]:
    """Run a command as ``ipsec-triage`` does: its exit status, stdout, stderr."""
    from wizard.cli import UserError

    out, err = io.StringIO(), io.StringIO()
    env = Environment(stdin=io.StringIO(), stdout=out, stderr=err,
                      environ={"IPSEC_TRIAGE_DATA": str(data), **environ})
    args = _parser().parse_args(argv)
    try:
        status = cmd(args, env)  # type: ignore[operator]
    except UserError as exc:
        env.error(str(exc))
        status = exc.status
    return int(status), out.getvalue(), err.getvalue()


def test_report_command_filters_and_formats(tmp_path: Path) -> None:
    data = tmp_path / "desk"
    take_calls(data)

    def report_json(*argv: str) -> dict[str, object]:
        status, out, err = command(cmd_report, ["--format", "json", *argv], data)
        assert status == 0, err
        return json.loads(out)  # type: ignore[no-any-return]

    assert report_json()["calls"] == 8
    assert report_json("--category", "caller_ipsec")["calls"] == 4
    assert report_json("--since", "2026-11-04", "--until", "2026-11-10")["calls"] == 4
    assert report_json("--until", "2026-11-02")["calls"] == 2  # the whole last day
    target = route("fig7_1.fixed_network")["intake.target"]
    assert report_json("--target", target.upper())["calls"] == 7
    assert report_json("--status", "not_fixed", "--staffer", "tester")["calls"] == 3
    only = report_json("--by", "category,week", "--category", "network")
    assert list(only["by"]) == ["category", "week"]  # type: ignore[call-overload]
    assert only["filters"] == {"category": "network"}

    status, out, _ = command(cmd_report, ["--top", "2"], data)
    assert status == 0 and "8 calls, 3 escalated" in out and "Only this caller" in out
    page = tmp_path / "out" / "report.html"
    page.parent.mkdir()
    status, out, _ = command(cmd_report, ["--format", "html", "-o", str(page)], data)
    assert status == 0 and out == f"Report written to {page} (8 calls)\n"
    assert page.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    status, _, _ = command(cmd_report, ["--format", "csv", "-o", str(tmp_path / "r.csv")],
                           data)
    assert status == 0 and (tmp_path / "r.csv").read_text().startswith("dimension,key")


def test_report_command_mistakes_are_one_line(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "desk"
    with pytest.raises(SystemExit) as caught:
        _parser().parse_args(["--since", "yesterday"])
    assert caught.value.code == 2
    assert "'yesterday' is not a date (YYYY-MM-DD)" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        _parser().parse_args(["--by", "category,colour"])
    assert "unknown breakdown colour" in capsys.readouterr().err
    status, _, err = command(cmd_report, ["--since", "2026-12-01", "--until", "2026-11-01"],
                             data)
    assert status == ExitStatus.USAGE and "is after --until" in err
    status, _, err = command(cmd_report, [], data, IPSEC_TRIAGE_STORE=closed_port_url())
    assert status == ExitStatus.STORE and err.count("\n") == 1 and "unreachable" in err
    status, _, err = command(cmd_report, [], data, IPSEC_TRIAGE_STORE="nonsense://")
    assert status == ExitStatus.CONFIG and err.count("\n") == 1
    (tmp_path / "a-file").write_text("")
    status, _, err = command(cmd_report, ["-o", str(tmp_path / "a-file" / "r.csv"),
                                          "--format", "csv"], data)
    assert status == ExitStatus.USAGE and "cannot write the report" in err
    assert err.count("\n") == 1


def test_report_first_stores_the_calls_of_this_computer(tmp_path: Path) -> None:
    data = tmp_path / "desk"
    for end in ("fig7_1.fixed_network", "fig7_2.escalate_caller"):
        ended_call(end, data)  # ended, never stored (the store was down)
    status, out, _ = command(cmd_report, ["--format", "json", "--no-sync"], data)
    assert json.loads(out)["calls"] == 0
    status, out, _ = command(cmd_report, ["--format", "json"], data)
    assert status == 0 and json.loads(out)["calls"] == 0  # replayed: practice calls
    status, out, _ = command(cmd_report, ["--format", "json", "--practice"], data)
    assert status == 0 and json.loads(out)["calls"] == 2
    status, out, _ = command(cmd_sync, [], data)
    assert (status, out.split(" (")[0]) == (0, "0 call(s) stored, 2 already there, 0 failed")


@pytest.fixture
def team_store(tmp_path: Path) -> Iterator[str]:
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"no PostgreSQL server for the report over a team store: set {PG_ENV} "
                    "(.ci/run starts a server and sets it)")
    with pg_schema(base) as url:
        yield url


def test_report_over_a_postgresql_team_store(tmp_path: Path, team_store: str) -> None:
    take_calls(tmp_path / "desk1", team_store)
    desk2 = tmp_path / "desk2"
    ended_call("fig7_3.escalate_logon", desk2)  # another staffer's desk, not stored yet
    status, out, err = command(cmd_report, ["--format", "json", "--category", "target_ipsec",
                                            "--practice"], desk2, IPSEC_TRIAGE_STORE=team_store)
    assert status == 0, err
    assert json.loads(out)["calls"] == 2  # one from each desk


# -- the real command ---------------------------------------------------------------------


def test_ipsec_triage_report_as_a_user_runs_it(tmp_path: Path) -> None:
    data = tmp_path / "desk"
    take_calls(data)

    def run(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([PYTHON, "-m", "wizard", "report", *argv], capture_output=True,
                              text=True, timeout=60, env=cli_env(data))

    r = run("--format", "json", "--category", "caller_ipsec")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["calls"] == 4
    page = tmp_path / "report.html"
    r = run("--format", "html", "-o", str(page), "--since", "2026-11-01")
    assert r.returncode == 0 and page.read_text().startswith("<!DOCTYPE html>")
    r = run("--since", "yesterday")
    assert r.returncode == 2 and "'yesterday' is not a date" in r.stderr
    assert "Traceback" not in r.stderr
