"""Broken call records, one writer per call, durable ends and private files."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from wizard.base.errors import DiskFull
from wizard.calls.call import Call
from wizard.calls.journal import JournalError, JournalFolder
from wizard.config.organization import OrgConfig
from wizard.records.ending import write_tickets_then_end

from .helpers.calls import replay, shipped
from .helpers.run import ROOT, cli_env
from .test_cli import route_to, run, write_answers
from .test_hostile_input import cli


def _ended_call(tmp_path: Path, data_dir: Path) -> Path:
    path = write_answers(tmp_path, route_to("fig7_2.escalate_caller"), staffer="Sam")
    r = run(["start", "--answers", str(path), "--no-checks"], data_dir)
    assert r.returncode == 0, r.stderr
    return next((data_dir / "calls").glob("*.jsonl"))


BAD_LINES = [
    '{"event": "answer", "value": "x"}',
    '{"event": "answer", "key": ["a"], "value": "x"}',
    '{"event": "note", "key": "intake.caller_name", "text": {"a": 1}}',
    '{"event": "probe", "key": "k", "result": "not a mapping"}',
    '{"event": "end", "tickets": "x"}',
    '["event", "answer"]',
    '{"event": 7}',
    '{"event": "answer", "key": "intake.target", "value": "x"',
]


@pytest.mark.parametrize("bad", BAD_LINES)
def test_a_malformed_journal_line_is_skipped_with_a_warning_naming_file_and_line(
        bad: str, tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    journal = _ended_call(tmp_path, data_dir)
    lines = journal.read_text().splitlines()
    lines.insert(3, bad)
    journal.write_text("\n".join(lines) + "\n")
    capsys.readouterr()
    for command in (["list"], ["show", "last"], ["show", "last", "--json"], ["sync"],
                    ["report", "--practice"]):
        code, _out, err = cli(command, IPSEC_TRIAGE_DATA=str(data_dir))
        err += capsys.readouterr().err
        assert code == 0, (command, err)
        assert f"warning: {journal}:4: line skipped" in err, (command, err)
    code, out, _ = cli(["show", "last", "--json"], IPSEC_TRIAGE_DATA=str(data_dir))
    shown = json.loads(out)
    assert shown["ended"]["status"] == "not_fixed"  # the rest of the call is all there
    assert shown["answers"]["intake.caller_name"]["value"] == "sample text"


def test_start_event_with_a_list_where_a_mapping_belongs_keeps_the_call(
        tmp_path: Path, data_dir: Path) -> None:
    journal = _ended_call(tmp_path, data_dir)
    lines = journal.read_text().splitlines()
    start = json.loads(lines[0])
    start["flowcharts"] = ["not", "a", "mapping"]
    lines[0] = json.dumps(start)
    journal.write_text("\n".join(lines) + "\n")
    r = run(["show", "last", "--json"], data_dir)
    assert r.returncode == 0, r.stderr
    assert f"{journal}:1: start event: field(s) flowcharts ignored" in r.stderr
    assert json.loads(r.stdout)["ended"]["status"] == "not_fixed"


def test_a_folder_where_a_journal_should_be_is_left_out_of_list_with_a_warning(
        tmp_path: Path, data_dir: Path) -> None:
    _ended_call(tmp_path, data_dir)
    odd = data_dir / "calls" / "20200101-000000-beef.jsonl"
    odd.mkdir()
    for command in (["list"], ["sync"], ["report", "--practice"], ["resume"]):
        r = run(command, data_dir)
        assert "Traceback" not in r.stderr and "internal error" not in r.stderr, command
        assert f"{odd}: is a folder, not a call record; left out" in r.stderr, command
    r = run(["show", "20200101"], data_dir)
    assert r.returncode == 5
    assert r.stderr.strip() == f"ipsec-triage: error: {odd}: is a folder, not a call record"


def _open_call(data_dir: Path) -> str:
    call = Call.start(flowset=shipped(), journals=JournalFolder(data_dir), org=OrgConfig(),
                      staffer="tester")
    call.close()
    return call.call_id


def test_second_writer_of_a_call_is_refused_in_one_line(data_dir: Path) -> None:
    call_id = _open_call(data_dir)
    store = JournalFolder(data_dir)
    first = Call.resume(flowset=shipped(), journals=store, org=OrgConfig(), call_id=call_id)
    try:
        with pytest.raises(JournalError, match=f"call {call_id} is already open in another"):
            Call.resume(flowset=shipped(), journals=store, org=OrgConfig(), call_id=call_id)
    finally:
        first.close()
    again = Call.resume(flowset=shipped(), journals=store, org=OrgConfig(), call_id=call_id)
    again.close()  # released on close: the next resume works


RESUMER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from wizard.calls.call import Call
    from wizard.calls.journal import JournalFolder, JournalError
    from wizard.config.organization import OrgConfig
    from wizard.flows.flowset import load_flowset
    from wizard.calls.replay import AnswersFile, run
    from wizard.records.ending import write_tickets_then_end
    fs = load_flowset(Path(sys.argv[3]))
    store = JournalFolder(Path(sys.argv[1]))
    go = Path(sys.argv[4])
    while not go.exists():
        time.sleep(0.005)
    try:
        call = Call.resume(flowset=fs, journals=store, org=OrgConfig(), call_id=sys.argv[2])
    except JournalError as exc:
        print("REFUSED", exc)
        sys.exit(5)
    time.sleep(0.5)  # hold the call as a slow staffer would
    answers = dict(line.split("=", 1) for line in sys.argv[5:])
    step = run(call, AnswersFile(Path("a.yaml"), answers, {}), probes=False)
    write_tickets_then_end(call, step)
    call.close()
    print("WROTE", step.visit.node_key)
""")


def test_two_concurrent_resumes_cannot_both_write(tmp_path: Path, data_dir: Path) -> None:
    call_id = _open_call(data_dir)
    go = tmp_path / "go"
    routes = [route_to("fig7_2.escalate_caller"), route_to("fig7_1.fixed_network")]
    procs = [subprocess.Popen(
        [sys.executable, "-c", RESUMER, str(data_dir), call_id, str(ROOT / "flowcharts"),
         str(go), *(f"{k}={v}" for k, v in answers.items())],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=cli_env(data_dir))
        for answers in routes]
    go.touch()
    outs = [p.communicate(timeout=120) for p in procs]
    codes = sorted(p.returncode for p in procs)
    assert codes == [0, 5], outs
    refused = next(o for o, _ in outs if o.startswith("REFUSED"))
    assert f"call {call_id} is already open in another ipsec-triage" in refused
    events = [json.loads(line) for line in
              (data_dir / "calls" / f"{call_id}.jsonl").read_text().splitlines()]
    assert sum(1 for e in events if e["event"] == "resume") == 1
    assert sum(1 for e in events if e["event"] == "end") == 1


def test_resume_of_a_call_open_elsewhere_is_refused_by_the_command(
        tmp_path: Path, data_dir: Path) -> None:
    call_id = _open_call(data_dir)
    holder = JournalFolder(data_dir).lock(call_id)
    try:
        path = write_answers(tmp_path, route_to("fig7_2.escalate_caller"))
        r = run(["resume", call_id, "--answers", str(path), "--no-checks"], data_dir)
    finally:
        holder.release()
    assert r.returncode == 5
    assert r.stderr.count("\n") == 1
    assert f"call {call_id} is already open in another ipsec-triage" in r.stderr


def test_tickets_are_on_disk_before_the_end_is_recorded(
        data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from wizard.records import ending as call_module

    def disk_full(path: Path, text: str, **_: object) -> None:
        raise OSError(28, "No space left on device", str(path))

    monkeypatch.setattr(call_module, "atomic_write", disk_full)
    with pytest.raises(DiskFull, match="ticket.md: the disk of the desk is full; the call is kept"):
        replay(route_to("fig7_2.escalate_caller"), data_dir)
    state = next(JournalFolder(data_dir).all())
    assert state.ended is None  # still open: resume finishes it and writes the tickets
    monkeypatch.undo()
    call = Call.resume(flowset=shipped(), journals=JournalFolder(data_dir), org=OrgConfig(),
                       call_id=state.call_id)
    paths = write_tickets_then_end(call, call.step())
    call.close()
    assert all(Path(p).is_file() for p in paths.values())


@pytest.mark.skipif(os.name != "posix", reason="POSIX modes")
def test_data_folder_and_store_are_private(tmp_path: Path, data_dir: Path) -> None:
    _ended_call(tmp_path, data_dir)
    assert run(["sync"], data_dir).returncode == 0
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE((data_dir / "calls").stat().st_mode) == 0o700
    assert stat.S_IMODE((data_dir / "calls.sqlite3").stat().st_mode) == 0o600
    for f in (data_dir / "calls").iterdir():
        assert stat.S_IMODE(f.stat().st_mode) & 0o077 == 0, f
    os.chmod(data_dir / "calls.sqlite3", 0o644)
    os.chmod(data_dir, 0o755)
    r = run(["list"], data_dir)
    assert r.returncode == 0
    assert f"{data_dir}: folder holding call data was readable by other users" in r.stderr
    assert f"{data_dir / 'calls.sqlite3'}: file holding call data was readable" in r.stderr
    assert stat.S_IMODE((data_dir / "calls.sqlite3").stat().st_mode) == 0o600
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    assert "readable" not in run(["list"], data_dir).stderr
    # a journal and a ticket copied in by hand with an open mode: the private folder
    # keeps them from others (each command checks the folders, not every file in them)
    opened = [f for f in (data_dir / "calls").iterdir() if f.suffix in (".jsonl", ".md")]
    for f in opened:
        os.chmod(f, 0o644)
    assert "readable" not in run(["list"], data_dir).stderr
    # ... and once their folder is found open, they are made private with it, one line
    os.chmod(data_dir / "calls", 0o755)
    r = run(["list"], data_dir)
    assert f"{data_dir / 'calls'}: folder holding call data was readable" in r.stderr
    assert stat.S_IMODE((data_dir / "calls").stat().st_mode) == 0o700
    assert (f"{data_dir / 'calls'}: {len(opened)} file(s) holding call data were readable "
            "by other users; made private (600)") in r.stderr
    assert all(stat.S_IMODE(f.stat().st_mode) == 0o600 for f in opened)
    assert "readable" not in run(["list"], data_dir).stderr


@pytest.mark.parametrize("body", ["answers: [unclosed\n", "answers:\n  no.such_step: x\n",
                                  "- a list\n"])
def test_resume_with_a_wrong_answers_file_is_exit_4_in_one_line(
        body: str, tmp_path: Path, data_dir: Path) -> None:
    call_id = _open_call(data_dir)
    bad = tmp_path / "bad.yaml"
    bad.write_text(body)
    before = (data_dir / "calls" / f"{call_id}.jsonl").read_text()
    code, _out, err = cli(["resume", call_id, "--answers", str(bad), "--no-checks"],
                          IPSEC_TRIAGE_DATA=str(data_dir))
    assert code == 4, err
    assert err.count("\n") == 1 and str(bad) in err and f"call {call_id} is unchanged" in err
    assert (data_dir / "calls" / f"{call_id}.jsonl").read_text() == before


@pytest.mark.parametrize("text, why", [("r" * 501, "at most 500"),
                                       ("hung\x00up", "control character"),
                                       ("a\x1b[2Jb", "control character")])
def test_abandon_reason_and_sensitive_request_have_the_free_text_limits(
        text: str, why: str, data_dir: Path) -> None:
    from wizard.flows.answer_rules import AnswerError
    from wizard.frontends.terminal.prompts import _free_text_check

    call_id = _open_call(data_dir)
    journal = data_dir / "calls" / f"{call_id}.jsonl"
    before = journal.read_text()
    call = Call.resume(flowset=shipped(), journals=JournalFolder(data_dir), org=OrgConfig(),
                       call_id=call_id)
    try:
        with pytest.raises(AnswerError, match=f"the reason .*{why}"):
            call.end_early(text)
        with pytest.raises(AnswerError, match=why) as caught:
            call.record_sensitive_request("intake.caller_name", text)
        assert "what the caller asked for" in str(caught.value)
        assert len(str(caught.value).splitlines()) == 1
        assert call.state.ended is None and not call.state.sensitive_requests
    finally:
        call.close()
    assert [line for line in journal.read_text().splitlines()
            if '"end"' in line or "sensitive_request" in line] == []
    assert journal.read_text().startswith(before)
    check = _free_text_check("the reason")
    assert check("hung up") is True and why in str(check(text))
