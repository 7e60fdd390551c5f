"""Secrets are never written; identifiers are replaced consistently on request.

:func:`scrub_secrets` always runs on collected text: key material (``0x`` + long hex, as
``ip xfrm state`` prints it) and ``password=``/``psk:``-style values are removed.

:class:`Redactor` (``--redact``) replaces IP addresses, MAC addresses, host names, user
names (also Windows ``DOMAIN\\user``), e-mail addresses and the organization's keywords
with tokens (``ip-0001``, ``host-0001``, ...), the same value always by the same token,
in every file and file name. Structured data (the call record, the manifest) is redacted
value by value before it is written as JSON, where ``\\`` and ``"`` would be escaped. Its
map of tokens to the original values is written outside the packet.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from typing import Any

_HEX_KEY = re.compile(r"\b0x[0-9a-fA-F]{16,}\b")
_SECRET = re.compile(
    r"(?i)\b(psk|secret|secrets|password|passwd|pwd|pre-?shared[- ]?key|private[- ]?key)\b"
    r"(\s*[:=]\s*|\s+)(\"[^\"]*\"|'[^']*'|\S+)")
_SECRET_KEY = re.compile(
    r"(?i)(psk|secret|secrets|password|passwd|pwd|pre-?shared[-_ ]?key|private[-_ ]?key)")
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.])")
_IPV6 = re.compile(r"(?<![\w:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?:%\w+)?(?![\w:])")
_MAC = re.compile(
    r"(?<![0-9A-Fa-f:.-])(?:[0-9A-Fa-f]{2}([:-])(?:[0-9A-Fa-f]{2}\1){4}[0-9A-Fa-f]{2}"
    r"|[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4})(?![0-9A-Fa-f:.-])")
_DOMAIN_USER = re.compile(
    r"(?<![\w\\/:.$-])(?!(?i:HKLM|HKCU|HKCR|HKU|HKCC|HKEY_\w+|AUTHORITY|BUILTIN|SERVICE)\\)"
    r"[A-Za-z0-9][\w.-]{0,62}\\[\w.$-]*[\w$](?![\w\\/.$-])")
"""``CORP\\ann``: a Windows account of any domain (not a path nor a registry key)."""
_EDGE_L = r"(?<![A-Za-z0-9-])"
_EDGE_R = r"(?![A-Za-z0-9-])"


def scrub_secrets(text: str) -> str:
    text = _HEX_KEY.sub("0x[key removed]", text)
    return _SECRET.sub(lambda m: f"{m.group(1)}{m.group(2)}[removed]", text)


class Redactor:
    def __init__(self, *, hosts: Iterable[str] = (), users: Iterable[str] = (),
                 keywords: Iterable[str] = (), dns_suffix: str = "") -> None:
        self.map: dict[str, str] = {}  # token -> original
        self._token_of: dict[tuple[str, str], str] = {}
        self._counts: dict[str, int] = {}
        self._literals: dict[str, str] = {}  # lower-case value -> kind
        for kind, values in (("host", hosts), ("user", users), ("keyword", keywords)):
            for value in values:
                self.add(kind, value)
        self.dns_suffix = dns_suffix.lower().strip(".")
        self._pattern: re.Pattern[str] | None = None

    def add(self, kind: str, value: str) -> None:
        value = (value or "").strip()
        if len(value) < 2:
            return
        self._literals.setdefault(value.lower(), kind)
        if kind == "host" and "." in value and not _IPV4.fullmatch(value):
            short = value.split(".", 1)[0]
            if len(short) >= 2:
                self._literals.setdefault(short.lower(), kind)
        self._pattern = None

    def token(self, kind: str, value: str) -> str:
        key = (kind, value.lower())
        if key not in self._token_of:
            self._counts[kind] = self._counts.get(kind, 0) + 1
            token = f"{kind}-{self._counts[kind]:04d}"
            self._token_of[key] = token
            self.map[token] = value
        return self._token_of[key]

    def _literal_pattern(self) -> re.Pattern[str] | None:
        if self._pattern is None and self._literals:
            values = sorted(self._literals, key=len, reverse=True)
            alternation = "|".join(re.escape(v) for v in values)
            self._pattern = re.compile(f"{_EDGE_L}(?:{alternation}){_EDGE_R}", re.IGNORECASE)
        return self._pattern

    def text(self, text: str) -> str:
        if self.dns_suffix:
            fqdn = re.compile(
                rf"{_EDGE_L}[A-Za-z0-9][A-Za-z0-9-]*(?:\.[A-Za-z0-9-]+)*\.{re.escape(self.dns_suffix)}"
                rf"{_EDGE_R}", re.IGNORECASE)
            for found in set(fqdn.findall(text)):
                self.add("host", found)
        text = _EMAIL.sub(lambda m: self.token("email", m.group(0)), text)
        text = _DOMAIN_USER.sub(lambda m: self.token("user", m.group(0)), text)
        text = _MAC.sub(lambda m: self.token("mac", m.group(0)), text)
        pattern = self._literal_pattern()
        if pattern is not None:
            text = pattern.sub(
                lambda m: self.token(self._literals[m.group(0).lower()], m.group(0)), text)
        text = _IPV4.sub(self._ip, text)
        return _IPV6.sub(self._ip, text)

    def _ip(self, match: re.Match[str]) -> str:
        raw = match.group(0)
        try:
            ipaddress.ip_address(raw.split("%", 1)[0])
        except ValueError:
            return raw
        return self.token("ip", raw)

    def name(self, filename: str) -> str:
        return self.text(filename)

    def value(self, data: Any) -> Any:
        """Redact structured data (dicts, lists, strings; keys too) before serializing."""
        if isinstance(data, str):
            return self.text(data)
        if isinstance(data, dict):
            return {self.value(k) if isinstance(k, str) else k: self.value(v)
                    for k, v in data.items()}
        if isinstance(data, (list, tuple)):
            return [self.value(v) for v in data]
        return data


def scrub_value(data: Any) -> Any:
    """:func:`scrub_secrets` on every string of structured data; the value of a
    secret-like key (``password``, ``psk``) is removed whole."""
    if isinstance(data, str):
        return scrub_secrets(data)
    if isinstance(data, dict):
        return {k: "[removed]" if isinstance(k, str) and _SECRET_KEY.fullmatch(k)
                and data[k] not in (None, "") else scrub_value(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [scrub_value(v) for v in data]
    return data
