"""What a call starts with and reads besides its answers: the flowchart set kept for it,
the organization's refusal of an answer, the recorded context of its texts."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from wizard.base.errors import NOT_STARTED_TEXT, DiskFull, is_disk_full
from wizard.calls.journal import CallState, JournalFolder
from wizard.flows import answer_rules
from wizard.flows.flowset import FlowSet
from wizard.flows.nodes import Node, TextNode, Validator

if TYPE_CHECKING:  # the organization's defaults load when first needed
    from wizard.config.known import Org


def keep_flowset(fs: FlowSet, store: JournalFolder) -> str:
    """Keep a copy of the set a new call starts with in its data folder; its digest."""
    from wizard.flows.pinned import keep

    try:
        return keep(fs, store.root, durable=store.durable)
    except OSError as exc:
        if is_disk_full(exc):
            raise DiskFull(store.root, NOT_STARTED_TEXT) from None
        raise



def org_refusal(org: Org | None, node: Node, value: str) -> str | None:
    """Why this organization refuses an answer that is right on its own (None: it does
    not): an earlier ticket number must be one its ticket systems take, as it goes into
    their URLs (the group, and so the destination, is known only at the end)."""
    if not value or not isinstance(node, TextNode) or node.validate_as is not \
            Validator.TICKET or org is None or not org.has_destinations:
        return None
    from wizard.config.known import checked

    problem = checked(org).handoff.ticket_problem(value)
    return f"{answer_rules.quoted(value)} is not {problem}" if problem else None


def recorded_context(state: CallState) -> dict[str, Any]:
    """What the flowcharts' texts and branches read besides the answers, as the call
    recorded it: who took it, its id, and the isolation design of the organization file
    it started with (a later change of the file does not re-route a recorded call)."""
    from wizard.flows.flowset import DEFAULT_DESIGN, DESIGN_VARS

    recorded = state.org.get("design")
    design = dict(DEFAULT_DESIGN)
    if isinstance(recorded, dict):
        design |= {k: v for k, v in recorded.items()
                   if k in DESIGN_VARS and isinstance(v, type(DEFAULT_DESIGN[k]))}
    return {"staffer": state.staffer, "call_id": state.call_id} | design

