"""Tickets: an organization's own templates, strict and sandboxed rendering."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from wizard.calls.engine import Engine
from wizard.config.organization import OrgConfig
from wizard.records.ticket import TicketError

from .helpers.calls import replay, shipped
from .helpers.run import cli_env, run_cli

ROUTE = next(a for a, s in Engine(shipped()).paths()
             if s.visit.node_key == "fig7_2.escalate_caller")


def test_organization_template_overrides_only_what_it_has(tmp_path: Path) -> None:
    custom = tmp_path / "tpl"
    custom.mkdir()
    (custom / "ticket.md.j2").write_text(
        "WOODGROVE {{ status.label }} / {{ caller.machine }} -> {{ tier2_group }}\n")
    _, _, tickets = replay(ROUTE, tmp_path / "data",
                           org=OrgConfig(templates_dir=str(custom)))
    assert tickets["md"] == ("WOODGROVE Not fixed (escalated to Tier 2) / ws-sample01 -> "
                             "Tier 2 IPsec support\n")
    assert tickets["txt"].startswith("IPSEC CALL ")  # the shipped plain-text one


def test_an_edited_or_added_template_is_used_by_the_next_call(tmp_path: Path) -> None:
    # compiled templates are kept for the process: an edit, or a template added to the
    # organization's folder, must still show in the next ticket
    custom = tmp_path / "tpl"
    custom.mkdir()
    org = OrgConfig(templates_dir=str(custom))
    _, _, tickets = replay(ROUTE, tmp_path / "d1", org=org)
    assert tickets["txt"].startswith("IPSEC CALL ")  # the shipped one
    (custom / "ticket.txt.j2").write_text("first {{ status.label }}\n")
    _, _, tickets = replay(ROUTE, tmp_path / "d2", org=org)
    assert tickets["txt"] == "first Not fixed (escalated to Tier 2)\n"
    (custom / "ticket.txt.j2").write_text("second {{ caller.machine }}\n")
    _, _, tickets = replay(ROUTE, tmp_path / "d3", org=org)
    assert tickets["txt"] == "second ws-sample01\n"


@pytest.mark.parametrize(("body", "expected"), [
    ("{{ caler.machine }}", "'caler' is undefined"),
    ("{{ ''.__class__.__mro__[1].__subclasses__() }}", "unsafe"),
    ("{% if %}", "ticket.md.j2:1"),
])
def test_template_mistakes_are_errors_not_blanks(tmp_path: Path, body: str,
                                                 expected: str) -> None:
    custom = tmp_path / "tpl"
    custom.mkdir()
    (custom / "ticket.md.j2").write_text(body)
    with pytest.raises(TicketError, match=expected):
        replay(ROUTE, tmp_path / "data", org=OrgConfig(templates_dir=str(custom)))


def test_broken_template_keeps_the_call_and_ticket_re_renders(tmp_path: Path,
                                                              data_dir: Path) -> None:
    custom = tmp_path / "tpl"
    custom.mkdir()
    (custom / "ticket.md.j2").write_text("{{ nope }}")
    answers = tmp_path / "answers.yaml"
    answers.write_text(yaml.safe_dump({"answers": ROUTE}))
    env = cli_env(data_dir)
    r = run_cli(["start", "--answers", str(answers), "--no-checks", "--templates", str(custom)],
                env)
    assert r.returncode == 7
    assert r.stderr.count("\n") == 1 and "'nope' is undefined" in r.stderr
    assert "recorded as ended" in r.stderr
    (custom / "ticket.md.j2").write_text("fixed: {{ status.label }}\n")
    r = run_cli(["ticket", "last", "--templates", str(custom)], env)
    assert r.returncode == 0 and r.stdout == "fixed: Not fixed (escalated to Tier 2)\n"
