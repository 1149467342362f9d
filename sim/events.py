"""Schedulable events: what a scenario's timeline makes happen at a given step.

Each event is data (a validated pydantic model with a ``type`` tag, so a scenario file can list
them) with an ``apply(model)`` that acts on whole arrays at the start of its step, before any
mechanism runs. A step ``s`` event applies at the start of step ``s`` (the first step is 1).

An event type is a class here plus its entry in :data:`EVENT_TYPES`: the ``Event`` union that
scenario files are read with, the JSON Schema and the scenario's hints all come from that tuple.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field

from sim.programmes import Blame

if TYPE_CHECKING:
    from sim.model import TrustModel


class _Event(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    step: int = Field(ge=1, description="step at whose start the event applies (1 = first week)")
    programme: str = Field(description="programme the event concerns")

    def apply(self, model: TrustModel) -> None:  # pragma: no cover - every subclass overrides
        raise NotImplementedError

    def programme_changes(self) -> dict[str, Any]:
        """The programme fields this event sets: ``apply`` sets them and a scenario's dry run
        checks them before any run, so the two cannot disagree. Empty for most events."""
        return {}


class _ProgrammeUpdate(_Event):
    """An event whose whole effect is to set fields of its programme."""

    def apply(self, model: TrustModel) -> None:
        model.update_programme(self.programme, **self.programme_changes())


class _Incident(_Event):
    """An incident: news about a programme, whose blame the record may assign (a regulator's
    findings, say) from then on."""

    blame: Blame | None = Field(
        default=None, description="who bears the trust cost of the programme's news from this "
        "event on (its blame shares); unset: the programme's own")

    def programme_changes(self) -> dict[str, Any]:
        if self.blame is None:
            return {}
        return {"blame": self.blame.model_dump(exclude_none=True)}  # merged with the programme's

    def _assign_blame(self, model: TrustModel) -> None:
        if self.blame is not None:
            model.update_programme(self.programme, **self.programme_changes())


class Breach(_Incident):
    """A breach of one programme's data: victims among those whose records flowed, and news."""

    type: Literal["breach"] = "breach"
    severity: float | None = Field(
        default=None, gt=0, lt=1, description="severity; default: drawn around the programme's"
    )
    publicity: float | None = Field(
        default=None, ge=0, le=1, description="share reached by the news; default: programme's"
    )

    def apply(self, model: TrustModel) -> None:
        self._assign_blame(model)
        model.breach(self.programme, severity=self.severity, publicity=self.publicity)


class Scandal(_Incident):
    """A revelation or press story about a programme, with no direct victims.

    If the programme had not been announced, this is its discovery: it hits harder
    (``hidden_multiplier``) and the programme is announced from then on.
    """

    type: Literal["scandal"] = "scandal"
    severity: float = Field(default=0.5, gt=0, lt=1, description="how bad the story is")
    publicity: float = Field(default=0.5, ge=0, le=1, description="share of the population reached")

    def apply(self, model: TrustModel) -> None:
        self._assign_blame(model)
        model.reveal(self.programme, severity=self.severity, publicity=self.publicity)


class PolicyChange(_ProgrammeUpdate):
    """Change fields of a programme (consent regime, mandate, security, transparency, ...)."""

    type: Literal["policy_change"] = "policy_change"
    changes: dict[str, Any] = Field(description="programme fields and their new values")

    def programme_changes(self) -> dict[str, Any]:
        return dict(self.changes)


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


class OptOutDeadline(_ProgrammeUpdate):
    """Announce (or move) an opt-out deadline: choices bunch as it nears, and the announcement
    tells a ``salience`` share of citizens that they have a choice. Extend it with a later
    ``OptOutDeadline`` for the same programme."""

    type: Literal["opt_out_deadline"] = "opt_out_deadline"
    deadline: int = Field(ge=1, description="step of the deadline")
    salience: float = Field(default=0.5, ge=0, le=1,
                            description="how hard the deadline prompts, and the share of "
                            "citizens its announcement tells of their choice")

    def programme_changes(self) -> dict[str, Any]:
        return {"deadline": self.deadline, "deadline_salience": self.salience}

    def apply(self, model: TrustModel) -> None:
        super().apply(model)
        model.announce_choice(self.programme, reach=self.salience)


class Pause(_ProgrammeUpdate):
    """Pause a programme (no data flows); resume after ``duration`` steps, or never if unset."""

    type: Literal["pause"] = "pause"
    duration: int | None = Field(default=None, ge=1,
                                 description="weeks paused; unset: indefinitely")

    def programme_changes(self) -> dict[str, Any]:
        return {"active": False}

    def apply(self, model: TrustModel) -> None:
        super().apply(model)
        if self.duration is not None:
            model.schedule(Resume(step=self.step + self.duration, programme=self.programme))


class Resume(_ProgrammeUpdate):
    """Resume a paused programme (one its decision rule cancelled stays stopped)."""

    type: Literal["resume"] = "resume"

    def programme_changes(self) -> dict[str, Any]:
        return {"active": True}


#: Every event type, in the order the schema and the docs list them.
EVENT_TYPES: tuple[type[_Event], ...] = (
    Breach, Scandal, PolicyChange, Campaign, OptOutDeadline, Pause, Resume)

#: Any one event, told apart by its ``type`` tag (what a scenario's ``timeline`` lists).
Event = Annotated[Union[EVENT_TYPES], Field(discriminator="type")]  # noqa: UP007

_BY_TAG: dict[str, type[_Event]] = {cls.model_fields["type"].default: cls for cls in EVENT_TYPES}


def tags() -> tuple[str, ...]:
    """The ``type`` tags of every event type."""
    return tuple(_BY_TAG)


def event_class(tag: object) -> type[_Event] | None:
    """The event class written ``type: <tag>``, or None if no event has that tag."""
    return _BY_TAG.get(tag) if isinstance(tag, str) else None
