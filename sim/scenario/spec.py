"""What a scenario is: the pydantic models a scenario file is validated against, and its schema.

Sections that exist elsewhere are used as they are (``TrustParams``, ``NetworkParams``,
``AgencySpec``, ``Programme``, the events); a policy's levers are derived from the programme
fields they change, so a field has one definition wherever it can be written.
"""

from __future__ import annotations

import functools
import hashlib
import json
import types
from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated, Any, Union, get_args, get_origin

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, create_model, model_validator
from pydantic.fields import FieldInfo

from sim import baseline
from sim.agencies import AgencySpec
from sim.events import Event, PolicyChange
from sim.params import NetworkParams, TrustParams
from sim.programmes import Mandate, Programme
from sim.segments import NHS_SEGMENTS, Segment
from sim.world import suggest

if TYPE_CHECKING:  # the model (Mesa, pandas) is imported only to build one
    from sim.model import TrustModel

#: The programme fields a policy can set (docs/scenarios.md, section 4). Each keeps the
#: programme field's type, range and meaning; adding a lever is adding its name here.
POLICY_LEVERS = ("consent", "dashboard", "uses", "mandate", "security", "transparency")


class PopulationSpec(BaseModel):
    """Who lives in the model."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    size: int = Field(default=10_000, ge=2, description="number of citizens (trustsim run refuses "
                      "a population too large for the machine's memory)")
    segments: dict[str, float] | None = Field(
        default=None,
        description="share of each NHS attitude segment (by key; normalised); unset: the survey's",
    )

    @model_validator(mode="after")
    def _known_segments(self) -> PopulationSpec:
        if self.segments is not None:
            known = {s.key for s in NHS_SEGMENTS}
            for key, share in self.segments.items():
                if key not in known:
                    raise ValueError(f"unknown segment {key!r}{suggest(key, known)}; "
                                     f"segments: {', '.join(sorted(known))}")
                if not 0 <= share <= 1:
                    raise ValueError(f"share of {key!r} must be in [0, 1], got {share}")
            if sum(self.segments.values()) <= 0:
                raise ValueError("segment shares must not all be zero")
        return self


# ------------------------------------------------------------------------------- patches
class _Patch(BaseModel):
    """Frozen and strict, as every section of a scenario."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _optional(field: FieldInfo) -> tuple[Any, FieldInfo]:
    """``field`` as a change: the same type, range and meaning, unset (None) by default.
    A nested model becomes its patch, so a change names only the fields it changes."""
    annotation = field.annotation
    if get_origin(annotation) in (Union, types.UnionType):  # already optional: X | None
        annotation = Union[tuple(a for a in get_args(annotation) if a is not type(None))]  # noqa: UP007
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        annotation = patch(annotation)
    elif field.metadata:
        annotation = Annotated[(annotation, *field.metadata)]
    return annotation | None, Field(default=None, description=field.description,
                                    json_schema_extra=field.json_schema_extra)


def _changes_model(name: str, model: type[BaseModel], fields: Sequence[str],
                   base: type[BaseModel], doc: str | None) -> type[BaseModel]:
    return create_model(name, __base__=base, __doc__=doc, __module__=__name__,
                        **{f: _optional(model.model_fields[f]) for f in fields})


@functools.cache
def patch(model: type[BaseModel]) -> type[BaseModel]:
    """``model`` with every field optional, for changing some of its fields (``MandatePatch``)."""
    return _changes_model(f"{model.__name__}Patch", model, tuple(model.model_fields), _Patch,
                          f"{model.__name__} fields to change; unset fields keep their value.")


MandatePatch = patch(Mandate)


class _Scheduled(_Patch):
    step: int = Field(default=1, ge=1, description="step from which the policy applies")
    programmes: list[str] | None = Field(
        default=None, description="programmes it applies to; unset: every programme")


class Policy(_changes_model("_PolicyLevers", Programme, POLICY_LEVERS, _Scheduled, None)):
    """A policy lever applied to programmes from a given step (a policy change for each).

    The programmes present at step 0 are the status quo that survey trust reflects, so a lever
    shows its effect when it is applied during the run.
    """

    def changes(self) -> dict[str, Any]:
        """The programme fields it sets (a nested change that sets nothing is left out)."""
        out = self.model_dump(exclude={"step", "programmes"}, exclude_none=True)
        return {key: value for key, value in out.items() if value != {}}


# ------------------------------------------------------------------------------ scenario
#: Sections written as a mapping by name, whose entries take their ``name`` from their key.
KEYED_SECTIONS = ("agencies", "programmes")


class Scenario(BaseModel):
    """A situation to simulate: the world, the population, parameters, policies and timeline."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(default="scenario", description="short name, used in outputs")
    description: str = Field(default="", description="what the scenario represents")
    seed: int = Field(default=20200213, ge=0, description="seed of all randomness")
    steps: int = Field(default=156, ge=1, le=100_000, description="weeks to simulate")
    replicates: int = Field(default=5, ge=1, le=100_000, description="independent runs")
    population: PopulationSpec = Field(default_factory=PopulationSpec, description="citizens")
    network: NetworkParams = Field(default_factory=NetworkParams, description="citizen network")
    params: TrustParams = Field(default_factory=TrustParams,
                                description="behavioural parameters (docs/model.md)")
    agencies: dict[str, AgencySpec] = Field(
        default_factory=lambda: {a.name: a for a in baseline.AGENCIES},
        description="agencies by name")
    programmes: dict[str, Programme] = Field(
        default_factory=lambda: {p.name: p for p in baseline.PROGRAMMES},
        description="sharing programmes by name")
    policies: list[Policy] = Field(default_factory=list, description="policy levers over time")
    timeline: list[Event] = Field(default_factory=list, description="scheduled events")

    @model_validator(mode="before")
    @classmethod
    def _names_from_keys(cls, data: Any) -> Any:
        """``programmes: {gp_records: {...}}`` gives the programme its name (same for agencies)."""
        if isinstance(data, dict):
            data = dict(data)
            for section in KEYED_SECTIONS:
                entries = data.get(section)
                if isinstance(entries, dict):
                    data[section] = {
                        key: ({"name": key, **value} if isinstance(value, dict) else value)
                        for key, value in entries.items()}
        return data

    def marks(self) -> list[tuple[int, str]]:
        """(step, label) of every event and policy, for figures."""
        out = [(e.step, e.type.replace("_", " ")) for e in self.timeline]
        out += [(p.step, "policy") for p in self.policies]
        return sorted(out)

    def events(self) -> list[Event]:
        """The timeline plus one policy change per policy and programme, in step order."""
        out: list[Event] = list(self.timeline)
        for policy in self.policies:
            changes = policy.changes()
            for name in policy.programmes or list(self.programmes):
                out.append(PolicyChange(step=policy.step, programme=name, changes=changes))
        return sorted(out, key=lambda e: e.step)

    def segments(self) -> tuple[Segment, ...]:
        shares = self.population.segments
        if shares is None:
            return NHS_SEGMENTS
        return tuple(s.model_copy(update={"share": shares.get(s.key, 0.0)}) for s in NHS_SEGMENTS
                     if shares.get(s.key, 0.0) > 0)

    def model_kwargs(self) -> dict[str, Any]:
        """The ``TrustModel`` arguments of this scenario (all but the population size)."""
        return {"agencies": list(self.agencies.values()),
                "programmes": list(self.programmes.values()), "segments": self.segments(),
                "events": self.events(), "params": self.params, "network": self.network,
                "n_steps": self.steps, "rng": self.seed}

    def build(self, rng: np.random.SeedSequence | int | None = None, n_citizens: int | None = None,
              citizen_agents: bool | None = None, threads: int = 1) -> TrustModel:
        """A fresh model of this scenario; its ``running`` turns False after the scenario's
        ``steps``, so Mesa's ``run_model()`` runs exactly the scenario. ``threads``: threads
        for the kernels of a step (the numbers are the same whatever the number)."""
        from sim.model import TrustModel

        kwargs = self.model_kwargs()
        if rng is not None:
            kwargs["rng"] = rng
        return TrustModel(n_citizens or self.population.size, citizen_agents=citizen_agents,
                          steps=self.steps, threads=threads, **kwargs)

    def replicate_seeds(self) -> list[np.random.SeedSequence]:
        """One seed per replicate, spawned from ``seed``: the same whatever runs them."""
        return np.random.SeedSequence(self.seed).spawn(self.replicates)

    def digest(self) -> str:
        """SHA-256 of the resolved scenario (canonical JSON)."""
        text = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()


def schema() -> dict[str, Any]:
    """JSON Schema of the scenario format."""
    out = Scenario.model_json_schema()
    out["properties"]["extends"] = {
        "type": "string", "description": "path of a scenario file this one inherits and overrides"}
    defs = out["$defs"]
    for section in KEYED_SECTIONS:  # the name is the entry's key
        name = _entry_model(section).__name__
        defs[name]["required"] = [r for r in defs[name].get("required", []) if r != "name"]
        defs[name]["properties"]["name"]["description"] += " (defaults to the entry's key)"
    return out


def _entry_model(section: str) -> type[BaseModel]:
    return get_args(Scenario.model_fields[section].annotation)[1]
