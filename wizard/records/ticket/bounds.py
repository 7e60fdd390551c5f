"""The bounds of a ticket's rendering: no expression makes more than :data:`MAX_SIZE`, and a
whole ticket no more than :data:`MAX_OUTPUT` characters, :data:`MAX_STEPS` loop turns and
calls, and :data:`MAX_SECONDS` (parsed templates are rewritten so that loops and joins
count)."""

from __future__ import annotations

import contextvars
import dataclasses
import functools
import re
import time
from collections.abc import Callable, Iterator
from typing import Any

MAX_RANGE = 1000
"""Most items a template's ``range()`` may make (a ticket lists tens of steps)."""


def _bounded_range(*args: int) -> range:
    items = range(*args)
    if len(items) > MAX_RANGE:
        raise OverflowError(f"range() of {len(items):,} items; templates may use at most "
                            f"{MAX_RANGE:,}")
    return items


MAX_SIZE = 100_000
"""Longest text or list a template expression may make (``*``, ``lipsum()``, a width)."""

MAX_BITS = 64 * 1024
"""Largest integer (in bits) a template's ``*`` or ``**`` may make."""

_BIG_WIDTH = re.compile(r"\d{6,}")


def _refuse(what: str) -> None:
    from jinja2.exceptions import SecurityError

    raise SecurityError(f"{what}; templates may make at most {MAX_SIZE:,} characters or items")


def _length(value: Any) -> int | None:
    return len(value) if isinstance(value, (str, bytes, list, tuple)) else None


def _check_binop(operator: str, left: Any, right: Any) -> None:
    """Refuse ``*``, ``**``, ``%`` and ``+`` whose result would be huge, before computing
    it."""
    if operator == "+":
        first, second = _length(left), _length(right)
        if first is not None and second is not None and first + second > MAX_SIZE:
            _refuse(f"'+' would make {first + second:,} characters or items")
    elif operator == "*":
        for seq, times in ((left, right), (right, left)):
            size = _length(seq)
            if size is not None and isinstance(times, int) and size * times > MAX_SIZE:
                _refuse(f"'*' would make {size * times:,} characters or items")
        if (isinstance(left, int) and isinstance(right, int)
                and left.bit_length() + right.bit_length() > MAX_BITS):
            _refuse("'*' would make a number too large")
    elif operator == "**":
        if (isinstance(left, int) and isinstance(right, int) and abs(left) > 1
                and right > 0 and left.bit_length() * right > MAX_BITS):
            _refuse("'**' would make a number too large")
    elif operator == "%" and isinstance(left, str) and _BIG_WIDTH.search(left):
        _refuse("a '%' format with a width over 99,999")


MAX_OUTPUT = 1_000_000
"""Most characters one ticket's rendering may make (a ticket of tens of steps is ~10,000),
counting what loops and captured blocks make and then leave out."""

MAX_STEPS = 200_000
"""Most loop turns and calls one ticket's rendering may make."""

MAX_SECONDS = 2.0
"""Longest one ticket's rendering may take (it runs inside the request that ends a call)."""

MAX_TEMPLATE = 256 * 1024
"""Largest template file (characters)."""


class TemplateBudgetError(Exception):
    """A template went over :data:`MAX_OUTPUT`, :data:`MAX_STEPS` or :data:`MAX_SECONDS`."""


@dataclasses.dataclass
class _Budget:
    deadline: float
    chars: int = 0
    steps: int = 0

    def step(self, chars: int = 0) -> None:
        self.steps += 1
        self.chars += chars
        if self.chars > MAX_OUTPUT:
            raise TemplateBudgetError(f"it makes more than {MAX_OUTPUT:,} characters")
        if self.steps > MAX_STEPS:
            raise TemplateBudgetError(f"it makes more than {MAX_STEPS:,} loop turns and calls")
        if time.monotonic() > self.deadline:
            raise TemplateBudgetError(f"it ran longer than {MAX_SECONDS:g} s")


_BUDGET: contextvars.ContextVar[_Budget | None] = contextvars.ContextVar(
    "ticket_budget", default=None)


def _charge(chars: int = 0) -> None:
    budget = _BUDGET.get()
    if budget is not None:
        budget.step(chars)


def _charge_output(value: Any) -> Any:
    """Every ``{{ ... }}`` of a ticket (also inside ``{% set %}`` blocks and macros)."""
    _charge(len(value) if isinstance(value, str) else 0)
    return value


def _loop(items: Any, weight: int) -> Iterator[Any]:
    """A ``{% for %}`` loop's items, each turn counted with the template text it writes."""
    for item in items:
        _charge(weight)
        yield item


def _sized(value: Any) -> Any:
    """A ``~`` join no longer than :data:`MAX_SIZE`."""
    if isinstance(value, str) and len(value) > MAX_SIZE:
        _refuse(f"'~' would make {len(value):,} characters")
    return value


def _replaced_size(text: str, old: str, new: str, count: Any = None) -> int:
    times = text.count(old) if old else len(text) + 1
    if isinstance(count, int) and count >= 0:
        times = min(times, count)
    return len(text) + times * (len(new) - len(old))


def _text_size(value: Any) -> int:
    return len(value) if isinstance(value, (str, list, tuple)) else len(str(value))


#: How long a filter's result would be, from its arguments, worked out before it runs.
_FILTER_SIZES: dict[str, Callable[..., int]] = {
    "replace": lambda value, old, new, count=None: _replaced_size(
        str(value), str(old), str(new), count),
    "join": lambda value, d="", attribute=None: len(value) * len(str(d)) + sum(
        _text_size(i) for i in value),
    "indent": lambda value, width=4, first=False, blank=False: len(str(value)) + (
        str(value).count("\n") + 1) * (width if isinstance(width, int) else len(str(width))),
    "wordwrap": lambda value, width=79, break_long_words=True, wrapstring=None, *_, **__: len(
        str(value)) * (1 + len(wrapstring or "\n")),
    "slice": lambda value, slices, fill_with=None: slices if isinstance(slices, int) else 0,
    "sum": lambda value, attribute=None, start=0: _text_size(start) + sum(
        _text_size(i) for i in value) if isinstance(start, (str, list, tuple)) else 0,
    "tojson": lambda value, indent=None: len(str(value)) * (
        1 + (indent if isinstance(indent, int) else len(str(indent or "")))),
}


def _bounded_filter(name: str, original: Any) -> Any:
    """A filter that refuses, before it runs, a result over :data:`MAX_SIZE` (as
    :data:`_FILTER_SIZES` works it out); its iterable is listed first to be measured."""
    size = _FILTER_SIZES[name]
    skip = 0 if getattr(original, "jinja_pass_arg", None) is None else 1

    @functools.wraps(original)
    def bounded(*args: Any, **kwargs: Any) -> Any:
        value = args[skip] if len(args) > skip else None
        if isinstance(value, Iterator):
            value = list(value)  # a generator (|map, |select) is measured, then used
            args = (*args[:skip], value, *args[skip + 1:])
        made = size(*args[skip:], **kwargs)
        if made > MAX_SIZE:
            _refuse(f"|{name} would make {made:,} characters or items")
        return original(*args, **kwargs)
    return bounded


def _check_str_method(func: Any, args: tuple[Any, ...]) -> None:
    """Refuse a ``str`` method called in a template whose result would be huge."""
    owner = getattr(func, "__self__", None)
    if not isinstance(owner, str):
        return
    name = getattr(func, "__name__", "")
    size = None
    if name == "replace" and len(args) >= 2:
        size = _replaced_size(owner, str(args[0]), str(args[1]), *args[2:3])
    elif name in ("ljust", "rjust", "center", "zfill") and args and isinstance(args[0], int):
        size = args[0]
    elif name == "expandtabs":
        size = len(owner) + owner.count("\t") * (args[0] if args and isinstance(args[0], int)
                                                  else 8)
    elif name == "join" and args:
        items = list(args[0]) if isinstance(args[0], (list, tuple)) else []
        size = len(items) * len(owner) + sum(len(i) for i in items if isinstance(i, str))
    if size is not None and size > MAX_SIZE:
        _refuse(f"str.{name}() would make {size:,} characters")


class _BoundLoops:
    """Rewrites a parsed template so that its work is counted: each ``{% for %}``
    iterates through :func:`_loop` (charged with the literal text of its body, and of
    templates it includes by name), and each ``~`` goes through :func:`_sized`."""

    def __init__(self, env: Any) -> None:
        from jinja2 import nodes
        from jinja2.visitor import NodeTransformer

        outer = self

        class Transformer(NodeTransformer):
            def visit_For(self, node: Any) -> Any:
                node = self.generic_visit(node)
                weight = outer.weight(node)
                node.iter = nodes.Filter(node.iter, "_ticket_loop", [nodes.Const(weight)],
                                         [], None, None, lineno=node.lineno)
                return node

            def visit_Concat(self, node: Any) -> Any:
                node = self.generic_visit(node)
                return nodes.Filter(node, "_ticket_sized", [], [], None, None,
                                    lineno=node.lineno)

        self.nodes = nodes
        self.env = env
        self.transformer = Transformer()

    def weight(self, node: Any) -> int:
        nodes = self.nodes
        weight = 1
        for part in node.body:
            for found in part.find_all((nodes.TemplateData, nodes.Const, nodes.Include)):
                if isinstance(found, nodes.Include):
                    weight += self.include_size(found.template)
                elif isinstance(found.data if isinstance(found, nodes.TemplateData)
                                else found.value, str):
                    weight += len(found.data if isinstance(found, nodes.TemplateData)
                                  else found.value)
        return weight

    def include_size(self, template: Any) -> int:
        from jinja2 import TemplateNotFound

        if isinstance(template, self.nodes.Const) and isinstance(template.value, str):
            try:
                return len(self.env.loader.get_source(self.env, template.value)[0])
            except TemplateNotFound:
                return 0  # said when it is included
        return MAX_TEMPLATE

    def __call__(self, tree: Any) -> Any:
        tree = self.transformer.visit(tree)
        tree.set_environment(self.env)
        return tree


def _bounded_lipsum(n: int = 5, html: bool = True, min: int = 20, max: int = 100) -> str:
    from jinja2.utils import generate_lorem_ipsum

    if n * max > MAX_SIZE:
        _refuse(f"lipsum({n:,}) of up to {max:,} words a paragraph")
    return str(generate_lorem_ipsum(n, html, min, max))


def _bounded_width(name: str, original: Any) -> Any:
    """A filter (``center``, ``indent``, ``format``) that refuses a huge width first."""
    def bounded(value: Any, *args: Any, **kwargs: Any) -> Any:
        widths = [a for a in (*args, *kwargs.values()) if isinstance(a, int)]
        if any(w > MAX_SIZE for w in widths) or (
                name == "format" and isinstance(value, str) and _BIG_WIDTH.search(value)):
            _refuse(f"|{name} with a width over {MAX_SIZE:,}")
        return original(value, *args, **kwargs)
    return bounded


def _render(template: Any, context: dict[str, Any]) -> str:
    """One ticket, stopped as soon as it goes over its budget."""
    budget = _Budget(deadline=time.monotonic() + MAX_SECONDS)
    token = _BUDGET.set(budget)
    try:
        out: list[str] = []
        size = 0
        for chunk in template.generate(**context):
            size += len(chunk)
            if size > MAX_OUTPUT:
                raise TemplateBudgetError(f"it makes more than {MAX_OUTPUT:,} characters")
            budget.step()
            out.append(chunk)
        return "".join(out)
    finally:
        _BUDGET.reset(token)
