"""Sweep specs: a sensitivity or policy sweep described in YAML, validated like a scenario.

A spec names a base scenario (a path relative to the spec file) with optional ``path=value``
overrides, the parameters to vary by dotted path with their ranges (or values for a grid), the
method (sobol, morris, grid, lhs), the design size ``n``, the replicates per design point, the
steps and population, the outputs to analyse and the seed. Problems are reported like scenario
problems (:class:`sim.scenario.Problem`: file, line, field path) in a
:class:`sim.scenario.ScenarioError`.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, model_validator

from sim import scenario as sc

DEFAULT_OUTPUTS = ("trust_mean", "opt_out_rate", "data_coverage", "service_benefit",
                   "public_benefit")
DUMMY = "dummy"
TRUSTSIM = "trustsim"
LATER = "problems_later"  # validation context: leave the cross-field checks to load()


class Parameter(BaseModel):
    """One varied input: a dotted path into the scenario (or a test model's parameter name)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    path: str = Field(min_length=1, description="dotted path, e.g. programmes.gp_records.publicity")
    bounds: list[float] | None = Field(
        default=None, description="[lo, hi] (unif); [mean, sd] (norm, lognorm in ln-space); "
        "[lo, hi, peak 0-1] (triang)")
    values: list[Any] | None = Field(default=None, description="levels of a grid")
    dist: Literal["unif", "norm", "triang", "lognorm"] = Field(
        default="unif", description="distribution (SALib dists)")
    integer: bool = Field(default=False, description="round sampled values to whole numbers")

    @model_validator(mode="after")
    def _range(self) -> Parameter:
        if self.path == DUMMY:
            raise ValueError(f"{DUMMY!r} is reserved for the noise-floor parameter (dummy: true)")
        if (self.bounds is None) == (self.values is None):
            raise ValueError("give either bounds: [lo, hi] or values: [...] (grid)")
        if self.values is not None and not self.values:
            raise ValueError("values must not be empty")
        if self.bounds is not None:
            need = 3 if self.dist == "triang" else 2
            if len(self.bounds) != need:
                raise ValueError(f"bounds of a {self.dist} parameter have {need} numbers, got "
                                 f"{len(self.bounds)}")
            if not all(math.isfinite(b) for b in self.bounds):
                raise ValueError("bounds must be finite numbers")
            if self.dist in ("unif", "triang") and not self.bounds[0] < self.bounds[1]:
                raise ValueError(f"lower bound {self.bounds[0]} must be below upper bound "
                                 f"{self.bounds[1]}")
            if self.dist in ("norm", "lognorm") and self.bounds[1] <= 0:
                raise ValueError("the standard deviation (second number) must be positive")
            if self.dist == "triang" and not 0 <= self.bounds[2] <= 1:
                raise ValueError("the peak of a triang parameter is a fraction in [0, 1]")
        return self

    @property
    def name(self) -> str:
        return self.path


class Quick(BaseModel):
    """Smaller settings used with ``--quick``."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    n: int | None = Field(default=None, ge=1)
    replicates: int | None = Field(default=None, ge=1)
    steps: int | None = Field(default=None, ge=1)
    citizens: int | None = Field(default=None, ge=2)


class SweepSpec(BaseModel):
    """A sweep: base scenario, parameters, method, size, replicates, outputs, seed."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    name: str = Field(default="sweep", pattern=r"^[A-Za-z0-9_.-]+$")
    description: str = ""
    base: str | None = Field(default=None, description="scenario file, relative to the spec")
    overrides: list[str] = Field(default_factory=list, description="path=value set on the base")
    parameters: list[Parameter] = Field(min_length=1)
    method: Literal["sobol", "morris", "grid", "lhs"] = "sobol"
    n: int = Field(default=64, ge=1, le=1_000_000, description="base sample size, trajectories "
                   "(morris), samples (lhs); levels of a bounds parameter (grid)")
    replicates: int = Field(default=2, ge=1, le=10_000)
    steps: int = Field(default=52, ge=1, le=100_000)
    citizens: int | None = Field(default=None, ge=2, description="default: the base's size")
    outputs: list[str] = Field(default_factory=lambda: list(DEFAULT_OUTPUTS), min_length=1)
    every: int = Field(default=1, ge=1, description="keep every k-th step (and the last)")
    seed: int = Field(default=20240601, ge=0)
    dummy: bool = Field(default=True, description="add a parameter the model ignores")
    num_resamples: int = Field(default=100, ge=10)
    conf_level: float = Field(default=0.95, gt=0, lt=1)
    second_order: bool = False
    num_levels: int = Field(default=4, ge=2, description="morris grid levels")
    quick: Quick = Field(default_factory=Quick)
    model: str = Field(default=TRUSTSIM, description="'trustsim' or 'module:function'")

    @model_validator(mode="after")
    def _consistent(self, info: ValidationInfo) -> SweepSpec:
        if not (info.context or {}).get(LATER):  # load() collects them, located, instead
            problems = self.problems()
            if problems:
                raise ValueError("; ".join(f"{path}: {message}" if path else message
                                           for path, message in problems))
        return self

    def problems(self, index: Callable[[int], int] = lambda i: i) -> list[tuple[str, str]]:
        """What the fields cannot check one by one, as (dotted path, message) pairs; a
        parameter's path uses ``index(i)``, its position in the file."""
        out = []
        names = [p.path for p in self.parameters]
        for i, name in enumerate(names):
            if name in names[:i]:
                out.append((f"parameters.{index(i)}.path",
                            f"parameter {name!r} is listed twice"))
        if self.model == TRUSTSIM and self.base is None:
            out.append(("base", "a scenario file is needed for the trustsim model"))
        if self.model != TRUSTSIM and ":" not in self.model:
            out.append(("model", "must be 'trustsim' or an import path 'module:function'"))
        for i, p in enumerate(self.parameters):
            if self.method != "grid" and p.values is not None:
                out.append((f"parameters.{index(i)}.values", f"parameter {p.path!r}: values "
                            f"are for method grid; give bounds: [lo, hi] for {self.method}"))
            if self.method == "morris" and p.dist != "unif":
                out.append((f"parameters.{index(i)}.dist",
                            f"parameter {p.path!r}: morris samples uniform ranges only"))
        if self.method == "sobol":
            for where, n in (("n", self.n), ("quick.n", self.quick.n)):
                if n is not None and n & (n - 1):
                    out.append((where, f"must be a power of 2 for sobol (got {n})"))
        return out

    def with_quick(self) -> SweepSpec:
        """The spec with its ``quick`` settings applied."""
        update = {k: v for k, v in self.quick.model_dump().items() if v is not None}
        return self.model_copy(update=update)

    def names(self) -> list[str]:
        """Parameter names in design order (the dummy last, except for grids)."""
        names = [p.path for p in self.parameters]
        return [*names, DUMMY] if self.dummy and self.method != "grid" else names

    def digest(self) -> str:
        text = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()


class LoadedSpec:
    """A validated spec with what it resolves to: the base scenario (plain data) and files."""

    def __init__(self, spec: SweepSpec, path: Path, base: dict[str, Any] | None,
                 files: list[str]):
        self.spec = spec
        self.path = path
        self.base = base
        self.files = files


def model_function(target: str) -> Callable[..., Any]:
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


def _describe(err: dict[str, Any]) -> tuple[str, str]:
    loc = [str(x) for x in err["loc"]]
    path = ".".join(loc)
    if err["type"] == "extra_forbidden":
        parent: Any = SweepSpec
        if len(loc) >= 3 and loc[0] == "parameters":
            parent = Parameter
        elif len(loc) == 2 and loc[0] == "quick":
            parent = Quick
        return path, f"unknown field {loc[-1]!r}{sc.suggest(loc[-1], parent.model_fields)}; " \
                     f"allowed here: {', '.join(sorted(parent.model_fields))}"
    message = err["msg"].removeprefix("Value error, ")
    if "input" in err and not isinstance(err["input"], dict | list):
        message += f" (got {err['input']!r})"
    return path, message


def _partial(data: dict[str, Any], errors: list[dict[str, Any]],
             ) -> tuple[dict[str, Any], list[int]]:
    """``data`` without what failed validation (top-level fields, single parameters), so the
    rest can still be checked; and the positions in the file of the parameters kept."""
    bad_fields = {str(e["loc"][0]) for e in errors if e["loc"]}
    bad_params = {e["loc"][1] for e in errors
                  if len(e["loc"]) > 1 and e["loc"][0] == "parameters"
                  and isinstance(e["loc"][1], int)}
    rest = {k: v for k, v in data.items() if k not in bad_fields - {"parameters"}}
    kept = list(range(len(data.get("parameters") or [])))
    if "parameters" in bad_fields:
        params = data.get("parameters")
        if not isinstance(params, list) or not bad_params:
            rest.pop("parameters", None)
            kept = []
        else:
            kept = [i for i in range(len(params)) if i not in bad_params]
            rest["parameters"] = [params[i] for i in kept]
    return rest, kept


def load(path: str | Path) -> LoadedSpec:
    """Read and validate a sweep spec; raise ScenarioError listing every problem, each with
    its line: the fields', then what the fields do not check alone, then the base scenario's
    and the parameters' (as far as the parts they need are valid)."""
    path = Path(path)
    data, node = sc.read(path)  # safe YAML, duplicate keys refused
    sources = [sc.Source(path, node)]

    def problem(where: str, message: str) -> sc.Problem:
        return sc.locate(sc.Problem(str(path), where, message), sources)

    problems: list[sc.Problem] = []
    context = {LATER: True}
    try:
        spec = SweepSpec.model_validate(data, context=context)
        kept = list(range(len(spec.parameters)))
    except ValidationError as err:
        problems += [problem(*_describe(e)) for e in err.errors()]
        rest, kept = _partial(data, err.errors())
        try:  # check the rest too, so every problem shows now rather than on the next run
            spec = SweepSpec.model_validate(rest, context=context)
        except ValidationError:
            raise sc.ScenarioError(problems) from None

    def index(i: int) -> int:  # a kept parameter's position in the file
        return kept[i]

    problems += [problem(*p) for p in spec.problems(index)]
    base = None
    files: list[str] = [str(path)]
    if spec.model != TRUSTSIM and ":" in spec.model:
        try:
            fn = model_function(spec.model)
            if not callable(fn):
                raise TypeError("not callable")
        except (ImportError, AttributeError, TypeError, ValueError) as err:
            problems.append(problem("model", f"cannot import {spec.model!r}: {err}"))
    if spec.base is not None:
        base_path = path.parent / spec.base
        try:
            scenario = sc.load(base_path, spec.overrides)
        except sc.ScenarioError as err:
            if not base_path.exists():
                problems.append(problem("base", f"{spec.base!r}: file not found "
                                                f"(looked for {base_path})"))
            else:
                problems += [problem("overrides", p.message) if p.file == "--set" else p
                             for p in err.problems]
            raise sc.ScenarioError(problems) from None
        base = scenario.model_dump(mode="json")
        files += sc.files(base_path)
        if spec.model == TRUSTSIM:
            problems += _check_paths(spec, base, problem, index)
            from sim.results import output_names

            known = output_names(list(scenario.agencies), [s.key for s in scenario.segments()],
                                 list(scenario.programmes))
            for i, out in enumerate(spec.outputs):
                if out not in known:
                    problems.append(problem(f"outputs.{i}", f"unknown output {out!r}"
                                            f"{sc.suggest(out, known)}"))
    if problems:
        raise sc.ScenarioError(problems)
    return LoadedSpec(spec, path, base, files)


def _check_paths(spec: SweepSpec, base: dict[str, Any], problem: Callable[..., sc.Problem],
                 index: Callable[[int], int]) -> list[sc.Problem]:
    """Each parameter path exists in the resolved base and its extreme values are valid."""
    import copy

    out = []
    for i, p in enumerate(spec.parameters):
        try:
            current = sc.get_path(base, p.path)
        except (KeyError, IndexError, TypeError):
            head = p.path.rpartition(".")[0]
            hint = ""
            try:
                parent = sc.get_path(base, head) if head else base
                if isinstance(parent, dict):
                    hint = sc.suggest(p.path.rpartition(".")[2], parent) or \
                        f" (allowed here: {', '.join(sorted(parent))})"
            except (KeyError, IndexError, TypeError):
                pass
            out.append(problem(f"parameters.{index(i)}.path",
                               f"{p.path!r} is not a field of the base scenario{hint}"))
            continue
        if isinstance(current, dict | list):
            out.append(problem(f"parameters.{index(i)}.path",
                               f"{p.path!r} is a section, not a value"))
            continue
        if p.values is not None:
            probes = list(p.values)
        elif p.dist in ("unif", "triang"):
            probes = [p.bounds[0], p.bounds[1]]
        else:
            probes = []
        for value in probes:
            if p.integer and isinstance(value, float):
                value = round(value)
            data = copy.deepcopy(base)
            sc.set_path(data, p.path, value)
            try:
                sc.Scenario.model_validate(data)
            except ValidationError as err:
                e = err.errors()[0]
                out.append(problem(f"parameters.{index(i)}",
                                   f"{p.path}={value!r} is not allowed: "
                                   f"{e['msg'].removeprefix('Value error, ')}"))
                break
    return out
