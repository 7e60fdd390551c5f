"""The organization file: help-desk test servers, domain controllers, Tier 2 routing,
timeouts, template folder, redaction keywords. See ``examples/org.yaml``.

Every field is optional: ``OrgConfig()`` is a working configuration. The file is read
with a safe YAML loader (no Python objects), checked against the model (unknown fields
are errors, with the close match), and every mistake is one line naming the file, the
line and the field.
"""

from __future__ import annotations

import fnmatch
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_core import PydanticCustomError

from wizard.base.documents import DocumentError, did_you_mean
from wizard.base.errors import ExitStatus, TriageError
from wizard.base.validate import is_address
from wizard.base.yamlio import format_validation_error, load_document, locate
from wizard.config.fields import Flag, Name, Port, Seconds
from wizard.config.handoff import DEST_MODELS, HandoffConfig
from wizard.flows.nodes import Team
from wizard.flows.vocabulary import CATEGORIES

#: Tier 2 teams a flowchart exit names (``team:``), with the names the chapter uses.
DEFAULT_TEAMS = {
    "network_operations": "Global network operations center",
    "application_support": "Line of business application support",
    "ipsec_support": "Tier 2 IPsec support",
    "data_center": "Data center operations",
    "server_isolation": "Server isolation support team (network access groups)",
    "security": "IT security",
    "domain_admins": "Domain administrators",
}

#: Teams whose exits a target rule never re-routes: the caller's own network, and a
#: computer not confirmed as the organization's (the social-engineering safeguard).
NOT_REROUTED = frozenset({"security", "network_operations"})

DEFAULT_GROUPS = {
    "network": "Global network operations center",
    "name_resolution": "Global network operations center",
    "application": "Line of business application support",
    "caller_ipsec": "Tier 2 IPsec support",
    "target_ipsec": "Data center operations",
    "server_ipsec": "Data center operations",
}




class OrgConfigError(TriageError):
    """The organization file is wrong; ``str()`` is one line ``file:line: field: ...``."""

    status = ExitStatus.CONFIG


def _invalid(message: str) -> PydanticCustomError:
    """A validation error shown as just ``message`` (no "Value error, " in front)."""
    return PydanticCustomError("org_value", message)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _host(value: str) -> str:
    from wizard.base.validate import ProbeArgumentError, validate_host

    try:
        return validate_host(value)
    except ProbeArgumentError as exc:
        raise _invalid(str(exc)) from None


class TestServer(_Strict):
    """A help-desk test computer that every trusted host should reach."""

    __test__ = False  # not a pytest test class

    name: Name = Field(description="Name to read out and show")
    address: str = Field(description="Host name or IP address to test")
    port: Port | None = Field(default=None,
                              description="TCP port to test (unset: 445, SMB, as net view). "
                              "Never ping: ICMP may be exempt from IPsec and may not be "
                              "answered, so a ping proves nothing about the caller's "
                              "IPsec")

    @property
    def tested_port(self) -> int:
        return self.port or 445

    _check_address = field_validator("address")(classmethod(lambda cls, v: _host(v)))


class DomainController(_Strict):
    name: Name
    address: str

    _check_address = field_validator("address")(classmethod(lambda cls, v: _host(v)))


class RouteRule(_Strict):
    """Send escalations about matching targets to a group (first match wins)."""

    target: Name = Field(description="Target name or address pattern, e.g. 'fin-*'")
    group: Name
    category: str | None = Field(
        default=None, description="The problem category the rule is for (unset: "
        "target_ipsec, the exits about the target). Exits of the security and "
        "network_operations teams are never re-routed by a rule")

    def applies(self, category: str, team: str | None) -> bool:
        """Whether this rule may decide the group of an exit of ``category`` / ``team``."""
        if team in NOT_REROUTED:
            return False
        return category == (self.category or "target_ipsec")

    @field_validator("category")
    @classmethod
    def _known_category(cls, value: str | None) -> str | None:
        if value is not None and value not in CATEGORIES:
            raise _invalid(f"{value!r} is not one of {', '.join(CATEGORIES)}")
        return value


Category = Literal["network", "name_resolution", "application", "caller_ipsec",
                   "target_ipsec", "server_ipsec"]


class Tier2(_Strict):
    teams: dict[Team, Name] = Field(
        default_factory=dict, description="Team key named by a flowchart exit -> this "
        "organization's group name (unset: the chapter's name for the team)")
    groups: dict[Category, Name] = Field(
        default_factory=dict, description="Problem category -> Tier 2 group, only for "
        "exits that name no team (flowcharts of your own)")
    default: Name | None = Field(default=None, description="Group for categories not in groups "
                                "(unset: the built-in group of each category)")
    rules: list[RouteRule] = Field(default_factory=list)


class Isolation(_Strict):
    """What the organization's isolation design does, which decides what a test proves.
    Unset fields take the safe reading of today's Windows: ICMP is not exempt from IPsec
    (the "Exempt ICMP from IPsec" setting defaults to No) and targets do not answer ping
    (Windows 10/11 block inbound echo requests)."""

    icmp_exempt: Flag = Field(default=False, description="ICMP is exempt from IPsec "
                              "(unset: no, the Windows Firewall default)")
    targets_answer_ping: Flag = Field(default=False, description="Targets answer echo "
                                      "requests (unset: no, Windows 10/11 block them)")
    target_port: Port = Field(default=445,
                             description="TCP port a typical target is tested on when the "
                             "caller uses file sharing (unset: 445, SMB)")

    @property
    def ping_proves(self) -> bool:
        """Whether "no reply" to a ping says something about the path."""
        return self.icmp_exempt and self.targets_answer_ping

    @property
    def ping_said_no(self) -> bool:
        """Whether the file itself says that ICMP is not exempt or that targets do not
        answer ping (not only left unset): then a staffer's answer cannot make "no reply"
        prove a network problem."""
        said = self.model_fields_set
        return (("icmp_exempt" in said and not self.icmp_exempt)
                or ("targets_answer_ping" in said and not self.targets_answer_ping))


class Timeouts(_Strict):
    default: Seconds = Field(default=3.0, gt=0, le=120,
                           description="Seconds for every check without its own entry "
                           "(unset: each check's built-in timeout)")
    probes: dict[str, Seconds] = Field(default_factory=dict,
                                     description="Probe name -> seconds")

    @field_validator("probes")
    @classmethod
    def _known_probes(cls, value: dict[str, float]) -> dict[str, float]:
        from wizard.checks import PROBES

        for name, seconds in value.items():
            if name not in PROBES:
                hint = did_you_mean(name, list(PROBES))
                raise _invalid(f"unknown check {name!r}{hint}")
            if not 0 < seconds <= 300:
                raise _invalid(f"{name}: {seconds:g} is not a timeout (0 < seconds <= 300)")
        return value


class OrgConfig(_Strict):
    organization: str = ""
    test_servers: list[TestServer] = Field(default_factory=list)
    domain_controllers: list[DomainController] = Field(default_factory=list)
    dns_suffix: str = ""
    tier2: Tier2 = Field(default_factory=lambda: Tier2())
    isolation: Isolation = Field(
        default_factory=lambda: Isolation(),
        description="What the isolation design does (ICMP exemption, ping answered, "
        "the port targets are tested on)")
    timeouts: Timeouts = Field(default_factory=lambda: Timeouts())
    templates_dir: str | None = None
    flowcharts_dir: str | None = Field(
        default=None,
        description="Flowchart folder for this organization (relative to this file); "
        "--flowcharts and $IPSEC_TRIAGE_FLOWCHARTS win over it; default the shipped set")
    redact_keywords: list[str] = Field(default_factory=list)
    redact_attached_packets: bool = Field(
        default=False,
        description="Redact every evidence packet taken into a call ('attach', the web "
        "desk's upload) as 'attach --redact' does; the map is kept beside it")
    store_url: str | None = Field(
        default=None,
        description="Shared call store (SQLAlchemy URL, e.g. postgresql+psycopg://...); "
        "$IPSEC_TRIAGE_STORE wins over it; default SQLite in the data folder")
    handoff: HandoffConfig = Field(
        default_factory=lambda: HandoffConfig(),
        description="Where each Tier 2 group receives escalations (e-mail, ServiceNow, "
        "Jira, Zendesk, webhook)")

    @field_validator("dns_suffix")
    @classmethod
    def _check_suffix(cls, value: str) -> str:
        return _host(value.lstrip(".")) if value.strip() else ""

    def tier2_group(self, category: str, target: str | None = None,
                    team: str | None = None, names: tuple[str, ...] = ()) -> str:
        """The one Tier 2 group of an escalation: the first rule matching the target
        (or one of its other ``names``, such as the name ``ping -a`` showed) that applies
        to the exit (:meth:`RouteRule.applies`: by default only exits about the target;
        never the security or network operations exits); else the group this
        organization gives the exit's team (``tier2.teams``), else the chapter's name for
        that team; for an exit without a team, the category's group, else
        ``tier2.default``, else the built-in group of the category. Target patterns are
        shell-style (``fin-*``), case-insensitive, tried on the whole target and on its
        host name without the domain (``fin-app01.corp.example`` matches ``fin-app01``)."""
        wanted: set[str] = set()
        for given in (target, *names):
            name = (given or "").strip().lower()
            if name:
                wanted |= {name} if is_address(name) else {name, name.split(".", 1)[0]}
        for rule in self.tier2.rules:
            if rule.applies(category, team) and any(
                    fnmatch.fnmatchcase(n, rule.target.lower()) for n in wanted):
                return rule.group
        if team:
            named = next((g for t, g in self.tier2.teams.items() if t == team), None)
            return named or DEFAULT_TEAMS.get(team, "Tier 2 support")
        group = next((g for c, g in self.tier2.groups.items() if c == category), None)
        if group is not None:
            return group
        return self.tier2.default or DEFAULT_GROUPS.get(category, "Tier 2 support")

    @property
    def design(self) -> dict[str, Any]:
        """The isolation design as a call records it at its start (keys: DESIGN_VARS);
        the flowcharts read it from there (the answer a question pre-selects, the port a
        step names), so a call keeps the design it started with."""
        return {"ping_proves": self.isolation.ping_proves,
                "ping_said_no": self.isolation.ping_said_no,
                "target_port": self.isolation.target_port}

    @property
    def test_server_names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.test_servers)

    @property
    def has_destinations(self) -> bool:
        """Whether escalations of some group are handed off (``handoff.destinations``)."""
        return bool(self.handoff.destinations)

    def known_groups(self) -> set[str]:
        """Every Tier 2 group an escalation can go to with this file."""
        groups = set(DEFAULT_GROUPS.values()) | set(self.tier2.groups.values())
        groups |= set(DEFAULT_TEAMS.values()) | set(self.tier2.teams.values())
        groups |= {r.group for r in self.tier2.rules} | {"Tier 2 support"}
        if self.tier2.default:
            groups.add(self.tier2.default)
        return groups

    def probe_timeout(self, probe: str) -> float:
        """Seconds for a check: its entry in ``timeouts.probes``, else
        ``timeouts.default`` when the file sets it, else the check's built-in timeout."""
        if probe in self.timeouts.probes:
            return self.timeouts.probes[probe]
        if "default" in self.timeouts.model_fields_set:
            return self.timeouts.default
        from wizard.checks import PROBES

        spec = PROBES.get(probe)
        return spec.default_timeout if spec else self.timeouts.default


def warnings(org: OrgConfig, path: Path | None, design_used: bool = False) -> list[str]:
    """Things in an organization file that work but are probably not meant
    (``design_used``: the flowcharts read the isolation design)."""
    where = str(path) if path else "organization file"
    out = []
    for i, server in enumerate(org.test_servers):
        if server.port is None:
            out.append(f"{where}: test_servers.{i}: {server.name} has no port; TCP 445 (SMB, "
                       "as net view) is tested. Name the port the server really offers "
                       "(a ping cannot test it: ICMP may be exempt from IPsec or not "
                       "answered)")
    unsaid = [f for f in ("icmp_exempt", "targets_answer_ping")
              if f not in org.isolation.model_fields_set]
    if unsaid and design_used and not org.isolation.ping_said_no:
        out.append(f"{where}: isolation: {' and '.join(unsaid)} not set; Figure 7.1 "
                   "pre-selects \"no\" (today's Windows default) when a ping gets no "
                   "reply, but a staffer's \"yes\" then takes the call to network "
                   "troubleshooting on the ping alone. Say what your design does (false: "
                   "the service's port is always tested)")
    return out


def _known(loc: tuple[int | str, ...]) -> list[str]:
    models: dict[str, type[BaseModel]] = {
        "test_servers": TestServer, "domain_controllers": DomainController,
        "tier2": Tier2, "timeouts": Timeouts, "handoff": HandoffConfig,
        "isolation": Isolation,
    }
    model: type[BaseModel] = OrgConfig
    if len(loc) > 4 and loc[0] == "handoff" and str(loc[3]) in DEST_MODELS:
        model = DEST_MODELS[str(loc[3])]
    elif loc and str(loc[0]) in models:
        model = models[str(loc[0])]
        if loc[0] == "tier2" and len(loc) > 2 and loc[1] == "rules":
            model = RouteRule
    return [f.alias or n for n, f in model.model_fields.items()]


def load_org_config(path: Path | str) -> OrgConfig:
    """The organization file, read and checked (OrgConfigError: one line naming the file,
    the line and the field)."""
    path = Path(path)
    return org_from_data(path, read_org_file(path)[1])


def read_org_file(path: Path) -> tuple[bytes | None, Any]:
    """The file's bytes (None if they could not be read) and the data read from them,
    not yet checked; OrgConfigError if it is not a readable YAML document."""
    try:
        content: bytes | None = path.read_bytes()
    except OSError:
        content = None  # reading it below says why, naming the file
    try:
        return content, load_document(path)
    except DocumentError as exc:
        raise OrgConfigError(str(exc)) from None


def org_from_data(path: Path, data: Any) -> OrgConfig:
    """The settings of the file at ``path`` as read (``data``), checked; relative
    folders are taken from the file's folder."""
    if data is None:
        return OrgConfig()
    if not isinstance(data, dict):
        raise OrgConfigError(f"{path}:1: an organization file must be a mapping")
    try:
        org = OrgConfig.model_validate(data)
    except ValidationError as exc:
        first = format_validation_error(exc, data, path, known_fields=_known)[0]
        raise OrgConfigError(str(first)) from None
    known = org.known_groups()
    for group in org.handoff.destinations:
        if group not in known:
            hint = did_you_mean(group, sorted(known))
            line = locate(data, ("handoff", "destinations", group))
            raise OrgConfigError(f"{path}:{line or 1}: handoff.destinations: {group!r} is not "
                                 f"a Tier 2 group of this file{hint}")
    if org.templates_dir and not Path(org.templates_dir).is_absolute():
        org = org.model_copy(update={"templates_dir": str(path.parent / org.templates_dir)})
    if org.flowcharts_dir and not Path(org.flowcharts_dir).expanduser().is_absolute():
        org = org.model_copy(update={"flowcharts_dir": str(path.parent / org.flowcharts_dir)})
    return org
