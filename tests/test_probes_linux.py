"""Linux parsers on captured output, and the Linux side of service_running."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

import pytest

from wizard.checks import ProbeStatus, RunOutput, System, linux, run_probe

from .helpers.probes import captured


@pytest.mark.parametrize(("capture", "code", "replied", "summary", "address"), [
    ("linux_ping_reply.txt", 0, True, "replied (0.034 ms)", "127.0.0.1"),
    ("linux_ping_no_reply.txt", 1, False, "100% packet loss", "10.1.2.3"),
    ("linux_ping_host_unreachable.txt", 1, False, "destination Host Unreachable", "10.1.2.3"),
    ("linux_ping_unknown_host.txt", 2, False, "name or service not known", ""),
])
def test_ping_output(capture: str, code: int, replied: bool, summary: str,
                     address: str) -> None:
    outcome = linux.parse_ping(captured(capture), code)
    assert (outcome.replied, outcome.summary, outcome.address) == (replied, summary, address)


def test_a_reply_line_without_exit_status_zero_is_not_trusted() -> None:
    assert not linux.parse_ping(captured("linux_ping_reply.txt"), 1).replied


def test_routes_and_resolver_file() -> None:
    assert linux.parse_ip_route_default(captured("linux_ip_route_default.txt")) == "10.1.20.1"
    assert linux.parse_ip_route_default("10.1.20.0/24 dev eth0 scope link\n") is None
    assert linux.parse_resolv_conf(captured("linux_resolv_conf.txt")) == [
        "10.1.0.10", "10.1.0.11", "fe80::1"]
    assert linux.parse_proc_net_route("Iface\tDestination\tGateway\n") is None


def test_gateway_from_ip_route_when_proc_is_unreadable() -> None:
    class NoProc(System):
        def read_text(self, path: str | Path) -> str | None:
            return None if str(path) == "/proc/net/route" else super().read_text(path)

        def which(self, cmd: str) -> str | None:
            return "/sbin/ip" if cmd == "ip" else super().which(cmd)

        def run(self, argv: Sequence[str], timeout: float) -> RunOutput:
            assert list(argv) == ["ip", "-4", "route", "show", "default"]
            return RunOutput(tuple(argv), 0, captured("linux_ip_route_default.txt"), "")

    assert NoProc(platform="linux").default_gateway() == "10.1.20.1"


def test_gateway_on_macos_from_route_get() -> None:
    class Mac(System):
        def run(self, argv: Sequence[str], timeout: float) -> RunOutput:
            assert list(argv) == ["route", "-n", "get", "default"]
            return RunOutput(tuple(argv), 0, captured("darwin_route_get_default.txt"), "")

    assert Mac(platform="darwin").default_gateway() == "10.1.20.1"


def test_gateway_unknown_is_not_no_gateway() -> None:
    class Nothing(System):
        def read_text(self, path: str | Path) -> str | None:
            return None

        def which(self, cmd: str) -> str | None:
            return None

    r = run_probe("gateway", {}, Nothing(platform="linux"))
    assert r.status is ProbeStatus.UNAVAILABLE and "ask the caller" in r.summary


class Systemctl(System):
    """systemctl answering from a table, as `systemctl is-active UNIT` prints."""

    def __init__(self, states: dict[str, str], stderr: str = "") -> None:
        super().__init__(platform="linux")
        self.states, self.stderr, self.asked = states, stderr, list[str]()

    def which(self, cmd: str) -> str | None:
        return "/bin/systemctl" if cmd == "systemctl" else None

    def run(self, argv: Sequence[str], timeout: float) -> RunOutput:
        assert list(argv[:3]) == ["systemctl", "is-active", "--"]
        self.asked.append(argv[3])
        state = self.states.get(argv[3], "")
        return RunOutput(tuple(argv), 0 if state == "active" else 3,
                         state + "\n" if state else "", self.stderr)


def test_remote_access_maps_to_l2tp_and_pptp_servers() -> None:
    system = Systemctl({"xl2tpd": "inactive", "pptpd": "active"})
    r = run_probe("service_running", {"service": "RemoteAccess"}, system)
    assert r.status is ProbeStatus.OK and r.summary == "pptpd is running (RemoteAccess)"
    assert system.asked == ["xl2tpd", "pptpd"]


def test_unknown_windows_name_is_taken_as_a_unit_name() -> None:
    system = Systemctl({"sshd": "failed"})
    r = run_probe("service_running", {"service": "sshd"}, system)
    assert r.status is ProbeStatus.FAIL and system.asked == ["sshd"]
    assert "sshd is not running" in r.summary


def test_systemctl_without_systemd_is_not_a_no() -> None:
    r = run_probe("service_running", {"service": "PolicyAgent"},
                  Systemctl({}, stderr=captured("linux_systemctl_no_systemd.txt")))
    assert r.status is ProbeStatus.UNAVAILABLE
    assert r.summary.startswith("not available on this platform")


def test_no_systemctl_at_all() -> None:
    class Bare(System):
        def which(self, cmd: str) -> str | None:
            return None

    r = run_probe("service_running", {"service": "PolicyAgent"}, Bare(platform="linux"))
    assert r.status is ProbeStatus.UNAVAILABLE


@pytest.mark.skipif(shutil.which("systemctl") is None, reason="needs systemctl")
def test_real_systemctl_gives_an_answer_or_says_it_cannot() -> None:
    r = run_probe("service_running", {"service": "PolicyAgent"}, timeout=3)
    assert r.status in (ProbeStatus.OK, ProbeStatus.FAIL, ProbeStatus.UNAVAILABLE), r.summary
    assert "$ systemctl is-active strongswan" in r.evidence
