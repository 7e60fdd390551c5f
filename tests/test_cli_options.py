"""The command line as a user types it: global options anywhere, list formats, exit
codes, which flowcharts are used, shell completion."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import subprocess
from pathlib import Path

import pexpect
import pytest

from .helpers.calls import route_to, shipped
from .helpers.run import FLOWCHARTS, PYTHON, ROOT, CliResult, cli_env, pty_spawn, run_cli
from .helpers.terminal import open_call

SERVER = {"intake.server_name": "SRV-Files01"}


def run(args: list[str], data_dir: Path, **env: str) -> CliResult:
    return run_cli([*args], cli_env(data_dir, **env))


def reach_call(data_dir: Path) -> str:
    answers = route_to("fig7_1.escalate_network")
    answers.update({"intake.caller_name": "Ann Caller", "intake.caller_machine": "WS-Ann",
                    "intake.target": "fs01"})
    return open_call(data_dir, answers, stop_at="fig7_1.ping_ip")


def server_call(data_dir: Path) -> str:
    """An open call about a server that lost its network (the server's name is asked in
    place of the caller's computer)."""
    answers = _server_answers()
    answers.update({"intake.caller_name": "Sid Server"})
    return open_call(data_dir, answers, stop_at=_first_server_question())


def _server_answers() -> dict[str, str]:
    from wizard.calls.engine import Engine

    from .helpers.calls import shipped

    answers, _step = next((a, s) for a, s in Engine(shipped()).paths()
                          if s.visit.chart == "server_restart")
    answers = dict(answers)
    for key in list(answers):
        if key.endswith(".server_name"):
            answers[key] = "SRV-Files01"
    return answers


def _first_server_question() -> str:
    answers = _server_answers()
    return next(k for k in answers if k.startswith("server_restart."))


@pytest.mark.parametrize("where", ["before", "after"])
def test_global_options_before_or_after_the_command(tmp_path: Path, data_dir: Path,
                                                    where: str) -> None:
    other = tmp_path / "other-data"
    reach_call(other)
    args = ["--data-dir", str(other), "list"] if where == "before" \
        else ["list", "--data-dir", str(other)]
    r = run(args, data_dir)
    assert r.returncode == 0, r.stderr
    assert "Ann Caller" in r.stdout and "WS-Ann" in r.stdout


def test_flowcharts_org_and_templates_before_or_after_the_command(
        tmp_path: Path, data_dir: Path) -> None:
    import yaml

    org = tmp_path / "org.yaml"
    org.write_text(f"flowcharts_dir: {FLOWCHARTS}\n")
    templates = tmp_path / "templates"
    shutil.copytree(ROOT / "templates", templates)
    txt = templates / "ticket.txt.j2"
    txt.write_text("OUR DESK'S TICKET\n" + txt.read_text())
    answers = tmp_path / "a.yaml"
    answers.write_text(yaml.safe_dump({"answers": route_to("fig7_1.escalate_network")}))
    call = ["start", "--answers", str(answers), "--no-checks", "--no-send"]
    for args, source in (
            (["--org", str(org), "--templates", str(templates), *call],
             "flowcharts_dir in the organization file"),
            ([*call, "--org", str(org), "--templates", str(templates),
              "--flowcharts", str(FLOWCHARTS)], "--flowcharts")):
        r = run(args, data_dir)
        assert r.returncode == 0, r.stderr
        assert f"Flowcharts: {FLOWCHARTS} ({source})" in r.stdout.splitlines()[0], r.stdout
        ticket = re.search(r"Ticket \(txt\): (\S+)", r.stdout)
        assert ticket, r.stdout
        assert Path(ticket.group(1)).read_text().startswith("OUR DESK'S TICKET")


def test_global_option_before_the_default_command(tmp_path: Path, data_dir: Path) -> None:
    r = run(["--data-dir", str(tmp_path / "d")], data_dir)
    assert r.returncode == 6  # 'start' ran (and needs a terminal), the option was taken
    assert "no terminal" in r.stderr


def test_list_shows_caller_and_computer_for_server_calls_too(data_dir: Path) -> None:
    reach_call(data_dir)
    server_call(data_dir)
    r = run(["list"], data_dir)
    assert r.returncode == 0, r.stderr
    assert "Sid Server" in r.stdout and "SRV-Files01" in r.stdout
    assert "Ann Caller" in r.stdout and "WS-Ann" in r.stdout


def test_list_formats(data_dir: Path) -> None:
    call_id = reach_call(data_dir)
    rows = json.loads(run(["list", "--format", "json"], data_dir).stdout)
    assert rows[0]["call_id"] == call_id and rows[0]["caller"] == "Ann Caller"
    assert rows[0]["computer"] == "WS-Ann" and rows[0]["status"] == "open"
    table = list(csv.DictReader(io.StringIO(run(["list", "--format", "csv"],
                                                data_dir).stdout)))
    assert table[0]["call_id"] == call_id and table[0]["target"] == "fs01"


def test_list_open_with_none_says_so(data_dir: Path) -> None:
    r = run(["list", "--open"], data_dir)
    assert r.returncode == 0 and r.stdout.startswith("No open calls in ")
    assert run(["list", "--open", "--format", "json"], data_dir).stdout.strip() == "[]"


def test_resume_of_an_unknown_call_is_5_without_a_terminal(data_dir: Path) -> None:
    r = run(["resume", "nosuchcall"], data_dir)
    assert r.returncode == 5
    assert "no call 'nosuchcall'" in r.stderr


def test_resume_of_an_unknown_call_is_5_in_a_terminal(data_dir: Path) -> None:
    child = pty_spawn(PYTHON, ["-m", "wizard", "resume", "nosuchcall"],
                       env=cli_env(data_dir), cwd=str(ROOT), encoding="utf-8", timeout=30)
    child.expect_exact("no call 'nosuchcall'")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 5


def test_ticket_last_skips_calls_without_a_route(tmp_path: Path, data_dir: Path) -> None:
    import yaml

    answers = route_to("fig7_1.escalate_network")
    path = tmp_path / "a.yaml"
    path.write_text(yaml.safe_dump({"answers": answers}))
    started = run(["start", "--answers", str(path), "--no-checks"], data_dir)
    assert started.returncode == 0, started.stderr
    # an answers-file call names its flowcharts too
    assert "Flowcharts: " in started.stdout.splitlines()[0]
    assert "(the shipped set); set " in started.stdout.splitlines()[0]
    reach_call(data_dir)  # newer, still open: no ticket
    r = run(["ticket", "last"], data_dir)
    assert r.returncode == 0, r.stderr
    assert "Not fixed" in r.stdout


def test_the_flowcharts_rule(tmp_path: Path, data_dir: Path) -> None:
    copy = tmp_path / "ours"
    shutil.copytree(FLOWCHARTS, copy)
    env_copy = tmp_path / "env"
    shutil.copytree(FLOWCHARTS, env_copy)
    org = tmp_path / "org.yaml"
    org.write_text("flowcharts_dir: ours\n")
    # the organization file's folder, relative to the file
    r = run(["lint", "--org", str(org)], data_dir)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.startswith(f"Flowcharts: {copy} (flowcharts_dir in the organization file)")
    # $IPSEC_TRIAGE_FLOWCHARTS wins over it
    r = run(["lint", "--org", str(org)], data_dir, IPSEC_TRIAGE_FLOWCHARTS=str(env_copy))
    assert r.stdout.startswith(f"Flowcharts: {env_copy} ($IPSEC_TRIAGE_FLOWCHARTS)")
    # and the option wins over both
    r = run(["--flowcharts", str(FLOWCHARTS), "lint", "--org", str(org)], data_dir,
            IPSEC_TRIAGE_FLOWCHARTS=str(env_copy))
    assert r.stdout.startswith(f"Flowcharts: {FLOWCHARTS} (--flowcharts)")
    # an edit of the chosen set is seen (its set digest changes)
    before = r.stdout.split("set ", 1)[1].split(":", 1)[0]
    intake = copy / "intake.yaml"
    intake.write_text(re.sub(r'^version: "[^"]*"', 'version: "9.9"', intake.read_text(),
                             count=1, flags=re.MULTILINE))
    r = run(["lint", "--org", str(org)], data_dir)
    assert "intake 9.9" in r.stdout.splitlines()[0]
    assert r.stdout.split("set ", 1)[1].split(":", 1)[0] != before


def test_the_call_banner_names_the_flowcharts(tmp_path: Path, data_dir: Path) -> None:
    child = pty_spawn(PYTHON, ["-m", "wizard", "start", "--flowcharts", str(FLOWCHARTS)],
                       env=cli_env(data_dir, PROMPT_TOOLKIT_NO_CPR="1"), cwd=str(ROOT),
                       encoding="utf-8", timeout=30, dimensions=(45, 200))
    child.expect_exact(f"Flowcharts: {FLOWCHARTS} (--flowcharts); set ")
    child.expect_exact(f"intake {shipped().charts['intake'].version}")
    child.expect_exact("What is the call about?")
    child.sendcontrol("c")
    child.expect(pexpect.EOF)


def test_bash_completion(tmp_path: Path, data_dir: Path) -> None:
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("no bash")
    script = tmp_path / "bin" / "ipsec-triage"
    script.parent.mkdir()
    script.write_text(f"#!/bin/sh\nexec {PYTHON} -m wizard \"$@\"\n")
    script.chmod(0o755)
    env = cli_env(data_dir, PATH=f"{script.parent}:/usr/bin:/bin", PS1="$ ", HOME=str(tmp_path))
    child = pty_spawn(bash, ["--norc", "--noprofile", "-i"], env=env, cwd=str(ROOT),
                       encoding="utf-8", timeout=30, dimensions=(40, 200))
    child.expect_exact("$ ")
    child.sendline('eval "$(ipsec-triage completion bash)"; echo loaded')
    child.expect_exact("loaded")
    child.expect_exact("$ ")
    child.send("ipsec-triage lis\t")
    child.expect_exact("ipsec-triage list")
    child.send(" --for\t")
    child.expect_exact("--format")
    child.send("\x15")  # clear the line
    child.sendline("exit")
    child.expect(pexpect.EOF)


def test_zsh_completion(tmp_path: Path, data_dir: Path) -> None:
    """The zsh script, and the program's answer to what that script asks (zsh itself
    may be missing here: the request is made as the script makes it)."""
    script = run(["completion", "zsh"], data_dir)
    assert script.returncode == 0 and script.stdout.startswith("#compdef ipsec-triage")
    assert '_ARGCOMPLETE_SHELL="zsh"' in script.stdout
    answer = tmp_path / "completions"
    line = "ipsec-triage list --for"
    # a real process: argcomplete ends the process it answers in
    r = subprocess.run([PYTHON, "-m", "wizard"], capture_output=True, text=True,
                       stdin=subprocess.DEVNULL, timeout=120, env=cli_env(
                           data_dir, COMP_LINE=line, COMP_POINT=str(len(line)),
                           _ARGCOMPLETE="1", _ARGCOMPLETE_SHELL="zsh",
                           _ARGCOMPLETE_SUPPRESS_SPACE="1",
                           _ARGCOMPLETE_STDOUT_FILENAME=str(answer)))
    assert r.returncode == 0, r.stderr
    offered = answer.read_text().split("\v")
    assert [o for o in offered if o.startswith("--format:")], offered  # with its help
