"""Validation of one answer, shared by the prompts and the answers-file twin.

Each function returns the normalized value or raises :class:`AnswerError` whose
message names the question and the value, e.g.
``Invalid choice for 'intake.scope': 'x' is not in [caller, several, site, everyone]``.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from wizard.base.errors import ExitStatus, TriageError
from wizard.flows.nodes import (
    ActionNode,
    CheckNode,
    ChoiceNode,
    Node,
    TextNode,
    Validator,
    YesNoNode,
)

YES = frozenset({"yes", "y", "true", "1"})
NO = frozenset({"no", "n", "false", "0"})
DONE = frozenset({"done", "yes", "y", "true", "ok"})

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_EXTENSION = r"(x|ext\.?|extension)\s*[0-9]{1,6}"
_PHONE = re.compile(
    rf"^\+?\(?[0-9][0-9 ()./-]{{2,30}}[0-9](\s*[,;]?\s*{_EXTENSION})?$", re.I)
_EXTENSION_ONLY = re.compile(rf"^{_EXTENSION}$", re.I)
"""An internal extension alone ("x4455", "ext 4455") reaches a caller too."""
_UNC = re.compile(r"^(?:\\\\|//)([^\\/\s]+)(?:[\\/].*)?$")
_TICKET = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_#./-]{0,39}$")


class AnswerError(TriageError, ValueError):
    """An answer that does not fit its question."""

    status = ExitStatus.ANSWERS


_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escaped(char: str) -> str:
    if char in _ESCAPES:
        return _ESCAPES[char]
    if ord(char) < 32 or ord(char) == 0x7f or char in "\x85\u2028\u2029":
        return f"\\x{ord(char):02x}" if ord(char) < 256 else f"\\u{ord(char):04x}"
    return char


def quoted(value: str) -> str:
    """A typed value in a message: in quotes, as typed (no doubled backslashes), on one
    line: line breaks and other control characters are shown escaped (``\\n``), and a
    long value is cut."""
    shown = "".join(_escaped(c) for c in value[:200])
    shown = shown if len(shown) <= 80 else shown[:77] + "..."
    return f"\"{shown}\""


def host_from_unc(value: str) -> str | None:
    """The computer of a share path (``\\\\fs01\\share`` -> ``fs01``), else None."""
    match = _UNC.match(value.strip())
    return match.group(1) if match else None


MAX_ANSWER = 500
"""Longest typed answer kept (a caller's name, what was tried): what the call store and
a readable ticket hold."""
MAX_NOTE = 2000
MAX_STAFFER = 200
"""The call store's staffer column."""


_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
"""Control characters but tab, line feed and carriage return (one search of the text,
not a step per character: every answer and note passes here)."""


def check_free_text(value: str, limit: int, what: str = "the answer") -> str:
    """Refuse text a store cannot hold: NUL and other control characters (tabs and line
    breaks aside), or more than ``limit`` characters."""
    if _CONTROL.search(value):
        raise AnswerError(f"{what} contains a control character (e.g. NUL); type it again")
    if len(value) > limit:
        raise AnswerError(f"{what} is {len(value):,} characters long; at most {limit:,}")
    return value


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        raise AnswerError("expected a single value, not a list or mapping")
    return check_free_text(str(value).strip(), MAX_ANSWER)


def check_text(validator: Validator, value: str) -> str:
    """Validate a free-text value; return it normalized."""
    from wizard.base.validate import ProbeArgumentError, validate_host

    if validator is Validator.ANY:
        return value
    if not value:
        raise AnswerError("an answer is required")
    if validator is Validator.NONEMPTY:
        return value
    if validator is Validator.IP:
        try:
            ipaddress.ip_address(value)
        except ValueError:
            raise AnswerError(f"{quoted(value)} is not an IP address (e.g. 10.1.2.3)") from None
        try:  # the zone of an IPv6 address is checked as the probes check it
            return validate_host(value)
        except ProbeArgumentError as exc:
            raise AnswerError(str(exc)) from None
    if validator in (Validator.HOSTNAME, Validator.HOST):
        try:
            ipaddress.ip_address(value)
            is_ip = True
        except ValueError:
            is_ip = False
        if is_ip and validator is Validator.HOSTNAME:
            raise AnswerError(f"{quoted(value)} is an address; a computer name is needed here")
        unc = host_from_unc(value)
        if unc:
            raise AnswerError(f"{quoted(value)} is a share path; the computer is "
                              f"{quoted(unc)}")
        try:
            checked = validate_host(value)
        except ProbeArgumentError as exc:
            reason = str(exc)
            shown = value if len(value) <= 80 else value[:77] + "..."
            if reason.startswith(repr(shown)):  # the value as typed, not as Python writes it
                reason = quoted(value) + reason[len(repr(shown)):]
            raise AnswerError(reason) from None
        # a name keeps the case the caller read out (comparisons ignore case)
        return checked if is_ip else value
    if validator is Validator.CONTACT:
        if _EMAIL.match(value) or _PHONE.match(value) or _EXTENSION_ONLY.match(value):
            return value
        raise AnswerError(f"{quoted(value)} is not a phone number, extension (x4455) or "
                          "e-mail address")
    if validator is Validator.TICKET:
        if _TICKET.match(value):
            return value
        raise AnswerError(f"{quoted(value)} is not a ticket number "
                          "(letters, digits, - _ # . /)")
    raise AnswerError(f"unknown validator {validator!r}")  # pragma: no cover


def validate(node: Node, raw: Any, key: str = "", *, what: str | None = None) -> str:
    """Normalize ``raw`` for ``node`` or raise AnswerError naming ``key`` (the step id,
    for answers files). ``what`` names the question instead; ``what=""`` gives the bare
    reason, for a prompt that shows the question right above it."""
    name = what if what is not None else f"'{key}'" if key else "this question"

    def fail(message: str) -> AnswerError:
        if not name:
            return AnswerError(message[:1].upper() + message[1:])
        return AnswerError(f"Invalid answer for {name}: {message}")

    try:
        value = _as_text(raw)
    except AnswerError as exc:
        raise fail(str(exc)) from None
    if isinstance(node, CheckNode) and node.options is not None:
        values = [o.value for o in node.options]
        if value in values:
            return value
        if not name:
            raise fail(f"{quoted(value)} is not one of the choices")
        raise AnswerError(
            f"Invalid choice for {name}: {value!r} is not in [{', '.join(values)}]"
        )
    if isinstance(node, (YesNoNode, CheckNode)):
        low = value.lower()
        if low in YES:
            return "yes"
        if low in NO:
            return "no"
        raise fail(f"{quoted(value)} is not yes or no")
    if isinstance(node, ChoiceNode):
        values = [o.value for o in node.options]
        if value in values:
            return value
        if not name:
            raise fail(f"{quoted(value)} is not one of the choices")
        raise AnswerError(
            f"Invalid choice for {name}: {value!r} is not in [{', '.join(values)}]"
        )
    if isinstance(node, ActionNode):
        if value.lower() in DONE:
            return "done"
        raise fail(f"{quoted(value)}; use 'done' once it was done")
    if isinstance(node, TextNode):
        if node.optional and not value:
            return ""
        try:
            return check_text(node.validate_as, value)
        except AnswerError as exc:
            raise fail(str(exc)) from None
    raise AnswerError(f"{name} takes no answer")


def label(node: Node, value: str) -> str:
    """Human form of a stored answer."""
    if isinstance(node, (ChoiceNode, CheckNode)) and node.options is not None:
        for opt in node.options:
            if opt.value == value:
                return opt.label
    if isinstance(node, (YesNoNode, CheckNode)):
        return {"yes": "Yes", "no": "No"}.get(value, value)
    if isinstance(node, ActionNode):
        return "Done" if value == "done" else value
    if isinstance(node, TextNode) and value == "":
        return "(none)"
    return value


def choices(node: Node) -> list[tuple[str, str]]:
    """(value, label) of every answer a yes/no, check or choice question offers."""
    if isinstance(node, (ChoiceNode, CheckNode)) and node.options is not None:
        return [(o.value, o.label) for o in node.options]
    return [("yes", "Yes"), ("no", "No")]
