"""Routes on today's Windows (issue 24): each test is a caller's situation (what the caller
sees, which Windows, what the organization's design and routing say), replayed through
``start --answers`` and checked on the screen and in the ticket: status, category, the
one Tier 2 group, and the commands shown."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from wizard.checks import RunOutput
from wizard.frontends.terminal.cli import main
from wizard.frontends.terminal.environment import Environment

from .test_routes import (
    CATEGORY_LABEL,
    DENIED,
    INTAKE,
    NAMES_WORK,
    NO_CLASH_NO_STORE,
    PING_PROVES,
    SERVER_7023,
    STATUS_LABEL,
    run_on_screen,
)

#: The organization sends its finance servers' problems to a finance team (Woodgrove's
#: example), and names its own domain administrators.
FIN_ORG = """tier2:
  rules:
    - {target: "fin-*", group: Finance isolation team}
  teams:
    domain_admins: Corp AD operations
"""
FIN = {"intake.target": "fin-app01.corp.example", "intake.target_ip": "10.1.2.3"}
CALLER_BRANCH = INTAKE | NAMES_WORK | {
    "fig7_1.net_view": "no", "fig7_1.test_servers": "no", "fig7_2.rras_running": "no",
    "fig7_2.policy_version": "yes"}


def cli(data: Path, org: Path, *args: str) -> str:
    """What ``ipsec-triage ARGS`` prints with this data folder and organization file."""
    out, err = io.StringIO(), io.StringIO()
    env = Environment(stdin=io.StringIO(""), stdout=out, stderr=err, environ={
        "IPSEC_TRIAGE_DATA": str(data), "IPSEC_TRIAGE_STAFFER": "tester",
        "IPSEC_TRIAGE_ORG": str(org)})
    assert main(list(args), env=env) == 0, err.getvalue()
    return out.getvalue()


def ends(screen: str, md: str, txt: str, status: str, category: str,
         group: str | None) -> None:
    """The screen's last lines and both tickets show this status, category and group."""
    end = screen[screen.index(" ended: "):]
    assert end.startswith(f" ended: {STATUS_LABEL[status]}\n"), end
    assert f"\nCategory: {CATEGORY_LABEL[category]}\n" in end
    assert f"| Problem category | {CATEGORY_LABEL[category]} |" in md
    if group is None:
        assert "Escalate to" not in end and "ESCALATE TO" not in txt
        return
    assert f"\nEscalate to: {group}\n" in end, end
    assert f"| Escalate to | **{group}** |" in md
    assert f"ESCALATE TO: {group}\n" in txt


# -- routing: the exit's team first ------------------------------------------------------

def test_callers_own_lan_down_while_calling_about_a_finance_server_goes_to_network_ops(
        tmp_path: Path) -> None:
    # Windows 11 laptop, cable out; the design says ping is exempt and answered, so the
    # network branch is taken; the fin-* rule must not take the caller's own LAN
    org = FIN_ORG + "isolation: {icmp_exempt: true, targets_answer_ping: true}\n"
    answers = INTAKE | FIN | PING_PROVES | {"fig7_1.net_autoconfig": "no",
                              "fig7_1.net_gateway": "no", "fig7_1.net_local_link": "done",
                              "fig7_1.link_result": "fails"}
    screen, md, txt = run_on_screen(answers, tmp_path / "d", org)
    ends(screen, md, txt, "not_fixed", "network", "Global network operations center")
    assert "Finance isolation team" not in md + txt + screen


def test_unconfirmed_computer_calling_about_a_finance_server_still_goes_to_security(
        tmp_path: Path) -> None:
    answers = CALLER_BRANCH | FIN | {"fig7_2.domain_account": "yes",
                                     "fig7_2.secure_channel": "account_missing",
                                     "fig7_2.machine_ours": "no"}
    screen, md, txt = run_on_screen(answers, tmp_path / "d", FIN_ORG)
    ends(screen, md, txt, "not_fixed", "caller_ipsec", "IT security")
    assert "Finance isolation team" not in md + txt + screen


def test_access_denied_on_a_finance_server_still_follows_the_target_rule(
        tmp_path: Path) -> None:
    answers = INTAKE | NAMES_WORK | DENIED | FIN | {"fig7_3.collect_logon": "no"}
    screen, md, txt = run_on_screen(answers, tmp_path / "d", FIN_ORG)
    ends(screen, md, txt, "not_fixed", "target_ipsec", "Finance isolation team")


def test_ticket_rerendered_later_shows_the_group_recorded_at_the_end_of_the_call(
        tmp_path: Path) -> None:
    answers = INTAKE | NAMES_WORK | DENIED | FIN | {"fig7_3.collect_logon": "no"}
    data = tmp_path / "d"
    run_on_screen(answers, data, FIN_ORG)
    # the organization file changes afterwards: the rule is gone, the team renamed
    (data / "org.yaml").write_text("tier2:\n  teams:\n    server_isolation: Access groups\n",
                                   encoding="utf-8")
    shown = cli(data, data / "org.yaml", "ticket", "last")
    assert "| Escalate to | **Finance isolation team** |" in shown
    assert "Access groups" not in shown


def test_access_denied_on_a_server_not_in_server_isolation_goes_to_its_operations_team(
        tmp_path: Path) -> None:
    answers = INTAKE | NAMES_WORK | DENIED | {"fig7_3.logon_isolated": "no",
                                              "fig7_3.collect_logon": "yes",
                                              "fig7_3.logs_logon": "done"}
    screen, md, txt = run_on_screen(answers, tmp_path / "no")
    ends(screen, md, txt, "not_fixed", "target_ipsec", "Data center operations")
    assert "`netsh advfirewall monitor show mmsa" in md  # Windows 10/11 log commands
    screen, md, txt = run_on_screen(answers | {"fig7_3.logon_isolated": "yes"},
                                    tmp_path / "yes")
    ends(screen, md, txt, "not_fixed", "target_ipsec",
         "Server isolation support team (network access groups)")


def test_isolation_answer_on_the_way_through_figure_7_3_decides_the_logon_group(
        tmp_path: Path) -> None:
    answers = INTAKE | NAMES_WORK | {
        "fig7_1.net_view": "no", "fig7_1.test_servers": "yes", "fig7_3.target_rras": "no",
        "fig7_3.isolation_group": "no", "fig7_3.target_refresh": "done",
        "fig7_3.target_works": "no", "fig7_3.target_ping": "yes",
        "fig7_3.logon_right": "yes", "fig7_3.collect_logon": "no"}
    screen, md, txt = run_on_screen(answers, tmp_path / "no")
    ends(screen, md, txt, "not_fixed", "target_ipsec", "Data center operations")
    screen, md, txt = run_on_screen(answers | {"fig7_3.isolation_group": "yes"},
                                    tmp_path / "yes")
    ends(screen, md, txt, "not_fixed", "target_ipsec",
         "Server isolation support team (network access groups)")


def test_rejoin_that_cannot_be_done_on_the_call_goes_to_the_authorized_administrators(
        tmp_path: Path) -> None:
    answers = CALLER_BRANCH | {"fig7_2.domain_account": "yes",
                               "fig7_2.secure_channel": "broken_trust",
                               "fig7_2.machine_ours": "yes", "fig7_2.request_rejoin": "done",
                               "fig7_2.account_fixed": "pending"}
    screen, md, txt = run_on_screen(answers, tmp_path / "plain")
    ends(screen, md, txt, "not_fixed", "caller_ipsec", "Domain administrators")
    assert "Tier 2 IPsec support" not in screen[screen.index(" ended: "):]
    screen, md, txt = run_on_screen(answers, tmp_path / "org", FIN_ORG)
    ends(screen, md, txt, "not_fixed", "caller_ipsec", "Corp AD operations")


def test_169_254_that_a_renew_does_not_fix_goes_to_the_policys_dhcp_exemptions(
        tmp_path: Path) -> None:
    answers = INTAKE | PING_PROVES | {"fig7_1.net_autoconfig": "yes",
                        "fig7_1.net_renew": "done", "fig7_1.renew_fixed": "no"}
    org = "isolation: {icmp_exempt: true, targets_answer_ping: true}\n"
    screen, md, txt = run_on_screen(answers, tmp_path / "d", org)
    ends(screen, md, txt, "not_fixed", "caller_ipsec", "Tier 2 IPsec support")
    assert "IPsec policy's DHCP exemptions" in md
    # the known issue's line names the same team as the route
    assert "Tier 2 IPsec support (the IPsec policy's DHCP exemptions)" in md
    assert "Global network operations center" not in md and "policy owners" not in md


# -- identity: what today's machines are ------------------------------------------------

def test_secure_channel_reaching_no_domain_controller_escalates_dc_access_never_a_rejoin(
        tmp_path: Path) -> None:
    # Windows 11, joined; `nltest /sc_verify:corp` prints ERROR_NO_LOGON_SERVERS (1311)
    answers = CALLER_BRANCH | {"fig7_2.domain_account": "yes",
                               "fig7_2.secure_channel": "no_logon_servers",
                               "fig7_2.dc_access": "no"}
    screen, md, txt = run_on_screen(answers, tmp_path / "d", FIN_ORG)
    ends(screen, md, txt, "not_fixed", "caller_ipsec", "Tier 2 IPsec support")
    assert "No domain controller reached (\"ERROR_NO_LOGON_SERVERS\", 1311)" in md
    assert "`nltest /sc_verify:%USERDNSDOMAIN%`" in md
    assert "`nltest /dsgetdc:%USERDNSDOMAIN%`" in md
    assert "domain controller exemptions" in md
    for never in ("asset inventory", "rejoin to the domain", "Corp AD operations",
                  "Domain administrators"):
        assert never not in md + screen[screen.index(" ended: "):], never


def test_entra_only_windows_11_laptop_is_a_design_question_not_a_rejoin(
        tmp_path: Path) -> None:
    # `dsregcmd /status`: AzureAdJoined : YES, DomainJoined : NO (systeminfo: WORKGROUP)
    answers = CALLER_BRANCH | {"fig7_2.domain_account": "entra"}
    screen, md, txt = run_on_screen(answers, tmp_path / "d", FIN_ORG)
    ends(screen, md, txt, "not_fixed", "caller_ipsec", "Tier 2 IPsec support")
    assert "`dsregcmd /status`" in md and "`systeminfo`" not in md
    assert "Joined to Entra ID (Azure AD) only" in md
    assert "design question" in md and "no rejoin was requested" in md
    assert "Domain administrators" not in md and "Corp AD operations" not in md
    assert "asset inventory" not in md


def test_windows_7_computer_is_still_checked_with_systeminfo(tmp_path: Path) -> None:
    answers = CALLER_BRANCH | {"intake.windows": "vista_8", "fig7_2.domain_account": "no",
                               "fig7_2.machine_ours": "yes", "fig7_2.request_rejoin": "done",
                               "fig7_2.account_fixed": "pending"}
    screen, md, txt = run_on_screen(answers, tmp_path / "d")
    ends(screen, md, txt, "not_fixed", "caller_ipsec", "Domain administrators")
    assert "`systeminfo`" in md and "dsregcmd" not in md


# -- name checks and the complaint ---------------------------------------------------------

def test_missing_reverse_lookup_is_recorded_and_the_traffic_test_still_decides(
        tmp_path: Path) -> None:
    # ping -a 10.1.2.3 shows no name (no PTR record); the share then lists fine but the
    # application still fails: an application call, not name resolution
    answers = INTAKE | {"fig7_1.ping_ip": "yes", "fig7_1.reverse_lookup": "no",
                        "fig7_1.ping_name": "yes", "fig7_1.nslookup": "yes",
                        "fig7_1.traffic": "file", "fig7_1.net_view": "yes",
                        "fig7_1.app_still_fails": "yes"}
    screen, md, txt = run_on_screen(answers, tmp_path / "d")
    ends(screen, md, txt, "not_fixed", "application", "Line of business application support")
    assert "`ping -a 10.1.2.3`" in md
    assert "ping -a 10.1.2.3 did not show fs01.corp.example" in md  # recorded for Tier 2
    assert "`ipconfig /all`" not in md  # no DNS server detour


def test_nslookup_failing_while_ping_by_name_worked_goes_on_to_net_view(
        tmp_path: Path) -> None:
    answers = INTAKE | {"fig7_1.ping_ip": "yes", "fig7_1.reverse_lookup": "yes",
                        "fig7_1.ping_name": "yes", "fig7_1.nslookup": "no",
                        "fig7_1.traffic": "file", "fig7_1.net_view": "access_denied",
                        "fig7_3.logon_isolated": "yes", "fig7_3.collect_logon": "no"}
    screen, md, txt = run_on_screen(answers, tmp_path / "d")
    ends(screen, md, txt, "not_fixed", "target_ipsec",
         "Server isolation support team (network access groups)")
    assert "nslookup fs01.corp.example failed although ping resolved the name" in md
    assert "Name resolution" not in screen[screen.index(" ended: "):]


def test_name_fixed_asks_whether_what_the_caller_tried_works_before_any_fixed_status(
        tmp_path: Path) -> None:
    base = INTAKE | {"intake.target_ip": "", "fig7_1.ping_ip": "unknown_host",
                     "fig7_1.name_nslookup": "yes", "fig7_1.name_flush": "done"}
    # the name resolves after the flush, but the team share still does not open
    answers = base | {"fig7_1.name_fixed": "resolves", "fig7_1.traffic": "file",
                      "fig7_1.net_view": "yes", "fig7_1.app_still_fails": "yes"}
    screen, md, txt = run_on_screen(answers, tmp_path / "still")
    ends(screen, md, txt, "not_fixed", "application", "Line of business application support")
    assert 'can the caller now do what failed ("open the team share")?' in md
    screen, md, txt = run_on_screen(base | {"fig7_1.name_fixed": "cache"}, tmp_path / "ok")
    ends(screen, md, txt, "fixed_unclear", "name_resolution", None)
    assert "**Both work after clearing the DNS cache; nothing else found**" in md


def test_target_known_only_by_address_gets_ping_minus_a_and_its_name_routes_the_call(
        tmp_path: Path) -> None:
    # the caller only has 10.1.2.3; ping -a shows FIN-APP01.corp.example; access denied
    answers = INTAKE | DENIED | {"intake.target": "10.1.2.3", "intake.target_ip": "",
                                 "fig7_1.ping_ip": "yes",
                                 "fig7_1.address_name": "FIN-APP01.corp.example",
                                 "fig7_1.traffic": "file", "fig7_3.collect_logon": "no"}
    screen, md, txt = run_on_screen(answers, tmp_path / "d", FIN_ORG)
    ends(screen, md, txt, "not_fixed", "target_ipsec", "Finance isolation team")
    assert "`ping -a 10.1.2.3`" in md and "FIN-APP01.corp.example" in md


def test_negotiating_on_the_ping_by_name_goes_to_the_policy_check(tmp_path: Path) -> None:
    answers = INTAKE | {"fig7_1.ping_ip": "yes", "fig7_1.reverse_lookup": "yes",
                        "fig7_1.ping_name": "negotiating", "fig7_2.policy_version": "no",
                        "fig7_2.policy_refresh": "done", "fig7_2.policy_fixed": "yes"}
    screen, md, txt = run_on_screen(answers, tmp_path / "d")
    ends(screen, md, txt, "fixed_unclear", "caller_ipsec", None)
    assert 'Ping shows "Negotiating IP security"' in md
    assert "`klist -li 0x3e7 purge && gpupdate /target:computer /force`" in md


def test_negotiating_on_the_re_ping_after_the_refresh_never_falls_back_to_no_reply(
        tmp_path: Path) -> None:
    answers = INTAKE | NAMES_WORK | {
        "fig7_1.net_view": "no", "fig7_1.test_servers": "yes", "fig7_3.target_rras": "no",
        "fig7_3.isolation_group": "no", "fig7_3.target_refresh": "done",
        "fig7_3.target_works": "no", "fig7_3.target_ping": "negotiating",
        "fig7_2.domain_account": "yes", "fig7_2.secure_channel": "ok",
        "fig7_2.collect_caller": "no"}
    screen, md, txt = run_on_screen(answers, tmp_path / "d")
    ends(screen, md, txt, "not_fixed", "caller_ipsec", "Tier 2 IPsec support")
    assert 'Ping shows "Negotiating IP security"' in md
    assert "Global network operations center" not in md
    assert "`dsregcmd /status`" in md


# -- the organization's isolation design decides what a test proves ------------------------

#: Windows 11 caller, no reply to `ping 10.1.2.3`; no organization file says ICMP is exempt
NO_REPLY_UNSAID = INTAKE | {"fig7_1.ping_ip": "no", "fig7_1.no_reply": "unproven"}


def _preselected_at_no_reply(org_text: str, tmp_path: Path) -> str | None:
    """The answer the no-reply question pre-selects for a call started with this
    organization file (its design is recorded in the call's start event)."""
    from wizard.calls.call import Call
    from wizard.calls.journal import JournalFolder
    from wizard.config.organization import OrgConfig, load_org_config

    from .helpers.calls import shipped

    tmp_path.mkdir(parents=True)
    org = OrgConfig()
    if org_text:
        (tmp_path / "org.yaml").write_text(org_text, encoding="utf-8")
        org = load_org_config(tmp_path / "org.yaml")
    call = Call.start(flowset=shipped(), journals=JournalFolder(tmp_path / "data"), org=org,
                      staffer="tester")
    try:
        step = call.engine.step(INTAKE | {"fig7_1.ping_ip": "no"}, call.base_context())
        assert step.visit.node_key == "fig7_1.no_reply"
        return call.preselected(step.visit, step)
    finally:
        call.close()


def test_no_reply_is_never_network_unless_the_design_says_ping_is_exempt_and_answered(
        tmp_path: Path) -> None:
    assert _preselected_at_no_reply("", tmp_path / "none") == "unproven"
    assert _preselected_at_no_reply("isolation: {icmp_exempt: true}\n",
                                    tmp_path / "half") == "unproven"
    assert _preselected_at_no_reply(
        "isolation: {icmp_exempt: true, targets_answer_ping: true}\n",
        tmp_path / "both") == "proves"


#: The organization file says its design: ICMP is not exempt (the Windows Firewall
#: default), Windows 11 targets do not answer ping
SAYS_NO = "isolation: {icmp_exempt: false, targets_answer_ping: false}\n"
#: The staffer answers "yes, ping proves" at the no-reply question all the same, the
#: file server does not answer on 445 either, nor do the test servers
OVERRIDE = INTAKE | {"fig7_1.ping_ip": "no", "fig7_1.no_reply": "proves",
                     "fig7_1.ask_service": "file", "fig7_1.port_file": "no",
                     "fig7_1.test_servers": "no", "fig7_2.rras_running": "no",
                     "fig7_2.policy_version": "no", "fig7_2.policy_refresh": "done",
                     "fig7_2.policy_fixed": "yes"}


def test_a_staffers_yes_cannot_make_no_reply_a_network_problem_where_the_file_says_no(
        tmp_path: Path) -> None:
    """Windows 11 caller, no reply to the ping of fs01; the organization file says ICMP
    is not exempt. The staffer still says ping proves the path: the route tests file
    sharing on 445 and ends at the caller's IPsec, never at network operations."""
    screen, md, txt = run_on_screen(OVERRIDE, tmp_path / "w11", SAYS_NO)
    ends(screen, md, txt, "fixed_unclear", "caller_ipsec", None)
    said_yes = md.index("**Yes: ICMP is exempt and targets answer ping")
    assert "Which kind of service does the caller use on fs01" in md[said_yes:]
    assert "`powershell Test-NetConnection fs01.corp.example -Port 445`" in md
    assert "tracert" not in md and "Global network operations center" not in md + screen
    for key in ("fig7_1.net_autoconfig", "fig7_1.net_gateway"):
        assert key not in md
    # the same call where the file says nothing: the safe default is pre-selected (see
    # above), and a staffer who knows the design may still answer for it
    screen, md, txt = run_on_screen(INTAKE | PING_PROVES | {
        "fig7_1.net_autoconfig": "no", "fig7_1.net_gateway": "no",
        "fig7_1.net_local_link": "done", "fig7_1.link_result": "fails"}, tmp_path / "unsaid")
    ends(screen, md, txt, "not_fixed", "network", "Global network operations center")


def test_no_route_reaches_network_troubleshooting_from_no_reply_where_the_file_says_no(
        ) -> None:
    """Every shipped route through the no-reply question, walked again with a design
    that says ping proves nothing: none reaches the network branch."""
    from wizard.calls.engine import Engine
    from wizard.flows.flowset import DEFAULT_DESIGN

    from .helpers.calls import routes, shipped

    said_no = {"staffer": "t", "call_id": "c"} | DEFAULT_DESIGN | {"ping_said_no": True}
    engine = Engine(shipped())
    through = [a for a, s in routes() if a.get("fig7_1.no_reply") == "proves"]
    assert len(through) >= 50  # the network branch's routes, as the design allows them
    for answers in through:
        step = engine.step(answers, said_no)
        route = [v.node_key for v in step.route] + [step.visit.node_key]
        assert "fig7_1.net_autoconfig" not in route, answers
        assert "fig7_1.design_says_no" in route and "fig7_1.ask_service" in route


def test_windows_11_file_server_that_ignores_ping_but_answers_on_445_is_not_network(
        tmp_path: Path) -> None:
    answers = NO_REPLY_UNSAID | {"fig7_1.ask_service": "file", "fig7_1.port_file": "yes",
                                 "fig7_1.net_view": "yes", "fig7_1.app_still_fails": "yes"}
    screen, md, txt = run_on_screen(answers, tmp_path / "w11")
    ends(screen, md, txt, "not_fixed", "application", "Line of business application support")
    assert "`powershell Test-NetConnection fs01.corp.example -Port 445`" in md
    assert "tracert" not in md and "Global network operations center" not in md
    # Windows 7: no Test-NetConnection; net view is the file-sharing test there
    screen, md, txt = run_on_screen(answers | {"intake.windows": "vista_8"}, tmp_path / "w7")
    assert "Test-NetConnection" not in md and "`net view \\\\fs01.corp.example`" in md


def test_no_reply_and_no_answer_on_445_goes_to_the_test_servers_not_network_ops(
        tmp_path: Path) -> None:
    answers = NO_REPLY_UNSAID | {
        "fig7_1.ask_service": "file", "fig7_1.port_file": "no", "fig7_1.test_servers": "no",
        "fig7_2.rras_running": "no", "fig7_2.policy_version": "no",
        "fig7_2.policy_refresh": "done", "fig7_2.policy_fixed": "yes"}
    screen, md, txt = run_on_screen(answers, tmp_path / "d")
    ends(screen, md, txt, "fixed_unclear", "caller_ipsec", None)
    assert "`net view \\\\TESTCOMPUTER`" in md


def test_web_server_is_tested_on_its_own_port_never_with_net_view(tmp_path: Path) -> None:
    answers = NO_REPLY_UNSAID | {
        "fig7_1.ask_service": "web", "fig7_1.port_app": "no", "fig7_1.test_servers": "yes",
        "fig7_3.target_rras": "no", "fig7_3.isolation_group": "no",
        "fig7_3.target_refresh": "done", "fig7_3.target_works": "no",
        "fig7_3.target_ping": "no", "fig7_3.logon_right": "no",
        "fig7_3.collect_target": "no"}
    screen, md, txt = run_on_screen(answers, tmp_path / "w11")
    # the target never answered ping: the silent re-ping is not a network escalation
    ends(screen, md, txt, "not_fixed", "target_ipsec", "Data center operations")
    assert "Global network operations center" not in md
    assert "`powershell Test-NetConnection fs01.corp.example -Port 443`" in md
    assert "net view \\\\fs01" not in md
    screen, md, txt = run_on_screen(answers | {"intake.windows": "xp"}, tmp_path / "xp")
    assert "`portqry -n fs01.corp.example -e 443`" in md and "Test-NetConnection" not in md


def test_re_ping_that_fails_after_the_refresh_is_network_only_if_the_target_answered_before(
        tmp_path: Path) -> None:
    answers = INTAKE | NAMES_WORK | {
        "fig7_1.net_view": "no", "fig7_1.test_servers": "yes", "fig7_3.target_rras": "no",
        "fig7_3.isolation_group": "no", "fig7_3.target_refresh": "done",
        "fig7_3.target_works": "no", "fig7_3.target_ping": "no",
        "fig7_3.collect_network": "no"}
    screen, md, txt = run_on_screen(answers, tmp_path / "d")
    ends(screen, md, txt, "not_fixed", "network", "Global network operations center")


def test_sql_server_that_answers_ping_gets_its_port_tested_before_the_application_question(
        tmp_path: Path) -> None:
    answers = INTAKE | {"fig7_1.ping_ip": "yes", "fig7_1.reverse_lookup": "yes",
                        "fig7_1.ping_name": "yes", "fig7_1.nslookup": "yes",
                        "fig7_1.traffic": "sql", "fig7_1.port_app": "yes",
                        "fig7_1.app_still_fails": "yes"}
    screen, md, txt = run_on_screen(answers, tmp_path / "d")
    ends(screen, md, txt, "not_fixed", "application", "Line of business application support")
    assert "`powershell Test-NetConnection fs01.corp.example -Port 1433`" in md
    assert "`net view" not in md  # no net view step


def test_the_organizations_file_port_is_the_one_tested(tmp_path: Path) -> None:
    org = "isolation: {icmp_exempt: false, targets_answer_ping: false, target_port: 8445}\n"
    answers = NO_REPLY_UNSAID | {"fig7_1.ask_service": "file", "fig7_1.port_file": "yes",
                                 "fig7_1.net_view": "yes", "fig7_1.app_still_fails": "no"}
    screen, md, txt = run_on_screen(answers, tmp_path / "d", org)
    ends(screen, md, txt, "fixed_unclear", "application", None)
    assert "`powershell Test-NetConnection fs01.corp.example -Port 8445`" in md
    assert "answer on TCP 8445" in md


def test_lint_warns_when_the_organization_file_leaves_the_design_unsaid(
        tmp_path: Path) -> None:
    def lint(org_text: str) -> str:
        (tmp_path / "org.yaml").write_text(org_text, encoding="utf-8")
        return cli(tmp_path / "data", tmp_path / "org.yaml", "lint")

    unsaid = lint("organization: Woodgrove Bank\n")
    assert ("warning: " + str(tmp_path / "org.yaml") +
            ": isolation: icmp_exempt and targets_answer_ping not set") in unsaid
    said = lint("isolation: {icmp_exempt: false, targets_answer_ping: false}\n")
    assert "isolation:" not in said


# --- the log step on today's Windows: the collector, since audit is off by default ---

def _log_steps_help(windows: str) -> dict[str, str]:
    from wizard.base.textrender import render
    from wizard.flows.flowset import DEFAULT_DESIGN

    from .helpers.calls import shipped

    fs = shipped()
    context = {"staffer": "sam", "call_id": "20261208-101500-3fa2", "test_servers": "",
               "windows": windows, "caller_machine": "WS-Ann", "target": "fs01",
               "target_ip": "10.1.2.3"} | DEFAULT_DESIGN
    found = {}
    for key in fs.node_keys():
        node = fs.node(key)
        if key.startswith("fig7_") and getattr(node, "logs", False) and node.help:
            found[key] = " ".join(render(node.help, context).split())
    assert len(found) >= 6, found
    return found


def test_windows_11_log_steps_offer_the_collector_because_ipsec_audit_is_off() -> None:
    """A Windows 11 caller escalated with logs: the step says the IPsec events are logged
    only with the audit on (off by default) and offers the collector script for this
    call, and how its zip comes back into the call."""
    for key, text in _log_steps_help("win10_11").items():
        assert "off by default" in text, key
        assert "ipsec-triage collector --call 20261208-101500-3fa2" in text, key
        assert "ipsec-triage attach 20261208-101500-3fa2 PACKET.zip" in text, key


def test_xp_and_windows_7_log_steps_do_not_offer_the_powershell_collector() -> None:
    """The collector needs PowerShell 5.1: an XP caller keeps the debug script, a Windows 7
    caller is told the audit is off but is not given the script."""
    for key, text in _log_steps_help("xp").items():
        assert "collector" not in text and "audit" not in text, key
    for key, text in _log_steps_help("vista_8").items():
        assert "off by default" in text and "ipsec-triage collector" not in text, key


# --- the server that lost its network: the checks of the server's own Windows ---------

#: dns01 has no network after every restart but has it in safe mode; the checks are left
#: to the probes; no clash, no store damage, no approval to disable IPsec
SERVER_CHECKED = {k: v for k, v in SERVER_7023.items() if k not in (
    "server_restart.event_4292", "server_restart.ipsec_events",
    "server_restart.event_7023")} | NO_CLASH_NO_STORE | {
    "server_restart.disable_approval": ""}
DESIGN_ORG = "isolation: {icmp_exempt: false, targets_answer_ping: false}\n"


def _answered_by_probe(data: Path) -> dict[str, str]:
    from wizard.calls.journal import JournalFolder

    store = JournalFolder(data)
    state = store.load(store.resolve_id("last"))
    return {k: r.value for k, r in state.answers.items() if r.source == "probe"}


@pytest.mark.parametrize("org", ["", DESIGN_ORG])
def test_server_2003_event_logs_are_read_through_wmi_and_decide_the_route(
        org: str, tmp_path: Path) -> None:
    """Windows Server 2003 has no wevtutil: the wizard on dns01 reads the System log
    through WMI (wmic ntevent): no 4292, a 7023 naming IPSEC Services."""
    from .helpers.probes import FakeWindows
    from .test_probes_windows import documented

    none = RunOutput(("wmic",), 0, "", "No Instance(s) Available.\r\r\n")
    system = FakeWindows({
        ("wmic", "ntevent", "where", "Logfile='System' and (EventCode=4292)"): none,
        ("wmic", "ntevent", "where", "Logfile='System' and (EventCode=7023)"):
            documented("win2003_wmic_ntevent_7023.txt")})
    data = tmp_path / "d"
    screen, md, txt = run_on_screen(SERVER_CHECKED, data, org, system)
    ends(screen, md, txt, "not_fixed", "server_ipsec", "Data center operations")
    assert _answered_by_probe(data) == {"server_restart.event_4292": "no",
                                        "server_restart.event_7023": "ipsec"}
    assert "IPSEC Services" in md and "no event 4292 in the System log" in md
    assert "| Server | `dns01` |" in md
    assert '`cscript %SystemRoot%\\system32\\eventquery.vbs /l system /fi "id eq 4292"`' in md
    assert "5484" not in md  # the 2008 events' question is not on a 2003 route


@pytest.mark.parametrize("org", ["", DESIGN_ORG])
def test_server_2019_ipsec_events_and_7023_naming_ikeext_are_read_with_wevtutil(
        org: str, tmp_path: Path) -> None:
    """Windows Server 2019: the four services run, the Security log has no IPsec
    failure, the System log's 7023 names IKEEXT: the IPsec branch, not "another
    service"."""
    from .helpers.evidence_events import event
    from .helpers.probes import FakeWindows
    from .test_probes_windows import SCM, _utf16_hex

    seven = event(7023, "2024-05-02T06:01:00Z", {"param1": "IKE and AuthIP IPsec Keying "
                  "Modules", "param2": "%%1068"}, channel="System", provider=SCM,
                  binary=_utf16_hex("IKEEXT"), computer="dns01")
    system = FakeWindows({("wevtutil", "qe", "Security"): "",
                          ("wevtutil", "qe", "System"): seven})
    data = tmp_path / "d"
    screen, md, txt = run_on_screen(SERVER_CHECKED | {"intake.server_windows":
                                                          "server2016"}, data, org, system)
    ends(screen, md, txt, "not_fixed", "server_ipsec", "Data center operations")
    assert _answered_by_probe(data) == {"server_restart.ipsec_events": "no",
                                        "server_restart.event_7023": "ipsec"}
    assert "IKE and AuthIP IPsec Keying Modules (IKEEXT)" in md
    assert "`wevtutil qe System /q:\"*[System[(EventID=7023)]]\" /c:5 /rd:true /f:text`" in md
    assert "eventquery.vbs" not in md
    assert not [a for a in system.argvs if a[0] == "wmic"]
