"""The one layer through which probes reach the operating system.

Tests pass a subclass (or parameters) to point it at loopback servers, a resolver file
of their own, or captured Windows output; the real one runs real commands. Nothing here
uses a shell, and everything has a timeout.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar, cast

T = TypeVar("T")

#: Names under these suffixes never resolve (RFC 6761): refuse them without a query.
RESERVED_SUFFIXES = (".invalid",)


@dataclass(frozen=True)
class RunOutput:
    argv: tuple[str, ...]
    returncode: int | None
    stdout: str
    stderr: str
    timed_out: bool = False
    not_found: bool = False
    duration: float = 0.0

    @property
    def text(self) -> str:
        """stdout, then stderr if there is any, for evidence."""
        return "\n".join(part.strip("\n") for part in (self.stdout, self.stderr)
                         if part.strip()).strip()


def is_reserved_name(name: str) -> bool:
    """True for ``invalid`` and names under it (RFC 6761: they never resolve)."""
    bare = name.lower().rstrip(".")
    return bare == "invalid" or bare.endswith(RESERVED_SUFFIXES)


class ResolveError(Exception):
    """A name did not resolve (the message says why)."""


def socket_state(exc: OSError) -> str:
    """'refused' (something answered: the host is up), 'timeout' (nothing answered) or
    'unreachable' (no route, network down, ...)."""
    if isinstance(exc, ConnectionRefusedError):
        return "refused"
    if isinstance(exc, TimeoutError):
        return "timeout"
    return "unreachable"


class DeadlineExceeded(TimeoutError):
    """:func:`with_deadline` gave up waiting."""


def with_deadline(func: Callable[[], T], timeout: float) -> T:
    """Run a blocking call (getaddrinfo and friends) with a deadline.

    The call runs in a daemon thread: if it hangs past the deadline it is left behind
    (it ends with the resolver's own timeout) and can never hold up the program's exit.
    """
    box: list[tuple[bool, Any]] = []
    done = threading.Event()

    def target() -> None:
        try:
            box.append((True, func()))
        except BaseException as exc:  # handed to the caller below
            box.append((False, exc))
        finally:
            done.set()

    threading.Thread(target=target, name="probe-deadline", daemon=True).start()
    if not done.wait(max(0.0, timeout)):
        raise DeadlineExceeded(f"no answer within {timeout:g} s")
    ok, value = box[0]
    if ok:
        return cast(T, value)
    raise value


def _decode(data: bytes | str | None, platform: str) -> str:
    if data is None:
        return ""
    if isinstance(data, str):
        return data
    # Windows console programs write the OEM code page; the "oem" codec is Windows-only
    for encoding in (("oem", "mbcs") if platform == "win32" else ()) + ("utf-8",):
        try:
            return data.decode(encoding, errors="replace").replace("\r\n", "\n")
        except LookupError:
            continue
    return data.decode("latin-1")  # pragma: no cover - utf-8 always exists


_DNS_RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP",
               5: "REFUSED"}


class TestTarget(Protocol):
    """A help-desk test computer, as the checks see it."""

    @property
    def name(self) -> str: ...

    @property
    def address(self) -> str: ...

    @property
    def tested_port(self) -> int: ...


class CheckSettings(Protocol):
    """What the checks take from the organization's settings (the organization file's
    model has these; the checks never import it)."""

    @property
    def test_servers(self) -> Sequence[TestTarget]: ...

    def probe_timeout(self, probe: str) -> float: ...


class BuiltinSettings:
    """No organization file: no test servers, and each check's built-in timeout."""

    def __init__(self) -> None:
        self.test_servers: list[TestTarget] = []

    def probe_timeout(self, probe: str) -> float:
        from wizard.checks import PROBES

        spec = PROBES.get(probe)
        return spec.default_timeout if spec else 3.0


class System:
    """Real operating-system access. Every method has a timeout; none uses a shell."""

    def __init__(self, org: CheckSettings | None = None, *, platform: str | None = None,
                 resolv_conf: Path = Path("/etc/resolv.conf"), dns_port: int = 53) -> None:
        self.org: CheckSettings = org or BuiltinSettings()
        self.platform = platform or sys.platform
        self.resolv_conf = resolv_conf
        self.dns_port = dns_port
        """UDP port of DNS servers (53; tests point it at a loopback server)."""

    # -- processes -----------------------------------------------------------------------
    def which(self, cmd: str) -> str | None:
        return shutil.which(cmd)

    def run(self, argv: Sequence[str], timeout: float) -> RunOutput:
        """Run a program (never through a shell) and capture its output.

        At the timeout the program and everything it started are killed.
        """
        args = tuple(str(a) for a in argv)
        if not args:
            raise ValueError("no command given")
        start = time.monotonic()
        extra: dict[str, Any] = {}
        if os.name == "posix":
            extra["start_new_session"] = True  # its own process group, killed as a whole
        else:  # pragma: no cover - Windows
            extra["creationflags"] = getattr(subprocess, "CREATE_NO_WINDOW", 0)
        try:
            proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, env={**os.environ, "LC_ALL": "C"},
                                    **extra)
        except FileNotFoundError:
            return RunOutput(args, None, "", f"{args[0]}: command not found", not_found=True,
                             duration=time.monotonic() - start)
        except OSError as exc:
            return RunOutput(args, None, "", f"{args[0]}: {exc.strerror or exc}",
                             duration=time.monotonic() - start)
        try:
            out, err = proc.communicate(timeout=max(0.01, timeout))
        except subprocess.TimeoutExpired:
            self._kill(proc)
            try:
                out, _ = proc.communicate(timeout=1)
            except subprocess.TimeoutExpired:  # something outside the group holds the pipes
                out = b""
                for stream in (proc.stdout, proc.stderr):
                    if stream is not None:
                        stream.close()
            return RunOutput(args, None, _decode(out, self.platform),
                             f"no result within {timeout:g} s (stopped)", timed_out=True,
                             duration=time.monotonic() - start)
        return RunOutput(args, proc.returncode, _decode(out, self.platform),
                         _decode(err, self.platform), duration=time.monotonic() - start)

    @staticmethod
    def _kill(proc: subprocess.Popen[bytes]) -> None:
        if os.name == "posix":
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
        proc.kill()

    # -- names ---------------------------------------------------------------------------
    def resolve(self, name: str, timeout: float) -> list[str]:
        """Addresses for a name (an address is returned as is); ResolveError if none."""
        try:
            return [str(ipaddress.ip_address(name))]
        except ValueError:
            pass
        if is_reserved_name(name):
            raise ResolveError(f"{name} is a reserved name that never resolves")

        def lookup() -> list[str]:
            infos = socket.getaddrinfo(name, None, type=socket.SOCK_STREAM)
            return list(dict.fromkeys(str(info[4][0]) for info in infos))

        try:
            return with_deadline(lookup, timeout)
        except socket.gaierror as exc:
            raise ResolveError(f"{name} does not resolve ({exc.strerror})") from None
        except TimeoutError as exc:
            raise ResolveError(f"looking up {name} took too long ({exc})") from None

    def reverse(self, address: str, timeout: float) -> str | None:
        """The name of an address (PTR record or hosts file), None if it has none.
        TimeoutError past the deadline."""
        def lookup() -> str | None:
            try:
                return socket.gethostbyaddr(address)[0]
            except (socket.herror, socket.gaierror):
                return None

        return with_deadline(lookup, timeout)

    def powershell(self, script: str, timeout: float) -> RunOutput:
        """Windows PowerShell running a fixed script (no profile, no prompts)."""
        return self.run(["powershell", "-NoProfile", "-NonInteractive", "-Command", script],
                        timeout)

    def windows_dns_servers(self, timeout: float = 10.0) -> tuple[list[str], str]:
        """(servers, what was read): Get-DnsClientServerAddress as JSON (Windows 8 /
        Server 2012 and later, the same in every display language), else the English
        labels of `ipconfig /all` (Windows XP / Server 2003, Vista, 7)."""
        from wizard.checks.windows import (
            DNS_SERVERS_SCRIPT,
            ipconfig_source,
            parse_dns_client_servers,
            parse_ipconfig_dns,
        )

        deadline = time.monotonic() + timeout
        out = self.powershell(DNS_SERVERS_SCRIPT, timeout)
        servers = parse_dns_client_servers(out.stdout) if out.returncode == 0 else None
        if servers is not None:
            return servers, "Get-DnsClientServerAddress"
        left = max(0.5, deadline - time.monotonic())
        text = self.run(["ipconfig", "/all"], left).stdout
        return parse_ipconfig_dns(text), ipconfig_source(text)

    def dns_servers(self, timeout: float = 10.0) -> list[str]:
        """The DNS servers this computer asks (resolv.conf; on Windows see
        :meth:`windows_dns_servers`)."""
        if self.platform == "win32":
            return self.windows_dns_servers(timeout)[0]
        from wizard.checks.linux import parse_resolv_conf

        return parse_resolv_conf(self.read_text(self.resolv_conf) or "")

    def dns_query(self, server: str, timeout: float) -> tuple[str, str]:
        """Ask a DNS server (UDP, port ``dns_port``) for the root name servers.

        ('answered'|'refused'|'timeout'|'unreachable', detail). Any well-formed answer, even
        REFUSED or SERVFAIL, proves a DNS server is there and answering.
        """
        qid = int.from_bytes(os.urandom(2), "big")
        query = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0) + b"\0" + struct.pack(
            ">HH", 2, 1)  # QNAME ".", QTYPE NS, QCLASS IN
        family = socket.AF_INET6 if ":" in server else socket.AF_INET
        deadline = time.monotonic() + timeout
        where = f"{server} (udp/{self.dns_port})"
        try:
            with socket.socket(family, socket.SOCK_DGRAM) as sock:
                sock.connect((server, self.dns_port))
                sock.send(query)
                while True:
                    sock.settimeout(max(0.01, deadline - time.monotonic()))
                    reply = sock.recv(4096)
                    if len(reply) >= 12 and struct.unpack(">H", reply[:2])[0] == qid \
                            and reply[2] & 0x80:
                        rcode = _DNS_RCODES.get(reply[3] & 0x0F, str(reply[3] & 0x0F))
                        return "answered", f"{where} answered a DNS query ({rcode})"
        except OSError as exc:
            state = socket_state(exc)
            return state, f"{where}: " + {
                "refused": "no DNS server there (port closed)",
                "timeout": f"no DNS answer within {timeout:g} s",
            }.get(state, str(exc.strerror or exc))

    # -- sockets -------------------------------------------------------------------------
    def connect(self, host: str, port: int, timeout: float) -> tuple[str, str]:
        """TCP connect: ('open'|'refused'|'timeout'|'unreachable'|'error', detail).

        Every address of a name is tried (within the one timeout) until one accepts;
        a refusal still proves the host is up.
        """
        deadline = time.monotonic() + timeout
        try:
            addresses = self.resolve(host, timeout)
        except ResolveError as exc:
            return "error", str(exc)
        outcomes: list[tuple[str, str]] = []
        for address in addresses[:4]:
            remaining = deadline - time.monotonic()
            if remaining <= 0.01:
                break
            outcome = self._connect_one(address, port, remaining, timeout)
            if outcome[0] == "open":
                return outcome
            outcomes.append(outcome)
        if not outcomes:
            return "timeout", f"{host}:{port} did not answer within {timeout:g} s"
        rank = ("refused", "timeout", "unreachable")
        return min(outcomes, key=lambda o: rank.index(o[0]))

    @staticmethod
    def _connect_one(address: str, port: int, remaining: float,
                     timeout: float) -> tuple[str, str]:
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.settimeout(remaining)
            try:
                sock.connect((address, port))
            except OSError as exc:
                state = socket_state(exc)
                return state, {
                    "refused": f"{address}:{port} refused the connection",
                    "timeout": f"{address}:{port} did not answer within {timeout:g} s",
                }.get(state, f"{address}:{port}: {exc.strerror or exc}")
        return "open", f"{address}:{port} accepted a connection"

    # -- addresses and routes ------------------------------------------------------------
    def net_if_addrs(self) -> dict[str, list[str]]:
        """Interface name -> its IPv4 and IPv6 addresses (zone ids removed)."""
        import psutil  # imported when first needed: keeps start-up quick

        out: dict[str, list[str]] = {}
        for nic, addrs in psutil.net_if_addrs().items():
            out[nic] = [a.address.split("%", 1)[0] for a in addrs
                        if a.family in (socket.AF_INET, socket.AF_INET6)]
        return out

    def default_gateway(self, timeout: float = 10.0) -> str | None:
        """The IPv4 default gateway, None if there is none: `route print` on Windows,
        `route -n get default` on macOS, /proc/net/route or `ip route` on Linux.
        NotImplementedError when this computer offers no way to tell."""
        if self.platform == "win32":
            from wizard.checks.windows import parse_route_print_gateway

            out = self.run(["route", "print", "0.0.0.0"], timeout)  # noqa: S104 - a route
            return parse_route_print_gateway(out.stdout)
        from wizard.checks.linux import (
            parse_ip_route_default,
            parse_proc_net_route,
            parse_route_get,
        )

        if self.platform == "darwin":
            return parse_route_get(self.run(["route", "-n", "get", "default"], timeout).stdout)
        table = self.read_text(Path("/proc/net/route"))
        if table is not None:
            return parse_proc_net_route(table)
        if self.which("ip") is None:
            raise NotImplementedError("no /proc/net/route and no ip command")
        return parse_ip_route_default(self.run(["ip", "-4", "route", "show", "default"],
                                               timeout).stdout)

    # -- services ------------------------------------------------------------------------
    def windows_service_status(self, name: str) -> str | None:
        """A Windows service's state from psutil ('running', 'stopped', ...); None if no
        such service. NotImplementedError where psutil has no service access (not
        Windows); other psutil errors (access denied) propagate."""
        import psutil

        get = getattr(psutil, "win_service_get", None)
        if get is None:
            raise NotImplementedError("no Windows service access on this platform")
        try:
            return str(get(name).status())
        except psutil.NoSuchProcess:
            return None

    # -- files ---------------------------------------------------------------------------
    def read_text(self, path: str | Path) -> str | None:
        """A text file's content, None if it cannot be read."""
        try:
            return Path(path).read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None
