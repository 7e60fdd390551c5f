"""The evidence path in a real browser (Debian's Chromium through Playwright, ``serve``
started as a user would): the collector script downloaded on the log step, the caller's
packet uploaded on the end page, its findings shown."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from wizard.calls.engine import Engine

from .helpers.calls import shipped
from .helpers.web import current_key
from .test_attach import EVENTS, script_packet
from .test_web_browser import give, server, signed_in, start  # noqa: F401 - the fixture

LOG_ROUTE = next(a for a, s in Engine(shipped()).paths() if "fig7_2.logs_rras" in a)


def test_script_download_and_packet_upload_in_the_browser(server: tuple[str, Path],  # noqa: F811
                                                          browser: Any,
                                                          tmp_path: Path) -> None:
    url, data = server
    page = signed_in(browser, url, "sam")
    call_id = start(page)
    downloaded = None
    while (key := current_key(data, call_id)) is not None:
        if key == "fig7_2.logs_rras":
            with page.expect_download() as info:
                page.click("text=Download the collector script")
            downloaded = Path(info.value.path()).read_text(encoding="utf-8")
            assert info.value.suggested_filename.startswith("ipsec-collect_")
        give(page, LOG_ROUTE[key])
    assert downloaded is not None and f"$CallId = '{call_id}'" in downloaded
    assert "auditpol" in downloaded
    pkt = script_packet(tmp_path / "ipsec_from_caller.zip", call_id,
                        {"evidence/pc_events_mainmode.xml": EVENTS})
    page.set_input_files("#packet-file", str(pkt))
    with page.expect_navigation():
        page.click("button:has-text('Take the packet into the call')")
    page.wait_for_selector("text=taken into the call")
    findings = page.locator("ol.findings").inner_text()
    assert "10.20.30.40: main: negotiation timed out (13805)" in findings
    assert "For Tier 2" in page.locator("#ticket-text").inner_text()
    page.screenshot(path=str(tmp_path / "packet.png"), full_page=True)
