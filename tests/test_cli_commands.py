"""The command table: every command runs its area's function, and a command's start
imports that command's code only."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from wizard.frontends.terminal.cli import COMMANDS, HANDLERS, build_parser
from wizard.frontends.terminal.cli.dispatch import LazyCommand

from .conftest import PYTHON, ROOT, cli_env
from .helpers.calls import route_to

AREAS = ("calls", "records", "flows", "desk", "evidence", "halving")
CLI = "wizard.frontends.terminal.cli"


def test_every_command_of_the_parser_has_its_function_in_the_table() -> None:
    commands = build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    assert set(commands) == set(COMMANDS) == set(HANDLERS)
    for name in COMMANDS:
        entry = HANDLERS[name]
        assert isinstance(entry, LazyCommand)
        assert entry.function == f"cmd_{name}"
        assert callable(entry.load())
        assert entry.module in {f"{CLI}.{area}" for area in AREAS} | {
            "wizard.frontends.terminal.reporting"}


LOADED = """
import sys
from wizard.frontends.terminal.cli import main
code = main(sys.argv[1:])
names = [m for m in sys.modules if m.startswith("wizard.frontends.terminal.cli.")]
names += [m for m in ("wizard.service.calls", "wizard.calls.call", "wizard.records.ticket",
                      "wizard.frontends.terminal.reporting", "wizard.handoff.outbox",
                      "httpx") if m in sys.modules]
print(code, *sorted(names))
"""


def _loaded(tmp_path: Path, *args: str) -> list[str]:
    done = subprocess.run([PYTHON, "-c", LOADED, *args], cwd=ROOT, capture_output=True,
                          text=True, env=cli_env(tmp_path / "data"), stdin=subprocess.DEVNULL,
                          timeout=120, check=True)
    return done.stdout.splitlines()[-1].split()


def test_a_command_loads_its_own_module_and_not_the_live_call(tmp_path: Path) -> None:
    out = tmp_path / "schema.json"
    assert _loaded(tmp_path, "schema", "-o", str(out)) == [
        "0", f"{CLI}.common", f"{CLI}.dispatch", f"{CLI}.flows", f"{CLI}.parser"]
    assert out.read_text(encoding="utf-8").startswith("{")


def test_the_call_commands_load_the_call_module(tmp_path: Path) -> None:
    loaded = _loaded(tmp_path, "list")
    assert loaded[0] == "0" and f"{CLI}.calls" in loaded and f"{CLI}.desk" not in loaded
    assert "wizard.frontends.terminal.reporting" not in loaded


def test_an_escalated_call_with_nowhere_to_send_loads_no_hand_off_code(tmp_path: Path
                                                                       ) -> None:
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps({"answers": route_to("fig7_1.escalate_network")}),
                       encoding="utf-8")
    done = subprocess.run([PYTHON, "-c", LOADED, "start", "--answers", str(answers),
                           "--no-checks"], cwd=ROOT, capture_output=True, text=True,
                          env=cli_env(tmp_path / "data"), stdin=subprocess.DEVNULL,
                          timeout=120, check=True)
    assert "Escalate to: " in done.stdout and "Not sent" not in done.stdout
    loaded = done.stdout.splitlines()[-1].split()
    assert loaded[0] == "0" and f"{CLI}.calls" in loaded
    assert "httpx" not in loaded and "wizard.handoff.outbox" not in loaded


REPORT = """
import sys
from wizard.frontends.terminal.cli import main
code = main(["report", "--no-sync", "--practice"])
print("LOADED", code, *sorted(m for m in ("yaml", "pydantic", "wizard.checks")
                              if m in sys.modules))
"""


def test_the_report_takes_its_labels_from_the_cached_flowcharts(tmp_path: Path) -> None:
    # a call stored first (replayed: a practice call), so the report has labels to show
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps({"answers": route_to("fig7_1.escalate_network")}),
                       encoding="utf-8")
    env = cli_env(tmp_path / "data", IPSEC_TRIAGE_CACHE=str(tmp_path / "cache"))
    subprocess.run([PYTHON, "-m", "wizard", "start", "--answers", str(answers),
                    "--no-checks"], cwd=ROOT, env=env, capture_output=True, check=True,
                   timeout=120)
    shutil.rmtree(tmp_path / "cache")
    first, again = (subprocess.run([PYTHON, "-c", REPORT], cwd=ROOT, env=env,
                                   capture_output=True, text=True, check=True, timeout=120
                                   ).stdout.splitlines() for _ in range(2))
    assert first[-1] == "LOADED 0 pydantic wizard.checks yaml"  # the files parsed
    assert again[-1] == "LOADED 0"  # then from the cache: no YAML, no schema, no checks
    assert first[:-1] == again[:-1]  # the same report, labels and all
    assert "1 calls: " in first[1] and "Network connectivity" in "\n".join(first)


def test_python_m_wizard_runs_the_same_command_line(tmp_path: Path) -> None:
    done = subprocess.run([PYTHON, "-m", "wizard", "--version"], cwd=ROOT,
                          capture_output=True, text=True, env=cli_env(tmp_path), timeout=60)
    assert done.returncode == 0 and done.stdout.startswith("ipsec-triage ")
    script = Path(sys.executable).with_name("ipsec-triage")
    if script.is_file():
        done = subprocess.run([str(script), "--version"], cwd=ROOT, capture_output=True,
                              text=True, env=cli_env(tmp_path), timeout=60)
        assert done.returncode == 0 and done.stdout == f"ipsec-triage {_version()}\n"


def _version() -> str:
    from wizard import __version__

    return __version__
