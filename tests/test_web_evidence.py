"""The web desk's evidence path: the collector script offered on a call's log step and
downloaded, the caller's packet uploaded on the call's end page (the call's staffer, a
lead, an admin), its findings shown; a wrong packet is one line and changes nothing."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from wizard.calls.call import Call
from wizard.calls.engine import Engine
from wizard.calls.journal import JournalFolder
from wizard.calls.replay import AnswersFile, DocumentError, run
from wizard.config.organization import OrgConfig
from wizard.records.ending import write_tickets_then_end

from .helpers.calls import route_to, shipped
from .helpers.web import add_users, field, login, make_client
from .test_attach import EVENTS, script_packet, traversal


def lee_call(data_dir: Path, end: str = "fig7_2.escalate_caller", *,
             stop_at_logs: bool = False) -> str:
    """A call of the lead lee, ended at ``end`` (or left at its log step)."""
    answers = route_to(end) | {"intake.caller_machine": "ws-ann"}
    if stop_at_logs:
        path = next(a for a, s in Engine(shipped()).paths()
                    if "fig7_2.logs_rras" in a)
        answers = {k: v for k, v in path.items() if k != "fig7_2.logs_rras"}
        answers["intake.caller_machine"] = "ws-ann"
    call = Call.start(flowset=shipped(), journals=JournalFolder(data_dir), org=OrgConfig(),
                      staffer="lee", mode="answers_file")
    try:
        try:
            step = run(call, AnswersFile(Path("a.yaml"), answers, {}), probes=False)
        except DocumentError:
            assert stop_at_logs
        else:
            write_tickets_then_end(call, step)
    finally:
        call.close()
    return call.call_id


@pytest.fixture
def client(data_dir: Path):  # type: ignore[no-untyped-def]
    add_users(data_dir)
    return make_client(data_dir)


def test_the_log_step_offers_the_collector_script(data_dir: Path, client) -> None:  # type: ignore[no-untyped-def]
    call_id = lee_call(data_dir, stop_at_logs=True)
    login(client, "lee")
    page = client.get(f"/calls/{call_id}").text
    assert "Download the collector script" in page
    assert f'href="/calls/{call_id}/collector.ps1"' in page
    assert "powershell -ExecutionPolicy Bypass -File .\\ipsec-collect_ws-ann_" in page
    r = client.get(f"/calls/{call_id}/collector.ps1")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    assert re.fullmatch(r'attachment; filename="ipsec-collect_ws-ann_[\w-]+\.ps1"',
                        r.headers["content-disposition"])
    assert f"$CallId = '{call_id}'" in r.text and "$Computer = 'ws-ann'" in r.text


def test_another_staffers_call_gives_no_script_and_takes_no_packet(
        tmp_path: Path, data_dir: Path, client) -> None:  # type: ignore[no-untyped-def]
    call_id = lee_call(data_dir)
    login(client, "sam")
    assert client.get(f"/calls/{call_id}/collector.ps1").status_code == 404
    home = client.get("/").text
    pkt = script_packet(tmp_path / "p.zip", call_id, {"evidence/ws-ann_a.xml": EVENTS})
    r = client.post(f"/calls/{call_id}/packet", data={"csrf": field(home, "csrf")},
                    files={"packet": ("p.zip", pkt.read_bytes(), "application/zip")})
    assert r.status_code == 404
    assert not JournalFolder(data_dir).load(call_id).packets


def test_the_end_page_takes_the_packet_and_shows_the_findings(
        tmp_path: Path, data_dir: Path, client) -> None:  # type: ignore[no-untyped-def]
    call_id = lee_call(data_dir)
    login(client, "lee")
    page = client.get(f"/calls/{call_id}").text
    assert 'enctype="multipart/form-data"' in page and "No packet yet" in page
    pkt = script_packet(tmp_path / "ipsec_ws-ann.zip", call_id,
                        {"evidence/ws-ann_events_mainmode.xml": EVENTS})
    r = client.post(f"/calls/{call_id}/packet", data={"csrf": field(page, "csrf")},
                    files={"packet": ("ipsec_ws-ann.zip", pkt.read_bytes(),
                                      "application/zip")})
    assert r.status_code == 200
    assert "Packet ipsec_ws-ann.zip taken into the call: 1 finding(s)" in r.text
    assert "<b>10.20.30.40</b>: main: negotiation timed out (13805)" in r.text
    assert "read the peer&#39;s own IPsec events" in r.text
    assert "## For Tier 2" in r.text  # the ticket shown on the page lists it
    state = JournalFolder(data_dir).load(call_id)
    assert Path(state.packets[-1]["path"]).is_file()
    assert not list((data_dir / "uploads").glob("*.zip"))  # the upload's copy is gone


def test_a_wrong_upload_is_one_line_and_changes_nothing(
        tmp_path: Path, data_dir: Path, client) -> None:  # type: ignore[no-untyped-def]
    call_id = lee_call(data_dir)
    login(client, "lee")
    page = client.get(f"/calls/{call_id}").text
    bad = traversal(tmp_path / "evil.zip", "../../x.txt")
    r = client.post(f"/calls/{call_id}/packet", data={"csrf": field(page, "csrf")},
                    files={"packet": ("..\\..\\evil.zip", bad.read_bytes(),
                                      "application/zip")})
    assert r.status_code == 200
    assert "evil.zip: packet refused: member &#39;../../x.txt&#39; climbs out" in r.text
    assert not JournalFolder(data_dir).load(call_id).packets
    assert not list((data_dir / "uploads").iterdir())
    assert not (data_dir / "calls" / f"{call_id}.packets").exists()
    r = client.post(f"/calls/{call_id}/packet", data={"csrf": "forged"},
                    files={"packet": ("p.zip", b"x", "application/zip")})
    assert r.status_code == 403
