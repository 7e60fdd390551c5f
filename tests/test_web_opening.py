"""How the web desk opens a call for a request: once. Whether the user may see the call
is checked on the one reading of its journal the page or form needs (a reading counted
here by the interpreter's audit hook on ``open``, so every way of reading the file
counts), and a call another program is writing is answered 409 "being answered
elsewhere" on every form that writes it, never "not found"; its pages still read.

The other program is a child Python process holding the call's lock with the
product's own lock code (what a terminal ``resume`` of the call holds).
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from wizard.calls.journal import JournalFolder
from wizard.service import turns

from .conftest import PYTHON, cli_env
from .helpers.calls import HOLD_LOCK
from .helpers.web import add_users, answer, field, login, make_client, start_call
from .test_attach import EVENTS, script_packet

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

_counting: list[tuple[str, list[str]]] = []
"""While a test counts: the journal's path and the modes it was opened with."""


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if event != "open" or not _counting or isinstance(args[0], int):
        return
    path, opened = _counting[-1]
    mode = args[1]
    if os.fspath(args[0]) == path and isinstance(mode, str) and "r" in mode:
        opened.append(mode)


sys.addaudithook(_audit)  # for the rest of the run: a no-op while nothing is counted


@contextlib.contextmanager
def journal_reads(data_dir: Path, call_id: str) -> Iterator[list[str]]:
    """The readings of the call's journal file (any thread) while the block runs."""
    opened: list[str] = []
    _counting.append((str(JournalFolder(data_dir).path(call_id)), opened))
    try:
        yield opened
    finally:
        _counting.pop()


@pytest.fixture
def desk_dir(data_dir: Path) -> Path:
    add_users(data_dir)
    return data_dir


def test_a_question_page_a_note_and_the_records_pages_read_the_journal_once_each(
        desk_dir: Path) -> None:
    sam = make_client(desk_dir)
    login(sam, "sam")
    call_id, page = start_call(sam)
    with journal_reads(desk_dir, call_id) as reads:
        shown = sam.get(f"/calls/{call_id}")
    assert shown.status_code == 200 and 'name="step"' in shown.text
    assert len(reads) == 1, reads
    page = answer(sam, call_id, shown.text, "reach").text
    with journal_reads(desk_dir, call_id) as reads:
        assert sam.get(f"/calls/{call_id}").status_code == 200  # the next question
    assert len(reads) == 1, reads
    with journal_reads(desk_dir, call_id) as reads:
        posted = sam.post(f"/calls/{call_id}/note", data={
            "csrf": field(page, "csrf"), "step": field(page, "step"), "text": "rings back"},
            follow_redirects=False)
    assert posted.status_code == 303
    assert len(reads) == 1, reads
    # the lead's look at the record: each page one reading too
    lee = make_client(desk_dir)
    login(lee, "lee")
    for page_of_call in ("", "/history", "/route", "/abandon", "/change"):
        with journal_reads(desk_dir, call_id) as reads:
            assert lee.get(f"/calls/{call_id}{page_of_call}").status_code == 200
        assert len(reads) == 1, (page_of_call, reads)


def test_an_answer_post_reads_the_journal_once(desk_dir: Path) -> None:
    sam = make_client(desk_dir)
    login(sam, "sam")
    call_id, page = start_call(sam)
    before = JournalFolder(desk_dir).load(call_id).answers
    assert "intake.call_type" not in before
    with journal_reads(desk_dir, call_id) as reads:
        r = sam.post(f"/calls/{call_id}/answer", data={
            "csrf": field(page, "csrf"), "step": field(page, "step"), "value": "reach"},
            follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/calls/{call_id}"
    assert len(reads) == 1, reads
    assert JournalFolder(desk_dir).load(call_id).answers["intake.call_type"].value == "reach"


def test_another_staffers_call_is_still_not_found_on_the_one_reading(desk_dir: Path) -> None:
    sam = make_client(desk_dir)
    login(sam, "sam")
    call_id, page = start_call(sam)
    alex = make_client(desk_dir)
    home = login(alex, "alex")
    for path in (call_id, call_id[:-1]):  # the call, and a prefix of its id
        assert alex.get(f"/calls/{path}").status_code == 404
        r = alex.post(f"/calls/{path}/answer", data={
            "csrf": field(home, "csrf"), "step": field(page, "step"), "value": "reach"})
        assert r.status_code == 404 and "No such call" in r.text
    assert sam.get(f"/calls/{call_id[:-1]}").status_code == 404  # whole ids only
    assert JournalFolder(desk_dir).load(call_id).answers == {}


@contextlib.contextmanager
def held(data_dir: Path, call_id: str) -> Iterator[None]:
    """The call's lock held by another program until the block ends."""
    holder = subprocess.Popen([PYTHON, "-c", HOLD_LOCK, str(data_dir), call_id],
                              env=cli_env(data_dir), stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        yield
    finally:
        assert holder.stdin is not None
        holder.stdin.write("\n")
        holder.stdin.close()
        holder.wait(timeout=30)


def test_a_call_being_answered_elsewhere_is_409_on_every_form_that_writes_it(
        tmp_path: Path, desk_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(turns, "LOCK_WAIT", 0.2)  # the forms give up on the lock sooner
    sam = make_client(desk_dir)
    login(sam, "sam")
    call_id, page = start_call(sam)
    page = answer(sam, call_id, page, "reach").text
    token = {"csrf": field(page, "csrf"), "step": field(page, "step")}
    packet = script_packet(tmp_path / "ipsec_ws-ann.zip", call_id,
                           {"evidence/ws-ann_events_mainmode.xml": EVENTS})
    forms: dict[str, dict[str, Any]] = {
        "answer": {"data": {**token, "value": "ws-ann"}},
        "note": {"data": {**token, "text": "rings back"}},
        "sensitive": {"data": {**token, "what": "admins"}},
        "change": {"data": {**token, "key": "intake.call_type", "value": "report"}},
        "abandon": {"data": {**token, "reason": "hung_up"}},
        "quit": {"data": token},
        "send": {"data": {**token, "handoffs": "0"}},
        "packet": {"data": token, "files": {"packet": (packet.name, packet.read_bytes(),
                                                       "application/zip")}},
    }
    journal = JournalFolder(desk_dir).path(call_id)
    before = journal.read_bytes()
    lee = make_client(desk_dir)
    lee_home = login(lee, "lee")
    alex = make_client(desk_dir)
    alex_home = login(alex, "alex")
    with held(desk_dir, call_id):
        for form, parts in forms.items():
            r = sam.post(f"/calls/{call_id}/{form}", **parts)
            assert r.status_code == 409, (form, r.status_code, r.text)
            assert "being answered elsewhere" in r.text and "No such call" not in r.text
        # a lead may write any call: busy for the lead too
        lead = lee.post(f"/calls/{call_id}/note",
                        data={**token, "csrf": field(lee_home, "csrf"), "text": "x"})
        assert lead.status_code == 409 and "being answered elsewhere" in lead.text
        # someone who may not see the call learns nothing of it: not found, as no call
        other = alex.post(f"/calls/{call_id}/note",
                          data={**token, "csrf": field(alex_home, "csrf"), "text": "x"})
        missing = alex.post("/calls/20990101-000000-ffff/note",
                            data={**token, "csrf": field(alex_home, "csrf"), "text": "x"})
        assert other.status_code == missing.status_code == 404
        strip = lambda text: re.sub(r'value="[^"]*"', "", text)  # noqa: E731
        assert strip(other.text) == strip(missing.text)
        # its pages are only read: they are shown meanwhile
        for page_of_call in ("", "/history", "/route", "/abandon", "/change"):
            assert sam.get(f"/calls/{call_id}{page_of_call}").status_code == 200, page_of_call
    assert journal.read_bytes() == before
    assert not (desk_dir / "calls" / f"{call_id}.packets").exists()
    # let go: the same form is taken
    r = sam.post(f"/calls/{call_id}/note", **forms["note"])
    assert r.status_code == 200 and "Note saved." in r.text
