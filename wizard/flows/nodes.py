"""Flowcharts as the running wizard uses them: plain, immutable records.

:mod:`wizard.flows.schema` says what a flowchart file may contain and checks it (pydantic,
which costs a tenth of a second to import). A checked chart is turned into the records
below, which need nothing but the standard library: the wizard's path to its first
question never imports pydantic, and a checked flowchart set can be cached as JSON
(:mod:`wizard.flows.flowset`) and read back without checking it again.

Each record class has the name and the fields of its schema model, so code reads
``node.yes`` or ``node.probe.name`` the same either way (and ``isinstance(node,
schema.TerminalNode)`` is true for a record: the schema registers these classes).
A field added to a schema model comes through unchanged; give it an annotation here
too so the type checker knows it (tests/test_schema_records.py checks this).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from typing import Any, ClassVar, Literal, TypeAlias


class Status(str, enum.Enum):
    """The three outcomes of a Tier 1 call (chapter: "the problem status will be one of")."""

    FIXED_UNDERSTOOD = "fixed_understood"
    FIXED_UNCLEAR = "fixed_unclear"
    NOT_FIXED = "not_fixed"

    @property
    def label(self) -> str:
        return {
            "fixed_understood": "Fixed understood",
            "fixed_unclear": "Fixed unclear",
            "not_fixed": "Not fixed (escalated to Tier 2)",
        }[self.value]


class Category(str, enum.Enum):
    """Problem categories of the Tier 1 taxonomy (Figure 7.1), and IPsec on a server that
    lost its own network after a restart (the server call, not a caller's computer)."""

    NETWORK = "network"
    NAME_RESOLUTION = "name_resolution"
    APPLICATION = "application"
    CALLER_IPSEC = "caller_ipsec"
    TARGET_IPSEC = "target_ipsec"
    SERVER_IPSEC = "server_ipsec"

    @property
    def label(self) -> str:
        return {
            "network": "Network connectivity",
            "name_resolution": "Name resolution",
            "application": "Application",
            "caller_ipsec": "IPsec on the caller's computer",
            "target_ipsec": "IPsec on the target computer (or the path to it)",
            "server_ipsec": "IPsec on the server (no network after a restart)",
        }[self.value]

    @classmethod
    def label_of(cls, value: object) -> str:
        """The label of a category id as recorded (the id itself if it is not one)."""
        try:
            return cls(value).label
        except ValueError:
            return str(value or "")


class Team(str, enum.Enum):
    """Tier 2 teams the chapter names ("Tier 2 Support" and "Escalation")."""

    NETWORK_OPERATIONS = "network_operations"
    APPLICATION_SUPPORT = "application_support"
    IPSEC_SUPPORT = "ipsec_support"
    DATA_CENTER = "data_center"
    SERVER_ISOLATION = "server_isolation"
    SECURITY = "security"
    DOMAIN_ADMINS = "domain_admins"


class Validator(str, enum.Enum):
    """How a free-text answer is checked."""

    ANY = "any"
    NONEMPTY = "nonempty"
    HOSTNAME = "hostname"
    IP = "ip"
    HOST = "host"
    CONTACT = "contact"
    TICKET = "ticket"


ENUMS: dict[str, type[enum.Enum]] = {e.__name__: e for e in (Status, Category, Team, Validator)}


WindowsFamily = Literal["xp_2003", "vista_later"]
WINDOWS_FAMILIES: tuple[str, ...] = ("xp_2003", "vista_later")
FAMILY_LABELS = {"xp_2003": "Windows XP / Server 2003",
                 "vista_later": "Windows Vista and later (7, 8, 10, 11, Server 2008 and later)"}


def windows_family(version: str | None) -> str | None:
    """The family of an answer to the intake's Windows version question (None: unknown)."""
    if not version or version == "unknown":
        return None
    return "xp_2003" if version in ("xp", "server2003") else "vista_later"


class Record:
    """An immutable bag of checked fields. Equal when of the same class and fields."""

    RECORDS: ClassVar[dict[str, type[Record]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        Record.RECORDS[cls.__name__] = cls

    def __init__(self, **fields: Any) -> None:
        self.__dict__.update(fields)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is read-only")

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.__dict__ == self.__dict__

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.__dict__.get("text"), self.__dict__.get("id")))

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={v!r}" for k, v in self.__dict__.items())
        return f"{type(self).__name__}({inner})"

    def fields(self) -> dict[str, Any]:
        return dict(self.__dict__)


class Option(Record):
    value: str
    label: str
    next: str


class ProbeCall(Record):
    name: str
    args: dict[str, str]
    on_ok: str | None
    on_fail: str | None
    on_outcome: dict[str, str]
    runs_on: Literal["helpdesk", "caller"]


class _NodeBase(Record):
    kind: str
    text: str
    source: str
    inferred: str | None
    help: str | None
    command: str | None
    commands: dict[str, str] | None


class YesNoNode(_NodeBase):
    kind: Literal["yesno"]
    yes: str
    no: str
    var: str | None


class ChoiceNode(_NodeBase):
    kind: Literal["choice"]
    options: list[Option]
    var: str | None
    default: str | None


class CheckNode(_NodeBase):
    kind: Literal["check"]
    probe: ProbeCall
    yes: str | None
    no: str | None
    options: list[Option] | None
    var: str | None

    def answer_values(self) -> list[str]:
        return [o.value for o in self.options] if self.options is not None else ["yes", "no"]


class TextNode(_NodeBase):
    kind: Literal["text"]
    var: str
    validate_as: Validator
    optional: bool
    next: str


class ActionNode(_NodeBase):
    kind: Literal["action"]
    next: str
    logs: bool


class NoteNode(_NodeBase):
    kind: Literal["note"]
    level: Literal["info", "caution"]
    next: str


class BranchCase(Record):
    when: str
    next: str


class BranchNode(_NodeBase):
    kind: Literal["branch"]
    cases: list[BranchCase]
    otherwise: str


class GotoNode(_NodeBase):
    kind: Literal["goto"]
    target: str


class TerminalNode(_NodeBase):
    kind: Literal["terminal"]
    status: Status
    category: Category
    tier2: bool
    team: Team | None


Node: TypeAlias = (YesNoNode | ChoiceNode | CheckNode | TextNode | ActionNode | NoteNode
                   | GotoNode | BranchNode | TerminalNode)

ANSWERED_KINDS = frozenset({"yesno", "choice", "check", "text", "action"})


class Flowchart(Record):
    id: str
    title: str
    version: str
    source: str
    description: str | None
    entry: bool
    start: str
    nodes: dict[str, Node]


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


# -- from checked models, to and from JSON ---------------------------------------------


def from_model(value: Any) -> Any:
    """The records for a checked pydantic model (recursively; other values as they are).

    A model becomes the record class of the same name; a model without one is an error
    of this module (every schema model that reaches a flowchart has a record)."""
    fields = getattr(type(value), "model_fields", None)
    if fields is not None:
        cls = Record.RECORDS[type(value).__name__]
        return cls(**{name: from_model(getattr(value, name)) for name in fields})
    if isinstance(value, list):
        return [from_model(v) for v in value]
    if isinstance(value, dict):
        return {k: from_model(v) for k, v in value.items()}
    return value


def to_json(value: Any) -> Any:
    """JSON-ready data for records (``{"@": class, ...fields}``) and enums."""
    if isinstance(value, Record):
        return {"@": type(value).__name__, **{k: to_json(v) for k, v in value.__dict__.items()}}
    if isinstance(value, enum.Enum):
        return {"@enum": type(value).__name__, "value": value.value}
    if isinstance(value, list):
        return [to_json(v) for v in value]
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    return value


def from_json(value: Any) -> Any:
    """The inverse of :func:`to_json`. Only known record and enum names are accepted
    (KeyError otherwise); nothing else is ever constructed."""
    if isinstance(value, dict):
        if "@" in value:
            cls = Record.RECORDS[value["@"]]
            return cls(**{k: from_json(v) for k, v in value.items() if k != "@"})
        if "@enum" in value:
            return ENUMS[value["@enum"]](value["value"])
        return {k: from_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_json(v) for v in value]
    return value


def record_classes() -> Iterable[type[Record]]:
    return Record.RECORDS.values()


# -- the known-issues catalogue (wizard.flows.catalogue) -------------------------------------


class Match(Record):
    step: str | None
    value: str | None
    probe: str | None
    status: str | None
    data: dict[str, Any] | None
    text: str | None


class Entry(Record):
    id: str
    title: str
    symptom: str
    match: list[Match]
    tier1_says: str
    tier1_does: str
    ticket: str
    escalate_to: str
    category: Category | None
    source: str
    inferred: str | None


class Catalogue(Record):
    version: str
    entries: list[Entry]
