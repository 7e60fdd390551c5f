"""Helpers for tests that drive calls through the public API."""

from __future__ import annotations

import re
from pathlib import Path

from wizard.calls.call import Call
from wizard.calls.engine import Engine, Step
from wizard.calls.journal import JournalFolder
from wizard.calls.replay import AnswersFile, run
from wizard.config.organization import OrgConfig
from wizard.flows.flowset import FlowSet, load_flowset
from wizard.records.ending import write_tickets_then_end

ROOT = Path(__file__).resolve().parents[2]

_FLOWSET: FlowSet | None = None


def shipped() -> FlowSet:
    global _FLOWSET
    if _FLOWSET is None:
        _FLOWSET = load_flowset(ROOT / "flowcharts")
    return _FLOWSET


HOLD_LOCK = (
    "import sys\n"
    "from pathlib import Path\n"
    "from wizard.calls.journal import JournalFolder\n"
    "lock = JournalFolder(Path(sys.argv[1])).lock(sys.argv[2])\n"
    "print('held', flush=True)\n"
    "sys.stdin.readline()\n"
    "lock.release()\n"
)
"""A program that takes a call's one-writer lock and holds it until told."""


_ROUTES: list[tuple[dict[str, str], Step]] | None = None


def routes() -> list[tuple[dict[str, str], Step]]:
    """Every route of the shipped flowcharts, as ``Engine.paths()`` gives them, worked out
    once per test run (several modules go through all of them). Do not change them:
    ``route_to`` hands out copies."""
    global _ROUTES
    if _ROUTES is None:
        _ROUTES = list(Engine(shipped()).paths())
    return _ROUTES


def route_to(end: str) -> dict[str, str]:
    """The answers of the first route that ends at ``end`` (a copy). From the routes
    already worked out, if they are; else by walking only as far as that route."""
    found = _ROUTES if _ROUTES is not None else Engine(shipped()).paths()
    return dict(next(a for a, s in found if s.visit.node_key == end))


def replay(answers: dict[str, str], data_dir: Path, *, org: OrgConfig | None = None,
           flowset: FlowSet | None = None, notes: dict[str, list[str]] | None = None,
           durable: bool = True) -> tuple[Call, Step, dict[str, str]]:
    """Run a whole call from answers (no automatic checks); return call, end, tickets.

    ``durable=False`` writes the journal and tickets without fsync (for bulk replays)."""
    fs = flowset or shipped()
    call = Call.start(flowset=fs, journals=JournalFolder(data_dir, durable=durable),
                      org=org or OrgConfig(),
                      staffer="tester", mode="answers_file")
    doc = AnswersFile(Path("answers.yaml"), dict(answers), notes or {})
    try:
        step = run(call, doc, probes=False)
        paths = write_tickets_then_end(call, step)
    finally:  # the call's lock is let go as when a program ends, even on a failure
        call.close()
    tickets = {fmt: Path(p).read_text(encoding="utf-8") for fmt, p in paths.items()}
    return call, step, tickets


def normalize(text: str) -> str:
    """Blank out what changes from run to run (call ids, times, file digests)."""
    text = re.sub(r"\d{8}-\d{6}-[0-9a-f]{4}", "CALL-ID", text)
    text = re.sub(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}", "TIME", text)
    return re.sub(r"\(([0-9a-f]{12})\)", "(DIGEST)", text)


def start_call_by_command(tmp_path: Path, env: dict[str, str],
                          end: str = "fig7_2.escalate_caller") -> None:
    """End a call at ``end`` with the real ``start --answers`` command (no checks)."""
    import yaml

    from .run import run_cli

    (tmp_path / "a.yaml").write_text(yaml.safe_dump({"answers": route_to(end)}))
    r = run_cli(["start", "--answers", str(tmp_path / "a.yaml"), "--no-checks"], env)
    assert r.returncode == 0, r.stderr
