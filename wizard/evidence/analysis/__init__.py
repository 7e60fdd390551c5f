"""Read a packet for Tier 2: which IPsec negotiation failed with which peer, how often,
where, with which IKE/AuthIP error, and what the chapter says that points to.

Reads (one file, or the evidence files of a ``collect`` or collector packet):

- events as ``wevtutil qe ... /f:xml`` prints them (``<Event>`` elements in Microsoft's
  event schema one after another, no root element) or as ``Get-WinEvent | % ToXml()``;
- ``netsh wfp show netevents`` XML (IKEEXT main / quick / extended mode failures);
- ``netsh advfirewall monitor show mmsa`` text (the main mode SAs that are up);
- the 2003 script's ``<CompName>_ipsec_547_events.txt`` (events 547 as text).

XML is parsed with defusedxml (a DTD, entity declarations and external entities are
refused) as a stream: each event is read, counted and dropped, so memory stays flat in
the size of a Security log export. Each finding says how sure it is and rests on the
events it counts; none claims more than they show.

By concern: :mod:`.codes` (the table of error codes), :mod:`.findings` (what is found and
counted), :mod:`.events` (event XML), :mod:`.exports` (netsh output and 547 text) and
:mod:`.files` (files and packets).
"""

from __future__ import annotations

from wizard.evidence.analysis.codes import (
    CODES,
    Code,
    Reading,
)
from wizard.evidence.analysis.events import (
    SERVICE_NAMES,
    iter_xml,
    read_events,
)
from wizard.evidence.analysis.exports import (
    read_547,
    read_mmsa,
    read_netevents,
)
from wizard.evidence.analysis.files import (
    analyze,
    analyze_packet,
    kind_of,
    read_stream,
)
from wizard.evidence.analysis.findings import (
    CHAPTER,
    DRIVER,
    ESTABLISHED,
    IPSEC_AUDIT_IDS,
    IPSEC_SERVICES,
    MAX_EVENTS,
    MAX_FILE,
    MAX_FINDINGS,
    MAX_TEXT,
    MODE_OF,
    SERVICE_EVENTS,
    WFP_DROPS,
    AnalysisRefused,
    Finding,
    Report,
    auth_of,
    code_of,
    point_of,
    role_of,
)

__all__ = [
    "AnalysisRefused",
    "CHAPTER",
    "CODES",
    "Code",
    "DRIVER",
    "ESTABLISHED",
    "Finding",
    "IPSEC_AUDIT_IDS",
    "IPSEC_SERVICES",
    "MAX_EVENTS",
    "MAX_FILE",
    "MAX_FINDINGS",
    "MAX_TEXT",
    "MODE_OF",
    "Reading",
    "Report",
    "SERVICE_EVENTS",
    "SERVICE_NAMES",
    "WFP_DROPS",
    "analyze",
    "analyze_packet",
    "auth_of",
    "code_of",
    "iter_xml",
    "kind_of",
    "point_of",
    "read_547",
    "read_events",
    "read_mmsa",
    "read_netevents",
    "read_stream",
    "role_of",
]
