"""The prompts of guided service halving (its own command): one round at a time until
the culprit is named."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import questionary
from questionary import Choice, Separator

from wizard.base.safetext import markup
from wizard.frontends.terminal.prompts.primitives import (
    QUIT,
    STYLE,
    Panel,
    QuitCall,
    Text,
    _guarded,
)

if TYPE_CHECKING:
    from rich.console import Console

    from wizard.calls.journal import Journal
    from wizard.halving.search import Verdict
    from wizard.halving.session import Session

FAILED, WORKS, UNDO = "failed", "works", "undo"


def run_halving(session: Session, journal: Journal, console: Console,
                ask: Callable[[questionary.Question], Any] | None = None) -> Verdict:
    """Prompt round by round until the culprit is named. Returns the Verdict."""
    from rich.columns import Columns

    from wizard.halving import session as halve
    from wizard.halving.search import HalvingError, Round, expected_rounds, split_noisy

    user_ask = ask or (lambda q: q.unsafe_ask())

    def asker(question: questionary.Question) -> Any:
        return user_ask(_guarded(question))

    candidates, apart = split_noisy(session.services, session.noisy)
    console.print(Panel(markup(
        "Halving session [bold]{}[/bold]: {} services, at most {} restarts for one culprit "
        "({} if two only fail together).\n{}Resume between restarts with: "
        "ipsec-triage halve --resume {}",
        session.session_id, len(candidates), expected_rounds(len(candidates)),
        expected_rounds(len(candidates), 2),
        f"Kept apart (always disabled, test alone at the end): {', '.join(apart)}\n"
        if apart else "", session.session_id),
        title="Guided service halving", border_style="blue", expand=False))
    while True:
        try:
            step = session.next()
        except HalvingError as exc:
            console.print(Text(str(exc), style="red"))
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
            console.print(Panel(markup(
                "[bold]{}[/bold]{}\nFound in {} restarts.{}", names, together, step.rounds,
                f"\nStill to test alone: {', '.join(step.noisy)}" if step.noisy else ""),
                title="Culprit", border_style="green", expand=False))
            return step
        console.print(f"\n[bold]Round {step.number}[/bold]: enable these "
                      f"{len(step.enable)} service(s), disable all others, restart:",
                      highlight=False)
        console.print(Columns([Text(name) for name in step.enable], padding=(0, 3)))
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
