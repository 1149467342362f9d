"""The calibration spec: targets file, free parameters with their priors, the sizes of the
history-matching waves, the ABC-SMC and the posterior-predictive runs, and ``quick`` settings.

Every free parameter has a uniform prior on its documented range (docs/model.md, the scenario
file's comments) and a ``source`` saying where the range comes from ([P] for a proposal).
``shared`` parameters describe citizens or programmes alike in every episode and are carried to
the held-out scenarios that have them; the others (a press story's severity, a deadline's
salience) belong to the fitted episode and are not.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from sim import scenario as sc
from sim.calibration import targets as tg


class Prior(BaseModel):
    """A free parameter: a dotted scenario path and its uniform prior."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str = Field(min_length=1)
    bounds: tuple[float, float]
    source: str = Field(min_length=1, description="where the range comes from")
    shared: bool = Field(default=False, description="carried to held-out scenarios")

    @model_validator(mode="after")
    def _range(self) -> Prior:
        if not self.bounds[0] < self.bounds[1]:
            raise ValueError(f"lower bound {self.bounds[0]} must be below upper bound "
                             f"{self.bounds[1]}")
        return self


class Waves(BaseModel):
    """History matching: waves of design points, each run with replicates."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    waves: int = Field(default=3, ge=1, le=10)
    points: int = Field(default=80, ge=4)
    replicates: int = Field(default=3, ge=2, description="per point: the seed noise")
    cutoff: float = Field(default=3.0, gt=0, description="implausibility cutoff")
    candidates: int = Field(default=20000, ge=100, description="prior draws screened per wave")


class ABC(BaseModel):
    """The fixed-generation ABC-SMC: each generation simulates ``proposals`` parameter sets
    and keeps the ``particles`` nearest the fit targets."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    generations: int = Field(default=4, ge=1, le=20)
    particles: int = Field(default=150, ge=5)
    proposals: int = Field(default=450, ge=5)

    @model_validator(mode="after")
    def _sizes(self) -> ABC:
        if self.proposals < self.particles:
            raise ValueError("proposals must be at least particles")
        return self


class Quick(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    citizens: int | None = Field(default=None, ge=100)
    history_matching: Waves | None = None
    abc: ABC | None = None
    draws: int | None = Field(default=None, ge=2)


class CalibrationSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(default="calibration", pattern=r"^[A-Za-z0-9_.-]+$")
    description: str = ""
    targets: str = Field(description="targets file, relative to the spec")
    parameters: list[Prior] = Field(min_length=1)
    citizens: int = Field(default=10000, ge=100)
    seed: int = Field(default=20210512, ge=0)
    history_matching: Waves = Field(default_factory=Waves)
    abc: ABC = Field(default_factory=ABC)
    draws: int = Field(default=100, ge=2, description="posterior-predictive draws")
    quick: Quick = Field(default_factory=Quick)

    @model_validator(mode="after")
    def _unique(self) -> CalibrationSpec:
        paths = [p.path for p in self.parameters]
        dup = sorted({p for p in paths if paths.count(p) > 1})
        if dup:
            raise ValueError(f"parameters listed twice: {', '.join(dup)}")
        return self

    def with_quick(self) -> CalibrationSpec:
        update = {k: v for k, v in self.quick.model_dump().items() if v is not None}
        if "history_matching" in update:
            update["history_matching"] = self.quick.history_matching
        if "abc" in update:
            update["abc"] = self.quick.abc
        return self.model_copy(update=update)

    def names(self) -> list[str]:
        return [p.path for p in self.parameters]

    def digest(self) -> str:
        text = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()


class Loaded:
    def __init__(self, spec: CalibrationSpec, path: Path, targets: tg.Targets, files: list[str]):
        self.spec = spec
        self.path = path
        self.targets = targets
        self.files = files


def load(path: str | Path) -> Loaded:
    """Read and check a calibration spec and its targets file; every parameter path must be a
    value of every fit scenario. Problems come as a :class:`sim.scenario.ScenarioError`."""
    path = Path(path)
    data, node = sc.read(path)
    sources = [sc.Source(path, node)]
    try:
        spec = CalibrationSpec.model_validate(data)
    except ValidationError as err:
        raise sc.ScenarioError(tg._problems(err, path, sources)) from None
    file = path.parent / spec.targets
    if not file.exists():
        raise sc.ScenarioError([sc.locate(sc.Problem(
            str(path), "targets", f"{spec.targets!r}: file not found (looked for {file})"),
            sources)])
    targets = tg.load(file)
    problems = []
    fit_keys = {targets.scenario_key(t) for t in targets.of("fit")}
    for i, p in enumerate(spec.parameters):
        for key in sorted(fit_keys):
            try:
                value = sc.get_path(targets.scenarios[key], p.path)
            except (KeyError, IndexError, TypeError):
                value = None
            if not isinstance(value, int | float) or isinstance(value, bool):
                problems.append(sc.locate(sc.Problem(
                    str(path), f"parameters.{i}.path",
                    f"{p.path!r} is not a number in the fit scenario {Path(key).name}"),
                    sources))
                continue
            for bound in p.bounds:
                trial = _with(targets.scenarios[key], {p.path: bound})
                try:
                    sc.Scenario.model_validate(trial)
                except ValidationError as err:
                    problems.append(sc.locate(sc.Problem(
                        str(path), f"parameters.{i}.bounds",
                        f"{p.path} = {bound} is not allowed in {Path(key).name}: "
                        f"{err.errors()[0]['msg']}"), sources))
    if problems:
        raise sc.ScenarioError(problems)
    return Loaded(spec, path, targets, [str(path), *targets.files])


def _with(data: dict[str, Any], values: dict[str, float]) -> dict[str, Any]:
    import copy

    out = copy.deepcopy(data)
    for k, v in values.items():
        sc.set_path(out, k, v)
    return out
