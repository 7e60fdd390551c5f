"""The escalation ticket: the call record rendered through Jinja templates.

Templates are rendered sandboxed and strict (an unknown name is an error, never an
empty string). An organization can put its own ``ticket.md.j2`` / ``ticket.txt.j2``
in a folder (``templates_dir`` in the organization file, or ``--templates``); any
template not found there comes from the shipped ones.

In the Markdown ticket every ``{{ ... }}`` is escaped as its last step (``finalize``),
whatever filter touched it, unless it is :class:`MarkdownSafe`. Every rendering is
bounded: no expression makes more than :data:`MAX_SIZE`, and a whole ticket no more than
:data:`MAX_OUTPUT` characters, :data:`MAX_STEPS` loop turns and calls, and
:data:`MAX_SECONDS` (parsed templates are rewritten so that loops and joins count).
"""

from __future__ import annotations

import contextvars
import dataclasses
import functools
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from wizard.base.errors import ExitStatus, TriageError
from wizard.base.resources import builtin_dir
from wizard.base.textrender import render_lenient
from wizard.calls.call import check_location
from wizard.calls.engine import Step
from wizard.flows import answers as answer_rules
from wizard.flows.nodes import ActionNode, ChoiceNode, TerminalNode, windows_family

if TYPE_CHECKING:  # Jinja is imported when a ticket is written, not at start-up
    from jinja2.sandbox import SandboxedEnvironment

    from wizard.calls.call import Call

FORMATS = {"md": "ticket.md.j2", "txt": "ticket.txt.j2"}


def _one_line(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


class TicketError(TriageError):
    """A template is missing or broken. ``str()`` is one line."""

    status = ExitStatus.CONFIG


#: What the log step has the caller run on Windows Vista and later (IPsec_Debug.vbs
#: needs tools those versions do not have).
MODERN_LOG_FILES = (
    ("mmsa.txt", "netsh advfirewall monitor show mmsa: IKE main mode security associations"),
    ("ike_events.txt", "Security log events 4650-4654 and 5451-5453 (IKE and IPsec)"),
    ("gpresult.html", "Group Policy result (gpresult /h)"),
    ("system_events.txt", "System log service failure events 7000, 7001 and 7023 (a server "
     "without network)"),
)


def log_files(comp: str, srv: str, family: str | None = None) -> list[dict[str, str]]:
    """The log files the call asked for, named for this call: on Windows Vista and later
    what the log step's commands write; otherwise the IPsec_Debug.vbs output of Table 7.3.

    ``srv`` is the destination computer; without one (a server that lost its own network)
    the per-destination ping and net view files are left out.
    """
    if family == "vista_later":  # a caller's call: the IPsec files; a server's: its events
        chosen = MODERN_LOG_FILES[:3] if srv else MODERN_LOG_FILES[3:]
        return [{"name": f"{comp}_{suffix}", "description": d} for suffix, d in chosen]
    rows = [
        ("FileVer.txt", "File versions of the IPsec-related DLLs"),
        ("gpresult.txt", "Output of the gpresult command"),
        ("ipsec_547_events.txt", "IPsec 547 events from the Security event log"),
        ("ipsec_policy_version.txt",
         "Detect_IPsec_Policy.vbs output: policy version and whether it matches Active Directory"),
        ("ipseccmd_show_all.txt", "ipseccmd output (Windows XP only)"),
        ("kerberos_events.txt", "Kerberos events from the System event log"),
        ("klist_purge_mt.txt", "KList output while purging machine tickets"),
        ("lsass.log", "Copy of lsass.log, if present"),
        ("netdiag.txt", "netdiag output"),
        ("netsh_show_all.txt", "netsh show all output (server platforms only)"),
        ("netsh_show_gpo.txt", "netsh show gpo output (server platforms only)"),
        ("oakley.log", "Copy of Oakley.log, if present"),
        ("OSInfo.txt", "Operating system information"),
        ("RegDefault.txt", "Registry values before the script changed them (to put them back)"),
        ("userenv.log", "Copy of userenv.log, if present"),
        ("winlogon.log", "Copy of winlogon.log, if present"),
    ]
    files = [{"name": f"{comp}_{suffix}", "description": d} for suffix, d in rows]
    if srv:
        files.append({"name": f"{comp}_{srv}_netview.txt",
                      "description": f"net view against {srv}"})
        files.append({"name": f"{comp}_{srv}_ping.txt", "description": f"ping against {srv}"})
    return files


def build_context(call: Call, step: Step) -> dict[str, Any]:
    node = step.visit.node
    assert isinstance(node, TerminalNode)
    ctx = step.context
    state = call.state
    changed_keys = {c["key"] for c in state.changes}

    def var_label(var: str) -> str:
        for v in step.route:
            if getattr(v.node, "var", None) == var and v.value is not None:
                return answer_rules.label(v.node, v.value)
        return ""

    route: list[dict[str, Any]] = []
    number = 0
    for v in step.route:
        if not v.answered:
            continue
        number += 1
        probe = state.probes.get(v.key)
        rec = state.answers.get(v.key)
        route.append({
            "number": number,
            "key": v.key,
            "chart": v.chart,
            "chart_title": call.fs.charts[v.chart].title,
            "question": call.text(v.node.text, step),
            "command": call.command(v.node, step, sep="; ", steps=" & "),
            "answer": answer_rules.label(v.node, v.value or ""),
            "answered_by": rec.source if rec else "staffer",
            "answered_at": rec.at if rec else "",
            "suggested": (answer_rules.label(v.node, rec.suggested)
                          if rec and rec.suggested else ""),
            "probe": probe.to_dict() if probe else None,
            "ran_on": check_location(state.runs_on),
            "notes": list(state.notes.get(v.key, [])),
            "changed": v.key in changed_keys,
            "kind": v.node.kind,
        })
    charts_used: list[str] = []
    for v in step.route:
        title = call.fs.charts[v.chart].title
        if title not in charts_used:
            charts_used.append(title)
    comp = str(ctx.get("caller_machine") or "CompName")
    family = windows_family(ctx.get("windows"))
    logs_done = [v for v in step.route
                 if isinstance(v.node, ActionNode) and v.node.logs and v.value == "done"]
    not_admin = any(getattr(v.node, "var", None) == "caller_admin" and v.value == "no"
                    for v in step.route)
    if logs_done:
        logs_note = ""
    elif not_admin:
        logs_note = (f"No logs: the caller is not a local administrator of {comp}, and the "
                     "log tools need it.")
    else:
        logs_note = "No logs were requested on this call."
    srv = str(ctx.get("target") or "")
    ended = state.ended
    if ended is not None and ended.get("terminal") == step.visit.node_key:
        group = str(ended.get("tier2_group") or "")  # as recorded at the end of the call
    else:
        group = call.escalation_group(step) or ""
    all_notes = [
        {"key": k, "text": t} for k, texts in state.notes.items() for t in texts
    ]
    questions = {r["key"]: r["question"] for r in route}
    sensitive = [{"what": r["what"], "t": r["t"],
                  "question": questions.get(r["step"]) or r["step"]}
                 for r in state.sensitive_requests]
    choice_vars = {
        getattr(v.node, "var", None) for v in step.route if isinstance(v.node, ChoiceNode)
    }
    return {
        "call": {
            "id": call.call_id,
            "staffer": state.staffer,
            "started": state.started,
            "runs_on": state.runs_on,
            "mode": state.mode,
            "resumed": len(state.resumed),
            "flowcharts": call.fs.versions(),
        },
        "caller": {
            "name": ctx.get("caller_name", ""),
            "contact": ctx.get("caller_contact", ""),
            "machine": ctx.get("caller_machine", ""),
        },
        # a server that lost its own network: the machine is the server, not a caller's
        "server_call": ctx.get("call_type") == "server_no_network",
        "target": ctx.get("target", ""),
        "target_ip": ctx.get("target_ip", ""),
        "tried": ctx.get("tried", ""),
        "since": ctx.get("since", ""),
        "existing_ticket": ctx.get("existing_ticket", ""),
        "scope": var_label("scope"),
        "extent": var_label("extent"),
        "address_type": var_label("address_type"),
        "severity": var_label("severity"),
        "answers": {k: (var_label(k) if k in choice_vars else v) for k, v in ctx.items()},
        "status": {"value": node.status.value, "label": node.status.label},
        "category": {"value": node.category.value, "label": node.category.label},
        "outcome": call.text(node.text, step),
        "terminal": step.visit.node_key,
        "escalate": node.tier2,
        "tier2_group": group,
        "charts_used": charts_used,
        "route": route,
        "notes": all_notes,
        "sensitive_requests": sensitive,
        "checks_ran_on": check_location(state.runs_on),
        "changes": state.changes,
        "log_files": log_files(comp, srv, family) if node.tier2 and logs_done else [],
        "logs_note": logs_note if node.tier2 else "",
        "logs_command": (call.command(logs_done[-1].node, step, sep="; ", steps=" & ")
                         if logs_done else ""),
        "windows": var_label("windows"),
        "packet": attached_packet(state.packets),
        "known_issues": [
            {"id": h.entry.id, "title": h.entry.title, "why": h.why,
             "ticket": render_lenient(h.entry.ticket, ctx, "(not recorded)").strip(),
             "escalate_to": h.entry.escalate_to}
            for h in call.known_issues(step)
        ],
    }


def attached_packet(packets: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The newest packet taken into the call with ``attach`` (its evidence files and the
    analysis's findings, as the journal recorded them), for the ticket."""
    for rec in reversed(packets):
        if rec.get("source") != "attached":
            continue
        files = [f for f in rec.get("files") or [] if isinstance(f, dict)
                 and str(f.get("name", "")).startswith("evidence/")]
        return {"name": Path(str(rec.get("path", ""))).name,  # escaped as it is printed
                "redacted": bool(rec.get("redacted")),
                "windows_build": str(rec.get("windows_build") or ""),
                "files": [{"name": str(f["name"])[len("evidence/"):],
                           "size": int(f.get("size") or 0)} for f in files],
                "findings": [dict(f) for f in rec.get("findings") or []
                             if isinstance(f, dict)]}
    return None


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
                              f"and calls, in {MAX_SECONDS:g} s") from None
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
