"""The interactive front end: questionary prompts and rich panels. Keyboard only.

This is the only module that imports questionary. It asks the :class:`Call` for the
next step, shows it, prompts, and hands the answer back; the engine decides the rest.
Every prompt offers: add a note, change an earlier answer, save and quit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import questionary
from prompt_toolkit.styles import Style
from questionary import Choice, Separator
from rich.console import Console
from rich.panel import Panel
from rich.text import Text

from . import answers as answer_rules
from .call import Call, Suggestion
from .engine import Step, StepKind, Visit
from .halve import Session
from .halving import Verdict
from .journal import Journal
from .schema import (
    ActionNode,
    CheckNode,
    ChoiceNode,
    NoteNode,
    TextNode,
    YesNoNode,
)

NOTE, BACK, QUIT = ":note", ":back", ":quit"
COMMANDS = (NOTE, BACK, QUIT)

STYLE = Style([("qmark", "fg:#5f87ff bold"), ("question", "bold"),
               ("answer", "fg:#00af87 bold"), ("pointer", "fg:#5f87ff bold"),
               ("highlighted", "fg:#5f87ff bold"), ("instruction", "fg:#808080")])


def confirm(message: str) -> bool:
    return bool(questionary.confirm(message, default=False, style=STYLE).unsafe_ask())


class QuitCall(Exception):
    """The staffer chose to stop; the call is saved and can be resumed."""


def _extras() -> list[Any]:
    return [
        Separator(),
        Choice("Add a note to this step", value=NOTE, shortcut_key="n"),
        Choice("Change an earlier answer", value=BACK, shortcut_key="b"),
        Choice("Save and quit (resume later)", value=QUIT, shortcut_key="q"),
    ]


class Frontend:
    def __init__(self, call: Call, console: Console,
                 ask: Callable[[questionary.Question], Any] | None = None) -> None:
        self.call = call
        self.console = console
        self._ask = ask or (lambda q: q.unsafe_ask())

    # -- prompts -----------------------------------------------------------------------
    def _select(self, message: str, choices: list[Any], default: str | None) -> Any:
        choice_values = [c.value for c in choices if isinstance(c, Choice)]
        return self._ask(questionary.select(
            message, choices=choices, style=STYLE, use_shortcuts=True, use_jk_keys=False,
            default=default if default in choice_values else None,
            instruction="(arrows or number, Enter)",
        ))

    def _text(self, message: str, node: TextNode, key: str, default: str,
              extras: bool = True) -> str:
        def check(value: str) -> bool | str:
            if extras and value.strip() in COMMANDS:
                return True
            try:
                answer_rules.validate(node, value, key)
            except answer_rules.AnswerError as exc:
                return str(exc)
            return True

        hint = "  (:note  :back  :quit)" if extras else ""
        result = self._ask(questionary.text(message, default=default, validate=check,
                                            style=STYLE, instruction=hint))
        return str(result).strip()

    def ask_visit(self, visit: Visit, step: Step, *, suggestion: Suggestion | None = None,
                  extras: bool = True) -> str:
        """Prompt for one step; returns the raw answer or one of COMMANDS."""
        node = visit.node
        previous = self.call.state.answers.get(visit.key)
        default = previous.value if previous else None
        message = self.call.text(node.text, step)
        more = _extras() if extras else []
        if isinstance(node, TextNode):
            return self._text(message, node, visit.key, default or "", extras)
        if isinstance(node, (YesNoNode, CheckNode)):
            if suggestion and suggestion.value and default is None:
                default = suggestion.value
            choices = [Choice(label, value=value, shortcut_key=str(i + 1)) for i, (value, label)
                       in enumerate(answer_rules.choices(node))]
            return str(self._select(message, choices + more, default))
        if isinstance(node, ChoiceNode):
            if default is None:
                default = self.call.preselected(visit, step)
            choices = [Choice(o.label, value=o.value, shortcut_key=str(i + 1))
                       for i, o in enumerate(node.options)]
            return str(self._select(message, choices + more, default))
        if isinstance(node, ActionNode):
            choices = [Choice("Done", value="done", shortcut_key="1")]
            return str(self._select(message, choices + more, "done"))
        raise AssertionError(f"not a question: {node.kind}")  # pragma: no cover

    # -- display -----------------------------------------------------------------------
    def show_notices(self, step: Step) -> None:
        for visit in step.notices:
            node = visit.node
            assert isinstance(node, NoteNode)
            caution = node.level == "caution"
            self.console.print(Panel(
                Text(self.call.text(node.text, step)),
                title="Caution" if caution else "Note",
                border_style="yellow" if caution else "cyan", expand=False,
            ))

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

    def show_step_header(self, step: Step) -> None:
        chart = self.call.fs.charts[step.visit.chart]
        more = step.remaining - 1
        tail = f" · at least {more} more" if more > 0 else " · last question on this route"
        self.console.print(
            f"\n[bold]Step {step.number}[/bold] · {chart.title}{tail}", style="dim", highlight=False
        )
        node = step.visit.node
        if node.help:
            self.console.print(f"  {self.call.text(node.help, step)}", style="italic",
                               highlight=False, markup=False)
        if node.command:
            self.console.print(Panel(Text(self.call.text(node.command, step), style="bold"),
                                     title="Have the caller type", border_style="green",
                                     expand=False))

    def run_check(self, step: Step) -> Suggestion | None:
        node = step.visit.node
        if not isinstance(node, CheckNode):
            return None
        why_not = self.call.probe_applies(step)
        if why_not:
            self.console.print(f"  Automatic check not run: {why_not}.", style="dim",
                               highlight=False, markup=False)
            return None
        suggestion = self.call.cached_check(step)
        if suggestion is None:
            with self.console.status(f"Checking ({node.probe.name})..."):
                suggestion = self.call.run_check(step)
        if suggestion is None:
            return None
        r = suggestion.result
        verdict = (f"suggests [bold]{answer_rules.label(node, suggestion.value)}[/bold]"
                   if suggestion.value else "is inconclusive: please ask the caller")
        self.console.print(
            Panel(f"{r.summary}\n[dim]{r.probe}: {r.status.value}, {r.duration:.1f} s[/dim]"
                  f" — the check {verdict}", title="Automatic check", border_style="blue",
                  expand=False),
        )
        return suggestion

    # -- actions -----------------------------------------------------------------------
    def prefetch(self, step: Step) -> None:
        """Run the checks ahead in this flowchart at once, with a progress bar."""
        pending = self.call.pending_checks(step)
        if not pending:
            return
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn

        with Progress(SpinnerColumn(), "[progress.description]{task.description}",
                      BarColumn(), MofNCompleteColumn(), console=self.console,
                      transient=True) as progress:
            task = progress.add_task(f"Running {len(pending)} automatic checks at once",
                                     total=len(pending))
            self.call.prefetch(step, on_result=lambda i, r: progress.advance(task))
        self.console.print(f"  {len(pending)} automatic checks done.", style="dim")

    def add_note(self, key: str) -> None:
        text = self._ask(questionary.text("Note for this step:", style=STYLE))
        if text and str(text).strip():
            self.call.add_note(key, str(text))
            self.console.print("  Note saved.", style="green")

    def change_earlier(self, step: Step) -> None:
        route = [v for v in step.route if v.answered]
        if not route:
            self.console.print("  Nothing answered yet.", style="yellow")
            return
        choices: list[Any] = []
        for i, v in enumerate(route, 1):
            q = " ".join(self.call.text(v.node.text, step).split())
            q = q if len(q) <= 60 else q[:57] + "..."
            choices.append(Choice(f"{i}. {q} → {answer_rules.label(v.node, v.value or '')}",
                                  value=v.key))
        choices.append(Separator())
        choices.append(Choice("Keep all answers", value=""))
        picked = self._ask(questionary.select("Which answer do you want to change?",
                                              choices=choices, style=STYLE,
                                              default=choices[len(route) - 1]))
        if not picked:
            return
        visit = next(v for v in route if v.key == picked)
        raw = self.ask_visit(visit, step, extras=False)
        value = self.call.answer(visit, raw)
        self.console.print(f"  Changed to: {answer_rules.label(visit.node, value)}. "
                           "Later answers are kept where the route is unchanged.",
                           style="green", highlight=False, markup=False)

    # -- the call ----------------------------------------------------------------------
    def run(self) -> Step:
        call = self.call
        self.console.print(Panel(
            f"Call [bold]{call.call_id}[/bold] · staffer {call.state.staffer} · "
            f"running on the {'caller' if call.state.runs_on == 'caller' else 'help desk'}'s "
            f"computer\nEvery answer is saved as you go. Quit at any time; resume with "
            f"[bold]ipsec-triage resume {call.call_id}[/bold]",
            title="ipsec-triage", border_style="blue", expand=False))
        while True:
            step = call.step()
            self.show_known_issues(step)
            if step.kind is StepKind.END:
                return step
            self.show_notices(step)
            self.prefetch(step)
            self.show_step_header(step)
            suggestion = self.run_check(step)
            raw = self.ask_visit(step.visit, step, suggestion=suggestion)
            if raw == NOTE:
                self.add_note(step.visit.key)
            elif raw == BACK:
                self.change_earlier(step)
            elif raw == QUIT:
                raise QuitCall()
            else:
                call.answer(step.visit, raw,
                            suggested=suggestion.value if suggestion else None)


# -- guided service halving --------------------------------------------------------------

FAILED, WORKS, UNDO = "failed", "works", "undo"


def run_halving(session: Session, journal: Journal, console: Console,
                ask: Callable[[questionary.Question], Any] | None = None) -> Verdict:
    """Prompt round by round until the culprit is named. Returns the Verdict."""
    from rich.columns import Columns

    from . import halve
    from .halving import HalvingError, Round, expected_rounds, split_noisy

    asker = ask or (lambda q: q.unsafe_ask())
    candidates, apart = split_noisy(session.services, session.noisy)
    console.print(Panel(
        f"Halving session [bold]{session.session_id}[/bold]: {len(candidates)} services, "
        f"at most {expected_rounds(len(candidates))} restarts for one culprit "
        f"({expected_rounds(len(candidates), 2)} if two only fail together).\n"
        + (f"Kept apart (always disabled, test alone at the end): {', '.join(apart)}\n"
           if apart else "")
        + f"Resume between restarts with: ipsec-triage halve --resume {session.session_id}",
        title="Guided service halving", border_style="blue", expand=False))
    while True:
        try:
            step = session.next()
        except HalvingError as exc:
            console.print(f"[red]{exc}[/red]", highlight=False)
            choice = asker(questionary.select(
                "What now?", style=STYLE, choices=[
                    Choice("Undo the last result and enter it again", value=UNDO),
                    Choice("Save and quit", value=QUIT)]))
            if choice == UNDO:
                halve.undo(session, journal)
                continue
            raise QuitCall() from None
        if not isinstance(step, Round):
            halve.finish(session, journal, step)
            names = " and ".join(step.culprits)
            together = " (only together: each alone is fine)" if step.together else ""
            console.print(Panel(
                f"[bold]{names}[/bold]{together}\nFound in {step.rounds} restarts." +
                (f"\nStill to test alone: {', '.join(step.noisy)}" if step.noisy else ""),
                title="Culprit", border_style="green", expand=False))
            return step
        console.print(f"\n[bold]Round {step.number}[/bold]: enable these "
                      f"{len(step.enable)} service(s), disable all others, restart:",
                      highlight=False)
        console.print(Columns(list(step.enable), padding=(0, 3)))
        choices: list[Any] = [
            Choice("The problem came back (no network)", value=FAILED, shortcut_key="1"),
            Choice("No problem (the network works)", value=WORKS, shortcut_key="2"),
            Separator(),
        ]
        if session.results:
            choices.append(Choice("Undo the last result", value=UNDO, shortcut_key="u"))
        choices.append(Choice("Save and quit (resume after the restart)", value=QUIT,
                              shortcut_key="q"))
        picked = asker(questionary.select(f"After restart {step.number}:", choices=choices,
                                          style=STYLE, use_shortcuts=True,
                                          use_jk_keys=False))
        if picked == QUIT:
            raise QuitCall()
        if picked == UNDO:
            halve.undo(session, journal)
            continue
        halve.record(session, journal, step, picked == FAILED)
