"""Test models for the sweep engine (``model: "sim.sweeps.testmodels:ishigami"`` in a spec).

A test model is ``f(params, rng, steps) -> DataFrame`` with a ``step`` column (0..steps) and the
outputs; it goes through the same engine as trustsim (design, tasks, shards, resume, analysis).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

A, B = 7.0, 0.1


def ishigami_value(x1: float, x2: float, x3: float, a: float = A, b: float = B) -> float:
    return math.sin(x1) + a * math.sin(x2) ** 2 + b * x3**4 * math.sin(x1)


def ishigami_indices(a: float = A, b: float = B) -> dict[str, dict[str, float]]:
    """Analytic first-order and total Sobol indices of the Ishigami function."""
    v1 = 0.5 * (1 + b * math.pi**4 / 5) ** 2
    v2 = a**2 / 8
    v13 = b**2 * math.pi**8 * (1 / 18 - 1 / 50)
    v = v1 + v2 + v13
    return {"S1": {"x1": v1 / v, "x2": v2 / v, "x3": 0.0},
            "ST": {"x1": (v1 + v13) / v, "x2": v2 / v, "x3": v13 / v}}


def ishigami(params: dict, rng: np.random.Generator, steps: int) -> pd.DataFrame:
    """Ishigami y at every step (it does not change over time); ``noisy_y`` adds seed noise
    of standard deviation ``params.get("noise", 0)`` per step."""
    y = ishigami_value(params["x1"], params["x2"], params["x3"])
    noise = rng.normal(0.0, 1.0, steps + 1) * float(params.get("noise", 0.0))
    return pd.DataFrame({"step": np.arange(steps + 1), "y": np.full(steps + 1, y),
                         "noisy_y": y + noise})


def fragile(params: dict, rng: np.random.Generator, steps: int) -> pd.DataFrame:
    """Like ``ishigami`` but raises for x1 > 2.5 (to test failure records)."""
    if params["x1"] > 2.5:
        raise RuntimeError(f"x1={params['x1']:.3f} is too large for this model")
    return ishigami(params, rng, steps)


def dies_once(params: dict, rng: np.random.Generator, steps: int) -> pd.DataFrame:
    """Like ``ishigami``, but the first call in a sweep kills its worker process (hard exit),
    once: the marker file named by the environment variable TRUSTSIM_DIES_ONCE records it."""
    import os

    marker = os.environ.get("TRUSTSIM_DIES_ONCE")
    if marker:
        try:
            fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            pass
        else:
            os.close(fd)
            os._exit(1)
    return ishigami(params, rng, steps)
