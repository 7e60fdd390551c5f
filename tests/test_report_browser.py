"""The HTML report as a manager opens it: a realistic help desk (a few thousand calls
over twelve weeks, two dozen staff, a flowchart rollout, abandoned, open and practice
calls) rendered by ``ipsec-triage report --format html`` and loaded in a real headless
Chromium (Debian's ``chromium``, driven by Playwright), offline."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from benchmarks.desk import fill

from .helpers.browser import CHROMIUM
from .helpers.run import PYTHON, cli_env, run_cli

SECTIONS = {
    "volume": "Calls per week", "versions": "Calls per week by flowchart version",
    "outcomes": "Outcomes", "by-category": "By category",
    "by-flowchart_version": "By flowchart version", "by-staffer": "By staffer",
    "by-target": "By target computer", "by-terminal": "By flowchart exit",
    "by-scope": "By scope (who is affected)", "by-severity": "By severity",
    "by-call_type": "By kind of call", "by-tier2_group": "By escalated to",
    "dropoff": "Drop-off per step",
    "safety": "Known issues and social-engineering attempts per week",
    "handoffs": "Hand-offs to Tier 2",
}


@pytest.fixture(scope="module")
def page_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("desk")
    url = f"sqlite:///{folder / 'calls.sqlite3'}"
    fill(url, 3000, weeks=12)
    out = folder / "report.html"
    r = run_cli(["report", "--format", "html", "-o", str(out), "--no-sync"],
                cli_env(folder, IPSEC_TRIAGE_STORE=url))
    assert r.returncode == 0, r.stderr
    return out


def test_the_report_page_shows_every_section_with_its_chart_and_table(
        page_file: Path, browser: object, tmp_path: Path) -> None:
    requests: list[str] = []
    page = browser.new_page(viewport={"width": 1200, "height": 900})  # type: ignore[attr-defined]
    page.on("request", lambda request: requests.append(request.url))
    page.goto(page_file.as_uri())
    assert page.title() == "IPsec calls: classification report"
    scope = page.locator("dl.scope").inner_text()
    assert "Period" in scope and "2026-05-04 to 2026-07-" in scope
    assert "practice call(s) left out (--practice includes them)" in scope
    for sid, heading in SECTIONS.items():
        section = page.locator(f"section#{sid}")
        assert section.locator("h2").inner_text() == heading
        chart = section.locator("svg[role=img]")
        box = chart.bounding_box()
        assert box is not None and box["width"] > 200 and box["height"] > 40, sid
        name = chart.get_attribute("aria-labelledby")
        assert name and page.locator(f"[id='{name.split()[0]}']").count() == 1
        assert chart.locator("rect").count() > 0, sid
        assert section.locator("table tbody tr").count() > 0, sid
    cards = page.locator("ul.cards li").all_inner_texts()
    assert any(c.startswith("Calls\n") for c in cards)
    assert any(c.startswith("Abandoned") for c in cards)
    assert any(c.startswith("Still open") for c in cards)
    exits = page.locator("section#by-terminal table tbody tr").count()
    assert exits >= 15  # every exit reached, none cut
    trend = page.locator("section#volume polyline")
    assert trend.count() == 1
    page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
    assert (tmp_path / "report.png").stat().st_size > 10_000
    assert requests == [page_file.as_uri()]  # nothing loaded from anywhere else


def test_long_labels_are_shortened_on_charts_and_whole_in_tables(
        page_file: Path, browser: object) -> None:
    page = browser.new_page(viewport={"width": 1200, "height": 900})  # type: ignore[attr-defined]
    page.goto(page_file.as_uri())
    labels = page.locator("section#by-terminal svg text title").evaluate_all(
        "titles => titles.map(t => t.textContent)")
    cut = page.locator("section#by-terminal svg text").evaluate_all(
        "texts => texts.map(t => t.lastChild.textContent)")
    assert any(c.endswith("…") for c in cut)  # the long ones, shortened
    shown = page.locator("section#by-terminal table tbody th").evaluate_all(
        "cells => cells.map(c => c.textContent)")  # also when the table is folded
    assert labels and set(labels) <= set(shown)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 1200  # nothing pushes the page sideways


def test_the_report_benchmark_runs_on_a_tiny_desk(tmp_path: Path) -> None:
    """The benchmark itself (100k and 1M calls) is run by 'python -m benchmarks', not
    here; this only checks that it works, on 300 calls."""
    shot = tmp_path / "report.png"
    argv = [PYTHON, "benchmarks/bench_report.py", "--sizes", "300", "--runs", "1",
            "--backends", "sqlite"]
    if Path(CHROMIUM).exists():
        argv += ["--screenshot", str(shot)]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=300,
                       cwd=Path(__file__).resolve().parent.parent)
    assert r.returncode == 0, r.stderr
    line = next(ln for ln in r.stdout.splitlines() if ln.startswith("sqlite"))
    assert line.split()[1] == "300"
    assert not Path(CHROMIUM).exists() or shot.stat().st_size > 10_000
