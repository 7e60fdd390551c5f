"""The real command, run as a user would, without a terminal (answers files)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import yaml

from .helpers.calls import route_to
from .helpers.run import PYTHON, CliResult, cli_env, run_cli


def run(args: list[str], data_dir: Path, stdin: str | None = None,
        **env: str) -> CliResult:
    return run_cli(args, cli_env(data_dir, **env), input=stdin)



def write_answers(tmp_path: Path, answers: dict[str, str], **top: object) -> Path:
    path = tmp_path / "answers.yaml"
    path.write_text(yaml.safe_dump({**top, "answers": answers}, sort_keys=False))
    return path


def test_no_terminal_and_no_answers_fails_clearly_instead_of_hanging(data_dir: Path) -> None:
    r = run([], data_dir, stdin="")
    assert r.returncode == 6
    assert r.stderr.strip() == ("ipsec-triage: error: no terminal to ask questions on: use "
                                "--answers FILE to replay a call without prompts")


def test_answers_file_replays_a_whole_call(tmp_path: Path, data_dir: Path) -> None:
    path = write_answers(tmp_path, route_to("fig7_2.escalate_caller"), staffer="Sam")
    r = run(["start", "--answers", str(path), "--no-checks"], data_dir)
    assert r.returncode == 0, r.stderr
    assert "ended: Not fixed (escalated to Tier 2)" in r.stdout
    assert "Escalate to:" in r.stdout
    ticket_md = next((data_dir / "calls").glob("*.ticket.md")).read_text()
    assert "IPsec on the caller's computer" in ticket_md
    assert "Help-desk staffer | Sam" in ticket_md
    listing = run(["list"], data_dir)
    assert "ws-sample01" in listing.stdout and "Not fixed" in listing.stdout
    shown = run(["show", "last", "--json"], data_dir)
    record = json.loads(shown.stdout)
    assert record["ended"]["status"] == "not_fixed"
    assert record["answers"]["fig7_2.domain_account"]["source"] == "answers_file"
    txt = run(["ticket", "last", "--format", "txt"], data_dir)
    assert txt.returncode == 0 and "STATUS: Not fixed" in txt.stdout


def test_json_answers_file_works_too(tmp_path: Path, data_dir: Path) -> None:
    path = tmp_path / "answers.json"
    path.write_text(json.dumps({"answers": route_to("fig7_1.fixed_network")}))
    r = run(["--answers", str(path), "--no-checks"], data_dir)
    assert r.returncode == 0, r.stderr
    assert "Fixed understood" in r.stdout


def test_bad_value_names_file_line_and_step(tmp_path: Path, data_dir: Path) -> None:
    answers = route_to("fig7_1.fixed_network")
    answers["intake.caller_machine"] = "-f"
    path = write_answers(tmp_path, answers)
    r = run(["start", "--answers", str(path)], data_dir)
    assert r.returncode == 4
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    line = next(i for i, text in enumerate(path.read_text().splitlines(), 1)
                if "intake.caller_machine" in text)
    assert lines[0].startswith(f"ipsec-triage: error: {path}:{line}: Invalid answer for "
                               "'intake.caller_machine': \"-f\" looks like a command option")
    assert "nothing was started" in lines[0]
    assert not list((data_dir / "calls").glob("*.jsonl")) if (data_dir / "calls").exists() \
        else True


def test_unknown_step_gets_a_suggestion(tmp_path: Path, data_dir: Path) -> None:
    answers = route_to("fig7_1.fixed_network")
    answers["fig7_1.ping_iq"] = "yes"
    path = write_answers(tmp_path, answers)
    r = run(["start", "--answers", str(path)], data_dir)
    assert r.returncode == 4
    assert "unknown step 'fig7_1.ping_iq' (did you mean 'fig7_1.ping_ip'?)" in r.stderr


def test_missing_answer_is_named_before_the_call_starts(tmp_path: Path,
                                                        data_dir: Path) -> None:
    answers = route_to("fig7_1.fixed_network")
    del answers["intake.tried"]
    path = write_answers(tmp_path, answers)
    r = run(["start", "--answers", str(path)], data_dir)
    assert r.returncode == 4
    assert "no answer for step 'intake.tried'" in r.stderr


def test_unanswered_check_left_open_and_finished_by_resume(tmp_path: Path,
                                                           data_dir: Path) -> None:
    answers = route_to("fig7_1.fixed_network")
    partial = {k: v for k, v in answers.items() if k != "fig7_1.ping_ip"}
    path = write_answers(tmp_path, partial)
    r = run(["start", "--answers", str(path), "--no-checks"], data_dir)
    assert r.returncode == 4
    assert "no answer for step 'fig7_1.ping_ip'" in r.stderr
    assert "is kept open" in r.stderr
    listing = run(["list", "--open"], data_dir)
    assert "open" in listing.stdout
    rest = write_answers(tmp_path, {"fig7_1.ping_ip": "no", **{
        k: v for k, v in answers.items() if k.startswith("fig7_1.")}})
    done = run(["resume", "--answers", str(rest), "--no-checks"], data_dir)
    assert done.returncode == 0, done.stderr
    assert "Fixed understood" in done.stdout
    again = run(["resume", "last"], data_dir, stdin="")
    assert again.returncode in (5, 6)


def test_each_answer_names_the_staffer_who_gave_it_and_show_says_who_else_did(
        tmp_path: Path, data_dir: Path) -> None:
    answers = route_to("fig7_1.fixed_network")
    partial = {k: v for k, v in answers.items() if k != "fig7_1.ping_ip"}
    r = run(["start", "--staffer", "ana", "--answers", str(write_answers(tmp_path, partial)),
             "--no-checks"], data_dir)
    assert r.returncode == 4, r.stderr
    rest = {"fig7_1.ping_ip": "no", **{k: v for k, v in answers.items()
                                       if k.startswith("fig7_1.")}}
    done = run(["resume", "--staffer", "bo", "--answers",
                str(write_answers(tmp_path, rest)), "--no-checks"], data_dir)
    assert done.returncode == 0, done.stderr
    [journal] = (data_dir / "calls").glob("*.jsonl")
    events = [json.loads(line) for line in journal.read_text().splitlines()]
    by = {e["key"]: e["by"] for e in events if e["event"] == "answer"}
    assert by["intake.caller_name"] == "ana" and by["fig7_1.ping_ip"] == "bo"
    assert [e["by"] for e in events if e["event"] == "end"] == ["bo"]
    shown = run(["show", "last"], data_dir)
    assert shown.returncode == 0, shown.stderr
    assert "(by bo)" in shown.stdout and "(by ana)" not in shown.stdout


def test_unknown_call_and_bad_usage(data_dir: Path) -> None:
    r = run(["show", "nope"], data_dir)
    assert r.returncode == 5 and "no call 'nope'" in r.stderr
    r = run(["ticket"], data_dir)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    r = run(["--org", "/nonexistent/org.yaml", "--answers", "x.yaml"], data_dir)
    assert r.returncode in (4, 7) and "Traceback" not in r.stderr


def test_render_mermaid_with_call_route(tmp_path: Path, data_dir: Path) -> None:
    path = write_answers(tmp_path, route_to("fig7_3.escalate_logon"))
    assert run(["start", "--answers", str(path), "--no-checks"], data_dir).returncode == 0
    r = run(["render", "fig7_3", "--call", "last"], data_dir)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("flowchart TD")
    assert "class " in r.stdout and "fig7_3__escalate_logon" in r.stdout
    assert "linkStyle" in r.stdout
    r = run(["render", "fig9"], data_dir)
    assert r.returncode == 2 and "no chart 'fig9'" in r.stderr


def test_schema_is_json_schema(data_dir: Path) -> None:
    r = run(["schema"], data_dir)
    schema = json.loads(r.stdout)
    assert schema["title"] == "Flowchart"
    assert "nodes" in schema["properties"]


def test_version_and_help(data_dir: Path) -> None:
    assert run(["--version"], data_dir).stdout.startswith("ipsec-triage ")
    helptext = run(["--help"], data_dir).stdout
    for cmd in ("start", "resume", "list", "show", "ticket", "lint", "render"):
        assert cmd in helptext


def test_run_cli_answers_as_the_real_program_does(data_dir: Path) -> None:
    """The in-process runner most tests use gives what ``python -m wizard`` gives."""
    for args in (["lint"], ["show", "nosuchcall"], ["list", "--format", "nope"]):
        real = subprocess.run([PYTHON, "-m", "wizard", *args], capture_output=True, text=True,
                              stdin=subprocess.DEVNULL, env=cli_env(data_dir), timeout=120)
        here = run_cli(args, cli_env(data_dir))
        assert (here.returncode, here.stdout, here.stderr) == \
            (real.returncode, real.stdout, real.stderr), args
