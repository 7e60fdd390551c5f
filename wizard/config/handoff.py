"""Where each Tier 2 group receives escalations: the ``handoff`` section of the
organization file.

Secrets are never read from the file: a destination names an environment variable
(``secret: SNOW_PASSWORD``), looked up in the environment and then in the OS keyring
(service ``ipsec-triage``). A field that looks like a password or token is refused.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from wizard.config.fields import Flag, Name, Port, Seconds, Whole

SECRET_FIELDS = ("password", "passwd", "token", "api_token", "api_key", "apikey",
                 "client_secret", "pass")
SECRET_NAME = re.compile(r"^[A-Z][A-Z0-9_]{0,63}$")
KINDS = ("email", "servicenow", "jira", "zendesk", "webhook")

#: The earlier ticket number a destination takes (it goes into the request's path):
#: what the vendor's documentation gives as the form of an issue key or number.
TICKET_NUMBERS: dict[str, tuple[re.Pattern[str], str]] = {
    "jira": (re.compile(r"[A-Za-z][A-Za-z0-9_]{0,49}-[1-9][0-9]{0,17}"),
             "a Jira issue key (e.g. SEC-123)"),
    "servicenow": (re.compile(r"[A-Za-z]{2,12}[0-9]{4,15}"),
                   "a ServiceNow number (e.g. INC0012345)"),
    "zendesk": (re.compile(r"#?[1-9][0-9]{0,17}"),
                "a Zendesk ticket number (digits, e.g. 4567)"),
}


def ticket_problem(kind: str, number: str) -> str | None:
    """None when ``number`` is an earlier ticket a destination of ``kind`` takes (any
    for e-mail and the webhook, which put it in no path); else what it should be."""
    form = TICKET_NUMBERS.get(kind)
    if form is None or form[0].fullmatch(number):
        return None
    return form[1]


def _invalid(message: str) -> PydanticCustomError:
    return PydanticCustomError("org_value", message)


class _Dest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    redacted_only: Flag = Field(
        default=False, description="Send only a redacted packet (and the redacted ticket "
        "inside it); nothing is sent until one exists")
    timeout: Seconds = Field(default=20.0, gt=0, le=300,
                           description="Seconds for each request to the destination")
    secret: str | None = Field(
        default=None, description="Name of the environment variable (or OS keyring entry, "
        "service 'ipsec-triage') holding the password or API token")

    @model_validator(mode="before")
    @classmethod
    def _no_secrets_here(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key in data:
                if str(key).lower() in SECRET_FIELDS:
                    raise _invalid(
                        f"{key!r}: secrets are never read from the organization file; "
                        "put it in an environment variable or the OS keyring and name it "
                        "with 'secret: NAME'")
        return data

    @field_validator("secret")
    @classmethod
    def _secret_name(cls, value: str | None) -> str | None:
        if value is not None and not SECRET_NAME.match(value):
            raise _invalid("'secret' names an environment variable (capital letters, "
                           "digits and _, e.g. SNOW_PASSWORD), it is not the secret itself")
        return value


def _http_url(value: str) -> str:
    value = value.strip().rstrip("/")
    if re.match(r"^[a-z][a-z0-9+.-]*://[^/?#\s]*@", value, re.IGNORECASE):
        # the URL itself is not repeated: what is before the @ may be the password
        raise _invalid("a user name or password in the URL is never read (it would be "
                       "shown wherever the URL is): name the user with 'user:' and put the "
                       "password or token in an environment variable or the OS keyring, "
                       "named with 'secret: NAME'")
    if not re.match(r"^https?://[^\s/]+", value):
        raise _invalid(f"{value!r} is not an http(s) URL")
    return value


class EmailDest(_Dest):
    """E-mail: the ticket as the body, the tickets and the packet attached."""

    kind: Literal["email"]
    to: list[str] = Field(min_length=1, description="Recipients")
    cc: list[str] = Field(default_factory=list)
    sender: str = Field(alias="from", description="From address")
    smtp_host: str | None = Field(default=None, description="Unset: write an .eml file")
    smtp_port: Port | None = Field(default=None,
                                   description="Default 587 (starttls), 465 (ssl), 25 (none)")
    security: Literal["starttls", "ssl", "none"] = "starttls"
    user: str | None = Field(default=None, description="SMTP login (password: 'secret')")
    ca_file: str | None = Field(default=None, description="CA certificates for the "
                                "server (default: the system's)")
    eml_dir: str | None = Field(default=None, description="Folder for .eml files when "
                                "no smtp_host is set (default: 'handoff' in the data folder)")

    @field_validator("to", "cc")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        for addr in value:
            if not re.match(r"^[^@\s<>]+@[^@\s<>]+$", addr):
                raise _invalid(f"{addr!r} is not an e-mail address")
        return value

    def port(self) -> int:
        if self.smtp_port:
            return self.smtp_port
        return {"starttls": 587, "ssl": 465, "none": 25}[self.security]


class ServiceNowDest(_Dest):
    """ServiceNow Table API (incident) and Attachment API."""

    kind: Literal["servicenow"]
    url: str = Field(description="Instance URL, e.g. https://corp.service-now.com")
    table: str = Field(default="incident", pattern=r"^[a-z_][a-z0-9_]*$")
    user: str | None = Field(default=None, description="Basic auth user; without it the "
                             "secret is sent as an OAuth bearer token")
    assignment_group: str | None = None
    fields: dict[str, str] = Field(default_factory=dict,
                                   description="More incident fields, e.g. category")

    _url = field_validator("url")(classmethod(lambda cls, v: _http_url(v)))


class JiraDest(_Dest):
    """Jira REST API v2 (Server / Data Center / Cloud) or v3 (Cloud)."""

    kind: Literal["jira"]
    url: str
    api_version: Literal[2, 3] = 2
    project: str = Field(min_length=1, description="Project key, e.g. SEC")
    issue_type: str = "Task"
    user: str | None = Field(default=None, description="Cloud: the account e-mail (basic "
                             "auth with the API token); unset: the secret is a personal "
                             "access token (Bearer)")
    labels: list[str] = Field(default_factory=list)

    _url = field_validator("url")(classmethod(lambda cls, v: _http_url(v)))


class ZendeskDest(_Dest):
    """Zendesk Support Tickets API v2 with uploads."""

    kind: Literal["zendesk"]
    url: str = Field(description="e.g. https://corp.zendesk.com")
    user: str | None = Field(default=None, description="Agent e-mail: API token auth "
                             "(email/token); unset: the secret is an OAuth bearer token")
    group_id: Whole | None = None
    tags: list[str] = Field(default_factory=lambda: ["ipsec-triage"])

    _url = field_validator("url")(classmethod(lambda cls, v: _http_url(v)))


class WebhookDest(_Dest):
    """A generic JSON webhook: one POST with the ticket and the files (base64)."""

    kind: Literal["webhook"]
    url: str
    headers: dict[str, str] = Field(default_factory=dict,
                                    description="Extra headers (not secrets)")

    _url = field_validator("url")(classmethod(lambda cls, v: _http_url(v)))

    @field_validator("headers")
    @classmethod
    def _no_auth_header(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value:
            if name.lower() in ("authorization", "x-api-key", "api-key"):
                raise _invalid(f"header {name!r} carries a secret: use 'secret: NAME' "
                               "(sent as Authorization: Bearer)")
        return value


Destination = Annotated[EmailDest | ServiceNowDest | JiraDest | ZendeskDest | WebhookDest,
                        Field(discriminator="kind")]

DEST_MODELS: dict[str, type[BaseModel]] = {
    "email": EmailDest, "servicenow": ServiceNowDest, "jira": JiraDest,
    "zendesk": ZendeskDest, "webhook": WebhookDest,
}


class HandoffConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    destinations: dict[Name, Destination] = Field(
        default_factory=dict, description="Tier 2 group -> where its escalations go")
    retry_base: Seconds = Field(default=60.0, gt=0, le=3600,
                              description="Seconds before the first retry of a failed "
                              "hand-off; doubled each time")
    retry_max: Seconds = Field(default=3600.0, gt=0, le=86400,
                             description="Longest wait between retries")

    def ticket_problem(self, number: str) -> str | None:
        """What an earlier ticket number typed at the intake should be for the ticket
        systems of this file (the group, and so the destination, is known only at the
        end): None when it fits one of them, or when a destination takes any number."""
        kinds = {d.kind for d in self.destinations.values()}
        if not kinds or kinds - set(TICKET_NUMBERS):
            return None
        problems = [ticket_problem(kind, number) for kind in sorted(kinds)]
        if None in problems:
            return None
        return " or ".join(p for p in problems if p)

    def destination(self, group: str | None) -> EmailDest | ServiceNowDest | JiraDest | \
            ZendeskDest | WebhookDest | None:
        if not group:
            return None
        if group in self.destinations:
            return self.destinations[group]
        folded = {g.casefold(): d for g, d in self.destinations.items()}
        return folded.get(group.casefold())
