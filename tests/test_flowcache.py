"""The checked flowchart set: plain records, cached per program version and content.

A cached set is the same set; any change to a flowchart, the catalogue or the program
means it is read and checked again; a cache that someone else could have written, or
that is damaged, is never used; and the way to the first question imports neither
pydantic nor Jinja."""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from wizard.flows import cache as flowcache
from wizard.flows import schema
from wizard.flows.catalogue_schema import Catalogue as CatalogueModel
from wizard.flows.flowset import FlowchartError, load_flowset
from wizard.flows.nodes import Record, TerminalNode

from .helpers.run import FLOWCHARTS, PYTHON, ROOT, cli_env


@pytest.fixture
def charts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("IPSEC_TRIAGE_CACHE", str(tmp_path / "cache"))
    copy = tmp_path / "charts"
    shutil.copytree(FLOWCHARTS, copy)
    return copy


def cache_files(charts: Path) -> list[Path]:
    return sorted((charts.parent / "cache" / "flowcharts").glob("*.json"))


def test_a_cached_set_is_the_set_read_from_the_files(charts: Path) -> None:
    fresh = load_flowset(charts, cache=False)
    first = load_flowset(charts)
    [path] = cache_files(charts)
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert oct(path.parent.stat().st_mode & 0o777) == "0o700"
    cached = load_flowset(charts)
    assert cached.charts == fresh.charts == first.charts
    assert cached.catalogue == fresh.catalogue and cached.catalogue is not None
    assert cached.digests == fresh.digests and cached.entry == fresh.entry
    assert cached.versions() == fresh.versions()


def test_an_edited_flowchart_is_read_again(charts: Path) -> None:
    load_flowset(charts)
    chart = charts / "fig7_1.yaml"
    chart.write_text(chart.read_text(encoding="utf-8").replace(
        "Can the caller ping", "Is the caller able to ping", 1), encoding="utf-8")
    texts = [n.text for c in load_flowset(charts).charts.values() for n in c.nodes.values()]
    assert any("Is the caller able to ping" in t for t in texts)


def test_a_broken_edit_is_reported_not_hidden_by_the_cache(charts: Path) -> None:
    load_flowset(charts)
    (charts / "fig7_1.yaml").write_text("id: fig7_1\nnodes: [\n", encoding="utf-8")
    with pytest.raises(FlowchartError, match="fig7_1.yaml"):
        load_flowset(charts)


def test_an_edited_catalogue_is_read_again(charts: Path) -> None:
    before = load_flowset(charts).catalogue
    cat = charts / "catalogue" / "known_issues.yaml"
    cat.write_text(cat.read_text(encoding="utf-8").replace("title: ", "title: New ", 1),
                   encoding="utf-8")
    after = load_flowset(charts).catalogue
    assert before is not None and after is not None
    assert after.entries[0].title == "New " + before.entries[0].title


def test_a_cache_of_another_program_version_is_not_used(charts: Path,
                                                        monkeypatch: pytest.MonkeyPatch
                                                        ) -> None:
    load_flowset(charts)
    [path] = cache_files(charts)
    data = json.loads(path.read_text(encoding="utf-8"))
    data["payload"]["charts"]["intake"]["title"] = "from another version"
    path.write_text(json.dumps(data), encoding="utf-8")
    assert load_flowset(charts).charts["intake"].title == "from another version"  # same key
    monkeypatch.setattr(flowcache, "code_version", lambda: "another version")
    assert load_flowset(charts).charts["intake"].title != "from another version"


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="POSIX permissions")
def test_a_cache_others_can_write_is_never_read(charts: Path) -> None:
    load_flowset(charts)
    [path] = cache_files(charts)
    data = json.loads(path.read_text(encoding="utf-8"))
    data["payload"]["charts"]["intake"]["title"] = "planted"
    path.write_text(json.dumps(data), encoding="utf-8")
    path.chmod(0o666)
    assert load_flowset(charts).charts["intake"].title != "planted"
    path.parent.chmod(0o777)
    path.chmod(0o600)
    assert load_flowset(charts).charts["intake"].title != "planted"


@pytest.mark.parametrize("content", ["", "{", "[]", '{"key": 1}', "\x00\x01"])
def test_a_damaged_cache_is_replaced(charts: Path, content: str) -> None:
    load_flowset(charts)
    [path] = cache_files(charts)
    path.write_text(content, encoding="utf-8")
    assert load_flowset(charts).start_key == "intake.social_engineering"
    assert json.loads(cache_files(charts)[0].read_text(encoding="utf-8"))["key"]


def test_a_planted_record_name_is_refused(charts: Path) -> None:
    load_flowset(charts)
    [path] = cache_files(charts)
    data = json.loads(path.read_text(encoding="utf-8"))
    data["payload"]["charts"]["intake"]["@"] = "os.system"
    path.write_text(json.dumps(data), encoding="utf-8")
    assert load_flowset(charts).charts["intake"].title  # read from the files again


def test_the_first_question_imports_neither_pydantic_nor_jinja(tmp_path: Path) -> None:
    code = ("import sys\nfrom wizard.frontends.terminal.cli import build_parser\n"
            "import wizard.frontends.terminal.prompts\n"
            "from wizard.flows.flowset import load_flowset\n"
            "from wizard.calls.engine import Engine\n"
            f"fs = load_flowset(__import__('pathlib').Path({str(FLOWCHARTS)!r}))\n"
            "Engine(fs).step({})\n"
            "print(sorted(m for m in ('pydantic', 'jinja2', 'rich.panel', 'sqlalchemy')"
            " if m in sys.modules))\n")
    env = cli_env(tmp_path, IPSEC_TRIAGE_CACHE=str(tmp_path / "cache"))
    first = subprocess.run([PYTHON, "-c", code], env=env, capture_output=True, text=True,
                           cwd=ROOT, check=True)
    assert "pydantic" in first.stdout  # no cache yet: checked with the schema
    again = subprocess.run([PYTHON, "-c", code], env=env, capture_output=True, text=True,
                           cwd=ROOT, check=True)
    assert again.stdout.strip() == "[]"


# -- the records and the schema stay in step --------------------------------------------

MODELS = [schema.Option, schema.ProbeCall, schema.YesNoNode, schema.ChoiceNode,
          schema.CheckNode, schema.TextNode, schema.ActionNode, schema.NoteNode,
          schema.GotoNode, schema.TerminalNode, schema.Flowchart,
          *(getattr(__import__("wizard.flows.catalogue_schema", fromlist=["x"]), n)
            for n in ("Match", "Entry")), CatalogueModel]


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_every_schema_field_is_declared_on_its_record(model: type) -> None:
    record = Record.RECORDS[model.__name__]
    declared: set[str] = set()
    for cls in record.__mro__:
        declared |= set(getattr(cls, "__annotations__", {}))
    assert set(model.model_fields) <= declared  # type: ignore[attr-defined]


def test_the_wizard_tests_nodes_as_records_not_as_schema_models() -> None:
    """isinstance() against a pydantic model is always false for a record: code that
    looks at flowchart nodes imports them from wizard.flows.nodes."""
    node_models = {m.__name__ for m in MODELS}
    allowed = {"schema.py", "catalogue_schema.py", "flowset.py", "catalogue.py"}  # checking
    offenders = []
    for path in [*(ROOT / "wizard").rglob("*.py"), *(ROOT / "tests").rglob("*.py")]:
        if path.name in allowed or path.name == "test_flowcache.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").endswith("schema"):
                names = {a.name for a in node.names} & (node_models - {"Flowchart"})
                if names:
                    offenders.append(f"{path.relative_to(ROOT)}: {sorted(names)}")
    assert not offenders, "import these from wizard.flows.nodes: " + "; ".join(offenders)


def test_a_terminal_is_a_record_with_its_status() -> None:
    fs = load_flowset(FLOWCHARTS)
    terminals = [n for c in fs.charts.values() for n in c.nodes.values()
                 if isinstance(n, TerminalNode)]
    assert terminals and all(t.status.label for t in terminals)


def test_the_code_version_changes_when_a_module_is_written_anew(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "wizard"
    (package / "flows").mkdir(parents=True)
    module = package / "flows" / "engine.py"
    module.write_text("STEP = 1\n")
    (package / "__pycache__").mkdir()
    monkeypatch.setattr(flowcache, "PACKAGE", package)

    def version() -> str:
        flowcache.code_version.cache_clear()
        return flowcache.code_version()

    first = version()
    assert version() == first  # nothing written: the same program
    (package / "__pycache__" / "engine.cpython.pyc").write_bytes(b"compiled")
    assert version() == first  # compiled files are not the program's code
    module.write_text("STEP = 2\n")  # same size, other bytes: an upgrade or an edit
    os.utime(module, ns=(module.stat().st_atime_ns, module.stat().st_mtime_ns + 1_000))
    assert version() != first
    second = version()
    (package / "flows" / "extra.py").write_text("")  # a module added
    assert version() != second
    flowcache.code_version.cache_clear()
