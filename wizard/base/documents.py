"""What every user document (flowchart, answers file, organization file) shares, and
nothing that parses it: the one-line :class:`DocumentError`, :class:`LineDict` (a mapping
that remembers the line of each key), the bounds on a document and a short preview of
user input for messages.

Kept apart from :mod:`wizard.base.yamlio` so that code handling documents already
parsed (the flowchart set read from its cache, before the first question) does not load
the YAML parsers.
"""

from __future__ import annotations

import reprlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from wizard.base.errors import ExitStatus, TriageError

MAX_DOCUMENT_BYTES = 8 * 1024 * 1024
"""Largest flowchart, answers or organization file read (the shipped ones are < 100 kB;
a flowchart of 50,000 questions is about 7 MB)."""
MAX_DEPTH = 64
"""Deepest nesting of mappings and lists in one document."""
MAX_NODES = 1_000_000
"""Most values in one document, counting every use of an alias in full (an alias bomb,
nine levels of nine-fold anchors, would expand to 387 million)."""

_PREVIEW = reprlib.Repr()
_PREVIEW.maxstring = 60
_PREVIEW.maxother = 60
_PREVIEW.maxlist = _PREVIEW.maxdict = _PREVIEW.maxtuple = _PREVIEW.maxset = 4
_PREVIEW.maxlevel = 2


def preview(value: Any) -> str:
    """A short repr of user input, whatever its size (error messages never echo a
    whole document)."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 200:
        return f"<an integer of {value.bit_length()} bits>"
    return _PREVIEW.repr(value)


def did_you_mean(word: str, known: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the known name closest to a misspelt one, or ""."""
    import difflib  # only when something is misspelt

    close = difflib.get_close_matches(word, list(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def shorten(text: str, limit: int = 160) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


class DocumentError(TriageError):
    """A user file could not be used. ``str()`` is one line: ``file:line: message``."""

    status = ExitStatus.NOT_FOUND

    def __init__(self, path: str | Path, line: int | None, message: str) -> None:
        self.path = str(path)
        self.line = line
        self.message = message
        where = f"{self.path}:{line}" if line else self.path
        super().__init__(f"{where}: {message}")


class LineDict(dict[str, Any]):
    """A dict that knows the (1-based) line of itself and of each key."""

    line: int = 0
    key_lines: dict[str, int]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.key_lines = {}
