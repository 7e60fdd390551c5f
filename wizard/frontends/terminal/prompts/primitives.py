"""The prompt primitives of the terminal: questionary and prompt_toolkit set up once
(the style, the shared default key bindings, what a typed escape sequence does), the
commands every prompt offers, the refusal of control characters, :func:`confirm`, and
rich's Text and Panel imported when first drawn. This package is the only place that
imports questionary."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import questionary
from prompt_toolkit.key_binding import KeyBindings, merge_key_bindings
from prompt_toolkit.keys import Keys
from prompt_toolkit.styles import Style
from questionary import Choice

from wizard.flows import answer_rules

NOTE, BACK, QUIT, END, HELP, SENSITIVE = (":note", ":back", ":quit", ":end", ":help",
                                          ":sensitive")
COMMANDS = (NOTE, BACK, QUIT, END, HELP, SENSITIVE)
ESCAPE = ":escape"

STYLE = Style([("qmark", "fg:#5f87ff bold"), ("question", "bold"),
               ("answer", "fg:#00af87 bold"), ("pointer", "fg:#5f87ff bold"),
               ("highlighted", "fg:#5f87ff bold"), ("instruction", "fg:#808080"),
               ("placeholder", "fg:#808080 italic")])


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



class QuitCall(Exception):
    """The staffer chose to stop; the call is saved and can be resumed."""


class CallAbandoned(Exception):
    """The staffer ended the call early; it is recorded with status "abandoned"."""



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
