"""One call in progress: engine + journal + probes. Both front ends drive this object.

It does no prompting and no printing: the interactive front end and the answers-file
twin ask it for the next step, hand it answers, and let it write the record.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from wizard import __version__
from wizard.base.textrender import TextError, render
from wizard.calls.call.context import keep_flowset, org_refusal, recorded_context
from wizard.calls.call.labels import end_label
from wizard.calls.call.probing import Probing
from wizard.calls.engine import Engine, Step, StepKind, Visit
from wizard.calls.journal import (
    AnswerRecord,
    CallState,
    Journal,
    JournalError,
    JournalFolder,
    replay,
)
from wizard.calls.known_issues import Hit, matches
from wizard.flows import answer_rules
from wizard.flows.flowset import FlowSet
from wizard.flows.nodes import (
    FAMILY_LABELS,
    WINDOWS_FAMILIES,
    ChoiceNode,
    Node,
    TerminalNode,
    windows_family,
)

if TYPE_CHECKING:  # the checks and the organization's defaults load when first needed
    from wizard.checks import System
    from wizard.config.known import Org
    from wizard.config.organization import OrgConfig


class Call(Probing):
    def __init__(self, *, flowset: FlowSet, journals: JournalFolder, state: CallState,
                 journal: Journal | None, org: Org | None,
                 system: System | None = None, checks: bool = True,
                 by: str | None = None) -> None:
        """``flowset`` is today's set; the call goes on with the one it started with
        (kept by digest in the data folder, :mod:`wizard.flows.pinned`), or today's
        when that copy is gone (:attr:`flowcharts_gone`)."""
        from wizard.flows.pinned import for_call

        self.fs, self.flowcharts_gone = for_call(flowset, journals.root, state.flowset)
        self.today = flowset
        """The set in use now: the call's own (:attr:`fs`) differs when it changed."""
        self.engine = Engine(self.fs)
        self.journals = journals
        """The journal folder the call is kept in (not the database store)."""
        self.state = state
        self.journal = journal
        self._org = org
        self._system = system
        self.checks = checks
        """False: no automatic check runs (``--no-checks``); every check is asked."""
        self.by = by or state.staffer
        """Who gives this call's answers now, recorded in every event a person makes
        (``by``): the terminal's staffer, the web desk's signed-in user (a lead may
        answer a staffer's call)."""
        self.written: list[str] = []
        """The events a person made through this object, in order (``answer``, ...)."""

    @property
    def org(self) -> OrgConfig:
        """The organization file's settings (the defaults when there is none, built the
        first time they are needed: not on the way to the first question)."""
        if self._org is None:
            from wizard.config.organization import OrgConfig

            self._org = OrgConfig()
        from wizard.config.known import checked

        return checked(self._org)  # a file read right before: its settings built now

    @property
    def system(self) -> System:
        if self._system is None:
            from wizard.checks import System

            self._system = System(self.org)
        return self._system

    # -- creation ----------------------------------------------------------------------
    @classmethod
    def start(cls, *, flowset: FlowSet, journals: JournalFolder, org: Org | None,
              staffer: str,
              runs_on: str = "helpdesk", mode: str = "interactive",
              practice: bool = False, system: System | None = None,
              checks: bool = True) -> Call:
        """A new call; ``practice``: a training call (replayed answers files are
        practice calls too), kept out of reports by default. ``checks=False``: no
        automatic check runs (``--no-checks``)."""
        extra = {} if checks else {"checks": False}
        answer_rules.check_free_text(staffer, answer_rules.MAX_STAFFER, "the staffer name")
        from wizard.flows.flowset import DEFAULT_DESIGN

        design = org.design if org is not None else DEFAULT_DESIGN
        call_id, journal, event = journals.new_call(
            staffer=staffer, runs_on=runs_on, mode=mode, flowcharts=flowset.versions(),
            flowset=keep_flowset(flowset, journals), org={"design": dict(design)},
            tool_version=__version__, practice=practice or mode == "answers_file", **extra,
        )
        state = replay(call_id, [event])
        return cls(flowset=flowset, journals=journals, state=state, journal=journal, org=org,
                   system=system, checks=checks, by=staffer)

    @classmethod
    def resume(cls, *, flowset: FlowSet, journals: JournalFolder, org: Org | None,
               call_id: str,
               staffer: str | None = None, system: System | None = None,
               checks: bool = True) -> Call:
        full_id = journals.resolve_id(call_id)
        lock = journals.lock(full_id)  # one writer per call: the second one is refused here
        try:
            state = journals.load(full_id)  # read under the lock: the latest answers
            if state.ended is not None:
                raise JournalError(
                    f"call {state.call_id} has already ended ({end_label(state.ended)}); "
                    f"use 'ipsec-triage show {state.call_id}'"
                )
            journal = journals.open_journal(state.call_id, lock)
        except BaseException:
            lock.release()
            raise
        call = cls(flowset=flowset, journals=journals, state=state, journal=journal, org=org,
                   system=system, checks=checks, by=staffer)
        extra = {} if checks else {"checks": False}
        try:
            journal.append("resume", staffer=staffer or state.staffer,
                           flowcharts=call.fs.versions(), **extra)
        except BaseException:
            journal.close()
            raise
        state.resumed.append("now")
        return call

    @property
    def call_id(self) -> str:
        return self.state.call_id

    def changed_flowcharts(self) -> list[str]:
        """Charts whose version differs from the one the call started with, in the set
        the call goes on with (none while it has its own)."""
        now = self.fs.versions()
        return sorted(c for c, v in self.state.flowcharts.items() if now.get(c) != v)

    def answers_no_longer_apply(self) -> list[tuple[str, str, str]]:
        """(step, question, answer) of every recorded answer that is not on the call's
        route with the set it goes on with: its step is gone, its answer is no longer
        one of the step's, or the route no longer passes there. The list to show when
        the call's own flowcharts are gone."""
        step = self.step()
        on_route = {v.key for v in step.answered_route}
        nodes = {key: self.fs.node(key.split("@", 1)[0]) for key in self.state.answers
                 if self.fs.has(key.split("@", 1)[0])}
        context = dict(step.context)  # what was answered, for the questions' words
        for key, node in nodes.items():
            var = getattr(node, "var", None)
            if var:
                context.setdefault(var, self.state.answers[key].value)
        out = []
        for key, rec in self.state.answers.items():
            if key in on_route:
                continue
            found = nodes.get(key)
            if found is None:
                out.append((key, key, rec.value))
                continue
            try:
                question = " ".join(render(found.text, context).split())
            except TextError:
                question = " ".join(found.text.split())
            out.append((key, question, answer_rules.label(found, rec.value)))
        return out

    def flowcharts_gone_lines(self) -> list[str]:
        """What to tell when the call's own flowchart set is gone (nothing if it is
        not): one line, then one line per answer that no longer applies."""
        if not self.flowcharts_gone:
            return []
        changed = ", ".join(self.changed_flowcharts()) or "the set"
        lost = self.answers_no_longer_apply()
        return [f"The flowcharts changed since call {self.call_id} started ({changed}) "
                "and the copy it started with is no longer kept, so it goes on with "
                "today's. Answers that no longer apply: "
                f"{len(lost) if lost else 'none, every answer is still on the route'}"
                f"{':' if lost else '.'}",
                *(f"{q}: {a}" for _k, q, a in lost)]

    # -- steps -------------------------------------------------------------------------
    def base_context(self) -> dict[str, Any]:
        org = self._org  # no organization file: no test servers
        servers = ", ".join(org.test_server_names) if org else ""
        return recorded_context(self.state) | {"test_servers": servers}

    def step(self) -> Step:
        return self.engine.step(self.state.values(), self.base_context())

    def text(self, source: str | None, step: Step) -> str:
        if not source:
            return ""
        try:
            return render(source, step.context).strip()
        except TextError as exc:
            path, line = self.fs.where(step.visit.node_key)
            where = f"{path}:{line}" if line else str(path)
            raise TextError(f"{where}: node '{step.visit.node_key}': {exc}") from None

    def preselected(self, visit: Visit, step: Step) -> str | None:
        """The option a choice question pre-selects (its ``default``, rendered from the
        earlier answers), or None."""
        node = visit.node
        source = getattr(node, "default", None)
        if not source or not isinstance(node, ChoiceNode):
            return None
        value = render(source, step.context).strip()
        return value if value in {o.value for o in node.options} else None

    def command(self, node: Node, step: Step, sep: str = "\n", steps: str = "\n") -> str:
        """The command to read out for a step: the one for the caller's Windows family, or
        each family's, labelled, when the version is not known. A command of several
        steps (one per line, each typed on its own) has them joined by ``steps``: a
        ticket joins them with cmd's `` & ``, on one line."""
        if node.commands is None:
            return steps.join(self.text(node.command, step).splitlines())
        family = windows_family(step.context.get("windows"))
        if family is not None:
            return steps.join(self.text(node.commands[family], step).splitlines())
        return sep.join(f"{FAMILY_LABELS[f]}: "
                        f"{steps.join(self.text(node.commands[f], step).splitlines())}"
                        for f in WINDOWS_FAMILIES)

    # -- answers -----------------------------------------------------------------------
    def check_answer(self, node: Node, key: str, raw: Any, *, what: str | None = None
                     ) -> str:
        """``raw`` as the answer of ``node`` (AnswerError naming ``key``, or ``what``: see
        :func:`answer_rules.validate`), with what this organization adds: an earlier
        ticket number must be one its ticket systems take (it goes into their URLs)."""
        value = answer_rules.validate(node, raw, key, what=what)
        problem = org_refusal(self._org, node, value)
        if problem:
            name = what if what is not None else f"'{key}'"
            raise answer_rules.AnswerError(f"Invalid answer for {name}: {problem}" if name
                                           else problem[:1].upper() + problem[1:])
        return value

    def answer(self, visit: Visit, raw: Any, *, source: str = "staffer",
               suggested: str | None = None) -> str:
        """Validate and record an answer for a step (the current one or an earlier one)."""
        value = self.check_answer(visit.node, visit.key, raw)
        key = visit.key
        event = self._write("answer", key=key, value=value, source=source,
                            suggested=suggested)
        record = AnswerRecord(key, value, event["t"], source, suggested, self.by)
        old = self.state.answers.get(key)
        if old is not None and old.value != value:
            self.state.changes.append({"key": key, "from": old.value, "to": value,
                                       "at": record.at, "by": self.by})
        self.state.answers[key] = record
        return value

    def add_note(self, key: str, text: str) -> None:
        """Record a note; AnswerError for a note a store cannot hold (too long, NUL)."""
        text = answer_rules.check_free_text(text.strip(), answer_rules.MAX_NOTE, "the note")
        if not text:
            return
        self._write("note", key=key, text=text)
        self.state.notes.setdefault(key, []).append(text)
        self.state.note_by.setdefault(key, []).append(self.by)

    def known_issues(self, step: Step) -> list[Hit]:
        """Catalogue entries matching what the call has shown on its current route."""
        if self.fs.catalogue is None:
            return []
        route = [v.key for v in step.route]
        return matches(self.fs.catalogue, self.state, self.fs, route)

    def new_known_issues(self, step: Step) -> list[Hit]:
        """Matching entries not shown yet; records them as shown."""
        fresh = [h for h in self.known_issues(step) if h.entry.id not in self.state.known_issues]
        for hit in fresh:
            self._journal.append("known_issue", id=hit.entry.id, why=hit.why)
            self.state.known_issues[hit.entry.id] = hit.why
        return fresh

    def interrupted(self) -> None:
        self._write("interrupted")

    def record_sensitive_request(self, key: str, what: str) -> None:
        """The caller asked for something the chapter says not to give out or do."""
        what = answer_rules.check_free_text(what.strip(), answer_rules.MAX_ANSWER,
                                            "what the caller asked for")
        event = self._write("sensitive_request", step=key, what=what)
        self.state.sensitive_requests.append({"step": key, "what": what, "t": event["t"]})

    @property
    def is_empty(self) -> bool:
        """Nothing was recorded yet but the start: no answer, note or remark."""
        s = self.state
        return not (s.answers or s.notes or s.sensitive_requests or s.ended)

    def discard(self) -> bool:
        """Remove the record of a call that has nothing in it (quit before the first
        answer), so no empty call is left open. The record on disk decides (an answer
        written just as Ctrl-C came is kept): False if it holds anything."""
        from wizard.calls.journal import read_events

        if not self.is_empty:
            return False
        path = self.journals.path(self.call_id)
        try:
            events, damaged = read_events(path)
        except JournalError:
            return False
        if damaged or any(e.get("event") not in ("start", "probe") for e in events):
            return False
        self.close()
        path.unlink(missing_ok=True)
        return True

    def end_early(self, reason: str, duplicate_of: str | None = None) -> dict[str, Any]:
        """End the call early (status ``abandoned``): ``reason`` is one of
        :data:`ABANDON_REASONS` or free text; a duplicate names the other ticket."""
        reason = reason.strip()
        if not reason:
            raise ValueError("a reason is needed to end a call early")
        answer_rules.check_free_text(reason, answer_rules.MAX_ANSWER, "the reason")
        fields: dict[str, Any] = {"status": "abandoned", "status_label": "Abandoned",
                                  "reason": reason, "terminal": None, "category": None,
                                  "tier2": False, "tier2_group": None, "tickets": {}}
        if reason == "duplicate":
            if not duplicate_of:
                raise ValueError("a duplicate call names the ticket it duplicates")
            fields["duplicate_of"] = duplicate_of
        end = self._write("end", **fields)
        self.journals.remove_ticket_leftovers(self.call_id)
        self.state.ended = {k: v for k, v in end.items() if k != "event"}
        return self.state.ended

    # -- escalation -------------------------------------------------------------------
    def escalation_group(self, step: Step) -> str | None:
        """The one Tier 2 group of an escalating exit (None if it does not escalate).
        Screen, ticket, store and report all show this value, recorded in the end event."""
        node = step.visit.node
        if not isinstance(node, TerminalNode) or not node.tier2:
            return None
        names = tuple(str(n) for n in (step.context.get("target_name"),) if n)
        return self.org.tier2_group(node.category.value, step.context.get("target"),
                                    node.team.value if node.team else None, names)

    # -- the end -----------------------------------------------------------------------
    def end_at_terminal(self, step: Step, tickets: dict[str, str],
                   ticket_error: str | None = None) -> dict[str, Any]:
        """Record the end of the call at ``step`` (a terminal), naming the ticket files
        already written (:func:`wizard.records.ending.write_tickets_then_end` writes them
        first, so a full disk leaves the call open, never ended without tickets)."""
        assert step.kind is StepKind.END and isinstance(step.visit.node, TerminalNode)
        node = step.visit.node
        group = self.escalation_group(step)
        end = self._write(
            "end", terminal=step.visit.node_key, status=node.status.value,
            status_label=node.status.label, category=node.category.value,
            tier2=node.tier2, tier2_group=group, team=node.team.value if node.team else None,
            tickets=tickets,
            ticket_error=ticket_error,
        )
        self.state.ended = {k: v for k, v in end.items() if k != "event"}
        return self.state.ended

    def _write(self, event: str, **fields: Any) -> dict[str, Any]:
        """Journal an event a person made (an answer, a note, the end...), naming who."""
        record = self._journal.append(event, by=self.by, **fields)
        self.written.append(event)
        return record

    @property
    def _journal(self) -> Journal:
        if self.journal is None:
            raise JournalError(f"call {self.call_id} is open read-only")
        return self.journal

    def close(self) -> None:
        if self.journal is not None:
            self.journal.close()
