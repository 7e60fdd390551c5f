"""The interactive wizard in a real pseudo-terminal: a whole call, a bad host name,
a "back" edit, Ctrl-C, and a killed process resumed with nothing lost."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pexpect
import pytest

from .helpers.run import PYTHON, ROOT, cli_env, pty_spawn

DOWN = "\x1b[B"
ENTER = "\r"
CTRL_U = "\x15"
CTRL_C = "\x03"


def spawn(data_dir: Path, *args: str) -> pexpect.spawn:
    env = cli_env(data_dir, PROMPT_TOOLKIT_NO_CPR="1")
    child = pty_spawn(PYTHON, ["-m", "wizard", *args], env=env, cwd=str(ROOT),
                       encoding="utf-8", timeout=30, dimensions=(50, 160))
    return child


def answer_text(child: pexpect.spawn, prompt: str, value: str) -> None:
    child.expect_exact(prompt)
    child.send(value + ENTER)


def pick(child: pexpect.spawn, prompt: str, number: int) -> None:
    child.expect_exact(prompt)
    child.send(str(number))
    child.send(ENTER)


def do_intake(child: pexpect.spawn) -> None:
    child.expect_exact("Social engineering")
    pick(child, "What is the call about?", 1)
    # a bad host name is refused with a clear message; the staffer corrects it
    child.expect_exact("What is the name of the caller's computer?")
    child.send("bad host!" + ENTER)
    child.expect_exact("is not a valid")
    child.send(CTRL_U + "ws-ann" + ENTER)
    pick(child, "Which Windows does ws-ann run?", 1)
    answer_text(child, "Which computer is the caller trying to reach", "localhost")
    answer_text(child, "If known, the IP address of localhost", "127.0.0.1")
    pick(child, "How is the caller's computer connected right now?", 1)
    answer_text(child, "What was the caller trying to do", "open the team share")
    pick(child, "Who is affected?", 1)
    pick(child, "How far does the problem reach?", 1)
    pick(child, "Severity of this call?", 1)
    answer_text(child, "What is the caller's name?", "Ann Caller")
    pick(child, "Take the caller's contact details now", 2)
    answer_text(child, "How can we reach Ann Caller again", "ann@corp.example")
    answer_text(child, "Since when does it fail", "this morning")
    answer_text(child, "Existing ticket number", "")


def records(data_dir: Path) -> list[dict[str, object]]:
    (path,) = (data_dir / "calls").glob("*.jsonl")
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_whole_call_with_back_edit_kill_and_resume(data_dir: Path) -> None:
    child = spawn(data_dir, "start")
    do_intake(child)
    pick(child, "What does `ping 127.0.0.1` show", 1)  # replies
    # the reverse lookup check runs from the help desk and suggests an answer
    child.expect_exact("Automatic check")
    pick(child, "show the name localhost?", 1)
    # change an earlier answer: the caller's name was misheard
    child.expect_exact("(by name) show on the caller's computer?")
    child.send("b")
    child.send(ENTER)
    child.expect_exact("Which answer do you want to change?")
    child.send("11" + ENTER)  # question 11: the caller's name
    child.expect_exact("What is the caller's name?")
    child.send(CTRL_U + "Anne Caller" + ENTER)
    child.expect_exact("Later answers are kept")
    # we are back where we were: the later answers were kept
    child.expect_exact("(by name) show on the caller's computer?")
    child.send("1" + ENTER)
    child.expect_exact("nslookup localhost")
    # the answer above is on disk now; kill the process hard
    child.kill(signal.SIGKILL)
    child.close()
    saved = records(data_dir)
    answered = {r["key"]: r["value"] for r in saved if r["event"] == "answer"}
    assert answered["intake.caller_name"] == "Anne Caller"
    assert answered["fig7_1.ping_name"] == "yes"

    child = spawn(data_dir, "resume")
    child.expect_exact("nslookup localhost")  # exactly where it stopped
    child.send("1" + ENTER)
    pick(child, "Which kind of service does the caller use on localhost?", 1)  # a share
    pick(child, "What does `net view \\\\localhost` show", 3)  # net view fails
    pick(child, "Can the caller reach the help-desk test computers", 1)  # -> Figure 7.3
    pick(child, "a remote access (RRAS / VPN) server?", 2)
    pick(child, "on your list of server-isolation servers", 1)  # decides the group
    pick(child, "Have the caller refresh", 1)
    pick(child, "Can the caller reach localhost now?", 2)
    pick(child, "Check network connectivity again", 1)
    pick(child, "Access denied", 1)
    pick(child, "Is the caller a local", 1)
    pick(child, "Have the caller collect the log files", 1)
    child.expect_exact("ended: Not fixed (escalated to Tier 2)")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    (ticket,) = (data_dir / "calls").glob("*.ticket.md")
    text = ticket.read_text()
    assert "Anne Caller" in text and "(changed during the call)" in text
    assert "`ws-ann`" in text and "ws-ann_mmsa.txt" in text  # Windows 10 or 11
    assert "Server isolation support team" in text


def test_ctrl_c_saves_the_call_and_exits_130(data_dir: Path) -> None:
    child = spawn(data_dir, "start")
    pick(child, "What is the call about?", 1)
    child.expect_exact("What is the name of the caller's computer?")
    child.send(CTRL_C)
    # the command works as printed: this run was "python -m wizard", so is the command
    child.expect_exact("saved. Resume it with:")
    child.expect_exact(f"{PYTHON} -m wizard resume")  # on a line of its own
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130
    events = [r["event"] for r in records(data_dir)]
    assert events == ["start", "answer", "interrupted"]


def test_note_on_a_step_is_recorded(data_dir: Path) -> None:
    child = spawn(data_dir, "start")
    do_intake(child)
    child.expect_exact("What does `ping 127.0.0.1` show")
    child.send("n" + ENTER)
    answer_text(child, "Note for this step:", "caller is on a hotel network, sees event 4292")
    child.expect_exact("Note saved.")
    # the note shows a known symptom: the catalogue entry is offered at once
    child.expect_exact("Known issue: IPsec driver in Block mode (event 4292)")
    child.expect_exact("What does `ping 127.0.0.1` show")
    child.send("q" + ENTER)
    child.expect(pexpect.EOF)
    child.close()
    notes = [r for r in records(data_dir) if r["event"] == "note"]
    assert notes[0]["key"] == "fig7_1.ping_ip"
    assert notes[0]["text"] == "caller is on a hotel network, sees event 4292"
    shown = [r for r in records(data_dir) if r["event"] == "known_issue"]
    assert shown[0]["id"] == "event_4292"


@pytest.mark.parametrize("cmd", [["list"], ["show", "last"]])
def test_list_and_show_in_a_terminal(data_dir: Path, cmd: list[str]) -> None:
    child = spawn(data_dir, "start")
    pick(child, "What is the call about?", 1)
    child.expect_exact("What is the name of the caller's computer?")
    child.send(CTRL_C)
    child.expect(pexpect.EOF)
    child = spawn(data_dir, *cmd)
    child.expect(pexpect.EOF)
    assert "open" in child.before
