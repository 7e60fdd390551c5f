"""Loading a directory of flowcharts into one linked, checked set: the set itself
(:class:`FlowSet`, node keys, links) is :mod:`wizard.flows.linked`, its checks
:mod:`wizard.flows.lint`; both are re-exported here.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wizard.base.bulk import without_cycle_collection
from wizard.base.documents import DocumentError, LineDict
from wizard.base.errors import ExitStatus, TriageError
from wizard.flows.linked import (
    BUILTIN_VARS,
    DEFAULT_DESIGN,
    DESIGN_VARS,
    FlowSet,
    with_lines,
)
from wizard.flows.lint import lint, route_count
from wizard.flows.nodes import Catalogue, Flowchart, from_json, from_model, to_json

if TYPE_CHECKING:
    from pydantic import BaseModel

__all__ = ["BUILTIN_VARS", "DEFAULT_DESIGN", "DESIGN_VARS", "FlowSet", "FlowchartError",
           "from_payload", "lint", "load_chart", "load_flowset", "route_count", "to_payload",
           "with_lines"]


class FlowchartError(TriageError):
    """One or more problems in the flowcharts; each is a one-line ``file:line: ...``."""

    status = ExitStatus.FLOWCHART

    def __init__(self, problems: list[DocumentError]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


# -- loading ---------------------------------------------------------------------------


def _describe(loc: tuple[int | str, ...]) -> str:
    if len(loc) >= 2 and loc[0] == "nodes":
        rest = [str(p) for p in loc[3:]] if len(loc) > 2 else []
        field_path = ".".join(rest)
        return f"node '{loc[1]}'" + (f": field '{field_path}'" if field_path else "")
    return f"field '{'.'.join(str(p) for p in loc)}'" if loc else ""


def _field_names(model: type[BaseModel]) -> list[str]:
    return [f.alias or name for name, f in model.model_fields.items()]


def _known_fields(data: Any) -> Any:
    from wizard.flows import schema

    kind_models: dict[str, type[BaseModel]] = {
        "yesno": schema.YesNoNode, "choice": schema.ChoiceNode, "check": schema.CheckNode,
        "text": schema.TextNode, "action": schema.ActionNode, "note": schema.NoteNode,
        "goto": schema.GotoNode, "branch": schema.BranchNode,
        "terminal": schema.TerminalNode,
    }

    def known(loc: tuple[int | str, ...]) -> list[str]:
        if len(loc) >= 3 and loc[0] == "nodes":
            kind = str(loc[2])
            if len(loc) >= 5 and loc[3] == "probe":
                return _field_names(schema.ProbeCall)
            if len(loc) >= 6 and loc[3] == "options":
                return _field_names(schema.Option)
            model = kind_models.get(kind)
            return _field_names(model) if model else []
        return _field_names(schema.Flowchart)

    return known


def load_chart(path: Path) -> tuple[Flowchart, Any, str]:
    """One checked chart, the data it was read from and the digest of its bytes.

    The data is read without lines when the fast parser can (see
    :func:`wizard.base.yamlio.parse_plain`); a problem found in it is reported after
    reading the file again with lines (:func:`with_lines`)."""
    from pydantic import ValidationError

    from wizard.base.yamlio import format_validation_error, load_document
    from wizard.flows import schema

    raw_bytes = path.read_bytes()
    data = load_document(path, lines=False)
    if not isinstance(data, dict):
        raise FlowchartError([DocumentError(path, 1, "a flowchart file must be a mapping")])
    try:
        chart: Flowchart = from_model(schema.Flowchart.model_validate(data))
    except ValidationError as exc:
        # the same data, so the same errors: only their lines come from the second reading
        lined = with_lines(path, data)
        if lined is None:
            lined = data
        raise FlowchartError(
            format_validation_error(
                exc, lined, path, describe_loc=_describe, known_fields=_known_fields(lined)
            )
        ) from None
    return chart, data, hashlib.sha256(raw_bytes).hexdigest()[:12]




def load_flowset(directory: Path, *, check: bool = True, cache: bool = True) -> FlowSet:
    """Load every ``*.yaml``/``*.yml`` in ``directory`` (and the known-issues catalogue
    in ``directory/catalogue/``, if there); raise FlowchartError on any problem.

    A checked set (``check=True``) is kept in the user cache folder and read from there
    while neither the files nor this program change (see :mod:`wizard.flows.cache`);
    ``cache=False`` always reads the files."""
    if not directory.is_dir():
        raise FlowchartError([DocumentError(directory, None, "flowchart directory not found")])
    files = sorted(p for p in directory.iterdir() if p.suffix in (".yaml", ".yml"))
    if not files:
        raise FlowchartError([DocumentError(directory, None, "no flowchart files (*.yaml)")])
    if not (check and cache):
        return _load_files(directory, files, check)
    from wizard.flows import cache as flowcache

    key = flowcache.key(directory, files)
    cached = flowcache.read(key)
    if cached is not None:
        try:
            return from_payload(cached)
        except (KeyError, TypeError, ValueError, AttributeError):
            pass  # a cache from elsewhere or damaged: read the files
    flowset = _load_files(directory, files, check)
    flowcache.write(key, to_payload(flowset))
    return flowset


def to_payload(fs: FlowSet) -> dict[str, Any]:
    """A checked set as plain JSON data (the cache's and a call's kept copy)."""
    return {"entry": fs.entry, "charts": to_json(fs.charts),
            "paths": {cid: str(path) for cid, path in fs.paths.items()},
            "digests": fs.digests, "catalogue": to_json(fs.catalogue)}


def from_payload(data: dict[str, Any]) -> FlowSet:
    """The set :func:`to_payload` gave (KeyError, TypeError, ValueError or
    AttributeError when the data is not one)."""
    charts = from_json(data["charts"])
    if not all(isinstance(c, Flowchart) for c in charts.values()):
        raise TypeError("not a flowchart set")
    catalogue = from_json(data["catalogue"])
    if catalogue is not None and not isinstance(catalogue, Catalogue):
        raise TypeError("not a catalogue")
    return FlowSet(charts, {cid: Path(p) for cid, p in data["paths"].items()}, {},
                   dict(data["digests"]), str(data["entry"]), catalogue)


@without_cycle_collection
def _load_files(directory: Path, files: list[Path], check: bool) -> FlowSet:
    from wizard.flows.catalogue import catalogue_path, load_catalogue

    problems: list[DocumentError] = []
    charts: dict[str, Flowchart] = {}
    paths: dict[str, Path] = {}
    datas: dict[str, Any] = {}
    digests: dict[str, str] = {}
    for path in files:
        try:
            chart, data, digest = load_chart(path)
        except FlowchartError as exc:
            problems.extend(exc.problems)
            continue
        except DocumentError as exc:
            problems.append(exc)
            continue
        if chart.id in charts:
            lined = with_lines(path, data)
            line = lined.key_lines.get("id") if isinstance(lined, LineDict) else None
            problems.append(
                DocumentError(path, line, f"chart id {chart.id!r} also used by {paths[chart.id]}")
            )
            continue
        charts[chart.id], paths[chart.id], datas[chart.id], digests[chart.id] = (
            chart, path, data, digest,
        )
    if problems:
        raise FlowchartError(problems)
    entries = [cid for cid, c in charts.items() if c.entry]
    if len(entries) != 1:
        names = ", ".join(entries) or "none"
        message = f"exactly one chart needs 'entry: true' (found {names})"
        raise FlowchartError([DocumentError(directory, None, message)])
    flowset = FlowSet(charts, paths, datas, digests, entries[0])
    cat_path = catalogue_path(directory)
    if cat_path.is_file():
        try:
            flowset.catalogue = load_catalogue(cat_path, flowset)
        except DocumentError as exc:
            raise FlowchartError([exc]) from None
    if check:
        errors = lint(flowset)
        if errors:
            raise FlowchartError(errors)
    return flowset
