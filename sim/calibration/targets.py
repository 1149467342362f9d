"""Targets as data: each observed quantity, its source and uncertainty, the scenario and output
that produce it, and the measurement model that turns the model's state into what was observed.

A targets file (YAML) lists targets; each is in the ``fit`` set or the ``held_out`` set, and the
two are never mixed: a calibration compares only the fit set with its runs, and predicts the
held-out set from the posterior afterwards. A target is a point (``step``, ``observed``) or a
series (``steps``, ``observed`` as lists of the same length). Measurement models:

- ``value``: the output at the step, as it is (a share of the population, e.g. ``opt_out_rate``
  read as the national data opt-out's share of patients);
- ``change``: the output at the step less the output at ``since`` (a flow: new registrations);
- ``share_above``: a survey share: the share of citizens whose latent trust in ``agency``
  exceeds the level ``start_share`` of them exceeded at step 0 (:mod:`sim.calibration.observe`),
  so a survey answer is compared as a survey answer. The start share restates an input.

Uncertainty: ``sd`` is the observation's standard deviation (sampling, counting, wording);
``discrepancy`` an optional model-discrepancy standard deviation beyond seed noise (which the
calibration estimates from replicates).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from sim import scenario as sc
from sim.calibration.observe import share_name


class Measurement(BaseModel):
    """How the model's outputs become the observed quantity."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: Literal["value", "change", "share_above"] = "value"
    since: int | None = Field(default=None, ge=0, description="change: the earlier step")
    agency: str | None = Field(default=None, description="share_above: the trusted agency "
                               "(an agency of the scenario, or 'general')")
    start_share: float | None = Field(default=None, gt=0, lt=1,
                                      description="share_above: the survey's share before the "
                                      "episode, a whole percent (0.92)")

    @model_validator(mode="after")
    def _fields(self) -> Measurement:
        if self.model == "change" and self.since is None:
            raise ValueError("a change needs since: the step it is measured from")
        if self.model != "change" and self.since is not None:
            raise ValueError("since is only for model: change")
        if self.model == "share_above":
            if self.agency is None or self.start_share is None:
                raise ValueError("a share_above needs agency and start_share")
            if abs(self.start_share * 100 - round(self.start_share * 100)) > 1e-9:
                raise ValueError(f"start_share must be a whole percent (got {self.start_share})")
        elif self.agency is not None or self.start_share is not None:
            raise ValueError("agency and start_share are only for model: share_above")
        return self


class Target(BaseModel):
    """One observed quantity (a point or a series) and how the model produces it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    set: Literal["fit", "held_out"]
    description: str = ""
    source: str = Field(min_length=1, description="where the number comes from")
    scenario: str = Field(description="scenario file, relative to the targets file")
    output: str = Field(description="the run output the measurement reads")
    measurement: Measurement = Field(default_factory=Measurement)
    step: int | list[int] = Field(description="the step (a point) or steps (a series)")
    observed: float | list[float]
    sd: float | list[float] = Field(description="observation standard deviation")
    discrepancy: float = Field(default=0.0, ge=0, description="model discrepancy sd")

    @model_validator(mode="after")
    def _shape(self) -> Target:
        steps = self.steps()
        obs = self.observed if isinstance(self.observed, list) else [self.observed]
        sds = self.sd if isinstance(self.sd, list) else [self.sd] * len(steps)
        if not (len(steps) == len(obs) == len(sds)) or not steps:
            raise ValueError("step, observed and sd must be one number each, or lists of the "
                             "same length (a series)")
        if any(not math.isfinite(x) for x in [*obs, *sds]):
            raise ValueError("observed and sd must be finite numbers")
        if any(s <= 0 for s in sds):
            raise ValueError("sd must be positive")
        if any(s < 0 for s in steps):
            raise ValueError("steps must be 0 or more")
        if self.measurement.model == "change" and any(s <= self.measurement.since
                                                      for s in steps):
            raise ValueError("a change is measured at steps after since")
        return self

    def steps(self) -> list[int]:
        return self.step if isinstance(self.step, list) else [self.step]

    def points(self) -> list[tuple[str, int, float, float]]:
        """(label, step, observed, sd) of each point."""
        steps = self.steps()
        obs = self.observed if isinstance(self.observed, list) else [self.observed]
        sds = self.sd if isinstance(self.sd, list) else [self.sd] * len(steps)
        many = len(steps) > 1
        return [(f"{self.name}@{s}" if many else self.name, s, o, d)
                for s, o, d in zip(steps, obs, sds, strict=True)]

    def column(self) -> str:
        """The run output read: the survey share's column for share_above."""
        m = self.measurement
        if m.model == "share_above":
            return share_name(m.agency, round(m.start_share * 100))
        return self.output

    def measure(self, series: Any, step: int) -> float:
        """The observed quantity from one run's series of the column (indexed by step)."""
        value = float(series[step])
        if self.measurement.model == "change":
            value -= float(series[self.measurement.since])
        return value


class TargetsFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    description: str = ""
    targets: list[Target] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> TargetsFile:
        names = [t.name for t in self.targets]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"target names must be unique; repeated: {', '.join(dup)}")
        if not any(t.set == "fit" for t in self.targets):
            raise ValueError("at least one target must be in the fit set")
        return self


class Targets:
    """A validated targets file with its scenarios resolved (plain data, by file path)."""

    def __init__(self, path: Path, spec: TargetsFile, scenarios: dict[str, dict[str, Any]],
                 files: list[str]):
        self.path = path
        self.spec = spec
        self.scenarios = scenarios  # resolved path -> scenario data
        self.files = files

    def of(self, which: str) -> list[Target]:
        return [t for t in self.spec.targets if t.set == which]

    def scenario_key(self, target: Target) -> str:
        return str((self.path.parent / target.scenario).resolve())


def _problems(err: ValidationError, path: Path, sources: list[sc.Source]) -> list[sc.Problem]:
    out = []
    for e in err.errors():
        where = ".".join(str(x) for x in e["loc"])
        message = e["msg"].removeprefix("Value error, ")
        if e["type"] == "extra_forbidden":
            message = f"unknown field {e['loc'][-1]!r}"
        out.append(sc.locate(sc.Problem(str(path), where, message), sources))
    return out


def load(path: str | Path) -> Targets:
    """Read and check a targets file: the fields, then each target's scenario (it must load),
    output (the scenario must have it) and steps (within the scenario's run). Problems are
    listed in a :class:`sim.scenario.ScenarioError`, each with file, field and line."""
    from sim.results import output_names

    path = Path(path)
    data, node = sc.read(path)
    sources = [sc.Source(path, node)]
    try:
        spec = TargetsFile.model_validate(data)
    except ValidationError as err:
        raise sc.ScenarioError(_problems(err, path, sources)) from None
    problems: list[sc.Problem] = []
    scenarios: dict[str, dict[str, Any]] = {}
    files = [str(path)]
    for i, t in enumerate(spec.targets):
        file = (path.parent / t.scenario).resolve()
        key = str(file)
        if key not in scenarios:
            if not file.exists():
                problems.append(sc.locate(sc.Problem(
                    str(path), f"targets.{i}.scenario",
                    f"{t.scenario!r}: file not found (looked for {file})"), sources))
                continue
            try:
                scenario = sc.load(file)
            except sc.ScenarioError as err:
                problems += err.problems
                continue
            scenarios[key] = scenario.model_dump(mode="json")
            files += sc.files(file)
        data_s = scenarios[key]
        scenario = sc.Scenario.model_validate(data_s)
        known = output_names(list(scenario.agencies), [s.key for s in scenario.segments()],
                             list(scenario.programmes))
        if t.output not in known and t.measurement.model != "share_above":
            problems.append(sc.locate(sc.Problem(
                str(path), f"targets.{i}.output",
                f"unknown output {t.output!r}{sc.suggest(t.output, known)}"), sources))
        m = t.measurement
        if m.model == "share_above" and m.agency not in [*scenario.agencies, "general"]:
            problems.append(sc.locate(sc.Problem(
                str(path), f"targets.{i}.measurement.agency",
                f"{m.agency!r} is not an agency of {t.scenario} (allowed: "
                f"{', '.join([*scenario.agencies, 'general'])})"), sources))
        too_late = [s for s in t.steps() if s > scenario.steps]
        if too_late:
            problems.append(sc.locate(sc.Problem(
                str(path), f"targets.{i}.step",
                f"step {too_late[0]} is after the end of {t.scenario} ({scenario.steps} steps)"),
                sources))
    if problems:
        raise sc.ScenarioError(problems)
    return Targets(path, spec, scenarios, files)
