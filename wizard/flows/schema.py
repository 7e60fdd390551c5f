"""The flowchart schema: what a YAML file in ``flowcharts/`` may contain.

One file describes one flowchart (one figure of the source chapter, or the intake).
Every node names the passage of the source text it comes from (``source``) and says
what, if anything, was inferred (``inferred``). Node ids are local to a file; links
to another file are written ``chart_id`` (its start node) or ``chart_id.node_id``.

``python -m wizard schema`` prints this schema as JSON Schema for editors.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from wizard.flows.nodes import (
    ANSWERED_KINDS,
    WINDOWS_FAMILIES,
    Category,
    Status,
    Team,
    Validator,
    WindowsFamily,
)

ID_RE = r"^[a-z][a-z0-9_]*$"
LINK_RE = r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)?$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Option(_Strict):
    """One answer of a choice question and where it leads."""

    value: Annotated[str, Field(pattern=ID_RE, description="Stored answer value")]
    label: str = Field(description="What the staffer sees")
    next: Annotated[str, Field(pattern=LINK_RE)]


class ProbeCall(_Strict):
    """An automatic check whose result pre-fills a question's answer."""

    name: str = Field(description="Probe name (see `ipsec-triage probes`)")
    args: dict[str, str] = Field(
        default_factory=dict, description="Probe arguments; Jinja text using earlier answers"
    )
    on_ok: str | None = Field(None, description="Answer suggested when the probe says ok")
    on_fail: str | None = Field(None, description="Answer suggested when the probe says fail")
    on_outcome: dict[str, str] = Field(
        default_factory=dict,
        description="The probe's outcome (its data 'outcome', e.g. ping: replied, negotiating, "
        "unknown_host, no_reply) -> answer suggested; wins over on_ok / on_fail")
    runs_on: Literal["helpdesk", "caller"] = Field(
        "helpdesk",
        description="Where the check is meaningful: from the help desk's machine, or only "
        "when the wizard runs on the caller's computer",
    )


class _NodeBase(_Strict):
    text: str = Field(description="What the staffer reads or asks (Jinja, earlier answers)")
    source: str = Field(
        min_length=1, description="The passage of the source document this node comes from"
    )
    inferred: str | None = Field(
        None, description="What this node adds beyond the source text, and why"
    )
    help: str | None = Field(None, description="Extra guidance shown to the staffer")
    command: str | None = Field(
        None, description="Exact command for the caller to type, read out as written (Jinja)"
    )
    commands: dict[WindowsFamily, str] | None = Field(
        None, description="The command per Windows family, when it differs (xp_2003: Windows "
        "XP / Server 2003; vista_later: Windows Vista, 7-11, Server 2008 and later); the "
        "staffer sees the one for the caller's Windows (Jinja)"
    )

    @model_validator(mode="after")
    def _one_kind_of_command(self) -> _NodeBase:
        if self.commands is not None:
            if self.command is not None:
                raise ValueError("give either 'command' or 'commands', not both")
            missing = [f for f in WINDOWS_FAMILIES if f not in self.commands]
            if missing:
                raise ValueError(f"'commands' needs an entry for {', '.join(missing)}")
        return self


class YesNoNode(_NodeBase):
    kind: Literal["yesno"]
    yes: Annotated[str, Field(pattern=LINK_RE)]
    no: Annotated[str, Field(pattern=LINK_RE)]
    var: Annotated[str | None, Field(pattern=ID_RE)] = None


class ChoiceNode(_NodeBase):
    kind: Literal["choice"]
    options: list[Option] = Field(min_length=2)
    var: Annotated[str | None, Field(pattern=ID_RE)] = None
    default: str | None = Field(
        None, description="The option pre-selected for the staffer (Jinja, earlier answers; "
        "it must render to an option value)")

    @field_validator("options")
    @classmethod
    def _unique_values(cls, options: list[Option]) -> list[Option]:
        seen: set[str] = set()
        for opt in options:
            if opt.value in seen:
                raise ValueError(f"option value {opt.value!r} appears twice")
            seen.add(opt.value)
        return options


class CheckNode(_NodeBase):
    """A question whose answer an automatic probe can suggest: yes/no (``yes``, ``no``),
    or several outcomes the caller reads out (``options``)."""

    kind: Literal["check"]
    probe: ProbeCall
    yes: Annotated[str | None, Field(pattern=LINK_RE)] = None
    no: Annotated[str | None, Field(pattern=LINK_RE)] = None
    options: list[Option] | None = Field(
        None, description="Outcomes to choose from, instead of yes and no")
    var: Annotated[str | None, Field(pattern=ID_RE)] = None

    @model_validator(mode="after")
    def _suggestions_are_answers(self) -> CheckNode:
        if self.options is not None:
            if self.yes is not None or self.no is not None:
                raise ValueError("a check has either 'yes' and 'no' or 'options', not both")
            if len(self.options) < 2:
                raise ValueError("a check needs at least two options")
            values = [o.value for o in self.options]
            if len(set(values)) != len(values):
                raise ValueError("option values must be unique")
        elif self.yes is None or self.no is None:
            raise ValueError("a check needs 'yes' and 'no' (or 'options')")
        allowed = self.answer_values()
        for field in ("on_ok", "on_fail"):
            value = getattr(self.probe, field)
            if value is not None and value not in allowed:
                raise ValueError(
                    f"probe.{field} must be one of {', '.join(allowed)}, not {value!r}")
        for outcome, value in self.probe.on_outcome.items():
            if value not in allowed:
                raise ValueError(f"probe.on_outcome.{outcome} must be one of "
                                 f"{', '.join(allowed)}, not {value!r}")
        return self

    def answer_values(self) -> list[str]:
        return [o.value for o in self.options] if self.options is not None else ["yes", "no"]


class TextNode(_NodeBase):
    kind: Literal["text"]
    var: Annotated[str, Field(pattern=ID_RE, description="Name later text can use")]
    validate_as: Validator = Field(Validator.NONEMPTY, alias="validate")
    optional: bool = False
    next: Annotated[str, Field(pattern=LINK_RE)]


class ActionNode(_NodeBase):
    """An instruction for the caller; the staffer confirms it was done."""

    kind: Literal["action"]
    next: Annotated[str, Field(pattern=LINK_RE)]
    logs: bool = Field(
        False, description="This step has the caller produce the log files for Tier 2 "
        "(IPsec_Debug.vbs, Table 7.3); the ticket lists them only when a step like this was "
        "done")


class NoteNode(_NodeBase):
    """A note or caution shown on the way; needs no answer."""

    kind: Literal["note"]
    level: Literal["info", "caution"] = "info"
    next: Annotated[str, Field(pattern=LINK_RE)]


class BranchCase(_Strict):
    """One case of a branch: a Jinja condition over earlier answers and where it leads."""

    when: str = Field(description="Jinja expression, e.g. \"target_ip and target != target_ip\"")
    next: Annotated[str, Field(pattern=LINK_RE)]


class BranchNode(_NodeBase):
    """A decision the wizard takes itself from earlier answers; nothing is asked.
    The first case whose condition is true is taken, else ``otherwise``."""

    kind: Literal["branch"]
    cases: list[BranchCase] = Field(min_length=1)
    otherwise: Annotated[str, Field(pattern=LINK_RE)]


class GotoNode(_NodeBase):
    """A link to another flowchart ("go to Figure 7.2")."""

    kind: Literal["goto"]
    target: Annotated[str, Field(pattern=LINK_RE)]


class TerminalNode(_NodeBase):
    kind: Literal["terminal"]
    status: Status
    category: Category
    tier2: bool = Field(
        False, description="Escalate to Tier 2 (required for status not_fixed)"
    )
    team: Team | None = Field(
        None, description="The Tier 2 team this exit escalates to (the organization file "
        "maps team keys to its own group names); required when tier2 is true"
    )

    @model_validator(mode="after")
    def _escalation_consistent(self) -> TerminalNode:
        if self.status is Status.NOT_FIXED and not self.tier2:
            raise ValueError("a 'not_fixed' terminal must escalate (tier2: true)")
        if self.tier2 and self.team is None:
            raise ValueError("an escalating terminal must name its team (team: ...)")
        return self


Node = Annotated[
    YesNoNode | ChoiceNode | CheckNode | TextNode | ActionNode | NoteNode | GotoNode
    | BranchNode | TerminalNode,
    Field(discriminator="kind"),
]



class Flowchart(_Strict):
    """One flowchart file."""

    id: Annotated[str, Field(pattern=ID_RE)]
    title: str
    version: Annotated[str, Field(min_length=1)]
    source: str = Field(description="The document (and figure) this flowchart rebuilds")
    description: str | None = None
    entry: bool = Field(False, description="The call starts here (exactly one file)")
    start: Annotated[str, Field(pattern=ID_RE)]
    nodes: dict[str, Node] = Field(min_length=1)

    @field_validator("nodes")
    @classmethod
    def _node_ids(cls, nodes: dict[str, Node]) -> dict[str, Node]:
        for key in nodes:
            if not re.match(ID_RE, key):
                raise ValueError(f"node id {key!r} must match {ID_RE}")
        return nodes


def node_links(node: Node) -> list[str]:
    """The raw link strings leaving a node, in display order."""
    if isinstance(node, CheckNode) and node.options is not None:
        return [opt.next for opt in node.options]
    if isinstance(node, (YesNoNode, CheckNode)):
        return [node.yes, node.no]  # type: ignore[list-item]
    if isinstance(node, BranchNode):
        return [case.next for case in node.cases] + [node.otherwise]
    if isinstance(node, ChoiceNode):
        return [opt.next for opt in node.options]
    if isinstance(node, (TextNode, ActionNode, NoteNode)):
        return [node.next]
    if isinstance(node, GotoNode):
        return [node.target]
    return []


__all__ = ["ANSWERED_KINDS", "Category", "Status", "Team", "Validator"]
