"""The escalation ticket: the call record rendered through Jinja templates.

Templates are rendered sandboxed and strict (an unknown name is an error, never an
empty string). An organization can put its own ``ticket.md.j2`` / ``ticket.txt.j2``
in a folder (``templates_dir`` in the organization file, or ``--templates``); any
template not found there comes from the shipped ones.

In the Markdown ticket every ``{{ ... }}`` is escaped as its last step (``finalize``),
whatever filter touched it, unless it is :class:`MarkdownSafe`. Every rendering is
bounded: no expression makes more than :data:`MAX_SIZE`, and a whole ticket no more than
:data:`MAX_OUTPUT` characters, :data:`MAX_STEPS` loop turns and calls, and
:data:`MAX_SECONDS` (parsed templates are rewritten so that loops and joins count).

By concern: :mod:`.context` (what a ticket says), :mod:`.bounds` (the limits of a
rendering), :mod:`.markdown` (the escaping) and :mod:`.templates` (the environment and
the rendering of a call's tickets).
"""

from __future__ import annotations

from wizard.records.ticket.bounds import (
    MAX_BITS,
    MAX_OUTPUT,
    MAX_RANGE,
    MAX_SECONDS,
    MAX_SIZE,
    MAX_STEPS,
    MAX_TEMPLATE,
    TemplateBudgetError,
)
from wizard.records.ticket.context import (
    FORMATS,
    MODERN_LOG_FILES,
    TicketError,
    attached_packet,
    build_context,
    log_files,
)
from wizard.records.ticket.markdown import (
    MarkdownSafe,
    markdown_escape,
)
from wizard.records.ticket.templates import (
    environment,
    render_tickets,
)

__all__ = [
    "FORMATS",
    "MAX_BITS",
    "MAX_OUTPUT",
    "MAX_RANGE",
    "MAX_SECONDS",
    "MAX_SIZE",
    "MAX_STEPS",
    "MAX_TEMPLATE",
    "MODERN_LOG_FILES",
    "MarkdownSafe",
    "TemplateBudgetError",
    "TicketError",
    "attached_packet",
    "build_context",
    "environment",
    "log_files",
    "markdown_escape",
    "render_tickets",
]
