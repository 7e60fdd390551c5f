"""Reading a journal back: each line checked as an event of its kind; a damaged
line is skipped and named.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from wizard.calls.journal.writer import JournalError

_TEXT = (str,)
_SCALAR = (str, int, float, bool, type(None))
# Fields every event of a kind must have, and their types; and fields that may be
# missing but, when present, must have the type given.
_REQUIRED: dict[str, dict[str, tuple[type, ...]]] = {
    "answer": {"key": _TEXT, "value": _TEXT},
    "probe": {"key": _TEXT, "result": (dict,)},
    "note": {"key": _TEXT, "text": _TEXT},
    "known_issue": {"id": _TEXT},
    "sensitive_request": {},
    "start": {},
    "resume": {},
    "interrupted": {},
    "end": {},
}
_OPTIONAL: dict[str, tuple[type, ...]] = {
    "t": _TEXT, "staffer": _TEXT, "runs_on": _TEXT, "mode": _TEXT, "flowcharts": (dict,),
    "org": (dict,), "practice": (bool,), "source": _TEXT, "suggested": (str, type(None)),
    "args": (dict, type(None)), "why": _SCALAR, "step": _SCALAR, "what": _SCALAR,
    "status": _TEXT, "status_label": _TEXT, "tickets": (dict, type(None)), "by": _TEXT,
    "flowset": _TEXT,
}


def check_event(obj: Any) -> str | None:
    """Why a journal line cannot be replayed (None: it can)."""
    if not isinstance(obj, dict):
        return "not a JSON object"
    kind = obj.get("event")
    if not isinstance(kind, str):
        return "no 'event' name"
    for name, types in _REQUIRED.get(kind, {}).items():
        if name not in obj:
            return f"{kind} event without '{name}'"
        if not isinstance(obj[name], types):
            return f"{kind} event: '{name}' has the wrong type"
    for name, types in _OPTIONAL.items():
        if name in obj and not isinstance(obj[name], types):
            return f"{kind} event: '{name}' has the wrong type"
    return None


def read_events(path: Path, problems: list[str] | None = None
                ) -> tuple[list[dict[str, Any]], int]:
    """Events of a journal, and how many lines were skipped: cut by a kill, or not a
    valid event. ``problems`` receives one ``file:line: why`` message per skipped line."""
    events: list[dict[str, Any]] = []
    damaged = 0
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        raise JournalError(f"{path}: no such call record") from None
    except IsADirectoryError:
        raise JournalError(f"{path}: is a folder, not a call record") from None
    except OSError as exc:
        raise JournalError(f"{path}: cannot read the call record: "
                           f"{exc.strerror or exc}") from None
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except (json.JSONDecodeError, RecursionError, ValueError):
            why: str | None = "not a complete JSON line (cut when the program was stopped?)"
        else:
            why = check_event(obj)
            if why is not None and isinstance(obj, dict) and obj.get("event") == "start":
                # the start event holds the call's identity: keep it, without the bad fields
                bad = [k for k, types in _OPTIONAL.items()
                       if k in obj and not isinstance(obj[k], types)]
                obj = {k: v for k, v in obj.items() if k not in bad}
                if problems is not None and bad:
                    problems.append(f"{path}:{number}: start event: field(s) "
                                    f"{', '.join(bad)} ignored (wrong type)")
                why = check_event(obj)
        if why is None:
            events.append(obj)
            continue
        damaged += 1
        if problems is not None:
            problems.append(f"{path}:{number}: line skipped: {why}")
    return events, damaged
