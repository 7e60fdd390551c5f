"""A journal cut by a kill or a full disk, a full disk itself, and leftover temporary
ticket files: nothing confirmed is lost, the call is never locked out, no traceback."""

from __future__ import annotations

import errno
import io
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pexpect
import pytest

from wizard.base.errors import DISK_FULL_TEXT, DiskFull, ExitStatus
from wizard.calls.call import Call
from wizard.calls.journal import JournalFolder
from wizard.config.organization import OrgConfig
from wizard.frontends.terminal.cli import main
from wizard.frontends.terminal.environment import Environment
from wizard.records.ending import write_tickets_then_end
from wizard.service import turns
from wizard.service.desk import Desk

from .helpers.calls import route_to, shipped
from .helpers.run import CACHE, ROOT
from .helpers.web import TestClient, add_users, answer, login, make_client, start_call

MACHINE = "intake.caller_machine"


def _show(data_dir: Path, call_id: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    env = Environment(stdin=io.StringIO(), stdout=out, stderr=err,
                      environ={"IPSEC_TRIAGE_DATA": str(data_dir), "IPSEC_TRIAGE_CACHE": CACHE,
                               "IPSEC_TRIAGE_STAFFER": "tester"})
    code = main(["show", call_id], env)
    return code, out.getvalue(), err.getvalue()


def _call_with_machine(data_dir: Path) -> tuple[str, bytes, bytes]:
    """A call whose last journal line is the answer WS-Ann to the caller's computer:
    the journal before that line, and the line."""
    store = JournalFolder(data_dir)
    call = Call.start(flowset=shipped(), journals=store, org=OrgConfig(), staffer="tester")
    try:
        call.answer(call.step().visit, "reach")
        step = call.step()
        assert step.visit.key == MACHINE
        call.answer(step.visit, "WS-Ann")
    finally:
        call.close()
    data = store.path(call.call_id).read_bytes()
    head = data[:data.rindex(b"\n", 0, len(data) - 1) + 1]
    return call.call_id, head, data[len(head):]


def test_a_cut_last_line_at_any_byte_never_swallows_the_next_answer(data_dir: Path) -> None:
    """The journal ends inside its last event at every byte offset; the web desk's way
    of writing (a request opens the call and answers, no resume event first) puts the
    next answer on a line of its own, and ``show`` has it."""
    call_id, head, last = _call_with_machine(data_dir)
    path = JournalFolder(data_dir).path(call_id)
    desk = Desk(data_dir=data_dir)
    assert len(last) > 100
    fragment_line = head.count(b"\n") + 1
    for cut in range(len(last)):  # everything of the event but its line end, and less
        path.write_bytes(head + last[:cut])
        call = turns.open_call(desk, shipped(), None, call_id)
        try:
            step = call.step()
            # the cut answer is lost (it was never confirmed) unless only "\n" was missing
            visit = step.visit if step.visit.key == MACHINE else next(
                v for v in step.answered_route if v.key == MACHINE)
            call.answer(visit, f"WS-CUT-{cut}")
        finally:
            call.close()
        lines = path.read_bytes().split(b"\n")
        assert lines[-1] == b"" and json.loads(lines[-2])["value"] == f"WS-CUT-{cut}"
        if 0 < cut < len(last) - 1:  # the fragment stays a line of its own
            assert lines[-3] == last[:cut]
        code, out, err = _show(data_dir, call_id)
        assert code == 0, err
        assert f"WS-CUT-{cut}" in out, (cut, out)
        if 0 < cut < len(last) - 1:
            skipped = f"{path}:{fragment_line}: line skipped: not a complete JSON line"
            assert skipped in err, (cut, err)
        else:
            assert "skipped" not in err, (cut, err)


def _web_call(data_dir: Path) -> tuple[TestClient, str, str]:
    """A call started on the web desk by sam, its first question answered: the
    client, the call's id and the page of its second question."""
    add_users(data_dir)
    client = make_client(data_dir)
    login(client, "sam")
    call_id, page = start_call(client)
    return client, call_id, answer(client, call_id, page, "reach").text


def test_the_web_desk_keeps_the_answer_after_a_cut_line(data_dir: Path) -> None:
    client, call_id, page = _web_call(data_dir)
    path = JournalFolder(data_dir).path(call_id)
    with path.open("ab") as fh:  # an answer cut at a page of the disk, as seen for real
        fh.write(b'{"event": "answer", "key": "intake.caller_machine", "t": "2026-')
    r = answer(client, call_id, page, "WS-Ann")
    assert r.history[0].status_code == 303 and r.status_code == 200
    assert "Which Windows does WS-Ann run?" in r.text
    history = client.get(f"/calls/{call_id}/history").text
    assert "WS-Ann" in history


def _disk_full_on(target: Path, real: object, room: int = 40) -> object:
    """``os.write`` that fails as a full disk does for the file ``target`` (or any file
    in the folder ``target``) once ``room`` more bytes are written to it (the line being
    written is cut, as when a disk fills mid-write)."""
    assert callable(real)
    left = [room]

    def write(fd: int, data: bytes) -> int:
        try:
            name = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            name = ""
        if not (name == str(target) or name.startswith(f"{target}{os.sep}")):
            return int(real(fd, data))
        if not left[0]:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        done = int(real(fd, bytes(data[:left[0]])))
        left[0] -= done
        return done

    return write


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc")
def test_a_full_disk_while_answering_is_a_507_page_and_the_call_is_not_locked(
        data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    client, call_id, page = _web_call(data_dir)
    path = JournalFolder(data_dir).path(call_id)
    monkeypatch.setattr(os, "write", _disk_full_on(path, os.write))
    r = answer(client, call_id, page, "WS-Ann")
    assert r.status_code == 507
    assert "The disk is full" in r.text and "nothing you confirmed is lost" in r.text
    assert "Traceback" not in r.text and str(path) not in r.text
    assert not path.read_bytes().endswith(b"\n")  # the line was cut
    r = answer(client, call_id, page, "WS-Ann")  # still full: told again, not "busy"
    assert r.status_code == 507
    monkeypatch.undo()  # space is freed
    r = answer(client, call_id, page, "WS-Ann")
    assert r.status_code == 200 and "Which Windows does WS-Ann run?" in r.text
    assert JournalFolder(data_dir).load(call_id).answers[MACHINE].value == "WS-Ann"


def test_a_failing_close_lets_go_of_the_lock(
        data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Closing the journal raises (its fsync or close says the disk is full, as on a
    network file system): the lock is let go all the same, so the next request or
    ``resume`` is not told the call is open elsewhere."""
    store = JournalFolder(data_dir)
    call = Call.start(flowset=shipped(), journals=store, org=OrgConfig(), staffer="tester")
    call.answer(call.step().visit, "reach")
    journal_fd = call.journal._fd  # type: ignore[union-attr]
    real_close = os.close

    def close(fd: int) -> None:
        real_close(fd)
        if fd == journal_fd:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "close", close)
    with pytest.raises(DiskFull, match=DISK_FULL_TEXT):
        call.close()
    monkeypatch.undo()
    again = Call.resume(flowset=shipped(), journals=store, org=OrgConfig(), call_id=call.call_id)
    again.close()

    def failing_fsync(fd: int) -> None:
        raise OSError(errno.EDQUOT, os.strerror(errno.EDQUOT))

    call = Call.resume(flowset=shipped(), journals=store, org=OrgConfig(), call_id=call.call_id)
    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(DiskFull):
        call.close()
    monkeypatch.undo()
    Call.resume(flowset=shipped(), journals=store, org=OrgConfig(), call_id=call.call_id).close()


def test_a_full_disk_writing_the_ticket_is_a_page_and_one_line_and_the_call_is_kept(
        tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from wizard.records import ending

    def disk_full(path: Path, text: str, **_: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    # the web desk: the last answer's ticket cannot be written
    client, call_id, page = _web_call(data_dir)
    from .helpers.calls import replay

    # the route's answers in the order the call asks them (the last one ends it)
    walked = replay(route_to("fig7_2.escalate_caller"), tmp_path / "route")[0].state
    answers = {k: rec.value for k, rec in walked.answers.items()}
    last = list(answers)[-1]
    state = JournalFolder(data_dir)
    while True:
        key = turns.read_call(Desk(data_dir=data_dir), shipped(), None,
                              call_id).step().visit.key
        if key == last:
            break
        page = answer(client, call_id, page, answers.pop(key)).text
    monkeypatch.setattr(ending, "atomic_write", disk_full)
    r = answer(client, call_id, page, answers[key])
    assert r.status_code == 507, r.text
    assert "nothing you confirmed is lost" in r.text and "Traceback" not in r.text
    assert state.load(call_id).ended is None
    monkeypatch.undo()
    r = client.get(f"/calls/{call_id}")  # space freed: the page ends the call
    assert r.status_code == 200 and state.load(call_id).ended is not None
    assert (data_dir / "calls" / f"{call_id}.ticket.md").is_file()

    # the terminal: one line, its own exit status, the call open for resume
    from .test_cli import write_answers

    path = write_answers(tmp_path, route_to("fig7_2.escalate_caller"))
    script = textwrap.dedent("""
        import errno, os, sys
        from wizard.records import ending
        def full(path, text, **kw):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        ending.atomic_write = full
        from wizard.frontends.terminal.cli import main
        sys.exit(main(sys.argv[1:]))
    """)
    from .helpers.run import cli_env

    r2 = subprocess.run([sys.executable, "-c", script, "start", "--answers", str(path),
                         "--no-checks"], capture_output=True, text=True,
                        env=cli_env(data_dir), timeout=120)
    assert r2.returncode == ExitStatus.DISK_FULL == 10
    assert r2.stderr.count("\n") == 1 and "Traceback" not in r2.stderr
    assert r2.stderr.startswith("ipsec-triage: error: ")
    assert r2.stderr.rstrip().endswith(f"ticket.md: {DISK_FULL_TEXT}")
    # the terminal's call: the one besides the web desk's (both may start in one second)
    (newest,) = [s for s in JournalFolder(data_dir).all() if s.call_id != call_id]
    assert newest.ended is None


def test_temporary_ticket_files_of_a_killed_write_are_removed_at_the_next_end(
        data_dir: Path) -> None:
    answers = route_to("fig7_2.escalate_caller")
    store = JournalFolder(data_dir)
    call = Call.start(flowset=shipped(), journals=store, org=OrgConfig(), staffer="tester")
    call.close()
    calls = data_dir / "calls"
    # what a kill -9 inside atomic_write leaves: tempfile.mkstemp's names
    left = [calls / f".{call.call_id}.ticket.txt.k3j_x9q2", calls / f".{call.call_id}.ticket.md.a1"]
    other = calls / ".20990101-000000-abcd.ticket.txt.zz"  # another call's: not touched
    for p in [*left, other]:
        p.write_text("half a tick")
    resumed = Call.resume(flowset=shipped(), journals=store, org=OrgConfig(), call_id=call.call_id)
    try:
        from wizard.calls.replay import AnswersFile, run

        step = run(resumed, AnswersFile(Path("a.yaml"), answers, {}), probes=False)
        write_tickets_then_end(resumed, step)
    finally:
        resumed.close()
    assert not any(p.exists() for p in left)
    assert other.exists()
    assert sorted(p.name for p in calls.glob(f"*{call.call_id}.ticket*")) == [
        f"{call.call_id}.ticket.md", f"{call.call_id}.ticket.txt"]


def test_an_abandoned_call_removes_its_temporary_ticket_files(data_dir: Path) -> None:
    store = JournalFolder(data_dir)
    c = Call.start(flowset=shipped(), journals=store, org=OrgConfig(), staffer="tester")
    tmp = data_dir / "calls" / f".{c.call_id}.ticket.txt.q1w2e3"
    tmp.write_text("half")
    try:
        c.end_early("hung_up")
    finally:
        c.close()
    assert not tmp.exists()


UNSHARE = shutil.which("unshare")


def _tmpfs_works() -> bool:
    if UNSHARE is None:
        return False
    r = subprocess.run([UNSHARE, "-rm", "sh", "-c",
                        'd=$(mktemp -d) && mount -t tmpfs -o size=64k tmpfs "$d"'],
                       capture_output=True, timeout=10)
    return r.returncode == 0


FULL_DISK = textwrap.dedent("""
    import json, os, sys
    from pathlib import Path
    sys.path.insert(0, sys.argv[2])
    from tests.helpers.web import add_users, answer, login, make_client, start_call
    from wizard.calls.journal import JournalFolder
    data = Path(sys.argv[1])
    add_users(data)
    client = make_client(data)
    login(client, "sam")
    call_id, page = start_call(client)
    page = answer(client, call_id, page, "reach").text
    filler = data / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)  # the disk filled to its last byte
    for size in (65536, 4096, 1):
        try:
            while True:
                os.write(fd, b"x" * size)
        except OSError:
            pass
    os.close(fd)
    codes = []
    for n in range(400):  # notes until the journal's last block is full
        r = client.post(f"/calls/{call_id}/note", data={
            "csrf": page.split('name="csrf" value="')[1].split('"')[0],
            "step": page.split('name="step" value="')[1].split('"')[0],
            "text": "note %d: " % n + "n" * 300})
        codes.append(r.status_code)
        if r.status_code != 200:
            break
    journal = JournalFolder(data).path(call_id)
    out = {"codes": codes, "page": r.text, "cut": not journal.read_bytes().endswith(b"\\n"),
           "size": journal.stat().st_size}
    r = answer(client, call_id, page, "WS-Ann")
    out["again"] = r.status_code
    filler.unlink()
    r = answer(client, call_id, page, "WS-Ann")
    out["freed"] = r.status_code
    out["freed_page"] = "Which Windows does WS-Ann run?" in r.text
    state = JournalFolder(data).load(call_id)
    out["kept"] = state.answers.get("intake.caller_machine").value if \\
        "intake.caller_machine" in state.answers else None
    out["notes"] = len(state.notes.get("intake.caller_machine", []))
    print(json.dumps(out))
""")


@pytest.mark.skipif(not _tmpfs_works(), reason="needs unshare and a tmpfs of its own")
def test_on_a_really_full_disk_the_web_desk_says_so_and_loses_nothing_confirmed(
        tmp_path: Path) -> None:
    """The data folder on a 256 KiB tmpfs, filled up: notes are taken until the
    journal's last block is full; the next is a 507 page, the line it cut does not
    swallow the answer given once space is freed."""
    data = tmp_path / "data"
    data.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("IPSEC_TRIAGE")}
    env.update({"IPSEC_TRIAGE_CACHE": CACHE, "IPSEC_TRIAGE_STAFFER": "tester"})
    r = subprocess.run(
        [UNSHARE or "unshare", "-rm", "sh", "-c",
         'mount -t tmpfs -o size=256k tmpfs "$1" && shift && exec "$@"', "sh", str(data),
         sys.executable, "-c", FULL_DISK, str(data), str(ROOT)],
        capture_output=True, text=True, env=env, timeout=180)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["codes"][-1] == 507 and set(out["codes"][:-1]) == {200}, out["codes"]
    assert "The disk is full" in out["page"] and "Traceback" not in out["page"]
    assert out["size"] % os.sysconf("SC_PAGE_SIZE") == 0  # where the disk's last page ended
    assert out["again"] == 507
    assert out["freed"] == 200 and out["freed_page"]
    assert out["kept"] == "WS-Ann"
    assert out["notes"] == len(out["codes"]) - 1


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc")
def test_a_call_started_on_a_full_disk_is_refused_and_leaves_nothing(
        data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    client, first, _page = _web_call(data_dir)
    calls = data_dir / "calls"
    monkeypatch.setattr(os, "write", _disk_full_on(calls, os.write, room=0))
    home = client.get("/").text
    csrf = home.split('name="csrf" value="')[1].split('"')[0]
    r = client.post("/calls", data={"csrf": csrf})
    assert r.status_code == 507
    assert "no call was started" in r.text and "Traceback" not in r.text
    monkeypatch.undo()
    assert [p.stem for p in calls.glob("*.jsonl")] == [first]


TERMINAL_FULL_DISK = r'''
set -u
mount -t tmpfs -o size="$SIZE" tmpfs "$DATA" || exit 99
head -c 4096 /dev/zero > "$DATA/filler"  # the page that is freed later
"$PY" -m wizard start
echo "EXIT=$?"
rm "$DATA/filler"
echo "FREED"
"$PY" -m wizard show last
echo "SHOWN=$?"
'''


@pytest.mark.skipif(not _tmpfs_works(), reason="needs unshare and a tmpfs of its own")
def test_on_a_really_full_disk_the_terminal_says_so_in_one_line_and_keeps_the_call(
        tmp_path: Path) -> None:
    """A live call in a real terminal whose data folder is a tmpfs with room for the
    kept flowcharts and one page of journal: notes are taken until the page is full;
    the next is told in one line (exit 10), and every note confirmed before is kept."""
    from wizard.flows.pinned import keep

    from .helpers.run import PYTHON, cli_env, pty_spawn

    page = os.sysconf("SC_PAGE_SIZE")
    kept = Path(keep(shipped(), tmp_path / "probe", durable=False))
    pin = next((tmp_path / "probe" / "flowsets").glob(f"{kept}.json")).stat().st_size
    pages = -(-pin // page) + 2  # the kept set, one page of journal, the filler
    data = tmp_path / "data"
    data.mkdir()
    env = cli_env(data, PROMPT_TOOLKIT_NO_CPR="1", SIZE=str(pages * page), DATA=str(data),
                  PY=PYTHON)
    child = pty_spawn(UNSHARE or "unshare", ["-rm", "sh", "-c", TERMINAL_FULL_DISK],
                      env=env, cwd=str(ROOT), encoding="utf-8", timeout=60,
                      dimensions=(50, 400))
    child.expect_exact("What is the call about?")
    saved = 0
    for n in range(10):
        child.send("n\r")
        child.expect_exact("Note for this step:")
        child.send(f"note {n} " + "x" * 1400 + "\r")
        if child.expect_exact(["Note saved.", "ipsec-triage: error: "]) == 1:
            break
        saved += 1
    child.expect_exact(f": {DISK_FULL_TEXT}; resume it with: ")
    child.expect(r"\A[^\r\n]* resume \d{8}-\d{6}-[0-9a-f]{4}\r\n")  # the rest of the line
    child.expect_exact("EXIT=10")
    child.expect_exact("FREED")
    child.expect_exact("line skipped: not a complete JSON line")
    child.expect_exact("SHOWN=0")
    shown = "".join(child.before.split())  # wrapped at the terminal's width
    child.expect(pexpect.EOF)
    assert 1 <= saved < 3
    for n in range(saved):
        assert f"note:note{n}{'x' * 1400}" in shown
    assert f"note{saved}x" not in shown
    assert "Traceback" not in shown
