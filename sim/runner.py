"""Running a scenario's replicates, serially or in parallel processes, with identical numbers.

``run_model`` is the one way a replicate runs, here and in a sweep's workers
(:mod:`sim.sweeps.engine`). A task carries only data: the resolved scenario (plain JSON, with the
run's population size, steps, replicates and seed written into it), its replicate number and the
seed's spawn key. Each replicate's randomness comes from the scenario's ``replicate_seeds()``
(``SeedSequence(seed).spawn(replicates)[r]``), so the results are the same whichever process
runs which replicate, and in whatever order. A replicate leaves its time series and the log of
its incidents (breaches and revelations, :class:`sim.breaches.Incident`).

A SIGTERM that arrives while the model steps stops the run between two steps
(:mod:`sim.stop`), never inside compiled code or halfway through a step.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sim import scenario as sc
from sim import stop
from sim.breaches import Incident
from sim.results import wide_by

if TYPE_CHECKING:
    from sim.model import TrustModel

#: one thread per worker process: the workers are the parallelism, and threads on top of them
#: would only compete for the same cores
THREAD_VARS = {"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
               "MKL_NUM_THREADS": "1"}


def single_threaded_workers() -> None:
    """Make worker processes started from now on single-threaded (unless the user set the
    variables): they inherit this process's environment."""
    for var, value in THREAD_VARS.items():
        os.environ.setdefault(var, value)


def run_model(scenario: sc.Scenario, seed: np.random.SeedSequence,
              on_step: Callable[[int], None] | None = None, threads: int = 1,
              groups: bool = True) -> TrustModel:
    """One replicate: the scenario's model (no citizen agents) run for its ``steps``;
    ``on_step(1)`` after each step (a progress bar); ``threads`` for each step's kernels
    (sim.parallel: the numbers are the same whatever the number). ``groups`` False: no
    outputs by group after step 0 (``TrustModel.group_outputs``), for a caller that reads
    only the time series."""
    model = scenario.build(rng=seed, citizen_agents=False, threads=threads)
    model.group_outputs = groups
    with stop.between_steps():
        for _ in range(scenario.steps):
            stop.stop_point()
            model.step()
            if on_step:
                on_step(1)
        stop.stop_point()
    return model


def release(model: object) -> None:
    """Drop Mesa's per-model agent-id counter (``mesa.Agent._ids`` in Mesa 3.3, a class-level
    dict keyed by model), which otherwise keeps every finished model alive: a worker of a sweep
    or a calibration running thousands of models would hold them all (about 4 MB each at 20,000
    citizens). Call it once a finished model's outputs have been read."""
    from mesa import Agent

    ids = getattr(Agent, "_ids", None)
    if isinstance(ids, dict):
        ids.pop(model, None)


def run_replicate(scenario: sc.Scenario, seed: np.random.SeedSequence,
                  on_step: Callable[[int], None] | None = None) -> pd.DataFrame:
    """One replicate's time series (:func:`run_model`, without the outputs by group)."""
    model = run_model(scenario, seed, on_step, groups=False)
    df = model.timeseries()
    release(model)
    return df


def with_run_settings(scenario: sc.Scenario | dict[str, Any], citizens: int, steps: int,
                      replicates: int | None = None, seed: int | None = None) -> sc.Scenario:
    """The scenario with a run's settings written into it (and validated), so that the scenario
    alone says what runs."""
    data = (scenario.model_dump(mode="json") if isinstance(scenario, sc.Scenario)
            else dict(scenario))
    data["population"] = {**data.get("population", {}), "size": citizens}
    data["steps"] = steps
    if replicates is not None:
        data["replicates"] = replicates
    if seed is not None:
        data["seed"] = seed
    return sc.Scenario.model_validate(data)


@dataclass(frozen=True)
class Task:
    """One replicate of one scenario, as plain data (picklable, cheap to send)."""

    scenario: dict[str, Any]
    replicate: int
    entropy: int
    spawn_key: tuple[int, ...]


@dataclass(frozen=True)
class Replicate:
    """What one replicate leaves: its time series (with a ``replicate`` column) and its
    incidents in the order they happened."""

    timeseries: pd.DataFrame
    incidents: list[Incident]
    groups: pd.DataFrame  # outputs by region and demographic group, long, with ``replicate``


def run_task(task: Task, on_step: Callable[[int], None] | None = None,
             threads: int = 1) -> Replicate:
    """Build the model from data, run it (on ``threads`` threads), return what it leaves."""
    scenario = sc.Scenario.model_validate(task.scenario)
    seed = np.random.SeedSequence(task.entropy, spawn_key=task.spawn_key)
    model = run_model(scenario, seed, on_step, threads)
    df, groups = model.timeseries(), model.groups_timeseries()
    incidents = list(model.incidents)
    release(model)
    df.insert(0, "replicate", task.replicate)
    groups.insert(0, "replicate", task.replicate)
    return Replicate(df, incidents, groups)


def incident_table(replicates: Sequence[Replicate],
                   scenarios: Sequence[str] | None = None) -> pd.DataFrame:
    """Every incident of every replicate, one row each: ``replicate``, ``week``, then the
    incident's fields (programme, kind, severity, publicity, victims, reached, hidden); with
    ``scenarios`` (one name per replicate), a ``scenario`` column first."""
    fields = [f for f in Incident.__dataclass_fields__ if f != "step"]
    columns = ["replicate", "week", *fields]
    if scenarios is not None:
        columns.insert(0, "scenario")
    rows = [{**({"scenario": scenarios[k]} if scenarios is not None else {}),
             "replicate": r.timeseries["replicate"].iat[0], "week": i.step,
             **{f: getattr(i, f) for f in fields}}
            for k, r in enumerate(replicates) for i in r.incidents]
    return pd.DataFrame(rows, columns=columns)


def group_tables(replicates: Sequence[Replicate]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The replicates' outputs by group: long (replicate, step, group_kind, group, output,
    value, and ``region`` on the region rows) and wide by region (replicate, step, region,
    opt_out_rate, trust_mean, trust_<agency>...), what ``groups.csv`` and ``regions.csv``
    hold."""
    long = pd.concat([r.groups for r in replicates], ignore_index=True)
    long["region"] = long.group.where(long.group_kind == "region")
    return long, wide_by(long.drop(columns="region"), "region")

def tasks(scenario: sc.Scenario, n_citizens: int, steps: int, replicates: int, seed: int,
          ) -> list[Task]:
    """The replicate tasks of one scenario, run with these settings."""
    run = with_run_settings(scenario, n_citizens, steps, replicates, seed)
    data = run.model_dump(mode="json")
    return [Task(data, r, int(child.entropy), tuple(child.spawn_key))
            for r, child in enumerate(run.replicate_seeds())]


def run_tasks(todo: Sequence[Task], workers: int = 1,
              progress: Callable[[int], None] | None = None, threads: int = 1,
              ) -> list[pd.DataFrame]:
    """Run tasks on ``workers`` processes (1: in this process); time series in task order."""
    return [r.timeseries for r in run_all(todo, workers, progress, threads=threads)]


def run_named(todo: Sequence[tuple[str, Task]], workers: int = 1,
              progress: Callable[[int], None] | None = None, threads: int = 1,
              ) -> pd.DataFrame:
    """Run tasks that each belong to a named scenario; one wide frame with a leading
    ``scenario`` column, then ``replicate``, ``step`` and the outputs. An output only some
    scenarios have (trust in an agency of one world) is NaN in the others' rows."""
    frames = run_tasks([task for _, task in todo], workers, progress, threads)
    df = pd.concat([f.assign(scenario=name) for f, (name, _) in zip(frames, todo, strict=True)],
                   ignore_index=True)
    return df[["scenario", *(c for c in df.columns if c != "scenario")]]


def in_process(todo: Sequence[Task], workers: int) -> bool:
    """Whether :func:`run_all` runs the tasks in this process (so it can report each step)."""
    return workers <= 1 or len(todo) <= 1


def run_all(todo: Sequence[Task], workers: int = 1,
            progress: Callable[[int], None] | None = None,
            on_step: Callable[[int], None] | None = None, threads: int = 1) -> list[Replicate]:
    """Run tasks on ``workers`` processes (1: in this process); results in task order.
    ``progress(1)`` after each task; ``on_step(1)`` after each step of a task run in this
    process (:func:`in_process`). ``threads``: threads per run in this process (for one large
    run); runs spread over processes keep one thread each."""
    results: list[Replicate | None] = [None] * len(todo)
    if in_process(todo, workers):
        for i, task in enumerate(todo):
            results[i] = run_task(task, on_step, threads)
            if progress:
                progress(1)
    else:
        single_threaded_workers()
        pool = ProcessPoolExecutor(max_workers=min(workers, len(todo)))
        try:
            futures = {pool.submit(run_task, task): i for i, task in enumerate(todo)}
            for future in as_completed(futures):
                results[futures[future]] = future.result()
                if progress:
                    progress(1)
        except BaseException:
            # interrupted or failed: do not wait for the replicates still running
            for process in list(getattr(pool, "_processes", {}).values()):
                process.terminate()
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown()
    return [r for r in results if r is not None]
