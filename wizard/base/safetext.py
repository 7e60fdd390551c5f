"""Printing text a person typed: always as text, never as console markup.

Caller names, notes, staffer names, host names and answers go through :func:`plain`
(or are the values of :func:`markup`) before reaching a Rich console, so ``[/x]``,
``[bold]``, a trailing backslash or ``:smile:`` in them are shown as typed and can
never break a screen.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # rich is imported when something is printed, not at start-up
    from rich.text import Text

_SLOT = "\ue000"  # a private-use character: never in our templates


def plain(value: object, style: str = "") -> Text:
    """``value`` as literal text (no markup, no emoji codes)."""
    from rich.text import Text

    return Text(str(value), style=style)


def markup(template: str, *values: object) -> Text:
    """Our own markup ``template`` with ``{}`` fields filled by typed ``values``; each
    value is inserted as literal text after the markup is parsed, taking the style
    around its field: ``markup("[bold]Call {}[/bold] · {}", call_id, staffer)``."""
    from rich.text import Text

    parts = template.split("{}")
    if len(parts) != len(values) + 1:
        raise ValueError(f"markup template needs {len(parts) - 1} values, got {len(values)}")
    parsed = Text.from_markup(_SLOT.join(parts), emoji=False)
    out = Text(style=parsed.style, end=parsed.end)
    pos = 0
    index = 0
    for i, char in enumerate(parsed.plain + _SLOT):
        if char != _SLOT:
            continue
        out.append_text(parsed[pos:i])
        if index < len(values):
            start = len(out)
            out.append(str(values[index]))
            for span in parsed.spans:
                if span.start <= i < span.end:
                    out.stylize(span.style, start, len(out))
        index += 1
        pos = i + 1
    return out


def spreadsheet_safe(text: str) -> str:
    """Text a spreadsheet will not run as a formula (CSV cells: ``=HYPERLINK(...)``,
    ``+``, ``-``, ``@``, a tab or a carriage return at the start gets a leading ``'``)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
