"""The shipped flowcharts: valid, cited, and every route replayed to its ticket."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from wizard.flows import answer_rules
from wizard.flows.nodes import ChoiceNode, Status, TerminalNode, windows_family

from .helpers.calls import ROOT, normalize, replay, routes, shipped

ROUTES = routes()


def _route_ids() -> list[str]:
    """Each route's test id: its end, numbered as pytest numbers repeated ids (``end0``,
    ``end1``...), given here because pytest's own numbering looks for a free number in
    a set made anew at each step: 20 s of collection for 31,736 routes."""
    seen: dict[str, int] = {}
    ids = []
    for _, end in ROUTES:
        key = end.visit.node_key
        n = seen[key] = seen.get(key, -1) + 1
        ids.append(f"{key}{'_' if key[-1].isdigit() else ''}{n}")
    return ids


def test_shipped_flowcharts_are_the_figures_and_the_intake() -> None:
    fs = shipped()
    assert set(fs.charts) == {"intake", "fig7_1", "fig7_2", "fig7_3", "server_restart"}
    assert fs.entry == "intake"
    titles = {c.title for c in fs.charts.values()}
    assert any("7.1" in t for t in titles) and any("7.3" in t for t in titles)


def test_every_node_cites_its_source_passage() -> None:
    fs = shipped()
    for key in fs.node_keys():
        node = fs.node(key)
        assert len(node.source.strip()) > 20, key


def test_figure_links_are_real_cross_file_links() -> None:
    fs = shipped()
    assert fs.successors("fig7_1.go_caller") == ["fig7_2.admin_note"]
    assert fs.successors("fig7_1.go_target") == ["fig7_3.target_rras"]
    assert fs.successors("intake.start_fig71") == ["fig7_1.assumptions"]


def test_all_three_statuses_and_every_category_are_reachable() -> None:
    ends = {(s.visit.node.status, s.visit.node.category) for _, s in ROUTES}  # type: ignore[union-attr]
    assert {st for st, _ in ends} == set(Status)
    assert {c.value for _, c in ends} == {
        "network", "name_resolution", "application", "caller_ipsec", "target_ipsec",
        "server_ipsec"}


def test_a_server_call_never_ends_as_ipsec_on_a_callers_computer() -> None:
    for _, end in ROUTES:
        if end.visit.chart == "server_restart":
            assert end.visit.node.category.value != "caller_ipsec", end.visit.key  # type: ignore[union-attr]
        if end.visit.node.tier2:  # type: ignore[union-attr]
            # escalated to Tier 2 is Not fixed by the chapter's definitions
            assert end.visit.node.status is Status.NOT_FIXED, end.visit.key  # type: ignore[union-attr]


def test_every_terminal_and_every_option_is_on_some_route() -> None:
    fs = shipped()
    reached = {s.visit.node_key for _, s in ROUTES}
    terminals = {k for k in fs.node_keys() if isinstance(fs.node(k), TerminalNode)}
    assert terminals == reached
    used: set[tuple[str, str]] = set()
    for answers, _ in ROUTES:
        used.update(answers.items())
    for key in fs.node_keys():
        node = fs.node(key)
        if isinstance(node, ChoiceNode):
            for opt in node.options:
                assert (key, opt.value) in used, (key, opt.value)


@pytest.mark.slow  # 31,736 routes: about half of the whole run
@pytest.mark.parametrize("route", range(len(ROUTES)), ids=_route_ids())
def test_route_replays_to_status_and_ticket(route: int, tmp_path: Path) -> None:
    answers, expected_end = ROUTES[route]
    call, step, tickets = replay(answers, tmp_path, durable=False)
    node = step.visit.node
    assert isinstance(node, TerminalNode)
    assert step.visit.node_key == expected_end.visit.node_key
    assert call.state.ended is not None
    assert call.state.ended["status"] == node.status.value
    md, txt = tickets["md"], tickets["txt"]
    assert f"**{node.status.label}**" in md
    assert f"STATUS: {node.status.label}" in txt
    assert node.category.label in md and node.category.label in txt
    if expected_end.visit.chart == "server_restart":  # the server is the machine
        assert "| Server | `ws-sample01` |" in md and "SERVER: ws-sample01" in txt
        assert "CALLER'S COMPUTER" not in txt and "| Connection |" not in md
    else:
        assert "`ws-sample01`" in md and "CALLER'S COMPUTER: ws-sample01" in txt
    # every answer of the route is in the ticket, in order
    pos = 0
    for visit in step.route:
        if not visit.answered:
            continue
        label = answer_rules.label(visit.node, visit.value or "")
        found = md.find(f"**{label}**", pos)
        assert found >= 0, (visit.key, label)
        pos = found
    has_target = "intake.target" in answers
    assert ("DESTINATION COMPUTER: srv-sample.corp.example" in txt) == has_target
    if node.tier2:
        assert "ESCALATE TO:" in txt and "## Log files to attach" in md
        asked_logs = [v for v in step.route if getattr(v.node, "logs", False)]
        family = windows_family(step.context.get("windows"))
        if not asked_logs:  # the ticket never lists files nobody was asked to make
            assert "_ipsec_547_events.txt" not in md and "_mmsa.txt" not in md
            assert ("No logs were requested on this call." in md
                    or "the caller is not a local administrator" in md)
        elif family == "vista_later":
            made = "ws-sample01_mmsa.txt" if has_target else "ws-sample01_system_events.txt"
            assert made in md and "IPsec_Debug.vbs" not in md
        else:
            assert "ws-sample01_ipsec_547_events.txt" in md
            assert ("ws-sample01_srv-sample.corp.example_ping.txt" in txt) == has_target
    else:
        assert "ESCALATE TO" not in txt and "Log files" not in md


CALL = {
    "intake.caller_name": "Ann Caller", "intake.details": "now",
    "intake.caller_contact": "+1 555 0100",
    "intake.since": "this morning", "intake.existing_ticket": "",
    "intake.scope": "caller", "intake.extent": "one_server",
    "intake.address_type": "wireless", "intake.severity": "low",
    "intake.call_type": "reach", "intake.caller_machine": "ws-ann", "intake.windows": "xp",
    "intake.target": "fs01.corp.example", "intake.target_ip": "10.1.2.3",
    "intake.tried": "open \\\\fs01\\team", "fig7_1.ping_ip": "yes",
    "fig7_1.reverse_lookup": "yes", "fig7_1.ping_name": "yes", "fig7_1.nslookup": "yes",
    "fig7_1.traffic": "file", "fig7_1.net_view": "no",
}
GOLDEN = {
    "escalate_logon": CALL | {
        "intake.windows": "win10_11",
        "fig7_1.test_servers": "yes", "fig7_3.target_rras": "no",
        "fig7_3.isolation_group": "yes", "fig7_3.target_refresh": "done",
        "fig7_3.target_works": "no", "fig7_3.target_ping": "yes",
        "fig7_3.logon_right": "yes", "fig7_3.collect_logon": "yes",
        "fig7_3.logs_logon": "done"},
    "fixed_policy": CALL | {
        "fig7_1.test_servers": "no", "fig7_2.rras_running": "no",
        "fig7_2.policy_version": "no", "fig7_2.policy_refresh": "done",
        "fig7_2.policy_fixed": "yes"},
    # a Windows Server 2022 DNS server lost only after restarts over Remote Desktop
    "server_boot_exemption": {
        "intake.call_type": "server_no_network", "intake.server_name": "dns02",
        "intake.server_windows": "server2016", "intake.server_scope": "several_users",
        "intake.extent": "one_server", "intake.severity": "high",
        "intake.caller_name": "Sam Admin", "intake.details": "later",
        "server_restart.restart_pattern": "after_rdp",
        "server_restart.rdp_boot_config": "btpol.xml: no filter permits TCP 3389",
        "server_restart.rdp_exemption": "inbound TCP 3389 from the admin subnet",
        "server_restart.rdp_approver": "", "server_restart.dns_update": "no",
        "server_restart.collect": "done"},
}


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_whole_ticket_matches_expected_text(name: str, tmp_path: Path) -> None:
    _, _, tickets = replay(GOLDEN[name], tmp_path,
                           notes={"fig7_1.ping_ip": ["caller is on the guest wireless"]})
    for fmt, text in tickets.items():
        golden = ROOT / "tests" / "golden" / f"{name}.{fmt}"
        if os.environ.get("UPDATE_GOLDEN"):
            golden.write_text(normalize(text), encoding="utf-8")
        assert normalize(text) == golden.read_text(encoding="utf-8")


def test_committed_json_schema_matches_the_models() -> None:
    import json

    from wizard.flows.schema import Flowchart

    committed = json.loads((ROOT / "flowcharts" / "flowchart.schema.json").read_text())
    assert committed == Flowchart.model_json_schema(by_alias=True), \
        "run: ipsec-triage schema -o flowcharts/flowchart.schema.json"
