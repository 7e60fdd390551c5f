"""Commands as the staffer sees them in a real terminal: always in a box, and a line wider
than the box is broken at its spaces only (the box says it is typed as one line), never
inside a word, at 80 or at 120 columns."""

from __future__ import annotations

from pathlib import Path

import pytest

from wizard.frontends.terminal.prompts import CONTINUED, command_rows

from .helpers.calls import shipped
from .helpers.terminal import CTRL_C, Terminal, open_call

#: Windows 10/11: the policy refresh does not help, the log step (three steps, the wevtutil
#: query of 150 characters among them)
CALLER_LOGS = {
    "intake.call_type": "reach", "intake.caller_machine": "ws-ann",
    "intake.windows": "win10_11", "intake.target": "fs01.corp.example",
    "intake.target_ip": "10.1.2.3", "intake.address_type": "wired",
    "intake.tried": "open the team share", "intake.scope": "caller",
    "intake.extent": "one_server", "intake.severity": "low", "intake.caller_name": "Ann",
    "intake.details": "later", "fig7_1.ping_ip": "negotiating",
    "fig7_2.policy_version": "no", "fig7_2.policy_refresh": "done",
    "fig7_2.policy_fixed": "no", "fig7_2.domain_account": "yes",
    "fig7_2.secure_channel": "ok", "fig7_2.collect_caller": "yes",
}
#: Windows Server 2019: the services run; the Security events question (170 characters)
SERVER_EVENTS = {
    "intake.call_type": "server_no_network", "intake.server_name": "dns01",
    "intake.server_windows": "server2016", "intake.server_scope": "several_users",
    "intake.extent": "one_server", "intake.severity": "high",
    "intake.caller_name": "Sam", "intake.details": "later",
    "server_restart.restart_pattern": "every", "server_restart.safe_mode": "yes",
    "server_restart.wfp_services": "running",
}


def boxed_command(lines: list[str], cols: int) -> list[str]:
    """The rows inside the "Have the caller type" box on the screen."""
    top = max(i for i, line in enumerate(lines) if "Have the caller type" in line)
    assert lines[top].lstrip().startswith("╭"), "\n".join(lines)
    rows = []
    for line in lines[top + 1:]:
        if line.lstrip().startswith("╰"):
            return rows
        assert line.lstrip().startswith("│") and line.rstrip().endswith("│"), line
        assert len(line) <= cols, line
        inside = line.strip().strip("│")
        assert inside.startswith(" "), line  # the box's padding
        rows.append(inside[1:].rstrip())
    raise AssertionError("the box is not closed:\n" + "\n".join(lines))


@pytest.mark.parametrize("cols", [80, 120])
@pytest.mark.parametrize(("answers", "stop_at", "windows"), [
    (CALLER_LOGS, "fig7_2.logs_caller", "vista_later"),
    (SERVER_EVENTS, "server_restart.ipsec_events", None)])
def test_a_long_command_is_boxed_and_broken_only_at_spaces(
        answers: dict[str, str], stop_at: str, windows: str | None, cols: int,
        data_dir: Path) -> None:
    node = shipped().node(stop_at)
    source = (node.commands[windows] if windows else node.command or "")  # type: ignore[index]
    steps = [" ".join(line.split()) for line in source.splitlines()]
    command = " ".join(source.split())
    assert max(map(len, steps)) > cols  # the case: a line cannot fit on one row
    call_id = open_call(data_dir, answers, stop_at=stop_at)
    t = Terminal(data_dir, "resume", call_id, "--no-checks", rows=40, cols=cols)
    lines = t.wait_for("(one line)" if len(steps) == 1 else
                       "(one line per step; indented rows go on)")
    raw = boxed_command(t.all_lines(), cols)
    rows = [r.strip() for r in raw]
    assert len(rows) > 1
    # typed with a space at each row's end, it is the command: nothing cut inside a word
    assert " ".join(rows) == command, rows
    if len(steps) > 1:  # each step starts a row of its own; the rows that go on indented
        firsts = [r for r in raw if not r.startswith(CONTINUED)]
        assert len(firsts) == len(steps) and len(raw) > len(steps), raw
        assert all(step.startswith(first) for step, first in zip(steps, firsts, strict=True))
    t.send(CTRL_C)
    assert t.wait_end() == 130
    assert lines


def test_every_shipped_command_fits_a_box_at_80_and_120_columns() -> None:
    from wizard.base.textrender import render, variables

    fs = shipped()
    for key in fs.node_keys():
        node = fs.node(key)
        for source in [node.command] if node.command else list((node.commands or {}).values()):
            text = render(source, {n: "x" for n in variables(source)} | {"windows": "x"})
            for cols in (80, 120):
                rows, broken = command_rows(text, cols - 4)
                assert rows is not None, (key, cols, text)
                assert all(len(r) <= cols - 4 for r in rows), (key, cols)
                assert broken == any(len(line) > cols - 4 for line in text.splitlines())
                assert " ".join(r.strip() for r in rows) == " ".join(text.split()), (key, cols)


def test_a_word_wider_than_the_terminal_is_not_boxed() -> None:
    assert command_rows("x" * 90, 76) == (None, False)
    assert command_rows("ipconfig /all", 76) == (["ipconfig /all"], False)
