"""Driving the real program in a pseudo-terminal, and reading the screen the staffer sees
(a pyte terminal emulator of the same size)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pexpect
import pyte

from wizard.calls.call import Call
from wizard.calls.engine import Engine, StepKind
from wizard.calls.journal import JournalFolder
from wizard.config.organization import OrgConfig

from .calls import route_to, shipped  # noqa: F401 - route_to for the terminal tests
from .run import PYTHON, ROOT, cli_env, pty_spawn

_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07]*\x07|\x1b[()][0-9A-Za-z]|\x1b[=>78]")

ENTER = "\r"
CTRL_U = "\x15"
CTRL_C = "\x03"
ESC = "\x1b"
HOME = "\x1b[H"
PGUP = "\x1b[5~"


class Terminal:
    """A child process in a pseudo-terminal of ``rows`` x ``cols``, with its screen."""

    def __init__(self, data_dir: Path, *args: str, rows: int = 45, cols: int = 140,
                 program: list[str] | None = None, **env: str) -> None:
        cmd = program or [PYTHON, "-m", "wizard"]
        self.child = pty_spawn(cmd[0], [*cmd[1:], *args],
                                env=cli_env(data_dir, PROMPT_TOOLKIT_NO_CPR="1",
                                            COLUMNS=str(cols), LINES=str(rows), **env),
                                cwd=str(ROOT), encoding="utf-8", timeout=30,
                                dimensions=(rows, cols))
        self.screen = pyte.HistoryScreen(cols, rows, history=2000)
        self.stream = pyte.Stream(self.screen)
        self.seen = ""

    def expect(self, text: str) -> None:
        self.child.expect_exact(text)
        self._feed(self.child.before + self.child.after)

    def _feed(self, data: str) -> None:
        self.seen += data
        self.stream.feed(data)

    def plain(self) -> str:
        """Everything printed so far, without terminal control codes, spaces collapsed."""
        text = _ANSI.sub("", self.seen).replace("\r", "")
        return " ".join(text.replace("│", " ").split())

    def send(self, keys: str) -> None:
        self.child.send(keys)

    def lines(self) -> list[str]:
        """What is on the screen now, one string per row."""
        return [line.rstrip() for line in self.screen.display]

    def all_lines(self) -> list[str]:
        """Every row printed so far: those scrolled off the top, then the screen."""
        cols = self.screen.columns
        above = ["".join(row[x].data for x in range(cols)).rstrip()
                 for row in self.screen.history.top]
        return above + self.lines()

    def wait_for(self, text: str) -> list[str]:
        """The screen once ``text`` is on it and the output has stopped; a later
        :meth:`expect` looks only at what comes after."""
        start = len(self.seen)
        while text not in _ANSI.sub("", self.seen[start:]):
            self._feed(self.child.read_nonblocking(65536, timeout=30))
        return self.settle()

    def settle(self) -> list[str]:
        """Read whatever is still coming, then the screen."""
        # what the last match left in pexpect's buffer, then what comes: read once (an
        # expect() that times out keeps it, and the next one would feed it again)
        self._feed(self.child.buffer)
        self.child.buffer = ""
        self.child._before = self.child.buffer_type()  # the next match's "before" too
        while True:
            try:
                self._feed(self.child.read_nonblocking(65536, timeout=0.7))
            except (pexpect.TIMEOUT, pexpect.EOF):
                return self.lines()

    def wait_end(self) -> int:
        self.child.expect(pexpect.EOF)
        self._feed(self.child.before)
        self.child.close()
        return int(self.child.exitstatus if self.child.exitstatus is not None else -1)



def open_call(data_dir: Path, answers: dict[str, str], *, stop_at: str | None = None,
              leave: int = 0, runs_on: str = "helpdesk") -> str:
    """Record a call answered from ``answers`` (whatever order the flowcharts ask in),
    stopping at step ``stop_at`` or ``leave`` questions before the end; it stays open."""
    fs = shipped()
    call = Call.start(flowset=fs, journals=JournalFolder(data_dir), org=OrgConfig(),
                      staffer="tester", runs_on=runs_on, checks=False)
    route: list[str] = []
    while True:
        step = call.step()
        if step.kind is StepKind.END:
            break
        if step.visit.key == stop_at:
            break
        route.append(step.visit.key)
        call.answer(step.visit, answers[step.visit.key])
    call.close()
    if leave:
        # take back the last answers: record the call again, without them
        call_id = call.call_id
        path = JournalFolder(data_dir).path(call_id)
        path.unlink()
        keep = route[:-leave]
        return open_call(data_dir, {k: answers[k] for k in keep},
                         stop_at=route[-leave], runs_on=runs_on)
    return call.call_id


def prompt_of(node_key: str, answers: dict[str, str]) -> str:
    """The start of the question the staffer sees at ``node_key`` on the route of
    ``answers`` (the flowcharts' own words, so the tests follow their edits)."""
    from wizard.base.textrender import render

    fs = shipped()
    engine = Engine(fs)
    step = engine.step({k: v for k, v in answers.items()
                        if k != node_key}, {"staffer": "tester", "call_id": "x",
                                            "test_servers": ""})
    while step.visit.node_key != node_key:  # pragma: no cover - the route must pass it
        raise AssertionError(f"{node_key} is not the next question ({step.visit.key})")
    text = " ".join(render(fs.node(node_key).text, step.context).split())
    return text[:24]


def question(node_key: str, context: dict[str, str] | None = None) -> str:
    """The whole question the staffer sees at ``node_key``, spaces collapsed."""
    from wizard.base.textrender import render

    text = render(shipped().node(node_key).text, context or {})
    return " ".join(text.split())


def broken_words(lines: list[str], cols: int, words: set[str]) -> list[tuple[str, str]]:
    """Rows cut inside a word: a full row whose last piece and the next row's first
    piece make one of ``words``."""
    return [(a, b) for a, b in zip(lines, lines[1:], strict=False)
            if len(a) >= cols and a.split() and b.split()
            and a.split()[-1] + b.split()[0] in words]


def records(data_dir: Path) -> list[dict[str, object]]:
    out = []
    for path in sorted((data_dir / "calls").glob("*.jsonl")):
        out += [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return out
