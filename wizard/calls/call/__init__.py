"""One call in progress: engine + journal + probes. Both front ends drive this object.

It does no prompting and no printing: the interactive front end and the answers-file
twin ask it for the next step, hand it answers, and let it write the record.

By concern: :mod:`.core` (:class:`Call`: its start and resumption, its steps and the
texts and commands they show, its answers, notes and changes, its ending),
:mod:`.probing` (its automatic checks and :class:`Suggestion`), :mod:`.labels` (how an
ending and the checks' place read: :func:`end_label`, :data:`ABANDON_REASONS`), and
:mod:`.context` (the flowchart set kept for a call, what the organization refuses, the
recorded context of its texts).
"""

from __future__ import annotations

from wizard.calls.call.context import keep_flowset, org_refusal, recorded_context
from wizard.calls.call.core import Call
from wizard.calls.call.labels import (
    ABANDON_CHOICES,
    ABANDON_REASONS,
    CALLER_ONLY,
    CHECKS_OFF,
    check_location,
    end_label,
)
from wizard.calls.call.probing import Suggestion

__all__ = [
    "ABANDON_CHOICES",
    "ABANDON_REASONS",
    "CALLER_ONLY",
    "CHECKS_OFF",
    "Call",
    "Suggestion",
    "check_location",
    "end_label",
    "keep_flowset",
    "org_refusal",
    "recorded_context",
]
