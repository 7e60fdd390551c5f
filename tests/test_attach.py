"""A packet coming back to the call (``attach`` and the service under it): a packet of
``collect`` and one in the collector script's layout are taken, kept with the call
(0600), analysed, listed in the ticket and attached by ``send``; hostile or wrong packets
are refused in one line and nothing of the call changes."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import struct
import subprocess
import zipfile
from pathlib import Path

import pytest

from wizard.base.errors import TriageError
from wizard.calls.journal import JournalFolder
from wizard.checks import System
from wizard.config.organization import OrgConfig
from wizard.evidence import PacketRequest, layout, make_packet
from wizard.handoff.parcel import build_parcel
from wizard.service.desk import Desk
from wizard.service.evidence import attach_packet, packet_folder

from .helpers import evidence_events as ev
from .helpers.calls import HOLD_LOCK, replay, route_to
from .helpers.run import PYTHON, cli_env, run_cli

T0 = "2026-12-01T09:14:02.1234567Z"
EVENTS = "\n".join([ev.mm_failure(T0, "10.20.30.40", "Negotiation timed out"),
                    ev.mm_failure(T0, "10.20.30.40", "Negotiation timed out")]).encode()


@pytest.fixture
def call(data_dir: Path) -> tuple[Desk, str]:
    answers = route_to("fig7_2.escalate_caller")
    answers["intake.caller_machine"] = "ws-ann"
    c, _, _ = replay(answers, data_dir)
    return Desk(data_dir, environ=dict(os.environ)), c.call_id


def script_packet(path: Path, call_id: str | None, members: dict[str, bytes], *,
                  manifest: dict[str, object] | None = None, lie: str | None = None) -> Path:
    """A packet as the collector script writes it (layout.MANIFEST_KEYS, FILE_KEYS,
    SCRIPT_KEYS; checksums of every member)."""
    checksums = {n: hashlib.sha256(b).hexdigest() for n, b in members.items()}
    if lie:
        checksums[lie] = "0" * 64
    files = [{"file": n, "command": "Get-WinEvent", "returncode": 0, "duration": 1.2,
              "timeout_hit": False, "error": None, "sha256": checksums[n], "size": len(b),
              "collector": "ipsec_events"} for n, b in members.items()]
    data: dict[str, object] = {
        "packet": path.name, "created": "2026-12-01T09:20:00+01:00", "call_id": call_id,
        "computer": "ws-ann", "collected_on": "WS-ANN", "destination": "fs01",
        "platform": "win32", "files": files, "checksums": checksums, "errors": [],
        "timeouts_hit": [], "collector_version": layout.COLLECTOR_VERSION,
        "windows_build": "22631", "administrator": True}
    data.update(manifest or {})
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        # PowerShell 5.1's ConvertTo-Json written by WriteAllText(UTF8, no BOM)
        zf.writestr(layout.MANIFEST, json.dumps(data))
        for name, body in members.items():
            zf.writestr(name, body)
    return path


def call_files(data_dir: Path) -> dict[str, bytes]:
    root = data_dir / "calls"
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and not p.name.endswith(".lock")}


def test_a_collector_packet_is_kept_analysed_listed_and_sent(tmp_path: Path, data_dir: Path,
                                                             call: tuple[Desk, str]) -> None:
    desk, call_id = call
    pkt = script_packet(tmp_path / "ipsec_ws-ann.zip", call_id,
                        {"evidence/ws-ann_events_mainmode.xml": EVENTS,
                         "evidence/ws-ann_klist.txt": b"Cached Tickets: (0)\r\n"})
    done = attach_packet(desk, call_id, pkt)
    assert done.path.parent == packet_folder(desk.journals(), call_id)
    assert stat.S_IMODE(done.path.stat().st_mode) == 0o600
    assert done.path.read_bytes() == pkt.read_bytes()
    (finding,) = done.findings
    assert finding["peer"] == "10.20.30.40" and finding["failure_code"] == 13805
    ticket = desk.journals().ticket_path(call_id, "md").read_text()
    assert "## Evidence packet" in ticket and "`ws-ann_events_mainmode.xml`" in ticket
    assert "## For Tier 2" in ticket and "10.20.30.40" in ticket and "(13805)" in ticket
    assert "Windows build 22631" in ticket
    txt = desk.journals().ticket_path(call_id, "txt").read_text()
    assert "FOR TIER 2:" in txt and "ws-ann_klist.txt" in txt
    state = desk.journals().load(call_id)
    parcel = build_parcel(state, desk.journals(), "tier2")
    assert done.path.name in [a.name for a in parcel.attachments]


def test_a_packet_for_a_call_open_elsewhere_waits_then_is_refused_changing_nothing(
        tmp_path: Path, data_dir: Path, call: tuple[Desk, str]) -> None:
    """The call's lock held by another program (a terminal's resume of it): attach
    waits for it, then says the call is being answered elsewhere; no packet is kept and
    no event written beside the other writer's."""
    desk, call_id = call
    pkt = script_packet(tmp_path / "ipsec_ws-ann.zip", call_id,
                        {"evidence/ws-ann_events_mainmode.xml": EVENTS})
    before = call_files(data_dir)
    holder = subprocess.Popen([PYTHON, "-c", HOLD_LOCK, str(data_dir), call_id],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                              env=cli_env(data_dir))
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        r = run_cli(["attach", call_id, str(pkt)], cli_env(data_dir))
    finally:
        holder.kill()
        holder.wait()
    assert r.returncode != 0
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    assert call_id in lines[0] and ("elsewhere" in lines[0] or "open" in lines[0]), lines
    assert call_files(data_dir) == before


def test_a_collect_packet_of_the_call_is_taken(tmp_path: Path, data_dir: Path,
                                               call: tuple[Desk, str]) -> None:
    desk, call_id = call
    req = PacketRequest(out_dir=tmp_path / "out", comp="ws-ann", target=None, tickets={},
                        record=None, call_id=call_id, redact=False, make_changes=False)
    path, _ = make_packet(req, System(platform="linux"), OrgConfig())
    with zipfile.ZipFile(path) as zf:
        assert all(layout.member_ok(n) for n in zf.namelist())  # one layout, both sides
    done = attach_packet(desk, call_id, path)
    assert any(n.startswith("evidence/ws-ann_") for n, _ in done.members)


def test_redact_on_import_keeps_the_map_outside(tmp_path: Path, data_dir: Path,
                                                call: tuple[Desk, str]) -> None:
    desk, call_id = call
    pkt = script_packet(tmp_path / "p.zip", call_id,
                        {"evidence/ws-ann_events_mainmode.xml": EVENTS})
    done = attach_packet(desk, call_id, pkt, redact=True)
    with zipfile.ZipFile(done.path) as zf:
        blob = b"".join(zf.read(n) for n in zf.namelist()) + "".join(zf.namelist()).encode()
        manifest = json.loads(zf.read("manifest.json"))
    assert b"10.20.30.40" not in blob and b"ws-ann" not in blob.lower()
    assert manifest["redacted"] is True
    mapping = json.loads(done.path.with_name(done.path.name + ".redaction-map.json").read_text())
    assert "10.20.30.40" in mapping.values()
    assert "10.20.30.40" not in json.dumps(done.findings)
    # the redacted copy checks against its own manifest
    from wizard.evidence.attach import check_packet

    assert check_packet(done.path, call_id=call_id, computer=None).evidence


def zip_bomb(path: Path) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("manifest.json", "{}")
        zf.writestr("evidence/x_events.xml", b"\0" * (20 * 2**20))
    return path


def traversal(path: Path, name: str) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("manifest.json", "{}")
        zf.writestr(name, b"x")
    return path


def symlink(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("manifest.json", "{}")
        info = zipfile.ZipInfo("evidence/x_link.txt")
        info.create_system = 3
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(info, "/etc/passwd")
    return path


def claims_2gb(path: Path, call_id: str) -> Path:
    script_packet(path, call_id, {"evidence/x_big.txt": b"small"})
    data = bytearray(path.read_bytes())
    at = data.find(b"PK\x01\x02" , data.find(b"evidence/x_big.txt") - 60)
    while data[at + 46: at + 46 + 18] != b"evidence/x_big.txt":
        at = data.find(b"PK\x01\x02", at + 4)
    data[at + 24: at + 28] = struct.pack("<I", 2 * 2**30)  # uncompressed size
    path.write_bytes(bytes(data))
    return path


def xml_bomb(path: Path, call_id: str) -> Path:
    bomb = (b"<?xml version='1.0'?><!DOCTYPE l [<!ENTITY a 'aaaaaaaaaa'><!ENTITY b "
            b"'&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;'><!ENTITY c '&b;&b;&b;&b;&b;&b;&b;&b;'>]>"
            b"<Event>&c;</Event>")
    return script_packet(path, call_id, {"evidence/ws-ann_events_mainmode.xml": bomb})


def not_a_zip(path: Path) -> Path:
    path.write_bytes(b"PK\x03\x04 not a zip")
    return path


def truncated(path: Path, call_id: str) -> Path:
    script_packet(path, call_id, {"evidence/ws-ann_events_mainmode.xml": EVENTS * 50})
    path.write_bytes(path.read_bytes()[:-300])
    return path


@pytest.mark.parametrize("make, words", [
    (lambda p, c: zip_bomb(p), "zip bomb"),
    (lambda p, c: traversal(p, "../../outside.txt"), "climbs out of its folder"),
    (lambda p, c: traversal(p, "/etc/cron.d/x"), "absolute path"),
    (lambda p, c: traversal(p, "C:\\Windows\\x.txt"), "absolute path"),
    (lambda p, c: traversal(p, "evidence/sub/x.txt"), "is not part of a packet"),
    (lambda p, c: symlink(p), "is a link"),
    (lambda p, c: script_packet(p, c, {"evidence/ws-ann_a.txt": b"a"},
                                lie="evidence/ws-ann_a.txt"), "does not match its sha256"),
    (lambda p, c: script_packet(p, c, {"evidence/ws-ann_a.txt": b"a"},
                                lie="evidence/ws-ann_gone.txt"), "missing"),
    (lambda p, c: script_packet(p, c, {"evidence/ws-ann_a.txt": b"a"},
                                manifest={"checksums": {}}), "not in the manifest"),
    (claims_2gb, "claims 2048 MiB"),
    (xml_bomb, "declares a DTD"),
    (lambda p, c: script_packet(p, "20200101-000000-beef", {"evidence/ws-ann_a.txt": b"a"}),
     "it is for call 20200101-000000-beef"),
    (lambda p, c: script_packet(p, None, {"evidence/ws-ann_a.txt": b"a"},
                                manifest={"computer": "ws-bob"}), "of computer 'ws-bob'"),
    (truncated, "truncated or damaged"),
    (lambda p, c: not_a_zip(p), "not a zip file"),
])
def test_a_hostile_or_wrong_packet_is_refused_and_nothing_changes(
        tmp_path: Path, data_dir: Path, call: tuple[Desk, str], make: object,
        words: str) -> None:
    desk, call_id = call
    before = call_files(data_dir)
    pkt = make(tmp_path / "ipsec_ws-ann.zip", call_id)  # type: ignore[operator]
    with pytest.raises(TriageError, match=words) as info:
        attach_packet(desk, call_id, pkt)
    message = str(info.value)
    assert "\n" not in message and message.startswith("ipsec_ws-ann.zip: ")
    assert call_files(data_dir) == before
    assert not (tmp_path.parent / "outside.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "ipsec_ws-ann.zip"]


def test_attach_command(tmp_path: Path, data_dir: Path) -> None:
    c, _, _ = replay(route_to("fig7_2.escalate_caller") | {"intake.caller_machine": "ws-ann"},
                     data_dir)
    pkt = script_packet(tmp_path / "ipsec_ws-ann.zip", c.call_id,
                        {"evidence/ws-ann_events_mainmode.xml": EVENTS})
    env = cli_env(data_dir)
    r = run_cli(["attach", c.call_id, str(pkt)], env)
    assert r.returncode == 0, r.stderr
    assert "Packet kept with the call:" in r.stdout and "For Tier 2: 10.20.30.40" in r.stdout
    state = JournalFolder(data_dir).load(c.call_id)
    assert state.packets[-1]["source"] == "attached"
    r = run_cli(["show", c.call_id], env)
    assert "Evidence packet: ipsec_ws-ann.zip (1 evidence files)" in r.stdout
    assert "For Tier 2: 10.20.30.40: main: negotiation timed out (2x); likely cause" in \
        " ".join(r.stdout.split())
    bad = traversal(tmp_path / "bad.zip", "../x")
    r = run_cli(["attach", c.call_id, str(bad)], env)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
    assert "bad.zip: packet refused: member '../x' climbs out" in r.stderr
