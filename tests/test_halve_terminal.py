"""Guided service halving through the real prompts: rounds, quit between restarts,
resume, and the culprit named."""

from __future__ import annotations

import json
from pathlib import Path

import pexpect

from wizard.halving.search import Round, next_round

from .helpers.run import PYTHON, ROOT, cli_env, pty_spawn

SERVICES = ["Alerter", "Application Layer Gateway Service", "Automatic Updates",
            "Computer Browser", "DHCP Client", "DNS Client", "DNS Server",
            "Error Reporting Service", "Event Log", "IPSEC Services", "Net Logon",
            "Plug and Play", "Print Spooler", "Remote Registry", "Server", "Workstation"]
CULPRIT = "IPSEC Services"


def spawn(data_dir: Path, *args: str) -> pexpect.spawn:
    return pty_spawn(PYTHON, ["-m", "wizard", "halve", *args], cwd=str(ROOT),
                      env=cli_env(data_dir, PROMPT_TOOLKIT_NO_CPR="1"),
                      encoding="utf-8", timeout=30, dimensions=(60, 200))


def play_rounds(child: pexpect.spawn, results: list[bool], stop_after: int | None) -> bool:
    """Answer rounds as the server would behave; True when the verdict was shown."""
    played = 0
    while True:
        step = next_round(SERVICES, results)
        if not isinstance(step, Round):
            child.expect_exact("Culprit")
            child.expect_exact(CULPRIT)
            return True
        child.expect_exact(f"enable these {len(step.enable)} service(s)")
        for name in step.enable:
            child.expect_exact(name)  # listed in order
        assert "Error Reporting Service" not in step.enable
        child.expect_exact(f"After restart {step.number}:")
        if stop_after is not None and played == stop_after:
            child.send("q\r")
            return False
        failed = CULPRIT in step.enable
        child.send("1\r" if failed else "2\r")
        results.append(failed)
        played += 1


def test_halving_finds_the_service_across_a_quit_and_resume(tmp_path: Path,
                                                            data_dir: Path) -> None:
    services = tmp_path / "services.txt"
    services.write_text("# pasted from msconfig\n" + "\n".join(SERVICES) + "\n")
    child = spawn(data_dir, "--services", str(services))
    child.expect_exact("Kept apart (always disabled, test alone at the end): "
                       "Error Reporting Service")
    results: list[bool] = []
    assert not play_rounds(child, results, stop_after=2)
    child.expect_exact("ipsec-triage halve --resume")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0

    child = spawn(data_dir, "--resume")
    assert play_rounds(child, results, stop_after=None)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    (journal,) = (data_dir / "halving").glob("*.jsonl")
    events = [json.loads(x) for x in journal.read_text().splitlines()]
    assert events[-1]["event"] == "end" and events[-1]["culprits"] == [CULPRIT]
    assert len([e for e in events if e["event"] == "result"]) == len(results) <= 6


def test_undo_a_mistyped_result(tmp_path: Path, data_dir: Path) -> None:
    services = tmp_path / "services.txt"
    services.write_text("\n".join(SERVICES))
    child = spawn(data_dir, "--services", str(services))
    child.expect_exact("After restart 1:")
    child.send("2\r")  # wrong: with everything enabled the problem must occur
    child.expect_exact("did not occur with every service enabled")
    child.expect_exact("What now?")
    child.send("\r")  # undo
    child.expect_exact("After restart 1:")
    child.send("q\r")
    child.expect(pexpect.EOF)


def test_halve_needs_a_service_list(data_dir: Path) -> None:
    child = spawn(data_dir)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 2
    assert "give the services: --services FILE, --from-system, or --resume" in child.before
