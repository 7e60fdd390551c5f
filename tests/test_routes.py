"""Routes written as the caller's situation: what the caller sees decides the branch,
the status, the category and the one Tier 2 group shown on screen and in the ticket."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from wizard.calls.call import Call
from wizard.calls.engine import Engine
from wizard.calls.journal import CallState, JournalFolder
from wizard.config.organization import OrgConfig, RouteRule, Tier2
from wizard.flows.nodes import TerminalNode, windows_family
from wizard.frontends.terminal.cli import main
from wizard.frontends.terminal.environment import Environment

from .helpers.calls import ROOT, replay, routes, shipped
from .helpers.run import cli_env, run_cli

INTAKE = {
    "intake.caller_name": "Ann Caller", "intake.details": "now",
    "intake.caller_contact": "+1 555 0100",
    "intake.since": "this morning", "intake.existing_ticket": "",
    "intake.scope": "caller", "intake.extent": "one_server",
    "intake.address_type": "wired", "intake.severity": "low",
    "intake.call_type": "reach", "intake.caller_machine": "ws-ann",
    "intake.windows": "win10_11", "intake.target": "fs01.corp.example",
    "intake.target_ip": "10.1.2.3",
    "intake.tried": "open the team share",
}
#: ping, ping -a, ping by name and nslookup all work; the caller uses a file share
NAMES_WORK = {"fig7_1.ping_ip": "yes", "fig7_1.reverse_lookup": "yes",
              "fig7_1.ping_name": "yes", "fig7_1.nslookup": "yes", "fig7_1.traffic": "file"}
#: no reply to the ping, and the organization's design says ICMP is exempt and answered
PING_PROVES = {"fig7_1.ping_ip": "no", "fig7_1.no_reply": "proves"}
#: net view says "Access is denied" to a target on the server-isolation list
DENIED = {"fig7_1.net_view": "access_denied", "fig7_3.logon_isolated": "yes"}


def end_of(answers: dict[str, str], tmp_path: Path, org: OrgConfig | None = None
           ) -> tuple[Call, TerminalNode, str, str, list[str]]:
    call, step, tickets = replay(answers, tmp_path, org=org)
    node = step.visit.node
    assert isinstance(node, TerminalNode)
    asked = [v.key for v in step.route if v.answered]
    return call, node, tickets["md"], tickets["txt"], asked


def assert_escalated_to(call: Call, md: str, txt: str, group: str) -> None:
    assert call.state.ended is not None and call.state.ended["tier2_group"] == group
    assert f"| Escalate to | **{group}** |" in md
    assert f"ESCALATE TO: {group}\n" in txt


# -- "Negotiating IP security" ---------------------------------------------------------

def test_ping_to_the_target_shows_negotiating_ip_security_goes_to_the_policy_check(
        tmp_path: Path) -> None:
    answers = INTAKE | {"fig7_1.ping_ip": "negotiating", "fig7_2.policy_version": "no",
                        "fig7_2.policy_refresh": "done", "fig7_2.policy_fixed": "yes"}
    call, node, md, txt, asked = end_of(answers, tmp_path)
    assert asked[len(INTAKE):] == ["fig7_1.ping_ip", "fig7_2.policy_version",
                                   "fig7_2.policy_refresh", "fig7_2.policy_fixed"]
    assert node.status.value == "fixed_unclear" and node.category.value == "caller_ipsec"
    assert "**\"Negotiating IP security\" (with or without replies)**" in md
    assert "Ping shows \"Negotiating IP security\"" in md  # the known issue is named
    assert "ESCALATE TO" not in txt


def test_negotiating_that_the_refresh_does_not_fix_goes_to_tier2_ipsec_not_network(
        tmp_path: Path) -> None:
    answers = INTAKE | {"fig7_1.ping_ip": "negotiating", "fig7_2.policy_version": "no",
                        "fig7_2.policy_refresh": "done", "fig7_2.policy_fixed": "no",
                        "fig7_2.domain_account": "yes", "fig7_2.secure_channel": "ok",
                        "fig7_2.collect_caller": "yes", "fig7_2.logs_caller": "done"}
    call, node, md, txt, _ = end_of(answers, tmp_path)
    assert node.status.value == "not_fixed" and node.category.value == "caller_ipsec"
    assert_escalated_to(call, md, txt, "Tier 2 IPsec support")
    assert "Global network operations center" not in md
    assert "Ping shows \"Negotiating IP security\"" in txt


def test_negotiating_on_the_ping_to_a_test_server_goes_to_the_policy_check(
        tmp_path: Path) -> None:
    answers = INTAKE | NAMES_WORK | {
        "fig7_1.net_view": "no", "fig7_1.test_servers": "negotiating",
        "fig7_2.policy_version": "no", "fig7_2.policy_refresh": "done",
        "fig7_2.policy_fixed": "yes"}
    _, node, md, _, asked = end_of(answers, tmp_path)
    assert "fig7_2.rras_running" not in asked and "fig7_2.policy_version" in asked
    assert node.status.value == "fixed_unclear" and node.category.value == "caller_ipsec"
    assert "Ping shows \"Negotiating IP security\"" in md


# -- names -------------------------------------------------------------------------------

def test_name_only_target_that_ping_cannot_find_is_a_name_resolution_call(
        tmp_path: Path) -> None:
    answers = INTAKE | {"intake.target_ip": "", "fig7_1.ping_ip": "unknown_host",
                        "fig7_1.name_nslookup": "no", "fig7_1.name_dns_server": "no",
                        "fig7_1.name_flush": "done", "fig7_1.name_fixed": "fails"}
    call, node, md, txt, asked = end_of(answers, tmp_path)
    assert "fig7_1.net_autoconfig" not in asked and "fig7_1.reverse_lookup" not in asked
    assert node.status.value == "not_fixed" and node.category.value == "name_resolution"
    assert_escalated_to(call, md, txt, "Global network operations center")
    assert "Could not find host" in md or "could not find host" in md


def test_name_only_target_that_answers_ping_is_never_asked_ping_minus_a(
        tmp_path: Path) -> None:
    answers = INTAKE | {"intake.target_ip": "", "fig7_1.ping_ip": "yes",
                        "fig7_1.nslookup": "yes", "fig7_1.traffic": "file",
                        "fig7_1.net_view": "yes", "fig7_1.app_still_fails": "yes"}
    _, node, md, _, asked = end_of(answers, tmp_path)
    assert "fig7_1.reverse_lookup" not in asked and "fig7_1.ping_name" not in asked
    assert "ping -a" not in md
    assert node.category.value == "application"


def test_address_only_target_goes_from_ping_and_ping_minus_a_to_net_view(
        tmp_path: Path) -> None:
    answers = INTAKE | {"intake.target": "10.1.2.3", "intake.target_ip": "",
                        "fig7_1.ping_ip": "yes", "fig7_1.address_name": "",
                        "fig7_1.traffic": "file", "fig7_1.net_view": "yes",
                        "fig7_1.app_still_fails": "no"}
    _, node, _, _, asked = end_of(answers, tmp_path)
    assert asked[-4:] == ["fig7_1.address_name", "fig7_1.traffic", "fig7_1.net_view",
                          "fig7_1.app_still_fails"]
    assert node.status.value == "fixed_unclear"


def test_ping_cannot_find_host_but_nslookup_can_points_at_cache_or_hosts(
        tmp_path: Path) -> None:
    answers = INTAKE | {"intake.target_ip": "", "fig7_1.ping_ip": "unknown_host",
                        "fig7_1.name_nslookup": "yes", "fig7_1.name_flush": "done",
                        "fig7_1.name_fixed": "hosts"}
    _, node, _, _, asked = end_of(answers, tmp_path)
    assert "fig7_1.name_dns_server" not in asked
    assert node.status.value == "fixed_understood"
    assert node.category.value == "name_resolution"


# -- net view's three outcomes ---------------------------------------------------------

def test_net_view_access_denied_with_ping_working_goes_to_the_server_isolation_team(
        tmp_path: Path) -> None:
    answers = INTAKE | NAMES_WORK | DENIED | {
                                     "fig7_3.collect_logon": "yes", "fig7_3.logs_logon": "done"}
    call, node, md, txt, asked = end_of(answers, tmp_path)
    assert node.status.value == "not_fixed" and node.category.value == "target_ipsec"
    assert node.category.value != "application"
    assert "fig7_1.test_servers" not in asked
    assert_escalated_to(call, md, txt, "Server isolation support team (network access groups)")
    assert "System error 5 has occurred. Access is denied." in md


def test_access_denied_on_a_finance_server_follows_the_organization_rule(
        tmp_path: Path) -> None:
    org = OrgConfig(tier2=Tier2(rules=[RouteRule(target="fin-*",
                                                 group="Finance server isolation team")],
                                teams={"server_isolation": "Access groups"}))  # type: ignore[dict-item]
    answers = INTAKE | NAMES_WORK | DENIED | {"intake.target": "fin-app01.corp.example",
                                              "fig7_3.collect_logon": "yes",
                                              "fig7_3.logs_logon": "done"}
    call, _, md, txt, _ = end_of(answers, tmp_path, org)
    assert_escalated_to(call, md, txt, "Finance server isolation team")
    other = INTAKE | NAMES_WORK | DENIED | {
                                   "fig7_3.collect_logon": "yes", "fig7_3.logs_logon": "done"}
    call, _, md, txt, _ = end_of(other, tmp_path / "2", org)
    assert_escalated_to(call, md, txt, "Access groups")


def test_net_view_lists_shares_but_the_application_fails_is_an_application_call(
        tmp_path: Path) -> None:
    answers = INTAKE | NAMES_WORK | {"fig7_1.net_view": "yes",
                                     "fig7_1.app_still_fails": "yes"}
    call, node, md, txt, _ = end_of(answers, tmp_path)
    assert node.category.value == "application"
    assert_escalated_to(call, md, txt, "Line of business application support")


def test_screen_shows_the_same_group_as_the_ticket(tmp_path: Path, data_dir: Path) -> None:
    answers = INTAKE | NAMES_WORK | DENIED | {
                                     "fig7_3.collect_logon": "yes", "fig7_3.logs_logon": "done"}
    path = tmp_path / "answers.yaml"
    path.write_text(yaml.safe_dump({"answers": answers}))
    r = run_cli(["start", "--answers", str(path), "--no-checks"], cli_env(data_dir))
    assert r.returncode == 0, r.stderr
    group = "Server isolation support team (network access groups)"
    assert f"Escalate to: {group}\n" in r.stdout
    md = next((data_dir / "calls").glob("*.ticket.md")).read_text()
    assert f"| Escalate to | **{group}** |" in md


# -- the domain account branch ---------------------------------------------------------

CALLER_BRANCH = INTAKE | NAMES_WORK | {
    "fig7_1.net_view": "no", "fig7_1.test_servers": "no", "fig7_2.rras_running": "no",
    "fig7_2.policy_version": "yes"}


def test_computer_not_joined_is_rejoined_by_an_administrator_after_it_is_confirmed(
        tmp_path: Path) -> None:
    answers = CALLER_BRANCH | {"fig7_2.domain_account": "no", "fig7_2.machine_ours": "yes",
                               "fig7_2.request_rejoin": "done",
                               "fig7_2.account_fixed": "fixed"}
    call, node, md, _, asked = end_of(answers, tmp_path)
    assert "fig7_2.secure_channel" not in asked
    assert node.status.value == "fixed_understood"
    assert "rejoin" in md.lower() and "Create (or reset)" not in md
    shown = [v.key for v in call.engine.step(call.state.values()).route]
    assert "fig7_2.machine_ours_caution" in shown  # the social-engineering caution


def test_broken_trust_is_checked_with_the_secure_channel_and_never_reset_by_tier1(
        tmp_path: Path) -> None:
    answers = CALLER_BRANCH | {"fig7_2.domain_account": "yes",
                               "fig7_2.secure_channel": "broken_trust",
                               "fig7_2.machine_ours": "yes", "fig7_2.request_rejoin": "done",
                               "fig7_2.account_fixed": "pending"}
    call, node, md, txt, _ = end_of(answers, tmp_path)
    assert "nltest /sc_verify:%USERDNSDOMAIN%" in md
    assert "The trust relationship failed" in md
    assert node.status.value == "not_fixed"
    # Tier 2 is not expected to change computer accounts: the domain administrators are
    assert_escalated_to(call, md, txt, "Domain administrators")


def test_unconfirmed_computer_asking_to_join_goes_to_security_and_nothing_is_changed(
        tmp_path: Path) -> None:
    answers = CALLER_BRANCH | {"fig7_2.domain_account": "yes",
                               "fig7_2.secure_channel": "account_missing",
                               "fig7_2.machine_ours": "no"}
    call, node, md, txt, asked = end_of(answers, tmp_path)
    assert "fig7_2.request_rejoin" not in asked
    assert node.status.value == "not_fixed"
    assert_escalated_to(call, md, txt, "IT security")


# -- every escalation names its group from its team ------------------------------------

def test_every_escalating_exit_names_a_team_and_the_ticket_shows_only_that_group(
        tmp_path: Path) -> None:
    fs = shipped()
    for key in fs.node_keys():
        node = fs.node(key)
        if isinstance(node, TerminalNode) and node.tier2:
            assert node.team is not None, key
    org = OrgConfig()
    store = JournalFolder(tmp_path)
    call = Call.start(flowset=fs, journals=store, org=org, staffer="t")
    assert call.org.tier2_group("target_ipsec", "x", "server_isolation") == \
        "Server isolation support team (network access groups)"
    assert "Team named by the flowchart" not in (ROOT / "templates" / "ticket.md.j2").read_text()


# -- statuses: "Fixed understood" only where the route shows the cause -------------------

NO_REPLY = INTAKE | PING_PROVES


def test_dhcp_renew_that_fixes_it_is_fixed_unclear(tmp_path: Path) -> None:
    answers = NO_REPLY | {"fig7_1.net_autoconfig": "yes", "fig7_1.net_renew": "done",
                          "fig7_1.renew_fixed": "yes"}
    _, node, md, _, _ = end_of(answers, tmp_path)
    assert node.status.value == "fixed_unclear" and node.category.value == "network"
    assert "**Fixed unclear**" in md


def test_cable_found_unplugged_is_understood_but_a_link_that_just_works_again_is_not(
        tmp_path: Path) -> None:
    base = NO_REPLY | {"fig7_1.net_autoconfig": "no", "fig7_1.net_gateway": "no",
                       "fig7_1.net_local_link": "done"}
    _, found, _, _, _ = end_of(base | {"fig7_1.link_result": "found"}, tmp_path / "a")
    _, works, _, _, _ = end_of(base | {"fig7_1.link_result": "works"}, tmp_path / "b")
    assert found.status.value == "fixed_understood"
    assert works.status.value == "fixed_unclear"


def test_wrong_hosts_entry_is_understood_a_cache_flush_is_not(tmp_path: Path) -> None:
    base = INTAKE | {"intake.target_ip": "", "fig7_1.ping_ip": "unknown_host",
                     "fig7_1.name_nslookup": "yes", "fig7_1.name_flush": "done"}
    _, hosts, _, _, _ = end_of(base | {"fig7_1.name_fixed": "hosts"}, tmp_path / "a")
    _, cache, _, _, _ = end_of(base | {"fig7_1.name_fixed": "cache"}, tmp_path / "b")
    assert hosts.status.value == "fixed_understood"
    assert cache.status.value == "fixed_unclear"


def test_tracert_last_hop_is_a_typed_answer_in_the_ticket(tmp_path: Path) -> None:
    answers = NO_REPLY | {"fig7_1.net_autoconfig": "no", "fig7_1.net_gateway": "yes",
                          "fig7_1.net_tracert": "10.9.0.1 (core-rtr2)",
                          "fig7_1.net_from_helpdesk": "no", "fig7_1.net_fixed": "no"}
    call, node, md, txt, _ = end_of(answers, tmp_path)
    assert "**10.9.0.1 (core-rtr2)**" in md and "answer: 10.9.0.1 (core-rtr2)" in txt
    assert_escalated_to(call, md, txt, "Global network operations center")
    assert "No logs were requested on this call." in md  # a network call needs none


# -- logs only when asked ---------------------------------------------------------------

def test_caller_who_is_not_an_administrator_gets_no_log_step_and_the_ticket_says_why(
        tmp_path: Path) -> None:
    answers = INTAKE | NAMES_WORK | DENIED | {
                                     "fig7_3.collect_logon": "no"}
    call, _, md, txt, asked = end_of(answers, tmp_path)
    assert "fig7_3.logs_logon" not in asked
    assert "No logs: the caller is not a local administrator of ws-ann" in md
    assert "_mmsa.txt" not in md and "IPsec_Debug" not in md
    assert_escalated_to(call, md, txt, "Server isolation support team (network access groups)")


def test_log_files_follow_the_callers_windows(tmp_path: Path) -> None:
    answers = INTAKE | NAMES_WORK | DENIED | {
                                     "fig7_3.collect_logon": "yes",
                                     "fig7_3.logs_logon": "done"}
    _, _, xp, _, _ = end_of(answers | {"intake.windows": "xp"}, tmp_path / "xp")
    assert "`cscript IPsec_Debug.vbs`" in xp and "ws-ann_ipsec_547_events.txt" in xp
    assert "ws-ann_fs01.corp.example_netview.txt" in xp
    _, _, w11, _, _ = end_of(answers, tmp_path / "w11")
    assert "IPsec_Debug.vbs" not in w11 and "ws-ann_ipsec_547_events.txt" not in w11
    assert "ws-ann_mmsa.txt" in w11 and "netsh advfirewall monitor show mmsa" in w11
    assert "| Windows | Windows 10 or 11 |" in w11 and "| Windows | Windows XP |" in xp


# -- the server that lost its network -----------------------------------------------------
#
# The caller is the server's administrator, at its console. Windows Server 2003 is the
# blog's case (event 4292, IPSEC Services, ReservedPorts, KB 912023); Windows Server 2019
# and 2022 answer "Windows Server 2016 or later" (IKEEXT, BFE, MpsSvc, PolicyAgent, the WFP
# boot-time policy, netsh excluded port ranges).

SERVER = {
    "intake.caller_name": "Sam Admin", "intake.details": "now",
    "intake.caller_contact": "sam@corp.example",
    "intake.since": "the restart", "intake.existing_ticket": "",
    "intake.server_scope": "several_users", "intake.extent": "one_server",
    "intake.severity": "high",
    "intake.call_type": "server_no_network", "intake.server_name": "dns01",
    "intake.server_windows": "server2003",
    "server_restart.restart_pattern": "every",
}
SERVER_2019 = SERVER | {"intake.server_windows": "server2016"}
DATA_CENTER = "Data center operations"
SERVER_LABEL = "IPsec on the server (no network after a restart)"


def assert_server_ticket(md: str, txt: str, category: str = SERVER_LABEL) -> None:
    """A server call reads as one: the server, no connection row, not the caller's PC."""
    assert "| Server | `dns01` |" in md and "SERVER: dns01\n" in txt
    assert "Caller's computer" not in md and "CALLER'S COMPUTER" not in txt
    assert "| Connection |" not in md and "CONNECTION:" not in txt
    assert f"| Problem category | {category} |" in md
    assert "IPsec on the caller's computer" not in md + txt


def test_no_network_in_safe_mode_on_2003_does_not_rule_out_ipsec(tmp_path: Path) -> None:
    answers = SERVER | {"server_restart.safe_mode": "no",
                        "server_restart.event_4292_safe": "yes",
                        "server_restart.boot_mode": "bootmode = STATEFUL",
                        "server_restart.dns_update": "no",
                        "server_restart.policy_store": "no",
                        "server_restart.collect": "done",
                        "server_restart.disable_approval": ""}
    call, node, md, txt, asked = end_of(answers, tmp_path)
    route = [v.key for v in call.engine.step(call.state.values()).route]
    assert "server_restart.failsafe_note" in route
    assert "server_restart.boot_mode" in asked  # the IPsec path, not "not a service"
    assert node.status.value == "not_fixed" and node.category.value == "server_ipsec"
    assert_escalated_to(call, md, txt, DATA_CENTER)
    assert_server_ticket(md, txt)
    assert "**bootmode = STATEFUL**" in md
    # no fix was tried (no clash, disabling not approved): the ticket does not say one was
    assert "none of the known fixes helped" not in md
    assert "disabling it was not approved" in md


def test_no_network_in_safe_mode_and_no_block_mode_event_escalates_without_blaming_ipsec(
        tmp_path: Path) -> None:
    answers = SERVER | {"server_restart.safe_mode": "no",
                        "server_restart.event_4292_safe": "no"}
    call, node, md, txt, _ = end_of(answers, tmp_path)
    assert node.category.value == "network"
    assert "safe mode alone does not rule IPsec out" in md and "no event 4292" in md
    assert_escalated_to(call, md, txt, DATA_CENTER)
    assert_server_ticket(md, txt, "Network connectivity")


def test_event_7023_naming_ipsec_goes_straight_to_the_port_check_without_halving(
        tmp_path: Path) -> None:
    answers = SERVER | {"server_restart.safe_mode": "yes", "server_restart.event_4292": "no",
                        "server_restart.event_7023": "ipsec",
                        "server_restart.dns_update": "yes",
                        "server_restart.port500_pid": "1788",
                        "server_restart.port500_owner": "dns",
                        "server_restart.port4500_pid": "612",
                        "server_restart.port4500_owner": "ike",
                        "server_restart.reserve_ports": "none",
                        "server_restart.reserve_2003": "done",
                        "server_restart.ports_after": "4500-4500 500-500",
                        "server_restart.ports_fixed": "yes"}
    call, node, md, txt, asked = end_of(answers, tmp_path)
    assert "server_restart.halving" not in asked
    # the clash is proven port by port, and a random clash that goes away is not "understood"
    assert "`netstat -ano -p udp | findstr /r /c:\":500 \" /c:\":4500 \"`" in md
    assert "`tasklist /svc /fi \"PID eq 1788\"`" in md
    assert "`tasklist /svc /fi \"PID eq 612\"`" in md
    assert "**IKE itself: lsass.exe (2003) or svchost.exe with IKEEXT (2008 and later)**" in md
    assert node.status.value == "fixed_unclear" and node.category.value == "server_ipsec"
    assert_server_ticket(md, txt)
    # the typed values reach the known issue's ticket line
    assert "reserved ports before: none; after: 4500-4500 500-500" in md
    assert "UDP 500 held by PID 1788 (dns), UDP 4500 by PID 612 (ike)" in md
    # Windows Server 2003: ReservedPorts read, then written (not only queried)
    assert "reg query HKLM\\SYSTEM\\CurrentControlSet\\Services\\Tcpip\\Parameters" in md
    assert ('`reg add HKLM\\SYSTEM\\CurrentControlSet\\Services\\Tcpip\\Parameters /v '
            'ReservedPorts /t REG_MULTI_SZ /f /d "500-500\\04500-4500"`') in md
    assert "narrow the dynamic port range" not in md + txt
    route = [v.key for v in call.engine.step(call.state.values()).route]
    assert "server_restart.rollback_note" in route


def test_reserved_ports_already_there_are_kept_when_the_value_is_written(
        tmp_path: Path) -> None:
    answers = SERVER | {"server_restart.restart_pattern": "sometimes",
                        "server_restart.dns_update": "yes",
                        "server_restart.port500_pid": "none",
                        "server_restart.port500_owner": "none",
                        "server_restart.port4500_pid": "1788",
                        "server_restart.port4500_owner": "dns",
                        # as `reg query` prints a REG_MULTI_SZ value
                        "server_restart.reserve_ports": "3343-3343\\01645-1646\\04500-4500",
                        "server_restart.reserve_2003": "done",
                        "server_restart.ports_after": "3343-3343 1645-1646 500-500 4500-4500",
                        "server_restart.ports_fixed": "yes"}
    _, node, md, _, _ = end_of(answers, tmp_path)
    assert ('/d "3343-3343\\01645-1646\\0500-500\\04500-4500"`') in md
    # no PID on port 500: netstat is shown again, not "tasklist ... PID eq none"
    assert "PID eq none" not in md
    assert node.status.value == "fixed_unclear"


def test_dns_holding_4500_on_server_2019_is_stopped_before_the_exclusion(
        tmp_path: Path) -> None:
    answers = SERVER_2019 | {"server_restart.safe_mode": "yes",
                             "server_restart.wfp_services": "stopped",
                             "server_restart.stopped_service": "IKEEXT",
                             "server_restart.boot_mode": "boot-time filters: block all",
                             "server_restart.dns_update": "yes",
                             "server_restart.port500_pid": "none",
                             "server_restart.port500_owner": "none",
                             "server_restart.port4500_pid": "2044",
                             "server_restart.port4500_owner": "dns",
                             "server_restart.reserve_ports": "none",
                             "server_restart.stop_dns": "done",
                             "server_restart.exclude_500": "done",
                             "server_restart.exclude_4500": "done",
                             "server_restart.start_dns": "done",
                             "server_restart.ports_after": "udp 500 1, udp 4500 1",
                             "server_restart.ports_fixed": "yes"}
    call, node, md, txt, asked = end_of(answers, tmp_path)
    assert asked[asked.index("server_restart.reserve_ports"):] == [
        "server_restart.reserve_ports", "server_restart.stop_dns", "server_restart.exclude_500",
        "server_restart.exclude_4500", "server_restart.start_dns", "server_restart.ports_after",
        "server_restart.ports_fixed"]
    route = md[md.index("## Route"):]
    assert route.index("`net stop dns`") < route.index(
        "`netsh int ipv4 add excludedportrange protocol=udp startport=4500 numberofports=1`"
    ) < route.index("`net start dns`")
    assert "`netsh int ipv4 show excludedportrange protocol=udp`" in md
    assert "**udp 500 1, udp 4500 1**" in md  # the value after, recorded
    assert "`sc query BFE & sc query MpsSvc & sc query IKEEXT & sc query PolicyAgent`" in md
    assert "`netsh wfp show boottimepolicy`" in md
    for absent in ("ReservedPorts", "reg query HKLM", "eventquery", "EventID=4292", "narrow"):
        assert absent not in md, absent
    assert node.status.value == "fixed_unclear" and node.category.value == "server_ipsec"
    assert_server_ticket(md, txt)


def test_event_7023_naming_ikeext_on_server_2022_goes_to_the_ipsec_checks(
        tmp_path: Path) -> None:
    base = SERVER_2019 | {"server_restart.safe_mode": "yes",
                          "server_restart.wfp_services": "running",
                          "server_restart.ipsec_events": "no",
                          "server_restart.event_7023": "other",
                          "server_restart.dns_update": "no",
                          "server_restart.collect": "done",
                          "server_restart.disable_approval": ""}
    for typed in ("IKE and AuthIP IPsec Keying Modules", "Base Filtering Engine",
                  "PolicyAgent", "IPsec Policy Agent"):
        answers = base | {"server_restart.failed_service": typed}
        call, node, md, txt, asked = end_of(answers, tmp_path / typed.replace(" ", "_"))
        assert "server_restart.halving" not in asked, typed
        assert "server_restart.dns_update" in asked, typed
        assert node.category.value == "server_ipsec", typed
        assert "Not an IPsec problem" not in md and "not IPsec" not in md
        assert_escalated_to(call, md, txt, DATA_CENTER)
        # KB 912023's store rebuild is for Windows Server 2003 only
        assert "server_restart.policy_store" not in asked and "polstore" not in md
    # the events that take the place of 4292 there
    assert "EventID=5461" in md and "EventID=5453" in md and "EventID=4292" not in md
    # the evidence is the service failure events, not a 4292 query
    assert "(EventID=7000 or EventID=7001 or EventID=7023)" in md


def test_other_service_named_by_event_7023_is_typed_and_halving_confirms_it(
        tmp_path: Path) -> None:
    answers = SERVER | {"server_restart.safe_mode": "yes", "server_restart.event_4292": "no",
                        "server_restart.event_7023": "other",
                        "server_restart.failed_service": "Print Spooler",
                        "server_restart.halving": "done",
                        "server_restart.halving_result": "other"}
    call, node, md, txt, _ = end_of(answers, tmp_path)
    assert "**Print Spooler**" in md
    assert node.category.value == "network"  # not counted as IPsec
    assert_escalated_to(call, md, txt, DATA_CENTER)


@pytest.mark.parametrize("windows", ["server2003", "server2016"])
def test_lost_only_after_remote_restarts_records_the_boot_exemption_for_tier2(
        windows: str, tmp_path: Path) -> None:
    answers = SERVER | {"intake.server_windows": windows,
                        "server_restart.restart_pattern": "after_rdp",
                        "server_restart.rdp_boot_config": "no exemption for TCP 3389",
                        "server_restart.rdp_exemption": "inbound TCP 3389 from 10.9.0.0/24",
                        "server_restart.rdp_approver": "Dana (Tier 2)",
                        "server_restart.dns_update": "no",
                        "server_restart.collect": "done"}
    call, node, md, txt, asked = end_of(answers, tmp_path)
    assert "**Only after a remote restart over Remote Desktop**" in md
    # no on-site safe mode restart, and never to disabling IPsec
    assert "server_restart.safe_mode" not in asked
    assert "server_restart.disable_approval" not in asked and "start= disabled" not in md
    assert node.status.value == "not_fixed" and node.category.value == "server_ipsec"
    assert_escalated_to(call, md, txt, DATA_CENTER)
    assert_server_ticket(md, txt)
    assert ("boot exemption to add for inbound Remote Desktop (inbound TCP 3389 from "
            "10.9.0.0/24)") in md and "Dana (Tier 2)'s approval" in md
    assert "none of the known fixes helped" not in md
    shown = ("`netsh ipsec dynamic show config`" if windows == "server2003"
             else "`netsh wfp show boottimepolicy`")
    assert shown in md


def test_policy_store_is_rebuilt_only_with_tier2_approval_and_the_policy_reassigned(
        tmp_path: Path) -> None:
    base = SERVER | {"server_restart.safe_mode": "yes", "server_restart.event_4292": "no",
                     "server_restart.event_7023": "ipsec", "server_restart.dns_update": "no",
                     "server_restart.policy_store": "yes"}
    unapproved = base | {"server_restart.store_approval": "",
                         "server_restart.collect": "done",
                         "server_restart.disable_approval": ""}
    _, node, md, _, asked = end_of(unapproved, tmp_path / "a")
    assert "server_restart.fix_store" not in asked and node.status.value == "not_fixed"
    approved = base | {"server_restart.store_approval": "Dana (Tier 2)",
                       "server_restart.fix_store": "done",
                       "server_restart.reassign_policy": "done",
                       "server_restart.store_fixed": "yes"}
    _, node, md, _, asked = end_of(approved, tmp_path / "b")
    assert asked[-3:] == ["server_restart.fix_store", "server_restart.reassign_policy",
                          "server_restart.store_fixed"]
    assert "**Dana (Tier 2)**" in md and "With Dana (Tier 2)'s approval" in md
    assert node.status.value == "fixed_unclear"


#: A Windows Server 2003 server whose network comes back in safe mode, with event 7023
#: naming IPSEC Services, no DNS update to blame, and a policy store that looks right.
STORE_LOOKS_DAMAGED = SERVER | {
    "server_restart.safe_mode": "yes", "server_restart.event_4292": "no",
    "server_restart.event_7023": "ipsec", "server_restart.dns_update": "no",
    "server_restart.policy_store": "no", "server_restart.collect": "done"}


def test_damaged_policy_store_is_checked_on_2003_only(tmp_path: Path) -> None:
    answers = STORE_LOOKS_DAMAGED | {"server_restart.disable_approval": ""}
    call, node, md, txt, _ = end_of(answers, tmp_path / "2003")
    assert "`netsh ipsec static show all`" in md
    assert node.status.value == "not_fixed" and node.category.value == "server_ipsec"
    assert_escalated_to(call, md, txt, DATA_CENTER)
    call, node, md, txt, asked = end_of(
        answers | {"intake.server_windows": "server2016", "server_restart.wfp_services":
                   "running", "server_restart.ipsec_events": "no"}, tmp_path / "2016")
    assert "server_restart.policy_store" not in asked
    assert "netsh ipsec" not in md and "polstore" not in md
    assert node.status.value == "not_fixed" and node.category.value == "server_ipsec"
    assert_escalated_to(call, md, txt, DATA_CENTER)


def test_disabling_ipsec_is_escalated_as_not_fixed_with_the_evidence_taken_first(
        tmp_path: Path) -> None:
    base = STORE_LOOKS_DAMAGED | {"server_restart.disable_approval": "Dana (Tier 2)",
                                  "server_restart.disable_ipsec": "done"}
    call, node, md, txt, asked = end_of(
        base | {"server_restart.disabled_fixed": "yes",
                "server_restart.reenable_plan": "Dana re-enables it Monday 08:00"}, tmp_path / "a")
    assert "**Dana re-enables it Monday 08:00**" in md
    assert "sc config PolicyAgent start= auto" in md
    # escalated, so Not fixed by the chapter's definitions, though the network is back
    assert node.status.value == "not_fixed" and node.tier2
    assert "| Status | **Not fixed" in md and "Fixed unclear" not in md
    assert_escalated_to(call, md, txt, DATA_CENTER)
    # the evidence Tier 2 needs is collected before IPsec is turned off
    assert asked.index("server_restart.collect") < asked.index("server_restart.disable_ipsec")
    assert "## Log files to attach" in md and "No logs were requested" not in md


@pytest.mark.parametrize(("windows", "category"), [("server2003", "network"),
                                                   ("server2016", "server_ipsec")])
def test_disabling_that_does_not_help_reenables_at_once(windows: str, category: str,
                                                        tmp_path: Path) -> None:
    answers = STORE_LOOKS_DAMAGED | {
        "intake.server_windows": windows, "server_restart.wfp_services": "running",
        "server_restart.ipsec_events": "no", "server_restart.disable_approval": "Dana (Tier 2)",
        "server_restart.disable_ipsec": "done", "server_restart.disabled_fixed": "no",
        "server_restart.reenable_now": "done"}
    call, node, md, txt, asked = end_of(answers, tmp_path)
    assert asked[-2:] == ["server_restart.disabled_fixed", "server_restart.reenable_now"]
    route_text = md[md.index("## Route"):]
    assert route_text.index("start= disabled") < route_text.index("start= auto")
    # on 2003 no IPsec driver loaded: ruled out; later Windows kept its rules in force
    assert node.category.value == category
    assert_escalated_to(call, md, txt, DATA_CENTER)


def test_help_and_notes_follow_the_servers_windows(tmp_path: Path) -> None:
    fs = shipped()
    from wizard.base.textrender import render

    rdp = fs.node("server_restart.rdp_exemption").help or ""
    safe = fs.node("server_restart.safe_mode").help or ""
    off = fs.node("server_restart.disable_ipsec").help or ""
    old = {"windows": "server2003"}
    new = {"windows": "server2016"}
    assert "netsh ipsec" in render(rdp, old) and "netsh ipsec" not in render(rdp, new)
    assert "bcdedit" in render(safe, new) and "bcdedit" not in render(safe, old)
    assert "connection security rules" in render(off, new)
    assert "2008" not in render(off, old)


# -- commands that exist on the caller's Windows -----------------------------------------

ONLY_VISTA_LATER = ("wevtutil", "Get-WinEvent", "klist -li", "advfirewall", "excludedportrange",
                    "Get-HotFix", "netsh wfp", "/sc_verify", "Test-ComputerSecureChannel",
                    "IKEEXT", "bcdedit")
ONLY_XP_2003 = ("eventquery", "ipseccmd", "netdiag", "IPsec_Debug.vbs", "ReservedPorts",
                "Refresh_IPsec_Policy.vbs", "/sc_query", "netsh ipsec", "polstore")


def _commands_for(version: str) -> dict[str, str]:
    from wizard.base.textrender import render, variables

    fs = shipped()
    store = JournalFolder(Path("/nonexistent"))
    call = Call(flowset=fs, journals=store, state=CallState(call_id="commands"), journal=None,
                org=OrgConfig())
    out = {}
    # the steps a call on this Windows can reach (a 2003-only step is never shown on 2019)
    reached = {v.key.split("@", 1)[0] for answers, end in routes()
               if version in (answers.get("intake.windows"), answers.get("intake.server_windows"))
               for v in end.route}
    for key in sorted(reached):
        node = fs.node(key)
        sources = [node.command] if node.command else list((node.commands or {}).values())
        names: set[str] = set()
        for src in sources:
            names |= variables(src)
        context = {n: "x" for n in names} | {"windows": version}
        if node.commands:
            from wizard.flows.nodes import windows_family
            family = windows_family(version)
            out[key] = render(node.commands[family], context)  # type: ignore[index]
        elif node.command:
            out[key] = render(node.command, context)
    del call
    return out


def test_no_step_shows_a_command_that_does_not_exist_on_the_callers_windows() -> None:
    for version, forbidden in (("xp", ONLY_VISTA_LATER), ("server2003", ONLY_VISTA_LATER),
                               ("win10_11", ONLY_XP_2003), ("server2016", ONLY_XP_2003),
                               ("server2008_2012", ONLY_XP_2003)):
        commands = _commands_for(version)
        assert len(commands) > 20, version  # the routes of that Windows were found
        for key, command in commands.items():
            for word in forbidden:
                assert word not in command, (version, key, command)


def _shown_on_routes(version: str) -> list[tuple[str, list[tuple[str, str, str]]]]:
    """Per route of a call on ``version``: (node key, text, help, command) as shown, for
    every step on the route (notes included), rendered with that route's answers."""
    from wizard.base.textrender import render

    fs = shipped()
    from wizard.flows.flowset import DEFAULT_DESIGN

    base = {"staffer": "tester", "call_id": "x", "test_servers": ""} | DEFAULT_DESIGN
    out = []
    for answers, end in routes():
        if version not in (answers.get("intake.windows"), answers.get("intake.server_windows")):
            continue
        context = end.context | base
        shown = []
        for v in end.route:
            node = fs.node(v.key.split("@", 1)[0])
            family = windows_family(version)
            command = (node.commands[family] if node.commands and family  # type: ignore[index]
                       else node.command or "")
            shown.append((v.key, render(node.text, context), render(node.help or "", context),
                          render(command, context)))
        out.append((end.visit.key, shown))
    return out  # type: ignore[return-value]


@pytest.mark.parametrize("version", ["win10_11", "server2016"])
def test_help_and_notes_on_windows_10_11_name_no_xp_tools(version: str) -> None:
    for end, shown in _shown_on_routes(version):
        for key, text, help_text, _ in shown:
            for word in ("Detect_IPsec_Policy", "netdiag", "Support Tools", "debug script",
                         "IPsec_Debug"):
                assert word not in text + help_text, (end, key, word)


@pytest.mark.parametrize("version", ["xp", "server2003"])
def test_help_and_notes_on_xp_and_2003_name_no_later_windows(version: str) -> None:
    for end, shown in _shown_on_routes(version):
        for key, text, help_text, _ in shown:
            for word in ("2008", "Windows 10", "gpresult /scope", "bcdedit", "IKEEXT"):
                assert word not in text + help_text, (end, key, word)


ADMIN_ONLY = ("gpresult /scope computer", "klist -li 0x3e7 purge", "nltest", "auditpol",
              "netsh ipsec", "reg add", "netsh int ipv4 add", "sc config")


@pytest.mark.parametrize("version", ["win10_11", "xp", "server2016", "server2003"])
def test_admin_only_commands_come_with_an_elevated_prompt(version: str) -> None:
    for end, shown in _shown_on_routes(version):
        told = False
        for key, text, help_text, command in shown:
            told = told or "Run as administrator" in text
            if any(tool in command for tool in ADMIN_ONLY):
                assert told or "administrator" in help_text + text, (end, key, command)


@pytest.mark.parametrize("version", ["win10_11", "xp", "server2016", "server2003"])
def test_no_command_shown_has_a_placeholder_cmd_reads_as_a_redirection(version: str) -> None:
    for end, shown in _shown_on_routes(version):
        for key, _, _, command in shown:
            bare = re.sub(r'"[^"]*"', '""', command)  # cmd reads no < or > inside quotes
            assert "<" not in bare, (end, key, command)
            # ">" only to write a log file named after the computer
            assert bare.count(">") == bare.count("> %COMPUTERNAME%_"), (key, command)
            if "gpresult /h" in command:
                assert "/f" in command.split("gpresult /h", 1)[1], (key, command)


def test_the_test_computer_command_names_the_organizations_test_servers(
        tmp_path: Path) -> None:
    from wizard.config.organization import TestServer

    answers = INTAKE | NAMES_WORK | {"fig7_1.net_view": "no", "fig7_1.test_servers": "yes",
                                     "fig7_3.target_rras": "no"}
    node = shipped().node("fig7_1.test_servers")
    org = OrgConfig(test_servers=[
        TestServer(name="hd-test1.corp.example", address="10.0.9.1"),
        TestServer(name="hd-test2.corp.example", address="10.0.9.2")])
    call = Call.start(flowset=shipped(), journals=JournalFolder(tmp_path), org=org,
                      staffer="tester", mode="answers_file")
    try:
        step = call.engine.step({k: v for k, v in answers.items()
                                 if k in ("fig7_1.net_view",) or k.startswith("intake.")
                                 or k in NAMES_WORK}, call.base_context())
        assert step.visit.key == "fig7_1.test_servers"
        shown = call.command(node, step)
        assert shown == "net view \\\\hd-test1.corp.example & net view \\\\hd-test2.corp.example"
        assert "TESTCOMPUTER" not in call.text(node.help, step)
    finally:
        call.close()
    bare = Call.start(flowset=shipped(), journals=JournalFolder(tmp_path / "b"), org=OrgConfig(),
                      staffer="tester", mode="answers_file")
    try:
        step = bare.engine.step({k: v for k, v in answers.items()
                                 if k in ("fig7_1.net_view",) or k.startswith("intake.")
                                 or k in NAMES_WORK}, bare.base_context())
        assert bare.command(node, step) == "net view \\\\TESTCOMPUTER"
        assert "lists no help-desk test computers" in bare.text(node.help, step)
    finally:
        bare.close()


def test_policy_refresh_command_per_windows_family(tmp_path: Path) -> None:
    answers = INTAKE | {"fig7_1.ping_ip": "negotiating", "fig7_2.policy_version": "no",
                        "fig7_2.policy_refresh": "done", "fig7_2.policy_fixed": "yes"}
    _, _, xp, _, _ = end_of(answers | {"intake.windows": "xp"}, tmp_path / "xp")
    _, _, w11, _, _ = end_of(answers, tmp_path / "w11")
    assert "`cscript Refresh_IPsec_Policy.vbs`" in xp and "klist" not in xp
    assert "`klist -li 0x3e7 purge && gpupdate /target:computer /force`" in w11
    assert "Refresh_IPsec_Policy.vbs" not in w11
    _, _, unknown, _, _ = end_of(answers | {"intake.windows": "unknown"}, tmp_path / "u")
    assert "Windows XP / Server 2003: cscript Refresh_IPsec_Policy.vbs" in unknown


# -- every situation of the issue, as the staffer sees it on screen and in the ticket ----
#
# Each situation is replayed through `start --answers` (in this process, to stay fast) once
# for Windows XP / Server 2003 and once for Windows 10 or 11 / Server 2016: the screen's
# last lines, the ticket's status, category and group, and the command the route shows
# for that Windows.

STATUS_LABEL = {"fixed_understood": "Fixed understood", "fixed_unclear": "Fixed unclear",
                "not_fixed": "Not fixed (escalated to Tier 2)"}
CATEGORY_LABEL = {"network": "Network connectivity", "name_resolution": "Name resolution",
                  "application": "Application", "caller_ipsec": "IPsec on the caller's computer",
                  "target_ipsec": "IPsec on the target computer (or the path to it)",
                  "server_ipsec": "IPsec on the server (no network after a restart)"}


@dataclass(frozen=True)
class Situation:
    """What the caller sees (the answers) and what the staffer must then be shown."""

    answers: dict[str, str]
    status: str
    category: str
    group: str | None
    #: commands shown, per Windows family: {"xp_2003": [...], "vista_later": [...]}
    commands: dict[str, list[str]] = field(default_factory=dict)
    #: text in the Markdown ticket, whatever the Windows
    ticket_has: tuple[str, ...] = ()
    ticket_lacks: tuple[str, ...] = ()
    #: node keys on the route (notes included) and answered keys that must not be asked
    route_has: tuple[str, ...] = ()
    not_asked: tuple[str, ...] = ()
    server: bool = False
    org: str = ""
    #: the Windows families the situation exists on (KB 912023's store: 2003 only)
    families: tuple[str, ...] = ("xp_2003", "vista_later")


FAMILIES = {False: {"xp_2003": "xp", "vista_later": "win10_11"},
            True: {"xp_2003": "server2003", "vista_later": "server2016"}}
SHARE_LOGS = {"xp_2003": ["cscript IPsec_Debug.vbs"],
              "vista_later": ["netsh advfirewall monitor show mmsa"]}
POLICY_CHECK = {"xp_2003": ['Does the policy check say "IPsec policy is up-to-date."? '
                            "(`cscript Detect_IPsec_Policy.vbs`)",
                            "`cscript Refresh_IPsec_Policy.vbs`"],
                "vista_later": ['list "Applied Group Policy Objects" name your organization\'s'
                                " IPsec or firewall policy? (`gpresult /scope computer /r`)",
                                "`klist -li 0x3e7 purge && gpupdate /target:computer /force`"]}
#: whether the computer is joined: systeminfo, or dsregcmd on Windows 10/11 (Entra ID)
JOINED = {"xp_2003": ["`systeminfo`"], "vista_later": ["`dsregcmd /status`"]}
SECURE_CHANNEL = {"xp_2003": ["`netdiag /test:trust`"],
                  "vista_later": ["`nltest /sc_verify:%USERDNSDOMAIN%`"]}
EVENT_7023 = {"xp_2003": ['/fi "id eq 7023"`'], "vista_later": ["(EventID=7023)"]}
PORT_PROOF = ['`netstat -ano -p udp | findstr /r /c:":500 " /c:":4500 "`',
              '`tasklist /svc /fi "PID eq 1788"`']
RESERVED = {"xp_2003": ["`reg query HKLM\\SYSTEM\\CurrentControlSet\\Services\\Tcpip\\Parameters"
                        " /v ReservedPorts`"],
            "vista_later": ["`netsh int ipv4 show excludedportrange protocol=udp`"]}
STORE_CHECK = {"xp_2003": ["`netsh ipsec static show all`"]}  # KB 912023: 2003 only
START_BLOCK = {"xp_2003": ['eventquery.vbs /l system /fi "id eq 4292"`'],
               "vista_later": ["`sc query BFE & sc query MpsSvc & sc query IKEEXT & sc query "
                               "PolicyAgent`", "EventID=5461 or EventID=5462"]}
BOOT_CONFIG = {"xp_2003": ["`netsh ipsec dynamic show config`"],
               "vista_later": ["`netsh wfp show boottimepolicy`"]}
WRITE_PORTS = {"xp_2003": ["`reg add HKLM\\SYSTEM\\CurrentControlSet\\Services\\Tcpip\\Parameters"
                           " /v ReservedPorts /t REG_MULTI_SZ /f /d \"500-500\\04500-4500\"`"],
               "vista_later": ["`net stop dns`", "`netsh int ipv4 add excludedportrange "
                               "protocol=udp startport=500 numberofports=1`", "`net start dns`"]}


def both(*commands: str) -> dict[str, list[str]]:
    return {"xp_2003": list(commands), "vista_later": list(commands)}


def merged(*parts: dict[str, list[str]]) -> dict[str, list[str]]:
    return {fam: [c for p in parts for c in p.get(fam, [])] for fam in ("xp_2003", "vista_later")}


#: network in safe mode, and the service event names IPsec's (2003: no event 4292; 2019:
#: all services run and no IPsec failure is logged, so event 7023 is read)
SERVER_7023 = SERVER | {"server_restart.safe_mode": "yes", "server_restart.event_4292": "no",
                        "server_restart.wfp_services": "running",
                        "server_restart.ipsec_events": "no",
                        "server_restart.event_7023": "ipsec"}
CLASH = {"server_restart.dns_update": "yes", "server_restart.port500_pid": "612",
         "server_restart.port500_owner": "ike", "server_restart.port4500_pid": "1788",
         "server_restart.port4500_owner": "dns", "server_restart.reserve_ports": "none",
         "server_restart.reserve_2003": "done", "server_restart.stop_dns": "done",
         "server_restart.exclude_500": "done", "server_restart.exclude_4500": "done",
         "server_restart.start_dns": "done",
         "server_restart.ports_after": "4500-4500", "server_restart.ports_fixed": "yes"}
NO_CLASH_NO_STORE = {"server_restart.dns_update": "no", "server_restart.policy_store": "no",
                     "server_restart.collect": "done"}
REFRESH_FAILS = {"fig7_1.ping_ip": "negotiating", "fig7_2.policy_version": "no",
                 "fig7_2.policy_refresh": "done", "fig7_2.policy_fixed": "no"}
ORG_FILE = """tier2:
  rules:
    - {target: "fin-*", group: Finance server isolation team}
  teams:
    server_isolation: Access groups
"""
ISOLATION = "Server isolation support team (network access groups)"

SITUATIONS: dict[str, Situation] = {
    "ping to the target shows Negotiating IP security, the refresh fixes it": Situation(
        INTAKE | {"fig7_1.ping_ip": "negotiating", "fig7_2.policy_version": "no",
                  "fig7_2.policy_refresh": "done", "fig7_2.policy_fixed": "yes"},
        "fixed_unclear", "caller_ipsec", None, merged(both("`ping 10.1.2.3`"), POLICY_CHECK),
        ticket_has=('Ping shows "Negotiating IP security"',),
        not_asked=("fig7_1.net_autoconfig", "fig7_2.rras_running")),
    "Negotiating IP security that the refresh does not fix goes to Tier 2 IPsec": Situation(
        INTAKE | REFRESH_FAILS | {"fig7_2.domain_account": "yes", "fig7_2.secure_channel": "ok",
                                  "fig7_2.collect_caller": "yes", "fig7_2.logs_caller": "done"},
        "not_fixed", "caller_ipsec", "Tier 2 IPsec support",
        merged(POLICY_CHECK, SECURE_CHANNEL, SHARE_LOGS),
        ticket_lacks=("Global network operations center",)),
    "ping to a test server shows Negotiating IP security": Situation(
        INTAKE | NAMES_WORK | {"fig7_1.net_view": "no", "fig7_1.test_servers": "negotiating",
                               "fig7_2.policy_version": "no", "fig7_2.policy_refresh": "done",
                               "fig7_2.policy_fixed": "yes"},
        "fixed_unclear", "caller_ipsec", None,
        merged(both("`net view \\\\TESTCOMPUTER`"), POLICY_CHECK),
        not_asked=("fig7_2.rras_running",)),
    "target known only by name, ping cannot find it": Situation(
        INTAKE | {"intake.target_ip": "", "fig7_1.ping_ip": "unknown_host",
                  "fig7_1.name_nslookup": "no", "fig7_1.name_dns_server": "no",
                  "fig7_1.name_flush": "done", "fig7_1.name_fixed": "fails"},
        "not_fixed", "name_resolution", "Global network operations center",
        both("`ping fs01.corp.example`", "`nslookup fs01.corp.example`", "`ipconfig /all`",
             "`ipconfig /flushdns`"),
        not_asked=("fig7_1.net_autoconfig", "fig7_1.reverse_lookup")),
    "net view says Access is denied while ping works": Situation(
        INTAKE | NAMES_WORK | DENIED | {
                               "fig7_3.collect_logon": "yes", "fig7_3.logs_logon": "done"},
        "not_fixed", "target_ipsec", ISOLATION,
        merged(both("`net view \\\\fs01.corp.example`"), SHARE_LOGS),
        ticket_has=("System error 5 has occurred. Access is denied.",),
        not_asked=("fig7_1.test_servers", "fig7_1.app_still_fails")),
    "net view fails otherwise, the test servers answer, the target does not": Situation(
        INTAKE | NAMES_WORK | {"fig7_1.net_view": "no", "fig7_1.test_servers": "yes",
                               "fig7_3.target_rras": "no", "fig7_3.isolation_group": "no",
                               "fig7_3.target_refresh": "done", "fig7_3.target_works": "no",
                               "fig7_3.target_ping": "yes", "fig7_3.logon_right": "no",
                               "fig7_3.collect_target": "yes", "fig7_3.logs_target": "done"},
        "not_fixed", "target_ipsec", "Data center operations",
        merged(both("`net view \\\\fs01.corp.example`", "`net view \\\\TESTCOMPUTER`"),
               {k: v[1:] for k, v in POLICY_CHECK.items()}, SHARE_LOGS)),
    "net view fails otherwise, the test servers do not answer either": Situation(
        INTAKE | NAMES_WORK | {"fig7_1.net_view": "no", "fig7_1.test_servers": "no",
                               "fig7_2.rras_running": "no", "fig7_2.policy_version": "yes",
                               "fig7_2.domain_account": "yes", "fig7_2.secure_channel": "ok",
                               "fig7_2.collect_caller": "yes", "fig7_2.logs_caller": "done"},
        "not_fixed", "caller_ipsec", "Tier 2 IPsec support",
        merged(both("`sc query RemoteAccess`"), JOINED,
               {k: v[:1] for k, v in POLICY_CHECK.items()}, SECURE_CHANNEL, SHARE_LOGS)),
    "computer not joined, confirmed, rejoined by an administrator": Situation(
        CALLER_BRANCH | {"fig7_2.domain_account": "no", "fig7_2.machine_ours": "yes",
                         "fig7_2.request_rejoin": "done", "fig7_2.account_fixed": "fixed"},
        "fixed_understood", "caller_ipsec", None,
        merged(JOINED, {k: v[:1] for k, v in POLICY_CHECK.items()}),
        ticket_lacks=("Create (or reset)",), route_has=("fig7_2.machine_ours_caution",),
        not_asked=("fig7_2.secure_channel",)),
    "joined, but the trust relationship failed, rejoin pending": Situation(
        CALLER_BRANCH | {"fig7_2.domain_account": "yes", "fig7_2.secure_channel": "broken_trust",
                         "fig7_2.machine_ours": "yes", "fig7_2.request_rejoin": "done",
                         "fig7_2.account_fixed": "pending"},
        "not_fixed", "caller_ipsec", "Domain administrators", merged(JOINED, SECURE_CHANNEL),
        route_has=("fig7_2.machine_ours_caution",)),
    "no computer account in the domain, rejoined, still fails": Situation(
        CALLER_BRANCH | {"fig7_2.domain_account": "yes",
                         "fig7_2.secure_channel": "account_missing",
                         "fig7_2.machine_ours": "yes", "fig7_2.request_rejoin": "done",
                         "fig7_2.account_fixed": "still_fails", "fig7_2.collect_caller": "yes",
                         "fig7_2.logs_caller": "done"},
        "not_fixed", "caller_ipsec", "Tier 2 IPsec support", merged(SECURE_CHANNEL, SHARE_LOGS)),
    "computer the inventory does not confirm asks to be let in": Situation(
        CALLER_BRANCH | {"fig7_2.domain_account": "yes",
                         "fig7_2.secure_channel": "account_missing", "fig7_2.machine_ours": "no"},
        "not_fixed", "caller_ipsec", "IT security", SECURE_CHANNEL,
        not_asked=("fig7_2.request_rejoin",)),
    "access denied on a finance server follows the organization's fin-* rule": Situation(
        INTAKE | NAMES_WORK | DENIED | {"intake.target": "fin-app01.corp.example",
                                        "fig7_3.collect_logon": "yes",
                                        "fig7_3.logs_logon": "done"},
        "not_fixed", "target_ipsec", "Finance server isolation team",
        merged(both("`net view \\\\fin-app01.corp.example`"), SHARE_LOGS), org=ORG_FILE),
    "access denied elsewhere goes to the organization's name for the team": Situation(
        INTAKE | NAMES_WORK | DENIED | {
                               "fig7_3.collect_logon": "yes", "fig7_3.logs_logon": "done"},
        "not_fixed", "target_ipsec", "Access groups", SHARE_LOGS, org=ORG_FILE,
        ticket_lacks=(ISOLATION, "Data center operations")),
    "169.254 address that a DHCP renew fixes": Situation(
        INTAKE | PING_PROVES | {"fig7_1.net_autoconfig": "yes",
                  "fig7_1.net_renew": "done", "fig7_1.renew_fixed": "yes"},
        "fixed_unclear", "network", None,
        both("`ipconfig`", "`ipconfig /release && ipconfig /renew`"),
        ticket_lacks=("IPsec_Debug", "_mmsa.txt")),
    "network call with no reply: no logs requested": Situation(
        INTAKE | PING_PROVES | {"fig7_1.net_autoconfig": "no",
                  "fig7_1.net_gateway": "yes", "fig7_1.net_tracert": "none",
                  "fig7_1.net_from_helpdesk": "no", "fig7_1.net_fixed": "no"},
        "not_fixed", "network", "Global network operations center",
        both("`tracert 10.1.2.3`"),
        ticket_has=("No logs were requested on this call.",),
        ticket_lacks=("IPsec_Debug", "_mmsa.txt")),
    "caller not a local administrator: no log step, the ticket says why": Situation(
        INTAKE | NAMES_WORK | DENIED | {"fig7_3.collect_logon": "no"},
        "not_fixed", "target_ipsec", ISOLATION, both("`net view \\\\fs01.corp.example`"),
        ticket_has=("No logs: the caller is not a local administrator of ws-ann",),
        ticket_lacks=("IPsec_Debug", "_mmsa.txt"), not_asked=("fig7_3.logs_logon",)),
    # -- the server that lost its network (the blog case), on 2003 and on 2016 or later --
    "server loses its network only sometimes: straight to the port clash": Situation(
        SERVER | {"server_restart.restart_pattern": "sometimes"} | CLASH,
        "fixed_unclear", "server_ipsec", None, merged(both(*PORT_PROOF), RESERVED, WRITE_PORTS),
        ticket_has=("**Only sometimes (intermittent)**",
                    "a later DNS Server update that superseded it"),
        ticket_lacks=("narrow the dynamic port range",),
        route_has=("server_restart.intermittent_note", "server_restart.rollback_note"),
        not_asked=("server_restart.safe_mode", "server_restart.halving"), server=True),
    "event 7023 names an IPsec service, DNS holds the port, kept from DNS": Situation(
        SERVER_7023 | CLASH, "fixed_unclear", "server_ipsec", None,
        merged(START_BLOCK, EVENT_7023, both(*PORT_PROOF), RESERVED, WRITE_PORTS),
        ticket_has=("UDP 4500 by PID 1788",),
        route_has=("server_restart.rollback_note",), not_asked=("server_restart.halving",),
        server=True),
    "only after remote restarts over Remote Desktop: boot exemption for Tier 2": Situation(
        SERVER | {"server_restart.restart_pattern": "after_rdp",
                  "server_restart.rdp_boot_config": "no RDP exemption",
                  "server_restart.rdp_exemption": "inbound TCP 3389",
                  "server_restart.rdp_approver": ""} | NO_CLASH_NO_STORE,
        "not_fixed", "server_ipsec", DATA_CENTER,
        merged(BOOT_CONFIG, {"xp_2003": ["`cscript IPsec_Debug.vbs`"],
                             "vista_later": ["(EventID=7000 or EventID=7001 or EventID=7023)"]}),
        ticket_has=("**Only after a remote restart over Remote Desktop**",
                    "recorded for Tier 2 to approve and set"),
        ticket_lacks=("none of the known fixes helped", "start= disabled"),
        route_has=("server_restart.rdp_note",),
        not_asked=("server_restart.safe_mode", "server_restart.disable_approval"), server=True),
    "no network even in safe mode, the start-up block found": Situation(
        SERVER | {"server_restart.safe_mode": "no", "server_restart.event_4292_safe": "yes",
                  "server_restart.wfp_services": "running",
                  "server_restart.ipsec_events": "yes",
                  "server_restart.boot_mode": "bootmode = STATEFUL"} | NO_CLASH_NO_STORE
        | {"server_restart.disable_approval": ""},
        "not_fixed", "server_ipsec", DATA_CENTER, merged(START_BLOCK, BOOT_CONFIG),
        ticket_lacks=("a service is not the cause", "none of the known fixes helped"),
        server=True),
    "damaged policy store on 2003 rebuilt with Tier 2 approval, policy re-applied": Situation(
        SERVER_7023 | {"server_restart.dns_update": "no", "server_restart.policy_store": "yes",
                       "server_restart.store_approval": "Dana (Tier 2)",
                       "server_restart.fix_store": "done",
                       "server_restart.reassign_policy": "done",
                       "server_restart.store_fixed": "yes"},
        "fixed_unclear", "server_ipsec", None,
        merged(STORE_CHECK, {"xp_2003": ["`regsvr32 polstore.dll`",
                                         "`gpupdate /target:computer /force`"]}),
        ticket_has=("With Dana (Tier 2)'s approval",), server=True, families=("xp_2003",)),
    "IPsec disabled with Tier 2 approval, re-enabling planned: escalated, Not fixed": Situation(
        SERVER_7023 | NO_CLASH_NO_STORE | {"server_restart.disable_approval": "Dana (Tier 2)",
                                           "server_restart.disable_ipsec": "done",
                                           "server_restart.disabled_fixed": "yes",
                                           "server_restart.reenable_plan": "Dana, Monday"},
        "not_fixed", "server_ipsec", DATA_CENTER,
        both("`sc config PolicyAgent start= disabled`", "`sc config PolicyAgent start= auto`"),
        ticket_has=("**Dana, Monday**",), server=True),
    "IPsec disabled without approval: never": Situation(
        SERVER_7023 | NO_CLASH_NO_STORE | {"server_restart.disable_approval": ""},
        "not_fixed", "server_ipsec", DATA_CENTER, STORE_CHECK,
        ticket_lacks=("start= disabled", "none of the known fixes helped"),
        not_asked=("server_restart.disable_ipsec",), server=True),
}


def run_on_screen(answers: dict[str, str], data_dir: Path, org: str = "",
                  system: object = None) -> tuple[str, str, str]:
    """`ipsec-triage start --answers FILE --no-checks`: the screen and the two tickets.
    With ``system``: run on the caller's computer (``--on caller``), the checks reaching
    that system."""
    data_dir.mkdir(parents=True)
    path = data_dir / "answers.yaml"
    path.write_text(yaml.safe_dump({"answers": answers}), encoding="utf-8")
    environ = {"IPSEC_TRIAGE_DATA": str(data_dir), "IPSEC_TRIAGE_STAFFER": "tester",
               "COLUMNS": "120"}
    if org:
        (data_dir / "org.yaml").write_text(org, encoding="utf-8")
        environ["IPSEC_TRIAGE_ORG"] = str(data_dir / "org.yaml")
    out, err = io.StringIO(), io.StringIO()
    env = Environment(stdin=io.StringIO(""), stdout=out, stderr=err, environ=environ,
                      system=system)  # type: ignore[arg-type]
    how = ["--no-checks"] if system is None else ["--on", "caller"]
    assert main(["start", "--answers", str(path), *how], env=env) == 0, err.getvalue()
    calls = data_dir / "calls"
    md = next(calls.glob("*.ticket.md")).read_text(encoding="utf-8")
    txt = next(calls.glob("*.ticket.txt")).read_text(encoding="utf-8")
    return out.getvalue(), md, txt


@pytest.mark.parametrize("family", ["xp_2003", "vista_later"])
@pytest.mark.parametrize("name", list(SITUATIONS))
def test_situation_on_screen_and_in_the_ticket(name: str, family: str, tmp_path: Path) -> None:
    s = SITUATIONS[name]
    if family not in s.families:
        pytest.skip(f"{name}: not on {family}")
    version = FAMILIES[s.server][family]
    answers = s.answers | {("intake.server_windows" if s.server else "intake.windows"): version}
    screen, md, txt = run_on_screen(answers, tmp_path / "data", s.org)
    end = screen[screen.index(" ended: "):]
    assert end.startswith(f" ended: {STATUS_LABEL[s.status]}\n"), end
    assert f"\nCategory: {CATEGORY_LABEL[s.category]}\n" in end  # its label, as read
    assert f"| Status | **{STATUS_LABEL[s.status].split(' (')[0]}" in md
    assert f"| Problem category | {CATEGORY_LABEL[s.category]} |" in md
    if s.group:
        assert f"\nEscalate to: {s.group}\n" in end
        assert f"| Escalate to | **{s.group}** |" in md and f"ESCALATE TO: {s.group}\n" in txt
    else:
        assert "Escalate to" not in end and "| Escalate to |" not in md
        assert "ESCALATE TO" not in txt
    for command in s.commands.get(family, []):
        assert command in md, (family, command)
    for text in s.ticket_has:
        assert text in md, text
    for text in s.ticket_lacks:
        assert text not in md, text
    route = Engine(shipped()).step(answers).route
    assert Engine(shipped()).step(answers).visit.node.status.value == s.status  # type: ignore[union-attr]
    keys = [v.key for v in route]
    asked = [v.key for v in route if v.answered]
    for key in s.route_has:
        assert key in keys, key
    for key in s.not_asked:
        assert key not in asked, key


def test_disabling_ipsec_services_says_it_leaves_connection_security_rules_on_2008_and_later(
        ) -> None:
    node = shipped().node("server_restart.disable_ipsec")
    assert node.command == "sc config PolicyAgent start= disabled"
    assert "connection security rules" in (node.help or "")
    assert "Windows Server 2008 and later" in (node.help or "")
