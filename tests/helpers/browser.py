"""Debian's Chromium driven by Playwright (never a downloaded browser) and the flags a
closed network needs; the ``browser`` fixture (one per test module) is in conftest."""

from __future__ import annotations

import shutil

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run", "--disable-sync"]
