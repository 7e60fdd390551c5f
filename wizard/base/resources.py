"""Where the shipped flowcharts and templates are.

In an installed wheel they live inside the package (``wizard/flowcharts``,
``wizard/templates``); in a source checkout they are the top-level folders.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parents[1]


def builtin_dir(name: str) -> Path:
    inside = _PACKAGE / name
    if inside.is_dir():
        return inside
    return _PACKAGE.parent / name
