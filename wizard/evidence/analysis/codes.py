"""The table of IKE / AuthIP error codes and what the chapter says each points to."""

from __future__ import annotations

from dataclasses import dataclass

# -- IKE / AuthIP error codes (MicrosoftDocs win32 "System Error Codes (12000-15999)") ----

@dataclass(frozen=True)
class Code:
    meaning: str
    cause: str
    messages: tuple[str, ...] = ()
    """The code's message text as the 547 / 4653 reason strings print it (English)."""


CODES: dict[int, Code] = {
    13801: Code("IKE authentication credentials are unacceptable", "auth",
                ("ike authentication credentials are unacceptable",)),
    13802: Code("IKE security attributes are unacceptable", "auth",
                ("ike security attributes are unacceptable",)),
    13805: Code("negotiation timed out", "timeout", ("negotiation timed out",)),
    13806: Code("no valid machine certificate found", "certificate",
                ("ike failed to find valid machine certificate",)),
    13807: Code("IKE SA deleted by peer before establishment completed", "peer_deleted",
                ("ike sa deleted by peer before establishment completed",)),
    13808: Code("IKE SA deleted before establishment completed", "peer_deleted",
                ("ike sa deleted before establishment completed",)),
    13809: Code("negotiation request sat in queue too long", "timeout",
                ("negotiation request sat in queue too long",)),
    13810: Code("negotiation request sat in queue too long", "timeout"),
    13811: Code("negotiation request sat in queue too long", "timeout"),
    13812: Code("negotiation request sat in queue too long", "timeout"),
    13813: Code("no response from peer", "timeout", ("no response from peer",)),
    13814: Code("negotiation took too long", "timeout", ("negotiation took too long",)),
    13815: Code("negotiation took too long", "timeout"),
    13817: Code("certificate revocation check failed", "crl",
                ("certificate revocation check failed",)),
    13820: Code("the machine certificate has no private key", "certificate",
                ("does not have a private key",)),
    13825: Code("no policy configured", "no_policy", ("no policy configured",)),
    13827: Code("failed to authenticate using Kerberos", "kerberos",
                ("failed to authenticate using kerberos",)),
    13847: Code("peer failed to send a valid machine certificate", "certificate",
                ("peer failed to send valid machine certificate",)),
    13848: Code("certificate revocation check of the peer's certificate failed", "crl",
                ("certificate revocation check of peer's certificate failed",)),
    13850: Code("no main mode policy", "no_policy"),
    13855: Code("no Kerberos server credentials", "kerberos"),
    13857: Code("could not get an SPI", "sa"),
    13860: Code("could not add the SA", "sa"),
    13868: Code("policy match error", "no_policy", ("error processing policy match",)),
    13870: Code("hash verification failed", "auth", ("hash verification failed",)),
    13887: Code("the certificate does not chain to a root the policy trusts", "certificate"),
    13910: Code("bad SPI", "bad_spi"),
    13913: Code("replay check failed", "replay"),
    13915: Code("integrity check failed", "integrity"),
    13916: Code("cleartext received where it should have been secured", "cleartext"),
}
_BY_MESSAGE = sorted(((m, c) for c, code in CODES.items() for m in code.messages),
                     key=lambda mc: -len(mc[0]))


@dataclass(frozen=True)
class Reading:
    cause: str
    lines: tuple[str, ...]
    sure: str


def _reading(cause: str, point: str | None, auth: str) -> Reading:
    """The chapter's reading of a failure (lines of :data:`CHAPTER`)."""
    if cause == "timeout":
        text = ("the peer did not answer the negotiation: read the peer's own IPsec events "
                "for the same time (it may have no matching policy, or fail on its side); "
                "check that UDP 500/4500 (and fragments) pass on the path")
        lines = ("655", "324", "874-905")
        if auth == "kerberos":
            text += ("; with Kerberos the first IKE packets are large and are often "
                     "fragmented: a path that drops fragments times out exactly like this")
        return Reading(text, lines, "likely" if point == "me" else "possible")
    if cause == "kerberos":
        return Reading("Kerberos authentication of IKE failed: check that this computer "
                       "reaches a domain controller (DNS, then the DC itself) first, then "
                       "its domain membership and clock", ("308", "726-738"), "likely")
    if cause in ("certificate", "crl"):
        what = ("the certificate revocation list could not be checked (its distribution "
                "point is not reachable)" if cause == "crl" else
                "a machine certificate is missing, has no private key or is not trusted")
        return Reading(f"certificate authentication failed: {what}; the chapter does not "
                       "treat certificates (the reading is the error code's)", ("292",),
                       "likely")
    if cause == "no_policy":
        return Reading("no matching IPsec policy on one side: the policy did not apply "
                       "(Group Policy, group membership) or its filters do not match this "
                       "traffic", ("292", "300-304"), "likely")
    if cause == "auth":
        return Reading("the two sides' authentication methods or security methods do not "
                       "match (or, with a preshared key, the keys differ)", ("292",),
                       "likely")
    if cause == "peer_deleted":
        return Reading("the peer gave up the negotiation: the reason is in the peer's own "
                       "IPsec events", ("655", "324"), "likely")
    if cause == "sa":
        return Reading("the IPsec driver could not set up the SA (policy or filter "
                       "problem, or load)", ("935",), "possible")
    if cause == "integrity":
        return Reading("packets were changed on the way (a device rewrote a protected "
                       "part, or NIC offload): integrity check failures", ("941", "947"),
                       "likely")
    if cause == "bad_spi":
        return Reading("packets arrived for an SA the receiver does not have (bad SPI): a "
                       "rekey race between a fast initiator and a slow responder, or a "
                       "peer that missed a delete", ("992", "994", "1004"), "likely")
    if cause == "replay":
        return Reading("packets arrived twice or out of order (replay check)", ("935",),
                       "possible")
    if cause == "cleartext":
        return Reading("cleartext arrived where IPsec was expected: one side sends in the "
                       "clear (a more specific outbound permit filter) or deleted its SA",
                       ("1028", "1030"), "likely")
    return Reading("the failure code is not one the chapter reads", (), "possible")
