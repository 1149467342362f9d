"""The policy frontier: which mixes of citizen control, mandate, transparency and security give
the most trust for the most benefit, in real units, under a shock history (docs/sweeps.md).

A frontier spec (YAML) names a base scenario, the programmes a policy mix is laid on and from
which week, and the levels of each lever (consent regime, dashboard, mandate strength and
legitimacy, transparency, security); the mixes are the full grid of those levels less any
``exclude`` rule. Every mix runs on the same seeds (common random numbers, so differences
between mixes are paired) and, with a posterior folder, on the same parameter sets drawn from
it (:mod:`sim.posterior`). The runs go through the sweep engine (:mod:`sim.sweeps.engine`):
content-keyed Parquet shards, resumable, serial, processes or Dask, identical results.

Each run is summarised over the spec's window of weeks: mean trust, opt-out and coverage, and
benefit, harm and net value in the spec's unit as amounts a year. ``frontier.csv`` gives per mix
the mean and 10-90% bands (from seeds, and from the posterior when given) and whether the mix
is on the Pareto frontier of (trust, net value) and of (trust, benefit); ``dominance.csv``
lists, for each mix, the mixes that dominate it on (trust, net value) and the share of paired
runs in which they do (:mod:`sim.frontier`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import itertools
import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sim import command, files, frontier, posterior, report
from sim import scenario as sc
from sim.sweeps import engine
from sim.sweeps.spec import TRUSTSIM
from sim.valuation import Unit

#: the levers in mix order, and the policy fields each sets
LEVERS = ("consent", "dashboard", "mandate", "legitimacy", "transparency", "security")
LEVER_FIELDS: dict[str, tuple[str, ...]] = {
    "consent": ("consent",), "dashboard": ("dashboard",), "mandate": ("mandate.strength",),
    "legitimacy": ("mandate.public_interest_test", "mandate.oversight"),
    "transparency": ("transparency",), "security": ("security",)}
UNIT_TEXT: dict[Unit, str] = {Unit.GBP: "GBP", Unit.QALY: "QALYs", Unit.STAFF_HOURS: "staff hours",
                              Unit.DEATHS: "deaths", Unit.CASES: "cases"}
Fraction = float


class FrontierUsageError(command.UsageError):
    """A frontier that cannot start as asked (folder in use, bad posterior)."""


class Levers(BaseModel):
    """The levels of each lever; a lever left out keeps the base scenario's value."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    consent: list[Literal["none", "opt_out", "opt_in", "dynamic"]] | None = Field(
        default=None, min_length=1, description="consent regimes")
    dashboard: list[bool] | None = Field(default=None, min_length=1,
                                         description="a data tracker: off, on")
    mandate: list[Fraction] | None = Field(
        default=None, min_length=1, description="mandate strength: share of records shared "
        "whatever citizens chose, 0-1")
    legitimacy: list[Fraction] | None = Field(
        default=None, min_length=1, description="the mandate's public-interest test and "
        "oversight (set together), 0-1")
    transparency: list[Fraction] | None = Field(default=None, min_length=1, description="0-1")
    security: list[Fraction] | None = Field(default=None, min_length=1, description="0-1")

    def given(self) -> dict[str, list[Any]]:
        """The levers given, in mix order, with their levels."""
        return {k: list(getattr(self, k)) for k in LEVERS if getattr(self, k) is not None}


class PolicyAt(BaseModel):
    """Where and when a mix is laid on: the programmes, from a week."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    step: int = Field(default=1, ge=0, description="week the mix applies from")
    programmes: list[str] = Field(min_length=1, description="programmes it applies to")


class Quick(BaseModel):
    """Smaller settings used with ``--quick``."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    replicates: int | None = Field(default=None, ge=1)
    steps: int | None = Field(default=None, ge=1)
    citizens: int | None = Field(default=None, ge=2)
    draws: int | None = Field(default=None, ge=1)


class FrontierSpec(BaseModel):
    """A frontier: base scenario, where the mix goes, the levers' levels, sizes, unit, seed."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    name: str = Field(default="frontier", pattern=r"^[A-Za-z0-9_.-]+$")
    description: str = ""
    base: str = Field(description="scenario file, relative to the spec")
    overrides: list[str] = Field(default_factory=list, description="path=value set on the base")
    policy: PolicyAt
    levers: Levers
    exclude: list[dict[str, Any]] = Field(
        default_factory=list, description="mixes left out: each rule maps levers to a level "
        "(or a list of levels); a mix matching every entry of a rule is left out")
    unit: Unit = Field(default=Unit.GBP, strict=False,
                       description="the real unit of benefit, harm and net value")
    window: list[int] | None = Field(
        default=None, min_length=2, max_length=2,
        description="[first, last] week summarised; default: the policy's week to the end")
    replicates: int = Field(default=8, ge=1, le=10_000, description="seeds per mix (and draw)")
    steps: int = Field(default=156, ge=1, le=100_000)
    citizens: int | None = Field(default=None, ge=2, description="default: the base's size")
    draws: int = Field(default=20, ge=1, le=10_000,
                       description="parameter sets drawn from --posterior")
    seed: int = Field(default=20240601, ge=0)
    quick: Quick = Field(default_factory=Quick)

    def with_quick(self) -> FrontierSpec:
        """The spec with its ``quick`` settings applied."""
        update = {k: v for k, v in self.quick.model_dump().items() if v is not None}
        return self.model_copy(update=update)

    def first_week(self) -> int:
        return self.window[0] if self.window else min(self.policy.step, self.steps)

    def last_week(self) -> int:
        return min(self.window[1], self.steps) if self.window else self.steps

    def digest(self) -> str:
        text = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()


class LoadedFrontier:
    """A validated spec with the base scenario (plain data, the mix's policy appended)."""

    def __init__(self, spec: FrontierSpec, path: Path, base: dict[str, Any], files: list[str],
                 index: int):
        self.spec = spec
        self.path = path
        self.base = base
        self.files = files
        self.index = index  # the position of the mix's policy in base["policies"]


# ---------------------------------------------------------------------------- mixes
def mixes(spec: FrontierSpec) -> list[dict[str, Any]]:
    """Every mix: the grid of the levers' levels, in order, less the excluded ones."""
    given = spec.levers.given()
    out = []
    for combo in itertools.product(*given.values()):
        mix = dict(zip(given, combo, strict=True))
        if not any(_matches(rule, mix) for rule in spec.exclude):
            out.append(mix)
    return out


def _matches(rule: dict[str, Any], mix: dict[str, Any]) -> bool:
    for lever, level in rule.items():
        levels = level if isinstance(level, list) else [level]
        if mix.get(lever) not in levels:
            return False
    return True


def label(mix: dict[str, Any]) -> str:
    """A mix in a few words: regime, dashboard, mandate (legitimacy), transparency, security."""
    parts = []
    if "consent" in mix:
        parts.append(str(mix["consent"]))
    if "dashboard" in mix:
        parts.append("dashboard" if mix["dashboard"] else "no dashboard")
    if "mandate" in mix:
        m = mix["mandate"]
        legit = f" legit {mix['legitimacy']:g}" if "legitimacy" in mix else ""
        parts.append(f"mandate {m:g}{legit}" if m else "no mandate")
    elif "legitimacy" in mix:
        parts.append(f"legit {mix['legitimacy']:g}")
    if "transparency" in mix:
        parts.append(f"transp {mix['transparency']:g}")
    if "security" in mix:
        parts.append(f"security {mix['security']:g}")
    return ", ".join(parts)


def mix_params(mix: dict[str, Any], index: int) -> dict[str, Any]:
    """The dotted paths a mix sets in the base scenario (its policy at ``policies.index``)."""
    return {f"policies.{index}.{field}": value for lever, value in mix.items()
            for field in LEVER_FIELDS[lever]}


def outputs(unit: Unit) -> tuple[str, ...]:
    """The model outputs a frontier keeps."""
    u = unit.value
    return ("trust_mean", "opt_out_rate", "data_coverage", f"total_benefit_{u}",
            f"total_harm_{u}", f"net_value_{u}")


def metrics(unit: Unit) -> list[tuple[str, str, float, str]]:
    """(metric, output, factor, unit in words): how a run's weeks become its summary. Shares
    and trust are means over the window; amounts are the mean week's times 52, a year's."""
    u, text = unit.value, UNIT_TEXT[unit]
    return [("trust", "trust_mean", 1.0, "mean general trust, 0-1 score"),
            ("opt_out", "opt_out_rate", 1.0, "share of citizens opted out, 0-1"),
            ("coverage", "data_coverage", 1.0, "share of records flowing, 0-1"),
            (f"benefit_{u}_per_year", f"total_benefit_{u}", 52.0, f"{text} a year"),
            (f"harm_{u}_per_year", f"total_harm_{u}", 52.0, f"{text} a year"),
            (f"net_value_{u}_per_year", f"net_value_{u}", 52.0, f"{text} a year")]


# ---------------------------------------------------------------------------- loading
def _describe(err: dict[str, Any]) -> tuple[str, str]:
    loc = [str(x) for x in err["loc"]]
    path = ".".join(loc)
    if err["type"] == "extra_forbidden":
        parent: Any = {"levers": Levers, "policy": PolicyAt, "quick": Quick}.get(
            loc[0] if len(loc) == 2 else "", FrontierSpec)
        return path, f"unknown field {loc[-1]!r}{sc.suggest(loc[-1], parent.model_fields)}; " \
                     f"allowed here: {', '.join(sorted(parent.model_fields))}"
    message = err["msg"].removeprefix("Value error, ")
    if "input" in err and not isinstance(err["input"], dict | list):
        message += f" (got {err['input']!r})"
    return path, message


def load(path: str | Path) -> LoadedFrontier:
    """Read and validate a frontier spec; raise ScenarioError listing every problem with its
    file, line and field: the fields', then the base scenario's, then the levers' levels
    against the scenario schema, the programmes, the unit and the window."""
    path = Path(path)
    data, node = sc.read(path)
    sources = [sc.Source(path, node)]

    def problem(where: str, message: str) -> sc.Problem:
        return sc.locate(sc.Problem(str(path), where, message), sources)

    try:
        spec = FrontierSpec.model_validate(data)
    except ValidationError as err:
        raise sc.ScenarioError([problem(*_describe(e)) for e in err.errors()]) from None
    problems: list[sc.Problem] = []
    base_path = path.parent / spec.base
    try:
        scenario = sc.load(base_path, spec.overrides)
    except sc.ScenarioError as err:
        if not base_path.exists():
            problems.append(problem("base", f"{spec.base!r}: file not found (looked for "
                                            f"{base_path})"))
        else:
            problems += [problem("overrides", p.message) if p.file == "--set" else p
                         for p in err.problems]
        raise sc.ScenarioError(problems) from None
    base = scenario.model_dump(mode="json")
    for i, name in enumerate(spec.policy.programmes):
        if name not in base["programmes"]:
            problems.append(problem(f"policy.programmes.{i}", f"{name!r} is not a programme "
                                    f"of the base scenario{sc.suggest(name, base['programmes'])}"
                                    f"; allowed: {', '.join(base['programmes'])}"))
    given = spec.levers.given()
    if not given:
        problems.append(problem("levers", f"give the levels of at least one lever: "
                                          f"{', '.join(LEVERS)}"))
    for i, rule in enumerate(spec.exclude):
        for lever, level in rule.items():
            if lever not in given:
                problems.append(problem(f"exclude.{i}.{lever}", f"{lever!r} is not a lever "
                                        f"given under levers; allowed: {', '.join(given)}"))
            elif any(x not in given[lever] for x in (level if isinstance(level, list)
                                                     else [level])):
                problems.append(problem(f"exclude.{i}.{lever}", f"{level!r} is not among the "
                                        f"levels of {lever}: {given[lever]}"))
    unit = spec.unit.value
    amounts = [p for p, prog in base["programmes"].items()
               for kind in ("value", "harm") if (prog.get(kind) or {}).get("unit") == unit]
    if not amounts:
        problems.append(problem("unit", f"no programme of the base scenario states a value or "
                                        f"harm in {unit!r}; units stated there: "
                                f"{', '.join(_units(base)) or 'none'}"))
    steps = spec.steps
    for where, s in (("", spec), ("quick.", spec.with_quick())):
        if s.policy.step > s.steps:
            problems.append(problem(f"{where}steps" if where else "policy.step",
                                    f"the policy's week {s.policy.step} is after the last week "
                                    f"{s.steps}"))
    if spec.window and not 0 <= spec.window[0] <= spec.window[1] <= steps:
        problems.append(problem("window", f"must be [first, last] weeks with 0 <= first <= "
                                          f"last <= steps ({steps}); got {spec.window}"))
    if problems:
        raise sc.ScenarioError(problems)
    # the mix's policy, appended to the base's, with the first level of every lever
    index = len(base["policies"])
    policy: dict[str, Any] = {"step": spec.policy.step, "programmes": list(spec.policy.programmes)}
    for lever, levels in given.items():
        for field in LEVER_FIELDS[lever]:
            _set_nested(policy, field, levels[0])
    base["policies"].append(policy)
    for lever, levels in given.items():
        for level in levels:
            probe = json.loads(json.dumps(base))
            for key, value in mix_params({lever: level}, index).items():
                sc.set_path(probe, key, value)
            try:
                sc.Scenario.model_validate(probe)
            except ValidationError as err:
                e = err.errors()[0]
                problems.append(problem(f"levers.{lever}", f"{level!r} is not allowed: "
                                        f"{e['msg'].removeprefix('Value error, ')}"))
                break
    if not mixes(spec):
        problems.append(problem("exclude", "every mix is excluded"))
    if problems:
        raise sc.ScenarioError(problems)
    return LoadedFrontier(spec, path, base, [str(path), *sc.files(base_path)], index)


def _units(base: dict[str, Any]) -> list[str]:
    return sorted({(prog.get(kind) or {}).get("unit") for prog in base["programmes"].values()
                   for kind in ("value", "harm") if prog.get(kind)})


def _set_nested(data: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, leaf = dotted.split(".")
    for key in parents:
        data = data.setdefault(key, {})
    data[leaf] = value


# ---------------------------------------------------------------------------- running
def _csv(df: pd.DataFrame, path: Path) -> None:
    files.write_atomic(path, lambda tmp: df.to_csv(tmp, index=False, float_format="%.10g"))


def draws_of(spec: FrontierSpec, folder: Path | None, draws: int | None, scenario: str = "",
             ) -> tuple[list[dict[str, float]], dict[str, Any]]:
    """The parameter sets the mixes run on: one empty set without a posterior, else ``draws``
    sets drawn from it with the spec's seed (:func:`sim.posterior.draw`), each keeping the
    values that apply to the base ``scenario`` (:func:`sim.posterior.restrict`: all if the
    posterior was fitted to it, else the shared ones); and a note of where they came from."""
    if folder is None:
        return [{}], {}
    try:
        samples = posterior.load(folder)
        where = posterior.scope(folder)
    except posterior.PosteriorError as err:
        raise FrontierUsageError(f"--posterior: {err}") from None
    n = draws or spec.draws
    sets = [posterior.restrict(values, where, scenario)
            for values in posterior.draw(samples, n, spec.seed)]
    path = Path(folder) / posterior.FILE if Path(folder).is_dir() else Path(folder)
    return sets, {"folder": str(Path(folder).resolve()), "sha256": report.file_sha256(path),
                  "samples": len(samples), "parameters": sorted(sets[0]),
                  "not_applied": sorted(set(posterior.parameters(samples)) - set(sets[0])),
                  "draws": n, "drawn_with": f"sim.posterior.draw(samples, {n}, seed={spec.seed})"}


def _check_draws(loaded: LoadedFrontier, sets: list[dict[str, float]]) -> None:
    lever_paths = set(mix_params({k: v[0] for k, v in loaded.spec.levers.given().items()},
                                 loaded.index))
    for name in sets[0]:
        if name in lever_paths:
            raise FrontierUsageError(f"--posterior: parameter {name!r} is also a lever of the "
                                     "spec; a frontier varies it itself")
        try:
            posterior.apply(loaded.base, {name: sets[0][name]})
        except posterior.PosteriorError as err:
            raise FrontierUsageError(f"--posterior: {err}") from None
    for values in sets[:1]:
        try:
            sc.Scenario.model_validate(posterior.apply(loaded.base, values))
        except ValidationError as err:
            e = err.errors()[0]
            raise FrontierUsageError(
                f"--posterior: the drawn values are not allowed in the scenario: "
                f"{'.'.join(map(str, e['loc']))}: {e['msg']}") from None


def run_frontier(loaded: LoadedFrontier, out: Path, *, workers: int = 1,
                 scheduler: str | None = None, executor: str | None = None, quick: bool = False,
                 force: bool = False, posterior_folder: Path | None = None,
                 draws: int | None = None, progress: Callable[[int, int], None] | None = None,
                 argv: Sequence[str] | None = None, log: Callable[[str], None] | None = None,
                 ) -> dict[str, Any]:
    """Run (or resume) the frontier into ``out``; write its tables, figure and manifest."""
    started = dt.datetime.now(dt.UTC)
    t0 = time.perf_counter()
    spec = loaded.spec.with_quick() if quick else loaded.spec
    out = Path(out)
    kind = engine.choose(workers, scheduler, executor)
    if kind not in ("serial", "processes", "dask"):
        raise FrontierUsageError(f"--executor: unknown executor {kind!r}")
    sets, about_posterior = draws_of(spec, posterior_folder, draws,
                                     str(loaded.base.get("name", "")))
    if about_posterior:
        _check_draws(loaded, sets)
    digest = hashlib.sha256(json.dumps(
        {"spec": spec.digest(), "quick": quick, "posterior": about_posterior.get("sha256"),
         "draws": len(sets)}, sort_keys=True).encode()).hexdigest()
    engine.claim(out, "frontier.json", {"digest": digest}, force, "frontier",
                 FrontierUsageError)
    shards = out / "runs"
    citizens = spec.citizens or loaded.base["population"]["size"]
    first, last = spec.first_week(), spec.last_week()
    outs = outputs(spec.unit)
    ctx = engine.Context(TRUSTSIM, loaded.base, spec.steps, citizens,
                         tuple(range(first, last + 1)), outs,
                         report.code_version(engine.code_roots(TRUSTSIM)))
    children = np.random.SeedSequence(spec.seed).spawn(spec.replicates)
    seeds = [(int(c.entropy), tuple(int(k) for k in c.spawn_key)) for c in children]
    all_mixes = mixes(spec)
    rows, unique = [], {}
    for m, mix in enumerate(all_mixes):
        for d, values in enumerate(sets):
            params = {**mix_params(mix, loaded.index), **values}
            for r, seed in enumerate(seeds):
                key = ctx.key(params, seed)
                rows.append((m, d, r, key))
                unique.setdefault(key, engine.Run(key, params, seed[0], seed[1]))
    done, failed = engine.completed(shards)
    todo = [run for key, run in unique.items() if key not in done and key not in failed]
    if log:
        log(f"{spec.name}: {len(all_mixes)} mixes x {len(sets)} parameter set(s) x "
            f"{spec.replicates} seeds = {len(unique)} runs; {len(unique) - len(todo)} already "
            f"done, {len(todo)} to run on {kind} ({workers} worker(s))")
    outcome, info = engine.Outcome(), {}
    t_runs = time.perf_counter()
    if todo:
        ex = engine.Executor(kind, workers, scheduler)
        info = dict(ex.info)
        try:
            chunks = engine.make_chunks(ctx, todo, shards, engine.chunk_size(len(todo), workers))
            outcome = engine.execute(
                chunks, ex, (lambda n: progress(n, len(todo))) if progress else None)
        finally:
            ex.close()
    t_runs = time.perf_counter() - t_runs
    done, failed = engine.completed(shards)
    failures = [failed[k] for k in sorted(set(unique) & set(failed))]

    index = pd.DataFrame(rows, columns=["mix", "draw", "replicate", "key"])
    weeks = engine.read_shards(shards, set(unique))
    runs = summarise(index, weeks, spec.unit)
    levers = list(spec.levers.given())
    for lever in levers:
        runs.insert(1 + levers.index(lever), lever, [all_mixes[m][lever] for m in runs["mix"]])
    runs.insert(1, "label", [label(all_mixes[m]) for m in runs["mix"]])
    files.write_atomic(out / "runs.parquet", lambda tmp: runs.to_parquet(tmp, index=False))
    pts = points(index, weeks, outs)
    pts.insert(1, "label", [label(all_mixes[m]) for m in pts["mix"]])
    _csv(pts, out / "points.csv")
    table, dom = tables(runs, all_mixes, levers, spec.unit, len(sets), spec.replicates,
                        posterior=bool(about_posterior))
    _csv(table, out / "frontier.csv")
    _csv(dom, out / "dominance.csv")
    caption = (f"{len(all_mixes)} mixes x {spec.replicates} seeds"
               + (f" x {len(sets)} posterior draws" if about_posterior else "")
               + f", {citizens:,} citizens, weeks {first}-{last} of {spec.steps}; mix from week "
               f"{spec.policy.step} on {', '.join(spec.policy.programmes)}.")
    from sim.sweeps.frontier_figure import frontier_figure

    frontier_figure(table, spec.unit, out / "frontier.png", spec.name, caption,
                    posterior=bool(about_posterior))
    written = ["runs.parquet", "points.csv", "frontier.csv", "dominance.csv", "frontier.png"]
    hashes = {str(Path(p).resolve()): report.file_sha256(p) for p in loaded.files}
    manifest = report.manifest(
        scenarios={loaded.base["name"]: loaded.base}, files={spec.name: hashes},
        seed=spec.seed, replicates=spec.replicates, citizens=citizens, steps=spec.steps,
        workers=workers, started=started, argv=argv)
    manifest["frontier"] = {
        "spec_file": str(loaded.path.resolve()), "spec": spec.model_dump(mode="json"),
        "spec_digest": spec.digest(), "quick": quick, "code_version": ctx.version,
        "mixes": [{"mix": m, "label": label(x), **x} for m, x in enumerate(all_mixes)],
        "policy_index": loaded.index, "window": [first, last],
        "seeds": "replicate r of every mix and draw: numpy.random.SeedSequence(seed)"
                 ".spawn(replicates)[r] (common random numbers)",
        "posterior": about_posterior or None,
        "units": {m: u for m, _, _, u in metrics(spec.unit)},
        "bands": "10-90%: seed band = mean + percentiles of each run's deviation from its "
                 "draw's mean; posterior band = percentiles of the draws' means",
        "runs": len(unique), "completed": len(set(unique) & done),
        "resumed": {"already_done": len(unique) - len(todo), "ran_now": outcome.ran},
        "failures": failures,
        "executor": {"kind": kind, "workers": workers, **info,
                     "pool_restarts": outcome.restarts, "worker_losses": outcome.worker_losses},
        "timing_s": {"runs": round(t_runs, 3), "total": round(time.perf_counter() - t0, 3)},
        "files": written,
    }
    files.write_json(out / "manifest.json", manifest)
    return {"runs": len(unique), "skipped": len(unique) - len(todo), "ran": outcome.ran,
            "failures": len(failures), "seconds": time.perf_counter() - t0, "files": written,
            "executor": kind, "frontier": table}


def summarise(index: pd.DataFrame, weeks: pd.DataFrame, unit: Unit) -> pd.DataFrame:
    """One row per run: mix, draw, replicate, key and each metric over the window (NaN for a
    run that failed)."""
    spec = metrics(unit)
    means = weeks.groupby("key")[[o for _, o, _, _ in spec]].mean()
    out = index.copy()
    for name, output, factor, _ in spec:
        out[name] = out["key"].map(means[output] * factor).astype(float)
    return out


def points(index: pd.DataFrame, weeks: pd.DataFrame, outs: Sequence[str]) -> pd.DataFrame:
    """Per mix and week: the mean of each output over its runs (every draw and seed)."""
    df = index[["mix", "key"]].merge(weeks, on="key")
    return df.groupby(["mix", "step"], sort=True)[list(outs)].mean().reset_index()


def tables(runs: pd.DataFrame, all_mixes: list[dict[str, Any]], levers: list[str], unit: Unit,
           n_draws: int, n_seeds: int, posterior: bool) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``frontier.csv`` and ``dominance.csv`` from the per-run summaries."""
    u = unit.value
    net, benefit = f"net_value_{u}_per_year", f"benefit_{u}_per_year"
    n = len(all_mixes)
    cube: dict[str, np.ndarray] = {}
    for name, *_ in metrics(unit):
        a = np.full((n, n_draws, n_seeds), np.nan)
        a[runs["mix"], runs["draw"], runs["replicate"]] = runs[name].to_numpy(float)
        cube[name] = a
    table = pd.DataFrame({"mix": range(n), "label": [label(m) for m in all_mixes],
                          **{lever: [m[lever] for m in all_mixes] for lever in levers}})
    table["runs"] = np.isfinite(cube["trust"]).sum(axis=(1, 2))
    for name, *_ in metrics(unit):
        b = frontier.bands(cube[name])
        table[f"{name}_mean"] = b["mean"]
        table[f"{name}_seed_p10"] = b["seed_p10"]
        table[f"{name}_seed_p90"] = b["seed_p90"]
        if posterior:
            table[f"{name}_post_p10"] = b["post_p10"]
            table[f"{name}_post_p90"] = b["post_p90"]
    trust = table["trust_mean"].to_numpy()
    on_net = np.column_stack([trust, table[f"{net}_mean"]])
    table["frontier_trust_net_value"] = frontier.pareto_front(on_net)
    table["frontier_trust_benefit"] = frontier.pareto_front(
        np.column_stack([trust, table[f"{benefit}_mean"]]))
    dom = frontier.dominance_matrix(on_net)
    table["dominated_by"] = dom.sum(axis=0)
    paired = np.stack([cube["trust"], cube[net]], axis=-1).reshape(n, n_draws * n_seeds, 2)
    share = frontier.paired_dominance(paired)
    pairs = (np.isfinite(paired).all(axis=2)[:, None, :]
             & np.isfinite(paired).all(axis=2)[None, :, :]).sum(axis=2)
    rows = []
    for j in range(n):
        for i in np.flatnonzero(dom[:, j]):
            diff = paired[i] - paired[j]
            rows.append({"mix": j, "label": table.label[j], "dominated_by": int(i),
                         "dominated_by_label": table.label[i],
                         "share_paired": float(share[i, j]), "pairs": int(pairs[i, j]),
                         "trust_gain": float(np.nanmean(diff[:, 0])),
                         f"net_value_gain_{u}_per_year": float(np.nanmean(diff[:, 1]))})
    columns = ["mix", "label", "dominated_by", "dominated_by_label", "share_paired", "pairs",
               "trust_gain", f"net_value_gain_{u}_per_year"]
    return table, pd.DataFrame(rows, columns=columns)


# ---------------------------------------------------------------------------- command
def frontier_command(args: argparse.Namespace) -> int:
    """``trustsim frontier``: check the spec, posterior and folder; run (or resume); report."""
    command.spec_command_checks(args, "a frontier")
    loaded = load(args.spec)
    spec = loaded.spec.with_quick() if args.quick else loaded.spec
    scenario = sc.Scenario.model_validate(loaded.base)
    command.check_memory([scenario], spec.citizens or scenario.population.size, args.workers)
    command.results_not_here(args.out, FrontierUsageError)
    bar = command.progress(0, args.quiet, spec.name)
    try:
        result = run_frontier(
            loaded, args.out, workers=args.workers, scheduler=args.scheduler,
            executor=args.executor, quick=args.quick, force=args.force,
            posterior_folder=args.posterior, draws=args.draws,
            progress=command.sized_progress(bar), argv=args.argv,
            log=command.log_to_stderr(args.quiet))
    finally:
        bar.close()
    table = result["frontier"]
    on = table[table.frontier_trust_net_value]
    print(f"{args.out}: {spec.name}: {result['runs']} runs ({result['skipped']} reused, "
          f"{result['ran']} run now, {result['failures']} failed) in {result['seconds']:.1f} s "
          f"on {result['executor']}; {len(on)} of {len(table)} mixes on the frontier of trust "
          f"and net value: {'; '.join(on.label)}")
    return 0
