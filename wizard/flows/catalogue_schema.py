"""What the known-issues catalogue file may contain (checked with pydantic when the
file is loaded; the wizard then uses the plain records of :mod:`wizard.flows.nodes`)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from wizard.flows.nodes import Category


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Match(_Strict):
    step: str | None = Field(None, description="Step key, e.g. fig7_1.net_autoconfig")
    value: str | None = Field(None, description="Answer value that shows the symptom")
    probe: str | None = Field(None, description="Probe name")
    status: str | None = Field(None, description="Probe status (ok, fail, ...)")
    data: dict[str, Any] | None = Field(None, description="Probe data items that must match")
    text: str | None = Field(None, description="Phrase in free text, notes or check evidence")

    @model_validator(mode="after")
    def _one_kind(self) -> Match:
        kinds = [self.step is not None, self.probe is not None, self.text is not None]
        if sum(kinds) != 1:
            raise ValueError("a match needs exactly one of 'step', 'probe' or 'text'")
        if self.step is not None and self.value is None:
            raise ValueError("a 'step' match needs a 'value'")
        return self


class Entry(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str
    symptom: str
    match: list[Match] = Field(min_length=1)
    tier1_says: str = Field(description="What Tier 1 tells the caller")
    tier1_does: str = Field(description="What Tier 1 does")
    ticket: str = Field(description="What goes into the ticket")
    escalate_to: str = Field(description="Where it is escalated, if it is")
    category: Category | None = None
    source: str = Field(min_length=1)
    inferred: str | None = None


class Catalogue(_Strict):
    version: str
    entries: list[Entry]
