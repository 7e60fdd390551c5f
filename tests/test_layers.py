"""The layers of the package (README "Architecture"): every import of the wizard's own
modules points down, and no front end imports another.

Imports inside functions and under ``TYPE_CHECKING`` count too: a lazy import is still a
dependency.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "wizard"

#: Lowest first. A module may import its own package and any package of a lower rank.
LAYERS: list[tuple[str, ...]] = [
    ("wizard.base",),
    ("wizard.checks",),
    ("wizard.flows",),
    ("wizard.config",),
    ("wizard.calls", "wizard.halving"),
    ("wizard.records", "wizard.evidence", "wizard.handoff"),
    ("wizard.service",),
    ("wizard.frontends",),
]
FRONTENDS = "wizard.frontends"


def _rank(module: str) -> int:
    for i, group in enumerate(LAYERS):
        for package in group:
            if module == package or module.startswith(package + "."):
                return i
    raise AssertionError(f"{module} is in no layer: add its package to LAYERS")


def _package(module: str) -> str:
    """The role package a module belongs to (``wizard.calls.engine`` -> ``wizard.calls``;
    a front end: ``wizard.frontends.web.app`` -> ``wizard.frontends.web``)."""
    parts = module.split(".")
    return ".".join(parts[:3] if parts[1] == "frontends" else parts[:2])


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _imports(module: str, path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target == "wizard" or target.startswith("wizard."):
                subs = [f"{target}.{a.name}" for a in node.names
                        if f"{target}.{a.name}" in MODULE_NAMES]
                found += [(node.lineno, t) for t in subs or [target]]
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.startswith("wizard.")]
    return found


MODULES = _modules()
MODULE_NAMES = set(MODULES)


def test_every_module_is_in_a_layer() -> None:
    for module in MODULES:
        if module in ("wizard", "wizard.__main__"):
            continue
        _rank(module)


@pytest.mark.parametrize("module", [m for m in MODULES if m not in ("wizard", "wizard.__main__")])
def test_imports_point_down(module: str) -> None:
    own = _rank(module)
    wrong = []
    for line, target in _imports(module, MODULES[module]):
        if target == "wizard":  # the version only
            continue
        if _package(target) == _package(module):
            continue
        if _rank(target) > own:
            wrong.append(f"{MODULES[module].relative_to(ROOT)}:{line}: imports {target}, a "
                         f"higher layer")
        elif _rank(target) == own and target.startswith(FRONTENDS):
            wrong.append(f"{MODULES[module].relative_to(ROOT)}:{line}: a front end imports "
                         f"another front end ({target})")
    assert not wrong, "\n".join(wrong)


def test_no_import_circles_between_modules() -> None:
    graph = {m: {t for _, t in _imports(m, p) if t in MODULES and t not in ("wizard", m)}
             for m, p in MODULES.items()}
    # a package's __init__ re-exporting its own modules is not a circle of roles
    for m in graph:
        graph[m] = {t for t in graph[m] if not (MODULES[t].name == "__init__.py"
                                               and m.startswith(t + "."))}
    done: set[str] = set()
    stack: list[str] = []

    def visit(m: str) -> None:
        if m in stack:
            circle = stack[stack.index(m):] + [m]
            raise AssertionError("import circle: " + " -> ".join(circle))
        if m in done:
            return
        stack.append(m)
        for t in sorted(graph[m]):
            visit(t)
        stack.pop()
        done.add(m)

    for m in sorted(graph):
        visit(m)


def test_the_readme_architecture_names_every_package() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Architecture", 1)[1].split("\n## ", 1)[0]
    packages = {_package(m) for m in MODULES if m.count(".") >= 1 and m != "wizard.__main__"}
    for package in sorted(packages):
        name = package.removeprefix("wizard.").replace(".", "/")
        assert f"`{name}" in section, f"{package} is not in the README's Architecture"
    for group in LAYERS:
        for package in group:
            assert (PACKAGE / package.removeprefix("wizard.")).is_dir() or any(
                m.startswith(package) for m in MODULES), f"{package} in LAYERS but not in the tree"
