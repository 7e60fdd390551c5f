"""E-mail hand-off against a real SMTP server on loopback (aiosmtpd): STARTTLS, login,
the ticket as the body, the tickets and the packet attached; the .eml file when no server
is set; the outbox when the server is down; secrets never printed or written."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from email import message_from_bytes, policy
from pathlib import Path

import pytest
import yaml

from wizard.calls.journal import JournalFolder
from wizard.config.organization import OrgConfig, OrgConfigError, load_org_config
from wizard.handoff.outbox import Settings, drain, entries, send_call

from .helpers.handoff import (
    GROUP,
    Mailbox,
    closed_port,
    escalated_call,
    make_packet,
    route_to,
    self_signed,
    server_escalated_call,
    smtp_server,
)
from .helpers.run import PYTHON, CliResult, cli_env, pty_spawn, run_cli

PASSWORD = "s3cret-Pa55word-for-smtp"
FAST = Settings(attempts=2, pause=0.01, max_wait=1.0)


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return self_signed(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def smtp(cert: tuple[Path, Path]) -> Iterator[tuple[int, Mailbox]]:
    yield from smtp_server(*cert, users={"helpdesk": PASSWORD})


def email_org(port: int | None, cert: Path | None, group: str = GROUP,
              **extra: object) -> OrgConfig:
    dest: dict[str, object] = {"kind": "email", "to": ["tier2@corp.example"],
                               "from": "helpdesk@corp.example", **extra}
    if port is not None:
        dest.update(smtp_host="127.0.0.1", smtp_port=port, user="helpdesk",
                    secret="TRIAGE_SMTP_PASSWORD", ca_file=str(cert))
    return OrgConfig.model_validate({"handoff": {"destinations": {group: dest}}})


def test_escalation_mailed_over_starttls_with_login_body_and_attachments(
        data_dir: Path, tmp_path: Path, smtp: tuple[int, Mailbox],
        cert: tuple[Path, Path]) -> None:
    port, box = smtp
    org = email_org(port, cert[0])
    call_id = escalated_call(data_dir, org)
    packet = make_packet(tmp_path / "packets", data_dir, call_id, redacted=False)
    store = JournalFolder(data_dir)
    outcome = send_call(store, org, call_id, environ={"TRIAGE_SMTP_PASSWORD": PASSWORD},
                        settings=FAST)
    assert outcome.status == "sent", outcome.error
    assert box.logins == [("helpdesk", PASSWORD)]
    [msg] = box.messages
    assert box.envelopes[0].rcpt_tos == ["tier2@corp.example"]
    assert call_id in str(msg["Subject"]) and "ws-ann -> fs01.corp.example" in str(
        msg["Subject"])
    assert msg["X-Correlation-ID"] == call_id
    body = msg.get_body(preferencelist=("plain",))
    assert body is not None
    ticket_txt = store.ticket_path(call_id, "txt").read_text(encoding="utf-8")
    def lines(text: str) -> list[str]:
        return [line.rstrip() for line in text.strip().splitlines()]

    assert lines(body.get_content()) == lines(ticket_txt)
    files = {a.get_filename(): a.get_content() for a in msg.iter_attachments()}
    assert set(files) == {f"{call_id}.ticket.txt", f"{call_id}.ticket.md", packet.name}
    assert files[packet.name] == packet.read_bytes()
    # the call records it; show and list display it
    state = store.load(call_id)
    assert state.handoffs[-1]["status"] == "sent"
    assert state.handoffs[-1]["kind"] == "email"
    show = run_cli(["show", call_id], cli_env(data_dir))
    assert f"Hand-off to {GROUP} (email)" in show.stdout and ": sent" in show.stdout


def test_a_server_calls_subject_names_the_server(
        data_dir: Path, smtp: tuple[int, Mailbox], cert: tuple[Path, Path]) -> None:
    """dns01 lost its network after a restart: the mail to the data center names dns01
    (a server call has no caller's computer nor target)."""
    from .helpers.handoff import SERVER_GROUP

    port, box = smtp
    org = email_org(port, cert[0], SERVER_GROUP)
    call_id = server_escalated_call(data_dir, org)
    outcome = send_call(JournalFolder(data_dir), org, call_id,
                        environ={"TRIAGE_SMTP_PASSWORD": PASSWORD}, settings=FAST)
    assert outcome.status == "sent", outcome.error
    [msg] = box.messages
    assert str(msg["Subject"]) == (f"IPsec escalation {call_id}: server_ipsec (Not fixed "
                                   "(escalated to Tier 2)) server dns01")


def test_a_journal_copied_in_cannot_make_the_hand_off_send_other_files(
        data_dir: Path, tmp_path: Path, smtp: tuple[int, Mailbox],
        cert: tuple[Path, Path]) -> None:
    """The hand-off attaches the call's own ticket files and a packet made for this call
    only: not a packet the journal names that was made for no call, nor a file linked in
    the place of a ticket."""
    port, box = smtp
    org = email_org(port, cert[0])
    env = {"TRIAGE_SMTP_PASSWORD": PASSWORD}
    call_id = escalated_call(data_dir, org)
    store = JournalFolder(data_dir)
    own = make_packet(tmp_path / "own", data_dir, call_id, redacted=False)
    # the journal names, after it, a packet collected with no call (another computer's)
    other = make_packet(tmp_path / "other", data_dir, call_id, redacted=False,
                        of_call=False)
    assert store.load(call_id).packets[-1]["path"] == str(other)
    assert send_call(store, org, call_id, environ=env, settings=FAST).status == "sent"
    files = {a.get_filename(): a.get_content() for a in box.messages[-1].iter_attachments()}
    assert set(files) == {f"{call_id}.ticket.txt", f"{call_id}.ticket.md", own.name}
    assert files[own.name] == own.read_bytes() != other.read_bytes()
    # a link in the place of a ticket file: refused, nothing sent
    secret = tmp_path / "secret.txt"
    secret.write_text("not-for-tier-2\n", encoding="utf-8")
    ticket = store.ticket_path(call_id, "txt")
    ticket.unlink()
    ticket.symlink_to(secret)
    outcome = send_call(store, org, call_id, environ=env, settings=FAST, again=True)
    assert outcome.status == "failed"
    assert f"{ticket}: not a ticket file of this call" in str(outcome.error)
    assert len(box.messages) == 1
    assert all("not-for-tier-2" not in m.as_string() for m in box.messages)


def test_second_send_is_refused_unless_again(data_dir: Path, smtp: tuple[int, Mailbox],
                                             cert: tuple[Path, Path]) -> None:
    from wizard.handoff.outbox import NotSent

    port, box = smtp
    org = email_org(port, cert[0])
    call_id = escalated_call(data_dir, org)
    env = {"TRIAGE_SMTP_PASSWORD": PASSWORD}
    store = JournalFolder(data_dir)
    assert send_call(store, org, call_id, environ=env, settings=FAST).status == "sent"
    with pytest.raises(NotSent, match="already handed"):
        send_call(store, org, call_id, environ=env, settings=FAST)
    assert len(box.messages) == 1
    assert send_call(store, org, call_id, environ=env, settings=FAST,
                     again=True).status == "sent"
    assert len(box.messages) == 2


def test_wrong_password_fails_without_printing_it(data_dir: Path, smtp: tuple[int, Mailbox],
                                                 cert: tuple[Path, Path]) -> None:
    port, box = smtp
    org = email_org(port, cert[0])
    call_id = escalated_call(data_dir, org)
    wrong = "Wrong-Password-123456"
    outcome = send_call(JournalFolder(data_dir), org, call_id,
                        environ={"TRIAGE_SMTP_PASSWORD": wrong}, settings=FAST)
    assert outcome.status == "failed"
    assert "login refused" in (outcome.error or "")
    assert box.messages == []
    for path in data_dir.rglob("*"):
        if path.is_file():
            assert wrong.encode() not in path.read_bytes(), path


def test_missing_secret_names_the_variable_only(data_dir: Path, smtp: tuple[int, Mailbox],
                                                cert: tuple[Path, Path]) -> None:
    port, _box = smtp
    org = email_org(port, cert[0])
    call_id = escalated_call(data_dir, org)
    outcome = send_call(JournalFolder(data_dir), org, call_id, environ={}, settings=FAST)
    assert outcome.status == "failed"
    assert "TRIAGE_SMTP_PASSWORD is not set" in (outcome.error or "")


def test_server_down_goes_to_the_outbox_and_sync_sends_it_once(
        data_dir: Path, cert: tuple[Path, Path]) -> None:
    port = closed_port()
    org = email_org(port, cert[0])
    call_id = escalated_call(data_dir, org)
    store = JournalFolder(data_dir)
    env = {"TRIAGE_SMTP_PASSWORD": PASSWORD}
    outcome = send_call(store, org, call_id, environ=env, settings=FAST)
    assert outcome.status == "queued"
    assert "cannot connect" in (outcome.error or "")
    [entry] = entries(data_dir)
    assert entry["call_id"] == call_id and entry["attempts"] == 1
    assert PASSWORD not in Path(entry["_path"]).read_text()
    # not due yet: nothing is tried
    assert drain(store, org, environ=env, settings=FAST) == []
    # the server comes back on the same port; the entry is due later
    later = Settings(attempts=1, clock=lambda: entry["next_at"] + 1)
    for _port, box in smtp_server(*cert, users={"helpdesk": PASSWORD}, port=port):
        [result] = drain(store, org, environ=env, settings=later)
        assert result.status == "sent"
        assert len(box.messages) == 1
        assert drain(store, org, environ=env, settings=later) == []
    assert entries(data_dir) == []
    statuses = [h["status"] for h in store.load(call_id).handoffs]
    assert statuses == ["queued", "sent"]


def test_backoff_doubles_between_failed_retries(data_dir: Path,
                                                cert: tuple[Path, Path]) -> None:
    org = email_org(closed_port(), cert[0])
    call_id = escalated_call(data_dir, org)
    store = JournalFolder(data_dir)
    now = 1_000_000.0
    s = Settings(attempts=1, clock=lambda: now)
    send_call(store, org, call_id, environ={"TRIAGE_SMTP_PASSWORD": "x"}, settings=s)
    waits = []
    for _ in range(3):
        entry = entries(data_dir)[0]
        waits.append(entry["next_at"] - now)
        now = entry["next_at"]
        drain(store, org, environ={"TRIAGE_SMTP_PASSWORD": "x"}, settings=s)
    assert waits == [60.0, 120.0, 240.0]
    assert entries(data_dir)[0]["attempts"] == 4


def test_no_server_set_writes_an_eml_file(data_dir: Path, tmp_path: Path) -> None:
    org = email_org(None, None)
    call_id = escalated_call(data_dir, org)
    packet = make_packet(tmp_path / "packets", data_dir, call_id, redacted=False)
    outcome = send_call(JournalFolder(data_dir), org, call_id, environ={}, settings=FAST)
    assert outcome.status == "sent" and outcome.delivery is not None
    path = Path(outcome.delivery.file or "")
    assert path.parent == data_dir / "handoff" and path.suffix == ".eml"
    assert path.parent.stat().st_mode & 0o077 == 0  # the ticket and packet: private
    msg = message_from_bytes(path.read_bytes(), policy=policy.default)
    assert msg["To"] == "tier2@corp.example"
    names = {a.get_filename() for a in msg.iter_attachments()}  # type: ignore[attr-defined]
    assert packet.name in names
    assert "e-mail written to" in outcome.line()


def test_existing_ticket_number_goes_in_the_subject(data_dir: Path) -> None:
    org = email_org(None, None)
    call_id = escalated_call(data_dir, org, existing_ticket="INC0012345")
    outcome = send_call(JournalFolder(data_dir), org, call_id, environ={}, settings=FAST)
    assert outcome.delivery is not None
    msg = message_from_bytes(Path(outcome.delivery.file or "").read_bytes(),
                             policy=policy.default)
    assert str(msg["Subject"]).startswith("[INC0012345] ")
    assert "Update for ticket INC0012345" in msg.get_body().get_content()  # type: ignore


def test_redacted_only_group_gets_the_redacted_packet_and_nothing_else(
        data_dir: Path, tmp_path: Path) -> None:
    org = email_org(None, None, redacted_only=True)
    call_id = escalated_call(data_dir, org)
    store = JournalFolder(data_dir)
    make_packet(tmp_path / "plain", data_dir, call_id, redacted=False)
    refused = send_call(store, org, call_id, environ={}, settings=FAST)
    assert refused.status == "failed"
    assert "redacted packets only" in (refused.error or "")
    assert "--redact" in (refused.error or "")
    red = make_packet(tmp_path / "red", data_dir, call_id, redacted=True)
    outcome = send_call(store, org, call_id, environ={}, settings=FAST)
    assert outcome.status == "sent" and outcome.delivery is not None
    raw = Path(outcome.delivery.file or "").read_bytes()
    msg = message_from_bytes(raw, policy=policy.default)
    assert [a.get_filename() for a in msg.iter_attachments()] == [red.name]  # type: ignore
    body = msg.get_body().get_content()  # type: ignore[union-attr]
    assert "ws-ann" not in body and "fs01" not in body
    assert "ws-ann" not in str(msg["Subject"])
    with zipfile.ZipFile(red) as zf:
        assert json.loads(zf.read("manifest.json"))["redacted"] is True


def test_org_file_refuses_a_password_and_an_unknown_group(tmp_path: Path) -> None:
    path = tmp_path / "org.yaml"
    path.write_text(yaml.safe_dump({"handoff": {"destinations": {GROUP: {
        "kind": "email", "to": ["a@corp.example"], "from": "b@corp.example",
        "password": "hunter2"}}}}))
    with pytest.raises(OrgConfigError) as err:
        load_org_config(path)
    assert "secrets are never read from the organization file" in str(err.value)
    assert "hunter2" not in str(err.value)
    assert str(err.value).startswith(f"{path}:")
    path.write_text(yaml.safe_dump({"handoff": {"destinations": {"Tier 2 IPsec suport": {
        "kind": "email", "to": ["a@corp.example"], "from": "b@corp.example"}}}}))
    with pytest.raises(OrgConfigError, match="did you mean 'Tier 2 IPsec support'"):
        load_org_config(path)
    path.write_text(yaml.safe_dump({"handoff": {"destinations": {GROUP: {
        "kind": "email", "to": ["a@corp.example"], "from": "b@corp.example",
        "secret": "abc-TOKEN-value"}}}}))
    with pytest.raises(OrgConfigError, match="names an environment variable") as err:
        load_org_config(path)
    assert "abc-TOKEN-value" not in str(err.value)


def test_send_command_and_offer_at_the_end_of_a_non_interactive_call(
        data_dir: Path, tmp_path: Path, smtp: tuple[int, Mailbox],
        cert: tuple[Path, Path]) -> None:
    port, box = smtp
    org_path = tmp_path / "org.yaml"
    org_path.write_text(yaml.safe_dump({"handoff": {"destinations": {GROUP: {
        "kind": "email", "to": ["tier2@corp.example"], "from": "helpdesk@corp.example",
        "smtp_host": "127.0.0.1", "smtp_port": port, "user": "helpdesk",
        "secret": "TRIAGE_SMTP_PASSWORD", "ca_file": str(cert[0])}}}}))
    answers = tmp_path / "answers.yaml"
    answers.write_text(yaml.safe_dump({"answers": route_to("fig7_2.escalate_caller")}))
    env = cli_env(data_dir, IPSEC_TRIAGE_ORG=str(org_path), TRIAGE_SMTP_PASSWORD=PASSWORD)

    def run(*args: str) -> CliResult:
        return run_cli([*args], env)

    first = run("start", "--answers", str(answers), "--no-checks")
    assert first.returncode == 0, first.stderr
    assert "Not sent to Tier 2 IPsec support: use --send" in first.stdout
    assert box.messages == []
    sent = run("send", "last")
    assert sent.returncode == 0, sent.stderr
    assert f"Hand-off to {GROUP} (e-mail): sent" in sent.stdout
    assert len(box.messages) == 1
    again = run("send", "last")
    assert again.returncode == 9 and "already handed" in again.stderr
    second = run("start", "--answers", str(answers), "--no-checks", "--send")
    assert second.returncode == 0, second.stderr
    assert f"Hand-off to {GROUP} (e-mail): sent" in second.stdout
    assert len(box.messages) == 2
    listing = run("list")
    assert listing.stdout.count("email") == 2
    for out in (first, sent, again, second, listing):
        assert PASSWORD not in out.stdout + out.stderr


def test_offer_at_the_end_of_a_call_in_a_terminal(data_dir: Path, tmp_path: Path) -> None:
    """In a terminal the staffer is asked at the end of an escalated call; yes sends."""
    import pexpect

    org_path = tmp_path / "org.yaml"
    org_path.write_text(yaml.safe_dump({"handoff": {"destinations": {GROUP: {
        "kind": "email", "to": ["tier2@corp.example"], "from": "helpdesk@corp.example"}}}}))
    answers = tmp_path / "answers.yaml"
    answers.write_text(yaml.safe_dump({"answers": route_to("fig7_2.escalate_caller")}))
    env = cli_env(data_dir, IPSEC_TRIAGE_ORG=str(org_path), PROMPT_TOOLKIT_NO_CPR="1")
    child = pty_spawn(PYTHON, ["-m", "wizard", "start", "--answers", str(answers),
                                "--no-checks"], env=env, encoding="utf-8", timeout=60,
                       dimensions=(50, 160))
    child.expect_exact(f"Send the escalation to {GROUP} (e-mail) now?")
    child.send("y")
    child.expect_exact("e-mail written to")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    [eml] = (data_dir / "handoff").glob("*.eml")
    msg = message_from_bytes(eml.read_bytes(), policy=policy.default)
    assert msg["To"] == "tier2@corp.example"
    [call] = JournalFolder(data_dir).all()
    assert call.ticket_ref() is not None


def test_secret_from_the_os_keyring(data_dir: Path, monkeypatch: pytest.MonkeyPatch,
                                    smtp: tuple[int, Mailbox],
                                    cert: tuple[Path, Path]) -> None:
    """Without the environment variable the secret comes from the keyring entry
    (service ipsec-triage, the secret's name), read through the keyring package."""
    import keyring
    from keyring.backend import KeyringBackend

    class Memory(KeyringBackend):  # the OS keyrings do not run here
        priority = 1  # type: ignore[assignment]

        def __init__(self) -> None:
            super().__init__()
            self.items: dict[tuple[str, str], str] = {}

        def get_password(self, service: str, username: str) -> str | None:
            return self.items.get((service, username))

        def set_password(self, service: str, username: str, password: str) -> None:
            self.items[(service, username)] = password

        def delete_password(self, service: str, username: str) -> None:
            self.items.pop((service, username), None)

    previous = keyring.get_keyring()
    backend = Memory()
    keyring.set_keyring(backend)
    try:
        keyring.set_password("ipsec-triage", "TRIAGE_SMTP_PASSWORD", PASSWORD)
        port, box = smtp
        org = email_org(port, cert[0])
        call_id = escalated_call(data_dir, org)
        outcome = send_call(JournalFolder(data_dir), org, call_id, environ={}, settings=FAST)
        assert outcome.status == "sent", outcome.error
        assert box.logins == [("helpdesk", PASSWORD)]
    finally:
        keyring.set_keyring(previous)


def _plain_smtp_org(port: int, tmp_path: Path | None = None) -> OrgConfig:
    dest = {"kind": "email", "to": ["tier2@corp.example"], "from": "helpdesk@corp.example",
            "smtp_host": "127.0.0.1", "smtp_port": port, "security": "none",
            "timeout": 1.0}
    doc = {"handoff": {"destinations": {GROUP: dest}}}
    if tmp_path is not None:
        (tmp_path / "org.yaml").write_text(yaml.safe_dump(doc))
    return OrgConfig.model_validate(doc)


def test_a_late_answer_to_data_is_an_unknown_outcome_sent_once_then_at_sync(
        data_dir: Path, tmp_path: Path) -> None:
    """The server has the message and answers DATA after the client's timeout: no
    copy is sent again at once; the outbox says "unknown"; sync sends it again with the
    same Message-ID (a mail system that drops duplicates keeps one)."""
    import time

    for port, box in smtp_server(None, None, users={}):
        box.late.append(2.5)  # the client waits 1 s
        org = _plain_smtp_org(port, tmp_path)
        call_id = escalated_call(data_dir, org)
        store = JournalFolder(data_dir)
        sleeps: list[float] = []
        outcome = send_call(store, org, call_id, environ={},
                            settings=Settings(attempts=3, pause=0.01, sleep=sleeps.append))
        assert outcome.status == "queued" and outcome.unknown
        line = outcome.line()
        assert "outcome unknown, it may have arrived" in line
        assert "after the message was sent" in line
        assert "kept in the outbox as unknown" in line and "same Message-ID" in line
        time.sleep(3.0)  # the server's late answer has come and gone
        assert sleeps == [] and len(box.messages) == 1  # exactly one copy before sync
        [entry] = entries(data_dir)
        assert entry["outcome"] == "unknown" and entry["attempts"] == 1
        [record] = store.load(call_id).handoffs
        assert record["status"] == "queued" and record["outcome"] == "unknown"
        show = run_cli(["show", call_id], cli_env(data_dir))
        assert "outcome unknown (it may have arrived), waiting in the outbox" in show.stdout
        # sync, once the entry is due
        path = Path(entry.pop("_path"))
        path.write_text(json.dumps({**entry, "next_at": 0}))
        env = cli_env(data_dir, IPSEC_TRIAGE_ORG=str(tmp_path / "org.yaml"))
        sync = run_cli(["sync"], env)
        assert f"Hand-off to {GROUP} (e-mail): sent" in sync.stdout, sync.stdout + sync.stderr
        assert len(box.messages) == 2
        first, second = box.messages
        assert first["Message-ID"] == second["Message-ID"]
        assert str(first["Message-ID"]).startswith(f"<{call_id}.")
    assert entries(data_dir) == []
    statuses = [h["status"] for h in JournalFolder(data_dir).load(call_id).handoffs]
    assert statuses == ["queued", "sent"]


def test_a_refused_connection_sent_nothing_and_is_retried_at_once(data_dir: Path) -> None:
    org = _plain_smtp_org(closed_port())
    call_id = escalated_call(data_dir, org)
    sleeps: list[float] = []
    outcome = send_call(JournalFolder(data_dir), org, call_id, environ={},
                        settings=Settings(attempts=3, pause=0.01, sleep=sleeps.append))
    assert outcome.status == "queued" and not outcome.unknown
    assert sleeps == [0.01, 0.02]
    assert "cannot connect" in outcome.line() and "unknown" not in outcome.line()
    [entry] = entries(data_dir)
    assert entry["outcome"] == "failed"
