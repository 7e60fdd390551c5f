"""The organization file: the documented example loads; mistakes are one clear line."""

from __future__ import annotations

from pathlib import Path

import pytest

from wizard.orgconfig import OrgConfig, OrgConfigError, load_org_config

from .support import ROOT

EXAMPLE = ROOT / "examples" / "org.yaml"


def test_documented_example_loads_and_routes() -> None:
    org = load_org_config(EXAMPLE)
    assert [s.name for s in org.test_servers] == ["HD-TEST1", "HD-TEST2"]
    assert org.test_servers[1].port == 445
    assert org.tier2_group("target_ipsec", "FIN-APP01") == "Finance server isolation team"
    assert org.tier2_group("target_ipsec", "x.lab.corp.woodgrovebank.com") == "Lab support"
    assert org.tier2_group("network", "x.lab.corp.woodgrovebank.com") == \
        "Global network operations center"
    assert org.tier2_group("caller_ipsec") == "Corporate IT security (isolation)"
    assert org.probe_timeout("ping") == 2 and org.probe_timeout("smb") == 3


def test_defaults_work_without_a_file() -> None:
    org = OrgConfig()
    assert org.test_servers == [] and org.tier2_group("network") == \
        "Global network operations center"


@pytest.mark.parametrize(("edit", "expected"), [
    (("test_servers:", "test_server:"),
     "unknown field 'test_server' (did you mean 'test_servers'?)"),
    (("address: 10.10.0.21}", "address: '-rf'}"),
     "looks like a command option"),
    (("caller_ipsec: Corporate", "caller_ipsek: Corporate"),
     "'caller_ipsek': Input should be 'network'"),
    (("default: 3", "default: -1"), "greater than 0"),
    (("port: 445}", "port: 70000}"), "less than or equal to 65535"),
])
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


def test_yaml_errors_and_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "org.yaml"
    path.write_text("test_servers: [unclosed\n")
    with pytest.raises(OrgConfigError, match=r"org.yaml:\d+: YAML error"):
        load_org_config(path)
    with pytest.raises(OrgConfigError, match="no such file"):
        load_org_config(tmp_path / "missing.yaml")
