"""The live call in the terminal: :class:`LiveCall` asks the :class:`Call` for the next
step, shows it, prompts, and hands the answer back; the engine decides the rest. Every
prompt offers: add a note, change an earlier answer, end the call early, save and quit;
``?`` shows the step's help and source, ``s`` records that the caller asked for
something sensitive. Text the staffer or the caller typed is printed as plain text
(``rich.text.Text``), never read as markup.
"""

from __future__ import annotations

import textwrap
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import questionary
from prompt_toolkit.filters import Condition
from prompt_toolkit.key_binding import KeyBindings
from prompt_toolkit.keys import Keys
from questionary import Choice, Separator

from wizard.calls.call import Call, Suggestion
from wizard.calls.engine import Step, StepKind, Visit
from wizard.flows import answer_rules
from wizard.flows.nodes import TextNode, Validator
from wizard.frontends.terminal.prompts.display import Display
from wizard.frontends.terminal.prompts.primitives import (
    BACK,
    COMMANDS,
    END,
    ESCAPE,
    HELP,
    NOTE,
    QUIT,
    SENSITIVE,
    STYLE,
    CallAbandoned,
    Panel,
    QuitCall,
    Text,
    _empty_buffer,
    _free_text_check,
    _guarded,
    _inquirer,
    _one_line,
    _shown_choice,
    _with_keys,
    control_refusal,
)
from wizard.frontends.terminal.screen import Screen
from wizard.service import turns
from wizard.service.guidance import SENSITIVE_KINDS, SOCIAL_ENGINEERING, SOCIAL_ENGINEERING_SOURCE

if TYPE_CHECKING:
    from rich.console import Console


def _extras() -> list[Any]:
    return [
        Separator(),
        Choice("Add a note to this step", value=NOTE, shortcut_key="n"),
        Choice("Change an earlier answer", value=BACK, shortcut_key="b"),
        Choice("End the call early (hung up, wrong number, duplicate)", value=END,
               shortcut_key="e"),
        Choice("Save and quit (resume later)", value=QUIT, shortcut_key="q"),
    ]



LATER = ("wizard.checks", "wizard.config.organization", "jinja2.sandbox", "rich.console",
         "rich.panel", "rich.progress")
"""What later steps need and the first question does not: loaded in the background
while the first question waits for the staffer (see :meth:`LiveCall._ask`)."""


LATER_AFTER = 0.15
"""Seconds after the first question is on the screen before that loading starts: the
first question is drawn and the terminal answers keys at once, and the staffer takes
longer than this to read it; a staffer quicker than this finds the next question's
needs loaded on the way, as without the early loading."""


def _load_later() -> None:
    import importlib

    from wizard.base.textrender import _env

    for name in LATER:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: S112 - then it is imported (and fails) where it is used
            continue
    _env()


class LiveCall(Display):
    """The live call in the terminal: renders each turn of the call (:func:`turns.turn_of`)
    as boxes and a prompt and sends the staffer's answer or command back to the call."""

    def __init__(self, call: Call, console: Console | Screen,
                 ask: Callable[[questionary.Question], Any] | None = None, *,
                 resume_command: str | None = None, banner: str = "") -> None:
        self.call = call
        self.screen = console if isinstance(console, Screen) else Screen.of(console)
        self._user_ask = ask or (lambda q: q.unsafe_ask())
        self._loading_later = False
        self.resume_command = resume_command or f"ipsec-triage resume {call.call_id}"
        self.banner = banner

    # -- prompts -----------------------------------------------------------------------
    def _ask(self, question: questionary.Question) -> Any:
        """Prompt. Once the question is on the screen, the answers so far go to the
        disk itself (the staffer is reading it: Enter does not wait for the disk); the
        first time, what later steps need starts loading in the background too, so
        neither the first question nor the next ones wait for it."""
        app = getattr(question, "application", None)
        if app is not None:
            def on_screen(_: object) -> None:
                app.after_render -= on_screen
                self._on_disk()

            app.after_render += on_screen
        if not self._loading_later and app is not None:
            self._loading_later = True

            def drawn(_: object) -> None:
                app.after_render -= drawn
                loader = threading.Timer(LATER_AFTER, _load_later)
                loader.name, loader.daemon = "load-later", True
                loader.start()

            app.after_render += drawn
        return self._user_ask(_guarded(question))

    def _prompt(self, question: questionary.Question, message: str,
                shown: Callable[[Any], str | None] = lambda r: str(r or "")) -> Any:
        """Ask, with the prompt erased when it is done, and print the answered line
        ("? question answer") ourselves, wrapped at word boundaries to the terminal:
        the prompt library would break words anywhere. ``shown`` gives the answer as
        shown (None: no line, e.g. for the help key)."""
        app = getattr(question, "application", None)
        if app is not None:
            app.erase_when_done = True
        result = self._ask(question)
        answer = shown(result)
        if answer is not None:
            self._echo(message, answer)
        return result

    def _echo(self, message: str, answer: str) -> None:
        """The answered question, as plain text (typed text is never read as markup)."""
        if self.screen.is_terminal:
            # from the start of the row, whatever the erased prompt left on it
            self.screen.erase_line()
        parts = [("? ", "bold #5f87ff"), (" ".join(message.split()), "bold")]
        if answer:
            parts += [(" ", ""), (" ".join(answer.split()), "bold #00af87")]
        self.screen.line(*parts)

    def _hint(self, text: str) -> None:
        self.screen.line((text, "dim"))

    def _message(self, text: str) -> str:
        """The question, wrapped at word boundaries to the terminal (the prompt library
        would break it anywhere)."""
        return textwrap.fill(" ".join(text.split()), width=max(self.screen.width - 4, 20),
                             break_long_words=False, break_on_hyphens=False)

    def _select(self, message: str, choices: list[Any], default: str | None,
                hot_keys: bool = True) -> Any:
        choice_values = [c.value for c in choices if isinstance(c, Choice)]
        self._hint("Number or arrows, then Enter · ? help and source · s caller asks for "
                   "something sensitive" if hot_keys else "Number or arrows, then Enter")
        question = questionary.select(
            self._message(message), choices=choices, style=STYLE, use_shortcuts=True,
            use_jk_keys=False, default=default if default in choice_values else None,
            instruction=" ",
        )
        if hot_keys:
            keys = KeyBindings()

            @keys.add("?", eager=True)
            def _help(event: Any) -> None:
                event.app.exit(result=HELP)

            @keys.add("s", eager=True)
            def _sensitive(event: Any) -> None:
                event.app.exit(result=SENSITIVE)

            _with_keys(question, keys)
        return self._prompt(question, message, _shown_choice(choices))

    def _text(self, message: str, node: TextNode, key: str, previous: str | None,
              extras: bool = True, offer: str | None = None, why: str = "") -> str:
        """A text answer. An earlier answer (or an offered value) is shown greyed in the
        field: Enter keeps it, typing replaces it."""
        keep = offer if offer is not None else previous

        def check(value: str) -> bool | str:
            value = value.strip()
            if extras and value in COMMANDS:
                return True
            if not value and keep:
                return True
            refused = control_refusal(value)
            if refused:
                return refused
            if node.validate_as in (Validator.HOST, Validator.HOSTNAME) \
                    and answer_rules.host_from_unc(value):
                return True  # the computer in it is offered next
            try:
                self.call.check_answer(node, key, value, what="")
            except answer_rules.AnswerError as exc:
                return str(exc)
            return True

        if keep:
            self._hint(f"{(why or 'now')[:1].upper()}{(why or 'now')[1:]}: {keep} · Enter "
                       "keeps it, typing replaces it")
        elif extras:
            self._hint("? help and source · :note  :back  :end  :quit")
        keys = KeyBindings()

        if extras:
            @keys.add("?", eager=True, filter=Condition(_empty_buffer))
            def _help(event: Any) -> None:
                event.app.exit(result=HELP)

        question = questionary.text(self._message(message), validate=check, style=STYLE,
                                    instruction=" ", placeholder=keep or None,
                                    key_bindings=keys)
        result = str(self._prompt(
            question, message,
            lambda r: None if r == HELP else (str(r or "").strip() or keep or ""))).strip()
        if not result and keep:
            return keep
        return result

    def ask_visit(self, visit: Visit, step: Step, *, suggestion: Suggestion | None = None,
                  extras: bool = True) -> str:
        """Prompt for one step; returns the raw answer or one of COMMANDS."""
        turn = turns.turn_of(self.call, step, visit, suggestion=suggestion)
        message = _one_line(turn.text, 400)
        if turn.kind == "text":
            node = visit.node
            assert isinstance(node, TextNode)
            raw = self._text(message, node, visit.key, turn.default, extras)
            host = turns.host_offer(node, raw)
            if host:
                return self._text(message, node, visit.key, turn.default, extras,
                                  offer=host, why=f"the computer in {raw}")
            return raw
        more = _extras() if extras else []
        choices = [Choice(o.label, value=o.value, shortcut_key=str(i + 1))
                   for i, o in enumerate(turn.options)]
        return str(self._select(message, choices + more, turn.default, extras))

    def sensitive_request(self, step: Step) -> None:
        """The caller asks for something the chapter says to keep back: show the caution
        now and record the attempt in the call."""
        self.console.print(Panel(Text(SOCIAL_ENGINEERING + "\n\n" + SOCIAL_ENGINEERING_SOURCE),
                                 title="Caution: sensitive request", border_style="red",
                                 expand=False))
        choices: list[Any] = [Choice(label, value=label, shortcut_key=str(i + 1))
                              for i, (_v, label) in enumerate(SENSITIVE_KINDS)]
        choices.append(Choice("Something else (type it)", value=":other",
                              shortcut_key=str(len(SENSITIVE_KINDS) + 1)))
        choices.append(Choice("Nothing to record", value="", shortcut_key="0"))
        asked = "What did the caller ask for?"
        what = self._prompt(questionary.select(
            asked, choices=choices, style=STYLE,
            use_shortcuts=True, use_jk_keys=False, instruction="(number, Enter)"),
            asked, _shown_choice(choices))
        if what == ":other":
            what = self._prompt(questionary.text(
                asked, validate=_free_text_check("what the caller asked for"), style=STYLE),
                asked)
        if what and str(what).strip():
            self.call.record_sensitive_request(step.visit.key, str(what))
            self.console.print(Text("  Recorded: it goes in the ticket and the report. "
                                    "Do not give it out.", style="green"))

    def end_early(self) -> None:
        """Why the call ends early: the reasons of :data:`turns.ABANDON_CHOICES` (offered
        in the same words on the web desk), or another reason typed."""
        choices: list[Any] = [
            Choice(label, value=reason, shortcut_key=str(i))
            for i, (reason, label) in enumerate(turns.ABANDON_CHOICES.items(), 1)]
        choices += [
            Choice("Another reason (type it)", value=":other",
                   shortcut_key=str(len(choices) + 1)),
            Separator(),
            Choice("Do not end the call", value="", shortcut_key="0"),
        ]
        why = "Why does the call end early?"
        reason = self._prompt(questionary.select(
            why, choices=choices, style=STYLE, use_shortcuts=True,
            use_jk_keys=False, instruction="(number, Enter)"), why, _shown_choice(choices))
        if not reason:
            return
        duplicate_of = None
        if reason == "duplicate":
            def check(value: str) -> bool | str:
                refused = control_refusal(value)
                if refused:
                    return refused
                try:
                    turns.duplicate_ticket(value)
                except answer_rules.AnswerError as exc:
                    return str(exc)[:1].upper() + str(exc)[1:]
                return True

            which = "Which ticket number does it duplicate?"
            duplicate_of = str(self._prompt(questionary.text(
                which, validate=check, style=STYLE), which) or "").strip()
            if not duplicate_of:
                return
        elif reason == ":other":
            reason = str(self._prompt(questionary.text(
                "Reason:", validate=_free_text_check("the reason"), style=STYLE), "Reason:")
                or "").strip()
            if not reason:
                return
        self.call.end_early(str(reason), duplicate_of)
        raise CallAbandoned()

    # -- actions -----------------------------------------------------------------------
    def add_note(self, key: str) -> None:
        text = self._prompt(questionary.text(
            "Note for this step:", style=STYLE,
            validate=_free_text_check("the note", answer_rules.MAX_NOTE)),
            "Note for this step:")
        if text and str(text).strip():
            self.call.add_note(key, str(text))
            self.console.print("  Note saved.", style="green")

    def _pick_answer(self, route: list[Visit], step: Step) -> str | None:
        """The answers so far, one page that fits the terminal, starting at the newest.
        The shown number (typed, several digits if needed) jumps to it; arrows move,
        PgUp/PgDn turn a page, Home/End go to the ends; Enter picks; Esc goes back to
        the question."""
        width = max(self.console.width - 12, 30)
        labels: list[str] = []
        for i, v in enumerate(route, 1):
            a = _one_line(answer_rules.label(v.node, v.value or ""), min(30, width // 2))
            q = _one_line(self.call.text(v.node.text, step), width - len(a))
            labels.append(f"{i:>2}. {q} → {a}")
        keep = len(route)  # the last position: keep all answers
        page = max(4, self.console.height - 9)
        self._hint("Type the number shown, or arrows, PgUp/PgDn, Home/End; Enter picks; "
                   "Esc goes back to the question")
        question = questionary.select(
            "Which answer do you want to change?", style=STYLE, instruction=" ",
            choices=[Choice(x, value=route[i].key) for i, x in enumerate(labels[:1])] +
            [Choice("Keep all answers (Esc)", value="")])
        ic = _inquirer(question)
        state = {"pos": len(route) - 1, "top": max(0, len(route) - page)}
        typed: list[str] = []

        def show() -> None:
            pos, top = state["pos"], state["top"]
            if pos < keep:
                if pos < top:
                    top = pos
                elif pos >= top + page:
                    top = pos - page + 1
            state["top"] = top
            window: list[Any] = []
            if top > 0:
                window.append(Separator(f"   ↑ {top} earlier (PgUp, Home)"))
            first = len(window)
            window += [Choice(labels[i], value=route[i].key)
                       for i in range(top, min(top + page, len(route)))]
            if top + page < len(route):
                window.append(Separator(f"   ↓ {len(route) - top - page} later (PgDn, End)"))
            window.append(Separator())
            window.append(Choice("Keep all answers (Esc)", value=""))
            ic.choices = window
            ic.pointed_at = len(window) - 1 if pos == keep else first + pos - top

        def go(pos: int) -> None:
            state["pos"] = max(0, min(pos, keep))
            show()

        keys = KeyBindings()
        for digit in "0123456789":
            @keys.add(digit, eager=True)
            def _digit(event: Any, digit: str = digit) -> None:
                number = int("".join(typed) + digit)
                if not 1 <= number <= len(route):
                    typed.clear()
                    number = int(digit)
                if 1 <= number <= len(route):
                    typed.append(digit)
                    go(number - 1)

        moves = {Keys.Up: lambda p: p - 1, Keys.Down: lambda p: p + 1,
                 Keys.PageUp: lambda p: p - page, Keys.PageDown: lambda p: p + page,
                 Keys.Home: lambda p: 0, Keys.End: lambda p: len(route) - 1}
        for key, move in moves.items():
            @keys.add(key, eager=True)
            def _move(event: Any, move: Callable[[int], int] = move) -> None:
                typed.clear()
                go(move(state["pos"]))

        @keys.add(Keys.ControlM, eager=True)
        def _enter(event: Any) -> None:
            pos = state["pos"]
            event.app.exit(result="" if pos == keep else route[pos].key)

        @keys.add(Keys.Escape, eager=True)
        def _escape(event: Any) -> None:
            event.app.exit(result=ESCAPE)

        show()
        _with_keys(question, keys)
        by_key = {v.key: labels[i] for i, v in enumerate(route)}
        picked = self._prompt(question, "Which answer do you want to change?",
                              lambda r: by_key.get(r, "Keep all answers"))
        return None if picked in ("", ESCAPE, None) else str(picked)

    def change_earlier(self, step: Step) -> None:
        route = [v for v in step.route if v.answered]
        if not route:
            self.console.print("  Nothing answered yet.", style="yellow")
            return
        picked = self._pick_answer(route, step)
        if not picked:
            self.console.print("  No answer changed.", style="dim")
            return
        visit = next(v for v in route if v.key == picked)
        raw = self.ask_visit(visit, step, extras=False)
        value = self.call.answer(visit, raw)
        self.console.print(Text(f"  Changed to: {answer_rules.label(visit.node, value)}. "
                                "Later answers are kept where the route is unchanged.",
                                style="green"))

    # -- the call ----------------------------------------------------------------------
    def run(self) -> Step:
        call = self.call
        where = "caller" if call.state.runs_on == "caller" else "help desk"
        about = f" · staffer {call.state.staffer} · running on the {where}'s computer"
        if not call.checks:
            about += " · automatic checks off"
        parts = [("ipsec-triage", "bold blue"), (" · ", ""), (f"Call {call.call_id}", "bold"),
                 (about, "")]
        if self.banner:
            parts.append((f"\n{self.banner}", "dim"))
        parts.append(("\nEvery answer is saved as you go. Quit at any time; resume with:", ""))
        self.screen.line(*parts)
        # the command on a line of its own, never wrapped inside
        self.screen.line((self.resume_command, "bold"), soft_wrap=True)
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
            while raw in (HELP, SENSITIVE):
                if raw == HELP:
                    self.show_help(step)
                else:
                    self.sensitive_request(step)
                raw = self.ask_visit(step.visit, step, suggestion=suggestion)
            if raw == NOTE:
                self.add_note(step.visit.key)
            elif raw == BACK:
                self.change_earlier(step)
            elif raw == END:
                self.end_early()
            elif raw == QUIT:
                raise QuitCall()
            else:
                call.answer(step.visit, raw,
                            suggested=suggestion.value if suggestion else None)
