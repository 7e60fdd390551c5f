"""Values of the wrong YAML/JSON type are refused with file, line (or entry) and field,
never written down as Python shows them: answers files, the organization file,
``users.json``."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from wizard.config.organization import OrgConfigError, load_org_config
from wizard.service.accounts import Accounts, hash_password

from .helpers.run import PYTHON, cli_env
from .test_cli import route_to, write_answers
from .test_hostile_input import cli

ORG_TRICKS = [
    ("test_servers:\n  - {name: HD1, address: 10.0.0.1, port: true}\n",
     "test_servers.0.port: Input should be a valid integer", 2),
    ("test_servers:\n  - {name: HD1, address: 10.0.0.1, port: '445'}\n",
     "test_servers.0.port: Input should be a valid integer", 2),
    ("test_servers:\n  - {name: '  ', address: 10.0.0.1, port: 445}\n",
     "test_servers.0.name: a name is required here", 2),
    ("tier2:\n  teams:\n    ipsec_support: ''\n",
     "tier2.teams.ipsec_support: a name is required here", 3),
    ("tier2:\n  default: 42\n", "tier2.default: Input should be a valid string", 2),
    ("tier2:\n  rules:\n    - {target: 'fin-*', group: ''}\n",
     "tier2.rules.0.group: a name is required here", 3),
    ("timeouts:\n  default: true\n", "timeouts.default: Input should be a valid number", 2),
    ("timeouts:\n  probes: {ping: '2'}\n", "timeouts.probes.ping: Input should be a valid "
     "number", 2),
    ("handoff:\n  destinations:\n    Tier 2 IPsec support:\n      kind: email\n"
     "      to: [a@corp.example]\n      from: b@corp.example\n      smtp_port: true\n",
     "smtp_port: Input should be a valid integer", 7),
    ("handoff:\n  destinations:\n    Tier 2 IPsec support:\n      kind: email\n"
     "      to: [a@corp.example]\n      from: b@corp.example\n      redacted_only: 1\n",
     "redacted_only: Input should be a valid boolean", 7),
    ("handoff:\n  retry_base: true\n", "handoff.retry_base: Input should be a valid number",
     2),
]


@pytest.mark.parametrize(("text", "expected", "line"), ORG_TRICKS,
                         ids=[t[1][:40] for t in ORG_TRICKS])
def test_organization_file_type_tricks_are_refused_with_file_line_and_field(
        tmp_path: Path, text: str, expected: str, line: int) -> None:
    path = tmp_path / "org.yaml"
    path.write_text(text)
    with pytest.raises(OrgConfigError) as info:
        load_org_config(path)
    message = str(info.value)
    assert message.startswith(f"{path}:{line}: "), message
    assert expected in message and "\n" not in message


def test_right_types_still_load(tmp_path: Path) -> None:
    path = tmp_path / "org.yaml"
    path.write_text("test_servers:\n  - {name: HD1, address: 10.0.0.1, port: 445}\n"
                    "timeouts: {default: 2, probes: {ping: 1.5}}\n"
                    "handoff: {retry_base: 30}\n")
    org = load_org_config(path)
    assert org.test_servers[0].port == 445 and org.timeouts.default == 2.0
    assert org.probe_timeout("ping") == 1.5 and org.handoff.retry_base == 30.0


@pytest.mark.parametrize(("top", "expected"), [
    ({"staffer": {"a": 1}}, "staffer: expected the staffer's name as text, not a mapping"),
    ({"staffer": ["sam"]}, "staffer: expected the staffer's name as text, not a list"),
    ({"staffer": True}, "staffer: expected the staffer's name as text, not true/false"),
    ({"on": {"a": 1}}, "field 'on': expected helpdesk or caller as text, not a mapping"),
    ({"on": "desk"}, "field 'on': \"desk\" is not 'helpdesk' or 'caller'"),
])
def test_answers_file_staffer_or_on_of_the_wrong_type_is_refused(
        tmp_path: Path, data_dir: Path, top: dict[str, object], expected: str) -> None:
    path = write_answers(tmp_path, route_to("fig7_2.escalate_caller"), **top)
    code, out, err = cli(["start", "--answers", str(path), "--no-checks"],
                         IPSEC_TRIAGE_DATA=str(data_dir))
    assert code == 4 and err.count("\n") == 1, err
    assert f"{path}:1: {expected}" in err
    assert not list((data_dir / "calls").glob("*.jsonl")) if (data_dir / "calls").exists() \
        else True


@pytest.mark.parametrize(("note", "kind"), [({"a": 1}, "a mapping"), ([["x"]], "a list"),
                                            (None, "empty"), ([True], "true/false")])
def test_answers_file_note_of_the_wrong_type_is_refused(
        tmp_path: Path, data_dir: Path, note: object, kind: str) -> None:
    answers = route_to("fig7_2.escalate_caller")
    first = next(iter(answers))
    path = write_answers(tmp_path, answers, notes={first: note})
    code, _, err = cli(["start", "--answers", str(path), "--no-checks"],
                       IPSEC_TRIAGE_DATA=str(data_dir))
    assert code == 4 and err.count("\n") == 1, err
    line = next(i for i, text in enumerate(path.read_text().splitlines(), 1)
                if text.strip().startswith(f"{first}:"))
    assert f"{path}:{line}: notes: {first}: expected a note as text, not {kind}" in err


def test_a_numeric_staffer_and_notes_as_text_are_kept(tmp_path: Path, data_dir: Path) -> None:
    answers = route_to("fig7_2.escalate_caller")
    first = next(iter(answers))
    path = write_answers(tmp_path, answers, staffer=4711,
                         notes={first: ["caller was polite", 12]})
    code, _, err = cli(["start", "--answers", str(path), "--no-checks"],
                       IPSEC_TRIAGE_DATA=str(data_dir))
    assert code == 0, err
    (journal,) = (data_dir / "calls").glob("*.jsonl")
    events = [json.loads(line) for line in journal.read_text().splitlines()]
    assert events[0]["staffer"] == "4711"
    notes = [e["text"] for e in events if e.get("event") == "note"]
    assert notes == ["caller was polite", "12"]


# -- users.json --------------------------------------------------------------------------

HASH = hash_password("long-enough-password")

USERS_TRICKS = [
    ({"users": [{"name": "sam", "hash": HASH}]}, "users entry 1 (sam): no 'role'"),
    ({"users": [{"name": "sam", "role": "root", "hash": HASH}]},
     "users entry 1 (sam): 'role' is one of staffer, lead, admin, not \"root\""),
    ({"users": [{"name": "ann", "role": "lead", "hash": HASH},
                {"name": "sam", "role": "lead", "hash": 12}]},
     "users entry 2 (sam): 'hash' is not an argon2 password hash"),
    ({"users": [{"name": "sam", "role": "lead", "hash": HASH, "disabled": "no"}]},
     "users entry 1 (sam): 'disabled' is true or false, not \"no\""),
    ({"users": [{"name": "sam", "role": "lead", "hash": HASH, "changed": "yesterday"}]},
     "users entry 1 (sam): 'changed' is a time in seconds"),
    ({"users": [{"name": ["sam"], "role": "lead", "hash": HASH}]},
     "users entry 1: 'name' is not a user name"),
    ({"users": ["sam"]}, "users entry 1: expected an object with name, role and hash"),
    ({"users": {"sam": {}}}, "not a users file"),
    ([], "not a users file"),
]


@pytest.mark.parametrize(("doc", "expected"), USERS_TRICKS,
                         ids=[t[1][:40] for t in USERS_TRICKS])
def test_a_malformed_users_file_is_one_line_at_users_and_serve(
        data_dir: Path, doc: object, expected: str) -> None:
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = data_dir / "users.json"
    path.write_text(json.dumps(doc))
    path.chmod(0o600)
    for args in (["users", "list"], ["serve", "--port", "0"]):
        r = subprocess.run([PYTHON, "-m", "wizard", *args], capture_output=True, text=True,
                           env=cli_env(data_dir), timeout=120)
        assert r.returncode == 7, (args, r.stderr)
        assert r.stderr.count("\n") == 1 and "Traceback" not in r.stderr, r.stderr
        assert f"{path}: {expected}" in r.stderr, r.stderr
    assert not list(data_dir.glob("crash-*")) and not list(data_dir.rglob("*crash*"))


def test_a_users_file_written_by_users_add_reads_back(data_dir: Path) -> None:
    accounts = Accounts(data_dir)
    accounts.add("sam", "lead", "long-enough-password")
    accounts.disable("sam")
    user = Accounts(data_dir).get("sam")
    assert user is not None and user.role == "lead" and user.disabled and user.changed > 0
