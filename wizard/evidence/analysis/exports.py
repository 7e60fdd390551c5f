"""The other exports: ``netsh wfp show netevents`` XML, ``netsh advfirewall monitor show
mmsa`` text and the 2003 script's 547 events as text."""

from __future__ import annotations

import codecs
import re
from typing import IO

from wizard.evidence.analysis.events import _local, iter_xml
from wizard.evidence.analysis.findings import MAX_TEXT, Report, _failure, auth_of, point_of, role_of

# -- WFP net events (netsh wfp show netevents) ---------------------------------------------

def read_netevents(raw: IO[bytes], report: Report, source: str) -> None:
    """IKEEXT failures of ``netsh wfp show netevents`` (FWPM_NET_EVENT_IKEEXT_*_FAILURE
    field names)."""
    for item in iter_xml(raw, lambda tag, parent: tag == "item" and parent == "netEvents"):
        kind = ""
        fields: dict[str, str] = {}
        for e in item.iter():
            name = _local(e.tag)
            if name == "type" and not kind:
                kind = (e.text or "").strip()
            elif name in ("failureErrorCode", "failurePoint", "saRole", "mmAuthMethod",
                          "emAuthMethod", "timeStamp", "remoteAddrV4", "remoteAddrV6"):
                fields.setdefault(name, (e.text or "").strip())
        mode = ("main" if "MM_FAILURE" in kind else "quick" if "QM_FAILURE" in kind
                else "extended" if "EM_FAILURE" in kind else "")
        if not mode:
            continue
        report.events += 1
        report.ipsec_events += 1
        _failure(report, peer=fields.get("remoteAddrV4") or fields.get("remoteAddrV6")
                 or "unknown peer", mode=mode,
                 point=point_of(fields.get("failurePoint", "")),
                 reason=fields.get("failureErrorCode", ""),
                 role=role_of(fields.get("saRole", "")),
                 auth=auth_of(fields.get("mmAuthMethod", "") + fields.get("emAuthMethod",
                                                                           "")),
                 when=fields.get("timeStamp", "")[:19], source=f"WFP net event ({source})")


# -- text: netsh advfirewall monitor show mmsa, 547 events -----------------------------------

def _text(raw: IO[bytes]) -> str:
    data = raw.read(MAX_TEXT + 1)
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16", "replace")
    return data.decode("utf-8-sig", "replace")


def read_mmsa(text: str, report: Report) -> None:
    """Main mode SAs that are up: their peers (``Remote IP Address``)."""
    for m in re.finditer(r"(?im)^\s*Remote IP Address\s*:\s*(\S+)", text):
        report.established.setdefault(m.group(1), set()).add("either")


_547_LABELS = ("mode", "peer identity", "filter", "failure point", "failure reason",
               "source ip address", "destination ip address", "date", "time", "extra status")
_547_LINE = re.compile(r"^\s*(" + "|".join(_547_LABELS) + r")\b\s*:?\s*(.*?)\s*$", re.I)


def _547_fields(block: str) -> dict[str, str]:
    """Label: value pairs of one 547 event; a value may be on the line after its label
    (as the event's description prints it)."""
    fields: dict[str, str] = {}
    pending: str | None = None
    for line in block.splitlines():
        m = _547_LINE.match(line)
        if m:
            label, value = m.group(1).lower(), m.group(2)
            pending = None if value else label
            if value:
                fields.setdefault(label, value)
        elif pending and line.strip():
            fields.setdefault(pending, line.strip())
            pending = None
    return fields


def read_547(text: str, report: Report, source: str) -> None:
    """Windows 2000/XP/2003 event 547 (IKE security association negotiation failed)."""
    blocks = re.split(r"(?im)^(?=\s*Event\s*(?:ID|Type)\s*:)", text)
    if len(blocks) <= 1:
        blocks = re.split(r"(?i)(?=IKE security association negotiation failed)", text)
    for block in blocks:
        if "547" not in block and "negotiation failed" not in block.lower():
            continue
        fields = _547_fields(block)
        if "failure reason" not in fields:
            continue
        report.events += 1
        report.ipsec_events += 1
        mode = "quick" if "quick" in fields.get("mode", "").lower() else "main"
        peer = fields.get("destination ip address") or ""
        if not re.fullmatch(r"[0-9a-fA-F.:]+", peer):
            found = re.search(r"(\d{1,3}(?:\.\d{1,3}){3})", fields.get("peer identity", "")
                              + " " + fields.get("filter", ""))
            peer = found.group(1) if found else "unknown peer"
        _failure(report, peer=peer, mode=mode, point=point_of(fields.get("failure point", "")),
                 reason=fields["failure reason"], role=None,
                 auth=auth_of(fields.get("peer identity", "")),
                 when=(fields.get("date", "") + " " + fields.get("time", "")).strip(),
                 source=f"event 547 ({source})")
