"""The organization file: the documented example loads; mistakes are one clear line."""

from __future__ import annotations

from pathlib import Path

import pytest

from wizard.checks import PROBES
from wizard.config.organization import OrgConfig, OrgConfigError, RouteRule, Tier2, load_org_config

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "org.yaml"


def test_documented_example_loads_and_routes() -> None:
    org = load_org_config(EXAMPLE)
    assert org.organization == "Woodgrove Bank"
    assert [(s.name, s.port) for s in org.test_servers] == [("HD-TEST1", 445),
                                                             ("HD-TEST2", 445)]
    assert [d.address for d in org.domain_controllers] == ["10.10.0.5"]
    assert org.dns_suffix == "corp.woodgrovebank.com"
    assert org.redact_keywords == ["woodgrove", "WGB"]
    assert org.tier2_group("target_ipsec", "FIN-APP01") == "Finance server isolation team"
    # a target rule is about the target: the caller's own network is not the finance team's
    assert org.tier2_group("network", "fin-app01.corp.woodgrovebank.com") == \
        "Global network operations center"
    assert org.tier2_group("network", "fin-app01", "network_operations") == \
        "Global network operations center"
    assert org.tier2_group("target_ipsec", "x.lab.corp.woodgrovebank.com") == "Lab support"
    assert org.tier2_group("network", "x.lab.corp.woodgrovebank.com") == \
        "Global network operations center"
    assert org.tier2_group("caller_ipsec", None, "ipsec_support") == \
        "Corporate IT security (isolation)"
    # the exit's team decides, not the category: a logon right problem on the target
    assert org.tier2_group("target_ipsec", "fs01", "server_isolation") == \
        "Server isolation support team (access groups)"
    # target rules still win over the team
    assert org.tier2_group("target_ipsec", "fin-app01", "server_isolation") == \
        "Finance server isolation team"
    assert org.probe_timeout("ping") == 2 and org.probe_timeout("dns_lookup") == 4
    # not in the file: each check's built-in timeout
    assert org.probe_timeout("smb") == 3
    assert org.probe_timeout("ipsec_policy_version") == \
        PROBES["ipsec_policy_version"].default_timeout == 30


def test_every_field_of_the_model_is_documented_in_the_example() -> None:
    text = EXAMPLE.read_text()
    for field in OrgConfig.model_fields:
        assert f"{field}:" in text, field


def test_defaults_work_without_a_file(tmp_path: Path) -> None:
    org = OrgConfig()
    assert org.test_servers == [] and org.domain_controllers == []
    assert org.tier2_group("network") == "Global network operations center"
    assert org.tier2_group("target_ipsec", "fin-app01") == "Data center operations"
    assert org.tier2_group("something_else") == "Tier 2 support"
    assert org.probe_timeout("ping") == 3.0
    assert org.probe_timeout("event_4292") == 15.0
    empty = tmp_path / "org.yaml"
    empty.write_text("# nothing configured yet\n")
    assert load_org_config(empty) == OrgConfig()


def test_team_keys_map_to_the_organization_groups_or_the_chapter_names() -> None:
    org = OrgConfig(tier2=Tier2(teams={"server_isolation": "Access groups"},  # type: ignore[dict-item]
                                groups={"target_ipsec": "DC ops"}))
    assert org.tier2_group("target_ipsec", "fs01", "server_isolation") == "Access groups"
    # a team the file does not name keeps the chapter's name; the category map is not used
    assert org.tier2_group("target_ipsec", "fs01", "data_center") == "Data center operations"
    assert OrgConfig().tier2_group("target_ipsec", None, "server_isolation") == \
        "Server isolation support team (network access groups)"
    # exits without a team (flowcharts of your own): the category map
    assert org.tier2_group("target_ipsec", "fs01") == "DC ops"


def test_unknown_team_key_is_one_line_with_the_field(tmp_path: Path) -> None:
    path = tmp_path / "org.yaml"
    path.write_text("tier2:\n  teams:\n    server_isolaton: X\n")
    with pytest.raises(OrgConfigError) as exc:
        load_org_config(path)
    assert str(exc.value).startswith(f"{path}:3:") and "server_isolaton" in str(exc.value)


def test_test_server_without_port_is_a_warning(tmp_path: Path) -> None:
    from wizard.config.organization import warnings

    org = OrgConfig.model_validate({"test_servers": [{"name": "T1", "address": "t1"}]})
    (warning,) = warnings(org, tmp_path / "org.yaml")
    assert "T1 has no port; TCP 445" in warning
    assert warnings(load_org_config(EXAMPLE), EXAMPLE) == []


def test_routing_order_rules_then_groups_then_default() -> None:
    tier2 = Tier2(
        rules=[RouteRule(target="fin-*", group="Finance", category="target_ipsec"),
               RouteRule(target="10.9.*", group="Branch network", category="network")],
        groups={"application": "Apps"}, default="Help desk lead")
    org = OrgConfig(tier2=tier2)
    assert org.tier2_group("target_ipsec", "FIN-DB1.corp.example") == "Finance"
    assert org.tier2_group("caller_ipsec", "fin-db1") == "Help desk lead"  # rule is per category
    assert org.tier2_group("network", "10.9.1.20") == "Branch network"  # names the category
    # ... but never for the network operations center's own exits
    assert org.tier2_group("network", "10.9.1.20", "network_operations") == \
        "Global network operations center"
    assert org.tier2_group("network", "10.19.1.20") == "Help desk lead"
    assert org.tier2_group("application", "web01") == "Apps"
    assert org.tier2_group("application", None) == "Apps"


def test_target_rule_without_a_category_is_only_for_exits_about_the_target() -> None:
    org = OrgConfig(tier2=Tier2(rules=[RouteRule(target="fin-*", group="Finance")]))
    assert org.tier2_group("target_ipsec", "fin-app01", "server_isolation") == "Finance"
    assert org.tier2_group("target_ipsec", "fin-app01", "data_center") == "Finance"
    for category, team, group in (
            ("network", "network_operations", "Global network operations center"),
            ("caller_ipsec", "security", "IT security"),
            ("caller_ipsec", "ipsec_support", "Tier 2 IPsec support"),
            ("application", "application_support", "Line of business application support")):
        assert org.tier2_group(category, "fin-app01", team) == group, (category, team)
    # a rule naming a category re-routes it, except the security and network exits
    named = OrgConfig(tier2=Tier2(rules=[RouteRule(target="fin-*", group="Fin apps",
                                                   category="application"),
                                         RouteRule(target="fin-*", group="Fin sec",
                                                   category="caller_ipsec")]))
    assert named.tier2_group("application", "fin-app01", "application_support") == "Fin apps"
    assert named.tier2_group("caller_ipsec", "fin-app01", "security") == "IT security"
    # the name ping -a showed for an address-only target matches a name rule
    assert org.tier2_group("target_ipsec", "10.1.2.3", "data_center",
                           ("FIN-APP01.corp.example",)) == "Finance"


def test_isolation_design_unsaid_is_a_warning_when_the_charts_branch_on_it(
        tmp_path: Path) -> None:
    from wizard.config.organization import warnings

    org = OrgConfig.model_validate({"isolation": {"icmp_exempt": True}})
    assert org.design == {"ping_proves": False, "ping_said_no": False, "target_port": 445}
    (warning,) = warnings(org, tmp_path / "org.yaml", design_used=True)
    assert warning.startswith(f"{tmp_path / 'org.yaml'}: isolation: targets_answer_ping not set")
    assert warnings(org, tmp_path / "org.yaml", design_used=False) == []
    said = OrgConfig.model_validate({"isolation": {"icmp_exempt": True,
                                                   "targets_answer_ping": True,
                                                   "target_port": 8443}})
    assert said.design == {"ping_proves": True, "ping_said_no": False, "target_port": 8443}
    no = OrgConfig.model_validate({"isolation": {"targets_answer_ping": False}})
    assert no.design == {"ping_proves": False, "ping_said_no": True, "target_port": 445}
    # one "no" decides it: the other field unset is no reason to warn
    assert warnings(no, tmp_path / "org.yaml", design_used=True) == []
    assert warnings(said, tmp_path / "org.yaml", design_used=True) == []


def test_timeouts_default_from_the_file_applies_to_every_check(tmp_path: Path) -> None:
    path = tmp_path / "org.yaml"
    path.write_text("timeouts:\n  default: 7\n  probes: {smb: 1.5}\n")
    org = load_org_config(path)
    assert org.probe_timeout("ipsec_policy_version") == 7
    assert org.probe_timeout("smb") == 1.5


def test_templates_dir_is_taken_from_where_the_file_is(tmp_path: Path) -> None:
    path = tmp_path / "org.yaml"
    path.write_text("templates_dir: mine\n")
    assert load_org_config(path).templates_dir == str(tmp_path / "mine")


EDITS = [
    (("test_servers:", "test_server:"),
     "unknown field 'test_server' (did you mean 'test_servers'?)"),
    (("{name: DC01, address", "{name: DC01, adress"),
     "domain_controllers.0: unknown field 'adress' (did you mean 'address'?)"),
    (("address: 10.10.0.21,", "address: '-rf',"),
     "test_servers.1.address: '-rf' looks like a command option"),
    (("address: 10.10.0.21,", "address: 'x; reboot',"),
     "test_servers.1.address: 'x; reboot' is not a valid host name"),
    (("ipsec_support: Corporate", "ipsec_suport: Corporate"),
     "'ipsec_suport': Input should be 'network_operations'"),
    (("category: target_ipsec}", "category: target}"),
     "tier2.rules.1.category: 'target' is not one of network"),
    (("probes: {ping: 2,", "probes: {pnig: 2,"),
     "timeouts.probes: unknown check 'pnig' (did you mean 'ping'?)"),
    (("probes: {ping: 2,", "probes: {ping: 0,"),
     "timeouts.probes: ping: 0 is not a timeout"),
    (("  # default: 3", "  default: -1"), "timeouts.default: Input should be greater than 0"),
    (("port: 445}", "port: 70000}"), "less than or equal to 65535"),
    (("dns_suffix: corp.woodgrovebank.com", "dns_suffix: corp woodgrove"),
     "dns_suffix: 'corp woodgrove' is not a valid host name"),
    (("redact_keywords: [woodgrove, WGB]", "redact_keywords: woodgrove"),
     "redact_keywords: Input should be a valid list"),
]


@pytest.mark.parametrize(("edit", "expected"), EDITS, ids=[e[1][:40] for e in EDITS])
def test_mistakes_name_file_line_and_field(tmp_path: Path, edit: tuple[str, str],
                                           expected: str) -> None:
    path = tmp_path / "org.yaml"
    text = EXAMPLE.read_text()
    assert edit[0] in text
    path.write_text(text.replace(edit[0], edit[1], 1))
    with pytest.raises(OrgConfigError) as info:
        load_org_config(path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{path}:")
    line = int(message.split(":")[1])
    assert edit[1] in path.read_text().splitlines()[line - 1]
    assert expected in message
    assert "Value error" not in message


def test_yaml_errors_missing_file_and_wrong_shape(tmp_path: Path) -> None:
    path = tmp_path / "org.yaml"
    path.write_text("test_servers: [unclosed\n")
    with pytest.raises(OrgConfigError, match=r"org.yaml:\d+: YAML error"):
        load_org_config(path)
    with pytest.raises(OrgConfigError, match="no such file"):
        load_org_config(tmp_path / "missing.yaml")
    path.write_text("- just\n- a list\n")
    with pytest.raises(OrgConfigError, match=r"org.yaml:1: an organization file must be a "
                                             "mapping"):
        load_org_config(path)


def test_python_tags_are_refused_not_run(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    path = tmp_path / "org.yaml"
    path.write_text(f"organization: !!python/object/apply:os.system ['touch {marker}']\n")
    with pytest.raises(OrgConfigError, match=r"org.yaml:1: YAML error"):
        load_org_config(path)
    assert not marker.exists()
