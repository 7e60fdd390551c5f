"""Shared fixtures: every test gets its own data folder, and no test reaches the network.

Markers (registered in pyproject.toml, run with --strict-markers) are put on each test by
what it uses, so none is forgotten: ``pty`` for a test that reaches ``pty_spawn`` (the
program in a pseudo-terminal), ``browser`` for the ``browser`` fixture, ``postgres`` for
the PostgreSQL test server, and ``slow`` for all three, a real web desk server
(``tests.helpers.web.Server``) and the tests marked by hand (the route replay).
``pytest -m "not slow"`` is the quick run."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator
from pathlib import Path
from types import CodeType
from typing import Any

import pytest

from .helpers.browser import CHROMIUM, FLAGS
from .helpers.run import CACHE, FLOWCHARTS, PYTHON, ROOT, cli_env, pty_spawn  # noqa: F401 - the process helpers, also imported from here


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    d = tmp_path / "data"
    monkeypatch.setenv("IPSEC_TRIAGE_DATA", str(d))
    monkeypatch.setenv("IPSEC_TRIAGE_STAFFER", "tester")
    monkeypatch.delenv("IPSEC_TRIAGE_ORG", raising=False)
    monkeypatch.delenv("IPSEC_TRIAGE_FLOWCHARTS", raising=False)
    return d


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield chromium
        chromium.close()


def _codes(code: CodeType) -> Iterator[CodeType]:
    yield code
    for const in code.co_consts:
        if isinstance(const, CodeType):
            yield from _codes(const)


@functools.cache
def _reaches(roots: tuple[Callable[..., Any], ...], targets: frozenset[str]) -> bool:
    """Whether any of ``roots`` names one of ``targets`` (called, imported or looked up as
    an attribute), directly or through the tests' own functions and classes (worked out
    once for the many tests of one function)."""
    seen: set[CodeType] = set()
    stack = list(roots)
    while stack:
        func = inspect.unwrap(stack.pop())
        code = getattr(func, "__code__", None)
        if code is None or code in seen:
            continue
        seen.add(code)
        names = getattr(func, "__globals__", {})
        for part in _codes(code):
            if targets.intersection(part.co_names):
                return True
            for name in part.co_names:
                obj = names.get(name)
                if not getattr(obj, "__module__", "").startswith("tests"):
                    continue
                if inspect.isfunction(obj):
                    stack.append(obj)
                elif inspect.isclass(obj):
                    stack.extend(v for v in vars(obj).values() if inspect.isfunction(v))
    return False


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if not isinstance(item, pytest.Function):
            continue
        fixtures = item._fixtureinfo.name2fixturedefs
        roots = (item.function, *(defs[-1].func for defs in fixtures.values()))
        params = getattr(item, "callspec", None)
        kinds: set[str] = set()
        if "browser" in item.fixturenames:
            kinds.add("browser")
        if _reaches(roots, frozenset({"pty_spawn"})):
            kinds.add("pty")
        # a fixture with a PostgreSQL param only for that param; the others when they reach it
        unparametrized = (item.function, *(defs[-1].func for defs in fixtures.values()
                                           if defs[-1].params is None))
        if (params is not None and "postgresql" in params.params.values()) or (
                _reaches(unparametrized, frozenset({"pg_schema"}))):
            kinds.add("postgres")
        for kind in sorted(kinds):
            item.add_marker(kind)
        if kinds or _reaches(roots, frozenset({"Server"})):  # also a real web desk server
            item.add_marker("slow")
