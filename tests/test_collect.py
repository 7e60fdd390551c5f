"""The escalation packet: real Linux evidence, the Table 7.3 file set from captured
Windows output, changes always undone, failures recorded, redaction complete."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import zipfile
from collections.abc import Sequence
from pathlib import Path

import pytest

from wizard.calls.engine import Engine
from wizard.checks import RunOutput, System
from wizard.config.organization import OrgConfig
from wizard.evidence import (
    COLLECTORS,
    Change,
    Collector,
    Command,
    PacketRequest,
    Text,
    make_packet,
    scrub_secrets,
)

from .helpers.calls import replay, shipped, start_call_by_command
from .helpers.run import cli_env, run_cli

CAPTURED = Path(__file__).parent / "data" / "captured"


def read_zip(path: Path) -> dict[str, str]:
    with zipfile.ZipFile(path) as zf:
        return {n: zf.read(n).decode() for n in zf.namelist()}


def request(tmp_path: Path, **kw: object) -> PacketRequest:
    base: dict[str, object] = dict(out_dir=tmp_path / "out", comp="ws-ann", target="localhost",
                                   tickets={"md": "# ticket for ws-ann\n"}, record=None,
                                   call_id=None, redact=False, make_changes=True)
    base.update(kw)
    return PacketRequest(**base)  # type: ignore[arg-type]


def test_linux_packet_has_evidence_manifest_and_checksums(tmp_path: Path) -> None:
    path, ev = make_packet(request(tmp_path), System(), OrgConfig())
    assert path.name.startswith("ipsec_ws-ann_localhost_") and path.suffix == ".zip"
    files = read_zip(path)
    for name in ("ticket.md", "manifest.json", "evidence/ws-ann_OSInfo.txt",
                 "evidence/ws-ann_ip_addr.txt", "evidence/ws-ann_resolv.conf.txt"):
        assert name in files, sorted(files)
    manifest = json.loads(files["manifest.json"])
    for member, digest in manifest["checksums"].items():
        assert hashlib.sha256(files[member].encode()).hexdigest() == digest
    by_file = {f["command"]: f for f in manifest["files"] if f.get("command")}
    assert by_file["ip address show"]["returncode"] == 0
    missing = [e for e in manifest["errors"] if "not installed here" in (e["error"] or "")]
    if not Path("/usr/sbin/swanctl").exists():
        assert any(e["collector"] == "linux_ipsec" for e in missing)
    assert all(c["applies"] is (c["name"] in {"os_info", "reachability", "linux_network",
                                             "linux_ipsec"}) for c in manifest["collectors"])


def test_a_hung_command_and_a_broken_collector_do_not_stop_the_rest(tmp_path: Path) -> None:
    def broken(ctx: object) -> list[Text]:
        raise RuntimeError("collector bug")

    slow = Collector("slow", "hangs", ("linux",),
                     lambda ctx: [Command("slow.txt", ("sleep", "10"), timeout=0.3)])
    crash = Collector("crash", "raises", ("linux",), broken)
    fine = Collector("fine", "works", ("linux",),
                     lambda ctx: [Text("fine.txt", lambda: "all good\n")])
    path, _ = make_packet(request(tmp_path), System(platform="linux"), OrgConfig(),
                          collectors=(slow, crash, fine))
    files = read_zip(path)
    manifest = json.loads(files["manifest.json"])
    assert files["evidence/fine.txt"] == "all good\n"
    assert "slow.txt" in manifest["timeouts_hit"][0]
    assert {"collector": "crash", "error": "RuntimeError: collector bug"} in manifest["errors"]


def marker_collector(marker: Path, boom: bool = False) -> Collector:
    def tasks(ctx: object) -> list[Text]:
        def make() -> str:
            if boom:
                raise KeyboardInterrupt
            return f"marker present during capture: {marker.exists()}\n"
        return [Text("capture.txt", make)]

    change = Change("Create a marker file", ("touch", str(marker)), ("rm", "-f", str(marker)),
                    f"rm -f {marker}", read_before=("ls", "-la", str(marker.parent)))
    return Collector("marker", "test change", ("linux",), tasks, lambda ctx: [change])


def test_changes_are_made_for_the_capture_and_undone(tmp_path: Path) -> None:
    marker = tmp_path / "logging-raised"
    path, ev = make_packet(request(tmp_path), System(platform="linux"), OrgConfig(),
                           collectors=(marker_collector(marker),))
    files = read_zip(path)
    assert files["evidence/capture.txt"] == "marker present during capture: True\n"
    assert not marker.exists()
    assert ev.changes == [{"what": "Create a marker file", "undo": f"rm -f {marker}",
                           "applied": True, "undone": True, "error": None}]
    assert "to undo: rm -f" in files["evidence/ws-ann_RegDefault.txt"]


def test_changes_are_undone_even_when_interrupted(tmp_path: Path) -> None:
    marker = tmp_path / "logging-raised"
    with pytest.raises(KeyboardInterrupt):
        make_packet(request(tmp_path), System(platform="linux"), OrgConfig(),
                    collectors=(marker_collector(marker, boom=True),))
    assert not marker.exists()


def test_without_confirmation_nothing_is_changed(tmp_path: Path) -> None:
    marker = tmp_path / "logging-raised"
    _, ev = make_packet(request(tmp_path, make_changes=False), System(platform="linux"),
                        OrgConfig(), collectors=(marker_collector(marker),))
    assert not marker.exists()
    assert ev.changes[0]["applied"] is False and "not confirmed" in ev.changes[0]["error"]


def test_secrets_are_never_written() -> None:
    xfrm = ("src 10.0.0.1 dst 10.0.0.2\n\tproto esp spi 0xc1a2b3c4 reqid 1 mode tunnel\n"
            "\tauth-trunc hmac(sha256) 0x8d4f3e2a1b0c9d8e7f6a5b4c3d2e1f00aabbccddeeff0011 128\n"
            "\tenc cbc(aes) 0x00112233445566778899aabbccddeeff\n"
            "conn office\n  psk = \"s3cr3t-value\"\n  password: hunter2\n")
    out = scrub_secrets(xfrm)
    for secret in ("8d4f3e2a1b0c9d8e7f6a5b4c3d2e1f00", "00112233445566778899aabbccddeeff",
                   "s3cr3t-value", "hunter2"):
        assert secret not in out
    assert "spi 0xc1a2b3c4" in out  # an SPI is not a key


class CapturedWindows(System):
    """A Windows computer seen through captured output; records every command run."""

    def __init__(self) -> None:
        super().__init__(platform="win32")
        self.argvs: list[tuple[str, ...]] = []

    def run(self, argv: Sequence[str], timeout: float) -> RunOutput:
        self.argvs.append(tuple(argv))
        outputs = {
            "wevtutil": (CAPTURED / "win_wevtutil_4292.txt").read_text(),
            "ping": (CAPTURED / "win_ping_negotiating.txt").read_text(),
            "cscript": (CAPTURED / "win_detect_policy_stale.txt").read_text(),
        }
        return RunOutput(tuple(argv), 0, outputs.get(argv[0], f"output of {argv[0]}\n"), "")


def test_windows_packet_is_the_table_7_3_file_set(tmp_path: Path) -> None:
    system = CapturedWindows()
    path, ev = make_packet(request(tmp_path, target="fs01"), system, OrgConfig())
    names = {n.removeprefix("evidence/") for n in read_zip(path)}
    for suffix in ("FileVer.txt", "gpresult.txt", "ipsec_547_events.txt",
                   "ipsec_policy_version.txt", "kerberos_events.txt", "netdiag.txt",
                   "netsh_show_all.txt", "netsh_show_gpo.txt", "OSInfo.txt",
                   "klist_purge_mt.txt", "ipseccmd_show_all.txt",
                   "RegDefault.txt", "fs01_netview.txt", "fs01_ping.txt"):
        assert f"ws-ann_{suffix}" in names, suffix
    # logging raised before the capture, put back after it, in reverse order
    applies = [i for i, a in enumerate(system.argvs) if a[:2] == ("reg", "add")
               or a[-2:] == ("ikelogging", "1")]
    undoes = [i for i, a in enumerate(system.argvs) if a[:2] == ("reg", "delete")
              or a[-2:] == ("ikelogging", "0")]
    capture = system.argvs.index(("systeminfo",))
    assert max(applies) < capture < min(undoes) and len(undoes) == 3
    assert all(c["undone"] for c in ev.changes)


def test_redacted_packet_keeps_no_original_value(tmp_path: Path) -> None:
    answers = next(a for a, s in Engine(shipped()).paths()
                   if s.visit.node_key == "fig7_3.escalate_logon" and a["intake.target_ip"])
    answers |= {"intake.caller_machine": "ws-ann", "intake.target": "fin-app01.woodgrove.example",
                "intake.target_ip": "10.20.30.40", "intake.caller_name": "Ann Caller",
                "intake.caller_contact": "ann.caller@woodgrove.example",
                "intake.details": "now", "intake.since": "", "intake.existing_ticket": ""}
    call, _, tickets = replay(answers, tmp_path / "data")
    org = OrgConfig(redact_keywords=["woodgrove"], dns_suffix="woodgrove.example")
    req = request(tmp_path, comp="ws-ann", target="fin-app01.woodgrove.example",
                  tickets=tickets, record={"answers": call.state.values()},
                  call_id=call.call_id, redact=True, people=("Ann Caller", "tester"))
    path, _ = make_packet(req, System(org), org)
    map_path = path.with_name(path.name + ".redaction-map.json")
    assert map_path.is_file() and (map_path.stat().st_mode & 0o777) == 0o600
    mapping = json.loads(map_path.read_text())
    originals = set(mapping.values())
    assert {"ws-ann", "fin-app01.woodgrove.example", "10.20.30.40", "Ann Caller",
            "ann.caller@woodgrove.example"} <= originals
    with zipfile.ZipFile(path) as zf:
        blobs = [(n, zf.read(n).decode()) for n in zf.namelist()]
    haystack = "\n".join([path.name] + [n for n, _ in blobs] + [b for _, b in blobs]).lower()
    for value in originals | {"woodgrove", "ann caller"}:
        assert value.lower() not in haystack, value
    manifest = json.loads(dict(blobs)["manifest.json"])
    assert manifest["redacted"] is True and manifest["computer"].startswith("host-")


def test_collect_command_builds_a_packet_for_a_call(tmp_path: Path, data_dir: Path) -> None:
    env = cli_env(data_dir)
    start_call_by_command(tmp_path, env)
    out = tmp_path / "packets"
    r = run_cli(["collect", "--call", "last", "-o", str(out)], env)
    assert r.returncode == 0, r.stderr
    (packet,) = out.glob("ipsec_ws-sample01_srv-sample.corp.example_*.zip")
    files = read_zip(packet)
    assert {"ticket.md", "ticket.txt", "call.json", "manifest.json"} <= set(files)
    assert json.loads(files["call.json"])["ended"]["status"] == "not_fixed"
    assert f"Packet: {packet}" in r.stdout
    bad = run_cli(["collect", "--target=-f"], env)
    assert bad.returncode == 2 and "looks like a command option" in bad.stderr


def test_a_redacted_packet_names_no_one_who_answered_the_call(tmp_path: Path,
                                                             data_dir: Path) -> None:
    """The call record in a redacted packet names who gave each answer (``by``): every
    one of them is redacted, not only the staffer who started the call."""
    import yaml

    answers = next(a for a, s in Engine(shipped()).paths()
                   if s.visit.node_key == "fig7_2.escalate_caller")
    first = {k: v for k, v in answers.items() if k.startswith("intake.")}
    env = cli_env(data_dir)
    for staffer, part in (("anabelle", first), ("bolivar", answers)):
        (tmp_path / "a.yaml").write_text(yaml.safe_dump({"answers": part}))
        command = "start" if staffer == "anabelle" else "resume"
        run_cli([command, "--staffer", staffer, "--answers", str(tmp_path / "a.yaml"),
                 "--no-checks"], env)
    record = run_cli(["show", "last", "--json"], env).stdout
    assert '"by": "bolivar"' in record and '"by": "anabelle"' in record
    out = tmp_path / "packets"
    r = run_cli(["collect", "--call", "last", "--redact", "-o", str(out)], env)
    assert r.returncode == 0, r.stderr
    (packet,) = out.glob("*.zip")
    text = "\n".join(read_zip(packet).values()).lower()
    assert "bolivar" not in text and "anabelle" not in text


def test_every_collector_declares_itself() -> None:
    for col in COLLECTORS:
        assert col.name and col.description and col.platforms
    assert os.sep  # collectors are importable on every platform


def test_a_kill_signal_during_capture_still_undoes_the_changes(tmp_path: Path) -> None:
    """The real command, killed with SIGTERM while it captures: the change is undone."""
    import signal
    import sys

    marker = tmp_path / "logging-raised"
    script = tmp_path / "run.py"
    script.write_text(f"""
import sys, time
sys.path.insert(0, {str(Path(__file__).resolve().parent.parent)!r})
from pathlib import Path
from wizard.evidence import Change, Collector, PacketRequest, Text, make_packet
from wizard.config.organization import OrgConfig
from wizard.checks import System

def slow():
    print("capturing", flush=True)
    time.sleep(30)
    return ""

change = Change("marker", ("touch", {str(marker)!r}), ("rm", "-f", {str(marker)!r}), "rm it")
col = Collector("slow", "slow", ("linux",), lambda ctx: [Text("x.txt", slow)],
                lambda ctx: [change])
req = PacketRequest(out_dir=Path({str(tmp_path / 'out')!r}), comp="ws", target=None,
                    tickets={{}}, record=None, call_id=None, redact=False, make_changes=True)
try:
    make_packet(req, System(platform="linux"), OrgConfig(), collectors=(col,))
except KeyboardInterrupt:
    print("interrupted", flush=True)
    sys.exit(130)
""")
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "capturing"
    assert marker.exists()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=20) == 130
    assert proc.stdout.read().strip() == "interrupted"
    assert not marker.exists()
