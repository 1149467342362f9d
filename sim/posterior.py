"""A calibration's posterior as data, and parameter sets drawn from it.

A posterior folder (what ``trustsim calibrate`` writes, docs/calibration.md) holds
``posterior.parquet``: one row per posterior sample, one column per calibrated value named by its
dotted scenario path (``params.gain_rate``, ``programmes.gp_records.friction``: the paths of
``--set`` and of sweep specs), and optionally a ``weight`` column (importance weights; equal
weights if absent). ``run``, ``compare`` and the frontier draw parameter sets from it, so their
results carry parameter uncertainty beside seed noise.

Draws come from their own ``SeedSequence`` stream (``draw_seed``), never from a run's, so adding
a posterior leaves the seeds of the runs unchanged and the same seed draws the same sets.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

FILE = "posterior.parquet"
WEIGHT = "weight"
#: the spawn key that separates posterior draws from the runs' own streams
DRAW_STREAM = 0x504F5354  # "POST"


class PosteriorError(ValueError):
    """A posterior folder that cannot be used: the message names the file and what is wrong."""


def load(folder: str | os.PathLike[str]) -> pd.DataFrame:
    """The samples of the posterior in ``folder`` (or of a ``posterior.parquet`` given directly),
    checked: at least one sample, finite numbers, non-negative weights that do not all vanish."""
    path = Path(folder)
    if path.is_dir():
        path = path / FILE
    if not path.is_file():
        raise PosteriorError(f"{path}: no posterior here (a folder written by trustsim "
                             f"calibrate holds {FILE})")
    try:
        samples = pd.read_parquet(path)
    except Exception as err:  # pyarrow's errors name no file
        raise PosteriorError(f"{path}: not a readable Parquet file ({err})") from None
    names = parameters(samples)
    if samples.empty or not names:
        raise PosteriorError(f"{path}: needs at least one sample and one parameter column "
                             "(a dotted scenario path such as params.gain_rate)")
    for name in [*names, *([WEIGHT] if WEIGHT in samples else [])]:
        values = pd.to_numeric(samples[name], errors="coerce").to_numpy(float)
        if not np.isfinite(values).all():
            raise PosteriorError(f"{path}: column {name!r} holds values that are not finite "
                                 "numbers")
    if WEIGHT in samples:
        w = samples[WEIGHT].to_numpy(float)
        if (w < 0).any() or w.sum() <= 0:
            raise PosteriorError(f"{path}: column 'weight' must be non-negative and not all 0")
    return samples


def parameters(samples: pd.DataFrame) -> list[str]:
    """The calibrated values' dotted paths: every column but the weight and private ones."""
    return [c for c in samples.columns if c != WEIGHT and not str(c).startswith("_")]


def draw_seed(seed: int) -> np.random.SeedSequence:
    """The stream posterior draws come from, apart from every run's stream of ``seed``."""
    return np.random.SeedSequence(seed, spawn_key=(DRAW_STREAM,))


def draw(samples: pd.DataFrame, n: int, seed: int) -> list[dict[str, float]]:
    """``n`` parameter sets drawn with replacement in proportion to the weights (so a weighted
    posterior is resampled, an equally weighted one bootstrapped), reproducibly from ``seed``."""
    rng = np.random.default_rng(draw_seed(seed))
    weights = samples[WEIGHT].to_numpy(float) if WEIGHT in samples else None
    p = None if weights is None else weights / weights.sum()
    rows = rng.choice(len(samples), size=n, replace=True, p=p)
    names = parameters(samples)
    table = samples[names].to_numpy(float)
    return [{name: float(table[r, j]) for j, name in enumerate(names)} for r in rows]


def apply(data: dict[str, Any], values: dict[str, float]) -> dict[str, Any]:
    """Scenario data with the drawn values set at their paths (a copy; ``data`` is untouched).
    A path the scenario does not have is a :class:`PosteriorError` naming it."""
    import copy

    from sim.scenario.paths import set_path

    out = copy.deepcopy(data)
    for path, value in values.items():
        try:
            set_path(out, path, value)
        except KeyError as err:
            raise PosteriorError(f"posterior parameter {path!r}: the scenario has no "
                                 f"{err.args[0]!r}") from None
    return out
