"""The help desk in the browser under load: simulated staff, each signed in as a user
of their own, run whole calls (real answers through the shipped flowcharts to an end,
automatic checks off) against ``ipsec-triage serve --workers N`` on loopback, with
the team's call store on PostgreSQL (``--pg URL`` or ``$IPSEC_TRIAGE_TEST_PG_URL``, a
schema of its own, dropped after; SQLite in the data folder without one).

A page is what a staffer waits for: the answer posted, the redirect followed, the next
question (or the end) shown. Printed: answers sent, answers lost (sent and accepted,
but not in the call's journal, or ended calls missing from the store), errors (any
status but 200/303, any refused form, a broken connection), p50/p95 page time and
throughput. The reference, measured in the same run: the same staff doing the same
post-redirect-get against a trivial Starlette page under the same uvicorn workers.

The staffer's pause: before each answer a staffer reads the question, asks the caller
and picks or types the answer. Modelled as a pause drawn evenly from 0.5 to 1.5 times
``--pause`` seconds (3 s by default: a mean of 3 s, from 1.5 to 4.5 s), the same
draws for the reference; the pause is not part of the page time. ``--pause 0`` sends
the answers flat out (a saturated server's queue, not what a staffer waits for).

    python -m benchmarks.bench_web [--staff 50] [--seconds 60] [--workers 4]
                                   [--pause 3] [--tiny]
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.common import ROOT, figure, parser

PASSWORD = "bench-password-1"  # noqa: S105 - a throwaway account of a throwaway desk
CSRF = re.compile(r'name="csrf" value="([^"]*)"')
STEP = re.compile(r'name="step" value="([^"]*)"')
ANSWER_FORM = re.compile(r'action="(/calls/[0-9a-f-]+/answer)"')


def reference() -> Any:
    """The reference: a trivial page and a form posting to it (for uvicorn)."""
    from starlette.applications import Starlette
    from starlette.responses import HTMLResponse, RedirectResponse
    from starlette.routing import Route

    page = ('<form method="post" action="/calls/0/answer"><input type="hidden" '
            'name="csrf" value="x"><input type="hidden" name="step" value="y"></form>')

    async def show(request: Any) -> HTMLResponse:
        return HTMLResponse(page)

    async def post(request: Any) -> RedirectResponse:
        await request.form()
        return RedirectResponse("/calls/0", status_code=303)

    return Starlette(routes=[Route("/calls/0", show), Route("/calls/0/answer", post,
                                                              methods=["POST"])])


def routes(count: int) -> list[list[str]]:
    """Answers of ``count`` routes of the shipped flowcharts, in the order asked."""
    from wizard.calls.engine import Engine, StepKind
    from wizard.flows.flowset import load_flowset

    engine = Engine(load_flowset(ROOT / "flowcharts"))
    out = []
    for answers, _ in engine.paths(limit=count):
        given: dict[str, str] = {}
        order = []
        while (step := engine.step(given)).kind is not StepKind.END:
            given[step.visit.key] = answers[step.visit.key]
            order.append(answers[step.visit.key])
        out.append(order)
    return out


@dataclass
class Tally:
    pages: list[float] = field(default_factory=list)
    kinds: dict[str, list[float]] = field(default_factory=dict)
    """Page times by kind of page: question, end (the answer that ends the call),
    history and report (each opened once after a call ends)."""
    errors: list[str] = field(default_factory=list)
    sent: dict[str, int] = field(default_factory=dict)
    """Answers accepted, per call."""
    ended: set[str] = field(default_factory=set)
    seconds: float = 0.0
    """From the start to the last call's end (every call started is finished)."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def servers(commands: list[tuple[list[str], str, Path]], env: dict[str, str]
            ) -> Iterator[list[str]]:
    """Server processes on free loopback ports, all started at once (each command with
    the page that answers once it is up, and its log), until the block ends."""
    import httpx

    with contextlib.ExitStack() as stack:
        started = []
        for command, ready, log in commands:
            port = free_port()
            out = stack.enter_context(open(log, "w"))
            proc = subprocess.Popen([*command, "--port", str(port)], env=env, cwd=ROOT,
                                    stdout=out, stderr=subprocess.STDOUT)
            stack.callback(stop, proc)
            started.append((proc, f"http://127.0.0.1:{port}", ready, log))
        deadline = time.monotonic() + 120
        for proc, url, ready, log in started:
            while True:
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(url + ready).status_code == 200:
                        break
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"the server did not start:\n{log.read_text()}")
                time.sleep(0.05)
        yield [url for _proc, url, _ready, _log in started]


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


async def sign_in(http: Any, name: str, tally: Tally) -> None:
    """Sign in (before the timed part; a connection the server dropped while 50 logins
    hashed at once is tried again: logging in is not what is measured)."""
    import httpx

    for _ in range(3):
        try:
            page = (await http.get("/login")).text
            r = await http.post("/login", data={"csrf": CSRF.search(page)[1], "name": name,
                                                "password": PASSWORD, "next": "/"})
        except httpx.TransportError:
            continue
        if r.status_code != 303:
            tally.errors.append(f"{name}: login answered {r.status_code}")
        return
    tally.errors.append(f"{name}: could not sign in")


async def staffer(http: Any, name: str, route_list: list[list[str]], until: float,
                  tally: Tally, desk: bool, pause: float) -> None:
    """One member of staff: whole calls, one after another, until time is up (the
    last one is finished), pausing before each answer (see the module's docstring)."""
    draws = random.Random(name)  # the same pauses for the desk and the reference
    turn = 0
    while time.monotonic() < until:
        answers = route_list[turn % len(route_list)]
        turn += 1
        if desk:
            home = (await http.get("/")).text
            r = await http.post("/calls", data={"csrf": CSRF.search(home)[1]})
            page = (await http.get(r.headers["location"])).text
        else:
            page = (await http.get("/calls/0")).text
        for value in answers:
            form = ANSWER_FORM.search(page)
            if form is None:
                tally.errors.append(f"{name}: no question where one was expected")
                break
            action = form[1]
            if pause:
                await asyncio.sleep(pause * draws.uniform(0.5, 1.5))
            start = time.perf_counter()
            r = await http.post(action, data={"csrf": CSRF.search(page)[1],
                                              "step": STEP.search(page)[1], "value": value})
            if r.status_code != 303:
                tally.errors.append(f"{name}: {action} answered {r.status_code}")
                break
            shown = await http.get(r.headers["location"])
            took = time.perf_counter() - start
            tally.pages.append(took)
            kind = "question" if ANSWER_FORM.search(shown.text) else "end"
            tally.kinds.setdefault(kind, []).append(took)
            if shown.status_code != 200 or "already moved past" in shown.text:
                tally.errors.append(f"{name}: {action} refused or failed")
                break
            call_id = action.split("/")[2]
            tally.sent[call_id] = tally.sent.get(call_id, 0) + 1
            page = shown.text
        else:
            if desk:
                if ANSWER_FORM.search(page):
                    tally.errors.append(f"{name}: the route did not end")
                else:
                    tally.ended.add(action.split("/")[2])
                    pages = [("history", f"/calls/{action.split('/')[2]}/history")]
                    if name.endswith("0"):  # staff00, staff10, ...: leads, who see reports
                        pages.append(("report", "/report"))
                    for kind, path in pages:
                        start = time.perf_counter()
                        r = await http.get(path)
                        tally.kinds.setdefault(kind, []).append(time.perf_counter() - start)
                        if r.status_code != 200:
                            tally.errors.append(f"{name}: {path} answered {r.status_code}")


async def load(url: str, staff: int, seconds: float, route_list: list[list[str]],
               desk: bool, pause: float) -> Tally:
    import httpx

    tally = Tally()
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    clients = [httpx.AsyncClient(base_url=url, limits=limits, timeout=60)
               for _ in range(staff)]
    try:
        if desk:  # everyone signs in first: the timed part is the calls
            await asyncio.gather(*(sign_in(c, f"staff{i:02d}", tally)
                                   for i, c in enumerate(clients)))
        began = time.monotonic()
        until = began + seconds
        jobs = [staffer(c, f"staff{i:02d}", route_list[i % len(route_list):] +
                        route_list[:i % len(route_list)], until, tally, desk, pause)
                for i, c in enumerate(clients)]
        for result in await asyncio.gather(*jobs, return_exceptions=True):
            if isinstance(result, BaseException):
                tally.errors.append(f"{type(result).__name__}: {result}")
        tally.seconds = time.monotonic() - began
    finally:
        for c in clients:
            await c.aclose()
    return tally


def lost_answers(data: Path, tally: Tally, store_url: str) -> tuple[int, int]:
    """Answers accepted but not in their call's journal; ended calls not in the store."""
    import sqlalchemy as sa

    lost = 0
    for call_id, sent in tally.sent.items():
        path = data / "calls" / f"{call_id}.jsonl"
        events = [json.loads(line) for line in path.read_text().splitlines()]
        keys = [e["key"] for e in events if e["event"] == "answer"]
        lost += max(sent - len(set(keys)), 0) + (len(keys) - len(set(keys)))
    if not tally.ended:
        return lost, 0
    engine = sa.create_engine(store_url)
    with engine.connect() as conn:
        stored = {row[0] for row in conn.execute(sa.text(
            "SELECT call_id FROM calls WHERE status <> 'open'"))}
    engine.dispose()
    return lost, len(tally.ended - stored)


def users(data: Path, staff: int) -> None:
    """One account per member of staff, every tenth a lead (one argon2 hash made,
    shared: the benchmark measures the pages, not making hashes)."""
    from wizard.base.privacy import private_dir
    from wizard.calls.journal import atomic_write
    from wizard.service.accounts import USERS_FILE, User, hash_password

    private_dir(data)
    digest = hash_password(PASSWORD)
    doc = {"users": [asdict(User(name=f"staff{i:02d}", role="lead" if i % 10 == 0 else "staffer",
                                  hash=digest))
                     for i in range(staff)]}
    atomic_write(data / USERS_FILE, json.dumps(doc) + "\n")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered) + 0.5) - 1))]


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--staff", type=int, default=50)
    p.add_argument("--seconds", type=float, default=60.0)
    p.add_argument("--reference-seconds", type=float, default=20.0)
    p.add_argument("--workers", type=int, default=4)
    p.add_argument("--pause", type=float, default=3.0,
                   help="mean seconds a staffer takes before each answer (0: flat out)")
    p.add_argument("--pg", default=os.environ.get("IPSEC_TRIAGE_TEST_PG_URL"),
                   help="PostgreSQL server URL (default $IPSEC_TRIAGE_TEST_PG_URL)")
    args = p.parse_args()
    if args.tiny:
        args.staff, args.seconds, args.reference_seconds, args.workers = 2, 0.5, 0.5, 1
        args.pause = min(args.pause, 0.01)
    route_list = routes(20)
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        data = Path(tmp) / "data"
        users(data, args.staff)
        if args.pg and not args.tiny:
            from benchmarks.bench_report import pg_schema

            store_url, _schema = stack.enter_context(pg_schema(args.pg))
        else:
            store_url = f"sqlite:///{data / 'calls.sqlite3'}"
        env = {**os.environ, "IPSEC_TRIAGE_DATA": str(data), "IPSEC_TRIAGE_STORE": store_url,
               "IPSEC_TRIAGE_CACHE": str(Path(tmp) / "cache"), "PYTHONPATH": str(ROOT)}
        ref_cmd = [sys.executable, "-m", "uvicorn", "--factory",
                   "benchmarks.bench_web:reference", "--workers", str(args.workers),
                   "--log-level", "warning"]
        desk_cmd = [sys.executable, "-m", "wizard", "serve", "--no-checks", "--workers",
                    str(args.workers)]
        with servers([(ref_cmd, "/calls/0", Path(tmp) / "reference.log"),
                      (desk_cmd, "/login", Path(tmp) / "serve.log")], env) as (ref_url, url):
            ref = asyncio.run(load(ref_url, args.staff, args.reference_seconds, route_list,
                                   desk=False, pause=args.pause))
            ours = asyncio.run(load(url, args.staff, args.seconds, route_list, desk=True,
                                    pause=args.pause))
        lost, unstored = lost_answers(data, ours, store_url)
    store = "PostgreSQL" if store_url.startswith("postgresql") else "SQLite"
    answers = sum(ours.sent.values())
    paced = (f"a pause of {args.pause * 0.5:g}-{args.pause * 1.5:g} s before each answer"
             if args.pause else "no pause (flat out)")
    print(f"{args.staff} staff, {args.workers} workers, {args.seconds:g} s, {paced}, store "
          f"{store}: {answers} answers sent, {len(ours.ended)} calls ended, answers lost "
          f"{lost}, ended calls missing from the store {unstored}, errors "
          f"{len(ours.errors) + len(ref.errors)}")
    for line in (ours.errors + ref.errors)[:5]:
        print(f"  error: {line}")
    if not ours.pages or not ref.pages:
        raise SystemExit("no pages measured")
    for label, q in (("page time p50", 0.5), ("page time p95", 0.95)):
        figure(f"web desk, {label}", percentile(ours.pages, q), percentile(ref.pages, q),
               "trivial Starlette page, same workers",
               goal="p95 under 100 ms" if q == 0.95 else "")
    trivial = percentile(ref.pages, 0.95)
    for kind in ("question", "end", "history", "report"):
        if ours.kinds.get(kind):
            figure(f"web desk, {kind} page p95 ({len(ours.kinds[kind])})",
                   percentile(ours.kinds[kind], 0.95), trivial,
                   "trivial Starlette page p95", goal="within 3x")
    print("  (check pages: not measured, the checks need Windows; serve --no-checks)")
    print(f"throughput: {len(ours.pages) / ours.seconds:.1f} pages/s "
          f"({len(ours.ended) / ours.seconds * 60:.1f} calls/min); reference "
          f"{len(ref.pages) / ref.seconds:.1f} pages/s")
    if lost or unstored or ours.errors or ref.errors:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
