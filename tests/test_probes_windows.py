"""Windows-only facts, through captured Windows output fed to the real probes.

The commands (argv) the probes would run on Windows are asserted too, so a change in
what runs there is seen here."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest

from wizard.checks import ProbeStatus, RunOutput, run_probe, windows

from .helpers.evidence_events import event, mm_failure
from .helpers.probes import CAPTURED, FakeWindows, captured, failed_run

OK, FAIL, ERROR, UNAVAILABLE, TIMEOUT = (ProbeStatus.OK, ProbeStatus.FAIL, ProbeStatus.ERROR,
                                         ProbeStatus.UNAVAILABLE, ProbeStatus.TIMEOUT)


def documented(name: str) -> str:
    """A fixture in a documented output shape, without its header (``#`` lines naming
    the document it follows)."""
    lines = (CAPTURED / name).read_text(encoding="utf-8").splitlines()
    return "\n".join(line for line in lines if not line.startswith("#")) + "\n"


def ran(stdout: str, returncode: int = 0) -> RunOutput:
    return RunOutput(("x",), returncode, stdout, "")


def suggested(result: object) -> str | None:
    """The answer the check pre-selects at Figure 7.1's ping question."""
    from wizard.calls.call import Call
    from wizard.checks.base import ProbeResult
    from wizard.flows.nodes import CheckNode

    from .helpers.calls import shipped

    node = shipped().node("fig7_1.ping_ip")
    assert isinstance(node, CheckNode) and isinstance(result, ProbeResult)
    return Call.suggestion_from(node, result).value


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

    from .helpers.calls import shipped

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


# Made up, not captures: ping's words in no real language, standing for a Windows whose
# display language this project does not know. Only the language-neutral parts (the
# address, TTL=, a time in ms, the exit status) are as Windows prints them.
MADE_UP_NO_REPLY = """
Pyngen 10.1.2.3 mytt 32 Bytez Datn:
Zorbel flimm wexx.

Pyng-Statystik fur 10.1.2.3:
    Pakete: Gesndt = 1, Empfngn = 0, Verlorn = 1 (100% Verlust),
"""
MADE_UP_REPLY = """
Pyngen fs01.corp.example [10.1.2.3] mytt 32 Bytez Datn:
Antwurt von 10.1.2.3: Bytez=32 Zeyt=1ms TTL=128
"""
MADE_UP_IPV6_REPLY = """
Pyngen fs01.corp.example [fd00:10:1::3] mytt 32 Bytez Datn:
Antwurt von fd00:10:1::3: Zeyt<1ms
"""


def windows_with(ping: RunOutput, status: str | None = None) -> FakeWindows:
    """ping.exe's output, and PowerShell's Win32_PingStatus JSON (None: no PowerShell,
    as on Windows XP / Server 2003)."""
    outputs: dict[str | tuple[str, ...], str | RunOutput] = {"ping": ping}
    if status is not None:
        outputs["powershell"] = documented(status)
    return FakeWindows(outputs)


@pytest.mark.parametrize(("text", "summary"), [
    (MADE_UP_REPLY, "fs01: replied (1 ms)"),
    (MADE_UP_IPV6_REPLY, "fs01: replied (<1 ms)"),
])
def test_a_reply_is_seen_in_any_display_language(text: str, summary: str) -> None:
    system = windows_with(ran(text))
    r = run_probe("ping", {"host": "fs01"}, system, timeout=0.5)
    assert (r.status, r.summary) == (OK, summary)
    assert suggested(r) == "yes" and [a[0] for a in system.argvs] == ["ping"]


def test_unrecognised_text_without_powershell_pre_selects_nothing() -> None:
    """No reply (exit status 1) in a text not recognised: it may have been "Negotiating
    IP Security" in that language, so "no reply" is not claimed."""
    r = run_probe("ping", {"host": "10.1.2.3"}, windows_with(ran(MADE_UP_NO_REPLY, 1)),
                  timeout=0.5)
    assert r.status is ERROR
    assert r.summary == ("10.1.2.3: no reply, and ping's text was not recognised (not "
                         "English?): whether it showed \"Negotiating IP Security\" is not "
                         "known: ask the caller what ping shows")
    assert suggested(r) is None and r.data["outcome"] == ""


@pytest.mark.parametrize(("status", "outcome", "answer", "summary"), [
    ("win_ps_pingstatus_negotiating.json", "negotiating", "negotiating",
     "10.1.2.3: no reply: \"Negotiating IP Security\" (IKE is negotiating with the "
     "target)"),
    ("win_ps_pingstatus_nohost.json", "unknown_host", "unknown_host",
     "10.1.2.3: could not find host (the name did not resolve: error 11001)"),
    ("win_ps_pingstatus_timeout.json", "", None,
     "10.1.2.3: no reply (a second echo request: Request timed out); ping's text was not "
     "recognised: ask the caller what ping shows"),
    ("win_ps_pingstatus_reply.json", "", None,
     "10.1.2.3: ping got no reply but a second echo request did (1 ms): not a clear "
     "answer: ask the caller what ping shows"),
])
def test_win32_pingstatus_says_why_in_any_display_language(
        status: str, outcome: str, answer: str | None, summary: str) -> None:
    system = windows_with(ran(MADE_UP_NO_REPLY, 1), status)
    r = run_probe("ping", {"host": "10.1.2.3"}, system, timeout=3)
    assert r.summary == summary and r.data["outcome"] == outcome
    assert suggested(r) == answer
    assert r.data["method"] == "ping, Win32_PingStatus"
    assert system.argvs[1][:4] == ("powershell", "-NoProfile", "-NonInteractive",
                                   "-Command")
    assert "-Filter ('Address=''10.1.2.3'' AND Timeout=" in system.argvs[1][4]
    assert '"' not in system.argvs[1][4]


def test_english_text_and_win32_pingstatus_agree_on_no_reply() -> None:
    system = windows_with(ran(captured("win_ping_timeout.txt"), 1),
                          "win_ps_pingstatus_timeout.json")
    r = run_probe("ping", {"host": "10.1.2.3"}, system, timeout=3)
    assert (r.status, r.summary) == (FAIL, "10.1.2.3: Request timed out")
    assert suggested(r) == "no"


def test_english_negotiating_stands_when_the_second_request_times_out() -> None:
    system = windows_with(ran(captured("win_ping_negotiating_only.txt"), 1),
                          "win_ps_pingstatus_timeout.json")
    r = run_probe("ping", {"host": "10.1.2.3"}, system, timeout=0.5)
    assert r.data["negotiating"] is True and suggested(r) == "negotiating"


@pytest.mark.parametrize("host", ["x'y", "a b", "10.1.2.3';Remove-Item c:\\", ""])
def test_only_a_plain_host_goes_into_a_powershell_text(host: str) -> None:
    with pytest.raises(ValueError, match="cannot be put into a PowerShell command"):
        windows.ping_status_script(host, 500)
    with pytest.raises(ValueError, match="cannot be put into a PowerShell command"):
        windows.resolve_script(host)


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


def test_dns_servers_from_get_dnsclientserveraddress() -> None:
    system = FakeWindows({"powershell": documented("win_ps_dns_client_servers.json")})
    assert system.windows_dns_servers() == (["10.1.0.10", "10.1.0.11", "fd00:10:1::10"],
                                            "Get-DnsClientServerAddress")
    assert system.argvs == [("powershell", "-NoProfile", "-NonInteractive", "-Command",
                             windows.DNS_SERVERS_SCRIPT)]


def test_dns_servers_fall_back_to_ipconfig_without_the_cmdlet() -> None:
    system = FakeWindows({"powershell": failed_run("Get-DnsClientServerAddress : The term "
                                                   "is not recognized"),
                          ("ipconfig", "/all"): captured("win_ipconfig_all.txt")})
    assert system.windows_dns_servers() == (["10.1.0.10", "10.1.0.11"],
                                            "ipconfig /all (English labels)")


def test_unrecognised_ipconfig_is_not_no_dns_server() -> None:
    # made up, not a capture: ipconfig's labels in no real language (Windows 7, say)
    made_up = ("\nWyndows-IP-Konfiguratzion\n\n   DNZ-Zervr . . . . . . . . : 10.1.0.10\n")
    r = run_probe("dns_servers", {}, FakeWindows({("ipconfig", "/all"): made_up}),
                  timeout=0.5)
    assert (r.status, r.summary) == (ERROR, "could not read this computer's DNS servers "
                                     "(ipconfig's text was not recognised): ask the caller")


class AnsweringDns(FakeWindows):
    """A fake Windows whose DNS servers answer (no query leaves this machine)."""

    def dns_query(self, server: str, timeout: float) -> tuple[str, str]:
        return "answered", f"{server} (udp/53) answered a DNS query (NOERROR)"


def test_dns_servers_check_says_what_it_read() -> None:
    system = AnsweringDns({"powershell": documented("win_ps_dns_client_servers.json"),
                           "ping": captured("win_ping_reply.txt")})
    r = run_probe("dns_servers", {}, system, timeout=0.5)
    assert r.status is OK and r.data["source"] == "Get-DnsClientServerAddress"
    assert r.evidence.startswith("DNS servers read from Get-DnsClientServerAddress\n")


def test_resolve_dnsname_answers_the_lookup() -> None:
    system = FakeWindows({"powershell": documented("win_ps_resolve_dnsname.json")})
    r = run_probe("dns_lookup", {"name": "intranet.corp.example"}, system)
    assert r.status is OK
    assert r.summary == ("intranet.corp.example is 10.1.5.20, 10.1.5.21 (this computer's DNS "
                         "servers: 10.1.0.10, 10.1.0.11)")
    assert r.data["method"] == "Resolve-DnsName" and [a[0] for a in system.argvs] == [
        "powershell"]
    assert "-DnsOnly" in system.argvs[0][4] and "'intranet.corp.example'" in system.argvs[0][4]


def test_resolve_dnsname_error_is_read_by_its_identifier() -> None:
    r = run_probe("dns_lookup", {"name": "fs09.corp.example"},
                  FakeWindows({"powershell": documented("win_ps_resolve_nxdomain.json")}))
    assert (r.status, r.summary) == (FAIL, "fs09.corp.example: the name does not exist "
                                     "(NXDOMAIN) (asked 10.1.0.10)")


def test_without_resolve_dnsname_nslookup_is_read() -> None:
    missing = '{"error":"CommandNotFoundException","message":"...","servers":[]}'
    system = FakeWindows({"powershell": missing, "nslookup": captured("win_nslookup.txt")})
    r = run_probe("dns_lookup", {"name": "fs01.corp.example"}, system)
    assert r.status is OK and r.data["method"] == "nslookup (English labels)"
    assert [a[0] for a in system.argvs] == ["powershell", "nslookup"]


def test_unrecognised_nslookup_text_is_not_a_failed_lookup() -> None:
    # made up, not a capture: labels in no real language
    made_up = "Zervr:  dc01.corp.example\nAdrez:  10.1.0.10\n\nNahme:  fs01\nAdrez:  10.1.2.3\n"
    r = run_probe("dns_lookup", {"name": "fs01.corp.example"},
                  FakeWindows({"nslookup": made_up}))
    assert r.status is ERROR and "nslookup's text was not recognised" in r.summary


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


@pytest.mark.parametrize(("capture", "code", "status", "summary"), [
    ("win_sc_query_stopped.txt", 0, FAIL, "service PolicyAgent is stopped"),
    ("win_sc_query_missing.txt", 1060, FAIL, "service PolicyAgent is not installed"),
    ("win_sc_query_running.txt", 0, OK, "service PolicyAgent is running"),
])
def test_service_state_from_sc_when_psutil_cannot_tell(capture: str, code: int,
                                                       status: ProbeStatus,
                                                       summary: str) -> None:
    system = FakeWindows({"sc": ran(captured(capture), code)})
    r = run_probe("service_running", {"service": "PolicyAgent"}, system)
    assert (r.status, r.summary) == (status, summary)
    assert system.argvs == [("sc", "query", "PolicyAgent")]


# Made up, not captures: sc's labels in a language no Windows has, standing for a
# display language this project does not know. The state's number is what is read.
MADE_UP_SC_RUNNING = """
NAME_DEZ_DIENSTS: PolicyAgent
        ZYP                : 20  WIN32_SHARE_PROCESS
        ZUSTANDT           : 4  RUNNING
"""
MADE_UP_SC_DENIED = "[SC] OpenService FEHLSCHLAG 5:\n\nZugrff verweigrt.\n"


def test_service_state_is_read_by_its_number_in_any_language() -> None:
    r = run_probe("service_running", {"service": "PolicyAgent"},
                  FakeWindows({"sc": ran(MADE_UP_SC_RUNNING)}))
    assert (r.status, r.summary) == (OK, "service PolicyAgent is running")


def test_sc_refusing_is_not_reported_as_a_missing_service() -> None:
    """The old reading took any text without a state for "not installed"."""
    r = run_probe("service_running", {"service": "PolicyAgent"},
                  FakeWindows({"sc": ran(MADE_UP_SC_DENIED, 5)}))
    assert r.status is ERROR
    assert r.summary == ("could not read the state of service PolicyAgent (sc exit status "
                         "5): ask the caller")


# -- domain membership --------------------------------------------------------------------

@pytest.mark.parametrize(("fixture", "status", "summary"), [
    ("win_ps_domain_joined.json", OK, "member of corp.example"),
    ("win_ps_domain_workgroup.json", FAIL, "not joined (workgroup WORKGROUP)"),
])
def test_domain_member_reads_win32_computersystem_as_json(
        fixture: str, status: ProbeStatus, summary: str) -> None:
    system = FakeWindows({"powershell": documented(fixture)})
    r = run_probe("domain_member", {}, system)
    assert (r.status, r.summary) == (status, summary)
    assert system.argvs == [("powershell", "-NoProfile", "-NonInteractive", "-Command",
                             windows.DOMAIN_SCRIPT)]
    assert "ConvertTo-Json" in windows.DOMAIN_SCRIPT


def test_domain_member_falls_back_to_wmic_without_powershell() -> None:
    """Windows XP / Server 2003: no PowerShell; wmic's /value names are not localized."""
    system = FakeWindows({"wmic": captured("win_wmic_domain_joined.txt")})
    r = run_probe("domain_member", {}, system)
    assert r.status is OK and r.summary == "member of corp.example"
    assert [a[0] for a in system.argvs] == ["powershell", "wmic"]


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

# wevtutil qe ... /f:xml prints the events one after another with no root element; the
# events are built by tests/helpers/evidence_events.py in Microsoft's event schema (its
# docstring names the event documentation the fields follow)

def test_ike_failure_on_current_windows_is_event_4653_read_from_xml() -> None:
    xml = (mm_failure("2024-03-11T09:12:40.5170000Z", "10.1.2.3", "No response from peer")
           + "\n" + mm_failure("2024-03-11T08:02:11.0000000Z", "10.1.9.9", "x", record=999))
    system = FakeWindows({"wevtutil": xml})
    r = run_probe("event_547", {}, system)
    assert r.status is OK
    assert r.summary == ("event 4653 found (2 recent, latest 2024-03-11T09:12:40, No "
                         "response from peer, peer 10.1.2.3)")
    assert r.data["event_id"] == "4653" and r.data["peer"] == "10.1.2.3"
    argv = system.argvs[0]
    assert argv[:3] == ("wevtutil", "qe", "Security") and "EventID=4653" in argv[3]
    assert "EventID=547" in argv[3] and argv[-1] == "/f:xml"


def test_event_4292_from_the_classic_ipsec_source() -> None:
    xml = event(4292, "2008-10-03T09:14:22.000Z", {}, channel="System",
                provider=("IPSec", ""))
    r = run_probe("event_4292", {}, FakeWindows({"wevtutil": xml}))
    assert r.status is OK and r.summary == ("event 4292 found (1 recent, latest "
                                            "2008-10-03T09:14:22)")


def test_a_message_number_is_not_shown_as_the_failure_reason() -> None:
    xml = mm_failure("2024-03-11T09:12:40Z", "10.1.2.3", "%%13877")
    r = run_probe("event_547", {}, FakeWindows({"wevtutil": xml}))
    assert r.status is OK and "%%" not in r.summary and "peer 10.1.2.3" in r.summary


@pytest.mark.parametrize("text", [
    "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System>",
    "<!DOCTYPE x [<!ENTITY a 'b'>]><Event/>",
    "<Event/>" * (windows.MAX_EVENTS_XML // 8 + 1),
])
def test_unreadable_event_xml_is_an_error_not_a_no(text: str) -> None:
    r = run_probe("event_4292", {}, FakeWindows({"wevtutil": text}))
    assert r.status is ERROR and r.summary.startswith("could not read the System log: ")
    assert "Traceback" not in r.summary


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
    system = FakeWindows({"wevtutil": mm_failure("2024-03-11T09:12:40Z", "10.1.2.3", "x"),
                          "ping": captured("win_ping_negotiating_only.txt"),
                          "nslookup": captured("win_nslookup.txt")}, services={})
    for name, args in (("event_547", {}), ("ping", {"host": "fs01"}),
                       ("dns_lookup", {"name": "fs01.corp.example"}),
                       ("service_running", {"service": "PolicyAgent"})):
        r = run_probe(name, args, system, timeout=0.5)
        assert json.loads(json.dumps(r.to_dict()))["status"] == r.status.value


# -- the server's event logs, per Windows family ------------------------------------------

def _utf16_hex(name: str) -> str:
    """A 7023 event's binary data: the service's key name in UTF-16LE, NUL-ended (as the
    Service Control Manager writes it on Windows Vista / Server 2008 and later)."""
    return (name + "\0").encode("utf-16-le").hex().upper()


SCM = ("Service Control Manager", "{555908d1-a6d7-4695-8e1e-26931d2012f4}")


def test_event_4292_on_server_2003_is_read_through_wmi_since_there_is_no_wevtutil() -> None:
    system = FakeWindows({"wmic": documented("win2003_wmic_ntevent_4292.txt")})
    r = run_probe("event_4292", {}, system)
    assert r.status is OK, r.summary
    assert r.summary == "event 4292 found (2 recent, latest 2008-10-03T09:14:22)"
    assert r.data["method"] == "wmic ntevent (Win32_NTLogEvent)"
    assert system.argvs[0][0] == "wevtutil"  # tried first: not there on 2003
    assert system.argvs[1] == ("wmic", "ntevent", "where",
                               "Logfile='System' and (EventCode=4292)", "get",
                               "EventCode,InsertionStrings,RecordNumber,SourceName,"
                               "TimeGenerated", "/value")


def test_no_4292_on_server_2003_is_a_conclusive_no() -> None:
    none = RunOutput(("wmic",), 0, "\r\r\n", "No Instance(s) Available.\r\r\n")
    r = run_probe("event_4292", {}, FakeWindows({"wmic": none}))
    assert r.status is FAIL and r.summary == "no event 4292 in the System log"


def test_server_2019_ipsec_failure_events_are_read_from_the_security_log() -> None:
    xml = (event(5484, "2024-05-02T06:01:09.1000000Z", {}, computer="dns01")
           + event(5461, "2024-05-02T06:01:07.0000000Z",
                   {"PolicyName": "Server isolation", "ErrorCode": "0x80070002"},
                   computer="dns01"))
    system = FakeWindows({"wevtutil": xml})
    r = run_probe("server_ipsec_events", {}, system)
    assert r.status is OK and r.summary == ("event 5484 found (2 recent, latest "
                                            "2024-05-02T06:01:09)")
    argv = system.argvs[0]
    assert argv[:3] == ("wevtutil", "qe", "Security")
    for code in (5453, 5461, 5462, 5480, 5483, 5484, 5485):
        assert f"EventID={code}" in argv[3]
    assert "EventID=5478" not in argv[3]  # "IPsec Services has started": no failure
    empty = run_probe("server_ipsec_events", {}, FakeWindows({"wevtutil": ""}))
    assert empty.status is FAIL


@pytest.mark.parametrize(("events", "outcome", "shown"), [
    ([("IKE and AuthIP IPsec Keying Modules", "IKEEXT")], "ipsec",
     "IKE and AuthIP IPsec Keying Modules (IKEEXT)"),
    ([("Base Filtering Engine", "BFE")], "ipsec", "Base Filtering Engine (BFE)"),
    # a translated display name: the key name in the binary data still says IPsec
    ([("Agent stratégie IPsec", "PolicyAgent")], "ipsec", "PolicyAgent"),
    ([("Print Spooler", "Spooler")], "other", "Print Spooler (Spooler)"),
    ([("Print Spooler", "Spooler"), ("Windows Defender Firewall", "MpsSvc")], "ipsec",
     "Windows Defender Firewall (MpsSvc)"),
])
def test_event_7023_naming_an_ipsec_service_on_server_2019_pre_selects_ipsec(
        events: list[tuple[str, str]], outcome: str, shown: str) -> None:
    xml = "".join(event(7023, f"2024-05-02T06:0{i}:00Z",
                        {"param1": display, "param2": "%%1068"}, channel="System",
                        provider=SCM, binary=_utf16_hex(key), computer="dns01")
                  for i, (display, key) in enumerate(events))
    r = run_probe("event_7023", {}, FakeWindows({"wevtutil": xml}))
    assert r.status is OK and r.data["outcome"] == outcome, r.summary
    assert shown in r.summary
    assert suggested_at(r, "server_restart.event_7023") == outcome


def test_event_7023_on_server_2003_through_wmi_and_none_at_all() -> None:
    r = run_probe("event_7023", {}, FakeWindows({
        "wmic": documented("win2003_wmic_ntevent_7023.txt")}))
    assert r.status is OK and r.data["outcome"] == "ipsec"
    assert r.summary.startswith("event 7023: an IPsec service did not start: IPSEC Services")
    none = run_probe("event_7023", {}, FakeWindows({"wevtutil": ""}))
    assert none.status is FAIL and none.data["outcome"] == "none"
    assert suggested_at(none, "server_restart.event_7023") == "none"
    neither = run_probe("event_7023", {}, FakeWindows({}))
    assert neither.status is UNAVAILABLE and "ask the caller" in neither.summary
    assert suggested_at(neither, "server_restart.event_7023") is None


def suggested_at(result: object, node_key: str) -> str | None:
    """The answer a server chart check pre-selects from this result."""
    from wizard.calls.call import Call
    from wizard.checks.base import ProbeResult
    from wizard.flows.nodes import CheckNode

    from .helpers.calls import shipped

    node = shipped().node(node_key)
    assert isinstance(node, CheckNode) and isinstance(result, ProbeResult)
    return Call.suggestion_from(node, result).value
