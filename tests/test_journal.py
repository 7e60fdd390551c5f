"""The call record: saved as answered, survives a kill, rebuilt exactly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from wizard.calls.journal import JournalError, JournalFolder, atomic_write


def test_each_event_is_on_disk_when_append_returns(tmp_path: Path) -> None:
    store = JournalFolder(tmp_path)
    call_id, journal, _ = store.new_call(staffer="sam", flowcharts={"a": "1"})
    journal.append("answer", key="intake.caller_name", value="Ann")
    # read back through a separate file handle while the journal is still open
    lines = store.path(call_id).read_text().splitlines()
    assert [json.loads(x)["event"] for x in lines] == ["start", "answer"]
    journal.close()


def test_last_answer_wins_and_changes_are_kept(tmp_path: Path) -> None:
    store = JournalFolder(tmp_path)
    call_id, journal, _ = store.new_call(staffer="sam")
    journal.append("answer", key="k", value="a")
    journal.append("answer", key="k", value="b")
    journal.append("note", key="k", text="changed after the caller checked again")
    journal.close()
    state = store.load(call_id)
    assert state.values() == {"k": "b"}
    assert state.changes[0]["from"] == "a" and state.changes[0]["to"] == "b"
    assert state.notes == {"k": ["changed after the caller checked again"]}


def test_a_line_cut_by_a_kill_is_skipped_and_counted(tmp_path: Path) -> None:
    store = JournalFolder(tmp_path)
    call_id, journal, _ = store.new_call(staffer="sam")
    journal.append("answer", key="k", value="a")
    journal.close()
    with open(store.path(call_id), "a") as fh:
        fh.write('{"event": "answer", "key": "k2", "val')
    state = store.load(call_id)
    assert state.values() == {"k": "a"} and state.damaged_lines == 1


def test_prefix_and_last(tmp_path: Path) -> None:
    store = JournalFolder(tmp_path)
    first, j1, _ = store.new_call(staffer="a")
    j1.close()
    assert store.resolve_id("last") == first
    assert store.resolve_id(first[:15]) == first
    with pytest.raises(JournalError, match="no call 'zzz'"):
        store.resolve_id("zzz")


def test_atomic_write_replaces_whole_file(tmp_path: Path) -> None:
    target = tmp_path / "t.md"
    atomic_write(target, "old")
    atomic_write(target, "new")
    assert target.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["t.md"]


@pytest.mark.parametrize("durable", [True, False])
def test_a_durable_folder_fsyncs_every_event_and_ticket_a_throwaway_one_none(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, durable: bool) -> None:
    import os

    from .helpers.calls import replay, route_to

    synced: list[int] = []
    real_fsync = os.fsync

    def counting_fsync(fd: int) -> None:
        synced.append(fd)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", counting_fsync)
    call, _, tickets = replay(route_to("fig7_2.escalate_caller"), tmp_path, durable=durable)
    events = JournalFolder(tmp_path).path(call.call_id).read_text().splitlines()
    # the call and its tickets are whole on disk either way (written and flushed)
    assert json.loads(events[-1])["event"] == "end" and len(events) > 20
    assert "STATUS: Not fixed" in tickets["txt"] and "ESCALATE TO:" in tickets["txt"]
    # and the copy of the flowcharts the first call of a data folder starts with
    kept = 1
    assert len(synced) == (len(events) + len(tickets) + kept if durable else 0)


HOLD = """
import sys, time
from filelock import FileLock
lock = FileLock(sys.argv[1], timeout=0)
lock.acquire()
print("held", flush=True)
sys.stdin.read()
"""


def test_a_call_is_one_writers_whichever_program_holds_its_lock(tmp_path: Path) -> None:
    import subprocess
    import sys

    store = JournalFolder(tmp_path)
    call_id, journal, _ = store.new_call(staffer="sam")
    # a second writer, in this program or another, is refused while the call is open
    with pytest.raises(JournalError, match=f"call {call_id} is already open in another"):
        store.lock(call_id)
    journal.close()
    again = store.lock(call_id)  # let go on close
    again.release()
    # the lock is the one the filelock package takes: a program holding it that way
    # keeps this one out, and the system lets it go when that program is killed
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(store.calls / f"{call_id}.lock")],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        with pytest.raises(JournalError, match="already open in another ipsec-triage"):
            store.lock(call_id)
    finally:
        holder.kill()
        holder.wait(10)
    store.lock(call_id).release()


def test_a_ticket_is_read_back_only_from_the_calls_own_plain_file(tmp_path: Path) -> None:
    import os

    from wizard.calls.journal import MAX_TICKET

    store = JournalFolder(tmp_path)
    call_id, journal, _ = store.new_call(staffer="sam")
    journal.close()
    assert store.read_ticket(call_id, "md") is None  # none written: the caller renders it
    store.ticket_path(call_id, "md").write_text("# IPsec call\n", encoding="utf-8")
    assert store.read_ticket(call_id, "md") == "# IPsec call\n"
    # a pipe in its place is refused at once (a read would wait for a writer forever)
    os.mkfifo(store.ticket_path(call_id, "txt"))
    with pytest.raises(JournalError, match="not a ticket file of this call"):
        store.read_ticket(call_id, "txt")
    store.ticket_path(call_id, "txt").unlink()
    store.ticket_path(call_id, "txt").write_bytes(b"x" * (MAX_TICKET + 1))
    with pytest.raises(JournalError, match="larger than a ticket"):
        store.read_ticket(call_id, "txt")
    with pytest.raises(JournalError, match="not a call id"):
        store.read_ticket("../users.json", "md")
