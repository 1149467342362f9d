"""``trustsim calibrate``: history matching, then ABC-SMC, then posterior-predictive checks.

Stages (docs/calibration.md): waves of history matching (design points with replicates, GP
emulators, implausibility, the space not ruled out), then generations of ABC-SMC on the model
itself (proposals from that space, then perturbed particles), then posterior-predictive runs of
every target, fitted and held out. Every run goes through the sweep engine
(:mod:`sim.sweeps.engine`): keyed by content and written as Parquet shards under ``OUT/runs``,
so a killed calibration reruns only what had not finished, and the same on any number of
processes or Dask workers, because every draw is made in this process from one SeedSequence
before the runs it decides. Only the fit targets are compared with runs before the posterior is
fixed; the held-out targets are predicted afterwards.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim import command, files, posterior, report
from sim.calibration import abc, design, emulator
from sim.calibration.spec import CalibrationSpec, Loaded, load
from sim.calibration.targets import Target
from sim.sweeps import engine
from sim.sweeps.spec import TRUSTSIM

OBSERVE = "sim.calibration.observe:survey"


class CalibrationUsageError(command.UsageError):
    """A calibration that cannot start as asked (folder in use by another spec)."""


@dataclass
class Point:
    """One observed number: a target at one step."""

    target: Target
    label: str
    step: int
    observed: float
    sd: float


@dataclass
class Simulator:
    """Runs parameter sets on the scenarios through the sweep engine, and measures them."""

    loaded: Loaded
    spec: CalibrationSpec
    out: Path
    kind: str
    workers: int
    scheduler: str | None
    progress: Callable[[int], None] | None = None
    log: Callable[[str], None] | None = None
    contexts: dict[str, engine.Context] = field(default_factory=dict)
    executor: engine.Executor | None = None
    ran: int = 0
    reused: int = 0
    failures: list[dict[str, Any]] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        targets = self.loaded.targets
        version = report.code_version((*engine.code_roots(TRUSTSIM),
                                       OBSERVE.partition(":")[0]))
        for key, data in targets.scenarios.items():
            mine = [t for t in targets.spec.targets if targets.scenario_key(t) == key]
            steps = max(s for t in mine for s in t.steps())
            outputs = tuple(sorted({t.column() for t in mine}))
            self.contexts[key] = engine.Context(
                TRUSTSIM, data, steps, self.spec.citizens, tuple(range(steps + 1)), outputs,
                version, observe=OBSERVE)

    def params_for(self, key: str, values: dict[str, float]) -> dict[str, float]:
        """The parameter values a scenario takes: all of them in a fit scenario, the shared
        ones it has in any other."""
        fit_keys = {self.loaded.targets.scenario_key(t) for t in self.loaded.targets.of("fit")}
        if key in fit_keys:
            return dict(values)
        from sim import scenario as sc

        shared = {p.path for p in self.spec.parameters if p.shared}
        out = {}
        for path, v in values.items():
            if path in shared:
                try:
                    current = sc.get_path(self.contexts[key].scenario, path)
                except (KeyError, IndexError, TypeError):
                    continue
                if isinstance(current, int | float) and not isinstance(current, bool):
                    out[path] = v
        return out

    def frames(self, X: np.ndarray, stage: tuple[int, ...], replicates: int,
               keys: Sequence[str]) -> dict[tuple[str, int, int], pd.DataFrame | None]:
        """Run every row of X (parameters in spec order) ``replicates`` times on each scenario
        of ``keys``; the frames (indexed by step) by (scenario, row, replicate), None for a
        failed run."""
        names = self.spec.names()
        wanted: dict[tuple[str, int, int], str] = {}
        todo: dict[str, dict[str, engine.Run]] = {}
        for i, row in enumerate(np.asarray(X, float)):
            values = {n: float(x) for n, x in zip(names, row, strict=True)}
            for key in keys:
                ctx = self.contexts[key]
                params = self.params_for(key, values)
                for r in range(replicates):
                    seed = design.run_seed(self.spec.seed, *stage, i, r)
                    run_key = ctx.key(params, seed)
                    wanted[(key, i, r)] = run_key
                    todo.setdefault(key, {})[run_key] = engine.Run(run_key, params, *seed)
        shards = self.out / "runs"
        done, failed = engine.completed(shards)
        for key, runs in todo.items():
            left = [run for k, run in runs.items() if k not in done and k not in failed]
            self.reused += len(runs) - len(left)
            if not left:
                continue
            if self.executor is None:
                self.executor = engine.Executor(self.kind, self.workers, self.scheduler)
                self.info = dict(self.executor.info)
            chunks = engine.make_chunks(self.contexts[key], left, shards,
                                        engine.chunk_size(len(left), self.workers))
            outcome = engine.execute(chunks, self.executor, self.progress)
            self.ran += outcome.ran
            self.failures += outcome.failures
        table = engine.read_shards(shards, set(wanted.values()))
        by_key = {k: g.set_index("step").sort_index() for k, g in table.groupby("key")}
        return {where: by_key.get(run_key) for where, run_key in wanted.items()}

    def fit_values(self, X: np.ndarray, stage: tuple[int, ...], replicates: int,
                   points: list[Point]) -> np.ndarray:
        """The fit points measured on each run: (rows, replicates, points), NaN if failed."""
        targets = self.loaded.targets
        keys = sorted({targets.scenario_key(p.target) for p in points})
        frames = self.frames(X, stage, replicates, keys)
        S = np.full((len(X), replicates, len(points)), np.nan)
        for i in range(len(X)):
            for r in range(replicates):
                for j, p in enumerate(points):
                    df = frames[(targets.scenario_key(p.target), i, r)]
                    if df is not None:
                        S[i, r, j] = p.target.measure(df[p.target.column()], p.step)
        return S

    def close(self) -> None:
        if self.executor is not None:
            self.executor.close()
            self.executor = None


def points_of(targets: Sequence[Target]) -> list[Point]:
    return [Point(t, label, step, obs, sd) for t in targets
            for label, step, obs, sd in t.points()]


def history_match(sim: Simulator, spec: CalibrationSpec, fit: list[Point], lo: np.ndarray,
                  hi: np.ndarray, log: Callable[[str], None]) -> dict[str, Any]:
    """The waves: design, runs with replicates, emulators, the space not ruled out."""
    hm = spec.history_matching
    z = np.array([p.observed for p in fit])
    v_obs = np.array([p.sd**2 for p in fit])
    v_md = np.array([p.target.discrepancy**2 for p in fit])
    D = len(lo)
    X_all, Y_all, W_all = np.zeros((0, D)), np.zeros((0, len(fit))), np.zeros((0, len(fit)))
    emulators: list[emulator.Emulator] = []
    waves: list[dict[str, Any]] = []
    v_seed = np.zeros(len(fit))
    for k in range(1, hm.waves + 1):
        gen = design.rng(spec.seed, design.WAVE, k)
        if k == 1:
            X = design.latin(gen, hm.points, lo, hi)
        else:
            C = design.uniform(gen, hm.candidates, lo, hi)
            X = C[emulator.nroy(emulators, C, z, v_obs + v_seed + v_md, hm.cutoff)][:hm.points]
            if len(X) < D + 2:
                log(f"wave {k}: only {len(X)} of {hm.candidates} candidates not ruled out; "
                    "the waves stop here")
                waves.append({"wave": k, "points": len(X), "stopped": True})
                break
        S = sim.fit_values(X, (design.WAVE, k), hm.replicates, fit)
        ok = np.isfinite(S).all(axis=(1, 2))
        X, S = X[ok], S[ok]
        Ybar, within = S.mean(axis=1), S.var(axis=1, ddof=1)
        row: dict[str, Any] = {"wave": k, "points": len(X), "failed": int((~ok).sum())}
        if emulators:  # how well the last wave's emulators predicted these new points
            m, v = emulators[-1].predict(X)
            zscore = (Ybar - m) / np.sqrt(v + within / hm.replicates)
            row["emulator_check_within_3sd"] = float((np.abs(zscore) < 3).mean())
        X_all, Y_all = np.vstack([X_all, X]), np.vstack([Y_all, Ybar])
        W_all = np.vstack([W_all, within])
        v_seed = W_all.mean(axis=0)
        # each wave's emulators learn from that wave's runs, inside what earlier waves left:
        # they resolve the smaller space better, and fitting stays O(points^3) per wave
        emulators.append(emulator.fit(X, Ybar, lo, hi, seed=spec.seed % 2**31))
        probe = design.uniform(design.rng(spec.seed, design.WAVE, 1000 + k), 4000, lo, hi)
        frac = float(emulator.nroy(emulators, probe, z, v_obs + v_seed + v_md,
                                   hm.cutoff).mean())
        m, v = emulators[-1].predict(X)
        best = float(emulator.implausibility(m, v, z, v_obs + v_seed + v_md).max(axis=1).min())
        row.update({"nroy_fraction": frac, "min_max_implausibility": best,
                    **{f"seed_sd:{p.label}": float(np.sqrt(s)) for p, s in zip(fit, v_seed,
                                                                                strict=True)}})
        waves.append(row)
        log(f"wave {k}: {len(X)} points x {hm.replicates} replicates; NROY {frac:.1%} of the "
            f"prior box; smallest max implausibility {best:.2f}")
    return {"emulators": emulators, "waves": waves, "v_seed": v_seed, "z": z, "v_obs": v_obs,
            "v_md": v_md, "X": X_all, "Y": Y_all}


def abc_smc(sim: Simulator, spec: CalibrationSpec, fit: list[Point], lo: np.ndarray,
            hi: np.ndarray, hm: dict[str, Any], log: Callable[[str], None],
            ) -> tuple[np.ndarray, np.ndarray, list[dict[str, Any]]]:
    """The generations; the last one's particles and weights are the posterior sample."""
    a = spec.abc
    z, scale = hm["z"], hm["v_obs"] + hm["v_seed"] + hm["v_md"]
    cutoff = spec.history_matching.cutoff
    gen = design.rng(spec.seed, design.ABC, 0)
    kept: list[np.ndarray] = []

    def support(C: np.ndarray) -> np.ndarray:  # the space history matching left
        return emulator.nroy(hm["emulators"], C, z, hm["v_obs"] + hm["v_seed"] + hm["v_md"],
                             cutoff)

    for _ in range(200):  # the prior restricted to what history matching left
        C = design.uniform(gen, spec.history_matching.candidates, lo, hi)
        kept.append(C[support(C)])
        if sum(len(k) for k in kept) >= a.proposals:
            break
    X = np.concatenate(kept)[:a.proposals]
    restricted = len(X) == a.proposals
    if not restricted:  # nothing (or too little) survived: start from the prior itself
        log("ABC-SMC: too little of the prior is not ruled out; generation 0 samples the prior")
        X = design.uniform(gen, a.proposals, lo, hi)
    log_rows: list[dict[str, Any]] = []
    theta = w = None
    cov = None
    epsilon = np.inf
    for g in range(a.generations):
        if g > 0:
            X, cov = abc.propose(design.rng(spec.seed, design.ABC, g), theta, w, lo, hi,
                                 a.proposals, support if restricted else None)
        S = sim.fit_values(X, (design.ABC, g), 1, fit)[:, 0, :]
        d = abc.distance(S, z, scale)
        idx = abc.accept(d, a.particles, epsilon)
        if len(idx) < minimum_particles(len(lo)):
            log(f"ABC-SMC generation {g}: only {len(idx)} proposals within the previous "
                f"threshold {epsilon:.3g}; the previous generation is the posterior")
            log_rows.append({"generation": g, "proposals": len(X), "particles": len(idx),
                             "epsilon": float(epsilon), "stopped": True})
            break
        new = X[idx]
        w = np.full(len(new), 1.0 / len(new)) if g == 0 else abc.weights(new, theta, w, cov)
        theta = new
        epsilon = float(d[idx].max())
        row = {"generation": g, "proposals": len(X), "particles": len(new),
               "epsilon": epsilon, "median_distance": float(np.median(d[idx])),
               "ess": abc.ess(w), "from_nroy": bool(restricted) if g == 0 else None}
        log_rows.append(row)
        log(f"ABC-SMC generation {g}: epsilon {epsilon:.3g}, {len(new)} particles, "
            f"ESS {row['ess']:.0f}")
    return theta, w, log_rows


def minimum_particles(dimensions: int) -> int:
    """Fewer particles than this cannot carry a perturbation kernel's covariance."""
    return max(10, 2 * (dimensions + 1))


def predict(sim: Simulator, spec: CalibrationSpec, samples: pd.DataFrame,
            ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Posterior-predictive runs of every target: one run per posterior draw (its own seed),
    on each target's scenario. Returns the table of targets with intervals, the draw-level
    values and the series of every target's output (for the bands)."""
    targets = sim.loaded.targets
    draws = posterior.draw(samples, spec.draws, spec.seed)
    X = np.array([[d[n] for n in spec.names()] for d in draws])
    keys = sorted(targets.scenarios)
    frames = sim.frames(X, (design.PREDICT,), 1, keys)
    noise = design.rng(spec.seed, design.NOISE)
    rows, values, series = [], [], []
    for t in targets.spec.targets:
        key = targets.scenario_key(t)
        col = t.column()
        for i in range(len(X)):
            df = frames[(key, i, 0)]
            if df is None:
                continue
            base = float(df[col].iloc[0]) if t.measurement.model != "change" else 0.0
            series.append(pd.DataFrame({"target": t.name, "draw": i, "step": df.index,
                                        "value": df[col].to_numpy(float), "start": base}))
        for label, step, obs, sd in t.points():
            v = np.array([t.measure(frames[(key, i, 0)][col], step)
                          for i in range(len(X)) if frames[(key, i, 0)] is not None])
            noisy = v + noise.normal(0.0, np.sqrt(sd**2 + t.discrepancy**2), len(v))
            lo50, hi50, lo90, hi90 = np.quantile(noisy, [0.25, 0.75, 0.05, 0.95])
            values.append(pd.DataFrame({"target": label, "set": t.set, "draw": np.arange(len(v)),
                                        "value": v, "observable": noisy}))
            rows.append({"target": label, "set": t.set, "scenario": t.scenario, "step": step,
                         "measurement": t.measurement.model, "output": col, "observed": obs,
                         "sd": sd, "model_median": float(np.median(v)),
                         "model_p05": float(np.quantile(v, 0.05)),
                         "model_p95": float(np.quantile(v, 0.95)),
                         "predicted_p05": float(lo90), "predicted_p95": float(hi90),
                         "predicted_p25": float(lo50), "predicted_p75": float(hi50),
                         "inside_90": bool(lo90 <= obs <= hi90),
                         "inside_50": bool(lo50 <= obs <= hi50), "source": t.source})
    return pd.DataFrame(rows), pd.concat(values, ignore_index=True), \
        pd.concat(series, ignore_index=True)


def calibrate(loaded: Loaded, out: Path, *, workers: int = 1, scheduler: str | None = None,
              executor: str | None = None, quick: bool = False, force: bool = False,
              progress: Callable[[int], None] | None = None,
              argv: Sequence[str] | None = None, log: Callable[[str], None] | None = None,
              figures: bool = True) -> dict[str, Any]:
    """Run (or resume) the calibration into ``out``; return a summary."""
    started = dt.datetime.now(dt.UTC)
    t0 = time.perf_counter()
    say = log or (lambda m: None)
    spec = loaded.spec.with_quick() if quick else loaded.spec
    out = Path(out)
    kind = engine.choose(workers, scheduler, executor)
    if kind not in ("serial", "processes", "dask"):
        raise CalibrationUsageError(f"--executor: unknown executor {kind!r}")
    engine.claim(out, "calibration.json", {"name": spec.name, "digest": spec.digest()}, force,
                 "calibration", CalibrationUsageError)
    names = spec.names()
    lo = np.array([p.bounds[0] for p in spec.parameters])
    hi = np.array([p.bounds[1] for p in spec.parameters])
    fit = points_of(loaded.targets.of("fit"))
    sim = Simulator(loaded, spec, out, kind, workers, scheduler, progress, log)
    timing: dict[str, float] = {}
    try:
        t = time.perf_counter()
        hm = history_match(sim, spec, fit, lo, hi, say)
        timing["history_matching"] = time.perf_counter() - t
        t = time.perf_counter()
        theta, w, gens = abc_smc(sim, spec, fit, lo, hi, hm, say)
        timing["abc_smc"] = time.perf_counter() - t
        samples = pd.DataFrame(theta, columns=names)
        samples[posterior.WEIGHT] = w
        t = time.perf_counter()
        table, values, series = predict(sim, spec, samples)
        timing["predictive"] = time.perf_counter() - t
    finally:
        sim.close()
    files.write_atomic(out / posterior.FILE,
                       lambda tmp: samples.to_parquet(tmp, index=False, engine="pyarrow"))
    summary = posterior_summary(spec, samples)
    _csv(summary, out / "posterior_summary.csv")
    _csv(table, out / "targets.csv")
    _csv(pd.DataFrame(hm["waves"]), out / "waves.csv")
    _csv(pd.DataFrame(gens), out / "abc.csv")
    files.write_atomic(out / "predictive.parquet",
                       lambda tmp: values.to_parquet(tmp, index=False, engine="pyarrow"))
    written = [posterior.FILE, "posterior_summary.csv", "targets.csv", "waves.csv", "abc.csv",
               "predictive.parquet"]
    if figures:
        from sim.calibration import figures as figs

        figs.pairs(spec, samples, out / "pairs.png")
        figs.bands(loaded.targets, table, series, out / "predictive.png")
        figs.coverage(table, out / "coverage.png")
        written += ["pairs.png", "predictive.png", "coverage.png"]
    hashes = {str(Path(p).resolve()): report.file_sha256(p) for p in loaded.files}
    manifest = report.manifest(
        scenarios={Path(k).stem: v for k, v in loaded.targets.scenarios.items()},
        files={spec.name: hashes}, seed=spec.seed, replicates=spec.history_matching.replicates,
        citizens=spec.citizens, steps=max(c.steps for c in sim.contexts.values()),
        workers=workers, started=started, argv=argv)
    import sklearn

    manifest["calibration"] = {
        "spec_file": str(loaded.path.resolve()), "spec": spec.model_dump(mode="json"),
        "quick": quick, "targets_file": str(loaded.targets.path.resolve()),
        "fit": [p.label for p in fit],
        "held_out": [lbl for t in loaded.targets.of("held_out") for lbl, *_ in t.points()],
        "method": "history matching with GP emulators (scikit-learn "
                  f"{sklearn.__version__} GaussianProcessRegressor), then fixed-generation "
                  "ABC-SMC on the model (docs/calibration.md)",
        "seed_sd": {p.label: float(np.sqrt(v)) for p, v in zip(fit, hm["v_seed"], strict=True)},
        "waves": hm["waves"], "generations": gens,
        "seeds": "numpy.random.SeedSequence(seed, spawn_key=(stage, k, i, r)) per run; draws "
                 "from spawn_key (9, stage, k); posterior-predictive draws from "
                 "sim.posterior.draw_seed(seed)",
        "runs": {"ran_now": sim.ran, "reused": sim.reused, "failures": sim.failures},
        "executor": {"kind": kind, "workers": workers, **sim.info},
        "timing_s": {**{k: round(v, 1) for k, v in timing.items()},
                     "total": round(time.perf_counter() - t0, 1)},
        "files": written,
    }
    files.write_json(out / "manifest.json", manifest)
    return {"ran": sim.ran, "reused": sim.reused, "failures": len(sim.failures),
            "seconds": time.perf_counter() - t0, "files": written, "executor": kind,
            "summary": summary, "targets": table}


def posterior_summary(spec: CalibrationSpec, samples: pd.DataFrame) -> pd.DataFrame:
    """Per parameter: prior range, weighted mean, median and 5-95% credible interval."""
    w = samples[posterior.WEIGHT].to_numpy(float)
    rows = []
    for p in spec.parameters:
        x = samples[p.path].to_numpy(float)
        q05, q50, q95 = abc.weighted_quantile(x, w, np.array([0.05, 0.5, 0.95]))
        rows.append({"parameter": p.path, "prior_lo": p.bounds[0], "prior_hi": p.bounds[1],
                     "mean": float(np.average(x, weights=w)), "median": float(q50),
                     "ci90_lo": float(q05), "ci90_hi": float(q95),
                     "ci90_share_of_prior": float((q95 - q05) / (p.bounds[1] - p.bounds[0])),
                     "shared": p.shared, "source": p.source})
    return pd.DataFrame(rows)


def _csv(df: pd.DataFrame, path: Path) -> None:
    files.write_atomic(path, lambda tmp: df.to_csv(tmp, index=False, float_format="%.6g"))


def calibrate_command(args: argparse.Namespace) -> int:
    """``trustsim calibrate``: check the spec and the folder, calibrate (or resume), report."""
    command.spec_command_checks(args, "a calibration")
    loaded = load(args.spec)
    spec = loaded.spec.with_quick() if args.quick else loaded.spec
    from sim import scenario as sc

    command.check_memory([sc.Scenario.model_validate(d)
                          for d in loaded.targets.scenarios.values()], spec.citizens,
                         args.workers)
    command.results_not_here(args.out, CalibrationUsageError)
    bar = command.progress(0, args.quiet, spec.name)
    bar.total = None  # each stage's runs depend on the last one's: a count, not a fraction

    def progress(n: int) -> None:
        bar.update(n)

    try:
        result = calibrate(loaded, args.out, workers=args.workers, scheduler=args.scheduler,
                           executor=args.executor, quick=args.quick, force=args.force,
                           progress=progress, argv=args.argv,
                           log=command.log_to_stderr(args.quiet))
    finally:
        bar.close()
    table = result["targets"]
    for _, r in table.iterrows():
        print(f"  {r['set']:8s} {r['target']:32s} observed {r['observed']:.4g}; predicted "
              f"90% [{r['predicted_p05']:.4g}, {r['predicted_p95']:.4g}] "
              f"{'pass' if r['inside_90'] else 'FAIL'}")
    print(f"{args.out}: {spec.name}: {result['ran']} runs now, {result['reused']} reused, "
          f"{result['failures']} failed, in {result['seconds']:.1f} s on {result['executor']}; "
          f"wrote {', '.join(result['files'])}")
    return 0
