"""Host names and addresses are checked before any probe uses them."""

from __future__ import annotations

import ipaddress
import re

from .base import ProbeArgumentError

_LABEL = r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?"
_HOSTNAME = re.compile(rf"^{_LABEL}(?:\.{_LABEL})*\.?$")


def validate_host(value: str) -> str:
    """Return a host name or IP address fit to pass to a command, or raise
    ProbeArgumentError with a one-line reason. Never lets a value become an option."""
    text = str(value).strip()
    if not text:
        raise ProbeArgumentError("a host name or IP address is required")
    if text.startswith("-"):
        raise ProbeArgumentError(
            f"{text!r} looks like a command option, not a host name or IP address")
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        pass
    if len(text) > 253 or not _HOSTNAME.match(text) or text.replace(".", "").isdigit():
        raise ProbeArgumentError(f"{text!r} is not a valid host name or IP address")
    return text.lower()
