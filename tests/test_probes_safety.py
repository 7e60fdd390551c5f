"""Arguments are refused before anything runs, and run_probe never raises."""

from __future__ import annotations

import string
import time
from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wizard.checks import (
    PROBES,
    ProbeArgumentError,
    ProbeResult,
    ProbeStatus,
    RunOutput,
    System,
    run_probe,
    validate_host,
    validate_port,
    validate_service,
)
from wizard.checks.base import ProbeSpec

from .helpers.probes import Untouchable

HOST_PROBES = [(name, spec.params[0]) for name, spec in PROBES.items()
               if spec.params and spec.params[0] in ("host", "address", "name")]


@pytest.mark.parametrize("value", ["-f", "--help", "x; reboot", "$(reboot)", "a b",
                                   "fs01\n-c 5", "`id`", "fs01|nc", "..", "-", ""])
@pytest.mark.parametrize(("probe", "param"), HOST_PROBES)
def test_bad_targets_never_reach_the_system(probe: str, param: str, value: str) -> None:
    system = Untouchable()
    args = {p: "445" if p == "port" else value for p in PROBES[probe].params}
    r = run_probe(probe, args, system, timeout=0.5)
    assert r.status is ProbeStatus.ERROR and r.summary.startswith("refused: ")
    assert "\n" not in r.summary
    assert system.touched == []


def test_option_like_target_message_is_clear() -> None:
    r = run_probe("ping", {"host": "-f"}, Untouchable())
    assert r.summary == "refused: '-f' looks like a command option, not a host name or " \
                        "IP address"
    r = run_probe("ping", {"host": "x; reboot"}, Untouchable())
    assert r.summary == "refused: 'x; reboot' is not a valid host name or IP address"


@pytest.mark.parametrize(("value", "expected"), [
    ("FS01.Corp.Example", "fs01.corp.example"), (" 10.1.2.3 ", "10.1.2.3"),
    ("fs01.corp.example.", "fs01.corp.example."), ("WS_ANN", "ws_ann"),
    ("2001:DB8::1", "2001:db8::1"), ("fe80::1%eth0", "fe80::1%eth0"),
    ("::ffff:10.1.2.3", "::ffff:10.1.2.3"), ("3com-router", "3com-router"),
])
def test_hosts_are_normalized(value: str, expected: str) -> None:
    assert validate_host(value) == expected


@pytest.mark.parametrize(("value", "why"), [
    ("127.1", "plain IP address"), ("0x7f.1", "plain IP address"),
    ("010.1.2.3", "plain IP address"), ("fs01.123", "plain IP address"),
    ("fe80::1%;x", "invalid IPv6 zone"), ("a..b", "not a valid"), ("-fs01", "option"),
    ("fs-.example", "not a valid"), ("x" * 64 + ".example", "not a valid"),
    ("fs01.exämple", "not a valid"), ("a" * 250 + ".com", "not a valid"),
])
def test_ambiguous_or_malformed_hosts_are_refused(value: str, why: str) -> None:
    with pytest.raises(ProbeArgumentError, match=why):
        validate_host(value)


SAFE = set(string.ascii_lowercase + string.digits + "._-:%")


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_whatever_passes_validation_is_one_safe_argument(text: str) -> None:
    try:
        value = validate_host(text)
    except ProbeArgumentError as exc:
        assert "\n" not in str(exc)
        return
    assert value and not value.startswith("-") and set(value) <= SAFE
    assert validate_host(value) == value


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet=string.ascii_letters + string.digits + "-.;$ _\n", max_size=20))
def test_run_probe_never_raises_and_never_passes_an_option(text: str) -> None:
    argvs: list[tuple[str, ...]] = []

    class Recording(System):
        def which(self, cmd: str) -> str | None:
            return "/bin/ping"

        def run(self, argv: Sequence[str], timeout: float) -> RunOutput:
            argvs.append(tuple(argv))
            return RunOutput(tuple(argv), 1, "", "")

    r = run_probe("ping", {"host": text}, Recording(platform="linux"), timeout=0.2)
    assert isinstance(r, ProbeResult)
    for argv in argvs:
        assert argv[-2:] == ("--", validate_host(text))  # after the end of options


@pytest.mark.parametrize("value", ["0", "65536", "-1", "1e3", "٣", "", "80 81", "0x50"])
def test_bad_ports(value: str) -> None:
    with pytest.raises(ProbeArgumentError):
        validate_port(value)
    r = run_probe("tcp_port", {"host": "127.0.0.1", "port": value}, Untouchable())
    assert r.status is ProbeStatus.ERROR and r.summary.startswith("refused: ")


def test_service_names() -> None:
    assert validate_service("strongswan-starter.service") == "strongswan-starter.service"
    assert validate_service("openvpn@corp") == "openvpn@corp"
    for bad in ("-x", "a b", "x;reboot", "../etc", ""):
        with pytest.raises(ProbeArgumentError):
            validate_service(bad)
        assert run_probe("service_running", {"service": bad},
                         Untouchable()).status is ProbeStatus.ERROR


# -- run_probe's own guarantees ------------------------------------------------------------

def test_unknown_probe_gets_a_suggestion() -> None:
    r = run_probe("pnig", {"host": "x"})
    assert r.status is ProbeStatus.ERROR and r.summary == "unknown check 'pnig' (did you " \
                                                          "mean 'ping'?)"


def test_missing_and_extra_arguments() -> None:
    assert run_probe("tcp_port", {"host": "a"}).summary == \
        "check 'tcp_port' takes ['host', 'port'], got ['host']"
    assert run_probe("loopback", {"host": "a"}).status is ProbeStatus.ERROR


def test_timeout_must_be_positive() -> None:
    r = run_probe("loopback", {}, Untouchable(), timeout=0)
    assert r.status is ProbeStatus.ERROR and "timeout must be positive" in r.summary


@pytest.mark.parametrize("name", [n for n, s in PROBES.items() if s.platforms == ("win32",)])
def test_windows_only_probes_elsewhere(name: str) -> None:
    system = Untouchable()
    r = run_probe(name, {}, system)
    assert r.status is ProbeStatus.UNAVAILABLE
    assert r.summary == "not available on this platform: ask the caller"
    assert system.touched == []


def test_a_probe_that_hangs_is_given_up_on() -> None:
    class Hangs(System):
        def connect(self, host: str, port: int, timeout: float) -> tuple[str, str]:
            time.sleep(30)
            return "open", ""

    start = time.monotonic()
    r = run_probe("tcp_port", {"host": "127.0.0.1", "port": "1"}, Hangs(), timeout=0.1)
    assert r.status is ProbeStatus.TIMEOUT and "did not finish within" in r.summary
    assert time.monotonic() - start < 3


def test_a_lookup_timeout_inside_a_probe_is_a_timeout_result() -> None:
    class SlowReverse(System):
        def reverse(self, address: str, timeout: float) -> str | None:
            raise TimeoutError("no answer within 0.1 s")

    r = run_probe("reverse_lookup", {"address": "127.0.0.1"}, SlowReverse(), timeout=0.1)
    assert r.status is ProbeStatus.TIMEOUT and "no answer" in r.summary


def test_registry_is_consistent() -> None:
    for name, spec in PROBES.items():
        assert isinstance(spec, ProbeSpec) and spec.name == name
        assert spec.description.startswith("ok: ") and spec.default_timeout > 0
        assert set(spec.platforms) <= {"linux", "win32", "darwin"}
    required = {"ping", "reverse_lookup", "dns_lookup", "dns_servers", "gateway", "loopback",
                "own_address", "tcp_port", "smb", "dc_ports", "test_servers",
                "service_running", "autoconfig_address", "ipsec_policy_version",
                "domain_member", "event_547", "event_4292"}
    assert required <= set(PROBES)


def test_results_round_trip_through_a_dict() -> None:
    r = run_probe("tcp_port", {"host": "nothing.invalid", "port": "445"}, timeout=0.5)
    assert ProbeResult.from_dict(r.to_dict()) == ProbeResult(
        r.probe, r.status, r.summary, r.evidence, round(r.duration, 3), r.data)
