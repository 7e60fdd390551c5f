"""The help desk in a real browser: ``ipsec-triage serve`` started as a user would, on
a free loopback port, driven by Playwright in Debian's headless Chromium."""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from wizard.calls.engine import Engine
from wizard.calls.journal import JournalFolder

from .helpers.calls import shipped
from .helpers.run import PYTHON, cli_env, run_cli
from .helpers.web import PASSWORDS, ROLES, current_key


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    data = tmp_path_factory.mktemp("desk") / "data"
    env = cli_env(data)
    for name, password in PASSWORDS.items():
        r = run_cli(["users", "add", name, "--role", ROLES[name], "--password-stdin"], env,
                    input=password + "\n")
        assert r.returncode == 0, r.stderr
    port = free_port()
    log = open(data.parent / "serve.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen([PYTHON, "-m", "wizard", "serve", "--port", str(port),
                             "--no-checks"], env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{url}/login", timeout=2) as r:  # noqa: S310
                if r.status == 200:
                    break
        except OSError:
            pass
        assert proc.poll() is None, (data.parent / "serve.log").read_text()
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.2)
    yield url, data
    proc.terminate()
    proc.wait(timeout=20)
    log.close()


def signed_in(browser: Any, url: str, name: str, **options: Any) -> Any:
    context = browser.new_context(base_url=url, accept_downloads=True, **options)
    page = context.new_page()
    page.goto("/login")
    page.fill("#name", name)
    page.fill("#password", PASSWORDS[name])
    page.click("button:has-text('Sign in')")
    page.wait_for_selector(f"text={name} · {ROLES[name]}")
    return page


def start(page: Any) -> str:
    page.goto("/")
    page.click("button:has-text('Start a call')")
    page.wait_for_selector(".question")
    return str(page.url.rstrip("/").rsplit("/", 1)[-1])


def give(page: Any, value: str) -> None:
    """Answer the question on the page the way a person would."""
    form = page.locator("form[action$='/answer']")
    text = form.locator("input[type=text][name=value]")
    if text.count():
        text.fill(value)
    elif form.locator("input[type=radio]").count():
        form.locator(f"input[type=radio][value='{value}']").check()
    with page.expect_navigation():
        form.locator("button[type=submit]").click()


ROUTE = next(a for a, s in Engine(shipped()).paths()
             if s.visit.node_key == "fig7_2.escalate_caller")


def test_a_whole_call_to_the_ticket_in_the_browser(server: tuple[str, Path], browser: Any,
                                                   tmp_path: Path) -> None:
    url, data = server
    page = signed_in(browser, url, "sam")
    page.screenshot(path=str(tmp_path / "home.png"), full_page=True)
    call_id = start(page)
    shot = 0
    while (key := current_key(data, call_id)) is not None:
        if shot == 0 and page.locator(".command").count():
            page.screenshot(path=str(tmp_path / "question.png"), full_page=True)
            shot = 1
        give(page, ROUTE[key])
    assert page.locator(".status").inner_text() == "Not fixed (escalated to Tier 2)"
    page.screenshot(path=str(tmp_path / "ended.png"), full_page=True)
    with page.expect_download() as info:
        page.click("text=Download (.md)")
    ticket = Path(info.value.path()).read_text(encoding="utf-8")
    assert "Help-desk staffer | sam" in ticket
    assert info.value.suggested_filename == f"{call_id}.ticket.md"
    page.goto(f"/calls/{call_id}/history")
    page.screenshot(path=str(tmp_path / "history.png"), full_page=True)
    assert page.locator("table tr").count() == len(ROUTE) + 1
    print(f"screenshots in {tmp_path}")


def test_a_reload_the_back_button_and_a_second_tab_lose_or_double_nothing(
        server: tuple[str, Path], browser: Any) -> None:
    url, data = server
    page = signed_in(browser, url, "sam")
    call_id = start(page)
    for _ in range(3):
        give(page, ROUTE[str(current_key(data, call_id))])
    question = page.locator(".question").inner_text()
    page.reload()
    assert page.locator(".question").inner_text() == question
    assert len(JournalFolder(data).load(call_id).answers) == 3
    # pages are never stored: going back shows where the call is now
    page.go_back()
    assert page.locator(".question").inner_text() == question
    # a second tab on the same question: the first answer wins, the other is refused
    other = page.context.new_page()
    other.goto(f"/calls/{call_id}")
    key = str(current_key(data, call_id))
    give(page, ROUTE[key])
    give(other, ROUTE[key])
    assert other.locator(".flash.warn").inner_text().startswith("that form was for a step")
    assert other.locator(".question").inner_text() == page.locator(".question").inner_text()
    state = JournalFolder(data).load(call_id)
    assert len(state.answers) == 4 and not state.changes


def test_two_staff_in_two_browsers_and_one_refused_the_others_call(
        server: tuple[str, Path], browser: Any, tmp_path: Path) -> None:
    url, data = server
    sam = signed_in(browser, url, "sam")
    alex = signed_in(browser, url, "alex")
    sams, alexs = start(sam), start(alex)
    for _ in range(2):  # turn by turn, each on their own call
        give(sam, ROUTE[str(current_key(data, sams))])
        give(alex, ROUTE[str(current_key(data, alexs))])
    assert JournalFolder(data).load(sams).staffer == "sam"
    assert JournalFolder(data).load(alexs).staffer == "alex"
    alex.goto("/")
    assert alexs in alex.content() and sams not in alex.content()
    response = alex.goto(f"/calls/{sams}")
    assert response is not None and response.status == 404
    assert alex.locator("h1").inner_text() == "No such call"
    alex.screenshot(path=str(tmp_path / "refused.png"), full_page=True)
    assert len(JournalFolder(data).load(sams).answers) == 2


# -- the later pages: report, shortcuts, the ticket to copy, accessibility --------------

A11Y = """() => {
  const problems = [];
  const root = document.documentElement;
  if (!root.lang) problems.push("no lang on <html>");
  const h1 = document.querySelectorAll("h1").length;
  if (h1 !== 1) problems.push(h1 + " h1 headings");
  // the page's h1 first in it: no other heading and no form control before it (the
  // sign-out button of the banner, above the page, aside)
  const main = document.querySelector("main");
  const title = main && main.querySelector("h1");
  if (!title) problems.push("no h1 in <main>");
  else for (const el of main.querySelectorAll(
      "h2, h3, h4, h5, h6, input:not([type=hidden]), textarea, select, button")) {
    if (el.compareDocumentPosition(title) & Node.DOCUMENT_POSITION_FOLLOWING)
      problems.push("before the h1: " + el.outerHTML.slice(0, 120));
  }
  for (const el of document.querySelectorAll("input:not([type=hidden]), textarea, select")) {
    if (!(el.labels && el.labels.length) && !el.getAttribute("aria-label")
        && !el.getAttribute("aria-labelledby")) problems.push("no label: " + el.outerHTML);
  }
  for (const el of document.querySelectorAll("button, a[href]")) {
    if (!el.textContent.trim() && !el.getAttribute("aria-label"))
      problems.push("no name: " + el.outerHTML);
  }
  for (const el of document.querySelectorAll("[aria-labelledby]")) {
    for (const id of el.getAttribute("aria-labelledby").split(" "))
      if (!document.getElementById(id)) problems.push("labelled by a missing " + id);
  }
  if (root.scrollWidth > root.clientWidth)
    problems.push("scrolls sideways: " + root.scrollWidth + " > " + root.clientWidth);
  return problems;
}"""


def zoomed(browser: Any, url: str, name: str) -> Any:
    """A staffer's browser at 200% zoom on a 1280-pixel-wide screen: 640 CSS pixels."""
    return signed_in(browser, url, name, viewport={"width": 640, "height": 400},
                     device_scale_factor=2)


def accessible(page: Any) -> None:
    assert page.evaluate(A11Y) == [], page.url


def test_a_lead_sees_every_section_of_the_report_and_a_staffer_is_refused(
        server: tuple[str, Path], browser: Any, tmp_path: Path) -> None:
    from .helpers.handoff import escalated_call

    url, data = server
    escalated_call(data)  # a replayed call (practice): stored when the report is made
    lead = zoomed(browser, url, "lee")
    lead.click("nav >> text=Report")
    assert lead.locator("h1").inner_text() == "IPsec calls: classification report"
    lead.check("input[name=practice]")
    lead.click("button:has-text('Show the report')")
    sections = lead.locator("main section[id]").evaluate_all("s => s.map(e => e.id)")
    for wanted in ("summary", "volume", "versions", "outcomes", "dropoff", "safety",
                   "handoffs", "by-category", "by-terminal"):
        assert wanted in sections
        assert lead.locator(f"section#{wanted}").is_visible()
    assert lead.locator("section#outcomes svg[role=img]").count() == 1
    lead.screenshot(path=str(tmp_path / "report.png"))  # what a lead sees first
    accessible(lead)
    lead.fill("#since", "2000-01-01")
    lead.fill("#until", "2000-01-31")
    lead.click("button:has-text('Show the report')")
    assert "No stored calls match." in lead.locator("main").inner_text()
    # days the wrong way round: the page says so, under its h1, and keeps the form
    response = lead.goto("/report?since=2000-02-01&until=2000-01-01")
    assert response is not None and response.status == 400
    assert lead.locator("[role=alert]").inner_text() == "From 2000-02-01 is after To 2000-01-01"
    assert lead.locator("#since").input_value() == "2000-02-01"
    accessible(lead)
    staffer = signed_in(browser, url, "sam")
    assert staffer.locator("nav >> text=Report").count() == 0
    response = staffer.goto("/report")
    assert response is not None and response.status == 404
    assert staffer.locator("h1").inner_text() == "No such page"


def test_keyboard_shortcuts_on_a_question_page(server: tuple[str, Path],
                                               browser: Any, tmp_path: Path) -> None:
    url, data = server
    page = zoomed(browser, url, "sam")
    call_id = start(page)
    page.screenshot(path=str(tmp_path / "question.png"), full_page=True)
    accessible(page)
    radios = page.locator("form[action$='/answer'] input[type=radio]")
    assert page.locator(".keys").is_visible()  # the hint comes with the script
    page.keyboard.press("2")
    assert radios.nth(1).is_checked()
    assert "Picked 2" in page.locator("#js-status").inner_text()
    # while typing a note, keys are text
    page.keyboard.press("n")
    assert page.evaluate("document.activeElement.id") == "note"
    page.keyboard.type("1q?")
    assert page.locator("#note").input_value() == "1q?"
    assert radios.nth(1).is_checked() and page.locator("#keys").is_hidden()
    page.locator("#note").fill("")
    page.locator("h1").click()
    page.keyboard.press("?")
    assert page.locator("#keys").is_visible()
    page.keyboard.press("Escape")
    assert page.locator("#keys").is_hidden()
    page.keyboard.press("1")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert len(JournalFolder(data).load(call_id).answers) == 1
    # the next question is typed: its field has the cursor (autofocus: the browser gives
    # it once the page is laid out, a moment after the load), Escape leaves it
    page.wait_for_function("document.activeElement && document.activeElement.name === "
                           "'value'", timeout=5000)
    page.keyboard.press("b")
    assert page.url.endswith(call_id)
    page.keyboard.press("Escape")
    with page.expect_navigation():
        page.keyboard.press("b")
    assert page.locator("h1").inner_text() == "Change an earlier answer"
    page.go_back()
    page.wait_for_load_state()
    page.focus("[name=value]")  # back in the field, whatever focus the browser restored
    page.keyboard.press("Escape")
    page.wait_for_function("document.activeElement.name !== 'value'")
    with page.expect_navigation():
        page.keyboard.press("q")
    assert f"Call {call_id} saved" in page.locator(".flash").inner_text()
    assert JournalFolder(data).load(call_id).ended is None


def test_the_end_page_copies_the_ticket_and_reads_well_zoomed(
        server: tuple[str, Path], browser: Any, tmp_path: Path) -> None:
    from .helpers.handoff import escalated_call

    url, data = server
    call_id = escalated_call(data)
    page = zoomed(browser, url, "lee")  # a lead opens any call
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=url)
    page.goto(f"/calls/{call_id}")
    assert page.locator(".status").inner_text() == "Not fixed (escalated to Tier 2)"
    page.screenshot(path=str(tmp_path / "ended.png"), full_page=True)
    accessible(page)
    page.click("button:has-text('Copy the ticket')")
    page.wait_for_selector("#js-status:has-text('Ticket copied')")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == page.locator("#ticket-text").text_content()
    assert f"IPsec call {call_id}" in copied
    page.goto(f"/calls/{call_id}/route")
    accessible(page)
    assert page.locator("ol.route li.end").inner_text().startswith("Ended:")
    page.goto(f"/calls/{call_id}/history")
    accessible(page)
    # the keyboard reaches the page first, and shows where it is
    page.goto("/")
    accessible(page)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to the page"
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"
    print(f"screenshots in {tmp_path}")


#: What the page reports of its command box: its widths, and per step each word's line
#: boxes (Range.getClientRects: a word broken across rows has more than one)
MEASURE = """(box) => {
  const b = box.getBoundingClientRect();
  const steps = [];
  for (const step of box.querySelectorAll('.step')) {
    const words = [];
    for (const w of step.querySelectorAll('.w')) {
      const r = document.createRange();
      r.selectNodeContents(w);
      const rects = Array.from(r.getClientRects()).filter((x) => x.width > 0);
      words.push({word: w.textContent, boxes: rects.length, left: rects[0].left,
                  right: rects[rects.length - 1].right, top: rects[0].top});
    }
    steps.push(words);
  }
  return {scroll: box.scrollWidth, client: box.clientWidth, left: b.left, right: b.right,
          steps: steps};
}"""


def test_the_longest_command_is_boxed_and_never_broken_inside_a_word_narrow_or_wide(
        server: tuple[str, Path], browser: Any) -> None:
    """A Windows 11 caller's log step (three steps, the wevtutil query 150 characters)
    on a phone-sized and a desktop-sized window: the box holds every word (no sideways
    scrolling), no word is split over two rows, each step starts a row and the rows a
    step goes on to are indented."""
    from .test_command_display import CALLER_LOGS

    url, data = server
    page = signed_in(browser, url, "sam")
    call_id = start(page)
    while (key := current_key(data, call_id)) != "fig7_2.logs_caller":
        assert key is not None and key in CALLER_LOGS, key
        give(page, CALLER_LOGS[key])
    node = shipped().node("fig7_2.logs_caller")
    expected = [line.split() for line in node.commands["vista_later"].splitlines()]  # type: ignore[index]
    assert "(one line per step; indented rows go on)" in page.inner_text("#command-label")
    counted = []
    for width in (360, 1400):
        page.set_viewport_size({"width": width, "height": 900})
        shown = page.locator(".command").evaluate(MEASURE)
        assert shown["scroll"] <= shown["client"], (width, shown["scroll"], shown["client"])
        assert [[w["word"] for w in step] for step in shown["steps"]] == expected
        rows = 0
        for step in shown["steps"]:
            first = step[0]
            tops = sorted({round(w["top"]) for w in step})
            rows += len(tops)
            for w in step:
                assert w["boxes"] == 1, (width, w)  # never broken inside a word
                assert shown["left"] <= w["left"] and w["right"] <= shown["right"], (width, w)
            for top in tops[1:]:  # a row the step goes on to starts further right
                start_of_row = min(w["left"] for w in step if round(w["top"]) == top)
                assert start_of_row > first["left"], (width, step)
        counted.append(rows)
    # the narrow window wraps the steps onto more rows than the wide one (the page's
    # column keeps even a wide window from holding the 150-character query on one row)
    assert counted[0] > counted[1] >= len(expected), counted
