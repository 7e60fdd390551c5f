"""The escalation packet against hostile values: redaction of structured data, Windows
accounts, MAC addresses and the call's own target; safe, bounded names; evidence
collected on another computer than the call's; a property test over generated values."""

from __future__ import annotations

import json
import re
import socket
import zipfile
from collections.abc import Sequence
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wizard.base.errors import TriageError
from wizard.checks import RunOutput, System
from wizard.config.organization import OrgConfig
from wizard.evidence import (
    COLLECTORS,
    Collector,
    Context,
    Copy,
    PacketRequest,
    Text,
    make_packet,
)
from wizard.evidence.redact import Redactor

from .test_cli import route_to, write_answers
from .test_hostile_input import cli

WINDOWS_UNSAFE = re.compile(r'[<>:"\\|?*%\x00-\x1f]')


class Quiet(System):
    """A computer whose commands all print ``output`` at once."""

    def __init__(self, output: str = "", platform: str = "linux") -> None:
        super().__init__(platform=platform)
        self.output = output

    def run(self, argv: Sequence[str], timeout: float) -> RunOutput:
        return RunOutput(tuple(argv), 0, f"{argv[0]}: {self.output}\n", "")


def members(path: Path) -> dict[str, str]:
    with zipfile.ZipFile(path) as zf:
        return {n: zf.read(n).decode() for n in zf.namelist()}


def haystack(path: Path) -> str:
    blobs = members(path)
    return "\n".join([path.name, *blobs, *blobs.values()]).lower()


def request(tmp_path: Path, **kw: object) -> PacketRequest:
    base: dict[str, object] = dict(out_dir=tmp_path / "out", comp="ws-ann", target="fs01",
                                   tickets={"md": "# ticket\n"}, record=None, call_id=None,
                                   redact=True, make_changes=False)
    base.update(kw)
    return PacketRequest(**base)  # type: ignore[arg-type]


def test_a_windows_account_in_the_call_record_is_redacted(tmp_path: Path) -> None:
    """JSON writes CORP\\hd-staffer as CORP\\\\hd-staffer: it is redacted before."""
    record = {"staffer": "CORP\\hd-staffer", "notes": ['caller said "OTHERDOM\\ann.c" works'],
              "answers": {"intake.caller_machine": {"value": "ws-ann"}}}
    req = request(tmp_path, record=record, people=("CORP\\hd-staffer",),
                  tickets={"md": "Staffer: CORP\\hd-staffer\n"})
    path, _ = make_packet(req, Quiet("logged on as CORP\\hd-staffer"), OrgConfig())
    text = haystack(path)
    for original in ("hd-staffer", "corp\\", "otherdom", "ann.c", "ws-ann"):
        assert original not in text, original
    call = json.loads(members(path)["call.json"])
    token = call["staffer"]
    assert token.startswith("user-") and token in members(path)["ticket.md"]
    assert f"logged on as {token}" in "\n".join(members(path).values())
    mapping = json.loads(path.with_name(path.name + ".redaction-map.json").read_text())
    assert mapping[token] == "CORP\\hd-staffer"


def test_secret_values_in_the_call_record_are_removed() -> None:
    from wizard.evidence.redact import scrub_value

    assert scrub_value({"password": "hunter2", "note": "psk: abc", "n": 3}) == {
        "password": "[removed]", "note": "psk: [removed]", "n": 3}


@pytest.mark.parametrize("mac", ["00:1A:2B:3C:4D:5E", "00-1a-2b-3c-4d-5e", "001a.2b3c.4d5e"])
def test_mac_addresses_are_redacted(mac: str, tmp_path: Path) -> None:
    path, _ = make_packet(request(tmp_path), Quiet(f"link/ether {mac} brd"), OrgConfig())
    assert mac.lower() not in haystack(path)
    assert "link/ether mac-0001 brd" in "\n".join(members(path).values())


def test_paths_and_registry_keys_are_not_taken_for_accounts() -> None:
    r = Redactor()
    for text in (r"C:\Windows\debug\oakley.log", r"HKLM\SYSTEM\CurrentControlSet",
                 r"NT AUTHORITY\SYSTEM", r"BUILTIN\Administrators"):
        assert r.text(text) == text
    assert r.text(r"WOODGROVE\ann") == "user-0001"


def test_the_forms_found_left_in_notes_and_hosts_files_are_redacted(tmp_path: Path) -> None:
    note = ("db02.corp.example is down for user@CORP and annc@corp; NIC 001A2B3C4D5E at "
            "010.001.002.003; Ann says fs01.corp.example too")
    hosts = tmp_path / "hosts"
    hosts.write_text("127.0.0.1 localhost\n10.9.8.7  filesrv9  # the file server\n")
    col = Collector("hosts", "hosts", ("linux",),
                    lambda ctx: [Copy("ws-ann_hosts.txt", hosts), Text("notes.txt", lambda: note)])
    req = request(tmp_path, record={"notes": [note, "copy from filesrv9"]},
                  people=("Ann Caller",), target="fs01.corp.example",
                  tickets={"txt": f"{note}\nasked filesrv9"})
    path, _ = make_packet(req, Quiet(), OrgConfig(), (col,))
    text = haystack(path)
    for original in ("db02", "corp", "user@", "annc", "001a2b3c4d5e", "010.001.002.003",
                     "ann", "fs01", "filesrv9", "10.9.8.7", "caller"):
        assert original not in text, original
    assert "ipsec_debug.vbs" in Redactor().text("IPsec_Debug.vbs debug\\x.log").lower()


def test_the_calls_own_target_is_redacted_when_another_is_named(
        tmp_path: Path, data_dir: Path) -> None:
    answers = route_to("fig7_2.escalate_caller")
    call_target = answers["intake.target"]
    code, _, err = cli(["start", "--answers", str(write_answers(tmp_path, answers)),
                        "--no-checks"], IPSEC_TRIAGE_DATA=str(data_dir))
    assert code == 0, err
    out = tmp_path / "packets"
    code, stdout, err = cli(["collect", "--call", "last", "--target", "other-srv.example",
                             "--redact", "--no-changes", "-o", str(out)],
                            IPSEC_TRIAGE_DATA=str(data_dir))
    assert code == 0, err
    (packet,) = out.glob("*.zip")
    text = haystack(packet)
    for original in (call_target, call_target.split(".")[0], "other-srv",
                     answers["intake.caller_machine"]):
        assert original.lower() not in text, original


def test_evidence_collected_on_another_computer_says_so(
        tmp_path: Path, data_dir: Path) -> None:
    answers = route_to("fig7_2.escalate_caller")
    machine = answers["intake.caller_machine"]
    assert machine.lower() != socket.gethostname().split(".")[0].lower()
    cli(["start", "--answers", str(write_answers(tmp_path, answers)), "--no-checks"],
        IPSEC_TRIAGE_DATA=str(data_dir))
    out = tmp_path / "packets"
    code, _, err = cli(["collect", "--call", "last", "--no-changes", "-o", str(out)],
                       IPSEC_TRIAGE_DATA=str(data_dir))
    assert code == 0, err
    warnings = [line for line in err.splitlines() if "not the call's computer" in line]
    assert len(warnings) == 1 and repr(socket.gethostname()) in warnings[0], err
    (packet,) = out.glob(f"ipsec_{machine}_*.zip")
    files = members(packet)
    assert json.loads(files["manifest.json"])["collected_on"] == socket.gethostname()
    assert f"collected on: {socket.gethostname()}\n" in files[f"evidence/{machine}_OSInfo.txt"]


def test_long_names_and_ipv6_literals_make_safe_bounded_names(tmp_path: Path) -> None:
    from wizard.evidence.packet import MAX_NAME

    comp = ".".join(["a" * 63, "b" * 63, "c" * 66])  # 194 characters, a valid name
    for system in (Quiet(), Quiet(platform="win32")):
        req = request(tmp_path / system.platform, comp=comp, target="fe80::1%eth0",
                      redact=False)
        path, _ = make_packet(req, system, OrgConfig())
        assert len(path.name) <= 130 and not WINDOWS_UNSAFE.search(path.name), path.name
        names = list(members(path))
        for name in names:
            leaf = name.rsplit("/", 1)[-1]
            assert len(leaf) <= MAX_NAME and not WINDOWS_UNSAFE.search(name), name
        assert any(n.endswith("_OSInfo.txt") for n in names)
        assert any(n.endswith("_ping.txt") for n in names)
        assert len(names) == len(set(names))
        assert path.with_name(path.name + ".redaction-map.json").name.__len__() < 255


@pytest.mark.parametrize("raw, safe", [("CON", "_CON"), ("nul.txt", "_nul.txt"),
                                       ("com1", "_com1"), ("a<b>c:d\"e|f?g*h", "a-b-c-d-e-f-g-h"),
                                       ("name. ", "name"), ("fe80::1%eth0", "fe80-1-eth0")])
def test_safe_name(raw: str, safe: str) -> None:
    from wizard.evidence.packet import safe_name

    assert safe_name(raw) == safe


def test_a_packet_that_cannot_be_written_fails_before_collecting(tmp_path: Path) -> None:
    ran: list[str] = []
    col = Collector("marker", "marker", ("linux", "win32", "darwin"),
                    lambda ctx: [Text("x.txt", lambda: ran.append("x") or "x")])
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the folder should be")
    with pytest.raises(TriageError, match="nothing was collected"):
        make_packet(request(tmp_path, out_dir=blocked / "out"), Quiet(), OrgConfig(), (col,))
    assert ran == []


# -- property: a redacted packet holds none of the originals -----------------------------

_WORD = st.text("bcdfghjkmnpqrstvwxz", min_size=5, max_size=10).map(lambda s: "zq" + s)
_OCTET = st.integers(1, 254)


def _ip(octets: tuple[int, int, int, int], padded: bool) -> str:
    return ".".join(f"{o:03d}" if padded else str(o) for o in octets)


_IP = st.builds(_ip, st.tuples(_OCTET, _OCTET, _OCTET, _OCTET), st.booleans())


def _mac(raw: bytes, sep: str) -> str:
    digits = raw.hex()
    if sep == ".":
        return ".".join(digits[i:i + 4] for i in (0, 4, 8))
    return sep.join(digits[i:i + 2] for i in range(0, 12, 2))


_MAC = st.builds(_mac, st.binary(min_size=6, max_size=6),
                 st.sampled_from([":", "-", ".", ""]))


def _hosts_file(tmp: Path, text: str) -> Collector:
    """A hosts file as /etc/hosts and drivers\\etc\\hosts write it, copied last."""
    path = tmp / "hosts"
    path.write_text(f"127.0.0.1 localhost\n{text}  # file server\n")
    return Collector("hosts", "hosts file", ("linux",),
                     lambda ctx: [Copy(f"{ctx.comp}_hosts.txt", path)])


@settings(max_examples=40, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture,
                                 HealthCheck.too_slow])
@given(host=_WORD, target=_WORD, other=_WORD, listed=_WORD, user=_WORD, domain=_WORD,
       first=_WORD, last=_WORD, keyword=_WORD, suffix=_WORD, ip=_IP, ip2=_IP, mac=_MAC,
       upper=st.booleans(), suffix_known=st.booleans())
def test_a_redacted_packet_contains_none_of_the_originals(
        tmp_path_factory: pytest.TempPathFactory, host: str, target: str, other: str,
        listed: str, user: str, domain: str, first: str, last: str, keyword: str,
        suffix: str, ip: str, ip2: str, mac: str, upper: bool, suffix_known: bool) -> None:
    """Every form an identifier takes in notes, command output and files: an account
    (``DOMAIN\\user``), a UPN with a bare domain (``user@DOMAIN``), an e-mail address,
    a fully qualified name, another host under the same DNS suffix, the suffix alone, a
    short host name with the suffix after it, the caller's first name alone, an IP
    address zero-padded or not, a MAC with or without separators, a host named only in
    a hosts file; with and without the organization's DNS suffix configured."""
    tmp = tmp_path_factory.mktemp("packet")
    dns = f"{suffix}.example"
    account = f"{domain.upper() if upper else domain}\\{user}"
    fqdn = f"{target}.{dns}"
    email = f"{first}.{last}@{dns}"
    upn = f"{user}@{domain.upper()}"
    mixed = mac.upper() if upper else mac
    caller = f"{first} {last}"
    line = (f"{host} {account} {fqdn} {ip} {mixed} {email} {keyword.upper()} "
            f'"{account}" {host}\\{user}$ {upn} {other}.{dns} {host}.{dns} ({dns}) '
            f"{first} said {listed} is down")
    record = {"staffer": account, "caller": caller, "answers": {
        "intake.caller_machine": host, "intake.target": fqdn, "intake.target_ip": ip,
        "intake.caller_contact": email, "intake.details": line}, "notes": [line]}
    req = request(tmp, comp=host, target=fqdn, tickets={"md": line, "txt": line},
                  record=record, people=(account, caller))
    org = OrgConfig(redact_keywords=[keyword], dns_suffix=dns if suffix_known else "")
    collectors = (*COLLECTORS, _hosts_file(tmp, f"{ip2} {listed} {listed}.{dns}"))
    path, _ = make_packet(req, Quiet(line), org, collectors)
    files = members(path)
    (hosts,) = [n for n in files if n.endswith("_hosts.txt")]
    assert "ip-" in files[hosts] and "host-" in files[hosts]  # copied, then redacted
    text = haystack(path)  # the packet's name, its members' names and contents, manifest
    for original in (host, target, other, listed, fqdn, user, domain, account, upn, first,
                     last, caller, keyword, suffix, dns, ip, ip2, mac, email):
        assert original.lower() not in text, (original, text[:2000])
    mapping = path.with_name(path.name + ".redaction-map.json").read_text().lower()
    assert host in mapping and ip in mapping and listed in mapping


def test_two_calls_packets_of_the_same_minute_are_both_kept(tmp_path: Path) -> None:
    """Same computer, same target, same minute, one folder: the call's token makes the
    names differ, and a packet never replaces another (the same call collected twice)."""
    from datetime import datetime

    from wizard.evidence import Evidence
    from wizard.evidence.packet import build_packet
    from wizard.evidence.redact import Redactor

    ctx = Context(system=Quiet(), comp="ws-ann", target="fs01", platform="linux",
                  timeout=1.0, hostname="ws-ann")
    when = datetime(2026, 12, 7, 23, 5, 10)
    made = []
    for call_id in ("20261207-230501-1a2b", "20261207-230502-3c4d", "20261207-230501-1a2b"):
        ev = Evidence(files={"ws-ann_OSInfo.txt": f"call {call_id}\n".encode()})
        made.append(build_packet(tmp_path, ctx, ev, tickets={"txt": call_id}, record=None,
                                 call_id=call_id, redactor=Redactor(hosts=["ws-ann", "fs01"]),
                                 when=when))
    names = [p.name for p in made]
    assert names == ["ipsec_host-0001_host-0002_20261207-2305-1a2b.zip",
                     "ipsec_host-0001_host-0002_20261207-2305-3c4d.zip",
                     "ipsec_host-0001_host-0002_20261207-2305-1a2b-2.zip"]
    for path, call_id in zip(made, ("1a2b", "3c4d", "1a2b"), strict=True):
        manifest = json.loads(members(path)["manifest.json"])
        assert manifest["packet"] == path.name and manifest["call_id"].endswith(call_id)
        assert path.with_name(path.name + ".redaction-map.json").is_file()
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".zip") == sorted(names)
