"""Where the wizard writes during a call: rich's console, made when it is first needed.

What comes before the first question (the call's header, a caution box, the step's
header, the key hint) is a few styled lines: they are written with prompt_toolkit's
``print_formatted_text``, which the prompts have loaded already, so rich (about a fifth
of the time to the first question) is not loaded before the first question is on the
screen. Once rich's console has been made (for a table, a progress bar, a panel with
several styles, or simply by the loading done while the first question waits), every
line goes through it. Lines look the same either way: the same styles, the same word
wrapping at the terminal's width, the same rounded box.

Text a person typed is always passed as text, never as markup, on both ways.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Sequence
from typing import IO, TYPE_CHECKING, Any, TextIO, cast

from wizard.frontends.terminal.environment import isatty

if TYPE_CHECKING:
    from prompt_toolkit.output import Output
    from prompt_toolkit.styles import BaseStyle
    from rich.console import Console

Part = tuple[str, str]
"""(text, style): a piece of a line, the style in rich's words ("bold", "dim",
"italic", a colour name or "#5f87ff")."""

_COLOURS = ("black", "red", "green", "yellow", "blue", "magenta", "cyan", "white")
_ATTRIBUTES = ("bold", "dim", "italic", "underline", "reverse", "strike", "blink")


def pt_style(style: str) -> str:
    """A rich style (the few words the wizard uses) as prompt_toolkit writes it. A word
    outside them is refused: a line would not look the same both ways."""
    words = []
    for word in style.split():
        if word in _ATTRIBUTES or (word.startswith("#") and len(word) == 7):
            words.append(word)
        elif word in _COLOURS:
            words.append(f"ansi{word}")
        else:
            raise ValueError(f"style {word!r} has no prompt_toolkit twin here")
    return " ".join(words)


def wrap_parts(parts: Sequence[Part], width: int) -> list[list[Part]]:
    """The line cut at word boundaries to ``width`` columns (as rich wraps a Text),
    each piece keeping its style. Hard line breaks in the text start new lines."""
    from prompt_toolkit.utils import get_cwidth

    plain = "".join(text for text, _ in parts)
    styles = [style for text, style in parts for _ in text]
    lines: list[list[Part]] = []
    offset = 0
    for row in plain.split("\n"):
        pieces = textwrap.wrap(row, width=max(width, 1), break_long_words=True,
                               break_on_hyphens=False, replace_whitespace=False,
                               expand_tabs=False) if get_cwidth(row) > width else [row]
        at = offset
        for piece in pieces or [""]:
            at = plain.index(piece, at) if piece else at
            line: list[Part] = []
            for i, char in enumerate(piece):
                style = styles[at + i]
                if line and line[-1][1] == style:
                    line[-1] = (line[-1][0] + char, style)
                else:
                    line.append((char, style))
            lines.append(line)
            at += len(piece)
        offset += len(row) + 1
    return lines


def box_lines(title: str, text: str, width: int) -> list[str]:
    """A box around ``text`` as rich's Panel draws it (rounded corners, the title in
    the top border, one space of padding, as wide as its text needs), wrapped to fit
    ``width`` columns."""
    from prompt_toolkit.utils import get_cwidth

    inner = max(width - 4, 10)
    rows: list[str] = []
    for paragraph in text.split("\n"):
        rows += textwrap.wrap(paragraph, width=inner, break_long_words=True,
                              break_on_hyphens=False) or [""]
    label = f" {title} "
    # as wide as the longest paragraph unwrapped, at most the room there is
    size = min(max([get_cwidth(p) for p in text.split("\n")] + [get_cwidth(label) + 2]),
               inner)
    left = (size - get_cwidth(label)) // 2
    right = size - get_cwidth(label) - left
    out = ["╭─" + "─" * left + label + "─" * right + "─╮"]
    out += [f"│ {r}{' ' * (size - get_cwidth(r))} │" for r in rows]
    out.append("╰─" + "─" * size + "─╯")
    return out


class Screen:
    """The call's output: ``make`` builds the rich console when something needs it."""

    def __init__(self, make: Callable[[], Console], stdout: IO[str]) -> None:
        self._make = make
        self._stdout = stdout
        self._console: Console | None = None
        self._output: Output | None = None
        self._style: BaseStyle | None = None

    @classmethod
    def of(cls, console: Console) -> Screen:
        """A screen on a console already made (every line goes through it)."""
        screen = cls(lambda: console, console.file)
        screen._console = console
        return screen

    @property
    def console(self) -> Console:
        if self._console is None:
            self._console = self._make()
        return self._console

    @property
    def output(self) -> Output:
        if self._output is None:
            from prompt_toolkit.output import create_output

            self._output = create_output(stdout=cast(TextIO, self._stdout))
        return self._output

    @property
    def width(self) -> int:
        if self._console is not None:
            return self._console.width
        return self.output.get_size().columns

    @property
    def is_terminal(self) -> bool:
        if self._console is not None:
            return self._console.is_terminal
        return isatty(self._stdout)

    def line(self, *parts: Part, soft_wrap: bool = False) -> None:
        """One line of styled text (several if it has line breaks or is wider than the
        terminal: cut at word boundaries unless ``soft_wrap``, which leaves a long line
        whole for the terminal to fold, e.g. a command to copy)."""
        if self._console is not None:
            from rich.text import Text

            text = Text()
            for piece, style in parts:
                text.append(piece, style=style)
            self._console.print(text, soft_wrap=soft_wrap)
            return
        lines = ([[(t, s) for t, s in parts]] if soft_wrap
                 else wrap_parts(parts, self.width))
        self._print([frag for i, line in enumerate(lines)
                     for frag in ([("\n", "")] if i else []) + line])

    def box(self, title: str, text: str, border_style: str) -> None:
        """``text`` (plain, never markup) in a box with ``title``."""
        if self._console is not None:
            from rich.panel import Panel
            from rich.text import Text

            self._console.print(Panel(Text(text), title=title, border_style=border_style,
                                      expand=False))
            return
        rows = box_lines(title, text, self.width)
        fragments: list[Part] = [(rows[0], border_style)]
        for row in rows[1:-1]:
            fragments += [("\n", ""), (row[:2], border_style), (row[2:-2], ""),
                          (row[-2:], border_style)]
        fragments += [("\n", ""), (rows[-1], border_style)]
        self._print(fragments)

    def erase_line(self) -> None:
        """Back to the start of the row and clear it (what an erased prompt left)."""
        if self._console is not None:
            from rich.control import Control
            from rich.segment import ControlType

            self._console.control(Control(ControlType.CARRIAGE_RETURN,
                                          (ControlType.ERASE_IN_LINE, 0)))
            return
        self.output.write_raw("\r")
        self.output.erase_end_of_line()
        self.output.flush()

    def _print(self, parts: list[Part]) -> None:
        """The pieces and a line break, by prompt_toolkit's renderer with the styles
        written in the pieces only (``print_formatted_text`` of the shortcuts merges
        prompt_toolkit's whole default style first, at each call)."""
        from prompt_toolkit.formatted_text import FormattedText
        from prompt_toolkit.renderer import print_formatted_text
        from prompt_toolkit.styles import Style

        if self._style is None:
            self._style = Style([])
        fragments: list[Any] = [(pt_style(style), text) for text, style in parts]
        fragments.append(("", "\n"))
        print_formatted_text(self.output, FormattedText(fragments), self._style)
        self.output.flush()

