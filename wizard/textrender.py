"""Strict, sandboxed Jinja rendering of the short texts inside flowcharts."""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Mapping
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, meta
from jinja2.sandbox import SandboxedEnvironment

_ENV = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)


def _is_address(value: Any) -> bool:
    try:
        ipaddress.ip_address(str(value).strip())
    except ValueError:
        return False
    return True


_ENV.tests["address"] = _is_address


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


@functools.lru_cache(maxsize=512)
def _compile_expression(source: str) -> Any:
    return _ENV.compile_expression(source)


def condition(source: str, context: Mapping[str, Any]) -> bool:
    """Evaluate a branch condition (a Jinja expression) against earlier answers.
    A name not set on this route counts as empty."""
    try:
        expr = _compile_expression(source)
    except TemplateSyntaxError as exc:
        raise TextError(f"template error: {exc.message}") from None
    names = variables("{{ " + source + " }}")
    scope = {name: "" for name in names}
    scope.update(context)
    try:
        return bool(expr(**scope))
    except Exception as exc:
        raise TextError(f"cannot evaluate condition {source!r}: {exc}") from None
