"""The escalation ticket: the call record rendered through Jinja templates.

Templates are rendered sandboxed and strict (an unknown name is an error, never an
empty string). An organization can put its own ``ticket.md.j2`` / ``ticket.txt.j2``
in a folder (``templates_dir`` in the organization file, or ``--templates``); any
template not found there comes from the shipped ones.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

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
            "command": call.command(v.node, step, sep="; "),
            "answer": typed(answer_rules.label(v.node, v.value or "")),
            "answered_by": rec.source if rec else "staffer",
            "answered_at": rec.at if rec else "",
            "suggested": (answer_rules.label(v.node, rec.suggested)
                          if rec and rec.suggested else ""),
            "probe": probe.to_dict() if probe else None,
            "ran_on": check_location(state.runs_on),
            "notes": [typed(n) for n in state.notes.get(v.key, [])],
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
    group = call.escalation_group(step) or ""
    all_notes = [
        {"key": k, "text": typed(t)} for k, texts in state.notes.items() for t in texts
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
            "staffer": typed(state.staffer),
            "started": state.started,
            "runs_on": state.runs_on,
            "mode": state.mode,
            "resumed": len(state.resumed),
            "flowcharts": call.fs.versions(),
        },
        "caller": {
            "name": typed(ctx.get("caller_name", "")),
            "contact": typed(ctx.get("caller_contact", "")),
            "machine": typed(ctx.get("caller_machine", "")),
        },
        # a server that lost its own network: the machine is the server, not a caller's
        "server_call": ctx.get("call_type") == "server_no_network",
        "target": typed(ctx.get("target", "")),
        "target_ip": typed(ctx.get("target_ip", "")),
        "tried": typed(ctx.get("tried", "")),
        "since": typed(ctx.get("since", "")),
        "existing_ticket": typed(ctx.get("existing_ticket", "")),
        "scope": var_label("scope"),
        "extent": var_label("extent"),
        "address_type": var_label("address_type"),
        "severity": var_label("severity"),
        "answers": {k: (var_label(k) if k in choice_vars else typed(v)) for k, v in ctx.items()},
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
        "logs_command": call.command(logs_done[-1].node, step, sep="; ") if logs_done else "",
        "windows": var_label("windows"),
        "known_issues": [
            {"id": h.entry.id, "title": h.entry.title, "why": h.why,
             "ticket": render_lenient(h.entry.ticket, ctx, "(not recorded)").strip(),
             "escalate_to": h.entry.escalate_to}
            for h in call.known_issues(step)
        ],
    }


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
    """Refuse ``*``, ``**`` and ``%`` whose result would be huge, before computing it."""
    if operator == "*":
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


_MD_SPECIAL = str.maketrans({"|": "\\|", "<": "&lt;", ">": "&gt;", "`": "\\`"})


class Typed(str):
    """Text a person typed (caller's answers, notes, names), as given to the templates.
    The plain-text ticket prints it as it is; the Markdown ticket escapes it."""


def typed(value: Any) -> Any:
    return Typed(value) if isinstance(value, str) else value


def markdown_text(value: Any) -> Any:
    """A typed value printed into the Markdown ticket, escaped so that caller-provided text
    cannot make table cells, raw HTML, headings or extra lines: ``|``, ``<``, ``>`` and
    backquotes are escaped, line breaks become spaces, and a leading ``#``, ``>`` or
    list marker cannot start a heading, quote or list. A Jinja ``finalize`` of the
    Markdown templates, so custom templates get it too."""
    if not isinstance(value, Typed):
        return value
    text = " ".join(value.splitlines()) if ("\n" in value or "\r" in value) else value
    text = text.translate(_MD_SPECIAL)
    if text.lstrip().startswith(("#", ">", "- ", "+ ", "* ")):
        text = "\\" + text.lstrip()
    return text


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
    from jinja2 import ChoiceLoader, FileSystemLoader, StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    dirs: list[Path] = []
    if override:
        dirs.append(Path(override))
    dirs.append(builtin_dir("templates"))
    loaders = [FileSystemLoader(str(d)) for d in dirs]
    class BoundedEnvironment(SandboxedEnvironment):
        """Sandboxed, and no expression makes a huge string, list or number."""

        intercepted_binops = frozenset({"*", "**", "%"})

        def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
            _check_binop(operator, left, right)
            return super().call_binop(context, operator, left, right)

        def wrap_str_format(self, value: Any) -> Any:
            # "{:>999999999}".format(x) called as a method: refuse a huge width first
            wrapped = super().wrap_str_format(value)
            owner = getattr(value, "__self__", None)
            if wrapped is not None and isinstance(owner, str) and _BIG_WIDTH.search(owner):
                _refuse("a format with a width over 99,999")
            return wrapped

    env = BoundedEnvironment(
        loader=ChoiceLoader(loaders), undefined=StrictUndefined, autoescape=False,
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
        finalize=markdown_text if fmt == "md" else None, bytecode_cache=_compiled(fmt),
        cache_size=0,  # which file a name resolves to is decided at every ticket
    )
    env.globals["range"] = _bounded_range
    env.globals["lipsum"] = _bounded_lipsum
    for name in ("center", "indent", "format"):
        env.filters[name] = _bounded_width(name, env.filters[name])
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
            out[fmt] = env.get_template(name).render(**context)
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
