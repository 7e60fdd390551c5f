"""The one layer through which probes reach the operating system.

Tests pass a subclass (or parameters) to point it at loopback servers, a resolver file
of their own, or captured Windows output; the real one runs real commands.
"""

from __future__ import annotations

import concurrent.futures
import ipaddress
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import psutil

if TYPE_CHECKING:
    from ..orgconfig import OrgConfig

T = TypeVar("T")

#: Names under these suffixes never resolve (RFC 6761): refuse them without a query.
RESERVED_SUFFIXES = (".invalid", ".test.invalid")


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
        return (self.stdout + ("\n" + self.stderr if self.stderr.strip() else "")).strip()


class ResolveError(Exception):
    """A name did not resolve (the message says why)."""


def _with_deadline(func: Callable[[], T], timeout: float) -> T:
    """Run a blocking call (getaddrinfo and friends) with a deadline."""
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    try:
        return pool.submit(func).result(timeout=timeout)
    except concurrent.futures.TimeoutError:
        raise TimeoutError(f"no answer within {timeout:g} s") from None
    finally:
        pool.shutdown(wait=False)


class System:
    """Real operating-system access. Every method has a timeout; none uses a shell."""

    def __init__(self, org: OrgConfig | None = None, *, platform: str | None = None,
                 resolv_conf: Path = Path("/etc/resolv.conf")) -> None:
        from ..orgconfig import OrgConfig

        self.org = org or OrgConfig()
        self.platform = platform or sys.platform
        self.resolv_conf = resolv_conf

    # -- processes -----------------------------------------------------------------------
    def which(self, cmd: str) -> str | None:
        return shutil.which(cmd)

    def run(self, argv: Sequence[str], timeout: float) -> RunOutput:
        args = tuple(argv)
        start = time.monotonic()
        try:
            proc = subprocess.run(args, capture_output=True, text=True, errors="replace",
                                  timeout=timeout, stdin=subprocess.DEVNULL, check=False,
                                  env={**os.environ, "LC_ALL": "C"})
        except FileNotFoundError:
            return RunOutput(args, None, "", f"{args[0]}: command not found", not_found=True,
                             duration=time.monotonic() - start)
        except subprocess.TimeoutExpired as exc:
            out = exc.stdout.decode(errors="replace") if isinstance(exc.stdout, bytes) else (
                exc.stdout or "")
            return RunOutput(args, None, out, f"no result within {timeout:g} s",
                             timed_out=True, duration=time.monotonic() - start)
        except OSError as exc:
            return RunOutput(args, None, "", f"{args[0]}: {exc.strerror or exc}",
                             duration=time.monotonic() - start)
        return RunOutput(args, proc.returncode, proc.stdout, proc.stderr,
                         duration=time.monotonic() - start)

    # -- names ---------------------------------------------------------------------------
    def resolve(self, name: str, timeout: float) -> list[str]:
        """Addresses for a name (an address is returned as is)."""
        try:
            return [str(ipaddress.ip_address(name))]
        except ValueError:
            pass
        if name.lower().rstrip(".").endswith(RESERVED_SUFFIXES) or \
                name.lower().rstrip(".") == "invalid":
            raise ResolveError(f"{name} is a reserved name that never resolves")

        def lookup() -> list[str]:
            infos = socket.getaddrinfo(name, None, type=socket.SOCK_STREAM)
            return list(dict.fromkeys(str(info[4][0]) for info in infos))

        try:
            return _with_deadline(lookup, timeout)
        except socket.gaierror as exc:
            raise ResolveError(f"{name} does not resolve ({exc.strerror})") from None
        except TimeoutError as exc:
            raise ResolveError(f"looking up {name} took too long ({exc})") from None

    def reverse(self, address: str, timeout: float) -> str | None:
        def lookup() -> str | None:
            try:
                return socket.gethostbyaddr(address)[0]
            except (socket.herror, socket.gaierror):
                return None

        return _with_deadline(lookup, timeout)

    def dns_servers(self) -> list[str]:
        if self.platform == "win32":  # pragma: no cover - parsed output is tested
            from .windows import parse_ipconfig_dns

            out = self.run(["ipconfig", "/all"], timeout=10)
            return parse_ipconfig_dns(out.stdout)
        text = self.read_text(self.resolv_conf) or ""
        servers = []
        for line in text.splitlines():
            parts = line.split()
            if len(parts) >= 2 and parts[0] == "nameserver":
                servers.append(parts[1].split("%", 1)[0])
        return servers

    # -- sockets -------------------------------------------------------------------------
    def connect(self, host: str, port: int, timeout: float) -> tuple[str, str]:
        """TCP connect: ('open'|'refused'|'timeout'|'unreachable'|'error', detail)."""
        start = time.monotonic()
        try:
            addresses = self.resolve(host, timeout)
        except ResolveError as exc:
            return "error", str(exc)
        remaining = max(0.05, timeout - (time.monotonic() - start))
        address = addresses[0]
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.settimeout(remaining)
            try:
                sock.connect((address, port))
            except ConnectionRefusedError:
                return "refused", f"{address}:{port} refused the connection"
            except TimeoutError:
                return "timeout", f"{address}:{port} did not answer within {timeout:g} s"
            except OSError as exc:
                return "unreachable", f"{address}:{port}: {exc.strerror or exc}"
        return "open", f"{address}:{port} accepted a connection"

    # -- addresses -----------------------------------------------------------------------
    def net_if_addrs(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for nic, addrs in psutil.net_if_addrs().items():
            out[nic] = [a.address.split("%", 1)[0] for a in addrs
                        if a.family in (socket.AF_INET, socket.AF_INET6)]
        return out

    def default_gateway(self) -> str | None:
        if self.platform == "win32":  # pragma: no cover - parsed output is tested
            from .windows import parse_route_print_gateway

            out = self.run(["route", "print", "0.0.0.0"], 10)  # noqa: S104 - a route
            return parse_route_print_gateway(out.stdout)
        from .linux import parse_proc_net_route

        return parse_proc_net_route(self.read_text(Path("/proc/net/route")) or "")

    # -- files ---------------------------------------------------------------------------
    def read_text(self, path: Path) -> str | None:
        try:
            return path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None
