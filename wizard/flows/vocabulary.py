"""The words the product counts and shows a call by, defined once: its statuses, its
problem categories, the Tier 2 teams, and the states and kinds of its hand-off.

The outcomes, categories and teams are the flowchart model's enums
(:mod:`wizard.flows.nodes`); the ids of a stored call's status (an outcome, ``abandoned``
or ``open``) and of its hand-off (``sent``, ``queued``, ``failed`` or ``none``) are what
the call store holds. The store, the report, the organization file and the hand-off
import them from here.
"""

from __future__ import annotations

from wizard.flows.nodes import Category, Status, Team

__all__ = ["ABANDONED", "CATEGORIES", "DESTINATION_LABELS", "DESTINATION_WORDS",
           "HANDOFF_LABELS", "HANDOFF_STATUSES", "OPEN", "OUTCOMES", "STATUSES",
           "STATUS_LABELS", "TEAMS", "Category", "Status", "Team"]

OUTCOMES: tuple[str, ...] = tuple(s.value for s in Status)
"""The chapter's three statuses: calls that reached an outcome."""
ABANDONED = "abandoned"
"""Status of a call ended without an outcome (hung up, wrong number, duplicate)."""
OPEN = "open"
"""Status of a stored call that has not ended yet."""
STATUSES: tuple[str, ...] = (*OUTCOMES, ABANDONED, OPEN)
STATUS_LABELS = {**{s.value: s.label.split(" (", 1)[0] for s in Status},
                 ABANDONED: "Abandoned", OPEN: "Still open"}
"""fixed_understood -> Fixed understood, ..., abandoned -> Abandoned, open -> Still open."""

CATEGORIES: tuple[str, ...] = tuple(c.value for c in Category)
"""Problem category ids (Figure 7.1's taxonomy and the server call)."""
TEAMS: tuple[str, ...] = tuple(t.value for t in Team)
"""Tier 2 team ids a flowchart exit names (``team:``)."""

HANDOFF_STATUSES = ("sent", "queued", "failed", "none")
HANDOFF_LABELS = {"sent": "Sent", "queued": "Waiting in the outbox", "failed": "Failed",
                  "none": "Not sent"}
"""A call's hand-off to Tier 2, as the store holds it."""

DESTINATION_LABELS = {"email": "E-mail", "servicenow": "ServiceNow", "jira": "Jira",
                      "zendesk": "Zendesk", "webhook": "Webhook"}
"""Kinds of hand-off destination (the organization file's ``handoff.destinations``), as a
heading or a table cell."""
_COMMON_NOUNS = frozenset({"email", "webhook"})
DESTINATION_WORDS = {kind: label.lower() if kind in _COMMON_NOUNS else label
                     for kind, label in DESTINATION_LABELS.items()}
"""The same kinds inside a sentence ("Hand-off to X (e-mail)"): product names keep their
capitals."""
