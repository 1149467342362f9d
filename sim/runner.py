"""Running a scenario's replicates, serially or in parallel processes, with identical numbers.

A task carries only data: the resolved scenario (plain JSON), its replicate number and the seed's
spawn key. Each replicate's randomness comes from ``SeedSequence(seed).spawn(replicates)[r]``,
so the results are the same whichever process runs which replicate, and in whatever order.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Task:
    """One replicate of one scenario, as plain data (picklable, cheap to send)."""

    scenario: dict[str, Any]
    replicate: int
    entropy: int
    spawn_key: tuple[int, ...]
    n_citizens: int
    steps: int


def run_task(task: Task) -> pd.DataFrame:
    """Build the model from data, run it, return its time series with a ``replicate`` column."""
    from sim.scenario import Scenario

    scenario = Scenario.model_validate(task.scenario)
    seed = np.random.SeedSequence(task.entropy, spawn_key=task.spawn_key)
    model = scenario.build(rng=seed, n_citizens=task.n_citizens, citizen_agents=False)
    for _ in range(task.steps):
        model.step()
    df = model.timeseries()
    df.insert(0, "replicate", task.replicate)
    return df


def tasks(scenario: Any, n_citizens: int, steps: int, replicates: int, seed: int) -> list[Task]:
    """The replicate tasks of one scenario."""
    data = scenario.model_dump(mode="json")
    children = np.random.SeedSequence(seed).spawn(replicates)
    return [Task(data, r, int(child.entropy), tuple(child.spawn_key), n_citizens, steps)
            for r, child in enumerate(children)]


def run_tasks(todo: Sequence[Task], workers: int = 1,
              progress: Callable[[int], None] | None = None) -> list[pd.DataFrame]:
    """Run tasks on ``workers`` processes (1: in this process); results in task order."""
    results: list[pd.DataFrame | None] = [None] * len(todo)
    if workers <= 1 or len(todo) <= 1:
        for i, task in enumerate(todo):
            results[i] = run_task(task)
            if progress:
                progress(1)
    else:
        env = {"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
        os.environ.update({k: v for k, v in env.items() if k not in os.environ})
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
