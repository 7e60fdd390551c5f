"""Strict, sandboxed Jinja rendering of the short texts inside flowcharts."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, meta
from jinja2.sandbox import SandboxedEnvironment

_ENV = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)


class TextError(Exception):
    """A flowchart text could not be rendered (syntax error or undefined name)."""


@functools.lru_cache(maxsize=2048)
def _compile(source: str) -> Any:
    return _ENV.from_string(source)


def variables(source: str) -> set[str]:
    """Names a text uses; raises TextError on a syntax error."""
    try:
        return set(meta.find_undeclared_variables(_ENV.parse(source)))
    except TemplateSyntaxError as exc:
        raise TextError(f"template error: {exc.message}") from None


def render(source: str, context: Mapping[str, Any]) -> str:
    if "{" not in source:
        return source
    try:
        return str(_compile(source).render(**context))
    except TemplateSyntaxError as exc:
        raise TextError(f"template error: {exc.message}") from None
    except Exception as exc:  # StrictUndefined and sandbox errors
        raise TextError(f"cannot render text: {exc}") from None
