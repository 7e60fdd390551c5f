"""Probes on real sockets and processes on this machine only (loopback, and network
namespaces the tests make); Windows facts through captured Windows output."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from wizard.checks import (
    PROBES,
    ProbeArgumentError,
    ProbeStatus,
    RunOutput,
    System,
    linux,
    run_probe,
    run_probes,
    validate_host,
    windows,
)
from wizard.config.organization import OrgConfig, TestServer

from .helpers.evidence_events import event

CAPTURED = Path(__file__).parent / "data" / "captured"
HAVE_PING = shutil.which("ping") is not None


def captured(name: str) -> str:
    return (CAPTURED / name).read_text()


@pytest.fixture
def listening() -> Iterator[int]:
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(5)
    yield srv.getsockname()[1]
    srv.close()


@pytest.fixture
def closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.fixture
def black_hole() -> Iterator[int]:
    """A loopback port whose accept queue is full: new connections get no answer."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(0)
    port = srv.getsockname()[1]
    fillers = []
    for _ in range(2):
        c = socket.socket()
        c.settimeout(0.3)
        with contextlib.suppress(OSError):
            c.connect(("127.0.0.1", port))
        fillers.append(c)
    yield port
    for c in fillers:
        c.close()
    srv.close()


# -- argument safety ---------------------------------------------------------------------

@pytest.mark.parametrize("good", ["fs01", "FS01.corp.example", "10.1.2.3", "::1",
                                  "srv_01", "a-b.example.", "localhost"])
def test_valid_hosts_pass(good: str) -> None:
    assert validate_host(good)


@pytest.mark.parametrize(("bad", "why"), [
    ("-f", "looks like a command option"), ("--help", "looks like a command option"),
    ("x; reboot", "not a valid host name"), ("$(id)", "not a valid host name"),
    ("a b", "not a valid host name"), ("", "required"), ("1.2.3", "not a valid"),
    ("x" * 300, "not a valid"), ("fs01\n-c", "not a valid"),
])
def test_bad_hosts_are_refused_with_a_reason(bad: str, why: str) -> None:
    with pytest.raises(ProbeArgumentError, match=why):
        validate_host(bad)


def test_option_like_target_never_reaches_a_command() -> None:
    calls: list[Sequence[str]] = []

    class Recording(System):
        def run(self, argv: Sequence[str], timeout: float) -> RunOutput:
            calls.append(argv)
            return super().run(argv, timeout)

    for target in ("-f", "x; reboot", "-c 1000"):
        r = run_probe("ping", {"host": target}, Recording())
        assert r.status is ProbeStatus.ERROR
        assert r.summary.startswith("refused: ")
    assert calls == []


def test_run_probe_never_raises() -> None:
    assert run_probe("nope", {}).status is ProbeStatus.ERROR
    assert "takes ['host']" in run_probe("ping", {}).summary

    class Broken(System):
        def connect(self, host: str, port: int, timeout: float) -> tuple[str, str]:
            raise RuntimeError("socket layer exploded")

    r = run_probe("tcp_port", {"host": "127.0.0.1", "port": "1"}, Broken())
    assert r.status is ProbeStatus.ERROR and "socket layer exploded" in r.summary


# -- processes ---------------------------------------------------------------------------

def test_run_kills_a_hung_command_at_its_timeout() -> None:
    out = System().run(["sleep", "10"], timeout=0.3)
    assert out.timed_out and out.returncode is None and out.duration < 3


def test_run_reports_a_missing_program() -> None:
    out = System().run(["no-such-program-here"], timeout=1)
    assert out.not_found and "command not found" in out.stderr


# -- ping --------------------------------------------------------------------------------

@pytest.mark.skipif(not HAVE_PING, reason="needs the ping program (installed by .ci/run)")
def test_real_ping_of_loopback_replies() -> None:
    r = run_probe("ping", {"host": "127.0.0.1"}, timeout=2)
    assert r.status is ProbeStatus.OK, r.evidence
    assert r.summary.startswith("127.0.0.1: replied")
    assert r.data["method"] == "ping" and "$ ping -c 1" in r.evidence


class NoNetwork(System):
    """Runs commands in a network namespace of their own with no interface up."""

    def run(self, argv: Sequence[str], timeout: float) -> RunOutput:
        return super().run(["unshare", "-n", "--", *argv], timeout)


def _can_unshare() -> bool:
    try:
        return subprocess.run(["unshare", "-n", "--", "true"], capture_output=True,
                              timeout=5).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@pytest.mark.skipif(not (HAVE_PING and _can_unshare()),
                    reason="needs ping and permission to make a network namespace")
def test_real_ping_without_network_fails_clearly() -> None:
    r = run_probe("ping", {"host": "127.0.0.1"}, NoNetwork(), timeout=1)
    assert r.status is ProbeStatus.FAIL
    assert "network is unreachable" in r.summary.lower()


class NoPingProgram(System):
    def which(self, cmd: str) -> str | None:
        return None if cmd == "ping" else super().which(cmd)


def test_socket_fallback_when_there_is_no_ping_program() -> None:
    r = run_probe("ping", {"host": "127.0.0.1"}, NoPingProgram(), timeout=1)
    assert r.status is ProbeStatus.OK
    assert r.data["method"] == "tcp" and "no ping program here" in r.summary


def test_socket_fallback_for_a_name_that_does_not_resolve() -> None:
    r = run_probe("ping", {"host": "nothing.invalid"}, NoPingProgram(), timeout=1)
    assert r.status is ProbeStatus.FAIL and "never resolves" in r.summary


# -- TCP ---------------------------------------------------------------------------------

def test_tcp_port_open_closed_and_black_holed(listening: int, closed_port: int,
                                              black_hole: int) -> None:
    ok = run_probe("tcp_port", {"host": "127.0.0.1", "port": str(listening)}, timeout=1)
    assert ok.status is ProbeStatus.OK and "accepted" in ok.summary
    refused = run_probe("tcp_port", {"host": "127.0.0.1", "port": str(closed_port)}, timeout=1)
    assert refused.status is ProbeStatus.FAIL and "refused" in refused.summary
    hole = run_probe("tcp_port", {"host": "127.0.0.1", "port": str(black_hole)}, timeout=0.5)
    assert hole.status is ProbeStatus.FAIL and "did not answer" in hole.summary
    assert run_probe("tcp_port", {"host": "127.0.0.1", "port": "99999"}).status \
        is ProbeStatus.ERROR


def test_smb_is_tcp_445() -> None:
    r = run_probe("smb", {"host": "127.0.0.1"}, timeout=0.5)
    assert r.data["port"] == 445
    if r.status is ProbeStatus.FAIL:
        assert "refused" in r.summary
    else:  # something serves SMB on this machine
        assert "net view would work" in r.summary
    bad = run_probe("smb", {"host": "nothing.invalid"}, timeout=0.5)
    assert bad.status is ProbeStatus.FAIL and "never resolves" in bad.summary


def test_dc_ports_need_kerberos_and_ldap(closed_port: int) -> None:
    r = run_probe("dc_ports", {"host": "127.0.0.1"}, timeout=0.5)
    if r.status is ProbeStatus.FAIL:  # nothing serves Kerberos/LDAP on this machine
        assert r.summary.startswith("127.0.0.1: Kerberos ")
        assert "kerberos tcp/88:" in r.evidence and "ldap tcp/389:" in r.evidence
    assert set(r.data) >= {"kerberos", "ldap"}


def test_test_servers_all_some_none_and_unconfigured(listening: int, closed_port: int) -> None:
    up = TestServer(name="hd-test1", address="127.0.0.1", port=listening)
    down = TestServer(name="hd-test2", address="127.0.0.1", port=closed_port)
    def probe(*servers: TestServer) -> object:
        return run_probe("test_servers", {}, System(OrgConfig(test_servers=list(servers))),
                         timeout=1)
    assert probe(up).status is ProbeStatus.OK  # type: ignore[attr-defined]
    some = probe(up, down)
    assert some.status is ProbeStatus.ERROR  # type: ignore[attr-defined]
    assert "1 of 2 test servers reachable (hd-test1)" in some.summary  # type: ignore[attr-defined]
    assert probe(down).status is ProbeStatus.FAIL  # type: ignore[attr-defined]
    none = probe()
    assert none.status is ProbeStatus.UNAVAILABLE  # type: ignore[attr-defined]


def test_test_server_without_a_port_is_tested_over_smb_never_ping(closed_port: int) -> None:
    """ICMP is exempt from IPsec: a ping to a test server proves nothing about the
    caller's IPsec, so a server without a port gets TCP 445 (as net view)."""
    org = OrgConfig(test_servers=[TestServer(name="hd-test", address="127.0.0.1")])
    r = run_probe("test_servers", {}, System(org), timeout=1)
    assert r.data["servers"][0]["test"] == "tcp/445"
    assert "ping" not in r.evidence
    assert r.status is ProbeStatus.FAIL  # nothing listens on 445 here, though ping works


# -- names -------------------------------------------------------------------------------

def test_dns_lookup_reports_addresses_and_resolver(tmp_path: Path) -> None:
    conf = tmp_path / "resolv.conf"
    conf.write_text("search corp.example\nnameserver 127.0.0.53\n")
    system = System(resolv_conf=conf)
    r = run_probe("dns_lookup", {"name": "localhost"}, system, timeout=2)
    assert r.status is ProbeStatus.OK
    assert any(a in ("127.0.0.1", "::1") for a in r.data["addresses"])
    assert r.data["server"] == "127.0.0.53"
    bad = run_probe("dns_lookup", {"name": "nothing.invalid"}, system, timeout=2)
    assert bad.status is ProbeStatus.FAIL and "never resolves" in bad.summary


def test_reverse_lookup_of_loopback_and_refusal_of_names() -> None:
    r = run_probe("reverse_lookup", {"address": "127.0.0.1"}, timeout=2)
    assert r.status is ProbeStatus.OK and r.data["name"]
    named = run_probe("reverse_lookup", {"address": "fs01"}, timeout=2)
    assert named.status is ProbeStatus.ERROR and "needs an IP address" in named.summary


@pytest.mark.skipif(not HAVE_PING, reason="needs the ping program")
def test_dns_servers_from_the_resolver_file(tmp_path: Path) -> None:
    conf = tmp_path / "resolv.conf"
    conf.write_text("nameserver 127.0.0.1\n")
    assert run_probe("dns_servers", {}, System(resolv_conf=conf), timeout=1).status \
        is ProbeStatus.OK
    conf.write_text("# none\n")
    r = run_probe("dns_servers", {}, System(resolv_conf=conf), timeout=1)
    assert r.status is ProbeStatus.FAIL and r.summary == "no DNS server configured"


# -- addresses and gateway ----------------------------------------------------------------

class Addresses(System):
    def __init__(self, addrs: dict[str, list[str]], gateway: str | None = None) -> None:
        super().__init__()
        self._addrs, self._gw = addrs, gateway

    def net_if_addrs(self) -> dict[str, list[str]]:
        return self._addrs

    def default_gateway(self) -> str | None:
        return self._gw


def test_autoconfig_address_polarity() -> None:
    bad = run_probe("autoconfig_address", {}, Addresses({"eth0": ["169.254.7.9"]}))
    assert bad.status is ProbeStatus.FAIL and "169.254.7.9" in bad.summary
    good = run_probe("autoconfig_address", {}, Addresses({"eth0": ["10.1.20.45"]}))
    assert good.status is ProbeStatus.OK
    assert run_probe("autoconfig_address", {}).status in (ProbeStatus.OK, ProbeStatus.FAIL)


@pytest.mark.skipif(not HAVE_PING, reason="needs the ping program")
def test_gateway_pings_the_default_route() -> None:
    r = run_probe("gateway", {}, Addresses({}, gateway="127.0.0.1"), timeout=1)
    assert r.status is ProbeStatus.OK and r.data["gateway"] == "127.0.0.1"
    assert run_probe("gateway", {}, Addresses({})).summary == "no default gateway configured"


def test_proc_net_route_parser() -> None:
    assert linux.parse_proc_net_route(captured("linux_proc_net_route.txt")) == "10.1.20.1"


# -- services ----------------------------------------------------------------------------

class Systemd(System):
    def __init__(self, active: set[str]) -> None:
        super().__init__(platform="linux")
        self.active = active

    def which(self, cmd: str) -> str | None:
        return "/bin/systemctl" if cmd == "systemctl" else super().which(cmd)

    def run(self, argv: Sequence[str], timeout: float) -> RunOutput:
        unit = argv[-1]
        state = "active" if unit in self.active else "inactive"
        return RunOutput(tuple(argv), 0 if state == "active" else 3, state + "\n", "")


def test_service_running_maps_policyagent_to_strongswan() -> None:
    r = run_probe("service_running", {"service": "PolicyAgent"}, Systemd({"strongswan"}))
    assert r.status is ProbeStatus.OK and r.data["unit"] == "strongswan"
    r = run_probe("service_running", {"service": "PolicyAgent"}, Systemd(set()))
    assert r.status is ProbeStatus.FAIL
    assert run_probe("service_running", {"service": "-x"}).status is ProbeStatus.ERROR


# -- Windows, through captured output ------------------------------------------------------

class Windows(System):
    """A Windows machine as seen through captured command output."""

    def __init__(self, outputs: dict[str, str]) -> None:
        super().__init__(platform="win32")
        self.outputs = outputs
        self.argvs: list[tuple[str, ...]] = []

    def which(self, cmd: str) -> str | None:
        return cmd

    def run(self, argv: Sequence[str], timeout: float) -> RunOutput:
        self.argvs.append(tuple(argv))
        if argv[0] not in self.outputs:  # e.g. no PowerShell, as on Windows Server 2003
            return RunOutput(tuple(argv), None, "", f"{argv[0]}: command not found",
                             not_found=True)
        return RunOutput(tuple(argv), 0, self.outputs[argv[0]], "")


@pytest.mark.parametrize(("capture", "status", "negotiating"), [
    ("win_ping_reply.txt", ProbeStatus.OK, False),
    ("win_ping_negotiating.txt", ProbeStatus.OK, True),
    ("win_ping_timeout.txt", ProbeStatus.FAIL, False),
    ("win_ping_nohost.txt", ProbeStatus.FAIL, False),
])
def test_windows_ping(capture: str, status: ProbeStatus, negotiating: bool) -> None:
    system = Windows({"ping": captured(capture)})
    r = run_probe("ping", {"host": "10.1.2.3"}, system, timeout=1)
    assert r.status is status and r.data["negotiating"] is negotiating
    assert system.argvs[0] == ("ping", "-n", "1", "-w", "1000", "10.1.2.3")


def test_windows_parsers() -> None:
    assert windows.parse_ipconfig_dns(captured("win_ipconfig_all.txt")) == [
        "10.1.0.10", "10.1.0.11"]
    assert windows.parse_route_print_gateway(captured("win_route_print.txt")) == "10.1.20.1"
    assert windows.parse_wmic_domain(captured("win_wmic_domain_joined.txt")) == (
        True, "corp.example")
    assert windows.parse_wmic_domain(captured("win_wmic_domain_workgroup.txt")) == (
        False, "WORKGROUP")
    events = windows.parse_wevtutil_xml(
        event(4292, "2008-10-03T09:14:22Z", {"param1": "Block"}, channel="System"))
    assert len(events) == 1 and events[0]["EventID"] == "4292"
    assert events[0]["TimeCreated"] == "2008-10-03T09:14:22Z"
    assert windows.parse_policy_version(captured("win_detect_policy_current.txt")) == (
        True, "IPSEC - Domain Isolation Policy (v1.3)")
    assert windows.parse_policy_version(captured("win_detect_policy_stale.txt"))[0] is False
    assert windows.parse_sc_query_state(captured("win_sc_query_running.txt")) == "RUNNING"
    assert windows.parse_sc_query_state(captured("win_sc_query_missing.txt")) is None


def test_windows_nslookup_names_the_server_that_answered() -> None:
    ok = run_probe("dns_lookup", {"name": "fs01.corp.example"},
                   Windows({"nslookup": captured("win_nslookup.txt")}))
    assert ok.status is ProbeStatus.OK
    assert ok.summary == ("fs01.corp.example is 10.1.2.3 (answered by dc01.corp.example "
                          "(10.1.0.10))")
    bad = run_probe("dns_lookup", {"name": "fs09.corp.example"},
                    Windows({"nslookup": captured("win_nslookup_fail.txt")}))
    assert bad.status is ProbeStatus.FAIL and "Non-existent domain" in bad.summary


def test_windows_probes_through_captured_output() -> None:
    system = Windows({
        "wmic": captured("win_wmic_domain_workgroup.txt"),
        "wevtutil": event(4292, "2008-10-03T09:14:22Z", {}, channel="System") * 2,
        "sc": captured("win_sc_query_running.txt"),
    })
    member = run_probe("domain_member", {}, system)
    assert member.status is ProbeStatus.FAIL and "WORKGROUP" in member.summary
    block = run_probe("event_4292", {}, system)
    assert block.status is ProbeStatus.OK and block.data["count"] == 2
    rras = run_probe("service_running", {"service": "RemoteAccess"}, system)
    assert rras.status is ProbeStatus.OK and "running" in rras.summary


@pytest.mark.parametrize("name", ["domain_member", "ipsec_policy_version", "event_547",
                                  "event_4292"])
def test_windows_only_facts_elsewhere_say_so(name: str) -> None:
    r = run_probe(name, {}, System(platform="linux"))
    assert r.status is ProbeStatus.UNAVAILABLE
    assert r.summary.startswith("not available on this platform")


# -- many at once --------------------------------------------------------------------------

def test_run_probes_keeps_order_and_reports_each(black_hole: int, listening: int) -> None:
    seen: list[int] = []
    requests = [("tcp_port", {"host": "127.0.0.1", "port": str(black_hole)})] * 4 + [
        ("tcp_port", {"host": "127.0.0.1", "port": str(listening)})]
    results = run_probes(requests, timeout=0.5, on_result=lambda i, r: seen.append(i))
    assert [r.status for r in results] == [ProbeStatus.FAIL] * 4 + [ProbeStatus.OK]
    assert sorted(seen) == [0, 1, 2, 3, 4]


def test_every_probe_is_declared_sensibly() -> None:
    for name, spec in PROBES.items():
        assert spec.name == name and spec.description and spec.func
        assert set(spec.platforms) <= {"linux", "win32", "darwin"}
