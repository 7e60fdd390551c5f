"""The help desk in a real browser, with JavaScript on: a check step's results shown as
they arrive, then confirmed or overridden; and single sign-on by the organization's
proxy (a browser whose every request carries the proxy's header). ``ipsec-triage serve``
is started as a user would, with its automatic checks on, on a free loopback port, and
driven by Playwright in Debian's headless Chromium.

The check's target is this computer (127.0.0.1). The server finds ``ping`` on its
``PATH`` as the check does anywhere; the test puts first on that ``PATH`` a ``ping``
that waits while the test holds it and then runs the system's own: the page is seen
while the check runs and again when its result has come, whatever the machine's speed.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from wizard.calls.journal import JournalFolder
from wizard.service.accounts import Accounts

from .helpers.web import PASSWORDS, ROLES, current_key, held_ping, serve
from .test_checks_in_calls import INTAKE
from .test_web_browser import accessible, give, signed_in, start

CHECK = "fig7_1.net_from_helpdesk"
"""A check run on the help desk's computer: does the target answer a ping from there."""
ANSWERS = INTAKE | {"fig7_1.ping_ip": "no", "fig7_1.no_reply": "proves",
                    "fig7_1.net_autoconfig": "no",
                    "fig7_1.net_gateway": "yes", "fig7_1.net_tracert": "none"}
"""The intake with the target 127.0.0.1, then Figure 7.1 up to that check."""
SSO_HEADER = "X-Remote-User"


class Desk(NamedTuple):
    url: str
    data: Path
    hold: Path
    """While this file exists, a ping the server starts waits."""
    pinging: Path
    """Made by each ping the server starts."""


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    root = tmp_path_factory.mktemp("live")
    ping = held_ping(root)
    data = root / "data"
    accounts = Accounts(data)
    for name, password in PASSWORDS.items():
        accounts.add(name, ROLES[name], password)
    accounts.add("dana", "staffer", "dana-password-1")
    accounts.disable("dana")
    with serve(data, "--org", str(ping.org), "--sso-header", SSO_HEADER, "--sso-from",
               "127.0.0.1", env=ping.env) as server:
        yield Desk(server.wait(), data, ping.hold, ping.pinging)


def wait_for_file(path: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path.name} never appeared"
        time.sleep(0.05)


def test_a_check_step_shows_each_result_as_it_arrives_then_the_staffer_overrides_it(
        desk: Desk, browser: Any, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    page = signed_in(browser, desk.url, "sam")
    call_id = start(page)
    while (key := current_key(desk.data, call_id)) != "fig7_1.net_tracert":
        assert key is not None and key in ANSWERS, key
        give(page, ANSWERS[key])
    # the answer that leads to the check: its page comes while the check runs
    desk.hold.touch()
    desk.pinging.unlink(missing_ok=True)
    try:
        page.fill("form[action$='/answer'] [name=value]", ANSWERS["fig7_1.net_tracert"])
        with page.expect_navigation(wait_until="commit"):
            page.click("form[action$='/answer'] button[type=submit]")
        wait_for_file(desk.pinging)  # the server's ping has started, and is held
        progress = page.locator("#check-progress")
        expect(progress.locator("li.running")).to_have_text("ping (127.0.0.1): running…")
        expect(page.locator("h1")).to_have_text(f"Call {call_id}")
        expect(page.locator("section.progress")).to_contain_text(
            "Running 1 check(s) on the help desk's computer")
        expect(progress).to_have_attribute("aria-live", "polite")
        # nothing has come yet: no result, and the question follows the checks
        expect(progress.locator("li.result")).to_have_count(0)
        expect(progress.locator("li.done")).to_have_count(0)
        expect(page.locator("form[data-answer]")).to_have_count(0)
        page.screenshot(path=str(tmp_path / "checking.png"), full_page=True)
    finally:
        desk.hold.unlink(missing_ok=True)
    # the result arrives in the live region, then the question with its suggestion
    result = progress.locator("li.result")
    expect(result).to_have_count(1)
    probe = JournalFolder(desk.data).load(call_id).probes[CHECK]
    status = probe.status.value
    expect(result).to_have_text(re.compile(  # the time: the one measured, with the hold
        rf"ping: {status} in \d+\.\d s · {re.escape(probe.summary)}"))
    expect(result).to_have_class(f"result {status}")
    expect(progress.locator("li.done")).to_have_text("All checks done.")
    expect(progress.locator("li.running")).to_be_hidden()
    suggested = "yes" if status == "ok" else "no"
    label = {"yes": "Yes", "no": "No"}
    check = page.locator("#check")
    expect(check).to_contain_text(f"Automatic check: {probe.summary}")
    expect(check).to_contain_text(f"ping: {status}, {probe.duration:.1f} s, ran on the "
                                  "help-desk computer")
    expect(check).to_contain_text(f"The check suggests {label[suggested]}")
    radios = page.locator("form[data-answer] input[type=radio][name=value]")
    expect(radios).to_have_count(2)
    values = radios.evaluate_all("rs => rs.map(r => r.value)")
    expect(radios.nth(values.index(suggested))).to_be_checked()
    page.wait_for_load_state("load")
    page.screenshot(path=str(tmp_path / "checked.png"), full_page=True)
    accessible(page)
    # the staffer knows better: the other answer by its key, Enter for Next
    other = next(v for v in values if v != suggested)
    page.locator("h1").click()  # the keys work outside the text fields
    page.keyboard.press(str(values.index(other) + 1))
    expect(radios.nth(values.index(other))).to_be_checked()
    expect(page.locator("#js-status")).to_contain_text(f"Picked {values.index(other) + 1}")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.locator(".question")).to_have_text("Can the caller reach localhost now?")
    state = JournalFolder(desk.data).load(call_id)
    answer = state.answers[CHECK]
    assert (answer.value, answer.suggested) == (other, suggested)
    assert current_key(desk.data, call_id) == "fig7_1.net_fixed"
    # the call's history tells what the check found, where, and that it was overridden
    page.goto(f"/calls/{call_id}/history")
    row = page.locator("tr", has_text="answer a ping from the help desk")
    expect(row).to_contain_text(f"ping: {status} on the help-desk computer; suggested "
                                f"{label[suggested]}")
    expect(row.locator(".pill")).to_have_text("overridden")
    expect(row.locator("b")).to_have_text(label[other])
    # the page again is the plain question: the check is not run a second time
    page.goto(f"/calls/{call_id}")
    expect(page.locator("#check-progress")).to_have_count(0)
    print(f"screenshots in {tmp_path}")


def proxied(browser: Any, url: str, name: str) -> Any:
    """A browser behind the organization's single-sign-on proxy, which names the user
    in a header of every request (the proxy runs on this computer: 127.0.0.1)."""
    context = browser.new_context(base_url=url, extra_http_headers={SSO_HEADER: name})
    return context.new_page()


def audit(data: Path) -> list[tuple[str, str, str]]:
    lines = (data / "audit.log").read_text(encoding="utf-8").splitlines()
    return [(e["event"], e["user"], e.get("via", "")) for e in map(json.loads, lines)]


def test_single_sign_on_lets_a_known_user_in_and_refuses_others_with_a_page(
        desk: Desk, browser: Any) -> None:
    from playwright.sync_api import expect

    page = proxied(browser, desk.url, "sam")
    response = page.goto("/")
    assert response is not None and response.status == 200
    assert page.url == f"{desk.url}/"  # no detour by the sign-in page
    expect(page.locator(".who")).to_have_text("sam · staffer")
    expect(page.locator("input[type=password]")).to_have_count(0)
    accessible(page)
    page.goto("/login")  # signed in already: the sign-in page sends to the desk
    assert page.url == f"{desk.url}/"
    expect(page.locator("h1")).to_have_text("New call")
    call_id = start(page)
    give(page, ANSWERS[str(current_key(desk.data, call_id))])
    state = JournalFolder(desk.data).load(call_id)
    assert state.staffer == "sam" and len(state.answers) == 1
    page.goto("/")
    expect(page.locator("table tr", has_text=call_id)).to_have_count(1)
    page.goto(f"/calls/{call_id}/history")
    expect(page.locator(".sub")).to_contain_text("by sam")
    # a lead named by the proxy: the role is the users file's
    lead = proxied(browser, desk.url, "lee")
    lead.goto("/")
    expect(lead.locator(".who")).to_have_text("lee · lead")
    expect(lead.locator("nav >> text=Report")).to_be_visible()
    # unknown or disabled: a page that says why, and nothing to sign in with
    for name in ("nobody", "dana"):
        refused = proxied(browser, desk.url, name)
        for path in ("/", "/login", f"/calls/{call_id}", "/report"):
            response = refused.goto(path)
            assert response is not None and response.status == 403, (name, path)
            assert refused.url == f"{desk.url}{path}"  # not sent on to a sign-in form
            expect(refused.locator("h1")).to_have_text("No access to the help desk")
            text = refused.locator("main").inner_text()
            assert f"names you {name}," in text and "no enabled account" in text
            assert "administrator" in text
            expect(refused.locator("form, input, .who")).to_have_count(0)
            assert call_id not in refused.content()
        accessible(refused)
    assert JournalFolder(desk.data).load(call_id).answers.keys() == state.answers.keys()
    # when the proxy stops naming the user, the session ends with it
    page.context.set_extra_http_headers({})
    page.goto("/")
    assert page.url.startswith(f"{desk.url}/login")
    expect(page.locator("input[type=password]")).to_have_count(1)
    events = audit(desk.data)
    assert ("login", "sam", "sso") in events and ("login", "lee", "sso") in events
    assert ("sso_refused", "nobody", "") in events and ("sso_refused", "dana", "") in events
    assert not any(e[:2] in (("login", "nobody"), ("login", "dana")) for e in events)
