"""An organization file read right before is not read and checked again before a
call's first question; a changed or wrong file is, and its mistake is told before the
call starts."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from wizard.config import known
from wizard.config.known import KnownOrg
from wizard.config.organization import load_org_config
from wizard.service.desk import Desk

from .helpers.run import ROOT
from .test_cli import route_to, run, write_answers

EXAMPLE = ROOT / "examples" / "org.yaml"

RELATIVE = """\
organization: Contoso
templates_dir: tpl
flowcharts_dir: charts
timeouts: {default: 3}
test_servers:
  - {name: HD-T1, address: 10.0.0.9, port: 445}
"""


@pytest.fixture(autouse=True)
def own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IPSEC_TRIAGE_CACHE", str(tmp_path / "cache"))


def _desk(tmp_path: Path, org: Path) -> Desk:
    return Desk.from_options(environ={}, data_dir=str(tmp_path / "data"), org=str(org))


@pytest.mark.parametrize("text", [EXAMPLE.read_text(encoding="utf-8"), RELATIVE])
def test_a_file_read_right_before_gives_the_same_settings(tmp_path: Path, text: str) -> None:
    org_file = tmp_path / "conf" / "org.yaml"
    org_file.parent.mkdir()
    (org_file.parent / "tpl").mkdir()
    org_file.write_text(text, encoding="utf-8")
    desk = _desk(tmp_path, org_file)
    first = desk.call_org()  # never read before: read and checked now
    assert first is not None and not isinstance(first, KnownOrg)
    again = desk.call_org()
    assert isinstance(again, KnownOrg)
    # what a call needs first, without the model; then the whole, equal to a fresh read
    assert again.flowcharts_dir == first.flowcharts_dir
    assert again.templates_dir == first.templates_dir
    assert again.test_server_names == tuple(s.name for s in first.test_servers)
    assert again.has_destinations == bool(first.handoff.destinations)
    assert again.config == first == load_org_config(org_file)
    assert again.config.probe_timeout("ping") == first.probe_timeout("ping")


def test_a_changed_file_is_read_and_checked_again(tmp_path: Path) -> None:
    org_file = tmp_path / "org.yaml"
    org_file.write_text(RELATIVE.replace("templates_dir: tpl\n", ""), encoding="utf-8")
    desk = _desk(tmp_path, org_file)
    desk.call_org()
    assert isinstance(desk.call_org(), KnownOrg)
    org_file.write_text("organization: Contoso\ntest_servrs: []\n", encoding="utf-8")
    with pytest.raises(Exception, match=r"org.yaml:2: .*test_servrs.*did you mean"):
        desk.call_org()
    org_file.write_text("organization: Fabrikam\n", encoding="utf-8")
    assert not isinstance(desk.call_org(), KnownOrg)
    again = desk.call_org()
    assert isinstance(again, KnownOrg) and again.config.organization == "Fabrikam"


def test_a_template_folder_gone_since_is_told_before_the_call(tmp_path: Path) -> None:
    org_file = tmp_path / "org.yaml"
    org_file.write_text("templates_dir: tpl\n", encoding="utf-8")
    (tmp_path / "tpl").mkdir()
    desk = _desk(tmp_path, org_file)
    desk.call_org()
    (tmp_path / "tpl").rmdir()
    with pytest.raises(Exception, match="tpl: template folder not found"):
        desk.call_org()


def test_a_remembered_file_others_could_write_is_not_used(tmp_path: Path) -> None:
    org_file = tmp_path / "org.yaml"
    org_file.write_text("organization: Contoso\n", encoding="utf-8")
    desk = _desk(tmp_path, org_file)
    desk.call_org()
    [entry] = (tmp_path / "cache" / known.KIND).glob("*.json")
    entry.chmod(0o666)
    assert not isinstance(desk.call_org(), KnownOrg)


def test_calls_route_to_the_organizations_groups_either_way(tmp_path: Path,
                                                            data_dir: Path) -> None:
    # the same escalation twice: the file read and checked, then remembered
    org_file = tmp_path / "org.yaml"
    shutil.copy(EXAMPLE, org_file)
    answers = dict(route_to("fig7_3.escalate_logon"), **{"intake.target": "fin-app01"})
    path = write_answers(tmp_path, answers)
    for _ in range(2):
        r = run(["start", "--answers", str(path), "--no-checks", "--org", str(org_file)],
                data_dir, IPSEC_TRIAGE_CACHE=str(tmp_path / "cache"))
        assert r.returncode == 0, r.stderr
        assert "Escalate to: Finance server isolation team" in r.stdout
    assert len(list((tmp_path / "cache" / known.KIND).glob("*.json"))) == 1
