"""The non-interactive twin: replay a call from an answers file (YAML or JSON).

The file is checked whole before the call starts: every key must name a step of the
flowcharts and every value must be a valid answer for it. Then the call runs through
the same engine and validation as the prompts. A check step with no answer in the
file takes its probe's answer when the probe is conclusive.

Format::

    staffer: jdoe                 # optional
    answers:                      # step key -> answer
      intake.caller_name: Jane Doe
      fig7_1.ping_ip: "no"
    notes:                        # optional: step key -> note (or list of notes)
      fig7_1.ping_ip: caller says the cable was loose
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wizard.base.documents import DocumentError, LineDict, did_you_mean
from wizard.base.textrender import TextError, render
from wizard.base.yamlio import load_document
from wizard.calls.call import Call, org_refusal
from wizard.calls.engine import Step, StepKind
from wizard.flows import answer_rules
from wizard.flows.flowset import FlowSet

if TYPE_CHECKING:
    from wizard.config.known import Org

ALLOWED = ("staffer", "on", "answers", "notes")


@dataclass
class AnswersFile:
    path: Path
    answers: dict[str, Any]
    notes: dict[str, list[str]] = field(default_factory=dict)
    staffer: str | None = None
    on: str | None = None
    lines: dict[str, int] = field(default_factory=dict)

    def line(self, key: str) -> int | None:
        return self.lines.get(key)


def _node_key(key: str) -> str:
    return key.split("@", 1)[0]


def _scalar(value: Any, path: Path, line: int | None, where: str, what: str) -> str:
    """A text value of the file as text: ``{a: 1}``, a list, ``true`` or a date is
    refused, not written down as Python shows it."""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    kind = ("a mapping" if isinstance(value, dict) else "a list" if isinstance(value, list)
            else "true/false" if isinstance(value, bool) else "empty" if value is None
            else f"a {type(value).__name__}")
    raise DocumentError(path, line, f"{where}: expected {what} as text, not {kind}")


def load_answers(path: Path, flowset: FlowSet, org: Org | None = None
                 ) -> AnswersFile:
    """Read and check an answers file; raise DocumentError (one line) on the first problem.
    With ``org``, answers are checked against what it adds too (:func:`org_refusal`)."""
    data = load_document(path)
    if not isinstance(data, dict):
        raise DocumentError(path, 1, "an answers file must be a mapping with 'answers:'")
    top_lines = data.key_lines if isinstance(data, LineDict) else {}
    for key in data:
        if key not in ALLOWED:
            hint = did_you_mean(str(key), ALLOWED)
            raise DocumentError(path, top_lines.get(key), f"unknown field {key!r}{hint}")
    raw_answers = data.get("answers")
    if not isinstance(raw_answers, dict):
        raise DocumentError(path, top_lines.get("answers", 1),
                            "field 'answers' must be a mapping of step -> answer")
    lines = raw_answers.key_lines if isinstance(raw_answers, LineDict) else {}
    known = sorted(flowset.node_keys())
    for key, value in raw_answers.items():
        node_key = _node_key(key)
        if not flowset.has(node_key):
            hint = did_you_mean(node_key, known)
            raise DocumentError(path, lines.get(key), f"answers: unknown step {key!r}{hint}")
        node = flowset.node(node_key)
        if node.kind not in ("yesno", "choice", "check", "text", "action"):
            raise DocumentError(path, lines.get(key),
                                f"answers: step {key!r} is a {node.kind} and takes no answer")
        try:
            checked = answer_rules.validate(node, value, key)
        except answer_rules.AnswerError as exc:
            raise DocumentError(path, lines.get(key), str(exc)) from None
        problem = org_refusal(org, node, checked)
        if problem:
            raise DocumentError(path, lines.get(key), f"Invalid answer for '{key}': {problem}")
    notes: dict[str, list[str]] = {}
    raw_notes = data.get("notes") or {}
    if not isinstance(raw_notes, dict):
        raise DocumentError(path, top_lines.get("notes"), "field 'notes' must be a mapping")
    note_lines = raw_notes.key_lines if isinstance(raw_notes, LineDict) else {}
    for key, value in raw_notes.items():
        if not flowset.has(_node_key(key)):
            raise DocumentError(path, note_lines.get(key), f"notes: unknown step {key!r}")
        items = value if isinstance(value, list) else [value]
        notes[key] = [_scalar(v, path, note_lines.get(key), f"notes: {key}", "a note")
                      for v in items]
        for text in notes[key]:
            try:
                answer_rules.check_free_text(text.strip(), answer_rules.MAX_NOTE, "the note")
            except answer_rules.AnswerError as exc:
                raise DocumentError(path, note_lines.get(key), f"notes: {key}: {exc}") from None
    on = data.get("on")
    if on is not None:
        on = _scalar(on, path, top_lines.get("on"), "field 'on'", "helpdesk or caller")
        if on not in ("helpdesk", "caller"):
            raise DocumentError(path, top_lines.get("on"),
                                f"field 'on': {answer_rules.quoted(on)} is not 'helpdesk' "
                                "or 'caller'")
    staffer = data.get("staffer")
    if staffer is not None:
        staffer = _scalar(staffer, path, top_lines.get("staffer"), "staffer",
                          "the staffer's name")
        try:
            answer_rules.check_free_text(str(staffer), answer_rules.MAX_STAFFER,
                                         "the staffer name")
        except answer_rules.AnswerError as exc:
            raise DocumentError(path, top_lines.get("staffer"), f"staffer: {exc}") from None
    return AnswersFile(path, dict(raw_answers), notes,
                       str(staffer) if staffer is not None else None,
                       str(on) if on is not None else None, dict(lines))


def dry_run(flowset: FlowSet, doc: AnswersFile) -> None:
    """Check, without starting a call, that the file answers every step up to the end or
    to the first check it leaves to its probe (whose answer cannot be known before)."""
    from wizard.calls.engine import Engine

    step = Engine(flowset).step(dict(doc.answers))
    if step.kind is StepKind.END or step.visit.node.kind == "check":
        return
    raise DocumentError(doc.path, None,
                        f"no answer for step '{step.visit.key}' ({_short(step)})")


def _short(step: Step) -> str:
    try:
        text = render(step.visit.node.text, step.context)
    except TextError:
        text = step.visit.node.text
    text = " ".join(text.split())
    return text if len(text) <= 70 else text[:67] + "..."


def run(call: Call, doc: AnswersFile, *, probes: bool = True,
        on_step: Callable[[Step, str, str], None] | None = None,
        worded: Callable[[str], str] = str) -> Step:
    """Drive ``call`` to its end with the answers of ``doc``. Returns the final step.
    ``worded``: the front end's wording of why a check did not run (its options)."""
    for key, texts in doc.notes.items():
        for text in texts:
            call.add_note(key, text)
    while True:
        step = call.step()
        call.new_known_issues(step)
        if step.kind is StepKind.END:
            return step
        key = step.visit.key
        if probes:
            call.prefetch(step)
        suggestion = call.run_check(step) if probes else None
        suggested = suggestion.value if suggestion else None
        if key in doc.answers:
            try:
                value = call.answer(step.visit, doc.answers[key], source="answers_file",
                                    suggested=suggested)
            except answer_rules.AnswerError as exc:
                raise DocumentError(doc.path, doc.line(key), str(exc)) from None
            source = "answers file"
        elif suggested is not None:
            value = call.answer(step.visit, suggested, source="probe", suggested=suggested)
            source = "probe"
        else:
            why = ""
            if suggestion is not None:
                why = f"; the check was inconclusive: {suggestion.result.summary}"
            elif step.visit.node.kind == "check":
                why = f"; {worded(call.probe_applies(step) or 'checks are off')}"
            raise DocumentError(
                doc.path, None,
                f"no answer for step '{key}' ({_short(step)}){why}",
            )
        if on_step:
            on_step(step, value, source)
