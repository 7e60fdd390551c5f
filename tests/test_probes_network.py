"""Reachability and name probes end to end on this machine: the real ping program,
real loopback sockets and servers. Nothing is sent to any address but loopback (the
real gateway and DNS servers of this machine are never pinged here)."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from wizard.checks import ProbeStatus, RunOutput, System, run_probe
from wizard.config.organization import OrgConfig, TestServer

from .helpers.probes import (
    HAVE_PING,
    HOSTS_FILE_LOCALHOST,
    LOOPBACK,
    NoPingProgram,
    PingBlocked,
    Untouchable,
    black_hole,
    captured,
    closed_port,
    dns_server,
    listening_port,
)

OK, FAIL = ProbeStatus.OK, ProbeStatus.FAIL
needs_ping = pytest.mark.skipif(not HAVE_PING, reason="needs the ping program (.ci/run "
                                "installs iputils-ping)")


@needs_ping
@pytest.mark.skipif(not HOSTS_FILE_LOCALHOST, reason="localhost is not in /etc/hosts")
def test_ping_by_name_reports_the_address_it_resolved_to() -> None:
    r = run_probe("ping", {"host": "localhost"}, timeout=2)
    assert r.status is OK, r.evidence
    assert r.data["address"] == LOOPBACK and r.data["negotiating"] is False
    assert r.evidence.startswith("$ ping -c 1 -W 2 -- localhost\nPING localhost")


@needs_ping
def test_ping_ipv6_loopback() -> None:
    r = run_probe("ping", {"host": "::1"}, timeout=2)
    if r.status is FAIL and "unreachable" in r.summary.lower():
        pytest.skip("no IPv6 on this machine")
    assert r.status is OK, r.evidence


@needs_ping
def test_loopback_probe() -> None:
    r = run_probe("loopback", {}, timeout=2)
    assert r.status is OK and r.probe == "loopback" and r.summary.startswith("127.0.0.1: ")


def test_a_reserved_name_is_not_even_looked_up() -> None:
    system = Untouchable()
    r = run_probe("ping", {"host": "fs09.corp.invalid"}, system, timeout=1)
    assert r.status is FAIL and "never resolves" in r.summary and system.touched == []


def _netns_with_dummy() -> bool:
    try:
        return subprocess.run(["unshare", "-n", "--", "ip", "link", "add", "d0", "type",
                               "dummy"], capture_output=True, timeout=5).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


class IsolatedSubnet(System):
    """Runs commands in a network namespace of their own whose only network is a dummy
    interface (10.99.0.1/24, which drops everything): a ping to 10.99.0.2 gets no reply,
    and cannot leave the namespace, let alone the machine."""

    def run(self, argv: Sequence[str], timeout: float) -> RunOutput:
        setup = ("ip link add d0 type dummy && ip link set d0 up && "
                 "ip addr add 10.99.0.1/24 dev d0 && exec \"$@\"")
        return super().run(["unshare", "-n", "--", "sh", "-c", setup, "sh", *argv], timeout)


@pytest.mark.skipif(not (HAVE_PING and _netns_with_dummy()),
                    reason="needs ping and dummy interfaces in a network namespace")
def test_real_ping_that_gets_no_reply_fails_within_its_timeout() -> None:
    r = run_probe("ping", {"host": "10.99.0.2"}, IsolatedSubnet(), timeout=1)
    assert r.status is FAIL and "100% packet loss" in r.summary
    assert r.duration < 3


def test_without_a_ping_program_silent_ports_mean_no_answer() -> None:
    """The socket fallback tries its ports at once: all silent takes one timeout."""
    from wizard.checks.probes import FALLBACK_PORTS

    with black_hole(len(FALLBACK_PORTS)) as holes:
        ports = dict(zip(FALLBACK_PORTS, holes, strict=True))

        class SilentHost(NoPingProgram):
            def connect(self, host: str, port: int, timeout: float) -> tuple[str, str]:
                assert host == LOOPBACK
                return super().connect(host, ports[port], timeout)

        start = time.monotonic()
        r = run_probe("ping", {"host": LOOPBACK}, SilentHost(), timeout=0.4)
        elapsed = time.monotonic() - start
    assert r.status is FAIL and r.data["method"] == "tcp"
    assert r.summary == ("127.0.0.1: no answer on TCP ports 445, 135, 139, 80, 443, 22, 3389 "
                         "(no ping program here)")
    assert elapsed < 1.5


# -- TCP ---------------------------------------------------------------------------------

def test_smb_to_a_black_hole_is_a_clear_failure() -> None:
    with black_hole() as (port,):
        class Redirect(System):
            def connect(self, host: str, p: int, timeout: float) -> tuple[str, str]:
                assert p == 445
                return super().connect(host, port, timeout)

        r = run_probe("smb", {"host": LOOPBACK}, Redirect(), timeout=0.4)
    assert r.status is FAIL and "did not answer within 0.4 s" in r.summary


class PortMap(System):
    """Loopback only: the well-known port the probe asks for is served by a loopback
    port the test opened (tests cannot bind 88 or 389 without privileges)."""

    def __init__(self, ports: dict[int, int], org: OrgConfig | None = None) -> None:
        super().__init__(org)
        self.ports = ports

    def connect(self, host: str, port: int, timeout: float) -> tuple[str, str]:
        assert host == LOOPBACK
        return super().connect(host, self.ports[port], timeout)


def test_dc_ports_ok_only_when_kerberos_and_ldap_both_accept() -> None:
    with listening_port() as kdc, listening_port() as ldap:
        r = run_probe("dc_ports", {"host": LOOPBACK}, PortMap({88: kdc, 389: ldap}),
                      timeout=1)
        assert r.status is OK and r.summary == "127.0.0.1: Kerberos and LDAP answer"
        half = run_probe("dc_ports", {"host": LOOPBACK},
                         PortMap({88: kdc, 389: closed_port()}), timeout=1)
    assert half.status is FAIL and half.summary == "127.0.0.1: Kerberos open, LDAP refused"


def test_test_servers_each_listed_with_its_port() -> None:
    with listening_port() as up:
        org = OrgConfig(test_servers=[
            TestServer(name="HD-TEST1", address=LOOPBACK, port=up),
            TestServer(name="HD-TEST2", address=LOOPBACK, port=closed_port()),
            TestServer(name="HD-TEST3", address=LOOPBACK, port=closed_port()),
        ])
        r = run_probe("test_servers", {}, System(org), timeout=1)
    assert r.status is ProbeStatus.ERROR  # some but not all: the question is asked
    assert r.summary == "1 of 3 test servers reachable (HD-TEST1): ask the caller"
    assert [(s["name"], s["test"], s["reachable"]) for s in r.data["servers"]] == [
        ("HD-TEST1", f"tcp/{up}", True),
        ("HD-TEST2", f"tcp/{org.test_servers[1].port}", False),
        ("HD-TEST3", f"tcp/{org.test_servers[2].port}", False)]
    assert "HD-TEST3 (127.0.0.1, tcp/" in r.evidence and "NOT reachable" in r.evidence


# -- DNS servers, own address -------------------------------------------------------------

def test_dns_server_that_answers_queries_counts_even_when_ping_is_blocked(
        tmp_path: Path) -> None:
    conf = tmp_path / "resolv.conf"
    conf.write_text(f"nameserver {LOOPBACK}\n")
    with dns_server(0) as port:
        r = run_probe("dns_servers", {}, PingBlocked(resolv_conf=conf, dns_port=port),
                      timeout=1)
    assert r.status is OK and r.data["answering"] == [LOOPBACK]
    assert "answered a DNS query (NOERROR)" in r.evidence


def test_dns_servers_fail_when_none_answers_ping_or_dns(tmp_path: Path) -> None:
    conf = tmp_path / "resolv.conf"
    conf.write_text(f"nameserver {LOOPBACK}\n")
    r = run_probe("dns_servers", {}, PingBlocked(resolv_conf=conf, dns_port=closed_port()),
                  timeout=1)
    assert r.status is FAIL and r.summary == f"no DNS server answers ({LOOPBACK})"


class Interfaces(System):
    def __init__(self, addrs: dict[str, list[str]]) -> None:
        super().__init__(platform="linux")
        self.addrs, self.pinged = addrs, list[str]()

    def net_if_addrs(self) -> dict[str, list[str]]:
        return self.addrs

    def which(self, cmd: str) -> str | None:
        return "/bin/ping" if cmd == "ping" else None

    def run(self, argv: Sequence[str], timeout: float) -> RunOutput:
        self.pinged.append(argv[-1])  # never sent: the captured reply stands in
        return RunOutput(tuple(argv), 0, captured("linux_ping_reply.txt"), "")


def test_own_address_skips_loopback_and_autoconfiguration() -> None:
    system = Interfaces({"lo": [LOOPBACK, "::1"], "eth0": ["169.254.3.4", "fe80::1",
                                                          "10.1.20.45"]})
    r = run_probe("own_address", {}, system, timeout=1)
    assert r.status is OK and system.pinged == ["10.1.20.45"]
    assert r.data["interface"] == "eth0" and r.summary.startswith("eth0 10.1.20.45: replied")
    none = run_probe("own_address", {}, Interfaces({"lo": [LOOPBACK],
                                                    "eth0": ["169.254.3.4"]}))
    assert none.status is FAIL and "no IPv4 address besides loopback" in none.summary


def test_autoconfig_polarity_is_what_the_description_says() -> None:
    from wizard.checks import PROBES

    assert "ok: NO 169.254" in PROBES["autoconfig_address"].description
    bad = run_probe("autoconfig_address", {}, Interfaces({"eth0": ["169.254.3.4"],
                                                           "wlan0": ["169.254.9.9"]}))
    assert bad.status is FAIL and bad.data["addresses"] == ["169.254.3.4", "169.254.9.9"]
    assert "eth0: 169.254.3.4" in bad.evidence
