"""Arguments are checked before any probe uses them.

A value that passes :func:`validate_host` is an IPv4/IPv6 literal or an RFC 1123 host
name / FQDN (underscores allowed for NetBIOS-style names). It cannot start with ``-``,
contain white space, shell characters or a newline, so it can never become an option
or a second argument of a command, whatever the command does with it.
"""

from __future__ import annotations

import ipaddress
import re


class ProbeArgumentError(ValueError):
    """An argument was refused before anything ran (bad host name, option-like value)."""


_LABEL = r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?"
_HOSTNAME = re.compile(rf"{_LABEL}(?:\.{_LABEL})*\.?")
_SCOPE = re.compile(r"[A-Za-z0-9_.]{1,32}")
_SERVICE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.@-]{0,254}")
#: What inet_aton (and so ping) reads as an IPv4 address: 1-4 decimal, octal or hex parts.
_NUMERIC = re.compile(r"(?:0x[0-9a-f]*|\d+)(?:\.(?:0x[0-9a-f]*|\d+)){0,3}", re.IGNORECASE)


def is_address(text: str) -> bool:
    """True for an IPv4 or IPv6 literal."""
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _option_like(text: str) -> None:
    if text.startswith("-"):
        raise ProbeArgumentError(
            f"{text!r} looks like a command option, not a host name or IP address")


def validate_host(value: str) -> str:
    """Return a host name or IP address fit to pass to a command, or raise
    :class:`ProbeArgumentError` with a one-line reason.

    Addresses come back in their usual written form, names in lower case.
    """
    text = str(value).strip()
    if not text:
        raise ProbeArgumentError("a host name or IP address is required")
    _option_like(text)
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        pass
    else:
        if isinstance(ip, ipaddress.IPv6Address):
            if ip.scope_id is not None and not _SCOPE.fullmatch(ip.scope_id):
                raise ProbeArgumentError(f"{text!r} has an invalid IPv6 zone")
            if ip.ipv4_mapped is not None and ip.scope_id is None:
                return f"::ffff:{ip.ipv4_mapped}"
        return str(ip)
    shown = text if len(text) <= 80 else text[:77] + "..."
    if len(text.rstrip(".")) > 253 or not _HOSTNAME.fullmatch(text):
        raise ProbeArgumentError(f"{shown!r} is not a valid host name or IP address")
    last_label = text.rstrip(".").rsplit(".", 1)[-1]
    if last_label.isdigit() or _NUMERIC.fullmatch(text.rstrip(".")):
        # "127.1", "10.0.0.010" or "0x7f.1": ping would read these as an address
        raise ProbeArgumentError(
            f"{shown!r} is not a valid host name or plain IP address "
            "(write an address as four decimal numbers, e.g. 10.1.2.3)")
    return text.lower()


def validate_port(value: str | int) -> int:
    """A TCP port number 1-65535, or ProbeArgumentError."""
    text = str(value).strip()
    if not text.isdigit() or not text.isascii():
        raise ProbeArgumentError(f"{text!r} is not a port number")
    number = int(text)
    if not 1 <= number <= 65535:
        raise ProbeArgumentError(f"{number} is not a port number (1-65535)")
    return number


def validate_service(value: str) -> str:
    """A service or systemd unit name (letters, digits, ``_ . @ -``), or
    ProbeArgumentError."""
    text = str(value).strip()
    if text.startswith("-"):
        raise ProbeArgumentError(f"{text!r} looks like a command option, not a service name")
    if not _SERVICE.fullmatch(text):
        raise ProbeArgumentError(f"{text!r} is not a service name")
    return text


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def networks(text: str) -> tuple[Network, ...]:
    """Addresses or networks, separated by commas (``127.0.0.1, 10.0.5.0/24``);
    ValueError names the one that is neither."""
    out = []
    for item in text.split(","):
        item = item.strip()
        if item:
            try:
                out.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                raise ValueError(f"{item!r} is not an address or a network") from None
    return tuple(out)


def trusted(address: str, nets: tuple[Network, ...]) -> bool:
    """Whether ``address`` is one of ``nets`` (never for a name or an empty address)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in nets)
