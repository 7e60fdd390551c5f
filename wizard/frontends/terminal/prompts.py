"""The interactive front end: questionary prompts and rich panels. Keyboard only.

This is the only module that imports questionary. It asks the :class:`Call` for the
next step, shows it, prompts, and hands the answer back; the engine decides the rest.
Every prompt offers: add a note, change an earlier answer, end the call early, save and
quit; ``?`` shows the step's help and source, ``s`` records that the caller asked for
something sensitive. Text the staffer or the caller typed is printed as plain text
(``rich.text.Text``), never read as markup.
"""

from __future__ import annotations

import contextlib
import textwrap
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import questionary
from prompt_toolkit.filters import Condition
from prompt_toolkit.key_binding import KeyBindings, merge_key_bindings
from prompt_toolkit.keys import Keys
from prompt_toolkit.styles import Style
from questionary import Choice, Separator

from wizard.base.safetext import markup
from wizard.calls.call import Call, Suggestion, check_location
from wizard.calls.engine import Step, StepKind, Visit
from wizard.calls.journal import Journal
from wizard.flows import answers as answer_rules
from wizard.flows.nodes import (
    CheckNode,
    NoteNode,
    TextNode,
    Validator,
)
from wizard.frontends.terminal.screen import Screen
from wizard.frontends.terminal.wording import worded
from wizard.service import turns
from wizard.service.guidance import (
    SENSITIVE_KINDS,
    SOCIAL_ENGINEERING,
    SOCIAL_ENGINEERING_SOURCE,
)

if TYPE_CHECKING:  # guided halving is its own command
    from rich.console import Console

    from wizard.halving.search import Verdict
    from wizard.halving.session import Session

NOTE, BACK, QUIT, END, HELP, SENSITIVE = (":note", ":back", ":quit", ":end", ":help",
                                          ":sensitive")
COMMANDS = (NOTE, BACK, QUIT, END, HELP, SENSITIVE)
ESCAPE = ":escape"

STYLE = Style([("qmark", "fg:#5f87ff bold"), ("question", "bold"),
               ("answer", "fg:#00af87 bold"), ("pointer", "fg:#5f87ff bold"),
               ("highlighted", "fg:#5f87ff bold"), ("instruction", "fg:#808080"),
               ("placeholder", "fg:#808080 italic")])

RECAP_ANSWERS = 4
"""How many of the latest answers the resume recap shows."""


def _share_default_bindings() -> None:
    """Build prompt_toolkit's default key bindings (basic, Emacs, Vi, mouse, page
    navigation: about 6,000 bindings) once per process instead of for every prompt.

    Each questionary prompt is a new prompt_toolkit ``Application`` (a choice list is
    two), and each builds these from scratch: most of the time from Enter to the next
    question. They hold no state of their own (every filter and handler reads the
    running application), so one set serves every prompt of the call, one at a time."""
    import functools

    from prompt_toolkit.application import application

    for name in ("load_key_bindings", "load_page_navigation_bindings"):
        build = getattr(application, name)
        if not hasattr(build, "cache_info"):
            setattr(application, name, functools.cache(build))


_share_default_bindings()


def _typed_sequences() -> KeyBindings:
    """What a terminal sends for an escape sequence typed or pasted at a prompt
    (``ESC[31m``, a colour code copied with the text): prompt_toolkit reads it as a mouse
    report, and its mouse handler fails on it (a traceback, then "Press ENTER to
    continue"). No prompt here turns mouse reports on, so none is a real click: in a text
    field the sequence goes into the line as typed, where the field's check refuses it
    (:func:`control_refusal`) and the staffer sees it to clear; elsewhere it is dropped."""
    keys = KeyBindings()

    @keys.add(Keys.Vt100MouseEvent, eager=True)
    def _typed(event: Any) -> None:
        if event.app.layout.current_buffer is not None:
            event.app.layout.current_buffer.insert_text(event.data)

    return keys


TYPED_SEQUENCES = _typed_sequences()


def control_refusal(value: str) -> str | None:
    """The one-line refusal of a text prompt for a line holding an escape sequence or
    another control character (what :func:`answer_rules.check_free_text` refuses)."""
    try:
        answer_rules.check_free_text(value, len(value) + 1)
    except answer_rules.AnswerError:
        return ("Escape sequences and control characters cannot be typed here: clear the "
                "line (Ctrl-U) and type the answer as plain text")
    return None


def _guarded(question: questionary.Question) -> questionary.Question:
    """A prompt that takes a typed escape sequence without failing (see
    :func:`_typed_sequences`)."""
    if getattr(question, "application", None) is not None:
        _with_keys(question, TYPED_SEQUENCES)
    return question


def confirm(message: str) -> bool:
    return bool(_guarded(questionary.confirm(message, default=False, style=STYLE))
                .unsafe_ask())



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

class QuitCall(Exception):
    """The staffer chose to stop; the call is saved and can be resumed."""


class CallAbandoned(Exception):
    """The staffer ended the call early; it is recorded with status "abandoned"."""


def _extras() -> list[Any]:
    return [
        Separator(),
        Choice("Add a note to this step", value=NOTE, shortcut_key="n"),
        Choice("Change an earlier answer", value=BACK, shortcut_key="b"),
        Choice("End the call early (hung up, wrong number, duplicate)", value=END,
               shortcut_key="e"),
        Choice("Save and quit (resume later)", value=QUIT, shortcut_key="q"),
    ]


def _one_line(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: max(width - 3, 1)].rsplit(" ", 1)[0] + "..."


def _with_keys(question: questionary.Question, bindings: KeyBindings) -> questionary.Question:
    """Add key bindings to a questionary prompt (they win over its own)."""
    app = question.application
    app.key_bindings = merge_key_bindings([app.key_bindings or KeyBindings(), bindings])
    return question


def _inquirer(question: questionary.Question) -> Any:
    from questionary.prompts.common import InquirerControl

    for window in question.application.layout.find_all_windows():
        if isinstance(window.content, InquirerControl):
            return window.content
    raise AssertionError("no choice list in this prompt")  # pragma: no cover


def Text(*args: Any, **kwargs: Any) -> Any:  # noqa: N802 - stands for rich's Text
    """rich's Text, imported when rich first draws something (see :mod:`.screen`)."""
    from rich.text import Text as RichText

    return RichText(*args, **kwargs)


def Panel(*args: Any, **kwargs: Any) -> Any:  # noqa: N802 - stands for rich's Panel
    """rich's Panel, imported when the first panel is drawn (not on the way to the first
    question: the call's header is plain lines)."""
    from rich.panel import Panel as RichPanel

    return RichPanel(*args, **kwargs)


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


class LiveCall:
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

    @property
    def console(self) -> Console:
        """rich's console, made when first used (see :mod:`.screen`)."""
        return self.screen.console

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

    def _on_disk(self) -> None:
        """The call's journal to the disk itself (fsync). A disk that fails is told at
        the next answer, which is then not taken."""
        journal = self.call.journal
        if journal is not None:
            with contextlib.suppress(OSError):
                journal.sync()

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
        choices: list[Any] = [
            Choice("The caller hung up", value="hung_up", shortcut_key="1"),
            Choice("Wrong number (not an IPsec or network problem)", value="wrong_number",
                   shortcut_key="2"),
            Choice("Duplicate of an existing ticket", value="duplicate", shortcut_key="3"),
            Choice("Another reason (type it)", value=":other", shortcut_key="4"),
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
        self.call.abandon(str(reason), duplicate_of)
        raise CallAbandoned()

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


def _free_text_check(what: str, limit: int = answer_rules.MAX_ANSWER
                     ) -> Callable[[str], bool | str]:
    """A prompt's validator: the limits of :func:`answer_rules.check_free_text`."""
    def check(value: str) -> bool | str:
        refused = control_refusal(value)
        if refused:
            return refused
        try:
            answer_rules.check_free_text(value.strip(), limit, what)
        except answer_rules.AnswerError as exc:
            return str(exc)[:1].upper() + str(exc)[1:]
        return True
    return check


def _shown_choice(choices: list[Any]) -> Callable[[Any], str | None]:
    """The answer of a choice list as shown: the picked choice's label; nothing for the
    help and sensitive-request keys (the question is asked again)."""
    titles = {c.value: str(c.title) for c in choices if isinstance(c, Choice)}

    def shown(result: Any) -> str | None:
        if result in (HELP, SENSITIVE, ESCAPE):
            return None
        return titles.get(result, str(result or ""))

    return shown


def _empty_buffer() -> bool:
    from prompt_toolkit.application.current import get_app

    return not get_app().current_buffer.text


# -- guided service halving --------------------------------------------------------------

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
