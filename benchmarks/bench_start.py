"""The fixed start of the commands that do little work, each run whole in a fresh process
(wall and processor time, median of ``--runs``), against the least any program must do
for the same result, also in a fresh process:

* ``report`` (``--format table --no-sync``) over ``--calls`` stored calls on SQLite
  (generated as in ``desk.py``); reference: a bare Python process running the report's
  SQL over the summary tables through ``sqlite3`` alone, fetching every row.
* An answers-file call: ``start --answers FILE --no-checks --no-send`` along an 11-step
  route of the shipped flowcharts to its end (journal and tickets written); reference: a
  bare Python process writing the same journal lines, each flushed and synced to disk
  as the journal does.
* ``collect --no-changes``: the evidence packet of this computer; reference: the
  commands it ran (its manifest) and the files it copied, run by ``/bin/sh`` into a
  folder.

    python -m benchmarks.bench_start [--calls 100000] [--runs N] [--tiny]
"""

from __future__ import annotations

import json
import os
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from benchmarks.common import ROOT, fmt, parser

ROUTE_STEPS = 11

WRITE_JOURNAL = r"""
import os, sys
lines = open(sys.argv[1], encoding="utf-8").read().splitlines(keepends=True)
fd = os.open(sys.argv[2], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
for line in lines:
    os.write(fd, line.encode("utf-8"))
    os.fsync(fd)
os.close(fd)
"""


def timed(argv: list[str], env: dict[str, str], runs: int,
          before: object = None) -> tuple[float, float]:
    """Median wall and processor seconds of ``argv`` in a fresh process (``before``, if
    given, is called before each run, untimed)."""
    walls, cpus = [], []
    for _ in range(max(1, runs)):
        if callable(before):
            before()
        used = resource.getrusage(resource.RUSAGE_CHILDREN)
        began = time.perf_counter()
        done = subprocess.run(argv, env=env, cwd=ROOT, stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        walls.append(time.perf_counter() - began)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime + after.ru_stime - used.ru_utime - used.ru_stime)
        if done.returncode:
            raise SystemExit(f"{shlex.join(argv)} exited {done.returncode}: "
                             f"{done.stderr.decode(errors='replace')[-500:]}")
    return statistics.median(walls), statistics.median(cpus)


def show(label: str, ours: tuple[float, float], ref: tuple[float, float],
         ref_label: str) -> None:
    for what, a, b in (("", ours[0], ref[0]), (", processor time", ours[1], ref[1])):
        ratio = a / b if b > 0 else float("inf")
        print(f"{label + what:44} ours {fmt(a):>9}  reference {fmt(b):>9} ({ref_label})  "
              f"ratio {ratio:5.2f}  [goal: at most 2x]", flush=True)


def wizard(*args: str) -> list[str]:
    return [sys.executable, "-m", "wizard", *args]


def bench_report(tmp: Path, env: dict[str, str], calls: int, runs: int) -> None:
    from benchmarks.bench_report import DIRECT, statements
    from benchmarks.desk import fill
    from wizard.records.store import DatabaseStore

    db = tmp / "store.sqlite"
    url = f"sqlite:///{db}"
    fill(url, calls)
    store = DatabaseStore(url)
    sql = tmp / "summary.json"
    sql.write_text(json.dumps(statements(store)), encoding="utf-8")
    store.close()
    env = dict(env, IPSEC_TRIAGE_STORE=url)
    ours = timed(wizard("report", "--no-sync"), env, runs)
    ref = timed([sys.executable, "-c", DIRECT, "sqlite", str(db), str(sql)], env, runs)
    show(f"report, {calls:,} calls (SQLite)", ours, ref, "its summary SQL, bare process")


def route() -> dict[str, str]:
    """The answers of the first route of the shipped flowcharts with 11 answers."""
    from wizard.calls.engine import Engine
    from wizard.flows.flowset import load_flowset

    for answers, _ in Engine(load_flowset(ROOT / "flowcharts")).paths():
        if len(answers) == ROUTE_STEPS:
            return dict(answers)
    raise SystemExit(f"no route of {ROUTE_STEPS} answers in the shipped flowcharts")


def bench_answers(tmp: Path, env: dict[str, str], runs: int) -> None:
    answers = tmp / "answers.json"
    answers.write_text(json.dumps({"answers": route()}), encoding="utf-8")
    data = Path(env["IPSEC_TRIAGE_DATA"])
    ours = timed(wizard("start", "--answers", str(answers), "--no-checks", "--no-send"),
                 env, runs)
    journal = max((data / "calls").glob("*.jsonl"), key=lambda p: p.stat().st_mtime)
    lines = tmp / "journal.jsonl"
    lines.write_text(journal.read_text(encoding="utf-8"), encoding="utf-8")
    out = tmp / "bare.jsonl"
    ref = timed([sys.executable, "-c", WRITE_JOURNAL, str(lines), str(out)], env, runs,
                before=lambda: out.unlink(missing_ok=True))
    show(f"answers-file call, {ROUTE_STEPS} steps", ours, ref,
         "the same journal written, bare process")


def bench_collect(tmp: Path, env: dict[str, str], runs: int) -> None:
    out = tmp / "packets"
    out.mkdir()
    ours = timed(wizard("collect", "--no-changes", "-o", str(out)), env, runs)
    packet = max(out.glob("*.zip"), key=lambda p: p.stat().st_mtime)
    with zipfile.ZipFile(packet) as z:
        manifest = json.loads(z.read("manifest.json"))
    shell = []
    for i, entry in enumerate(manifest["files"]):
        if entry.get("command") and entry.get("returncode") is not None:
            shell.append(f"{entry['command']} > {i}.txt 2>&1")
        elif entry.get("copy_of"):
            shell.append(f"cat {shlex.quote(entry['copy_of'])} > {i}.txt 2>&1")
    folder = tmp / "shell"
    folder.mkdir()
    ref = timed(["/bin/sh", "-c", f"cd {shlex.quote(str(folder))}; " + "; ".join(shell)],
                env, runs)
    show(f"collect --no-changes ({len(shell)} commands and files)", ours, ref,
         "the same in /bin/sh")


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--calls", type=int, default=100_000, help="stored calls for 'report'")
    args = p.parse_args()
    calls, runs = (1_000, 1) if args.tiny else (args.calls, args.runs)
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} processors",
          flush=True)
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        env = dict(os.environ, PYTHONPATH=str(ROOT), IPSEC_TRIAGE_DATA=str(tmp / "data"),
                   IPSEC_TRIAGE_STAFFER="bench", IPSEC_TRIAGE_CACHE=str(tmp / "cache"))
        env.pop("IPSEC_TRIAGE_ORG", None)
        # the flowchart cache filled, the data folder made, as on a desk in use
        subprocess.run(wizard("lint"), env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                       check=True)
        bench_answers(tmp, env, runs)
        bench_collect(tmp, env, runs)
        bench_report(tmp, env, calls, runs)


if __name__ == "__main__":
    main()
