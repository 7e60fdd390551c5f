"""ipsec-triage: a scripted Tier-1 help-desk wizard for IPsec and isolation problems."""

__version__ = "0.1.0"
