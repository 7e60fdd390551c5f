"""Routes written as the caller's situation: what the caller sees decides the branch,
the status, the category and the one Tier 2 group shown on screen and in the ticket."""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

from wizard.call import Call
from wizard.journal import CallStore
from wizard.nodes import TerminalNode
from wizard.orgconfig import OrgConfig, RouteRule, Tier2

from .conftest import PYTHON, cli_env
from .support import ROOT, replay, shipped

INTAKE = {
    "intake.caller_name": "Ann Caller", "intake.caller_contact": "+1 555 0100",
    "intake.since": "this morning", "intake.existing_ticket": "",
    "intake.scope": "caller", "intake.extent": "one_server",
    "intake.address_type": "wired", "intake.severity": "low",
    "intake.call_type": "reach", "intake.caller_machine": "ws-ann",
    "intake.target": "fs01.corp.example", "intake.target_ip": "10.1.2.3",
    "intake.tried": "open the team share",
}
#: ping, ping -a, ping by name and nslookup all work
NAMES_WORK = {"fig7_1.ping_ip": "yes", "fig7_1.reverse_lookup": "yes",
              "fig7_1.ping_name": "yes", "fig7_1.nslookup": "yes"}


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
                        "fig7_2.collect_caller": "done"}
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
                        "fig7_1.name_flush": "done", "fig7_1.name_fixed": "no"}
    call, node, md, txt, asked = end_of(answers, tmp_path)
    assert "fig7_1.net_autoconfig" not in asked and "fig7_1.reverse_lookup" not in asked
    assert node.status.value == "not_fixed" and node.category.value == "name_resolution"
    assert_escalated_to(call, md, txt, "Global network operations center")
    assert "Could not find host" in md or "could not find host" in md


def test_name_only_target_that_answers_ping_is_never_asked_ping_minus_a(
        tmp_path: Path) -> None:
    answers = INTAKE | {"intake.target_ip": "", "fig7_1.ping_ip": "yes",
                        "fig7_1.nslookup": "yes", "fig7_1.net_view": "yes",
                        "fig7_1.app_still_fails": "yes"}
    _, node, md, _, asked = end_of(answers, tmp_path)
    assert "fig7_1.reverse_lookup" not in asked and "fig7_1.ping_name" not in asked
    assert "ping -a" not in md
    assert node.category.value == "application"


def test_address_only_target_goes_from_ping_straight_to_net_view(tmp_path: Path) -> None:
    answers = INTAKE | {"intake.target": "10.1.2.3", "intake.target_ip": "",
                        "fig7_1.ping_ip": "yes", "fig7_1.net_view": "yes",
                        "fig7_1.app_still_fails": "no"}
    _, node, _, _, asked = end_of(answers, tmp_path)
    assert asked[-2:] == ["fig7_1.net_view", "fig7_1.app_still_fails"]
    assert node.status.value == "fixed_unclear"


def test_ping_cannot_find_host_but_nslookup_can_points_at_cache_or_hosts(
        tmp_path: Path) -> None:
    answers = INTAKE | {"intake.target_ip": "", "fig7_1.ping_ip": "unknown_host",
                        "fig7_1.name_nslookup": "yes", "fig7_1.name_flush": "done",
                        "fig7_1.name_fixed": "yes"}
    _, node, _, _, asked = end_of(answers, tmp_path)
    assert "fig7_1.name_dns_server" not in asked
    assert node.status.value == "fixed_understood"
    assert node.category.value == "name_resolution"


# -- net view's three outcomes ---------------------------------------------------------

def test_net_view_access_denied_with_ping_working_goes_to_the_server_isolation_team(
        tmp_path: Path) -> None:
    answers = INTAKE | NAMES_WORK | {"fig7_1.net_view": "access_denied",
                                     "fig7_3.collect_logon": "done"}
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
    answers = INTAKE | NAMES_WORK | {"intake.target": "fin-app01.corp.example",
                                     "fig7_1.net_view": "access_denied",
                                     "fig7_3.collect_logon": "done"}
    call, _, md, txt, _ = end_of(answers, tmp_path, org)
    assert_escalated_to(call, md, txt, "Finance server isolation team")
    other = INTAKE | NAMES_WORK | {"fig7_1.net_view": "access_denied",
                                   "fig7_3.collect_logon": "done"}
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
    answers = INTAKE | NAMES_WORK | {"fig7_1.net_view": "access_denied",
                                     "fig7_3.collect_logon": "done"}
    path = tmp_path / "answers.yaml"
    path.write_text(yaml.safe_dump({"answers": answers}))
    r = subprocess.run([PYTHON, "-m", "wizard", "start", "--answers", str(path),
                        "--no-checks"], capture_output=True, text=True,
                       env=cli_env(data_dir), timeout=120)
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
    assert "nltest /sc_verify:<domain>" in md
    assert "The trust relationship failed" in md
    assert node.status.value == "not_fixed"
    assert_escalated_to(call, md, txt, "Tier 2 IPsec support")


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
    store = CallStore(tmp_path)
    call = Call.start(flowset=fs, store=store, org=org, staffer="t")
    assert call.org.tier2_group("target_ipsec", "x", "server_isolation") == \
        "Server isolation support team (network access groups)"
    assert "Team named by the flowchart" not in (ROOT / "templates" / "ticket.md.j2").read_text()
