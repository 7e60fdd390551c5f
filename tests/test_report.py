"""Call classification reports: what a help-desk lead reads about the volume and nature of
the calls, counted from real calls, in every format, with the report command's filters."""

from __future__ import annotations

import argparse
import csv
import html
import io
import json
import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import pytest
from rich.console import Console

from wizard.base.errors import ExitStatus
from wizard.calls.journal import JournalFolder
from wizard.frontends.terminal.environment import Environment
from wizard.frontends.terminal.reporting import add_report_arguments, cmd_report, cmd_sync
from wizard.records.report import (
    DIMENSIONS,
    STATUSES,
    Labels,
    Report,
    build_report,
    flowset_labels,
    to_csv,
    to_html,
    to_json,
    to_table,
    to_text,
)
from wizard.records.store import CallFilter, calls, open_store

from .helpers.calls import shipped
from .helpers.run import CliResult, cli_env, run_cli
from .test_callstore import (
    PG_ENV,
    TZ,
    backdated,
    closed_port_url,
    ended_call,
    pg_schema,
    route,
    store_url,  # noqa: F401 - the fixture: a SQLite store and a PostgreSQL one
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


def labels() -> Labels:
    from wizard.base.resources import builtin_dir
    from wizard.flows.catalogue import catalogue_path, load_catalogue

    entries = load_catalogue(catalogue_path(builtin_dir("flowcharts"))).entries
    return flowset_labels(shipped(), [(e.id, e.title) for e in entries])


@pytest.fixture
def report(tmp_path: Path, store_url: str) -> Report:  # noqa: F811
    """The planned fortnight, counted by a SQLite store and by a PostgreSQL one."""
    take_calls(tmp_path / "desk", store_url)
    return build_report(open_store(tmp_path, store_url), CallFilter(), labels=labels())


def counts(report: Report, dim: str) -> dict[str, int]:
    return {g.key: g.calls for g in report.groups[dim]}


def test_calls_by_category_status_and_escalation(report: Report) -> None:
    assert report.calls == 8
    assert counts(report, "status") == {"fixed_understood": 3, "fixed_unclear": 2,
                                        "not_fixed": 3}
    assert [g.label for g in report.groups["status"]] == [
        "Fixed understood", "Fixed unclear", "Not fixed"]
    # the server that lost its network is counted as a server, not as a caller's computer
    assert counts(report, "category") == {"network": 3, "caller_ipsec": 3,
                                          "target_ipsec": 1, "server_ipsec": 1}
    caller = report.group("category")["caller_ipsec"]
    assert caller.label == "IPsec on the caller's computer"
    assert [caller.count(s) for s in STATUSES] == [0, 1, 2, 0, 0]
    assert caller.escalation_rate == 2 / 3
    assert report.group("category")["server_ipsec"].label == \
        "IPsec on the server (no network after a restart)"
    assert report.total.escalated == 3 and report.total.escalation_rate == 3 / 8
    assert report.group("tier2_group")[""].calls == 5  # the ones not escalated
    assert report.group("tier2_group")[""].label == "(not escalated)"


def test_median_and_90th_percentile_handling_time(report: Report) -> None:
    # handling times 6, 8, 10, 20, 30, 40, 50, 60 minutes
    assert report.total.median_s == 25 * 60
    assert report.total.p90_s == 60 * 60  # nearest rank: the 8th of 8
    network = report.group("category")["network"]
    assert (network.median_s, network.p90_s) == (8 * 60, 10 * 60)
    tester = report.group("staffer")["tester"]
    assert (tester.median_s, tester.p90_s) == (25 * 60, 60 * 60)


def test_every_flowchart_exit_with_its_title(report: Report) -> None:
    exits = report.groups["terminal"]
    assert [(g.key, g.calls) for g in exits[:2]] == [("fig7_1.fixed_network", 3),
                                                     ("fig7_2.escalate_caller", 2)]
    assert len(exits) == 5
    title = shipped().charts["fig7_1"].nodes["fixed_network"].text.split(".")[0]
    assert exits[0].label.startswith(f"Figure 7.1 · {title}")  # the node's own words
    text = to_text(report, top=2)
    for g in exits:  # no silent top N: every exit is listed
        assert g.label.split(" · ")[1][:30] in text.replace("\n", " ")


def test_weeks_days_trend_and_flowchart_versions(report: Report) -> None:
    assert [(w.key, w.group.calls) for w in report.weeks] == [("2026-W45", 4),
                                                              ("2026-W46", 4)]
    assert report.weeks[0].first_day == "2026-11-02"
    assert report.trend_per_week == 0
    assert {d.key: d.group.calls for d in report.days}["2026-11-02"] == 2
    assert (report.first_day, report.last_day) == ("2026-11-02", "2026-11-15")
    v = {c: chart.version for c, chart in shipped().charts.items()}
    fig71 = f"fig7_1 {v['fig7_1']}, intake {v['intake']}"
    # the charts the first route to Figure 7.2's escalation passes through
    charts = sorted({key.split(".", 1)[0] for key in route("fig7_2.escalate_caller")})
    fig72 = ", ".join(f"{c} {v[c]}" for c in charts)
    assert report.weeks[0].versions == {fig71: 3, fig72: 1}
    assert counts(report, "flowchart_version")[fig71] == 3


def test_scope_severity_target_staffer(report: Report) -> None:
    answers = route("fig7_1.fixed_network")
    scope = report.group("scope")[answers["intake.scope"]]
    assert scope.label and scope.label != scope.key  # the option's words, not its value
    assert sum(counts(report, "severity").values()) == 8
    assert counts(report, "staffer") == {"tester": 8}
    assert counts(report, "target")[answers["intake.target"].lower()] == 7
    assert counts(report, "target")[""] == 1  # the server call has no target
    assert counts(report, "call_type") == {"reach": 7, "server_no_network": 1}


def test_drop_off_per_step_with_the_time_spent(report: Report) -> None:
    steps = {s.key: s for s in report.steps}
    assert steps["intake.caller_name"].reached == 8
    assert steps["fig7_1.fixed_network"].reached == 3  # the exit is the last step
    assert all(s.abandoned == 0 and s.open == 0 for s in report.steps)
    assert steps["intake.caller_name"].median_s is not None
    assert steps["intake.caller_name"].label.startswith("Intake")


def cut_short(data: Path, end: str, day: date, keep: int, *, status: str | None,
              sensitive: int = 0, practice: bool = False) -> str:
    """A call that stopped after ``keep`` answers: abandoned (status "abandoned", the
    caller hung up) or still open (``status`` None)."""
    state = backdated(end, data, datetime(day.year, day.month, day.day, 10, 0, tzinfo=TZ),
                      20, practice=practice)
    path = JournalFolder(data).path(state.call_id)
    events = [json.loads(line) for line in path.read_text().splitlines()]
    answers = [i for i, e in enumerate(events) if e["event"] == "answer"]
    kept = events[:answers[keep - 1] + 1]
    at = kept[-1]["t"]
    kept += [{"event": "sensitive_request", "t": at, "step": "intake.caller_name",
              "what": "asked for the administrator password"}] * sensitive
    if status:
        kept.append({"event": "end", "t": at, "status": status, "reason": "hung_up"})
    path.write_text("".join(json.dumps(e) + "\n" for e in kept), encoding="utf-8")
    return state.call_id


def test_abandoned_open_and_practice_calls_are_counted_apart(tmp_path: Path,
                                                             store_url: str  # noqa: F811
                                                             ) -> None:
    data = tmp_path / "desk"
    take_calls(data, store_url)
    cut_short(data, "fig7_1.fixed_network", date(2026, 11, 3), 3, status="abandoned")
    cut_short(data, "fig7_1.fixed_network", date(2026, 11, 3), 3, status="abandoned",
              sensitive=2)
    cut_short(data, "fig7_2.escalate_caller", date(2026, 11, 11), 5, status=None)
    cut_short(data, "fig7_2.escalate_caller", date(2026, 11, 11), 5, status=None,
              practice=True)
    store = open_store(data, store_url)
    assert store.sync(data).failed == 0
    data_report = build_report(store, CallFilter(), labels=labels())
    t = data_report.total
    assert t.calls == 11 and data_report.practice_left_out == 1
    assert [t.count(s) for s in STATUSES] == [3, 2, 3, 2, 1]
    assert t.escalation_rate == 3 / 8  # of the calls with an outcome
    assert t.median_s == 25 * 60  # handling time: calls with an outcome only
    where = {s.key: s for s in data_report.steps if s.abandoned or s.open}
    assert sum(s.abandoned for s in where.values()) == 2
    assert sum(s.open for s in where.values()) == 1
    w45 = data_report.weeks[0]
    assert w45.group.count("abandoned") == 2 and w45.sensitive_requests == 2
    assert data_report.group("status")["abandoned"].label == "Abandoned"
    assert data_report.group("status")["open"].label == "Still open"
    with_practice = build_report(store, CallFilter(practice=True))
    assert with_practice.calls == 12 and with_practice.practice_left_out == 0
    text = to_text(data_report)
    assert "1 practice call(s) left out (--practice includes them)" in text
    assert "Abandoned 2, Still open 1" in text


def test_known_issues_and_social_engineering_by_week(report: Report) -> None:
    assert sum(sum(w.known_issues.values()) for w in report.weeks) > 0
    for issue in report.known_issues:
        assert report.issue_labels[issue] != issue  # the catalogue's title


def test_an_unknown_breakdown_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown breakdown colour"):
        build_report(open_store(tmp_path, environ={}), group_by=["colour"])


def test_an_empty_report_still_renders(tmp_path: Path) -> None:
    empty = build_report(open_store(tmp_path, environ={}))
    assert empty.calls == 0 and empty.total.median_s is None
    assert json.loads(to_json(empty))["calls"] == 0
    assert "No stored calls match" in to_html(empty)
    assert to_csv(empty).splitlines()[1].startswith("all,all,All calls,0,")


# -- formats ------------------------------------------------------------------------------


def test_csv_has_one_row_per_group_and_a_total(report: Report) -> None:
    rows = list(csv.DictReader(io.StringIO(to_csv(report))))
    assert rows[0]["section"] == "all" and rows[0]["calls"] == "8"
    status = {r["label"]: r for r in rows if r["section"] == "status"}
    assert status["Not fixed"]["calls"] == "3" and status["Not fixed"]["escalated"] == "3"
    assert {r["section"] for r in rows} >= {"all", "week", "day", "step", "week_version",
                                            "week_known_issue", "handoff", *DIMENSIONS}
    handoff = {r["key"]: r["calls"] for r in rows if r["section"] == "handoff"}
    assert handoff == {"all": "3", "sent": "0", "queued": "0", "failed": "0", "none": "3"}
    assert len([r for r in rows if r["section"] == "terminal"]) == 5


def test_json_has_totals_and_every_breakdown(report: Report) -> None:
    data = json.loads(to_json(report))
    assert (data["calls"], data["escalated"], data["escalation_rate"]) == (8, 3, 0.375)
    assert (data["median_minutes"], data["p90_minutes"]) == (25, 60)
    assert data["status"] == {"fixed_understood": 3, "fixed_unclear": 2, "not_fixed": 3,
                              "abandoned": 0, "open": 0}
    assert data["period"] == {"first_day": "2026-11-02", "last_day": "2026-11-15"}
    assert data["by"]["terminal"][0] == {
        "key": "fig7_1.fixed_network",
        "label": labels().nodes["fig7_1.fixed_network"],
        "calls": 3, "share": 0.375, "fixed_understood": 3, "fixed_unclear": 0,
        "not_fixed": 0, "abandoned": 0, "open": 0, "escalated": 0, "escalation_rate": 0.0,
        "median_minutes": None, "p90_minutes": None}
    assert [w["key"] for w in data["weeks"]] == ["2026-W45", "2026-W46"]
    assert data["steps"] and data["practice_calls_left_out"] == 0


def test_terminal_table_shows_counts_and_statuses(report: Report) -> None:
    out = io.StringIO()
    to_table(report, Console(file=out, width=160, color_system=None), top=3)
    text = out.getvalue()
    assert "8 calls: Fixed understood 3, Fixed unclear 2, Not fixed 3" in text
    assert "Escalated to Tier 2: 3 of 8 calls with an outcome (38%)" in text
    assert "median 25.0 min, 90th percentile 60.0 min" in text
    assert re.search(r"Fixed understood +3 \(38%\) +3 +0 +0 +0 +0 +0 \(0%\)", text)
    assert "IPsec on the caller's computer" in text
    assert "Calls per week" in text and "Drop-off per step" in text


def test_html_is_one_self_contained_page_with_charts(report: Report) -> None:
    page = to_html(report)
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    charts = re.findall(r'<svg [^>]*role="img".*?</svg>', page, re.DOTALL)
    swatches = re.findall(r'<svg class="sw"[^>]*aria-hidden="true"', page)
    assert swatches and "style=" not in page.split("</head>", 1)[1]  # no inline styles
    tables = re.findall(r"<table>.*?</table>", page, re.DOTALL)
    assert len(charts) == len(tables) == len(DIMENSIONS) + 5
    for chart in charts:
        svg = ET.fromstring(chart)  # well-formed, and named for a screen reader
        assert svg.get("role") == "img" and svg.get("aria-labelledby")
    for outside in ("http:", "https:", "<script", "src=", "href=", "url(", "@import",
                    "<link"):
        assert outside not in page
    assert "Fixed understood" in page
    assert html.escape(labels().nodes["fig7_1.fixed_network"], quote=False).replace(
        "'", "&#39;") in page
    assert "Period</dt><dd>2026-11-02 to 2026-11-15" in page


def test_what_callers_and_staff_typed_cannot_inject_into_html_or_csv(
        tmp_path: Path) -> None:
    data = tmp_path / "desk"
    state = backdated("fig7_2.escalate_caller", data,
                      datetime(2026, 11, 2, 9, 0, tzinfo=TZ), 10,
                      staffer='<script>alert("x")</script>')
    store = open_store(data, environ={})
    assert store.save(state)
    with store.engine.begin() as conn:
        conn.execute(calls.update().values(tier2_group='=HYPERLINK("http://evil")'))
    report = build_report(store, source="calls")  # the row was changed behind the store
    page = to_html(report)
    assert "<script" not in page and "&lt;script&gt;" in page
    rows = list(csv.reader(io.StringIO(to_csv(report))))
    group = next(r for r in rows if r[0] == "tier2_group")
    assert group[1:3] == ["'=HYPERLINK(\"http://evil\")"] * 2  # shown as text, not run
    out = io.StringIO()
    to_table(build_report(store, CallFilter(staffer="[bold]x")), Console(file=out))
    assert "[bold]x" in out.getvalue()  # typed text printed as text, not markup


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
    from wizard.base.errors import TriageError

    out, err = io.StringIO(), io.StringIO()
    env = Environment(stdin=io.StringIO(), stdout=out, stderr=err,
                      environ={"IPSEC_TRIAGE_DATA": str(data), **environ})
    args = _parser().parse_args(argv)
    try:
        status = cmd(args, env)  # type: ignore[operator]
    except TriageError as exc:
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
    assert report_json("--category", "caller_ipsec")["calls"] == 3
    assert report_json("--since", "2026-11-04", "--until", "2026-11-10")["calls"] == 4
    assert report_json("--until", "2026-11-02")["calls"] == 2  # the whole last day
    target = route("fig7_1.fixed_network")["intake.target"]
    assert report_json("--target", target.upper())["calls"] == 7
    assert report_json("--status", "not_fixed", "--staffer", "tester")["calls"] == 3
    only = report_json("--by", "category,staffer", "--category", "network")
    assert list(only["by"]) == ["category", "staffer"]  # type: ignore[call-overload]
    assert only["filters"] == {"category": "network"}

    status, out, _ = command(cmd_report, ["--top", "2"], data)
    assert status == 0 and "8 calls: Fixed understood 3" in out
    assert "By scope (who is affected)" in out and "not shown (--top 0: all)" in out
    page = tmp_path / "out" / "report.html"
    page.parent.mkdir()
    status, out, _ = command(cmd_report, ["--format", "html", "-o", str(page)], data)
    assert status == 0 and out == f"Report written to {page} (8 calls)\n"
    assert page.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    status, _, _ = command(cmd_report, ["--format", "csv", "-o", str(tmp_path / "r.csv")],
                           data)
    assert status == 0 and (tmp_path / "r.csv").read_text().startswith("section,key")


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

    def run(*argv: str) -> CliResult:
        return run_cli(["report", *argv], cli_env(data))

    r = run("--format", "json", "--category", "caller_ipsec")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["calls"] == 3
    page = tmp_path / "report.html"
    r = run("--format", "html", "-o", str(page), "--since", "2026-11-01")
    assert r.returncode == 0 and page.read_text().startswith("<!DOCTYPE html>")
    r = run("--since", "yesterday")
    assert r.returncode == 2 and "'yesterday' is not a date" in r.stderr
    assert "Traceback" not in r.stderr


# -- hand-offs to Tier 2 --------------------------------------------------------------------


def test_a_call_handed_off_to_tier2_is_in_the_report_with_its_status_and_kind(
        tmp_path: Path, store_url: str) -> None:  # noqa: F811
    """Two escalated calls handed to a ServiceNow on loopback: one sent by 'send ID'
    (stored again by it), one kept in the outbox while the server is down and sent by
    'sync' later (which stores it again, once); the report counts them by status and
    kind of destination, and lists no call."""
    import yaml

    from .helpers.handoff import GROUP, closed_port, escalated_call
    from .helpers.handoff_servers import ServiceNow, basic, serve
    from .test_callstore import run_cli

    token = "tok-5a4b3c2d1e-SECRET"
    data = tmp_path / "desk"
    port = closed_port()
    org = tmp_path / "org.yaml"
    org.write_text(yaml.safe_dump({"handoff": {"destinations": {GROUP: {
        "kind": "servicenow", "url": f"http://127.0.0.1:{port}", "user": "svc-triage",
        "secret": "TRIAGE_TICKET_SECRET", "assignment_group": GROUP, "timeout": 2}}}}))
    env = {"IPSEC_TRIAGE_ORG": str(org), "IPSEC_TRIAGE_STORE": store_url,
           "TRIAGE_TICKET_SECRET": token}
    first, second = escalated_call(data), escalated_call(data)
    ended_call("fig7_1.fixed_network", data)  # not escalated: not counted
    assert run_cli(["sync"], data, **env).returncode == 0

    def handoffs() -> dict[str, object]:
        r = run_cli(["report", "--format", "json", "--practice", "--no-sync"], data, **env)
        assert r.returncode == 0, r.stderr
        return dict(json.loads(r.stdout)["handoffs"])

    assert handoffs() == {"key": "all", "label": "All escalated calls", "calls": 2,
                          "sent": 0, "queued": 0, "failed": 0, "none": 2,
                          "by_kind": [{"key": "", "label": "(not sent)", "calls": 2,
                                       "sent": 0, "queued": 0, "failed": 0, "none": 2}]}
    down = run_cli(["send", second], data, **env)
    assert down.returncode == 9 and "kept in the outbox" in down.stderr
    fake = ServiceNow(basic("svc-triage", token))
    with serve(fake, port):
        up = run_cli(["send", first], data, **env)
        assert up.returncode == 0, up.stderr
        now = handoffs()  # stored again by 'send', no sync asked for
        assert (now["sent"], now["queued"], now["none"]) == (1, 1, 0)
        assert now["by_kind"] == [{"key": "servicenow", "label": "ServiceNow", "calls": 2,
                                   "sent": 1, "queued": 1, "failed": 0, "none": 0}]
        outbox = data / "outbox"
        for path in outbox.glob("*.json"):  # due now (the first wait is 60 s)
            path.write_text(json.dumps({**json.loads(path.read_text()), "next_at": 0}))
        synced = run_cli(["sync"], data, **env)
        assert synced.returncode == 0 and f"Hand-off to {GROUP}" in synced.stdout
    later = handoffs()
    assert (later["calls"], later["sent"], later["queued"]) == (2, 2, 0)
    assert [k["key"] for k in later["by_kind"]] == ["servicenow"]
    assert len(fake.tables["incident"]) == 2
    store = open_store(data, store_url)
    numbers = {c.call_id: c.handoff_number for c in store.query() if c.tier2}
    assert set(numbers) == {first, second}
    assert sorted(numbers.values()) == sorted(r["number"] for r in fake.tables["incident"])
    assert len(store.ids()) == 3
    assert store.sync(data).already == 3  # nothing changed since: stored once
    text = run_cli(["report", "--practice", "--no-sync"], data, **env)
    assert "Hand-offs to Tier 2" in text.stdout
    assert re.search(r"ServiceNow +2 +2 +0 +0 +0", text.stdout), text.stdout
    csv_out = run_cli(["report", "--format", "csv", "--practice", "--no-sync"], data, **env)
    rows = {(r["section"], r["key"]): r["calls"]
            for r in csv.DictReader(io.StringIO(csv_out.stdout))}
    assert rows[("handoff", "sent")] == "2" and rows[("handoff_kind", "servicenow|sent")] == "2"
    for out in (down, up, synced, text, csv_out):
        assert token not in out.stdout + out.stderr
    for out in (text, csv_out):  # the report lists no call, no ticket
        assert first not in out.stdout and second not in out.stdout
        assert not any(n in out.stdout for n in numbers.values())
