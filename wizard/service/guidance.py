"""What every front end tells the staffer in the same words: the chapter's
social-engineering caution, and the kinds of sensitive request a caller may make."""

from __future__ import annotations

SOCIAL_ENGINEERING = (
    "Social engineering: do not tell the caller which computers are on the exemption "
    "list or not in the isolation solution, which servers use server isolation, who the "
    "administrators are, what subnets are used for, or which other network security "
    "measures exist. Do not connect to the caller's computer (file sharing, Remote "
    "Desktop, Telnet or any other protocol) at their request: without IPsec it can "
    "reveal your password.")
SOCIAL_ENGINEERING_SOURCE = (
    'Chapter 7, "Prevention of Social Engineering Attacks": "The following information '
    'should be carefully controlled by help desk personnel ..." and "Help desk personnel '
    'should also be trained to be wary if a caller asks them to connect to their computer '
    'IP address".')

SENSITIVE_KINDS = [
    ("exempt_or_isolated", "Which computers are exempt, or use server isolation"),
    ("connect_to_pc", "Connect to the caller's computer (share, Remote Desktop, ...)"),
    ("admins", "Who the administrators are"),
    ("network_security", "Subnets, firewalls or other network security measures"),
]
