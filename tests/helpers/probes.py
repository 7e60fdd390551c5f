"""Helpers for the probe tests: loopback servers (listening, closed, black-holed, DNS)
and Systems that stand in for what cannot exist here (Windows, a missing program).

Everything listens on 127.0.0.1 only; nothing here sends a packet off this machine.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import struct
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

from wizard.checks import RunOutput, System
from wizard.config.organization import OrgConfig

CAPTURED = Path(__file__).resolve().parents[1] / "data" / "captured"
HAVE_PING = shutil.which("ping") is not None
LOOPBACK = "127.0.0.1"


def _hosts_file_names_loopback() -> bool:
    try:
        lines = Path("/etc/hosts").read_text(encoding="utf-8").splitlines()
    except OSError:
        return False
    return any(line.split()[:1] == [LOOPBACK] and "localhost" in line.split()[1:]
               for line in lines)


#: "localhost" and the name of 127.0.0.1 come from the hosts file here, so looking them
#: up asks no DNS server (which could be off this machine).
HOSTS_FILE_LOCALHOST = _hosts_file_names_loopback()


def captured(name: str) -> str:
    return (CAPTURED / name).read_text(encoding="utf-8")


@contextlib.contextmanager
def listening_port() -> Iterator[int]:
    """A loopback port that accepts connections."""
    with socket.socket() as srv:
        srv.bind((LOOPBACK, 0))
        srv.listen(16)
        yield srv.getsockname()[1]


def closed_port() -> int:
    """A loopback port nothing listens on (connections are refused)."""
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def black_hole(count: int = 1) -> Iterator[list[int]]:
    """Loopback ports whose accept queue is full: a new connection gets no answer at all,
    as from a host that drops packets."""
    keep: list[socket.socket] = []
    ports = []
    try:
        for _ in range(count):
            srv = socket.socket()
            keep.append(srv)
            srv.bind((LOOPBACK, 0))
            srv.listen(0)
            port = srv.getsockname()[1]
            # fill the queue: backlog 0 holds one established connection; later SYNs
            # are dropped, so the next client waits in vain, as for a silent host
            filler = socket.socket()
            keep.append(filler)
            filler.settimeout(1)
            filler.connect((LOOPBACK, port))
            extra = socket.socket()
            keep.append(extra)
            extra.setblocking(False)
            extra.connect_ex((LOOPBACK, port))
            ports.append(port)
        yield ports
    finally:
        for s in keep:
            s.close()


@contextlib.contextmanager
def dns_server(rcode: int | None = 0) -> Iterator[int]:
    """A DNS server on a loopback UDP port: answers every query with ``rcode`` (0
    NOERROR, 5 REFUSED, ...), or never answers when rcode is None."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((LOOPBACK, 0))
    sock.settimeout(0.1)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                query, peer = sock.recvfrom(512)
            except (TimeoutError, OSError):
                continue
            if rcode is None or len(query) < 12:
                continue
            qid, flags = struct.unpack(">HH", query[:4])
            header = struct.pack(">HHHHHH", qid, 0x8000 | (flags & 0x0100) | 0x0080 | rcode,
                                 1, 0, 0, 0)
            sock.sendto(header + query[12:], peer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield sock.getsockname()[1]
    finally:
        stop.set()
        thread.join(2)
        sock.close()


Output = str | RunOutput | Callable[[Sequence[str]], RunOutput]


class FakeWindows(System):
    """A Windows computer seen through captured command output.

    ``outputs`` maps a program name (argv[0]), or a tuple of leading arguments, to its
    stdout text, a full RunOutput, or a function of argv. A program not listed is
    "not found", like on a computer without it.
    """

    def __init__(self, outputs: Mapping[str | tuple[str, ...], Output],
                 services: Mapping[str, str | None] | None = None,
                 org: OrgConfig | None = None) -> None:
        super().__init__(org, platform="win32")
        self.outputs = dict(outputs)
        self.services = services
        self.argvs: list[tuple[str, ...]] = []

    def which(self, cmd: str) -> str | None:
        return cmd

    def run(self, argv: Sequence[str], timeout: float) -> RunOutput:
        args = tuple(argv)
        self.argvs.append(args)
        keys = sorted((k for k in self.outputs if isinstance(k, tuple)
                       and args[:len(k)] == k), key=len, reverse=True)
        value = self.outputs.get(keys[0]) if keys else self.outputs.get(args[0])
        if value is None:
            return RunOutput(args, None, "", f"{args[0]}: command not found", not_found=True)
        if callable(value):
            return value(args)
        if isinstance(value, RunOutput):
            return value
        return RunOutput(args, 0, value, "")

    def windows_service_status(self, name: str) -> str | None:
        if self.services is None:
            raise NotImplementedError("no psutil service access")
        if name not in self.services:
            return None
        return self.services[name]


def failed_run(stderr: str, returncode: int = 1) -> RunOutput:
    return RunOutput(("x",), returncode, "", stderr)


class NoPingProgram(System):
    """This computer, as if it had no ping program."""

    def which(self, cmd: str) -> str | None:
        return None if cmd == "ping" else super().which(cmd)


class PingBlocked(System):
    """This computer, as if ICMP were filtered: ping runs but gets no reply (the output
    of a real unanswered ping)."""

    def which(self, cmd: str) -> str | None:
        return "/usr/bin/ping" if cmd == "ping" else super().which(cmd)

    def run(self, argv: Sequence[str], timeout: float) -> RunOutput:
        if Path(argv[0]).name == "ping":
            return RunOutput(tuple(argv), 1, captured("linux_ping_no_reply.txt"), "")
        return super().run(argv, timeout)


class Untouchable(System):
    """Fails the test if a probe reaches the operating system at all."""

    def __init__(self) -> None:
        super().__init__(platform="linux")
        self.touched: list[str] = []

    def run(self, argv: Sequence[str], timeout: float) -> RunOutput:
        self.touched.append(f"run {list(argv)}")
        return RunOutput(tuple(argv), 1, "", "")

    def connect(self, host: str, port: int, timeout: float) -> tuple[str, str]:
        self.touched.append(f"connect {host}")
        return "refused", ""

    def resolve(self, name: str, timeout: float) -> list[str]:
        self.touched.append(f"resolve {name}")
        return []

    def reverse(self, address: str, timeout: float) -> str | None:
        self.touched.append(f"reverse {address}")
        return None
