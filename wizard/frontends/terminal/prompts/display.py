"""What the live call draws besides its prompts: the notices, known issues, the step's
header and the command the caller types, the automatic check and its result, the help,
the resume recap and the checks run ahead. :class:`Display` is the part of
:class:`~.live.LiveCall` that only shows (and keeps the journal on disk while it waits).
Text the staffer or the caller typed is printed as plain text, never read as markup."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from wizard.calls.call import Call, Suggestion, check_location
from wizard.calls.engine import Step
from wizard.flows import answer_rules
from wizard.flows.nodes import CheckNode, NoteNode
from wizard.frontends.terminal.prompts.primitives import Panel, Text, _one_line
from wizard.frontends.terminal.screen import Screen
from wizard.frontends.terminal.wording import worded
from wizard.service import turns
from wizard.service.guidance import SOCIAL_ENGINEERING

if TYPE_CHECKING:
    from rich.console import Console

RECAP_ANSWERS = 4
"""How many of the latest answers the resume recap shows."""


#: Where a command of several steps (lines) has one broken: the rows that go on are
#: indented by this, so each step's first row stands out.
CONTINUED = "  "


def command_rows(command: str, room: int) -> tuple[list[str] | None, bool]:
    """The rows a command is shown on within ``room`` columns, and whether a line had to
    be broken (at spaces only: typed with a space where the row ends; in a command of
    several steps, the rows that go on are indented by :data:`CONTINUED`). None when a
    single word is wider than the room."""
    import textwrap

    rows: list[str] = []
    broken = False
    lines = command.splitlines() or [command]
    indent = CONTINUED if len(lines) > 1 else ""
    for line in lines:
        if len(line) <= room:
            rows.append(line)
            continue
        pieces = textwrap.wrap(line, width=max(room, 1), break_long_words=False,
                               break_on_hyphens=False, subsequent_indent=indent)
        if any(len(p) > room for p in pieces):
            return None, False
        rows += pieces
        broken = True
    return rows, broken



class Display:
    """The boxes and lines of a live call (the part of :class:`~.live.LiveCall` that
    shows and does not prompt)."""

    call: Call
    screen: Screen

    @property
    def console(self) -> Console:
        """rich's console, made when first used (see :mod:`.screen`)."""
        return self.screen.console

    def _on_disk(self) -> None:
        """The call's journal to the disk itself (fsync). A disk that fails is told at
        the next answer, which is then not taken."""
        journal = self.call.journal
        if journal is not None:
            with contextlib.suppress(OSError):
                journal.sync()

    # -- display -----------------------------------------------------------------------
    def show_notices(self, step: Step) -> None:
        for visit in step.notices:
            node = visit.node
            assert isinstance(node, NoteNode)
            caution = node.level == "caution"
            self.screen.box("Caution" if caution else "Note", self.call.text(node.text, step),
                            "yellow" if caution else "cyan")

    def show_known_issues(self, step: Step) -> None:
        for hit in self.call.new_known_issues(step):
            e = hit.entry
            body = Text()
            body.append(f"{e.symptom}\n", style="bold")
            body.append(f"Matched: {hit.why}\n\n", style="dim")
            body.append("Tell the caller: ", style="bold")
            body.append(f"{e.tier1_says}\n")
            body.append("Do: ", style="bold")
            body.append(f"{e.tier1_does}\n")
            body.append("Escalation: ", style="bold")
            body.append(e.escalate_to)
            self.console.print(Panel(body, title=f"Known issue: {e.title}",
                                     border_style="magenta", expand=False))

    def progress_text(self, step: Step) -> str:
        """How many questions are left (:func:`~wizard.calls.turn.progress_text`)."""
        return turns.progress_text(self.call, step)

    def show_step_header(self, step: Step) -> None:
        chart = self.call.fs.charts[step.visit.chart]
        self.screen.line(("\n", ""), (f"Step {step.number}", "bold dim"),
                         (f" · {chart.title} · {self.progress_text(step)}", "dim"))
        node = step.visit.node
        if node.help:
            self.screen.line((f"  {self.call.text(node.help, step)}", "italic"))
        command = self.call.command(node, step)
        if command:
            self.show_command(command)

    def show_command(self, command: str) -> None:
        """The command the caller types, in a box, never cut inside a word: a line wider
        than the box is broken at its spaces only, and the box says it is typed as one
        line (a command of several steps: one line per step, its rows that go on
        indented). Only a single word wider than the terminal is left whole on a line of its
        own for the terminal to fold."""
        rows, one_line = command_rows(command, self.screen.width - 4)
        if rows is not None:
            title = "Have the caller type"
            if one_line:
                title += (" (one line per step; indented rows go on)"
                          if len(command.splitlines()) > 1 else " (one line)")
            self.console.print(Panel(Text("\n".join(rows), style="bold", no_wrap=True),
                                     title=title, border_style="green", expand=False))
            return
        self.console.print(Text("Have the caller type:", style="green"))
        for line in command.splitlines() or [command]:
            self.console.print(Text(line, style="bold"), soft_wrap=True)

    def run_check(self, step: Step) -> Suggestion | None:
        node = step.visit.node
        if not isinstance(node, CheckNode):
            return None
        why_not = self.call.probe_applies(step)
        if why_not:
            self.console.print(Text(f"  Automatic check not run: {worded(why_not)}.",
                                    style="dim"))
            return None
        suggestion = self.call.cached_check(step)
        if suggestion is None:
            self._on_disk()  # the answers before a check do not wait for it
            with self.console.status(f"Checking ({node.probe.name})..."):
                suggestion = self.call.run_check(step)
        if suggestion is None:
            return None
        r = suggestion.result
        body = Text(r.summary)
        body.append(f"\n{r.probe}: {r.status.value}, {r.duration:.1f} s, ran on the "
                    f"{check_location(self.call.state.runs_on)}", style="dim")
        if suggestion.value:
            body.append(" — the check suggests ")
            body.append(answer_rules.label(node, suggestion.value), style="bold")
        else:
            body.append(" — the check is inconclusive: please ask the caller")
        self.console.print(Panel(body, title="Automatic check", border_style="blue",
                                 expand=False))
        return suggestion

    def show_help(self, step: Step) -> None:
        node = step.visit.node
        body = Text()
        if node.help:
            body.append(self.call.text(node.help, step) + "\n\n")
        chart = self.call.fs.charts[step.visit.chart]
        body.append("Source: ", style="bold")
        body.append(" ".join(node.source.split()))
        body.append(f" ({' '.join(chart.source.split())})", style="dim")
        if node.inferred:
            body.append("\nNot in the source: ", style="bold")
            body.append(" ".join(node.inferred.split()))
        body.append("\n\n")
        body.append(SOCIAL_ENGINEERING, style="yellow")
        self.console.print(Panel(body, title="Help for this step", border_style="cyan",
                                 expand=False))

    def show_recap(self) -> None:
        """Before a resumed call goes on: who, which computers, the last answers."""
        call = self.call
        step = call.step()
        body = Text()
        for label, value in turns.recap(step):
            body.append(f"{label}: ", style="bold")
            body.append(f"{value}\n")
        answered = [v for v in step.route if v.answered]
        if answered:
            body.append(f"Last answers (of {len(answered)}):\n", style="bold")
        for v in answered[-RECAP_ANSWERS:]:
            question = _one_line(call.text(v.node.text, step), 60)
            body.append(f"  {question} → ")
            body.append(answer_rules.label(v.node, v.value or ""), style="bold")
            body.append("\n")
        body.append(f"Started {call.state.started[:16].replace('T', ' ')} by "
                    f"{call.state.staffer}", style="dim")
        self.console.print(Panel(body, title=f"Resuming call {call.call_id}",
                                 border_style="blue", expand=False))

    # -- actions -----------------------------------------------------------------------
    def prefetch(self, step: Step) -> None:
        """Run the checks ahead in this flowchart at once, with a progress bar."""
        pending = self.call.pending_checks(step)
        if not pending:
            return
        checks = f"{len(pending)} automatic check{'s' if len(pending) > 1 else ''}"
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn

        with Progress(SpinnerColumn(), "[progress.description]{task.description}",
                      BarColumn(), MofNCompleteColumn(), console=self.console,
                      transient=True) as progress:
            self._on_disk()
            task = progress.add_task(f"Running {checks} at once", total=len(pending))
            self.call.prefetch(step, on_result=lambda i, r: progress.advance(task))
        names = []
        for key, node, args in pending:
            result = self.call.state.probes.get(key)
            target = ", ".join(args.values())
            status = f": {result.status.value}" if result else ""
            names.append(f"{node.probe.name}{f' {target}' if target else ''}{status}")
        where = check_location(self.call.state.runs_on)
        self.console.print(Text(f"  {checks} done on the {where}: "
                                f"{'; '.join(names)}.", style="dim"))
