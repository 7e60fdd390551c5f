"""The organization file: test servers, domain controllers, Tier 2 routing (team keys to
the organization's group names, target-name rules), check timeouts, the call store,
templates, redaction keywords (``organization``) and the hand-off destinations per
Tier 2 group (``handoff``).

May import :mod:`wizard.base`, :mod:`wizard.checks` (probe names) and
:mod:`wizard.flows` (team keys).
"""
