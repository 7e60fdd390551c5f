"""The System layer on this machine: real processes, real loopback sockets."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from wizard.checks import System
from wizard.checks.system import DeadlineExceeded, ResolveError, with_deadline

from .helpers.probes import (
    HOSTS_FILE_LOCALHOST,
    LOOPBACK,
    black_hole,
    closed_port,
    dns_server,
    listening_port,
)

PY = sys.executable


# -- processes ---------------------------------------------------------------------------

def test_run_captures_output_and_exit_status() -> None:
    out = System().run([PY, "-c", "import sys; print('out'); print('err', file=sys.stderr);"
                        " sys.exit(3)"], timeout=10)
    assert (out.returncode, out.stdout.strip(), out.stderr.strip()) == (3, "out", "err")
    assert out.text == "out\nerr" and not out.timed_out and not out.not_found


def test_run_passes_arguments_without_a_shell(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    out = System().run([PY, "-c", "import sys; print(sys.argv[1:])",
                        f"x; touch {marker}", "$(id)", "-f"], timeout=10)
    assert out.stdout.strip() == repr([f"x; touch {marker}", "$(id)", "-f"])
    assert not marker.exists()


def test_run_gives_the_program_no_stdin_and_the_c_locale() -> None:
    out = System().run([PY, "-c", "import os, sys; print(repr(sys.stdin.read()), "
                        "os.environ['LC_ALL'])"], timeout=10)
    assert out.stdout.strip() == "'' C"


@pytest.mark.skipif(os.name != "posix", reason="process groups")
def test_timeout_kills_the_program_and_what_it_started() -> None:
    """A child that keeps the output pipe open (a background grandchild) must not keep
    run() waiting past the timeout."""
    script = ("import subprocess, sys, time; "
              "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(30)']); "
              "print('started', flush=True); time.sleep(30)")
    start = time.monotonic()
    out = System().run([PY, "-c", script], timeout=1.0)
    assert time.monotonic() - start < 4
    assert out.timed_out and out.returncode is None
    assert "started" in out.stdout and "no result within 1 s" in out.stderr


def test_a_missing_program_is_reported_not_raised() -> None:
    out = System().run(["no-such-program-here", "-x"], timeout=1)
    assert out.not_found and out.returncode is None and "command not found" in out.stderr


def test_run_refuses_an_empty_command() -> None:
    with pytest.raises(ValueError, match="no command"):
        System().run([], timeout=1)


# -- deadlines ---------------------------------------------------------------------------

def test_with_deadline_gives_up_on_a_hung_call() -> None:
    start = time.monotonic()
    with pytest.raises(DeadlineExceeded):
        with_deadline(lambda: time.sleep(5), 0.2)
    assert time.monotonic() - start < 1


def test_with_deadline_returns_and_raises_like_the_call() -> None:
    assert with_deadline(lambda: 42, 1) == 42
    empty: dict[str, int] = {}
    with pytest.raises(KeyError):
        with_deadline(lambda: empty["x"], 1)


# -- names -------------------------------------------------------------------------------

def test_resolve_addresses_and_reserved_names_without_asking() -> None:
    system = System()
    assert system.resolve("10.1.2.3", 1) == ["10.1.2.3"]  # an address is not looked up
    with pytest.raises(ResolveError, match="reserved name that never resolves"):
        system.resolve("fs09.corp.invalid", 2)


@pytest.mark.skipif(not HOSTS_FILE_LOCALHOST, reason="localhost is not in /etc/hosts")
def test_names_from_the_hosts_file_both_ways() -> None:
    assert LOOPBACK in System().resolve("localhost", 2)
    assert System().reverse(LOOPBACK, 2)


def test_dns_servers_from_a_resolver_file(tmp_path: Path) -> None:
    conf = tmp_path / "resolv.conf"
    conf.write_text("# comment\nnameserver 127.0.0.53\nsearch corp.example\n")
    assert System(resolv_conf=conf).dns_servers() == ["127.0.0.53"]
    assert System(resolv_conf=tmp_path / "missing").dns_servers() == []


@pytest.mark.parametrize(("rcode", "state", "detail"), [
    (0, "answered", "(NOERROR)"), (5, "answered", "(REFUSED)"),
    (None, "timeout", "no DNS answer within 0.5 s"),
])
def test_dns_query_to_a_loopback_server(rcode: int | None, state: str, detail: str) -> None:
    with dns_server(rcode) as port:
        got = System(dns_port=port).dns_query(LOOPBACK, 0.5)
    assert got[0] == state and detail in got[1]


def test_dns_query_where_no_server_listens() -> None:
    state, detail = System(dns_port=closed_port()).dns_query(LOOPBACK, 1)
    assert state == "refused" and "no DNS server there" in detail


# -- sockets -------------------------------------------------------------------------------

def test_connect_open_refused_and_black_holed() -> None:
    system = System()
    with listening_port() as port:
        assert system.connect(LOOPBACK, port, 1)[0] == "open"
    assert system.connect(LOOPBACK, closed_port(), 1)[0] == "refused"
    with black_hole() as (port,):
        start = time.monotonic()
        state, detail = system.connect(LOOPBACK, port, 0.4)
        assert state == "timeout" and "did not answer within 0.4 s" in detail
        assert 0.3 < time.monotonic() - start < 1.5
    assert system.connect("nothing.invalid", 445, 1)[0] == "error"


def test_connect_tries_every_address_of_a_name() -> None:
    class TwoAddresses(System):
        def resolve(self, name: str, timeout: float) -> list[str]:
            return ["127.0.0.2", LOOPBACK]  # the first refuses (nothing bound there)

    with listening_port() as port:
        state, detail = TwoAddresses().connect("fs01", port, 1)
    assert state == "open" and detail.startswith(f"{LOOPBACK}:{port}")


def test_addresses_of_this_computer_include_loopback() -> None:
    addrs = System().net_if_addrs()
    assert any(LOOPBACK in a for a in addrs.values())
    assert all("%" not in a for a_list in addrs.values() for a in a_list)


def test_read_text_takes_str_or_path(tmp_path: Path) -> None:
    f = tmp_path / "x.txt"
    f.write_text("hello")
    assert System().read_text(str(f)) == System().read_text(f) == "hello"
    assert System().read_text(tmp_path / "none") is None


def test_platform_and_org_defaults() -> None:
    system = System()
    assert system.platform == sys.platform and system.org.test_servers == []
    assert System(platform="win32").platform == "win32"
