"""Running a scenario's replicates, serially or in parallel processes, with identical numbers.

``run_replicate`` is the one way a replicate runs, here and in a sweep's workers
(:mod:`sim.sweeps.engine`). A task carries only data: the resolved scenario (plain JSON, with the
run's population size, steps, replicates and seed written into it), its replicate number and the
seed's spawn key. Each replicate's randomness comes from the scenario's ``replicate_seeds()``
(``SeedSequence(seed).spawn(replicates)[r]``), so the results are the same whichever process
runs which replicate, and in whatever order.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from sim import scenario as sc
from sim.results import wide_by

T = TypeVar("T")

#: one thread per worker process: the workers are the parallelism, and threads on top of them
#: would only compete for the same cores
THREAD_VARS = {"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
               "MKL_NUM_THREADS": "1"}


def single_threaded_workers() -> None:
    """Make worker processes started from now on single-threaded (unless the user set the
    variables): they inherit this process's environment."""
    for var, value in THREAD_VARS.items():
        os.environ.setdefault(var, value)


def run_replicate(scenario: sc.Scenario, seed: np.random.SeedSequence) -> pd.DataFrame:
    """One replicate: the scenario's model (no citizen agents) run for its ``steps``, as its
    time series."""
    return run_replicate_groups(scenario, seed)[0]


def run_replicate_groups(scenario: sc.Scenario, seed: np.random.SeedSequence
                         ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One replicate as :func:`run_replicate`, with its outputs by region and demographic group
    (``TrustModel.groups_timeseries``, long)."""
    model = scenario.build(rng=seed, citizen_agents=False)
    for _ in range(scenario.steps):
        model.step()
    return model.timeseries(), model.groups_timeseries()


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


def run_task(task: Task) -> pd.DataFrame:
    """Build the model from data, run it, return its time series with a ``replicate`` column."""
    scenario = sc.Scenario.model_validate(task.scenario)
    seed = np.random.SeedSequence(task.entropy, spawn_key=task.spawn_key)
    df = run_replicate(scenario, seed)
    df.insert(0, "replicate", task.replicate)
    return df


def run_task_groups(task: Task) -> tuple[pd.DataFrame, pd.DataFrame]:
    """As :func:`run_task`, returning the time series and the group table, each with a
    ``replicate`` column."""
    scenario = sc.Scenario.model_validate(task.scenario)
    seed = np.random.SeedSequence(task.entropy, spawn_key=task.spawn_key)
    frames = run_replicate_groups(scenario, seed)
    for df in frames:
        df.insert(0, "replicate", task.replicate)
    return frames


def write_groups(groups: Sequence[pd.DataFrame], folder: Path) -> pd.DataFrame:
    """Write the replicates' group tables: ``groups.csv`` long (replicate, step, group_kind,
    group, output, value, and ``region`` on the region rows) and ``regions.csv`` wide (replicate,
    step, region, opt_out_rate, trust_mean, trust_<agency>...). Returns the wide region table."""
    long = pd.concat(groups, ignore_index=True)
    long["region"] = long.group.where(long.group_kind == "region")
    long.to_csv(folder / "groups.csv", index=False)
    regions = wide_by(long.drop(columns="region"), "region")
    regions.to_csv(folder / "regions.csv", index=False)
    return regions


def tasks(scenario: sc.Scenario, n_citizens: int, steps: int, replicates: int, seed: int,
          ) -> list[Task]:
    """The replicate tasks of one scenario, run with these settings."""
    run = with_run_settings(scenario, n_citizens, steps, replicates, seed)
    data = run.model_dump(mode="json")
    return [Task(data, r, int(child.entropy), tuple(child.spawn_key))
            for r, child in enumerate(run.replicate_seeds())]


def run_tasks(todo: Sequence[Task], workers: int = 1,
              progress: Callable[[int], None] | None = None,
              work: Callable[[Task], T] = run_task) -> list[T]:
    """Run tasks on ``workers`` processes (1: in this process); results in task order.
    ``work`` runs one task (a module-level function, so workers can find it): the time series
    by default, :func:`run_task_groups` for the group tables too."""
    results: list[T | None] = [None] * len(todo)
    if workers <= 1 or len(todo) <= 1:
        for i, task in enumerate(todo):
            results[i] = work(task)
            if progress:
                progress(1)
    else:
        single_threaded_workers()
        pool = ProcessPoolExecutor(max_workers=min(workers, len(todo)))
        try:
            futures = {pool.submit(work, task): i for i, task in enumerate(todo)}
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
