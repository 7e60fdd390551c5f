"""What keeps the terminal quick between Enter and the next question, and at start-up,
without changing what the staffer sees or what is on disk."""

from __future__ import annotations

import errno
import json
import os
import re
import signal
import stat
import subprocess
from pathlib import Path

import pytest
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from wizard.base.privacy import private_dir, tighten
from wizard.calls.journal import JournalFolder
from wizard.frontends.terminal import prompts

from .helpers.run import PYTHON, ROOT


def _typed(keys: str) -> str:
    with create_pipe_input() as inp:
        question = prompts.questionary.text("Name?", input=inp, output=DummyOutput())
        inp.send_text(keys)
        return str(question.unsafe_ask())


def test_prompts_share_the_default_key_bindings_and_every_key_still_works() -> None:
    # Ctrl-A (start of line), Ctrl-E (end), Ctrl-W (delete a word), Backspace, in a
    # row of prompts: each one edits as the first did
    for _ in range(3):
        assert _typed("world\x01hello \x05 again\x17\x7f!\r") == "hello world!"
    with create_pipe_input() as inp:
        one = prompts.questionary.select("Pick", choices=["a", "b"], input=inp,
                                         output=DummyOutput()).application
        two = prompts.questionary.text("Name?", input=inp, output=DummyOutput()).application
    assert one._default_bindings is two._default_bindings
    assert one._page_navigation_bindings is two._page_navigation_bindings


# -- the journal: on disk before the next answer, not before the next question ----------


class _Disk:
    """``os.fsync`` that notes what the file held when it was called (or fails)."""

    def __init__(self, path: Path, fails: OSError | None = None) -> None:
        self.path = path
        self.synced: list[list[str]] = []
        self.fails = fails

    def __call__(self, fd: int) -> None:
        if self.fails is not None:
            raise self.fails
        self.synced.append(_events(self.path))


def _events(path: Path) -> list[str]:
    return [json.loads(x)["event"] for x in path.read_text().splitlines()]


def test_an_answer_is_on_disk_before_a_later_one_is_accepted(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = JournalFolder(tmp_path)
    call_id, journal, _ = store.new_call(staffer="sam")
    disk = _Disk(store.path(call_id))
    monkeypatch.setattr(os, "fsync", disk)
    # the answer returns without waiting for the disk (the next question is drawn
    # first), and it is already in the file for any reader
    journal.append("answer", key="intake.caller_name", value="Ann")
    assert _events(store.path(call_id)) == ["start", "answer"]
    # the start went to the disk before the answer was taken
    assert disk.synced == [["start"]]
    journal.sync()  # the terminal, once the next question is on the screen
    assert disk.synced == [["start"], ["start", "answer"]]
    journal.sync()  # nothing new: no second fsync
    journal.append("note", key="k", text="later")
    journal.append("answer", key="k", value="b")
    # every event was on the disk before the next one was written
    assert disk.synced[2:] == [["start", "answer", "note"]]
    journal.close()
    assert disk.synced[-1] == ["start", "answer", "note", "answer"]


def test_a_failed_fsync_is_told_and_no_later_event_is_taken(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = JournalFolder(tmp_path)
    call_id, journal, _ = store.new_call(staffer="sam")
    journal.sync()
    journal.append("answer", key="k", value="a")
    monkeypatch.setattr(os, "fsync", _Disk(store.path(call_id),
                                           OSError(errno.EIO, "Input/output error")))
    with pytest.raises(OSError, match="Input/output error"):
        journal.sync()
    monkeypatch.undo()  # the disk answers again: what reached it is still unknown
    with pytest.raises(OSError, match="Input/output error"):
        journal.append("answer", key="k", value="b")
    assert _events(store.path(call_id)) == ["start", "answer"]
    with pytest.raises(OSError, match="Input/output error"):
        journal.close()
    assert journal.lock is None  # the call's lock is let go all the same


CRASH = """
import sys
from pathlib import Path
from wizard.calls.journal import JournalFolder

store = JournalFolder(Path(sys.argv[1]))
call_id, journal, _ = store.new_call(staffer="sam")
journal.append("answer", key="intake.caller_name", value="Ann")
print(store.path(call_id), flush=True)
sys.stdin.read()  # killed here, before the answer's fsync
"""


def test_an_answer_survives_a_kill_right_after_it_is_given(tmp_path: Path) -> None:
    child = subprocess.Popen([PYTHON, "-c", CRASH, str(tmp_path)], cwd=ROOT,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    path = Path(child.stdout.readline().strip())
    child.send_signal(signal.SIGKILL)
    child.wait(10)
    assert child.returncode == -signal.SIGKILL
    answers = [json.loads(x) for x in path.read_text().splitlines()][1:]
    assert [(a["event"], a["key"], a["value"]) for a in answers] == [
        ("answer", "intake.caller_name", "Ann")]


# -- the data folder's privacy check before every command -------------------------------


@pytest.mark.skipif(os.name != "posix", reason="POSIX modes")
def test_the_privacy_check_reads_the_folders_and_the_files_of_an_open_one(
        tmp_path: Path) -> None:
    calls = tmp_path / "calls"
    private_dir(calls)
    os.chmod(tmp_path, 0o700)
    journal = calls / "x.jsonl"
    journal.write_text("{}\n")
    os.chmod(journal, 0o644)
    # in a private folder the file is out of others' reach: nothing to say, and the
    # check does not open every file of a folder of thousands
    assert tighten(tmp_path) == []
    os.chmod(calls, 0o755)
    assert tighten(tmp_path) == [
        f"{calls}: folder holding call data was readable by other users (mode 755); "
        "made private (700)",
        f"{calls}: 1 file(s) holding call data were readable by other users; made "
        "private (600)"]
    assert stat.S_IMODE(calls.stat().st_mode) == 0o700
    assert stat.S_IMODE(journal.stat().st_mode) == 0o600
    assert tighten(tmp_path) == []


# -- start-up: what the first question does not need is not loaded ---------------------


def test_start_builds_its_own_options_only_and_loads_no_report_code() -> None:
    code = ("import sys\n"
            "from wizard.frontends.terminal.cli import build_parser\n"
            "args = build_parser('start').parse_args(\n"
            "    ['--data-dir', 'd', 'start', '--practice', '--on', 'caller'])\n"
            "print(args.command, args.data_dir, args.practice, args.on)\n"
            "print(sorted(m for m in ('wizard.records.report', 'wizard.frontends.terminal"
            ".reporting', 'sqlalchemy') if m in sys.modules))\n")
    done = subprocess.run([PYTHON, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          check=True)
    assert done.stdout.splitlines() == ["start d True caller", "[]"]


def test_the_terminal_puts_an_answer_on_disk_once_the_next_question_is_shown(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    from prompt_toolkit.application import create_app_session
    from rich.console import Console

    from wizard.calls.call import Call

    from .helpers.calls import shipped

    call = Call.start(flowset=shipped(), journals=JournalFolder(tmp_path), org=None,
                      staffer="sam", runs_on="helpdesk", mode="interactive", checks=False)
    disk = _Disk(call.journals.path(call.call_id))
    monkeypatch.setattr(os, "fsync", disk)
    screen = io.StringIO()
    frontend = prompts.LiveCall(call, Console(file=screen, width=100))
    with create_pipe_input() as inp, create_app_session(input=inp, output=DummyOutput()):
        # the first question answered (its first choice), then Ctrl-C at the second:
        # nothing is appended after the answer, so only the terminal synced it
        inp.send_text("1\r\x03")
        with pytest.raises(KeyboardInterrupt):
            frontend.run()
    assert "What is the call about?" in screen.getvalue()
    assert disk.synced[-1] == ["start", "answer"]
    call.close()


FIRST_QUESTION = """
import sys
import questionary

HEAVY = ("rich", "yaml", "yaml_rs", "filelock", "pydantic", "jinja2", "sqlalchemy",
         "wizard.checks", "wizard.config.organization", "wizard.records.report")


def asked(question):
    # the first question is built and about to be drawn: what is loaded by now
    print("LOADED", sorted(m for m in HEAVY if m in sys.modules), flush=True)
    raise KeyboardInterrupt


questionary.Question.unsafe_ask = asked
from wizard.frontends.terminal.cli import main

sys.exit(main(["start"]))
"""


@pytest.mark.parametrize("org", [None, "examples/org.yaml"])
def test_the_first_question_is_asked_before_rich_yaml_and_the_lock_library_load(
        tmp_path: Path, org: str | None) -> None:
    # flowchart cache warm (the usual start), the organization file (if any) read right
    # before: no YAML parser, no pydantic; the lines before the first question are drawn
    # without rich; the call's lock is taken without filelock
    import pexpect

    from .helpers.run import cli_env, pty_spawn

    env = cli_env(tmp_path / "data", IPSEC_TRIAGE_CACHE=str(tmp_path / "cache"),
                  PROMPT_TOOLKIT_NO_CPR="1")
    if org:
        env["IPSEC_TRIAGE_ORG"] = str(ROOT / org)
    for start in ("cache filled", "cache read"):
        child = pty_spawn(PYTHON, ["-c", FIRST_QUESTION], env=env, cwd=str(ROOT),
                          encoding="utf-8", timeout=60, dimensions=(24, 100))
        child.expect(r"LOADED (\[.*\])")
        before = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", child.before)  # colours off
        loaded = child.match.group(1)
        child.expect(pexpect.EOF)
        child.close()
        # what the staffer sees above the first question, either way
        for text in ("ipsec-triage · Call ", "Caution", "Social engineering: do not tell",
                     "Step 1 · Intake, scope and severity", "resume"):
            assert text in before, (start, text)
    assert loaded == "[]"
