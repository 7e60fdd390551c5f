"""``ipsec-triage users`` and ``serve``: the accounts of the help desk in the browser."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

from wizard.service.accounts import Accounts, verify

from .helpers.run import CliResult, cli_env, run_cli


def run(args: list[str], data_dir: Path, stdin: str = "") -> CliResult:
    return run_cli([*args], cli_env(data_dir), input=stdin)


def test_users_add_passwd_disable_keep_argon2_hashes_in_a_private_file(data_dir: Path) -> None:
    r = run(["users", "add", "sam", "--role", "lead", "--password-stdin"], data_dir,
            "first-password\n")
    assert r.returncode == 0, r.stderr
    assert "user sam added (lead)" in r.stdout
    path = data_dir / "users.json"
    if os.name == "posix":
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    doc = json.loads(path.read_text())
    assert doc["users"][0]["hash"].startswith("$argon2id$")
    assert "first-password" not in path.read_text()
    user = Accounts(data_dir).get("SAM")
    assert user is not None and verify(user, "first-password")
    assert not verify(user, "wrong-password")

    assert run(["users", "passwd", "sam", "--password-stdin"], data_dir,
               "second-password\n").returncode == 0
    user = Accounts(data_dir).get("sam")
    assert user is not None and verify(user, "second-password")
    assert not verify(user, "first-password")

    assert run(["users", "disable", "sam"], data_dir).returncode == 0
    user = Accounts(data_dir).get("sam")
    assert user is not None and user.disabled and not verify(user, "second-password")
    listing = run(["users", "list"], data_dir)
    assert listing.stdout.split() == ["sam", "lead", "disabled"]


def test_users_refuses_a_short_password_a_bad_name_and_a_second_add(data_dir: Path) -> None:
    short = run(["users", "add", "sam", "--password-stdin"], data_dir, "short\n")
    assert short.returncode == 2 and "at least 8 characters" in short.stderr
    bad = run(["users", "add", "<b>x</b>", "--password-stdin"], data_dir, "long-enough\n")
    assert bad.returncode == 2 and "a user name is" in bad.stderr
    assert run(["users", "add", "sam", "--password-stdin"], data_dir,
               "long-enough\n").returncode == 0
    again = run(["users", "add", "Sam", "--password-stdin"], data_dir, "long-enough\n")
    assert again.returncode == 2 and "already exists" in again.stderr
    none = run(["users", "passwd", "nobody", "--password-stdin"], data_dir, "long-enough\n")
    assert none.returncode == 2 and "no user nobody" in none.stderr


def test_users_without_a_terminal_asks_for_password_stdin(data_dir: Path) -> None:
    r = run(["users", "add", "sam"], data_dir)
    assert r.returncode == 6 and "--password-stdin" in r.stderr


def test_serve_needs_a_user_first_and_says_how(data_dir: Path) -> None:
    r = run(["serve", "--port", "1"], data_dir)
    assert r.returncode == 7
    assert "ipsec-triage users add NAME --role admin" in r.stderr
    helped = run(["serve", "--help"], data_dir)
    assert "--host" in helped.stdout and "127.0.0.1" in helped.stdout
