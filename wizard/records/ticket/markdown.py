"""Markdown escaping: every ``{{ ... }}`` of the Markdown ticket is escaped as its last step
(``finalize``), whatever filter touched it, unless it is :class:`MarkdownSafe`."""

from __future__ import annotations

import re
from typing import Any

from markupsafe import Markup

from wizard.records.ticket.bounds import _charge_output

_MD_SPECIAL = re.compile(r"[\\`*_\[\]|~<>&]")
_MD_ENTITY = {"<": "&lt;", ">": "&gt;", "&": "&amp;"}
_PUNCTUATION = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")


def _escape_special(match: re.Match[str]) -> str:
    char, at, text = match.group(0), match.start(), match.string
    if char in _MD_ENTITY:
        return _MD_ENTITY[char]
    after = text[at + 1:at + 2]
    if char == "\\" and after and after not in _PUNCTUATION:
        return char  # only a backslash before punctuation (or at the end) escapes
    if char == "_" and text[at - 1:at].isalnum() and after.isalnum():
        return char  # inside a word (fig7_1) it never starts emphasis
    return "\\" + char


_MD_BLOCK = re.compile(r"[ \t]*(?:(#)#{0,5}(?=[ \t]|$)|([+-])(?=[ \t]|$)|(=)=*[ \t]*$"
                       r"|(-)[ \t-]*$|\d{1,9}([.)])(?=[ \t]|$))")
"""What would start a heading, quote, list, rule or setext underline at a line's start."""
_SCHEME = re.compile(r"[\x00-\x20]*([A-Za-z][A-Za-z0-9+.-]*)(:)(\s?)")
_LINK_SCHEMES = frozenset({"http", "https", "mailto"})
_RUNNABLE_SCHEMES = frozenset({"javascript", "vbscript", "data", "file"})
_LINE_BREAKS = re.compile(r"\r\n|[\r\n\v\f\x1c-\x1e\x85\u2028\u2029]")


def markdown_escape(value: object) -> str:
    """``value`` as Markdown text that shows exactly what it says: on one line, with every
    character Markdown or HTML would act on escaped (``\\ ` * _ [ ] | ~ < > &``), nothing
    at its start that could open a heading, quote or list, and no link target of a
    scheme other than http(s) and mailto (a zero-width space before the colon of
    ``javascript:``, ``data:``, ... makes it a relative link that does nothing)."""
    text = _LINE_BREAKS.sub(" ", str(value))
    scheme = _SCHEME.match(text)
    if scheme and scheme.group(1).lower() not in _LINK_SCHEMES and (
            not scheme.group(3) or scheme.group(1).lower() in _RUNNABLE_SCHEMES):
        text = text[:scheme.start(2)] + "\u200b" + text[scheme.start(2):]
    text = _MD_SPECIAL.sub(_escape_special, text)
    block = _MD_BLOCK.match(text)
    if block:
        at = next(block.start(g) for g in range(1, 6) if block.group(g))
        text = text[:at] + "\\" + text[at:]
    return text


class MarkdownSafe(Markup):
    """Markdown that is printed as it is: what ``|safe``, ``|e`` and ``|code`` make. Like
    MarkupSafe's ``Markup`` (which it is, with Markdown's escaping in place of HTML's),
    whatever is joined to it, put into it or formatted into it is escaped first."""

    __slots__ = ()

    @classmethod
    def escape(cls, s: Any, /) -> MarkdownSafe:
        return s if isinstance(s, MarkdownSafe) else cls(markdown_escape(s))


def _markdown_output(value: Any) -> Any:
    """The Markdown ticket's ``finalize``: every ``{{ ... }}`` is escaped as its last step,
    after whatever filter (``|upper``, ``|replace``, ``~``) touched it, unless it is
    :class:`MarkdownSafe`; numbers are printed as they are."""
    _charge_output(value)
    if isinstance(value, MarkdownSafe) or type(value) in (int, float, bool):
        return value
    return markdown_escape(value)


def _markdown_code(value: Any, cell: bool = False) -> MarkdownSafe:
    """``|code``: ``value`` as a Markdown code span (shown exactly, whatever backquotes it
    holds); ``cell=True`` inside a table, where a ``|`` must still be escaped."""
    text = _LINE_BREAKS.sub(" ", str(value))
    if not text:
        return MarkdownSafe("")
    fence = "`" * (max((len(run) for run in re.findall("`+", text)), default=0) + 1)
    if text[0] in "` " or text[-1] in "` ":
        text = f" {text} "
    if cell:
        text = text.replace("|", "\\|")
    return MarkdownSafe(f"{fence}{text}{fence}")
