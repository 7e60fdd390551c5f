"""A call keeps the flowchart set it started with, by digest, while its flowcharts are
edited; when that copy is gone it says so and lists the answers that no longer apply."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pexpect

from wizard.calls.call import Call
from wizard.calls.journal import JournalFolder
from wizard.flows.flowset import load_flowset
from wizard.frontends.terminal.cli import main
from wizard.frontends.terminal.environment import Environment
from wizard.frontends.web.app import Settings, create_app
from wizard.service.desk import Desk

from .helpers.run import CACHE, FLOWCHARTS, PYTHON, ROOT, cli_env, pty_spawn
from .helpers.web import TestClient, add_users, answer, login, start_call

ENTER = "\r"
RENAMED = "cannot_reach"


def _charts(tmp_path: Path) -> Path:
    charts = tmp_path / "charts"
    shutil.copytree(FLOWCHARTS, charts)
    return charts


def _rename_option(charts: Path) -> None:
    """Edit the intake as a flowchart author would: the first question's option
    ``reach`` is now ``cannot_reach`` (and the branch that reads it follows)."""
    intake = charts / "intake.yaml"
    text = intake.read_text(encoding="utf-8")
    assert text.count("{value: reach,") == 1 and text.count("call_type == 'reach'") == 1
    text = text.replace("{value: reach,", f"{{value: {RENAMED},"
                        ).replace("call_type == 'reach'", f"call_type == '{RENAMED}'")
    intake.write_text(text, encoding="utf-8")


def _show(data_dir: Path, charts: Path, call_id: str) -> str:
    out, err = io.StringIO(), io.StringIO()
    env = Environment(stdin=io.StringIO(), stdout=out, stderr=err, environ={
        "IPSEC_TRIAGE_DATA": str(data_dir), "IPSEC_TRIAGE_CACHE": CACHE,
        "IPSEC_TRIAGE_FLOWCHARTS": str(charts), "IPSEC_TRIAGE_STAFFER": "tester"})
    assert main(["show", call_id], env) == 0, err.getvalue()
    return out.getvalue()


def _spawn(data_dir: Path, charts: Path, *args: str) -> pexpect.spawn:
    env = cli_env(data_dir, PROMPT_TOOLKIT_NO_CPR="1", IPSEC_TRIAGE_FLOWCHARTS=str(charts))
    return pty_spawn(PYTHON, ["-m", "wizard", *args], env=env, cwd=str(ROOT),
                     encoding="utf-8", timeout=30, dimensions=(50, 160))


def _pick(child: pexpect.spawn, prompt: str, number: int) -> None:
    child.expect_exact(prompt)
    child.send(str(number) + ENTER)


def _type(child: pexpect.spawn, prompt: str, value: str) -> None:
    child.expect_exact(prompt)
    child.send(value + ENTER)


def _quit(child: pexpect.spawn) -> None:
    """Ctrl-C at a question: the call is saved for resume."""
    child.send("\x03")
    child.expect_exact("saved")
    child.expect(pexpect.EOF)
    child.close()


def _call_id(data_dir: Path) -> str:
    return next((data_dir / "calls").glob("*.jsonl")).stem


def test_resume_goes_on_with_the_flowcharts_the_call_started_with(
        tmp_path: Path, data_dir: Path) -> None:
    charts = _charts(tmp_path)
    child = _spawn(data_dir, charts, "start")
    _pick(child, "What is the call about?", 1)
    _type(child, "What is the name of the caller's computer?", "WS-Ann")
    _pick(child, "Which Windows does WS-Ann run?", 1)
    child.expect_exact("Which computer is the caller trying to reach")
    _quit(child)
    call_id = _call_id(data_dir)
    kept = list((data_dir / "flowsets").glob("*.json"))
    assert len(kept) == 1
    start = json.loads((data_dir / "calls" / f"{call_id}.jsonl").read_text().splitlines()[0])
    assert kept[0].stem == start["flowset"]

    _rename_option(charts)  # between two answers of the call
    child = _spawn(data_dir, charts, "resume", call_id)
    child.expect_exact("it goes on with the ones it started with until it ends")
    _type(child, "Which computer is the caller trying to reach", "fs01")
    child.expect_exact("If known, the IP address of fs01")
    _quit(child)
    shown = _show(data_dir, charts, call_id)
    for value in ("The caller cannot reach a computer", "WS-Ann", "Windows 10 or 11", "fs01"):
        assert value in shown, shown
    assert "no longer apply" not in shown

    # a new call starts with the edited set, and keeps a copy of its own
    child = _spawn(data_dir, charts, "start")
    _pick(child, "What is the call about?", 1)
    child.expect_exact("What is the name of the caller's computer?")
    _quit(child)
    assert len(list((data_dir / "flowsets").glob("*.json"))) == 2
    newest = max((data_dir / "calls").glob("*.jsonl"), key=lambda p: p.stat().st_mtime_ns)
    first = json.loads(newest.read_text().splitlines()[1])
    assert first["key"] == "intake.call_type" and first["value"] == RENAMED

    # the copy of the first call's set is gone: told, with the answers that no longer apply
    for path in (data_dir / "flowsets").glob(f"{start['flowset']}.json"):
        path.unlink()
    child = _spawn(data_dir, charts, "resume", call_id)
    child.expect_exact("the copy it started with is no longer kept")
    child.expect_exact("Answers that no longer apply: 4:")
    child.expect_exact("What is the name of the caller's computer?: WS-Ann")
    child.expect_exact("Which Windows does WS-Ann run?: Windows 10 or 11")
    child.expect_exact("What is the call about?")  # asked again, in today's words
    _quit(child)
    shown = " ".join(_show(data_dir, charts, call_id).split())
    assert "the copy it started with is no longer kept" in shown
    assert ("Answers that no longer apply: 4: What is the call about?: reach What is the "
            "name of the caller's computer?: WS-Ann") in shown


def test_the_web_desk_keeps_the_set_a_call_started_with(
        tmp_path: Path, data_dir: Path) -> None:
    charts = _charts(tmp_path)
    add_users(data_dir)
    desk = Desk(data_dir=data_dir, environ={"IPSEC_TRIAGE_FLOWCHARTS": str(charts)})
    client = TestClient(create_app(Settings(desk=desk, checks=False)),
                        base_url="http://testserver", follow_redirects=True)
    login(client, "sam")
    call_id, page = start_call(client)
    page = answer(client, call_id, page, "reach").text
    page = answer(client, call_id, page, "WS-Ann").text
    assert "Which Windows does WS-Ann run?" in page
    _rename_option(charts)  # the server runs on; the next request reads the edited files
    r = answer(client, call_id, page, "win10_11")
    assert r.status_code == 200
    assert "Which computer is the caller trying to reach" in r.text
    history = client.get(f"/calls/{call_id}/history").text
    assert "WS-Ann" in history and "Windows 10 or 11" in history
    _other, other_page = start_call(client)  # a call started now has the edited option
    assert f'value="{RENAMED}"' in other_page

    # its copy gone, the call's page says so and lists what no longer applies
    start = json.loads((data_dir / "calls" / f"{call_id}.jsonl").read_text()
                       .splitlines()[0])
    (data_dir / "flowsets" / f"{start['flowset']}.json").unlink()
    page = client.get(f"/calls/{call_id}").text
    assert "the copy it started with is no longer kept" in page
    assert "What is the name of the caller&#39;s computer?: WS-Ann" in page
    assert "What is the call about?" in page


def test_the_ticket_of_an_ended_call_is_rendered_with_its_own_flowcharts(
        tmp_path: Path, data_dir: Path) -> None:
    from .helpers.calls import route_to
    from .test_cli import write_answers

    charts = _charts(tmp_path)
    answers = route_to("fig7_2.escalate_caller")
    assert answers["intake.call_type"] == "reach"
    path = write_answers(tmp_path, answers)
    env = {"IPSEC_TRIAGE_FLOWCHARTS": str(charts)}
    out, err = io.StringIO(), io.StringIO()
    run_env = Environment(stdin=io.StringIO(), stdout=out, stderr=err, environ={
        "IPSEC_TRIAGE_DATA": str(data_dir), "IPSEC_TRIAGE_CACHE": CACHE,
        "IPSEC_TRIAGE_STAFFER": "tester", **env})
    assert main(["start", "--answers", str(path), "--no-checks"], run_env) == 0, err.getvalue()
    call_id = _call_id(data_dir)
    written = (data_dir / "calls" / f"{call_id}.ticket.txt").read_text(encoding="utf-8")
    _rename_option(charts)
    out.seek(0)
    out.truncate()
    assert main(["ticket", call_id, "--format", "txt"], run_env) == 0, err.getvalue()
    assert out.getvalue() == written


def test_resume_with_an_answers_file_is_checked_against_the_calls_own_flowcharts(
        tmp_path: Path, data_dir: Path) -> None:
    from .helpers.calls import route_to
    from .test_cli import write_answers

    charts = _charts(tmp_path)
    answers = route_to("fig7_2.escalate_caller")
    out, err = io.StringIO(), io.StringIO()
    env = Environment(stdin=io.StringIO(), stdout=out, stderr=err, environ={
        "IPSEC_TRIAGE_DATA": str(data_dir), "IPSEC_TRIAGE_CACHE": CACHE,
        "IPSEC_TRIAGE_STAFFER": "tester", "IPSEC_TRIAGE_FLOWCHARTS": str(charts)})
    call = Call.start(flowset=load_flowset(charts), journals=JournalFolder(data_dir), org=None,
                      staffer="tester")
    try:
        for _ in range(2):
            visit = call.step().visit
            call.answer(visit, answers[visit.key])
    finally:
        call.close()
    call_id = call.call_id
    _rename_option(charts)
    rest = write_answers(tmp_path, answers)  # the call's words: "reach", not the new one
    assert main(["resume", call_id, "--answers", str(rest), "--no-checks"], env) == 0, \
        err.getvalue()
    assert f"Call {call_id} ended: Not fixed" in out.getvalue()


def test_a_kept_set_is_by_content_and_a_damaged_copy_counts_as_gone(tmp_path: Path) -> None:
    from wizard.flows import pinned

    charts = _charts(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    shutil.copytree(charts, elsewhere)
    fs = load_flowset(charts)
    digest = pinned.set_digest(fs)
    assert pinned.set_digest(load_flowset(elsewhere)) == digest  # same bytes, same set
    _rename_option(elsewhere)
    edited = load_flowset(elsewhere)
    assert pinned.set_digest(edited) != digest
    root = tmp_path / "data"
    assert pinned.keep(fs, root) == digest
    again = pinned.for_call(edited, root, digest)
    assert again[1] is False and pinned.set_digest(again[0]) == digest
    assert again[0].node("intake.call_type").options[0].value == "reach"  # type: ignore[union-attr]
    copy = pinned.path(root, digest)
    for damage in ("{not json", json.dumps({"format": 1, "digest": "0" * 32, "set": {}}),
                   json.dumps({"format": 99, "digest": digest, "set": {}}), "[" * 100_000):
        pinned._read.cache_clear()
        copy.write_text(damage)
        assert pinned.for_call(edited, root, digest) == (edited, True)
    assert pinned.for_call(edited, root, "../../etc/passwd") == (edited, True)
    assert pinned.for_call(edited, root, "") == (edited, False)  # a call from before
