"""The lines before the first question are drawn without rich, and look as rich draws
them: the same words on the same rows, the same box, the same styles."""

from __future__ import annotations

import io

import pytest
from rich.console import Console
from rich.panel import Panel
from rich.text import Text

from wizard.frontends.terminal.screen import Screen, box_lines, pt_style, wrap_parts

CAUTION = ("Social engineering: do not tell the caller which computers are on the "
           "exemption list, which computers are not in the isolation solution, who the "
           "administrators are.\n\nThe chapter, Tier 1.")


def _rich(renderable: object, width: int, **kw: object) -> list[str]:
    out = io.StringIO()
    Console(file=out, width=width, color_system=None, highlight=False).print(renderable, **kw)
    return [line.rstrip() for line in out.getvalue().splitlines()]


@pytest.mark.parametrize("width", [30, 47, 80, 120])
def test_a_box_is_the_box_rich_draws(width: int) -> None:
    ours = [row.rstrip() for row in box_lines("Caution", CAUTION, width)]
    assert ours == _rich(Panel(Text(CAUTION), title="Caution", expand=False), width)


@pytest.mark.parametrize("width", [20, 33, 60, 100])
def test_a_styled_line_wraps_at_the_words_rich_wraps_at(width: int) -> None:
    parts = [("ipsec-triage", "bold blue"), (" · ", ""), ("Call 20261205-101010-abcd", "bold"),
             (" · staffer Ann Example · running on the help desk's computer", ""),
             ("\nFlowcharts: /srv/flowcharts (the shipped set); set 141eb105", "dim")]
    text = Text()
    for piece, style in parts:
        text.append(piece, style=style)
    rows = ["".join(t for t, _ in line).rstrip() for line in wrap_parts(parts, width)]
    assert rows == _rich(text, width)


def test_each_piece_keeps_its_style_across_a_wrap() -> None:
    lines = wrap_parts([("one two ", "bold"), ("three four", "dim")], 9)
    assert lines == [[("one two", "bold")], [("three", "dim")], [("four", "dim")]]


def test_only_styles_both_ways_can_draw_are_taken() -> None:
    assert pt_style("bold #5f87ff") == "bold #5f87ff"
    assert pt_style("bold dim blue") == "bold dim ansiblue"
    with pytest.raises(ValueError, match="on_red"):
        pt_style("white on_red")


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_typed_text_is_printed_as_typed_and_rich_takes_over_once_made() -> None:
    out = _Tty()
    made: list[Console] = []

    def make() -> Console:
        made.append(Console(file=out, width=80, force_terminal=True, highlight=False))
        return made[0]

    screen = Screen(make, out)
    screen.line(("Caller: ", "bold"), ("[bold]Ann[/bold] :smile: \\", ""))
    screen.box("Note", "[red]x[/red]", "cyan")
    assert not made  # nothing needed rich yet
    assert "[bold]Ann[/bold] :smile: \\" in out.getvalue()
    assert "[red]x[/red]" in out.getvalue()
    assert "\x1b[" in out.getvalue()  # a terminal: styled
    screen.console.print("made")
    screen.line(("[b]typed[/b]", "dim"))
    assert len(made) == 1 and out.getvalue().rstrip().endswith("[b]typed[/b]\x1b[0m")
