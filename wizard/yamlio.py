"""Safe YAML/JSON loading that remembers where every key was written.

Flowcharts, answers files and organization files are user input: errors must name
the file and line. :func:`load_document` returns plain data whose mappings are
:class:`LineDict` objects carrying the line of each key, and :func:`locate` turns a
pydantic error location into a line number.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from pydantic import ValidationError


class DocumentError(Exception):
    """A user file could not be used. ``str()`` is one line: ``file:line: message``."""

    def __init__(self, path: str | Path, line: int | None, message: str) -> None:
        self.path = str(path)
        self.line = line
        self.message = message
        where = f"{self.path}:{line}" if line else self.path
        super().__init__(f"{where}: {message}")


class LineDict(dict[str, Any]):
    """A dict that knows the (1-based) line of itself and of each key."""

    line: int = 0
    key_lines: dict[str, int]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.key_lines = {}


_SafeBase: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_SafeBase):  # type: ignore[valid-type,misc]
    """SafeLoader that builds LineDicts; refuses every python/* tag like SafeLoader.

    Parsing is done by libyaml when PyYAML has it (about 10x faster: big flowchart sets
    and start-up), with the same line numbers; the pure-Python parser otherwise.

    Booleans follow YAML 1.2: only ``true``/``false``. ``yes``, ``no``, ``on`` and
    ``off`` stay text, so ``yes: next_node`` and ``ping_ip: no`` mean what they say.
    """

    yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> LineDict:
    loader.flatten_mapping(node)
    result = LineDict()
    result.line = node.start_mark.line + 1
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, (str, int, float, bool)) or key is None:
            raise yaml.constructor.ConstructorError(
                None, None, "mapping keys must be plain text", key_node.start_mark
            )
        key = str(key)
        if key in result:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[key] = key_node.start_mark.line + 1
    return result


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def parse_yaml(text: str, path: str | Path) -> Any:
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = exc.problem or exc.context or "invalid YAML"
        raise DocumentError(path, line, f"YAML error: {problem}") from None
    except yaml.YAMLError as exc:
        raise DocumentError(path, None, f"YAML error: {exc}") from None


def load_document(path: str | Path) -> Any:
    """Read a YAML or JSON file (JSON is YAML) as LineDict data."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DocumentError(p, None, "no such file") from None
    except IsADirectoryError:
        raise DocumentError(p, None, "is a directory, expected a file") from None
    except UnicodeDecodeError:
        raise DocumentError(p, None, "not UTF-8 text") from None
    except OSError as exc:
        raise DocumentError(p, None, exc.strerror or str(exc)) from None
    if p.suffix.lower() == ".json":
        try:
            json.loads(text)
        except json.JSONDecodeError as exc:
            raise DocumentError(p, exc.lineno, f"JSON error: {exc.msg}") from None
    return parse_yaml(text, p)


def locate(data: Any, loc: Sequence[int | str]) -> int | None:
    """Best line for a pydantic error location inside LineDict data."""
    line: int | None = data.line if isinstance(data, LineDict) else None
    current = data
    for part in loc:
        if isinstance(current, LineDict) and isinstance(part, str) and part in current:
            line = current.key_lines.get(part, line)
            current = current[part]
            if isinstance(current, LineDict) and current.line:
                line = line or current.line
        elif isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current):
            current = current[part]
            if isinstance(current, LineDict):
                line = current.line
        # other parts (union tags like 'yesno') do not move in the data
    return line


def format_validation_error(
    exc: ValidationError,
    data: Any,
    path: str | Path,
    *,
    prefix: Iterable[str] = (),
    describe_loc: Any = None,
    known_fields: Any = None,
) -> list[DocumentError]:
    """Turn a pydantic error into one DocumentError per problem.

    ``describe_loc(loc) -> str`` names the place (e.g. "node 'ping_ip'", "field x");
    ``known_fields(loc) -> list[str]`` lists valid names for close-match suggestions.
    """
    out: list[DocumentError] = []
    # a misspelt field shows up as "unknown" and "missing": name the unknown one first
    errors = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")
    for err in errors:
        loc = tuple(err["loc"])
        line = locate(data, loc)
        where = describe_loc(loc) if describe_loc else ".".join(str(p) for p in loc)
        msg = err["msg"]
        if err["type"] == "extra_forbidden" and loc:
            where = describe_loc(loc[:-1]) if describe_loc else ".".join(map(str, loc[:-1]))
            msg = f"unknown field {loc[-1]!r}"
            if known_fields is not None:
                close = difflib.get_close_matches(str(loc[-1]), known_fields(loc), n=1)
                if close:
                    msg += f" (did you mean {close[0]!r}?)"
        elif err["type"] == "missing" and loc:
            where = describe_loc(loc[:-1]) if describe_loc else ".".join(map(str, loc[:-1]))
            msg = f"missing required field {loc[-1]!r}"
        elif err["type"] == "union_tag_invalid":
            ctx = err.get("ctx") or {}
            msg = (
                f"unknown kind {ctx.get('tag')!r}; expected one of {ctx.get('expected_tags')}"
            )
        elif err["type"] == "union_tag_not_found":
            msg = "missing required field 'kind'"
        elif "input" in err and err["type"] in ("literal_error", "enum", "string_pattern_mismatch"):
            msg = f"{err['input']!r}: {msg}"
        out.append(DocumentError(path, line, f"{where}: {msg}" if where else msg))
    return out
