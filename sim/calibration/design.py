"""Prior samples and seeds of a calibration.

Every random number comes from one ``SeedSequence(seed)``: design and proposal draws from the
spawn key ``(DRAWS, stage, k)``, a run's seed from ``(stage, k, i, r)`` (stage, wave or
generation, parameter set, replicate). So a rerun, or a run on any number of workers, makes the
same draws and the same runs.
"""

from __future__ import annotations

import numpy as np

WAVE, ABC, PREDICT, DRAWS, NOISE = 1, 2, 3, 9, 11


def rng(seed: int, *key: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(DRAWS, *key)))


def run_seed(seed: int, *key: int) -> tuple[int, tuple[int, ...]]:
    """(entropy, spawn key) of one run: what a sweep :class:`~sim.sweeps.engine.Run` takes."""
    return int(seed), tuple(int(k) for k in key)


def latin(gen: np.random.Generator, n: int, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """A Latin hypercube of n points in the box (scipy.stats.qmc)."""
    from scipy.stats import qmc

    u = qmc.LatinHypercube(d=len(lo), rng=gen).random(n)
    return lo + u * (hi - lo)


def uniform(gen: np.random.Generator, n: int, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    return lo + gen.random((n, len(lo))) * (hi - lo)
