"""Strict, sandboxed Jinja rendering of the short texts inside flowcharts.

Most texts only put answers in (``{{ target }}``, ``{{ target_ip or target }}``):
those are filled in directly, with exactly Jinja's result, and anything else (or a
name that is not set) goes through Jinja. Jinja is imported the first time a text
needs it, not when the wizard starts.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Mapping
from typing import Any

from wizard.base.errors import ExitStatus, TriageError

_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_SIMPLE = re.compile(r"\{\{ *(" + _NAME + r")(?: +or +(" + _NAME + r"))? *\}\}")
_CONSTANTS = frozenset({"true", "false", "none", "True", "False", "None", "or", "and",
                        "not", "in", "is", "if", "else"})


class TextError(TriageError):
    """A flowchart text could not be rendered (syntax error or undefined name)."""

    status = ExitStatus.CONFIG


def _is_address(value: Any) -> bool:
    try:
        ipaddress.ip_address(str(value).strip())
    except ValueError:
        return False
    return True


@functools.lru_cache(maxsize=1)
def _env() -> Any:
    from jinja2 import StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)
    env.tests["address"] = _is_address
    return env


@functools.lru_cache(maxsize=2048)
def _compile(source: str) -> Any:
    return _env().from_string(source)


def variables(source: str) -> set[str]:
    """Names a text uses; raises TextError on a syntax error."""
    if "{" not in source:
        return set()  # every Jinja tag, expression and comment starts with "{"
    return set(_variables(source))


@functools.lru_cache(maxsize=2048)
def _variables(source: str) -> frozenset[str]:
    """The names of :func:`variables`, parsed once per text (a server evaluates the
    same conditions on every page; an error is not kept, it is raised each time)."""
    from jinja2 import TemplateSyntaxError, meta, nodes

    try:
        tree = _env().parse(source)
    except TemplateSyntaxError as exc:
        raise TextError(f"template error: {exc.message}") from None
    if all(isinstance(part, nodes.Output) for part in tree.body):
        # text and {{ expressions }} only: every name read is a variable of the call
        # (a tenth of the cost of Jinja's general analysis, which compiles the text)
        return frozenset(n.name for n in tree.find_all(nodes.Name) if n.ctx == "load")
    try:
        return frozenset(meta.find_undeclared_variables(tree))
    except TemplateSyntaxError as exc:
        raise TextError(f"template error: {exc.message}") from None


def _fill(source: str, context: Mapping[str, Any]) -> str | None:
    """Jinja's result for a text of plain words and ``{{ name }}`` / ``{{ a or b }}``
    only, or None for anything else (then Jinja renders it, or says what is wrong)."""
    if "\r" in source:
        return None  # Jinja normalizes line ends
    out: list[str] = []
    pos = 0
    for m in _SIMPLE.finditer(source):
        literal = source[pos:m.start()]
        if "{" in literal:
            return None
        first, second = m.group(1), m.group(2)
        if first in _CONSTANTS or second in _CONSTANTS or first not in context:
            return None
        value = context[first]
        if second is not None and not value:
            if second not in context:
                return None
            value = context[second]
        out.append(literal)
        out.append(str(value))
        pos = m.end()
    tail = source[pos:]
    if "{" in tail:
        return None
    out.append(tail[:-1] if tail.endswith("\n") else tail)  # Jinja drops one final newline
    return "".join(out)


def render(source: str, context: Mapping[str, Any]) -> str:
    if "{" not in source:
        return source
    filled = _fill(source, context)
    if filled is not None:
        return filled
    from jinja2 import TemplateSyntaxError

    try:
        return str(_compile(source).render(**context))
    except TemplateSyntaxError as exc:
        raise TextError(f"template error: {exc.message}") from None
    except Exception as exc:  # StrictUndefined and sandbox errors
        raise TextError(f"cannot render text: {exc}") from None


@functools.lru_cache(maxsize=512)
def _compile_expression(source: str) -> Any:
    return _env().compile_expression(source)


def condition(source: str, context: Mapping[str, Any]) -> bool:
    """Evaluate a branch condition (a Jinja expression) against earlier answers.
    A name not set on this route counts as empty."""
    from jinja2 import TemplateSyntaxError

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


def render_lenient(source: str, context: Mapping[str, Any], missing: str) -> str:
    """Render with every name not set on this route shown as ``missing`` (for texts such
    as a known issue's ticket line, which may name answers a route did not ask)."""
    scope = {name: missing for name in variables(source)}
    scope.update({k: v for k, v in context.items() if v not in (None, "")})
    return render(source, scope)
