"""A whole sweep: design, runs (resumable), tidy table, indices, figures, manifest.

The results folder is used in place: ``runs/`` holds the Parquet shards (and ``failures/``), so
rerunning the same spec with the same ``--out`` skips the runs already done. ``sweep.json``
records the spec digest; a different spec (or ``--quick`` on a full sweep's folder) is refused
unless ``force`` is given (the shards are keyed by content, so keeping them is safe). The final
files (runs.parquet, indices.csv, ..., manifest.json) are each written atomically.

``sweep_command`` is ``trustsim sweep``; ``script`` is the same command for an experiment script
whose spec is fixed. Both share their options and error handling with the ``trustsim`` command
line through :mod:`sim.command`, so the sweeps never import :mod:`sim.cli`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim import command, files, report
from sim import scenario as sc
from sim.sweeps import analysis, design, engine, figures
from sim.sweeps.spec import TRUSTSIM, LoadedSpec, SweepSpec, load


class SweepUsageError(command.UsageError):
    """A sweep that cannot start as asked (folder in use by another spec, bad executor)."""


def _csv(df: pd.DataFrame, path: Path) -> None:
    files.write_atomic(path, lambda tmp: df.to_csv(tmp, index=False, float_format="%.10g"))


def tidy(spec: SweepSpec, des: design.Design, keys: list[list[str]],
         shards: pd.DataFrame) -> pd.DataFrame:
    """One row per run and kept step: key, point, replicate, step, parameters, outputs."""
    names = spec.names()
    index = pd.DataFrame(
        [(keys[p][r], p, r, *(des.points[p][n] for n in names))
         for p in range(len(des.points)) for r in range(spec.replicates)],
        columns=["key", "point", "replicate", *names])
    df = index.merge(shards, on="key", how="inner", validate="many_to_many")
    df = df.sort_values(["point", "replicate", "step"], kind="stable").reset_index(drop=True)
    return df[["key", "point", "replicate", "step", *names, *spec.outputs]]


def run_sweep(loaded: LoadedSpec, out: Path, *, workers: int = 1, scheduler: str | None = None,
              executor: str | None = None, quick: bool = False, force: bool = False,
              progress: Callable[[int, int], None] | None = None,
              argv: Sequence[str] | None = None, log: Callable[[str], None] | None = None,
              ) -> dict[str, Any]:
    """Run (or resume) the sweep into ``out``; return a summary of what was done."""
    started = dt.datetime.now(dt.UTC)
    t0 = time.perf_counter()
    spec = loaded.spec.with_quick() if quick else loaded.spec
    out = Path(out)
    kind = engine.choose(workers, scheduler, executor)
    if kind not in ("serial", "processes", "dask"):
        raise SweepUsageError(f"--executor: unknown executor {kind!r}")
    engine.claim(out, "sweep.json", {"name": spec.name, "digest": spec.digest()}, force, "sweep",
                 SweepUsageError)
    shards_dir = out / "runs"
    des = design.build(spec)
    citizens = spec.citizens
    if spec.model == TRUSTSIM:
        citizens = citizens or loaded.base["population"]["size"]
    ctx = engine.Context(spec.model, loaded.base, spec.steps, citizens,
                         tuple(engine.kept_steps(spec.steps, spec.every)), tuple(spec.outputs),
                         report.code_version(engine.code_roots(spec.model)))
    keys = [[ctx.key(pt, seed) for seed in des.seeds] for pt in des.points]
    unique: dict[str, engine.Run] = {}
    for pt, row in zip(des.points, keys, strict=True):
        for seed, key in zip(des.seeds, row, strict=True):
            unique.setdefault(key, engine.Run(key, pt, seed[0], seed[1]))
    done, failed = engine.completed(shards_dir)
    todo = [run for key, run in unique.items() if key not in done and key not in failed]
    skipped = len(unique) - len(todo)
    if log:
        log(f"{spec.name}: {spec.method}, {len(des.points)} design points x {spec.replicates} "
            f"replicates = {len(unique)} runs; {skipped} already done, {len(todo)} to run on "
            f"{kind} ({workers} worker(s))")
    t_runs = time.perf_counter()
    outcome = engine.Outcome()
    info: dict[str, Any] = {}
    if todo:
        ex = engine.Executor(kind, workers, scheduler)
        info = dict(ex.info)
        try:
            chunks = engine.make_chunks(ctx, todo, shards_dir,
                                        engine.chunk_size(len(todo), workers))
            outcome = engine.execute(
                chunks, ex, (lambda n: progress(n, len(todo))) if progress else None)
        finally:
            ex.close()
    t_runs = time.perf_counter() - t_runs
    done, failed = engine.completed(shards_dir)
    wanted = set(unique)
    failures = [failed[k] for k in sorted(wanted & set(failed))]

    # tidy table and analysis
    runs = tidy(spec, des, keys, engine.read_shards(shards_dir, wanted))
    files.write_atomic(out / "runs.parquet", lambda tmp: runs.to_parquet(tmp, index=False))
    X = design.design_matrix(des, spec) if spec.method != "grid" else np.zeros((0, 0))
    written = ["runs.parquet"]
    result: dict[str, Any] = {}
    skipped_steps: list[dict[str, Any]] = []
    about = {"name": spec.name, "about": figures.sizes(spec, citizens, len(des.points))}
    if spec.method in ("sobol", "morris"):
        idx, s2, skipped_steps = analysis.indices(spec, des, runs, X)
        _csv(idx, out / "indices.csv")
        written.append("indices.csv")
        if len(s2):
            _csv(s2, out / "indices_s2.csv")
            written.append("indices_s2.csv")
        conv = analysis.convergence(spec, des, runs, X)
        _csv(conv, out / "convergence.csv")
        written.append("convergence.csv")
        if len(idx):
            figures.indices_over_time(idx, spec.method, out / "indices_over_time.png", **about,
                                      interval=figures.intervals(spec))
            written.append("indices_over_time.png")
        if len(conv):
            figures.convergence_figure(conv, spec.method, out / "convergence.png", **about,
                                       interval=figures.intervals(spec))
            written.append("convergence.png")
        result["indices"] = len(idx)
    pts = analysis.points(spec, runs, spec.names())
    _csv(pts, out / "points.csv")
    written.append("points.csv")
    if spec.replicates > 1:
        noise = analysis.noise(spec, runs)
        _csv(noise, out / "noise.csv")
        figures.noise_figure(noise, out / "noise.png", **about)
        written += ["noise.csv", "noise.png"]
    keys_text = "\n".join(sorted(wanted)) + "\n"
    files.write_text(out / "run_keys.txt", keys_text)

    name = loaded.base["name"] if loaded.base else spec.model
    hashes = {str(Path(p).resolve()): report.file_sha256(p) for p in loaded.files}
    manifest = report.manifest(
        scenarios={name: loaded.base} if loaded.base else {}, files={spec.name: hashes},
        seed=spec.seed, replicates=spec.replicates, citizens=citizens or 0, steps=spec.steps,
        workers=workers, started=started, argv=argv)
    manifest["sweep"] = {
        "spec_file": str(loaded.path.resolve()), "spec": spec.model_dump(mode="json"),
        "quick": quick, "model": spec.model, "code_version": ctx.version,
        "method": spec.method, "problem": des.problem, "sampler": des.sampler, "N": spec.n,
        "design_points": len(des.points), "kept_steps": list(ctx.kept),
        "seeds": "replicate r of every design point: numpy.random.SeedSequence(seed)"
                 ".spawn(replicates)[r] (common random numbers)",
        "analysis": {"num_resamples": spec.num_resamples, "conf_level": spec.conf_level,
                     "second_order": spec.second_order, "seed": spec.seed,
                     "on": "replicate means per design point"},
        "runs": len(unique), "run_keys": "run_keys.txt", "completed": len(wanted & done),
        "resumed": {"already_done": skipped, "ran_now": outcome.ran},
        "failures": failures, "skipped_steps": skipped_steps,
        "executor": {"kind": kind, "workers": workers, **info,
                     "pool_restarts": outcome.restarts, "worker_losses": outcome.worker_losses},
        "timing_s": {"runs": round(t_runs, 3), "total": round(time.perf_counter() - t0, 3)},
        "files": written,
    }
    files.write_json(out / "manifest.json", manifest)
    return {"runs": len(unique), "skipped": skipped, "ran": outcome.ran,
            "failures": len(failures), "seconds": time.perf_counter() - t0, "files": written,
            "executor": kind, **result}


def sweep_command(args: argparse.Namespace) -> int:
    """``trustsim sweep``: check the spec and the folder, run (or resume) the sweep, report."""
    command.spec_command_checks(args, "a sweep")
    loaded = load(args.spec)
    spec = loaded.spec.with_quick() if args.quick else loaded.spec
    if spec.model == TRUSTSIM:
        scenario = sc.Scenario.model_validate(loaded.base)
        command.check_memory([scenario], spec.citizens or scenario.population.size,
                             args.workers)
    command.results_not_here(args.out, SweepUsageError)
    bar = command.progress(0, args.quiet, spec.name)
    try:
        result = run_sweep(
            loaded, args.out, workers=args.workers, scheduler=args.scheduler,
            executor=args.executor, quick=args.quick, force=args.force,
            progress=command.sized_progress(bar), argv=args.argv,
            log=command.log_to_stderr(args.quiet))
    finally:
        bar.close()
    print(f"{args.out}: {spec.name}: {result['runs']} runs ({result['skipped']} reused, "
          f"{result['ran']} run now, {result['failures']} failed) in {result['seconds']:.1f} s "
          f"on {result['executor']}; wrote {', '.join(result['files'])}")
    return 0


def script(spec: Path, description: str, argv: Sequence[str] | None = None) -> int:
    """The command line of an experiment script: ``trustsim sweep SPEC`` with its options (the
    manifest records it as that command)."""
    parser = argparse.ArgumentParser(description=description)
    command.sweep_options(parser, spec=False)
    args = parser.parse_args(argv)
    if spec.resolve().is_relative_to(Path.cwd().resolve()):  # a manifest that names no home
        spec = spec.resolve().relative_to(Path.cwd().resolve())
    args.spec = spec
    given = ["sweep", str(spec), "--out", str(args.out), "--workers", str(args.workers)]
    if args.scheduler:
        given += ["--scheduler", args.scheduler]
    if args.executor != "auto":
        given += ["--executor", args.executor]
    given += [f"--{flag}" for flag in ("quick", "force", "quiet") if getattr(args, flag)]
    args.argv = ["trustsim", *given]
    return command.run("trustsim sweep", sweep_command, args)
