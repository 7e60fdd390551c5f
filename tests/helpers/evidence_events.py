"""Windows events for the analysis tests, in Microsoft's event schema.

Each event is what ``Get-WinEvent ... | ForEach-Object { $_.ToXml() }`` and
``wevtutil qe Security /f:xml`` print: an ``<Event>`` element in the
``http://schemas.microsoft.com/win/2004/08/events/event`` namespace with ``<System>``
(Provider, EventID, Version, Level, Task, Opcode, Keywords, TimeCreated/@SystemTime,
EventRecordID, Correlation, Execution, Channel, Computer, Security) and ``<EventData>``
of named ``<Data>`` fields, one event after another with no root element.

Field names follow Microsoft's documentation of each event (MicrosoftDocs
windows-itpro-docs "audit-ipsec-main-mode", "audit-ipsec-quick-mode",
"audit-ipsec-extended-mode", "audit-ipsec-driver", "audit-filtering-platform-packet-drop"
and the event pages): 4653's LocalMMPrincipalName, RemoteMMPrincipalName, LocalAddress,
LocalKeyModPort, RemoteAddress, RemoteKeyModPort, KeyModName, FailurePoint,
FailureReason, MMAuthMethod, State, Role, MMImpersonationState, MMFilterID,
InitiatorCookie, ResponderCookie. Values are written as the event viewer renders them
(English), e.g. FailurePoint "Local computer", FailureReason "Negotiation timed out".
"""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

NS = "http://schemas.microsoft.com/win/2004/08/events/event"
SECURITY = ("Microsoft-Windows-Security-Auditing", "{54849625-5478-4994-A5BA-3E3B0328C30D}")
TASKS = {4650: 12547, 4651: 12547, 4652: 12547, 4653: 12547, 4654: 12548, 4655: 12547,
         5451: 12548, 4983: 12549, 4984: 12549, 4960: 12292, 4963: 12292, 4965: 12292,
         5152: 12809, 5157: 12810, 4624: 12544}


def event(event_id: int, when: str, data: dict[str, str], *, computer: str = "ws-ann",
          record: int = 1000, channel: str = "Security",
          provider: tuple[str, str] = SECURITY, binary: str = "") -> str:
    fields = "".join(f"<Data Name={quoteattr(k)}>{escape(v)}</Data>" for k, v in data.items())
    if binary:
        fields += f"<Binary>{binary}</Binary>"
    failure = event_id in (4652, 4653, 4654, 4983, 4984, 4960, 4963, 4965, 5152, 5157)
    keywords = "0x8010000000000000" if failure else "0x8020000000000000"
    return (f"<Event xmlns='{NS}'><System><Provider Name='{provider[0]}' Guid='{provider[1]}'/>"
            f"<EventID>{event_id}</EventID><Version>0</Version><Level>0</Level>"
            f"<Task>{TASKS.get(event_id, 0)}</Task><Opcode>0</Opcode>"
            f"<Keywords>{keywords}</Keywords><TimeCreated SystemTime='{when}'/>"
            f"<EventRecordID>{record}</EventRecordID><Correlation/>"
            f"<Execution ProcessID='736' ThreadID='2012'/><Channel>{channel}</Channel>"
            f"<Computer>{computer}.woodgrove.example</Computer><Security/></System>"
            f"<EventData>{fields}</EventData></Event>")


def mm_failure(when: str, remote: str, reason: str, *, point: str = "Local computer",
               role: str = "Initiator", auth: str = "Kerberos", event_id: int = 4653,
               record: int = 1000) -> str:
    """4653: "An IPsec main mode negotiation failed" (4652 with certificates)."""
    return event(event_id, when, {
        "LocalMMPrincipalName": "WOODGROVE\\WS-ANN$", "RemoteMMPrincipalName": "-",
        "LocalAddress": "10.20.30.5", "LocalKeyModPort": "500", "RemoteAddress": remote,
        "RemoteKeyModPort": "500", "KeyModName": "IKEv1", "FailurePoint": point,
        "FailureReason": reason, "MMAuthMethod": auth, "State": "Sent first (SA) payload",
        "Role": role, "MMImpersonationState": "Not enabled", "MMFilterID": "70561",
        "InitiatorCookie": "4f1c0a9e2d3b7c61", "ResponderCookie": "0000000000000000"},
        record=record)


def mm_established(when: str, remote: str, *, role: str = "Responder") -> str:
    """4650: "An IPsec main mode security association was established" (no
    certificates)."""
    return event(4650, when, {
        "LocalMMPrincipalName": "WOODGROVE\\WS-ANN$", "RemoteMMPrincipalName":
        "WOODGROVE\\FIN-APP01$", "LocalAddress": "10.20.30.5", "LocalKeyModPort": "500",
        "RemoteAddress": remote, "RemoteKeyModPort": "500", "KeyModName": "IKEv1",
        "MMAuthMethod": "Kerberos", "MMCipherAlg": "AES-128", "MMIntegrityAlg": "SHA-1",
        "DHGroup": "DH Group 2", "MMLifetime": "480", "QMLimit": "0", "Role": role,
        "MMImpersonationState": "Not enabled", "MMFilterID": "70561", "MMSAID": "1042"})


def qm_failure(when: str, remote: str, reason: str, *, point: str = "Remote computer",
               role: str = "Initiator") -> str:
    """4654: "An IPsec quick mode negotiation failed"."""
    return event(4654, when, {
        "LocalAddress": "10.20.30.5", "LocalAddressMask": "-", "LocalPort": "0",
        "RemoteAddress": remote, "RemoteAddressMask": "-", "RemotePort": "445",
        "Protocol": "6", "KeyModName": "IKEv1", "Mode": "Transport", "Role": role,
        "QMFilterID": "70570", "MMSAID": "1042", "TunnelLocalAddress": "-",
        "TunnelRemoteAddress": "-", "State": "Waiting for SA payload",
        "MessageID": "1", "FailurePoint": point, "FailureReason": reason})


def em_failure(when: str, remote: str, reason: str) -> str:
    """4984: "An IPsec extended mode negotiation failed" (AuthIP user authentication)."""
    return event(4984, when, {
        "LocalEMPrincipalName": "WOODGROVE\\ann", "RemoteEMPrincipalName": "-",
        "LocalAddress": "10.20.30.5", "LocalKeyModPort": "500", "RemoteAddress": remote,
        "RemoteKeyModPort": "500", "KeyModName": "AuthIP", "EMAuthMethod": "Kerberos",
        "FailurePoint": "Local computer", "FailureReason": reason,
        "State": "Sent first (EM attributes) payload", "Role": "Initiator",
        "EMImpersonationState": "Enabled", "QMFilterID": "70570"})


def driver(event_id: int, when: str, remote: str) -> str:
    """4960 (integrity check failed), 4963 (cleartext that should have been secured),
    4965 (bad SPI): the IPsec driver's drops."""
    return event(event_id, when, {"RemoteAddress": remote, "SPI": "0x5a1c3e01",
                                  "LocalAddress": "10.20.30.5", "Protocol": "6"})


def wfp_drop(when: str, dest: str, *, event_id: int = 5152) -> str:
    """5152 "The Windows Filtering Platform has blocked a packet" / 5157 "... blocked a
    connection"."""
    return event(event_id, when, {
        "ProcessId": "4", "Application": "System", "Direction": "%%14593",
        "SourceAddress": "10.20.30.5", "SourcePort": "50211", "DestAddress": dest,
        "DestPort": "445", "Protocol": "6", "FilterRTID": "70562",
        "LayerName": "%%14611", "LayerRTID": "48"})


def logon(when: str) -> str:
    """4624 "An account was successfully logged on" (not an IPsec event)."""
    return event(4624, when, {"SubjectUserSid": "S-1-5-18", "TargetUserName": "ann",
                              "LogonType": "3", "IpAddress": "10.20.30.7"})


def service_stopped(when: str, display: str, key: str, error: str = "%%1068") -> str:
    """System 7023 "The %1 service terminated with the following error: %2" (Service
    Control Manager): param1 the display name (localized), param2 the error, and the
    service's key name as UTF-16LE hex in ``<Binary>``."""
    binary = (key + "\0").encode("utf-16-le").hex().upper()
    return event(7023, when, {"param1": display, "param2": error}, channel="System",
                 provider=("Service Control Manager", "{555908d1-a6d7-4695-8e1e-26931d2012f4}"),
                 binary=binary)
