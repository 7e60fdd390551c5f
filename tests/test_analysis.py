"""The analysis of a packet for Tier 2: findings per peer and cause, from events in
Microsoft's schema (tests/helpers/evidence_events.py), WFP net events, mmsa text and 2003 547
text (tests/data/evidence, each file's header names what it follows); hostile XML
refused; a fuzz of the parsers."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wizard.base.errors import TriageError
from wizard.evidence.analysis import (
    CHAPTER,
    AnalysisRefused,
    Report,
    analyze,
    code_of,
    read_stream,
)

from .helpers import evidence_events as ev
from .helpers.run import cli_env, run_cli

DATA = Path(__file__).parent / "data" / "evidence"
T0 = "2026-12-01T09:14:02.1234567Z"


def write(tmp_path: Path, name: str, *events: str) -> Path:
    path = tmp_path / name
    path.write_text("\n".join(events) + "\n", encoding="utf-8")
    return path


def only(report: Report, **match: object) -> dict[str, object]:
    found = [f for f in report.data()["findings"]
             if all(f[k] == v for k, v in match.items())]
    assert len(found) == 1, (match, report.data()["findings"])
    return found[0]


def test_a_timeout_at_this_side_points_to_the_peer_and_fragments(tmp_path: Path) -> None:
    path = write(tmp_path, "ws-ann_events_mainmode.xml", *[
        ev.mm_failure(f"2026-12-01T09:1{i}:00.000Z", "10.20.30.40", "Negotiation timed out",
                      record=1000 + i) for i in range(3)])
    report = analyze([path])
    f = only(report, peer="10.20.30.40")
    assert f["mode"] == "main" and f["failure_point"] == "me" and f["role"] == "initiator"
    assert f["failure_code"] == 13805 and f["failure_reason"] == "negotiation timed out"
    assert f["count"] == 3 and f["first"] == "2026-12-01T09:10:00" \
        and f["last"] == "2026-12-01T09:12:00"
    assert "read the peer's own IPsec events" in f["likely_cause"]
    assert "fragmented" in f["likely_cause"]  # Kerberos: large first packets
    assert f["sure"] == "likely" and "655" in f["chapter_lines"] and f["chapter"] == CHAPTER
    assert "874-905" in f["chapter_lines"]


def test_kerberos_failures_only_when_initiating_are_the_one_way_case(tmp_path: Path) -> None:
    path = write(tmp_path, "events.xml",
                 ev.mm_established(T0, "10.20.30.9", role="Responder"),
                 ev.mm_failure(T0, "10.20.30.9", "Failed to authenticate using Kerberos"),
                 ev.mm_failure(T0, "10.20.30.10", "Failed to authenticate using Kerberos",
                               point="Remote computer"))
    report = analyze([path])
    one_way = only(report, peer="10.20.30.9")
    assert one_way["failure_code"] == 13827
    assert "domain controller" in one_way["likely_cause"] and "308" in one_way["chapter_lines"]
    assert "one-way case" in one_way["likely_cause"] and "314-316" in one_way["chapter_lines"]
    other = only(report, peer="10.20.30.10")
    assert other["failure_point"] == "peer" and "one-way" not in other["likely_cause"]


def test_no_policy_in_quick_mode_and_extended_mode_failures(tmp_path: Path) -> None:
    path = write(tmp_path, "events.xml",
                 ev.qm_failure(T0, "10.20.30.41", "No policy configured"),
                 ev.em_failure(T0, "10.20.30.42", "Failed to authenticate using Kerberos"))
    report = analyze([path])
    qm = only(report, peer="10.20.30.41")
    assert qm["mode"] == "quick" and qm["failure_code"] == 13825
    assert "no matching IPsec policy" in qm["likely_cause"]
    em = only(report, peer="10.20.30.42")
    assert em["mode"] == "extended" and em["failure_code"] == 13827


@pytest.mark.parametrize("event_id, code, line, words", [
    (4960, 13915, "941", "changed on the way"),
    (4965, 13910, "992", "bad SPI"),
    (4963, 13916, "1028", "cleartext arrived"),
])
def test_driver_drops_are_read_as_the_chapter_reads_them(tmp_path: Path, event_id: int,
                                                         code: int, line: str,
                                                         words: str) -> None:
    report = analyze([write(tmp_path, "driver.xml", ev.driver(event_id, T0, "10.20.30.40"),
                            ev.driver(event_id, T0, "10.20.30.40"))])
    f = only(report, peer="10.20.30.40")
    assert f["mode"] == "driver" and f["failure_code"] == code and f["count"] == 2
    assert line in f["chapter_lines"] and words in f["likely_cause"]


def test_no_ipsec_audit_events_is_itself_a_finding(tmp_path: Path) -> None:
    report = analyze([write(tmp_path, "ws-ann_events_security.xml", ev.logon(T0),
                            ev.logon(T0))])
    f = only(report, failure_reason="no IPsec audit events in the Security log read")
    assert "auditing was off" in f["likely_cause"] and "ipsec-triage collector" in \
        f["likely_cause"] and "204" in f["chapter_lines"]
    # with IPsec events, it is not said
    report = analyze([write(tmp_path, "b.xml", ev.logon(T0),
                            ev.mm_established(T0, "10.20.30.9"))])
    assert not report.data()["findings"]


def test_wfp_drops_and_stopped_services(tmp_path: Path) -> None:
    report = analyze([write(tmp_path, "x.xml", ev.wfp_drop(T0, "10.20.30.40"),
                            ev.wfp_drop(T0, "10.20.30.40", event_id=5157),
                            ev.service_stopped(T0, "IKE- und AuthIP IPsec-Schlüsselerstellungs"
                                                   "module", "IKEEXT"),
                            ev.service_stopped(T0, "Print Spooler", "Spooler"))])
    assert only(report, peer="10.20.30.40", failure_reason=(
        "the Windows Filtering Platform dropped packets (event 5152)"))["sure"] == "possible"
    service = only(report, mode="service")
    assert service["peer"] == "ikeext" and service["sure"] == "certain"  # German display name


def test_netsh_wfp_netevents(tmp_path: Path) -> None:
    report = analyze([DATA / "ws-ann_wfp_netevents.xml"])
    cert = only(report, peer="10.20.30.60")
    assert cert["failure_code"] == 13806 and cert["failure_point"] == "me"
    assert cert["role"] == "initiator" and "certificate" in cert["likely_cause"]
    crl = only(report, peer="10.20.30.61")
    assert crl["failure_code"] == 13817 and crl["failure_point"] == "peer"
    assert "revocation list" in crl["likely_cause"] and crl["role"] == "responder"
    assert len(report.data()["findings"]) == 2  # the classify drop is not an IKE failure


def test_2003_547_events_text() -> None:
    report = analyze([DATA / "ws-ann_547_events.txt"])
    mm = only(report, peer="10.20.30.40")
    assert mm["mode"] == "main" and mm["failure_point"] == "me" and mm["failure_code"] == 13813
    qm = only(report, peer="10.20.30.41")
    assert qm["mode"] == "quick" and qm["failure_point"] == "peer"
    assert qm["failure_code"] == 13825


def test_the_mmsa_listing_gives_the_direction(tmp_path: Path) -> None:
    path = write(tmp_path, "events.xml",
                 ev.mm_failure(T0, "10.20.30.50", "Failed to authenticate using Kerberos"))
    assert "one-way" not in only(analyze([path]), peer="10.20.30.50")["likely_cause"]
    report = analyze([path, DATA / "ws-ann_netsh_mmsa.txt"])
    # an SA up with the peer, role not known: not called one-way
    assert "one-way" not in only(report, peer="10.20.30.50")["likely_cause"]
    assert report.established["10.20.30.50"] == {"either"}


def test_utf16_export_with_a_root_and_a_declaration(tmp_path: Path) -> None:
    body = ("<?xml version='1.0' encoding='UTF-16'?><Events>"
            + ev.mm_failure(T0, "10.20.30.40", "0x35ED") + "</Events>")
    path = tmp_path / "export.xml"
    path.write_bytes(b"\xff\xfe" + body.encode("utf-16-le"))
    f = only(analyze([path]), peer="10.20.30.40")
    assert f["failure_code"] == 13805


@pytest.mark.parametrize("body, words", [
    ("<?xml version='1.0'?><!DOCTYPE lolz [<!ENTITY lol 'lol'><!ENTITY lol2 "
     "'&lol;&lol;&lol;&lol;'>]><Event>&lol2;</Event>", "declares a DTD"),
    ("<!DOCTYPE x [<!ENTITY e SYSTEM 'file:///etc/passwd'>]><Event>&e;</Event>",
     "declares a DTD"),
    ("<!-- an export --><!DOCTYPE x [<!ENTITY e 'x'>]><Event>&e;</Event>",
     "declares a DTD"),
])
def test_an_xml_bomb_or_external_entity_is_refused(tmp_path: Path, body: str,
                                                   words: str) -> None:
    path = tmp_path / "ws-ann_events_mainmode.xml"
    path.write_text(body)
    with pytest.raises(AnalysisRefused, match=words) as info:
        analyze([path])
    assert "\n" not in str(info.value) and str(info.value).startswith(path.name)


def test_a_cut_export_is_read_up_to_the_cut(tmp_path: Path) -> None:
    full = "\n".join(ev.mm_failure(T0, "10.20.30.40", "Negotiation timed out")
                     for _ in range(3))
    path = tmp_path / "cut.xml"
    path.write_text(full[: len(full) - 200])
    report = analyze([path])
    assert only(report, peer="10.20.30.40")["count"] == 2
    assert any("not well-formed" in n for n in report.notes)


def test_codes_from_numbers_and_message_text() -> None:
    assert code_of("13805") == code_of("0x35ED") == code_of("%%13805") == 13805
    assert code_of("IKE failed to find valid machine certificate. Contact your ...") == 13806
    assert code_of("Certificate Revocation Check of peer's certificate failed") == 13848
    assert code_of("something else") is None and code_of("5") is None


def test_analyze_command_text_and_json(tmp_path: Path, data_dir: Path) -> None:
    events = write(tmp_path, "ws-ann_events_mainmode.xml",
                   ev.mm_failure(T0, "10.20.30.40", "Negotiation timed out"))
    packet = tmp_path / "packet.zip"
    with zipfile.ZipFile(packet, "w") as zf:
        zf.write(events, "evidence/ws-ann_events_mainmode.xml")
        zf.write(DATA / "ws-ann_547_events.txt", "evidence/ws-ann_ipsec_547_events.txt")
    env = cli_env(data_dir)
    r = run_cli(["analyze", str(packet)], env)
    assert r.returncode == 0, r.stderr
    assert "10.20.30.40: main mode, failed at this computer, this computer initiator: " \
           "negotiation timed out 13805" in r.stdout
    assert f"chapter {CHAPTER}, lines 655" in r.stdout
    r = run_cli(["analyze", "--format", "json", str(packet),
                 str(DATA / "ws-ann_wfp_netevents.xml")], env)
    data = json.loads(r.stdout)
    peers = {f["peer"] for f in data["findings"]}
    assert {"10.20.30.40", "10.20.30.41", "10.20.30.60", "10.20.30.61"} <= peers
    keys = {"peer", "mode", "failure_point", "failure_code", "failure_reason", "role",
            "count", "first", "last", "likely_cause", "chapter_lines", "sure"}
    assert all(keys <= set(f) for f in data["findings"])
    bomb = tmp_path / "bomb.xml"
    bomb.write_text("<!DOCTYPE x [<!ENTITY a 'a'>]><Event>&a;</Event>")
    r = run_cli(["analyze", str(bomb)], env)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "declares a DTD" in r.stderr
    assert "Traceback" not in r.stderr
    r = run_cli(["analyze", str(tmp_path / "missing.xml")], env)
    assert r.returncode == 2 and "cannot read it" in r.stderr and "Traceback" not in r.stderr


SAMPLE = ev.mm_failure(T0, "10.20.30.40", "Negotiation timed out").encode()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_fuzz_the_parsers_raise_nothing_but_a_refusal(data: st.DataObject) -> None:
    kind = data.draw(st.sampled_from(["xml", "netevents", "547", "mmsa", "bytes"]))
    if kind == "xml":
        base = SAMPLE
    elif kind == "netevents":
        base = (DATA / "ws-ann_wfp_netevents.xml").read_bytes()
    elif kind == "547":
        base = (DATA / "ws-ann_547_events.txt").read_bytes()
    elif kind == "mmsa":
        base = (DATA / "ws-ann_netsh_mmsa.txt").read_bytes()
    else:
        base = data.draw(st.binary(max_size=2000))
    blob = bytearray(base)
    for _ in range(data.draw(st.integers(0, 8))):
        if not blob:
            break
        at = data.draw(st.integers(0, len(blob) - 1))
        op = data.draw(st.sampled_from(["flip", "cut", "dup", "insert"]))
        if op == "flip":
            blob[at] = data.draw(st.integers(0, 255))
        elif op == "cut":
            del blob[at:at + data.draw(st.integers(1, 200))]
        elif op == "dup":
            blob[at:at] = blob[at:at + 300]
        else:
            blob[at:at] = data.draw(st.sampled_from(
                [b"<", b"&", b"]]>", b"<!DOCTYPE", b"\x00", b"<Event>", "ü".encode(),
                 b"\xff\xfe", b"Failure Reason:\n", b"Remote IP Address: "]))
    name = {"547": "x_ipsec_547_events.txt", "mmsa": "x_netsh_mmsa.txt",
            "netevents": "x_wfp_netevents.xml"}.get(kind, "x_events.xml")
    report = Report()
    try:
        read_stream(name, io.BufferedReader(io.BytesIO(bytes(blob))), report)  # type: ignore[arg-type]
    except TriageError as exc:
        assert "\n" not in str(exc)
    json.dumps(report.data())
    report.text()
