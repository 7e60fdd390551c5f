"""The Markdown ticket against hostile typed text (whatever filter an organization's
template puts it through), and the bounds of a ticket's rendering (size, loop turns,
time). The Markdown is read as a Markdown viewer would: markdown-it (CommonMark with
GitHub's tables), with its own link check off, as a viewer that lets every link through."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from wizard.config.organization import OrgConfig
from wizard.records import ticket
from wizard.records.ticket import TicketError, markdown_escape

from .helpers.calls import replay, route_to, routes
from .test_hostile_input import test_template_failures_get_clean_messages as assert_template_fails

HOSTILE_NAMES = [
    "<script>alert(1)</script>",
    "Ann <img src=x onerror=alert(1)>",
    "[m](javascript:alert(1))",
    "![i](javascript:alert(1)) **bold** `code` | cell | ~~x~~",
    "# Status: Fixed",
    "Ann\\|<b>x</b>",
    "javascript&#58;alert(1)",
]


def html_of(markdown: str) -> str:
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark").enable("table").enable("strikethrough")
    md.validateLink = lambda url: True  # a permissive viewer: every link target kept
    return md.render(markdown)


def assert_inert(html: str) -> None:
    """No element, link or formatting that the caller's text could have made."""
    for bad in ("<script", "<img", "<b>", "href=\"javascript:", "src=\"javascript:", "<h1>status",
                "<strong>bold", "<s>", "<del>"):
        assert bad not in html.lower(), (bad, html)


def template_dir(tmp_path: Path, markdown: str) -> Path:
    """An organization's template folder with ``markdown`` as its ticket.md.j2."""
    custom = tmp_path / "tpl"
    custom.mkdir()
    (custom / "ticket.md.j2").write_text(markdown)
    return custom


def answers_with(name: str, tried: str = "open a share") -> dict[str, str]:
    """An escalated call whose contact details were taken (the contact question names the
    caller), with ``name`` as the caller's name and ``tried`` as what they tried."""
    answers = dict(next(a for a, s in routes() if s.visit.node_key == "fig7_2.escalate_caller"
                        and "intake.caller_contact" in a))
    answers["intake.caller_name"] = name
    answers["intake.tried"] = tried
    return answers


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_a_callers_name_inside_a_question_is_escaped_in_the_shipped_ticket(
        name: str, tmp_path: Path) -> None:
    answers = answers_with(name)
    _, _, tickets = replay(answers, tmp_path, notes={"intake.caller_name": [name]})
    html = html_of(tickets["md"])
    assert_inert(html)
    assert "How can we reach" in html
    assert name in tickets["txt"]  # the plain-text ticket shows it as typed


ORG_TEMPLATE = """\
| a | {{ caller.name | upper }} |
|---|---|
| b | {{ caller.name | trim }} |
| c | {{ caller.name ~ "" }} |
| d | {{ caller.name | replace("x", "y") }} |
| e | {{ caller.name | e }} |
| f | {{ caller.name | title }} |
| g | {{ caller.name[0:200] }} |
| h | {{ [caller.name] | join(", ") }} |
| i | {{ "%s" | format(caller.name) }} |
| j | {{ ("**%s**" | safe) % caller.name }} |
| k | {{ ("*" | safe) ~ caller.name }} |
| l | {{ ("<br>" | safe) + caller.name }} |

{% set lowered = caller.name | lower %}
{{ lowered }}
{% macro shout(x) %}{{ x | upper }}{% endmacro %}
{{ shout(caller.name) }}
{{ caller.name | code }}
{{ answers }}
[what was tried]({{ tried }})
[what was tried](<{{ tried }}>)
"""


@pytest.mark.parametrize("name", HOSTILE_NAMES)
@pytest.mark.parametrize("tried", ["javascript:alert(1)", "JavaScript:alert(1)",
                                     " data:text/html;base64,PHNjcmlwdD4=",
                                     "vbscript: msgbox(1)"])
def test_filters_in_an_organization_template_keep_the_escaping(
        name: str, tried: str, tmp_path: Path) -> None:
    custom = template_dir(tmp_path, ORG_TEMPLATE)
    _, _, tickets = replay(answers_with(name, tried), tmp_path / "data",
                           org=OrgConfig(templates_dir=str(custom)))
    html = html_of(tickets["md"])
    assert_inert(html)
    hrefs = re.findall(r'href="([^"]*)"', html)
    assert hrefs  # the template's links are links, to nowhere a browser would run
    for href in hrefs:
        scheme = re.match(r"(?:%20|\s)*([A-Za-z][A-Za-z0-9+.-]*):", href)
        assert scheme is None or scheme.group(1).lower() in ("http", "https", "mailto"), href
    rows = [line for line in tickets["md"].splitlines() if line.startswith("| ")]
    assert all(len(re.findall(r"(?<!\\)\|", row)) == 3 for row in rows), rows  # 2 cells
    # the author's own Markdown, marked safe, is kept
    assert "**" + markdown_escape(name) + "**" in tickets["md"]
    assert "<br>" in tickets["md"]


def test_a_code_span_shows_backquotes_and_bars_exactly(tmp_path: Path) -> None:
    custom = template_dir(tmp_path,
        "{{ caller.name | code }}\n\n| x | {{ caller.name | code(cell=true) }} |\n|---|---|\n")
    _, _, tickets = replay(answers_with("a``b | `c`"), tmp_path / "data",
                           org=OrgConfig(templates_dir=str(custom)))
    html = html_of(tickets["md"])
    assert html.count("<code>a``b | `c`</code>") == 2, html


def test_links_a_viewer_may_follow_are_kept() -> None:
    for text in ("https://intranet.example/kb/1", "mailto:help@example.org",
                 "Note: the caller rebooted", "Low: this caller"):
        assert markdown_escape(text) == text
    assert markdown_escape("javascript:alert(1)") == "javascript\u200b:alert(1)"


# -- bounds ---------------------------------------------------------------------------------

TURNS = ": the template was stopped: it makes more than 200,000 loop turns"
CHARS = ": the template was stopped: it makes more than 1,000,000 characters"

@pytest.mark.parametrize("body, expected", [
    # three nested loops, each range under the per-range limit: 998 million turns
    ("{% for i in range(999) %}{% for j in range(999) %}{% for k in range(999) %}"
     "{% endfor %}{% endfor %}{% endfor %}", TURNS),
    # two loops writing 20 MB
    ("{% for i in range(999) %}{% for j in range(999) %}{{ 'x' * 20 }}{% endfor %}"
     "{% endfor %}", CHARS),
    # the same made with literal text only, or captured and never printed
    ("{% for i in range(999) %}{% for j in range(999) %}xxxxxxxxxxxxxxxxxxxx{% endfor %}"
     "{% endfor %}", CHARS),
    ("{% set x %}{% for i in range(999) %}{% for j in range(99) %}{{ 'x' * 9999 }}"
     "{% endfor %}{% endfor %}{% endset %}", CHARS),
    ("{% macro m() %}{{ 'x' * 99999 }}{% endmacro %}{% for i in range(999) %}"
     "{% set y = m() %}{% endfor %}", CHARS),
    ("{% for x in range(999) recursive %}{% if loop.depth < 4 %}{{ loop(range(999)) }}"
     "{% endif %}{% endfor %}", TURNS),
    ("{% for i in 'x' * 99999 %}{% for j in 'y' * 99999 %}{% endfor %}{% endfor %}",
     TURNS),
    ("{{ ('x' * 99999) | replace('x', 'y' * 99999) }}", ": |replace would make"),
    ("{{ ('x' * 99999).replace('x', 'yy') }}", ": str.replace() would make"),
    ("{{ (['x' * 99999] * 99999) | join }}", ": |join would make"),
    ("{{ ('\\n' * 99999) | indent(99999) }}", ": |indent would make"),
    ("{{ range(99) | slice(10 ** 9) | list }}", ": |slice would make 1,000,000,000"),
    ("{{ ([range(999) | list] * 99999) | sum(start=[]) }}", ": |sum would make"),
    ("{{ (range(999) | list) | tojson(indent=99999) }}", ": |tojson would make"),
    ("{{ ('x ' * 50000) | wordwrap(1, wrapstring='y' * 999) }}", ": |wordwrap would make"),
    ("{{ range(9) | map('string') | join('x' * 99999) }}", ": |join would make"),
    ("{{ ('x' * 99999) + ('y' * 99999) }}", ": '+' would make 199,998"),
    ("{% set ns = namespace(s='x' * 99999) %}{{ ns.s ~ ns.s }}", ": '~' would make 199,998"),
])
def test_template_work_is_bounded(body: str, expected: str, tmp_path: Path, data_dir: Path,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ticket.bounds, "MAX_SECONDS", 60.0)  # the count stops it, however busy
    # exit 7 and one line that names the template, as for any other template failure
    assert_template_fails(body, f"ticket.md.j2{expected}", tmp_path, data_dir)


def test_a_slow_template_is_stopped_at_its_time_limit(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ticket.bounds, "MAX_SECONDS", 0.05)
    custom = template_dir(tmp_path,
        "{% for i in range(999) %}{% set _ = range(999) | list | sort | join(',') %}"
        "{% endfor %}done")
    with pytest.raises(TicketError, match=r"^ticket.md.j2: the template was stopped: it "
                                          r"ran longer than 0.05 s"):
        replay(route_to("fig7_2.escalate_caller"), tmp_path / "data",
               org=OrgConfig(templates_dir=str(custom)))


def test_a_huge_template_file_is_refused(tmp_path: Path) -> None:
    custom = template_dir(tmp_path, "x" * (ticket.MAX_TEMPLATE + 1))
    with pytest.raises(TicketError, match=r"ticket.md.j2:1: the template has 262,145"):
        replay(route_to("fig7_2.escalate_caller"), tmp_path / "data",
               org=OrgConfig(templates_dir=str(custom)))


def test_loops_of_an_ordinary_ticket_are_not_stopped(tmp_path: Path) -> None:
    custom = template_dir(tmp_path,
        "{% for r in route %}{% for n in range(50) %}{{ r.number }}{% endfor %}"
        "{% endfor %}\n{% for i in [1, 2, 3] %}{{ i }}{% endfor %}")
    for n in range(2):  # a loop over a constant list is counted afresh at every ticket
        _, _, tickets = replay(route_to("fig7_2.escalate_caller"), tmp_path / f"d{n}",
                               org=OrgConfig(templates_dir=str(custom)))
        assert tickets["md"].startswith("1" * 50 + "2" * 50) and tickets["md"].endswith("123")


def test_the_web_desk_says_which_template_was_stopped(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ticket.bounds, "MAX_SECONDS", 60.0)
    import html

    from wizard.frontends.web.app import Settings, create_app
    from wizard.service.desk import Desk

    from .helpers.web import TestClient, add_users, answer, current_key, login, start_call

    custom = template_dir(tmp_path,
        "{% for i in range(999) %}{% for j in range(999) %}{% for k in range(999) %}"
        "{% endfor %}{% endfor %}{% endfor %}")
    data = tmp_path / "data"
    add_users(data)
    app = create_app(Settings(desk=Desk(data_dir=data, templates=custom), checks=False))
    client = TestClient(app, base_url="http://testserver", follow_redirects=True)
    login(client, "sam")
    call_id, page = start_call(client)
    answers = route_to("fig7_2.escalate_caller")
    while (key := current_key(data, call_id)) is not None:
        r = answer(client, call_id, page, answers[key])
        page = r.text
    assert r.status_code == 409
    assert "ticket.md.j2: the template was stopped: it makes more than 200,000 loop turns" \
        in html.unescape(page)
