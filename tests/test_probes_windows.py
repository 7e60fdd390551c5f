"""Windows-only facts, through captured Windows output fed to the real probes.

The commands (argv) the probes would run on Windows are asserted too, so a change in
what runs there is seen here."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest

from wizard.checks import ProbeStatus, RunOutput, run_probe, windows

from .conftest_probes import FakeWindows, captured, failed_run

OK, FAIL, ERROR, UNAVAILABLE, TIMEOUT = (ProbeStatus.OK, ProbeStatus.FAIL, ProbeStatus.ERROR,
                                         ProbeStatus.UNAVAILABLE, ProbeStatus.TIMEOUT)


# -- ping ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("capture", "status", "summary", "negotiating"), [
    ("win_ping_negotiating_only.txt", FAIL, "Negotiating IP Security", True),
    ("win_ping_ipv6_reply.txt", OK, "replied (<1 ms)", False),
    ("win_ping_dest_unreachable.txt", FAIL, "Destination host unreachable", False),
    ("win_ping_nohost.txt", FAIL, "could not find host", False),
])
def test_windows_ping_outcomes(capture: str, status: ProbeStatus, summary: str,
                               negotiating: bool) -> None:
    system = FakeWindows({"ping": captured(capture)})
    r = run_probe("ping", {"host": "fs01.corp.example"}, system, timeout=0.5)
    assert r.status is status, r.summary
    assert summary in r.summary and r.data["negotiating"] is negotiating
    assert system.argvs[0] == ("ping", "-n", "1", "-w", "500", "fs01.corp.example")
    assert captured(capture).strip() in r.evidence


@pytest.mark.parametrize(("capture", "outcome", "answer"), [
    ("win_ping_negotiating_only.txt", "negotiating", "negotiating"),
    ("win_ping_negotiating.txt", "negotiating", "negotiating"),  # replies after it, too
    ("win_ping_reply.txt", "replied", "yes"),
    ("win_ping_nohost.txt", "unknown_host", "unknown_host"),
    ("win_ping_timeout.txt", "no_reply", "no"),
    ("win_ping_dest_unreachable.txt", "no_reply", "no"),
])
def test_what_the_caller_reads_from_ping_pre_fills_that_answer(
        capture: str, outcome: str, answer: str) -> None:
    """Figure 7.1's ping question has four answers; the probe reports which one it saw."""
    from wizard.calls.call import Call
    from wizard.flows.nodes import CheckNode

    from .support import shipped

    r = run_probe("ping", {"host": "fs01.corp.example"},
                  FakeWindows({"ping": captured(capture)}), timeout=3)
    assert r.data["outcome"] == outcome
    node = shipped().node("fig7_1.ping_ip")
    assert isinstance(node, CheckNode)
    assert Call.suggestion_from(node, r).value == answer


def test_ping_shows_the_address_a_name_resolved_to() -> None:
    r = run_probe("ping", {"host": "fs01.corp.example"},
                  FakeWindows({"ping": captured("win_ping_ipv6_reply.txt")}), timeout=0.5)
    assert r.data["address"] == "fd00:10:1::3"


def test_negotiating_then_reply_is_tried_again_and_reported() -> None:
    """The chapter's advice for "Negotiating IP Security": ping again after a moment."""
    answers = iter(["win_ping_negotiating_only.txt", "win_ping_reply.txt"])
    system = FakeWindows({"ping": lambda argv: RunOutput(tuple(argv), 0,
                                                         captured(next(answers)), "")})
    r = run_probe("ping", {"host": "10.1.2.3"}, system, timeout=3)
    assert r.status is OK and r.data["negotiating"] is True
    assert len(system.argvs) == 2
    assert r.evidence.count("$ ping -n 1") == 2


# -- names and addresses ------------------------------------------------------------------

def test_ipconfig_dns_servers_with_ipv6_and_other_adapters() -> None:
    assert windows.parse_ipconfig_dns(captured("win_ipconfig_all_ipv6.txt")) == [
        "10.1.0.10", "10.1.0.11", "fd00:10:1::10"]


def test_nslookup_with_several_addresses_and_aliases() -> None:
    r = run_probe("dns_lookup", {"name": "intranet.corp.example"},
                  FakeWindows({"nslookup": captured("win_nslookup_multi.txt")}))
    assert r.status is OK
    assert r.data["addresses"] == ["10.1.5.20", "10.1.5.21"]
    assert r.data["server"] == "dc01.corp.example (10.1.0.10)"


def test_nslookup_missing_is_not_a_failed_lookup() -> None:
    r = run_probe("dns_lookup", {"name": "fs01"}, FakeWindows({}))
    assert r.status is UNAVAILABLE


def test_gateway_and_dns_servers_come_from_route_print_and_ipconfig() -> None:
    system = FakeWindows({("route", "print"): captured("win_route_print.txt"),
                          ("ipconfig", "/all"): captured("win_ipconfig_all.txt"),
                          "ping": captured("win_ping_reply.txt")})
    gw = run_probe("gateway", {}, system, timeout=0.5)
    assert gw.status is OK and gw.data["gateway"] == "10.1.20.1"
    assert ("ping", "-n", "1", "-w", "500", "10.1.20.1") in system.argvs
    assert system.dns_servers() == ["10.1.0.10", "10.1.0.11"]


# -- services -----------------------------------------------------------------------------

@pytest.mark.parametrize(("services", "status", "summary"), [
    ({"RemoteAccess": "running"}, OK, "service RemoteAccess is running"),
    ({"RemoteAccess": "stopped"}, FAIL, "service RemoteAccess is stopped"),
    ({"RemoteAccess": "start_pending"}, FAIL, "service RemoteAccess is start pending"),
    ({}, FAIL, "service RemoteAccess is not installed"),
])
def test_service_state_from_psutil(services: dict[str, str | None], status: ProbeStatus,
                                   summary: str) -> None:
    system = FakeWindows({}, services=services)
    r = run_probe("service_running", {"service": "RemoteAccess"}, system)
    assert (r.status, r.summary) == (status, summary)
    assert system.argvs == []  # psutil answered; no command ran


@pytest.mark.parametrize(("capture", "status", "summary"), [
    ("win_sc_query_stopped.txt", FAIL, "service PolicyAgent is stopped"),
    ("win_sc_query_missing.txt", FAIL, "service PolicyAgent is not installed"),
    ("win_sc_query_running.txt", OK, "service PolicyAgent is running"),
])
def test_service_state_from_sc_when_psutil_cannot_tell(capture: str, status: ProbeStatus,
                                                       summary: str) -> None:
    system = FakeWindows({"sc": captured(capture)})
    r = run_probe("service_running", {"service": "PolicyAgent"}, system)
    assert (r.status, r.summary) == (status, summary)
    assert system.argvs == [("sc", "query", "PolicyAgent")]


# -- domain membership --------------------------------------------------------------------

def test_domain_member_falls_back_to_powershell_without_wmic() -> None:
    system = FakeWindows({"powershell": captured("win_ps_domain_joined.txt")})
    r = run_probe("domain_member", {}, system)
    assert r.status is OK and r.summary == "member of corp.example"
    assert system.argvs[0][0] == "wmic" and system.argvs[1][:2] == ("powershell",
                                                                     "-NoProfile")


def test_domain_member_unknown_when_nothing_answers() -> None:
    r = run_probe("domain_member", {}, FakeWindows({}))
    assert r.status is ERROR and "could not read" in r.summary


# -- IPsec policy version (Detect_IPsec_Policy) -------------------------------------------

def policy_system(cache: str | RunOutput, directory: str | RunOutput) -> FakeWindows:
    return FakeWindows({
        ("reg", "query", windows.ASSIGNMENT_KEY): captured("win_reg_gptipsecpolicy.txt"),
        ("reg", "query", windows.CACHE_KEY): cache,
        "powershell": directory,
    })


def test_policy_up_to_date_when_cache_matches_directory() -> None:
    system = policy_system(captured("win_reg_cache_version.txt"),
                           captured("win_ps_ad_version.txt"))
    r = run_probe("ipsec_policy_version", {}, system)
    assert r.status is OK
    assert r.summary == ("IPsec policy is up-to-date. (assigned: IPSEC - Domain Isolation "
                         "Policy (v1.3))")
    assert r.data["local_version"] == r.data["directory_version"] == "200603281030"
    assert ("reg", "query", windows.CACHE_KEY, "/v", "ipsecName") in system.argvs


def test_policy_not_up_to_date_when_directory_is_newer() -> None:
    r = run_probe("ipsec_policy_version", {},
                  policy_system(captured("win_reg_cache_version.txt"),
                                captured("win_ps_ad_version_newer.txt")))
    assert r.status is FAIL and r.summary.startswith("IPsec policy is not up-to-date.")
    assert r.data["directory_version"] == "200604051215"


def test_policy_not_up_to_date_when_nothing_is_cached() -> None:
    r = run_probe("ipsec_policy_version", {},
                  policy_system(failed_run(captured("win_reg_missing.txt")),
                                captured("win_ps_ad_version.txt")))
    assert r.status is FAIL
    assert r.summary == ("IPsec policy is not up-to-date. (no policy version in the local "
                         "cache)")


def test_policy_check_says_why_when_the_directory_cannot_be_read() -> None:
    r = run_probe("ipsec_policy_version", {},
                  policy_system(captured("win_reg_cache_version.txt"),
                                failed_run(captured("win_ps_ad_error.txt"))))
    assert r.status is ERROR
    assert "could not read the policy version from Active Directory" in r.summary
    assert "defaultNamingContext" in r.summary


def test_the_powershell_text_takes_nothing_from_outside() -> None:
    assert "$env" not in windows.AD_VERSION_SCRIPT
    assert windows.VERSION_OBJECT in windows.AD_VERSION_SCRIPT


def test_published_script_output_is_understood() -> None:
    assert windows.parse_policy_version(captured("win_detect_policy_published.txt")) == (
        False, "IPSEC - Domain Isolation Policy (v1.3)")
    assert windows.parse_policy_version(captured("win_detect_policy_error.txt")) == (
        None, "")


def test_without_powershell_and_script_the_question_is_asked(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    system = FakeWindows({"reg": captured("win_reg_cache_version.txt")})
    r = run_probe("ipsec_policy_version", {}, system)
    assert r.status is UNAVAILABLE and "Detect_IPsec_Policy.vbs" in r.summary


def test_without_powershell_the_published_script_runs(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("Detect_IPsec_Policy.vbs").write_text("' the published script\n")
    system = FakeWindows({"reg": captured("win_reg_cache_version.txt"),
                          "cscript": captured("win_detect_policy_published.txt")})
    r = run_probe("ipsec_policy_version", {}, system)
    assert r.status is FAIL and r.data["policy"] == "IPSEC - Domain Isolation Policy (v1.3)"
    assert system.argvs[-1] == ("cscript", "//nologo", "Detect_IPsec_Policy.vbs")


# -- event log ----------------------------------------------------------------------------

def test_ike_failure_547_with_reason_and_peer() -> None:
    system = FakeWindows({"wevtutil": captured("win_wevtutil_547.txt")})
    r = run_probe("event_547", {}, system)
    assert r.status is OK
    assert r.data["failure_reason"] == "IKE SA deleted before establishment completed"
    assert r.data["peer"] == "10.1.2.3" and r.data["event_id"] == "547"
    argv = system.argvs[0]
    assert argv[:3] == ("wevtutil", "qe", "Security") and "EventID=547" in argv[3]


def test_ike_failure_on_current_windows_is_event_4653() -> None:
    r = run_probe("event_547", {}, FakeWindows({"wevtutil": captured("win_wevtutil_4653.txt")}))
    assert r.status is OK and r.data["event_id"] == "4653"
    assert "No response from peer" in r.summary and "peer 10.1.2.3" in r.summary


def test_no_event_is_a_conclusive_no() -> None:
    r = run_probe("event_4292", {}, FakeWindows({"wevtutil": ""}))
    assert r.status is FAIL and r.summary == "no event 4292 in the System log"


def test_event_log_access_denied_asks_for_an_administrator() -> None:
    system = FakeWindows({"wevtutil": failed_run(captured("win_wevtutil_access_denied.txt"),
                                                 5)})
    r = run_probe("event_547", {}, system)
    assert r.status is ERROR and "run the wizard as an administrator" in r.summary


def test_missing_wevtutil_is_not_a_conclusive_no() -> None:
    r = run_probe("event_4292", {}, FakeWindows({}))
    assert r.status is UNAVAILABLE and "wevtutil is missing" in r.summary


def test_hung_command_is_a_timeout_not_an_answer() -> None:
    def hung(argv: Sequence[str]) -> RunOutput:
        return RunOutput(tuple(argv), None, "", "no result within 1 s", timed_out=True)

    system = FakeWindows({"wevtutil": hung, "wmic": hung, "powershell": hung, "ping": hung})
    for name, args in (("event_4292", {}), ("domain_member", {}),
                       ("ping", {"host": "10.1.2.3"})):
        assert run_probe(name, args, system, timeout=1).status is TIMEOUT, name


def test_every_windows_result_can_be_journaled() -> None:
    system = FakeWindows({"wevtutil": captured("win_wevtutil_4653.txt"),
                          "ping": captured("win_ping_negotiating_only.txt"),
                          "nslookup": captured("win_nslookup.txt")}, services={})
    for name, args in (("event_547", {}), ("ping", {"host": "fs01"}),
                       ("dns_lookup", {"name": "fs01.corp.example"}),
                       ("service_running", {"service": "PolicyAgent"})):
        r = run_probe(name, args, system, timeout=0.5)
        assert json.loads(json.dumps(r.to_dict()))["status"] == r.status.value
