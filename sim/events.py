"""Schedulable events: what a scenario's timeline makes happen at a given step.

Each event is data (a validated pydantic model with a ``type`` tag, so a scenario file can list
them) with an ``apply(model)`` that acts on whole arrays at the start of its step, before any
mechanism runs. A step ``s`` event applies at the start of step ``s`` (the first step is 1).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from sim.model import TrustModel


class _Event(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    step: int = Field(ge=1, description="step at whose start the event applies (1 = first week)")
    programme: str = Field(description="programme the event concerns")

    def apply(self, model: TrustModel) -> None:  # pragma: no cover - every subclass overrides
        raise NotImplementedError


class Breach(_Event):
    """A breach of one programme's data: victims among those whose records flowed, and news."""

    type: Literal["breach"] = "breach"
    severity: float | None = Field(
        default=None, gt=0, lt=1, description="severity; default: drawn around the programme's"
    )
    publicity: float | None = Field(
        default=None, ge=0, le=1, description="share reached by the news; default: programme's"
    )

    def apply(self, model: TrustModel) -> None:
        model.breach(self.programme, severity=self.severity, publicity=self.publicity)


class Scandal(_Event):
    """A revelation or press story about a programme, with no direct victims.

    If the programme had not been announced, this is its discovery: it hits harder
    (``hidden_multiplier``) and the programme is announced from then on.
    """

    type: Literal["scandal"] = "scandal"
    severity: float = Field(default=0.5, gt=0, lt=1, description="how bad the story is")
    publicity: float = Field(default=0.5, ge=0, le=1, description="share of the population reached")

    def apply(self, model: TrustModel) -> None:
        model.reveal(self.programme, severity=self.severity, publicity=self.publicity)


class PolicyChange(_Event):
    """Change fields of a programme (consent regime, mandate, security, transparency, ...)."""

    type: Literal["policy_change"] = "policy_change"
    changes: dict[str, Any] = Field(description="programme fields and their new values")

    def apply(self, model: TrustModel) -> None:
        model.update_programme(self.programme, **self.changes)


class Campaign(_Event):
    """A public information campaign: reached citizens' trust rises each week it runs."""

    type: Literal["campaign"] = "campaign"
    strength: float = Field(default=0.5, ge=0, le=1, description="how convincing it is")
    reach: float = Field(default=0.5, ge=0, le=1, description="share reached each week")
    duration: int = Field(default=4, ge=1, description="weeks it runs")

    def apply(self, model: TrustModel) -> None:
        model.campaign(self.programme, strength=self.strength, reach=self.reach)
        if self.duration > 1:
            model.schedule(self.model_copy(
                update={"step": self.step + 1, "duration": self.duration - 1}))


class OptOutDeadline(_Event):
    """Announce (or move) an opt-out deadline: choices bunch as it nears. Extend it with a later
    ``OptOutDeadline`` for the same programme."""

    type: Literal["opt_out_deadline"] = "opt_out_deadline"
    deadline: int = Field(ge=1, description="step of the deadline")
    salience: float = Field(default=0.5, ge=0, le=1, description="how hard the deadline prompts")

    def apply(self, model: TrustModel) -> None:
        model.update_programme(self.programme, deadline=self.deadline,
                               deadline_salience=self.salience)


class Pause(_Event):
    """Pause a programme (no data flows); resume after ``duration`` steps, or never if unset."""

    type: Literal["pause"] = "pause"
    duration: int | None = Field(default=None, ge=1,
                                 description="weeks paused; unset: indefinitely")

    def apply(self, model: TrustModel) -> None:
        model.update_programme(self.programme, active=False)
        if self.duration is not None:
            model.schedule(Resume(step=self.step + self.duration, programme=self.programme))


class Resume(_Event):
    """Resume a paused programme."""

    type: Literal["resume"] = "resume"

    def apply(self, model: TrustModel) -> None:
        model.update_programme(self.programme, active=True)


Event = Annotated[
    Breach | Scandal | PolicyChange | Campaign | OptOutDeadline | Pause | Resume,
    Field(discriminator="type"),
]


def campaign_uplift(trust: np.ndarray, reached: np.ndarray, route: np.ndarray,
                    gain: float, strength: float) -> None:
    """Raise reached citizens' trust by ``gain * strength`` times each column's route."""
    rows = np.flatnonzero(reached)
    uplift = (gain * strength * route).astype(np.float32)
    trust[rows] = np.clip(trust[rows] + uplift, 0.0, 1.0)
