"""Hostile and broken input: every case gets a clean one-line answer, never a crash."""

from __future__ import annotations

import io
import shutil
import time
from pathlib import Path

import pytest
import yaml

from wizard.base.safetext import markup, plain
from wizard.frontends.terminal.cli import main
from wizard.frontends.terminal.environment import Environment

from .helpers.run import FLOWCHARTS
from .test_cli import route_to, run, write_answers

MARKUP = ["[/x]", "ran ipconfig [/all]", "[bold]", "x\\", "[link=file:///etc]y[/link]",
          ":smile:", "[red", "\\[/b]"]


def cli(args: list[str], **environ: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    env = Environment(stdin=io.StringIO(""), stdout=out, stderr=err, environ=environ)
    code = main(args, env)
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("typed", MARKUP)
def test_safe_text_prints_exactly_what_was_typed(typed: str) -> None:
    assert plain(typed).plain == typed
    assert markup("[bold]Call {}[/bold] · {}", typed, typed).plain == f"Call {typed} · {typed}"
    assert markup("<{}>[i]z[/i]", typed).plain == f"<{typed}>z"


# -- Rich markup in typed text -------------------------------------------------------------

def test_markup_in_staffer_note_and_caller_name_is_printed_as_typed(
        tmp_path: Path, data_dir: Path) -> None:
    answers = route_to("fig7_2.escalate_caller")
    answers["intake.caller_name"] = "Ann [/x] Caller"
    path = write_answers(tmp_path, answers, notes={"intake.caller_name": ["ran ipconfig [/all]"]})
    started = run(["start", "--answers", str(path), "--no-checks", "--staffer", "[/x]"],
                  data_dir)
    assert started.returncode == 0, started.stderr
    listing = run(["list"], data_dir)
    assert listing.returncode == 0, listing.stderr
    assert "[/x]" in listing.stdout
    shown = run(["show", "last"], data_dir)
    assert shown.returncode == 0, shown.stderr
    assert "staffer [/x]" in shown.stdout
    assert "ran ipconfig [/all]" in shown.stdout
    assert "Ann [/x] Caller" in shown.stdout
    synced = run(["sync"], data_dir)
    assert synced.returncode == 0, synced.stderr
    report = run(["report", "--practice", "--by", "staffer", "--staffer", "[/x]"], data_dir)
    assert report.returncode == 0, report.stderr
    assert "[/x]" in report.stdout


# -- YAML: bad tags, deep nesting, huge integers, alias bombs ------------------------------

BAD_VALUES = {
    "bad int": "!!int 0xZZ",
    "bad float": "!!float x",
    "bad timestamp": "!!timestamp 2001-99",
    "deep nesting": "[" * 5000 + "]" * 5000,
    "huge integer": "9" * 5000,
}


def _bomb(levels: int = 9) -> str:
    lines = ["l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for i in range(1, levels):
        lines.append(f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def _flowchart_dir_with(tmp_path: Path, extra: str) -> Path:
    folder = tmp_path / "charts"
    shutil.copytree(FLOWCHARTS, folder)
    target = folder / "intake.yaml"
    text = target.read_text(encoding="utf-8")
    target.write_text(text + extra, encoding="utf-8")
    return folder


@pytest.mark.parametrize("case", sorted(BAD_VALUES))
def test_bad_yaml_value_in_a_flowchart_is_one_line_with_exit_3(
        case: str, tmp_path: Path, data_dir: Path) -> None:
    folder = _flowchart_dir_with(tmp_path, f"\nbroken: {BAD_VALUES[case]}\n")
    code, out, err = cli(["lint", str(folder)], IPSEC_TRIAGE_DATA=str(data_dir))
    assert code == 3
    lines = [ln for ln in out.strip().splitlines() if not ln.startswith("Flowcharts: ")]
    assert len(lines) == 1, out
    assert "intake.yaml:" in lines[0] and "YAML error" in lines[0]
    assert len(lines[0]) < 300
    assert "internal error" not in err


@pytest.mark.parametrize("case", sorted(BAD_VALUES))
def test_bad_yaml_value_in_an_answers_file_is_one_line_with_exit_4(
        case: str, tmp_path: Path, data_dir: Path) -> None:
    path = tmp_path / "answers.yaml"
    path.write_text(f"staffer: Sam\nanswers:\n  intake.caller_name: {BAD_VALUES[case]}\n")
    code, _out, err = cli(["start", "--answers", str(path), "--no-checks"],
                          IPSEC_TRIAGE_DATA=str(data_dir))
    assert code == 4
    assert err.count("\n") == 1 and f"{path}:3: YAML error" in err, err


@pytest.mark.parametrize("case", sorted(BAD_VALUES))
def test_bad_yaml_value_in_the_organization_file_is_one_line_with_exit_7(
        case: str, tmp_path: Path, data_dir: Path) -> None:
    org = tmp_path / "org.yaml"
    org.write_text(f"# organization\nprobe_timeout: {BAD_VALUES[case]}\n")
    code, _out, err = cli(["lint", "--org", str(org)], IPSEC_TRIAGE_DATA=str(data_dir))
    assert code == 7
    assert err.count("\n") == 1 and f"{org}:2:" in err and "YAML error" in err, err


def test_alias_bomb_is_refused_quickly_everywhere(tmp_path: Path, data_dir: Path) -> None:
    bomb = _bomb()
    folder = _flowchart_dir_with(tmp_path, "\n" + bomb)
    answers = tmp_path / "answers.yaml"
    answers.write_text("answers:\n  intake.caller_name: Ann\n" + bomb)
    org = tmp_path / "org.yaml"
    org.write_text(bomb)
    began = time.monotonic()
    code, out, _ = cli(["lint", str(folder)], IPSEC_TRIAGE_DATA=str(data_dir))
    assert code == 3 and "alias" in out and len(out) < 300
    code, _, err = cli(["start", "--answers", str(answers)], IPSEC_TRIAGE_DATA=str(data_dir))
    assert code == 4 and "alias" in err and len(err) < 300
    code, _, err = cli(["lint", "--org", str(org)], IPSEC_TRIAGE_DATA=str(data_dir))
    assert code == 7 and "alias" in err and len(err) < 300
    assert time.monotonic() - began < 30  # hung for hours before


def test_a_small_legitimate_alias_still_works(tmp_path: Path) -> None:
    from wizard.base.yamlio import parse_yaml

    data = parse_yaml("a: &x [1, 2]\nb: *x\n", tmp_path / "f.yaml")
    assert data["b"] == [1, 2]


def test_huge_document_is_refused_without_reading_it_all(tmp_path: Path) -> None:
    from wizard.base.documents import MAX_DOCUMENT_BYTES, DocumentError
    from wizard.base.yamlio import load_document

    big = tmp_path / "big.yaml"
    big.write_text("a: " + "x" * (MAX_DOCUMENT_BYTES + 1) + "\n")
    with pytest.raises(DocumentError, match="file too large"):
        load_document(big)


def test_error_messages_never_echo_unbounded_input(tmp_path: Path) -> None:
    from wizard.flows.flowset import FlowchartError, load_flowset

    folder = tmp_path / "charts"
    folder.mkdir()
    (folder / "a.yaml").write_text(yaml.safe_dump({
        "id": "a", "title": "A", "start": "x", "version": 1,
        "nodes": {"x": {"kind": "x" * 100_000, "text": "t"}}}))
    with pytest.raises(FlowchartError) as info:
        load_flowset(folder)
    assert all(len(str(p)) < 400 for p in info.value.problems)


def test_json_answers_file_nested_deeply_is_a_clean_error(tmp_path: Path,
                                                         data_dir: Path) -> None:
    path = tmp_path / "answers.json"
    path.write_text('{"answers": ' + "[" * 100_000 + "]" * 100_000 + "}")
    code, _, err = cli(["start", "--answers", str(path)], IPSEC_TRIAGE_DATA=str(data_dir))
    assert code == 4 and "nested too deeply" in err and err.count("\n") == 1


# -- crash logs ----------------------------------------------------------------------------

def test_crash_logs_written_in_the_same_second_are_all_kept(data_dir: Path,
                                                            monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    from wizard.frontends.terminal import cli as cli_module

    def boom(*_a: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setitem(cli_module.HANDLERS, "probes", boom)
    for _ in range(3):
        code, _, err = cli(["probes"], IPSEC_TRIAGE_DATA=str(data_dir))
        assert code == 1 and "details saved in" in err
    logs = list(data_dir.glob("crash-*.log"))
    assert len(logs) == 3
    assert all("RuntimeError: a bug" in p.read_text() for p in logs)
    assert all(p.stat().st_mode & 0o077 == 0 for p in logs)


# -- input limits, IPv6 zones, Markdown escaping, template failures ------------------------

def _with_answer(answers: dict[str, str], key_suffix: str, value: str) -> dict[str, str]:
    key = next(k for k in answers if k.endswith(key_suffix))
    return {**answers, key: value}


@pytest.mark.parametrize("zone", ["::1%$(id)", "::1%x\n\n## Status: Fixed understood",
                                  "fe80::1%eth0;reboot"])
def test_ipv6_zone_ids_are_validated_like_the_probes_do(zone: str) -> None:
    from wizard.flows.answer_rules import AnswerError, check_text
    from wizard.flows.nodes import Validator

    with pytest.raises(AnswerError, match="invalid IPv6 zone"):
        check_text(Validator.IP, zone)
    assert check_text(Validator.IP, "fe80::1%eth0") == "fe80::1%eth0"


@pytest.mark.parametrize("value, why", [("x" * 600, "at most 500"),
                                        ("Ann\x00Caller", "control character")])
def test_free_text_is_limited_to_what_the_store_holds(value: str, why: str,
                                                      tmp_path: Path, data_dir: Path) -> None:
    answers = _with_answer(route_to("fig7_2.escalate_caller"), "caller_name", value)
    path = write_answers(tmp_path, answers)
    code, _, err = cli(["start", "--answers", str(path), "--no-checks"],
                       IPSEC_TRIAGE_DATA=str(data_dir))
    assert code == 4 and why in err and err.count("\n") == 1, err
    assert len(err) < 300


@pytest.mark.parametrize("staffer, why", [("s" * 201, "at most 200"),
                                          ("Sam\x00", "control character")])
def test_staffer_name_the_store_cannot_hold_is_refused(staffer: str, why: str,
                                                      tmp_path: Path, data_dir: Path) -> None:
    path = write_answers(tmp_path, route_to("fig7_2.escalate_caller"))
    code, _, err = cli(["start", "--answers", str(path), "--no-checks", "--staffer", staffer],
                       IPSEC_TRIAGE_DATA=str(data_dir))
    assert code == 2 and why in err and err.count("\n") == 1, err
    path = write_answers(tmp_path, route_to("fig7_2.escalate_caller"), staffer=staffer)
    code, _, err = cli(["start", "--answers", str(path), "--no-checks"],
                       IPSEC_TRIAGE_DATA=str(data_dir))
    assert code == 4 and why in err and "staffer" in err, err


def test_note_too_long_in_an_answers_file_is_refused(tmp_path: Path, data_dir: Path) -> None:
    answers = route_to("fig7_2.escalate_caller")
    path = write_answers(tmp_path, answers, notes={next(iter(answers)): "n" * 2001})
    code, _, err = cli(["start", "--answers", str(path), "--no-checks"],
                       IPSEC_TRIAGE_DATA=str(data_dir))
    assert code == 4 and "at most 2,000" in err


def test_caller_text_is_escaped_in_the_markdown_ticket_only(data_dir: Path) -> None:
    from .helpers.calls import replay

    hostile = "Ann | <b>x</b> `y`"
    answers = _with_answer(route_to("fig7_2.escalate_caller"), "caller_name", hostile)
    _call, _step, tickets = replay(answers, data_dir,
                                   notes={"intake.caller_name": ["# Status: Fixed understood"]})
    md = tickets["md"]
    assert "Ann \\| &lt;b&gt;x&lt;/b&gt; \\`y\\`" in md
    table_rows = [line for line in md.splitlines() if line.startswith("|")]
    assert not any("<b>" in row for row in table_rows)
    assert not any(line.startswith("# Status") for line in md.splitlines())
    assert hostile in tickets["txt"]


@pytest.mark.parametrize("body, expected", [
    ("{{ '%d' | format('x') }}", "the template failed: TypeError"),
    ("{% for i in range(10**9) %}{{ i }}{% endfor %}", "at most 1,000"),
    ("{% include 'missing.j2' %}", "included template 'missing.j2' not found"),
    ("{{ 'x' * 10**7 }}", "'*' would make 10,000,000 characters or items"),
    ("{{ (range(999)|list) * 10**4 }}", "'*' would make 9,990,000"),
    ("{% set n = 10**6 %}{{ ['x'] * n }}", "at most 100,000"),
    ("{{ lipsum(2000) }}", "lipsum(2,000)"),
    ("{{ 7 ** (10**6) }}", "'**' would make a number too large"),
    ("{{ 'x'|center(10**7) }}", "|center with a width over 100,000"),
    ("{{ '%09999999d'|format(1) }}", "|format with a width"),
    ("{{ '%09999999d' % 1 }}", "a '%' format with a width"),
    ("{{ '{:>999999999}'.format(1) }}", "a format with a width over 99,999"),
])
def test_template_failures_get_clean_messages(body: str, expected: str, tmp_path: Path,
                                              data_dir: Path) -> None:
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "ticket.md.j2").write_text(body)
    path = write_answers(tmp_path, route_to("fig7_2.escalate_caller"))
    code, _, err = cli(["start", "--answers", str(path), "--no-checks", "--templates",
                        str(templates)], IPSEC_TRIAGE_DATA=str(data_dir))
    assert code == 7, err
    assert expected in err and err.count("\n") == 1, err


def test_empty_tagged_integer_found_by_the_fuzz_is_a_clean_error(tmp_path: Path) -> None:
    from wizard.base.documents import DocumentError
    from wizard.base.yamlio import parse_yaml

    with pytest.raises(DocumentError, match=r"f.yaml:1: YAML error: '' is not a valid !!int"):
        parse_yaml("kind: !!int \n", tmp_path / "f.yaml")


def test_store_url_password_in_the_query_is_masked(data_dir: Path) -> None:
    url = "postgresql+psycopg://triage@127.0.0.1:1/none?password=s3cret-pw&connect_timeout=1"
    r = run(["sync"], data_dir, IPSEC_TRIAGE_STORE=url)
    assert "s3cret-pw" not in r.stdout + r.stderr
    assert "password=***" in r.stdout + r.stderr


def test_store_url_ssl_key_password_in_the_query_is_masked(data_dir: Path) -> None:
    url = ("postgresql+psycopg://triage@127.0.0.1:1/none?sslpassword=k3y-pw"
           "&connect_timeout=1")
    r = run(["sync"], data_dir, IPSEC_TRIAGE_STORE=url)
    assert "k3y-pw" not in r.stdout + r.stderr
    assert "sslpassword=***" in r.stdout + r.stderr


def test_list_csv_never_holds_a_spreadsheet_formula(tmp_path: Path, data_dir: Path) -> None:
    import csv

    answers = _with_answer(route_to("fig7_2.escalate_caller"), "caller_name",
                           "+cmd|' /C calc'!A0")
    path = write_answers(tmp_path, answers)
    staffer = '=HYPERLINK("http://evil","x")'
    code, _, err = cli(["start", "--answers", str(path), "--no-checks", "--staffer", staffer],
                       IPSEC_TRIAGE_DATA=str(data_dir))
    assert code == 0, err
    code, out, _ = cli(["list", "--format", "csv"], IPSEC_TRIAGE_DATA=str(data_dir))
    assert code == 0
    row = next(csv.DictReader(io.StringIO(out)))
    assert row["staffer"] == "'" + staffer  # shown as text, not run
    assert row["caller"] == "'+cmd|' /C calc'!A0"
    assert not any(cell[:1] in ("=", "+", "-", "@") for cell in row.values())


@pytest.mark.parametrize("typed", ["srv\n## Status: Fixed", "srv\rx", "srv\u2028x",
                                   "s\x1b[2Jrv", "srv\n" * 300])
def test_a_host_answer_with_a_line_break_is_refused_on_one_line(
        typed: str, tmp_path: Path, data_dir: Path) -> None:
    from wizard.flows.answer_rules import AnswerError, check_text
    from wizard.flows.nodes import Validator

    with pytest.raises(AnswerError) as caught:
        check_text(Validator.HOST, typed)
    message = str(caught.value)
    assert len(message.splitlines()) == 1 and len(message) < 200, message
    assert "\x1b" not in message and "\u2028" not in message
    if typed.startswith("srv\n## Status"):
        assert '"srv\\n## Status: Fixed"' in message
    answers = _with_answer(route_to("fig7_2.escalate_caller"), "intake.target", typed)
    path = write_answers(tmp_path, answers)
    code, _, err = cli(["start", "--answers", str(path), "--no-checks"],
                       IPSEC_TRIAGE_DATA=str(data_dir))
    assert code == 4 and err.count("\n") == 1 and "\u2028" not in err, err


def test_free_text_refuses_exactly_the_control_characters_but_tab_and_line_breaks() -> None:
    from wizard.base.errors import TriageError
    from wizard.flows.answer_rules import check_free_text

    refused = set()
    for code in [*range(0x100), 0x2028, 0xFEFF]:
        try:
            check_free_text(f"a{chr(code)}b", 10)
        except TriageError:
            refused.add(code)
    assert refused == {*range(9), 11, 12, *range(14, 32), 127}
