"""One turn of a call as data: what a staffer is shown for the call's current question
(:class:`Turn`, made by :func:`turn_of`) and the rules every front end applies the same
way when a turn is answered (the host offered from a pasted UNC path, quit or discard,
the reasons a call ends early and the ticket number of a duplicate).

A front end renders a :class:`Turn` (the terminal as prompts and boxes, the web desk as a
page) and sends the operation back to the :class:`~wizard.calls.call.Call`; it works out
no default, recap or progress of its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from wizard.calls.call import ABANDON_CHOICES, ABANDON_REASONS, Call, Suggestion
from wizard.calls.engine import Step, Visit
from wizard.calls.known_issues import Hit
from wizard.flows import answer_rules
from wizard.flows.nodes import (
    ActionNode,
    CheckNode,
    ChoiceNode,
    NoteNode,
    TextNode,
    Validator,
    YesNoNode,
)

if TYPE_CHECKING:
    from wizard.flows.nodes import Node

RECAP_FIELDS = (("Caller", "caller_name"), ("Contact", "caller_contact"),
                ("Computer", "caller_machine"), ("Target", "target"))
"""The recap of a call: who, which computers (label, context variable)."""

PREVIOUS = "previous answer"
CHECK = "check suggestion"
PRESELECTED = "preselected"
"""Why a turn's default is what it is (:attr:`Turn.default_why`)."""


@dataclass(frozen=True)
class Option:
    value: str
    label: str


@dataclass(frozen=True)
class Notice:
    caution: bool
    text: str


@dataclass(frozen=True)
class Turn:
    """What a staffer sees for one question of a call."""

    key: str
    kind: str
    """"text", "choice" (yes/no, check and choice steps) or "action" (one "Done")."""
    text: str
    options: tuple[Option, ...] = ()
    default: str | None = None
    default_why: str | None = None
    """:data:`PREVIOUS`, :data:`CHECK`, :data:`PRESELECTED` or None (no default)."""
    offer: str | None = None
    """A text step's value offered in place of the default (the host of a pasted UNC
    path, :func:`host_offer`)."""
    optional: bool = False
    host: bool = False
    """A text step that takes a computer's name (a pasted UNC path offers its host)."""
    help: str = ""
    command: str = ""
    notices: tuple[Notice, ...] = ()
    issues: tuple[Hit, ...] = ()
    check: Suggestion | None = None
    why_not: str | None = None
    """A check step whose check did not run: why (the core's words)."""
    progress: str = ""
    recap: tuple[tuple[str, str], ...] = field(default=())


def progress_text(call: Call, step: Step) -> str:
    """How many questions are left: "last question on this route" only when every
    answer ends the route, else the fewest that are certain."""
    after = call.engine.questions_after(step.visit.node_key)
    if not after or max(after) == 0:
        return "last question on this route"
    if min(after) == 0:
        return f"this may be the last question (or at least {min(a for a in after if a)}" \
               " more)"
    return f"at least {min(after)} more"


def recap(step: Step) -> tuple[tuple[str, str], ...]:
    """Who and which computers, as known at ``step`` (label, value)."""
    ctx = step.context
    return tuple((label, str(ctx[var])) for label, var in RECAP_FIELDS if ctx.get(var))


def takes_host(node: Node) -> bool:
    return isinstance(node, TextNode) and node.validate_as in (Validator.HOST,
                                                               Validator.HOSTNAME)


def host_offer(node: Node, raw: str) -> str | None:
    """The computer a pasted UNC path (``\\\\srv\\share``) names, for a step that takes a
    computer's name; None when ``raw`` is not such a path or the step takes no host."""
    return answer_rules.host_from_unc(raw.strip()) if takes_host(node) else None


def turn_of(call: Call, step: Step, visit: Visit | None = None, *,
            suggestion: Suggestion | None = None, why_not: str | None = None,
            offer: str | None = None) -> Turn:
    """The turn of ``visit`` (default the step's own question; an earlier one when its
    answer is being changed): the earlier answer, else the check's ``suggestion``, else
    the chart's pre-selected option is the default."""
    visit = visit or step.visit
    node = visit.node
    previous = call.state.answers.get(visit.key)
    default = previous.value if previous else None
    why = PREVIOUS if default is not None else None
    options: tuple[Option, ...] = ()
    if isinstance(node, TextNode):
        kind = "text"
    elif isinstance(node, ActionNode):
        kind, options, default, why = "action", (Option("done", "Done"),), "done", None
    elif isinstance(node, (YesNoNode, CheckNode)):
        kind = "choice"
        options = tuple(Option(v, label) for v, label in answer_rules.choices(node))
        if default is None and suggestion and suggestion.value:
            default, why = suggestion.value, CHECK
    else:
        assert isinstance(node, ChoiceNode), f"not a question: {node.kind}"
        kind = "choice"
        options = tuple(Option(o.value, o.label) for o in node.options)
        if default is None:
            default = call.preselected(visit, step)
            why = PRESELECTED if default is not None else None
    notices = []
    for seen in step.notices:
        assert isinstance(seen.node, NoteNode)
        notices.append(Notice(seen.node.level == "caution", call.text(seen.node.text, step)))
    own = visit is step.visit
    return Turn(
        key=visit.key, kind=kind, text=call.text(node.text, step), options=options,
        default=default, default_why=why, offer=offer,
        optional=isinstance(node, TextNode) and node.optional, host=takes_host(node),
        help=call.text(node.help, step) if node.help else "",
        command=call.command(node, step) if own else "",
        notices=tuple(notices) if own else (),
        issues=tuple(call.known_issues(step)) if own else (),
        check=suggestion, why_not=why_not,
        progress=progress_text(call, step) if own else "",
        recap=recap(step))


def quit_call(call: Call) -> bool:
    """The staffer leaves the call: a call with nothing answered (and never resumed) is
    discarded, True; any other is kept, marked interrupted, to be resumed, False."""
    if call.is_empty and not call.state.resumed and call.discard():
        return True
    call.interrupted()
    return False


def duplicate_ticket(value: str) -> str:
    """The ticket number a duplicate call names, checked; raises AnswerError."""
    return answer_rules.check_text(Validator.TICKET, value.strip())


__all__ = ["ABANDON_CHOICES", "ABANDON_REASONS", "CHECK", "PREVIOUS", "PRESELECTED",
           "RECAP_FIELDS", "Notice", "Option", "Turn", "duplicate_ticket", "host_offer",
           "progress_text", "quit_call", "recap", "turn_of"]
