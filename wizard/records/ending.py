"""The end of a call: its tickets written, then the end recorded in its journal."""

from __future__ import annotations

from pathlib import Path

from wizard.base.errors import DiskFull, is_disk_full
from wizard.calls.call import Call
from wizard.calls.engine import Step, StepKind
from wizard.calls.journal import atomic_write
from wizard.flows.nodes import TerminalNode
from wizard.records.ticket import TicketError, render_tickets


def write_tickets_then_end(call: Call, step: Step, formats: tuple[str, ...] = ("md", "txt")
                           ) -> dict[str, str]:
    """Write the tickets, then record the end; return {format: path}.

    The tickets are on disk before the end is recorded: a full disk leaves the call
    open (resume finishes it and writes them again), never ended without tickets. A
    broken ticket template loses nothing either: the end is recorded with the error;
    fix the template and run ``ipsec-triage ticket ID``. TicketError is raised after
    the end is saved; DiskFull (the call still open) when a ticket cannot be written
    for want of space. Temporary ticket files a killed write left are removed first.
    """
    assert step.kind is StepKind.END and isinstance(step.visit.node, TerminalNode)
    call.journals.remove_ticket_leftovers(call.call_id)
    paths = {fmt: str(call.journals.ticket_path(call.call_id, fmt)) for fmt in formats}
    error: TicketError | None = None
    try:
        tickets = render_tickets(call, step, formats)
    except TicketError as exc:
        tickets, paths, error = {}, {}, exc
    for fmt, text in tickets.items():
        try:
            atomic_write(Path(paths[fmt]), text, durable=call.journals.durable)
        except OSError as exc:
            if is_disk_full(exc):
                raise DiskFull(paths[fmt]) from None
            raise
    call.end_at_terminal(step, paths, str(error) if error else None)
    if error is not None:
        raise error
    return paths
