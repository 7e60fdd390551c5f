"""The wheel carries the flowcharts, the catalogue and the ticket templates."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from .helpers.calls import ROOT


def test_wheel_ships_flowcharts_and_templates(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(tmp_path), str(ROOT)], check=True, timeout=300)
    (wheel,) = tmp_path.glob("ipsec_triage-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for chart in (ROOT / "flowcharts").glob("*.yaml"):
        assert f"wizard/flowcharts/{chart.name}" in names
    assert "wizard/flowcharts/catalogue/known_issues.yaml" in names
    assert {"wizard/templates/ticket.md.j2", "wizard/templates/ticket.txt.j2"} <= names
    for page in (ROOT / "templates" / "web").glob("*.j2"):  # the browser's pages
        assert f"wizard/templates/web/{page.name}" in names
    assert "wizard/templates/report_parts.html.j2" in names  # shared with the report page
    for static in (ROOT / "wizard" / "frontends" / "web" / "static").iterdir():
        assert f"wizard/frontends/web/static/{static.name}" in names  # the pages' CSS, JS
    assert "wizard/checks/probes/__init__.py" in names
    assert "wizard/checks/probes/events.py" in names
