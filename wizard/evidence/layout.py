"""The packet's layout, described once: what ``collect`` and the collector script write and
what ``attach`` accepts.

A packet is one zip file::

    manifest.json            what was collected: per file its command, exit code, time,
                             timeout, error and sha256; "checksums" for every member
    ticket.md, ticket.txt    the call's ticket (``collect --call`` only)
    call.json                the call's record (``collect --call`` only)
    evidence/<file>          one file per task, named ``<computer>_<what>.<ext>``

Member names are plain (letters, digits, ``_ . - ~``, no separator in a file name) so
that no name can climb out of the folder it is unpacked in or mean something else on
Windows.
"""

from __future__ import annotations

import re

MANIFEST = "manifest.json"
EVIDENCE = "evidence/"
COLLECTOR_VERSION = "1"
"""Version of the collector script's packet (``collector_version`` in its manifest)."""

TOP_MEMBERS = ("manifest.json", "ticket.md", "ticket.txt", "call.json")
MEMBER = re.compile(r"(?:manifest\.json|ticket\.(?:md|txt)|call\.json|"
                    r"evidence/\w[\w.~-]{0,150})")

MANIFEST_KEYS = ("packet", "created", "call_id", "computer", "collected_on", "destination",
                 "platform", "files", "checksums", "errors", "timeouts_hit")
"""Keys every manifest has (``collect``'s and the collector script's)."""
FILE_KEYS = ("file", "command", "returncode", "duration", "timeout_hit", "error", "sha256",
             "size")
"""Keys of one ``files`` entry that the collector script writes (``collect`` adds its
collector's name and, for a copy, what it copied)."""
SCRIPT_KEYS = ("collector_version", "windows_build", "administrator")
"""More keys of the collector script's manifest."""

MAX_PACKET = 200 * 1024 * 1024
"""Largest packet ``attach`` takes (bytes of the zip)."""
MAX_MEMBER = 512 * 1024 * 1024
"""Largest member once unpacked (a Security log export of a busy server)."""
MAX_TOTAL = 1024 * 1024 * 1024
MAX_MEMBERS = 500
MAX_RATIO = 200
"""Largest unpacked / packed size of a member: text and XML pack about 10-30 to 1; a
zip bomb packs thousands to 1."""
MAX_MANIFEST = 4 * 1024 * 1024


def member_ok(name: str) -> bool:
    """A member name the layout allows."""
    return MEMBER.fullmatch(name) is not None


def packet_zip_name(call_id: str | None, computer: str) -> str:
    """The collector script's zip: named for the call and the computer."""
    from wizard.evidence.packet import MAX_PART, safe_name

    parts = ["ipsec", safe_name(computer, MAX_PART)]
    if call_id:
        parts.append(safe_name(call_id, MAX_PART))
    return "_".join(parts) + ".zip"
