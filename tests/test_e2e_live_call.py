"""A live phone call in a real pseudo-terminal, as the staffer sees it: resume recap and a
resume command that works as printed, corrections, help and the sensitive-request key,
ending a call early, messages in the question's words, and the layout at 80x24 and
140x45. The screen is read through a terminal emulator of the same size."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from wizard.service.turns import ABANDON_CHOICES

from .helpers.run import PYTHON, CliResult, cli_env, run_cli
from .helpers.terminal import (
    CTRL_C,
    CTRL_U,
    ENTER,
    ESC,
    HOME,
    PGUP,
    Terminal,
    broken_words,
    open_call,
    prompt_of,
    question,
    records,
    route_to,
)

SIZES = [(24, 80), (45, 140)]
COMPUTER_Q = "What is the name of the caller's computer?"


def caller(**extra: str) -> dict[str, str]:
    answers = route_to("fig7_1.escalate_network")
    answers.update({"intake.caller_name": "Ann Caller", "intake.caller_machine": "WS-Ann",
                    "intake.target": "fs01", "intake.target_ip": "127.0.0.1"})
    answers.update(extra)
    return answers


def ping_q() -> str:
    """The first question of Figure 7.1 on this caller's route."""
    return prompt_of("fig7_1.ping_ip", caller())


def run(args: list[str], data_dir: Path) -> CliResult:
    return run_cli([*args], cli_env(data_dir))


@pytest.mark.parametrize(("rows", "cols"), SIZES)
def test_resume_shows_a_recap_and_a_command_that_works_as_printed(
        data_dir: Path, rows: int, cols: int) -> None:
    open_call(data_dir, caller(), stop_at="fig7_1.ping_ip")
    t = Terminal(data_dir, "resume", "--no-checks", rows=rows, cols=cols)
    t.expect(ping_q())
    seen = t.plain()
    assert "Resuming call" in seen
    assert "Caller: Ann Caller" in seen
    assert "Computer: WS-Ann" in seen  # the case the caller read out
    assert "Target: fs01" in seen
    assert "Last answers (of" in seen
    assert "Flowcharts:" in seen and "(the shipped set)" in seen
    t.send("q" + ENTER)
    assert t.wait_end() == 0
    printed = t.plain().split("saved. Resume it with:", 1)[1].strip()
    # the printed command, typed as it is, continues the same call
    words = shlex.split(printed)
    t2 = Terminal(data_dir, *words[1:], program=words[:1], rows=rows, cols=cols)
    t2.expect("Resuming call")
    t2.expect(ping_q())
    t2.send("q" + ENTER)
    assert t2.wait_end() == 0


def test_no_checks_is_honoured_when_resuming(data_dir: Path) -> None:
    open_call(data_dir, caller(), stop_at="fig7_1.ping_ip")
    t = Terminal(data_dir, "resume", "--no-checks")
    t.expect("automatic checks off")
    t.expect("Automatic check not run: automatic checks are turned off for this call")
    t.expect(ping_q())
    # the step header promises no more than this route asks after it, never "last"
    after = len([k for k in caller() if not k.startswith("intake.")]) - 1
    promised = re.search(r"Figure 7\.1[^·]*· at least (\d+) more", t.plain())
    assert promised and 1 <= int(promised.group(1)) <= after, t.plain()
    assert "last question" not in t.plain()
    t.send("q" + ENTER)
    assert t.wait_end() == 0
    assert not [r for r in records(data_dir) if r["event"] == "probe"]


def test_no_checks_is_honoured_by_a_new_interactive_call(data_dir: Path) -> None:
    t = Terminal(data_dir, "start", "--no-checks")
    t.expect("automatic checks off")
    t.expect("What is the call about?")
    t.send("1" + ENTER)
    t.expect("What is the name of the caller's computer?")
    t.settle()  # the next question is up: the answer is on disk
    t.send(CTRL_C)
    assert t.wait_end() == 130
    start = records(data_dir)[0]
    assert start["checks"] is False


@pytest.mark.parametrize(("address", "done"), [
    ("127.0.0.1", ["2 automatic checks done on the help-desk computer: ping 127.0.0.1: ",
                   "; reverse_lookup 127.0.0.1: "]),
    ("", ["1 automatic check done on the help-desk computer: ping localhost: "])])
def test_checks_name_what_ran_and_where(data_dir: Path, address: str,
                                        done: list[str]) -> None:
    answers = caller(**{"intake.target": "localhost", "intake.target_ip": address})
    open_call(data_dir, answers, stop_at="fig7_1.ping_ip")
    t = Terminal(data_dir, "resume")
    for part in done:  # how many, where, and each by name and result
        t.expect(part)
    t.expect(prompt_of("fig7_1.ping_ip", answers))
    t.send("q" + ENTER)
    assert t.wait_end() == 0


def test_a_text_correction_shows_the_old_value_and_typing_replaces_it(data_dir: Path
                                                                       ) -> None:
    open_call(data_dir, caller(**{"intake.details": "now", "intake.since": "",
                                  "intake.existing_ticket": "",
                                  "intake.caller_contact": "(555) 010-0100"}),
              stop_at="fig7_1.ping_ip")
    t = Terminal(data_dir, "resume", "--no-checks")
    t.expect(ping_q())
    t.send("b" + ENTER)
    t.expect("Which answer do you want to change?")
    t.send("13")  # the number shown: the contact (after type, computer, Windows, target,
    # its address, connection, what was tried, scope, extent, severity, name, details)
    t.send(ENTER)
    t.expect("Now: (555) 010-0100")
    t.send("since 10am" + ENTER)
    t.expect("is not a phone number")
    screen = "\n".join(t.settle())
    assert "intake." not in screen  # the question's words, not step ids
    t.send(CTRL_U + "x4455" + ENTER)  # an extension is a contact
    t.expect("Changed to: x4455")
    t.expect(ping_q())
    t.send("n" + ENTER)
    t.expect("Note for this step:")
    t.send("hotel wifi" + ENTER)
    t.expect("Note saved.")
    t.expect(ping_q())
    t.send("q" + ENTER)
    assert t.wait_end() == 0
    answers = [r for r in records(data_dir) if r["event"] == "answer"]
    assert answers[-1]["key"] == "intake.caller_contact"
    assert answers[-1]["value"] == "x4455"
    shown = run(["show", "last"], data_dir)  # plain show: no --json
    assert "Changed answers" in shown.stdout
    assert any("(555) 010-0100" in line and "x4455" in line and "tester" in line
               and re.search(r"\d{4}-\d\d-\d\d", line)  # from, to, when, by whom
               for line in shown.stdout.splitlines()), shown.stdout
    # the note taken at the question the call stopped at, under it (not "no longer on
    # the route")
    assert "Next question: " + ping_q() in shown.stdout
    assert "note: hotel wifi" in shown.stdout.split("Next question: ", 1)[1]
    assert "no longer on the route" not in shown.stdout


def test_enter_keeps_the_old_value(data_dir: Path) -> None:
    open_call(data_dir, caller(), stop_at="fig7_1.ping_ip")
    t = Terminal(data_dir, "resume", "--no-checks")
    t.expect(ping_q())
    t.send("b" + ENTER)
    t.expect("Which answer do you want to change?")
    t.send(HOME)  # Home: the first answer; then the number shown: the caller's name
    t.send("11" + ENTER)
    t.expect("Now: Ann Caller")
    t.send(ENTER)
    t.expect("Changed to: Ann Caller")
    t.send("q" + ENTER)
    assert t.wait_end() == 0
    assert not [r for r in records(data_dir) if r["event"] == "answer"
                and r["t"] > records(data_dir)[0]["t"] and r["value"] != "Ann Caller"
                and r["key"] == "intake.caller_name"]


def test_the_change_list_goes_back_with_esc_and_pages_with_pgup(data_dir: Path) -> None:
    open_call(data_dir, caller(), stop_at="fig7_1.ping_ip")
    t = Terminal(data_dir, "resume", "--no-checks", rows=24, cols=80)
    t.expect(ping_q())
    t.send("b" + ENTER)
    t.expect("Which answer do you want to change?")
    screen = t.settle()
    assert any(line.lstrip().startswith("»") and "Take the caller's contact details now" in line
               for line in screen), screen  # starts at the newest answer
    t.send(ESC)
    t.expect("No answer changed.")
    t.expect(ping_q())
    t.send("b" + ENTER)
    t.expect("Which answer do you want to change?")
    t.send(PGUP + PGUP + "11" + ENTER)  # paged up, then the caller's name by its number
    t.expect("Now: Ann Caller")
    t.send(CTRL_C)
    assert t.wait_end() == 130


def test_a_pasted_share_path_offers_the_computer(data_dir: Path) -> None:
    open_call(data_dir, caller(), stop_at="fig7_1.ping_ip")
    t = Terminal(data_dir, "resume", "--no-checks")
    t.expect(ping_q())
    t.send("b" + ENTER)
    t.expect("Which answer do you want to change?")
    t.send(HOME)
    screen = t.settle()
    number = next(m.group(1) for line in screen
                  if (m := re.match(r"^\s*»?\s*(\d+)\. Which computer is the caller", line)))
    t.send(number + ENTER)
    t.expect("Now: fs01")
    t.send("bad host!" + ENTER)
    t.expect('"bad host!" is not a valid host name')
    assert "intake.target" not in "\n".join(t.settle())
    t.send(CTRL_U + "\\\\FS02\\share" + ENTER)
    t.expect("computer in \\\\FS02\\share: FS02")  # offered, no doubled backslashes
    t.send(ENTER)
    t.expect("Changed to: FS02")
    t.send("q" + ENTER)
    assert t.wait_end() == 0
    answers = [r for r in records(data_dir) if r["event"] == "answer"]
    assert answers[-1]["value"] == "FS02"  # the case kept


def test_help_key_and_sensitive_request_reach_the_ticket(data_dir: Path) -> None:
    answers = caller()
    open_call(data_dir, answers, leave=1)
    t = Terminal(data_dir, "resume", "--no-checks", rows=24, cols=80)
    t.expect("? help and source · s caller asks for")
    assert "last question on this route" in t.plain()
    t.send("?")
    t.expect("Help for this step")
    t.expect("Source:")
    t.expect("Social engineering")
    t.settle()
    t.send("s")
    t.expect("Caution: sensitive request")
    t.expect("What did the caller ask for?")
    t.send("2" + ENTER)
    t.expect("Recorded")
    t.settle()
    t.send("1" + ENTER)
    t.expect("ended:")
    assert t.wait_end() == 0
    events = [r for r in records(data_dir) if r["event"] == "sensitive_request"]
    assert events[0]["what"].startswith("Connect to the caller's computer")
    (ticket,) = (data_dir / "calls").glob("*.ticket.md")
    text = ticket.read_text()
    assert "## Sensitive requests (social engineering)" in text
    assert "Connect to the caller's computer" in text
    txt = next((data_dir / "calls").glob("*.ticket.txt")).read_text()
    assert "SENSITIVE REQUESTS" in txt
    call_id = ticket.name.split(".", 1)[0]
    shown = run_cli(["show", call_id], cli_env(data_dir, COLUMNS="200"))
    line = next(x for x in shown.stdout.splitlines() if x.startswith("Sensitive request"))
    assert line.startswith('Sensitive request at "') and "intake." not in line \
        and "fig7_" not in line, line  # the question's words, not the step id


def test_help_key_in_a_text_question(data_dir: Path) -> None:
    t = Terminal(data_dir, "start", "--no-checks")
    for prompt, answer in (("What is the call about?", "1"), (COMPUTER_Q, "ws-ann"),
                             ("Which Windows does ws-ann run?", "1"),
                             ("Which computer is the caller trying to reach", "fs01"),
                             ("If known, the IP address of fs01", ""),
                             ("How is the caller's computer connected right now?", "1"),
                             ("What was the caller trying to do", "open the share"),
                             ("Who is affected?", "1"),
                             ("How far does the problem reach?", "1"),
                             ("Severity of this call?", "1")):
        t.expect(prompt)
        t.send(answer + ENTER)
    t.expect("What is the caller's name?")
    t.send("?")
    t.expect("Help for this step")
    t.expect("Social engineering")
    t.expect("What is the caller's name?")
    t.send("Bo?" + ENTER)  # a typed question mark is text
    t.settle()
    t.send(CTRL_C)
    assert t.wait_end() == 130
    answers = [r for r in records(data_dir) if r["event"] == "answer"]
    assert answers[-1]["value"] == "Bo?"


def end_early_menu(data_dir: Path) -> Terminal:
    """A resumed call at its first question of Figure 7.1, its end-early menu shown."""
    open_call(data_dir, caller(), stop_at="fig7_1.ping_ip")
    t = Terminal(data_dir, "resume", "--no-checks")
    t.expect(ping_q())
    t.send("e" + ENTER)
    t.expect("Why does the call end early?")
    return t


def test_ending_a_call_early_as_a_duplicate(data_dir: Path) -> None:
    t = end_early_menu(data_dir)
    t.send("3" + ENTER)
    t.expect("Which ticket number does it duplicate?")
    t.send("INC-1234" + ENTER)
    t.expect("ended: Abandoned (duplicate of INC-1234)")
    assert t.wait_end() == 0
    end = records(data_dir)[-1]
    assert end["event"] == "end" and end["status"] == "abandoned"
    assert end["reason"] == "duplicate" and end["duplicate_of"] == "INC-1234"
    # never offered again by a plain resume; listed with its reason; no ticket
    again = run(["resume"], data_dir)
    assert again.returncode == 5 and "no open call" in again.stderr
    listing = run(["list"], data_dir)
    assert "Abandoned (duplicate of INC-1234)" in listing.stdout
    assert "Ann Caller" in listing.stdout
    assert run(["ticket", "last"], data_dir).returncode == 5


@pytest.mark.parametrize(("number", "shown", "reason"),
                         [("1", "caller hung up", "hung_up"),
                          ("2", "wrong number", "wrong_number")])
def test_a_call_ended_early_without_a_ticket_number(data_dir: Path, number: str, shown: str,
                                                    reason: str) -> None:
    t = end_early_menu(data_dir)
    t.send(number + ENTER)
    t.expect(f"ended: Abandoned ({shown})")
    assert t.wait_end() == 0
    end = records(data_dir)[-1]
    assert end["status"] == "abandoned" and end["reason"] == reason


def test_the_end_early_menu_offers_the_reasons_a_call_is_listed_with(data_dir: Path) -> None:
    # one list of reasons: the menu offers them in the words the web desk offers them in
    t = end_early_menu(data_dir)
    screen = "\n".join(t.settle())
    offered = [f"{i}) {label}" for i, label in enumerate(ABANDON_CHOICES.values(), 1)]
    assert offered[:2] == ["1) The caller hung up",
                           "2) Wrong number (not an IPsec or network problem)"]
    offered += [f"{len(ABANDON_CHOICES) + 1}) Another reason (type it)",
                "0) Do not end the call"]
    assert all(line in screen for line in offered), screen
    t.send("0" + ENTER)  # not ended: the question again
    t.expect(ping_q())
    t.send(CTRL_C)
    t.wait_end()
    assert not [r for r in records(data_dir) if r["event"] == "end"]


@pytest.mark.parametrize("key", [CTRL_C, "q"])
def test_a_call_quit_before_any_answer_is_not_left_open(data_dir: Path, key: str) -> None:
    t = Terminal(data_dir, "start", "--no-checks")
    t.expect("What is the call about?")
    t.send(key if key == CTRL_C else "q" + ENTER)
    t.expect("discarded: nothing was answered yet")
    t.wait_end()
    assert not list((data_dir / "calls").glob("*.jsonl"))
    assert run(["list", "--open"], data_dir).stdout.startswith("No open calls")


@pytest.mark.parametrize(("rows", "cols"), SIZES)
def test_layout_keeps_words_commands_and_the_question_whole(data_dir: Path, rows: int,
                                                            cols: int) -> None:
    long_target = "fileserver-with-a-long-name-01.branch-office.corp.example"
    open_call(data_dir, caller(**{"intake.target": long_target, "intake.target_ip": ""}),
              stop_at="fig7_1.ping_ip")
    t = Terminal(data_dir, "resume", "--no-checks", rows=rows, cols=cols)
    t.expect("? help and source · s caller asks for")
    screen = t.settle()
    text = "\n".join(screen)
    # the question is on screen, with every choice under it
    question = prompt_of("fig7_1.ping_ip", caller(**{"intake.target": long_target,
                                                     "intake.target_ip": ""}))
    assert any(line.startswith(f"? {question[:15]}") for line in screen), text
    assert any("Save and quit" in line for line in screen), text
    # the command is on one row, never wrapped inside
    assert any(f"ping {long_target}" in line for line in screen), text
    # no word is broken at the end of a row
    words = set(t.plain().split())
    for line in screen:
        stripped = line.strip("│ ╭╮╰╯─")
        if stripped and len(line) >= cols - 1 and line[-1].isalpha():
            last = stripped.split()[-1]
            assert last in words, (last, text)
    t.send("q" + ENTER)
    assert t.wait_end() == 0


def test_a_closed_terminal_before_any_answer_leaves_no_open_call(data_dir: Path) -> None:
    t = Terminal(data_dir, "start", "--no-checks")
    t.expect("What is the call about?")
    t.child.close(force=True)  # the staffer closes the terminal window: SIGHUP
    assert not list((data_dir / "calls").glob("*.jsonl"))


def test_a_closed_terminal_keeps_a_call_with_answers_open(data_dir: Path) -> None:
    t = Terminal(data_dir, "start", "--no-checks")
    t.expect("What is the call about?")
    t.send("1" + ENTER)
    t.expect("What is the name of the caller's computer?")
    t.settle()  # the next question is up: the answer is on disk
    t.child.close(force=True)
    events = [r["event"] for r in records(data_dir)]
    assert events == ["start", "answer", "interrupted"]


def test_a_long_change_list_fits_80x24_and_jumps_by_number(data_dir: Path) -> None:
    from wizard.calls.engine import Engine

    from .helpers.calls import shipped

    answers, _end = max(Engine(shipped()).paths(), key=lambda p: len(p[1].answered_route))
    answers = dict(answers)
    answers["intake.caller_contact"] = "x4455"
    open_call(data_dir, answers, leave=1)
    t = Terminal(data_dir, "resume", "--no-checks", rows=24, cols=80)
    t.expect("? help and source")
    t.settle()
    t.send("b" + ENTER)
    t.expect("Which answer do you want to change?")
    screen = t.settle()
    text = "\n".join(screen)
    assert any(line.startswith("? Which answer do you want to change?") for line in screen), \
        text  # the question stays on screen
    assert "earlier (PgUp, Home)" in text and "Keep all answers (Esc)" in text
    newest = max(int(m.group(1)) for line in screen
                 if (m := re.match(r"^\s*»?\s*(\d+)\. ", line)))
    assert any(line.lstrip().startswith(f"» {newest}.") for line in screen), text
    t.send("13")  # a number not on the page (the callback number): the list jumps to it
    screen = t.settle()
    assert any(line.lstrip().startswith("» 13.") for line in screen), "\n".join(screen)
    t.send(ENTER)
    t.expect("Now: x4455")
    t.send(CTRL_C)
    assert t.wait_end() == 130


@pytest.mark.parametrize("on_path", [True, False])
def test_the_installed_script_prints_a_resume_command_that_works(data_dir: Path,
                                                                  on_path: bool) -> None:
    script = Path(PYTHON).parent / "ipsec-triage"
    if not script.is_file():
        pytest.skip("the ipsec-triage script is not installed next to this Python")
    path = f"{script.parent}:/usr/bin:/bin" if on_path else "/usr/bin:/bin"
    t = Terminal(data_dir, "start", "--no-checks", program=[str(script)], PATH=path)
    t.expect("What is the call about?")
    t.send("1" + ENTER)
    t.expect("What is the name of the caller's computer?")
    t.settle()
    t.send(CTRL_C)
    assert t.wait_end() == 130
    printed = t.plain().split("saved. Resume it with:", 1)[1].strip()
    words = shlex.split(printed)
    assert words[0] == ("ipsec-triage" if on_path else str(script))
    # typed as printed (with the same PATH), it continues the call
    t2 = Terminal(data_dir, *words[1:], program=words[:1], PATH=path)
    t2.expect("Resuming call")
    t2.expect("What is the name of the caller's computer?")  # exactly where it stopped
    t2.send(CTRL_C)
    assert t2.wait_end() == 130


def test_the_text_ticket_keeps_the_contact_and_the_computer_on_their_own_lines(
        data_dir: Path) -> None:
    open_call(data_dir, caller(**{"intake.details": "now", "intake.since": "",
                                  "intake.existing_ticket": "",
                                  "intake.caller_contact": "(555) 010-0100 ext 4455"}),
              leave=1)
    t = Terminal(data_dir, "resume", "--no-checks", rows=24, cols=80)
    t.expect("? help and source · s caller asks for")
    t.settle()
    t.send("1" + ENTER)
    t.expect("ended:")
    assert t.wait_end() == 0
    lines = next((data_dir / "calls").glob("*.ticket.txt")).read_text().splitlines()
    assert "CALLER: Ann Caller ((555) 010-0100 ext 4455)" in lines
    assert "CALLER'S COMPUTER: WS-Ann" in lines


@pytest.mark.parametrize(("rows", "cols"), SIZES)
def test_answered_lines_wrap_at_word_boundaries(data_dir: Path, rows: int,
                                               cols: int) -> None:
    """The line left after each answer ("? question answer") is wrapped at spaces, a
    choice's label and typed text alike; typed text is printed as typed, not markup; a
    long typed answer leaves no stray row (neither the erased prompt nor an empty one)."""
    name = "[bold]Ann[/bold] Caller-Smithson"
    since = ("since IPsec was turned on yesterday afternoon for the accounting people "
             "on the third floor")
    tried = ("open the finance team share on the file server and also the intranet web "
             "site and the printer queue at the same time, every morning this week")
    t = Terminal(data_dir, "start", "--no-checks", rows=rows, cols=cols)
    for prompt, keys in (("What is the call about?", "1"), (COMPUTER_Q, "WS-Ann"),
                         ("Which Windows does WS-Ann run?", "1"),
                         (question("intake.target"), "fs01"),
                         ("If known, the IP address of fs01", ""),
                         ("How is the caller's computer connected right now?", "1"),
                         (question("intake.tried"), tried),
                         ("Who is affected?", "1"), ("How far does the problem reach?", "1"),
                         ("Severity of this call?", ""), ("What is the caller's name?", name),
                         ("Take the caller's contact details now", "2"),
                         ("How can we reach", "x4455"), ("Since when does it fail", since),
                         ("Existing ticket number", "")):
        if prompt != "Who is affected?":  # waited for after the long answer
            t.expect(prompt)
        t.settle()
        t.send(keys + ENTER)
        if prompt == question("intake.tried"):
            rows_now = t.wait_for("Who is affected?")
            # the answered line, then the next step's header after one blank row
            end = max(i for i, line in enumerate(rows_now) if line.endswith("this week"))
            start = max(i for i, line in enumerate(rows_now[:end + 1])
                        if line.startswith(f"? {question('intake.tried')[:20]}"))
            assert rows_now[end + 1] == "" and rows_now[end + 2].startswith("Step "), \
                "\n".join(rows_now)
            assert rows_now[start - 1].startswith("? help and source"), "\n".join(rows_now)
            assert " ".join(" ".join(rows_now[start:end + 1]).split()) == \
                f"? {question('intake.tried')} {tried}", "\n".join(rows_now)
    t.expect("· Figure 7.1")
    t.settle()
    lines = t.all_lines()
    shown = " ".join(" ".join(lines).split())
    expected = (
            f"? {question('intake.call_type')} The caller cannot reach a computer, share "
            "or application",
            f"? {question('intake.caller_machine')} WS-Ann",
            f"? {question('intake.severity')} Low: this caller, one computer",
            f"? {question('intake.caller_name')} {name}",
            f"? {question('intake.details')} Yes: callback number, since when, earlier "
            "ticket",
            f"? {question('intake.since')} {since}")
    for echoed in expected:
        assert echoed in shown, (echoed, "\n".join(lines))
    words = {w for echoed in expected for w in echoed.split()}
    assert not broken_words(lines, cols, words), "\n".join(lines)
    t.send(CTRL_C)
    assert t.wait_end() == 130


def test_the_resume_command_is_on_a_line_of_its_own_at_80_columns(data_dir: Path) -> None:
    t = Terminal(data_dir, "start", "--no-checks", rows=24, cols=80)
    t.expect("What is the call about?")
    t.send("1" + ENTER)
    t.expect(COMPUTER_Q)
    t.settle()
    t.send(CTRL_C)
    assert t.wait_end() == 130
    printed = t.plain().split("saved. Resume it with:", 1)[1].strip()
    lines = t.all_lines()
    assert shlex.split(printed)[-2] == "resume"
    if len(printed) <= 80:  # a command longer than the terminal can only soft-wrap
        # never cut inside: whole on one row, in the banner and at the end
        assert sum(line.strip() == printed for line in lines) == 2, "\n".join(lines)


@pytest.mark.parametrize(("rows", "cols"), SIZES)
def test_the_end_screen_shows_the_category_by_its_label(data_dir: Path, rows: int,
                                                        cols: int) -> None:
    """The end of a call names its category as a person reads it; ids stay in JSON."""
    call_id, t = finish_in_terminal(data_dir, route_to("fig7_2.escalate_rras"), rows, cols)
    shown = t.plain()
    assert "Category: IPsec on the caller's computer" in shown, shown
    assert "caller_ipsec" not in shown
    out = run_cli(["show", call_id, "--json"], cli_env(data_dir), check=True)
    assert '"caller_ipsec"' in out.stdout


def finish_in_terminal(data_dir: Path, answers: dict[str, str], rows: int = 24,
                       cols: int = 80) -> tuple[str, Terminal]:
    """Record the call of ``answers`` but its last answer, then give that answer by its
    number in a terminal: the call ends there, as the staffer ends it."""
    from wizard.calls.engine import Engine
    from wizard.flows import answer_rules

    from .helpers.calls import shipped

    call_id = open_call(data_dir, answers, leave=1)
    given = {str(e["key"]): str(e["value"]) for e in records(data_dir)
             if e.get("event") == "answer"}
    last = Engine(shipped()).step(given).visit.key
    node = shipped().node(last)
    values = ["done"] if node.kind == "action" else [v for v, _ in answer_rules.choices(node)]
    number = values.index(answers[last]) + 1
    t = Terminal(data_dir, "resume", call_id, "--no-checks", "--no-send",
                 rows=rows, cols=cols)
    t.expect(prompt_of(last, answers))
    t.settle()
    t.send(f"{number}{ENTER}")
    assert t.wait_end() == 0
    return call_id, t


def test_the_ticket_names_log_files_with_the_computer_as_the_caller_read_it(
        data_dir: Path) -> None:
    """Log file names keep the computer's case, as Windows shows it (what the caller read
    out), never lowered."""
    from wizard.calls.engine import Engine

    from .helpers.calls import shipped

    answers = dict(next(a for a, s in Engine(shipped()).paths()
                        if s.visit.node_key == "fig7_3.escalate_logon"
                        and a.get("fig7_3.logs_logon") == "done"))
    answers |= {"intake.caller_machine": "WS-Ann", "intake.target": "FS01.corp.example"}
    finish_in_terminal(data_dir, answers)
    md = next((data_dir / "calls").glob("*.ticket.md")).read_text()
    names = re.findall(r"([^\s`|]+_[^\s`|]+\.txt)", md)
    assert names and any(n.startswith("WS-Ann_") for n in names), md
    assert "WS-Ann_FS01.corp.example_netview.txt" in md, md
    assert "ws-ann_" not in md, md
