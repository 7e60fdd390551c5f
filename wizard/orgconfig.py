"""The organization file: help-desk test servers, domain controllers, Tier 2 routing,
timeouts, template folder, redaction keywords. See ``examples/org.yaml``.

Every field is optional: ``OrgConfig()`` is a working configuration.
"""

from __future__ import annotations

import fnmatch
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .yamlio import DocumentError, format_validation_error, load_document

CATEGORIES = ("network", "name_resolution", "application", "caller_ipsec", "target_ipsec")

DEFAULT_GROUPS = {
    "network": "Global network operations center",
    "name_resolution": "Global network operations center",
    "application": "Line of business application support",
    "caller_ipsec": "Tier 2 IPsec support",
    "target_ipsec": "Data center operations",
}


class OrgConfigError(Exception):
    """The organization file is wrong; ``str()`` is one line ``file:line: field: ...``."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _host(value: str) -> str:
    from .probes import ProbeArgumentError, validate_host

    try:
        return validate_host(value)
    except ProbeArgumentError as exc:
        raise ValueError(str(exc)) from None


class TestServer(_Strict):
    """A help-desk test computer that every trusted host should reach."""

    __test__ = False  # not a pytest test class

    name: str = Field(description="Name to read out and show")
    address: str = Field(description="Host name or IP address to test")
    port: int = Field(445, ge=1, le=65535, description="TCP port to test (445: SMB, net view)")

    _check_address = field_validator("address")(classmethod(lambda cls, v: _host(v)))


class DomainController(_Strict):
    name: str
    address: str

    _check_address = field_validator("address")(classmethod(lambda cls, v: _host(v)))


class RouteRule(_Strict):
    """Send escalations for matching targets to a group (first match wins)."""

    target: str = Field(description="Target name or address pattern, e.g. 'fin-*'")
    group: str
    category: str | None = Field(None, description="Only for this problem category")

    @field_validator("category")
    @classmethod
    def _known_category(cls, value: str | None) -> str | None:
        if value is not None and value not in CATEGORIES:
            raise ValueError(f"{value!r} is not one of {', '.join(CATEGORIES)}")
        return value


Category = Literal["network", "name_resolution", "application", "caller_ipsec",
                   "target_ipsec"]


class Tier2(_Strict):
    groups: dict[Category, str] = Field(default_factory=dict,
                                        description="Problem category -> Tier 2 group")
    default: str = "Tier 2 support"
    rules: list[RouteRule] = Field(default_factory=list)


class Timeouts(_Strict):
    default: float = Field(default=3.0, gt=0, le=120, description="Seconds for any probe")
    probes: dict[str, float] = Field(default_factory=dict,
                                     description="Probe name -> seconds")


class OrgConfig(_Strict):
    organization: str = ""
    test_servers: list[TestServer] = Field(default_factory=list)
    domain_controllers: list[DomainController] = Field(default_factory=list)
    dns_suffix: str = ""
    tier2: Tier2 = Field(default_factory=lambda: Tier2())
    timeouts: Timeouts = Field(default_factory=lambda: Timeouts())
    templates_dir: str | None = None
    redact_keywords: list[str] = Field(default_factory=list)

    def tier2_group(self, category: str, target: str | None = None) -> str:
        """Group for an escalation: a matching rule, then the category's group, then the
        built-in group for the category."""
        for rule in self.tier2.rules:
            if rule.category not in (None, category):
                continue
            if target and fnmatch.fnmatch(target.lower(), rule.target.lower()):
                return rule.group
        for name, group in self.tier2.groups.items():
            if name == category:
                return group
        return DEFAULT_GROUPS.get(category, self.tier2.default)

    def probe_timeout(self, probe: str) -> float:
        return self.timeouts.probes.get(probe, self.timeouts.default)


def _known(loc: tuple[int | str, ...]) -> list[str]:
    models: dict[str, type[BaseModel]] = {
        "test_servers": TestServer, "domain_controllers": DomainController,
        "tier2": Tier2, "timeouts": Timeouts,
    }
    model: type[BaseModel] = OrgConfig
    if loc and str(loc[0]) in models:
        model = models[str(loc[0])]
        if loc[0] == "tier2" and len(loc) > 2 and loc[1] == "rules":
            model = RouteRule
    return [f.alias or n for n, f in model.model_fields.items()]


def load_org_config(path: Path | str) -> OrgConfig:
    path = Path(path)
    try:
        data: Any = load_document(path)
    except DocumentError as exc:
        raise OrgConfigError(str(exc)) from None
    if data is None:
        return OrgConfig()
    if not isinstance(data, dict):
        raise OrgConfigError(f"{path}:1: an organization file must be a mapping")
    try:
        org = OrgConfig.model_validate(data)
    except ValidationError as exc:
        first = format_validation_error(exc, data, path, known_fields=_known)[0]
        raise OrgConfigError(str(first)) from None
    if org.templates_dir and not Path(org.templates_dir).is_absolute():
        org = org.model_copy(update={"templates_dir": str(path.parent / org.templates_dir)})
    return org
