"""The templates' environment (sandboxed, strict and bounded; an organization's folder
first, then the shipped templates; compiled once per process) and the rendering of a
call's tickets."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wizard.base.resources import builtin_dir
from wizard.calls.engine import Step
from wizard.records.ticket import bounds
from wizard.records.ticket.bounds import (
    _BIG_WIDTH,
    _FILTER_SIZES,
    MAX_OUTPUT,
    MAX_STEPS,
    MAX_TEMPLATE,
    TemplateBudgetError,
    _bounded_filter,
    _bounded_lipsum,
    _bounded_range,
    _bounded_width,
    _BoundLoops,
    _charge,
    _charge_output,
    _check_binop,
    _check_str_method,
    _loop,
    _refuse,
    _render,
    _sized,
)
from wizard.records.ticket.context import FORMATS, TicketError, _one_line, build_context
from wizard.records.ticket.markdown import MarkdownSafe, _markdown_code, _markdown_output

if TYPE_CHECKING:  # Jinja is imported when a ticket is written, not at start-up
    from jinja2.sandbox import SandboxedEnvironment

    from wizard.calls.call import Call


_COMPILED: dict[str, Any] = {}


def _compiled(fmt: str) -> Any:
    """The compiled templates of one format, kept in memory (Jinja's bytecode cache).

    Each entry is keyed by template name and file and carries the checksum of the source
    it was compiled from: a template is compiled once per process, and again only when
    its file changes. Which file a name resolves to (an organization's folder first) is
    decided afresh at every ticket, as before. One cache per format, because the
    Markdown environment's ``finalize`` is compiled into its templates.
    """
    cache = _COMPILED.get(fmt)
    if cache is None:
        from jinja2.bccache import Bucket, BytecodeCache

        class MemoryBytecodeCache(BytecodeCache):
            def __init__(self) -> None:
                self._code: dict[str, bytes] = {}

            def load_bytecode(self, bucket: Bucket) -> None:
                code = self._code.get(bucket.key)
                if code is not None:
                    bucket.bytecode_from_string(code)

            def dump_bytecode(self, bucket: Bucket) -> None:
                self._code[bucket.key] = bucket.bytecode_to_string()

        cache = _COMPILED[fmt] = MemoryBytecodeCache()
    return cache


def environment(call: Call, fmt: str = "txt") -> SandboxedEnvironment:
    """The ticket templates' environment: one per template folder and format, kept. It
    looks up each template's file at every ticket (a template added to the organization's
    folder is used at once); the compiled code comes from :func:`_compiled` unless the
    file changed, so a server ending many calls compiles each template once."""
    return _environment(call.org.templates_dir or None, fmt)


@functools.lru_cache(maxsize=16)
def _environment(override: str | None, fmt: str) -> SandboxedEnvironment:
    from jinja2 import ChoiceLoader, FileSystemLoader, StrictUndefined, pass_context
    from jinja2.runtime import LoopContext
    from jinja2.sandbox import SandboxedEnvironment

    dirs: list[Path] = []
    if override:
        dirs.append(Path(override))
    dirs.append(builtin_dir("templates"))
    loaders = [FileSystemLoader(str(d)) for d in dirs]
    class BoundedEnvironment(SandboxedEnvironment):
        """Sandboxed; no expression makes a huge string, list or number, and a whole
        rendering is bounded in size, loop turns and time (see :class:`_Budget`)."""

        intercepted_binops = frozenset({"*", "**", "%", "+"})

        def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
            _check_binop(operator, left, right)
            return super().call_binop(context, operator, left, right)

        def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
            _charge()  # a macro, loop(...) of a recursive loop, or a method
            if isinstance(__obj, LoopContext) and args:  # a recursive loop's next level
                args = (_loop(args[0], 1), *args[1:])
            _check_str_method(__obj, args)
            result = super().call(__context, __obj, *args, **kwargs)
            if isinstance(result, str):
                _charge(len(result))
            return result

        def wrap_str_format(self, value: Any) -> Any:
            # "{:>999999999}".format(x) called as a method: refuse a huge width first
            wrapped = super().wrap_str_format(value)
            owner = getattr(value, "__self__", None)
            if wrapped is not None and isinstance(owner, str) and _BIG_WIDTH.search(owner):
                _refuse("a format with a width over 99,999")
            return wrapped

        def _parse(self, source: str, name: str | None, filename: str | None) -> Any:
            if len(source) > MAX_TEMPLATE:
                from jinja2 import TemplateSyntaxError

                raise TemplateSyntaxError(
                    f"the template has {len(source):,} characters; at most "
                    f"{MAX_TEMPLATE:,}", 1, name, filename)
            return bound(super()._parse(source, name, filename))

    env = BoundedEnvironment(
        loader=ChoiceLoader(loaders), undefined=StrictUndefined, autoescape=False,
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
        finalize=_markdown_output if fmt == "md" else _charge_output,
        bytecode_cache=_compiled(fmt),
        cache_size=0,  # which file a name resolves to is decided at every ticket
    )
    bound = _BoundLoops(env)
    env.globals["range"] = _bounded_range
    env.globals["lipsum"] = _bounded_lipsum
    for name in ("center", "indent", "format"):
        env.filters[name] = _bounded_width(name, env.filters[name])
    for name in _FILTER_SIZES:
        env.filters[name] = _bounded_filter(name, env.filters[name])
    # with the context passed, Jinja never runs them once at compile time
    env.filters["_ticket_loop"] = pass_context(lambda _, items, weight: _loop(items, weight))
    env.filters["_ticket_sized"] = pass_context(lambda _, value: _sized(value))
    if fmt == "md":
        env.filters["safe"] = MarkdownSafe
        env.filters["e"] = env.filters["escape"] = env.filters["forceescape"] = (
            MarkdownSafe.escape)
        env.filters["code"] = _markdown_code
    else:  # the plain-text ticket shows text as typed: code is the text itself
        env.filters["code"] = lambda value, cell=False: value
    return env


def render_tickets(call: Call, step: Step, formats: tuple[str, ...] = ("md", "txt")
                   ) -> dict[str, str]:
    from jinja2 import TemplateError, TemplateNotFound

    context = build_context(call, step)
    out: dict[str, str] = {}
    for fmt in formats:
        name = FORMATS[fmt]
        env = environment(call, fmt)
        try:
            out[fmt] = _render(env.get_template(name), context)
        except TemplateBudgetError as exc:
            raise TicketError(f"{name}: the template was stopped: {exc}; a ticket may make "
                              f"at most {MAX_OUTPUT:,} characters, {MAX_STEPS:,} loop turns "
                              f"and calls, in {bounds.MAX_SECONDS:g} s") from None
        except TemplateNotFound as exc:
            missing = exc.name if isinstance(exc.name, str) else name
            if missing == name:
                raise TicketError(f"template {name!r} not found") from None
            raise TicketError(f"{name}: included template {missing!r} not found") from None
        except TemplateError as exc:
            lineno = getattr(exc, "lineno", None)
            where = f"{name}:{lineno}" if lineno else name
            raise TicketError(f"{where}: {_one_line(str(exc))}") from None
        except (ArithmeticError, ValueError, TypeError, KeyError, IndexError,
                AttributeError, RecursionError, MemoryError) as exc:
            raise TicketError(f"{name}: the template failed: {type(exc).__name__}: "
                              f"{_one_line(str(exc))}") from None
    return out
