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
_ADDRESS = re.compile(
    r"(?<![\w.%+@-])[A-Za-z0-9][A-Za-z0-9._%+-]*@[A-Za-z0-9][A-Za-z0-9-]*"
    r"(?:\.[A-Za-z0-9-]+)*(?![\w@-])")
"""An e-mail address or user principal name, also with a bare domain (``annc@CORP``)."""
_IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.])")
_IPV6 = re.compile(r"(?<![\w:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?:%\w+)?(?![\w:])")
_MAC = re.compile(
    r"(?<![0-9A-Fa-f:.-])(?:[0-9A-Fa-f]{2}([:-])(?:[0-9A-Fa-f]{2}\1){4}[0-9A-Fa-f]{2}"
    r"|[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4})(?![0-9A-Fa-f:.-])")
_BARE_MAC = re.compile(r"(?<![\w:.-])[0-9A-Fa-f]{12}(?![\w:.-])")
"""``001A2B3C4D5E``: a MAC address without separators (as the registry keeps it)."""
_DOMAIN_USER = re.compile(
    r"(?<![\w\\/:.$-])(?!(?i:HKLM|HKCU|HKCR|HKU|HKCC|HKEY_\w+|AUTHORITY|BUILTIN|SERVICE)\\)"
    r"([A-Za-z0-9][\w.-]{0,62})\\([\w.$-]*[\w$])(?![\w\\/.$-])")
"""``CORP\\ann``: a Windows account of any domain (not a path nor a registry key)."""
_DOTTED = re.compile(r"(?<![\w.@-])[\w-]+(?:\.[\w-]+)+(?![\w-]|\.\w)")
"""A name with dots (``db02.corp.example``): a host when a known host or domain is in it."""
_HOSTS_LINE = re.compile(r"^[ \t]*([0-9A-Fa-f.:%]+\w*)[ \t]+([^#\n]+)", re.MULTILINE)
_HOST_NAME = re.compile(r"(?=[\w.-]*[A-Za-z])[\w][\w.-]{0,252}")
_TOKEN = re.compile(r"[a-z]+-\d{4,}")
_EDGE_L = r"(?<![A-Za-z0-9-])"
_EDGE_R = r"(?![A-Za-z0-9-])"


def scrub_secrets(text: str) -> str:
    text = _HEX_KEY.sub("0x[key removed]", text)
    return _SECRET.sub(lambda m: f"{m.group(1)}{m.group(2)}[removed]", text)


def _is_ipv4(text: str) -> bool:
    """Four dotted numbers of 0-255, zero-padded or not (``010.001.002.003``)."""
    parts = text.split(".")
    return len(parts) == 4 and all(p.isdigit() and len(p) <= 3 and int(p) <= 255
                                   for p in parts)


def _is_address(text: str) -> bool:
    if _is_ipv4(text):
        return True
    try:
        ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return False
    return True


class Redactor:
    """Replaces identifiers with tokens. What it is told (host names, people, keywords,
    the DNS suffix) and what it finds (the domain of an account or address, a name in
    a hosts-file line, a dotted name under a known domain or starting with a known
    host) are replaced everywhere: :meth:`learn` every text first, so that something
    found in the last file is not left in the first."""

    def __init__(self, *, hosts: Iterable[str] = (), users: Iterable[str] = (),
                 keywords: Iterable[str] = (), dns_suffix: str = "") -> None:
        self.map: dict[str, str] = {}  # token -> original
        self._token_of: dict[tuple[str, str], str] = {}
        self._counts: dict[str, int] = {}
        self._literals: dict[str, str] = {}  # lower-case value -> kind
        self._domains: set[str] = set()
        self.dns_suffix = dns_suffix.lower().strip(".")
        if self.dns_suffix:
            self.add("domain", self.dns_suffix)
        for kind, values in (("host", hosts), ("user", users), ("keyword", keywords)):
            for value in values:
                self.add(kind, value)
        self._pattern: re.Pattern[str] | None = None

    def add(self, kind: str, value: str) -> None:
        """Redact ``value`` from now on. A host's short name and domain, the parts of a
        person's name, and the domain and user of an account are redacted alone too."""
        value = (value or "").strip()
        if len(value) < 2 or _TOKEN.fullmatch(value.lower()):
            return
        if value.lower() not in self._literals:
            self._literals[value.lower()] = kind
            self._pattern = None
        if kind == "domain":
            self._domains.add(value.lower().strip("."))
            return
        account = _DOMAIN_USER.fullmatch(value)
        if account:
            self.add("domain", account.group(1))
            self.add("user", account.group(2))
        elif "@" in value:
            local, _, domain = value.partition("@")
            self.add(kind, local)
            self.add("domain", domain)
        elif kind == "host" and "." in value and not _is_address(value):
            short, _, domain = value.partition(".")
            self.add("host", short)
            if "." in domain:
                self.add("domain", domain)
        elif kind == "user" and re.search(r"\s", value):  # a name: Ann-Marie Caller
            for part in re.split(r"[\s-]+", value):
                self.add("user", part)

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

    def _known_name(self, name: str) -> bool:
        labels = name.lower().split(".")
        if labels[-1].isdigit() or any(_TOKEN.fullmatch(label) for label in labels):
            return False  # an address or version, or already redacted
        if labels[0] in self._literals:
            return True
        return any(".".join(labels[i:]) in self._domains for i in range(1, len(labels)))

    def learn(self, text: str) -> None:
        """Find the identifiers ``text`` reveals, to redact them in every text."""
        for match in _ADDRESS.finditer(text):
            self.add("domain", match.group(0).partition("@")[2])
        for match in _DOMAIN_USER.finditer(text):
            if match.group(1).isupper():  # CORP\ann, as Windows writes it (not debug\x.log)
                self.add("domain", match.group(1))
                self.add("user", match.group(2))
        for match in _HOSTS_LINE.finditer(text):
            names = match.group(2).split()
            if _is_address(match.group(1)) and names and all(
                    _HOST_NAME.fullmatch(n) and not _is_address(n) for n in names):
                for name in names:
                    self.add("host", name)
        dotted = set(_DOTTED.findall(text))
        for _ in range(3):  # a host found may make the domain of another known
            found = {name for name in dotted if name.lower() not in self._literals
                     and self._known_name(name)}
            if not found:
                break
            for name in found:
                self.add("host", name)

    def learn_value(self, data: Any) -> None:
        """:meth:`learn` every string of structured data (keys too)."""
        if isinstance(data, str):
            self.learn(data)
        elif isinstance(data, dict):
            for key, value in data.items():
                self.learn_value(key)
                self.learn_value(value)
        elif isinstance(data, (list, tuple)):
            for value in data:
                self.learn_value(value)

    def text(self, text: str) -> str:
        self.learn(text)
        text = _ADDRESS.sub(lambda m: self.token(
            "email" if "." in m.group(0).partition("@")[2] else "user", m.group(0)), text)
        text = _DOMAIN_USER.sub(lambda m: self.token("user", m.group(0)), text)
        text = _MAC.sub(lambda m: self.token("mac", m.group(0)), text)
        text = _BARE_MAC.sub(lambda m: self.token("mac", m.group(0)), text)
        pattern = self._literal_pattern()
        if pattern is not None:
            text = pattern.sub(
                lambda m: self.token(self._literals[m.group(0).lower()], m.group(0)), text)
        text = _IPV4.sub(self._ip, text)
        return _IPV6.sub(self._ip, text)

    def _ip(self, match: re.Match[str]) -> str:
        raw = match.group(0)
        return self.token("ip", raw) if _is_address(raw) else raw

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
