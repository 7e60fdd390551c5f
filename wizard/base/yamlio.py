"""Safe YAML/JSON loading that remembers where every key was written.

Flowcharts, answers files and organization files are user input: errors must name
the file and line. :func:`load_document` returns plain data whose mappings are
:class:`LineDict` objects carrying the line of each key, and :func:`locate` turns a
pydantic error location into a line number.

``load_document(path, lines=False)`` is the quick way for big files whose lines are
needed only when something is wrong (flowcharts): when the optional ``yaml-rs`` parser
is installed and the document is plain YAML (see :func:`parse_plain`), it returns the
same data as plain dicts in a fraction of PyYAML's time; the caller reads the file again
with lines only to report a problem. Otherwise it is the same as ``lines=True``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from wizard.base.documents import (
    MAX_DEPTH,
    MAX_DOCUMENT_BYTES,
    MAX_NODES,
    DocumentError,
    LineDict,
    did_you_mean,
    preview,
    shorten,
)

_fast_yaml: Any
try:  # optional: the fast parser of the ``fast`` extra
    import yaml_rs as _fast_yaml
except ImportError:  # pragma: no cover - depends on the installation
    _fast_yaml = None

if TYPE_CHECKING:
    from pydantic import ValidationError

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

    # -- bounds on the composed document, checked before anything is built from it ------
    def get_single_node(self) -> yaml.Node | None:
        node: yaml.Node | None = super().get_single_node()
        if node is not None:
            _check_bounds(node)
        return node

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep=deep)
        except (ValueError, TypeError, AttributeError, OverflowError, RecursionError,
                IndexError, KeyError) as exc:
            tag = str(node.tag)
            short = "!!" + tag.rsplit(":", 1)[-1] if tag.startswith("tag:yaml.org,") else tag
            value = node.value if isinstance(node, yaml.ScalarNode) else "..."
            why = ("an integer with too many digits" if "digits" in str(exc)
                   else f"not a valid {shorten(short, 40)} value")
            raise yaml.constructor.ConstructorError(
                None, None, f"{preview(value)} is {why}", node.start_mark) from None


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def _check_bounds(root: yaml.Node) -> None:
    """Refuse a composed document nested more than MAX_DEPTH levels, or holding more
    than MAX_NODES values once every alias is expanded, or an alias that contains
    itself. Aliases share nodes, so an alias bomb is small here: each node is visited
    once (iteratively: no recursion limit to hit), its expanded size summed."""
    size: dict[int, int] = {}
    height: dict[int, int] = {}
    open_nodes: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if key in size:
            continue
        kids = _children(node)
        if not children_done:
            open_nodes.add(key)
            stack.append((node, True))
            for kid in kids:
                if id(kid) in open_nodes:
                    raise yaml.composer.ComposerError(
                        None, None, "an alias refers to a value that contains it",
                        kid.start_mark)
                if id(kid) not in size:
                    stack.append((kid, False))
            continue
        open_nodes.discard(key)
        size[key] = 1 + sum(size[id(k)] for k in kids)
        height[key] = 1 + max((height[id(k)] for k in kids), default=0)
        if height[key] > MAX_DEPTH:
            raise yaml.composer.ComposerError(
                None, None, f"nested more than {MAX_DEPTH} levels deep", node.start_mark)
        if size[key] > MAX_NODES:
            raise yaml.composer.ComposerError(
                None, None, f"more than {MAX_NODES:,} values once aliases are expanded "
                "(an alias bomb?)", node.start_mark)


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
    if len(text) > MAX_DOCUMENT_BYTES:
        raise DocumentError(path, None, f"file too large (over {MAX_DOCUMENT_BYTES:,} "
                                        "characters)")
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = exc.problem or exc.context or "invalid YAML"
        raise DocumentError(path, line, f"YAML error: {shorten(problem)}") from None
    except yaml.reader.ReaderError as exc:  # a control character: name it and its line
        line = text.count("\n", 0, max(exc.position, 0)) + 1
        raise DocumentError(path, line, f"YAML error: character #x{exc.character:02x} is a "
                            "control character, not allowed in the file") from None
    except yaml.YAMLError as exc:
        raise DocumentError(path, None,
                            f"YAML error: {shorten(' '.join(str(exc).split()))}") from None
    except RecursionError:  # aliases nested in aliases
        raise DocumentError(path, None, "YAML error: nested too deeply") from None


def load_document(path: str | Path, *, lines: bool = True) -> Any:
    """Read a YAML or JSON file (JSON is YAML) as LineDict data.

    ``lines=False``: the same data, as plain dicts when the fast parser can be sure of
    reading it exactly as PyYAML does (:func:`parse_plain`), else as LineDicts."""
    p = Path(path)
    try:
        if p.is_file() and p.stat().st_size > MAX_DOCUMENT_BYTES:
            raise DocumentError(p, None, f"file too large (over {MAX_DOCUMENT_BYTES:,} bytes)")
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DocumentError(p, None, "no such file") from None
    except IsADirectoryError:
        raise DocumentError(p, None, "is a directory, expected a file") from None
    except UnicodeDecodeError:
        raise DocumentError(p, None, "not UTF-8 text") from None
    except OSError as exc:
        raise DocumentError(p, None, exc.strerror or str(exc)) from None
    if len(text) > MAX_DOCUMENT_BYTES:
        raise DocumentError(p, None, f"file too large (over {MAX_DOCUMENT_BYTES:,} "
                                     "characters)")
    if p.suffix.lower() == ".json":
        try:
            json.loads(text)
        except json.JSONDecodeError as exc:
            raise DocumentError(p, exc.lineno, f"JSON error: {exc.msg}") from None
        except RecursionError:
            raise DocumentError(p, None, "JSON error: nested too deeply") from None
        except ValueError as exc:  # e.g. an integer of more than 4,300 digits
            raise DocumentError(p, None, f"JSON error: {shorten(str(exc))}") from None
    if not lines:
        plain = parse_plain(text)
        if plain is not None:
            return plain
    return parse_yaml(text, p)


# -- the fast parser, where it reads a document exactly as the loader above does -----

_UNSURE_CHAR = re.compile(
    "[^\x0a\x0d\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd"
    "\U00010000-\U0010ffff]")
"""Characters PyYAML refuses, tabs, YAML 1.1's extra line breaks, byte-order marks."""
_NODE_MARK = re.compile(r"[\n:\[{,?-][ ]*[!&*]")
"""A tag, anchor or alias where a node may start: first on its line, or after one of
``:[{,?-`` and spaces (one pass over the text, with a line break put before it)."""


def _unsure_text(text: str) -> bool:
    """Whether ``text`` may hold what the fast parser is not trusted with: then all of
    it goes to PyYAML. Saying yes more often than needed only costs time (a '*' after a
    colon inside a quoted text, say)."""
    if _UNSURE_CHAR.search(text) or "<<" in text:  # odd characters, merge keys
        return True
    for marker in ("%", "---", "..."):  # directives and document markers
        if text.startswith(marker) or "\n" + marker in text:
            return True
    return _NODE_MARK.search("\n" + text) is not None  # tags, anchors and aliases


_RESOLVERS = _Loader.yaml_implicit_resolvers
_STR_TAG = "tag:yaml.org,2002:str"
_TRIGGERS = frozenset(k for k in _RESOLVERS if k) | frozenset(" \t\r\n")
"""First characters of the strings :func:`_string_verdict` must look at."""


def _implicit_tag(value: str) -> str:
    """The tag the loader above gives ``value`` written as a plain scalar."""
    resolvers = _RESOLVERS.get(value[0] if value else "", [])
    for tag, regexp in [*resolvers, *_RESOLVERS.get(None, [])]:
        if regexp.match(value):
            return str(tag)
    return _STR_TAG


_SURE, _UNSURE, _IF_QUOTED = 0, 1, 2
"""What :func:`_string_verdict` says of a string the fast parser read."""


def _string_verdict(value: str) -> int:
    """Whether ``value`` (a string to the fast parser) might be a plain scalar that the
    loader above reads as something else (``1``, ``1:30``, ``2001-01-01``, ``=``):
    ``_IF_QUOTED`` then, and the text must hold no bare copy of it
    (:func:`_bare_copy`); ``_UNSURE`` when that cannot be told, ``_SURE`` otherwise."""
    if value.isspace():
        return _UNSURE  # an empty block scalar: libyaml and yaml-rs differ
    if not value or (value[0] not in _RESOLVERS and None not in _RESOLVERS):
        return _SURE
    if _implicit_tag(value) == _STR_TAG:
        return _SURE
    if value != value.strip() or any(ch.isspace() for ch in value):
        return _UNSURE  # a plain scalar over several lines: too hard to find, not sure
    return _IF_QUOTED


_LONGEST_LOOKED_FOR = 128
"""A longer string that must have been quoted sends the file to PyYAML unsearched."""


def _scalar_starts(first: str, longest: int) -> re.Pattern[str]:
    """Where a plain scalar starting with one of the characters ``first`` may start
    (after a line break, one of ``:[{,`` or ``- ``/``? ``, then spaces), and up to ``longest``
    + 1 characters of the run from there that it may be (up to a space or a flow
    indicator). Only the mark and the spaces are taken: every start is found, in one
    pass over the text."""
    chars = "".join(re.escape(ch) for ch in sorted(set(first)))
    return re.compile(r"(?:[\n\r:\[{,]|[?-] )[ ]*(?=([" + chars + r"][^\s,\[\]{}]{0," + str(longest)
                      + "}))")


_ENDS_SCALAR = frozenset("\n\r#:,]}")
"""What may follow a plain scalar on its line, after spaces (or the end of the text)."""


def _skip_spaces(text: str, at: int) -> int:
    while at < len(text) and text[at] == " ":
        at += 1
    return at


def _ends_scalar(text: str, at: int) -> bool:
    """Whether a plain scalar may end at ``at``: only spaces, then the end of the line, a
    comment, a ``:`` or a flow indicator (anything else would be more of the scalar)."""
    at = _skip_spaces(text, at)
    return at == len(text) or text[at] in _ENDS_SCALAR


def _continues_line_before(text: str, start: int) -> bool:
    """Whether the line that begins at ``start`` is sure to continue a plain scalar of
    the line before (``text: Is port`` / ``  445``), so that a value alone on it is not a
    scalar of its own. No when unsure: the line before (blank lines skipped) holds a
    comment or a carriage return, ends as a key, an item, a flow collection or a quoted
    scalar may, or is not indented less."""
    end = start - 1  # the line break that ends the line before
    while end >= 0:
        begin = text.rfind("\n", 0, end) + 1
        line = text[begin:end].rstrip(" ")
        if line:
            break
        end = begin - 1
    else:
        return False
    if "#" in line or "\r" in line or line[-1] in ":[]{},'\"":
        return False
    if line[-1] in "-?" and (len(line) == 1 or line[-2] == " "):
        return False
    indent = len(line) - len(line.lstrip(" "))
    return _skip_spaces(text, start) - start > indent


def _bare_copy(values: set[str], text: str) -> bool:
    """Whether any of ``values`` may be written bare (unquoted) somewhere in ``text``,
    so that the loader above would read it as something other than text. One pass over
    the text however many values are asked about; saying yes more often than needed
    only costs time (PyYAML then reads the file)."""
    longest = max(map(len, values))
    if longest > _LONGEST_LOOKED_FOR:
        return True
    text = "\n" + text  # the first line starts after a line break too
    starts = _scalar_starts("".join(v[0] for v in values), longest)
    for match in starts.finditer(text):
        run, at = match.group(1), match.end()
        whole = len(run) <= longest  # else the run goes on: only its pieces may be one
        if whole and run in values and _ends_scalar(text, at + len(run)):
            after = _skip_spaces(text, at + len(run))
            alone = text[match.start()] == "\n" and (after == len(text) or text[after] in "\n#")
            if not (alone and _continues_line_before(text, match.start() + 1)):
                return True
        # a key (``1:30: x``): every piece up to a colon (what follows a colon is
        # found as a start of its own)
        colon = run.find(":")
        while colon >= 0:
            if run[:colon] in values:
                return True
            colon = run.find(":", colon + 1)
    return False


_ITEM = object()
"""The key of a list's item in :func:`parse_plain`'s walk (a mapping's key may be None)."""


def parse_plain(text: str) -> dict[str, Any] | None:
    """``text`` as plain data, exactly as :func:`parse_yaml` reads it but without
    lines; None when the fast parser is not installed, the text is empty or not a
    mapping, is outside the plain subset (tags, anchors, aliases, block scalars, several
    documents, merge keys, ...), holds a value that YAML 1.1 and 1.2 read differently,
    is malformed, or exceeds the bounds above: PyYAML then reads it (and names the
    line of any problem). Everything in a shipped flowchart is in the plain subset."""
    if (_fast_yaml is None or len(text) > MAX_DOCUMENT_BYTES or not text.endswith("\n")
            or _unsure_text(text)):  # (block text at the very end: they differ)
        return None
    try:
        data = _fast_yaml.loads(text, parse_datetime=False)
    except Exception:  # noqa: BLE001 - any failure: PyYAML reads it and says what is wrong
        return None
    if not isinstance(data, dict):
        return None
    count = 0
    verdicts: dict[str, int] = {}  # each distinct string judged once
    quoted: set[str] = set()  # strings that must have been quoted

    def judge(string: str) -> bool:
        """False when unsure; a string that must have been quoted is kept for the end."""
        verdict = verdicts.get(string)
        if verdict is None:
            verdict = verdicts[string] = _string_verdict(string)
            if verdict == _IF_QUOTED:
                quoted.add(string)
        return verdict != _UNSURE

    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:  # every value once: strings here, containers when popped
        value, depth = stack.pop()
        if depth >= MAX_DEPTH - 1:
            return None
        if type(value) is dict:
            count += 1 + 2 * len(value)
            pairs: Any = value.items()
        else:
            count += 1 + len(value)
            pairs = ((_ITEM, item) for item in value)
        for key, item in pairs:
            if key is not _ITEM and (type(key) is not str or not key or (
                    key[0] in _TRIGGERS and not judge(key))):
                return None  # an empty or null key too: PyYAML refuses a bare ': ' line
            kind = type(item)
            if kind is str:
                if item and item[0] in _TRIGGERS and not judge(item):
                    return None
            elif kind is dict or kind is list:
                stack.append((item, depth + 1))
            elif not (item is None or kind is bool):
                return None  # numbers and dates: YAML 1.1 and 1.2 read them differently
        if count > MAX_NODES:
            return None
    if quoted and _bare_copy(quoted, text):
        return None
    return data


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
            msg = f"unknown field {preview(loc[-1])}"
            if known_fields is not None:
                msg += did_you_mean(str(loc[-1]), known_fields(loc))
        elif err["type"] == "missing" and loc:
            where = describe_loc(loc[:-1]) if describe_loc else ".".join(map(str, loc[:-1]))
            msg = f"missing required field {loc[-1]!r}"
        elif err["type"] == "union_tag_invalid":
            ctx = err.get("ctx") or {}
            msg = (
                f"unknown kind {preview(ctx.get('tag'))}; expected one of "
                f"{ctx.get('expected_tags')}"
            )
        elif err["type"] == "union_tag_not_found":
            msg = "missing required field 'kind'"
        elif "input" in err and err["type"] in ("literal_error", "enum", "string_pattern_mismatch"):
            msg = f"{preview(err['input'])}: {msg}"
        out.append(DocumentError(path, line, f"{where}: {msg}" if where else msg))
    return out
