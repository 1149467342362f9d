"""A calibration's posterior as data, and parameter sets drawn from it.

A posterior folder (what ``trustsim calibrate`` writes, docs/calibration.md) holds
``posterior.parquet``: one row per posterior sample, one column per calibrated value named by its
dotted scenario path (``params.gain_rate``, ``programmes.gp_records.friction``: the paths of
``--set`` and of sweep specs), and optionally a ``weight`` column (importance weights; equal
weights if absent). ``run``, ``compare`` and the frontier draw parameter sets from it, so their
results carry parameter uncertainty beside seed noise.

A posterior fitted to one episode carries parameters of that episode (the severity of its press
story, the salience of its deadline) beside parameters of citizens and programmes that hold in
any episode (``shared: true`` in the calibration spec). :func:`scope` reads which are which from
the folder's ``posterior_summary.csv`` and ``targets.csv``: a scenario the posterior was fitted
to takes every parameter, any other scenario only the shared ones (:func:`restrict`), so a
timeline index of one episode is never written into another's timeline.

Draws come from their own ``SeedSequence`` stream (``draw_seed``), never from a run's, so adding
a posterior leaves the seeds of the runs unchanged and the same seed draws the same sets.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

FILE = "posterior.parquet"
SUMMARY = "posterior_summary.csv"
TARGETS = "targets.csv"
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


@dataclass(frozen=True)
class Scope:
    """Which scenarios a posterior was fitted to (by name) and which of its parameters carry to
    other scenarios; ``None`` when the folder does not say (then every parameter applies)."""

    fitted: frozenset[str] | None = None
    shared: frozenset[str] | None = None

    def applies(self, scenario: str, path: str) -> bool:
        if self.fitted is None or self.shared is None or scenario in self.fitted:
            return True
        return path in self.shared


def scope(folder: str | os.PathLike[str]) -> Scope:
    """The scope written beside a posterior by ``trustsim calibrate``: the ``shared`` column of
    ``posterior_summary.csv`` and the scenarios of the fit targets in ``targets.csv`` (a
    scenario file is named by its stem, as the shipped files name their scenarios)."""
    path = Path(folder)
    folder_path = path if path.is_dir() else path.parent
    summary, targets = folder_path / SUMMARY, folder_path / TARGETS
    if not (summary.is_file() and targets.is_file()):
        return Scope()
    try:
        table = pd.read_csv(summary)
        fits = pd.read_csv(targets)
        shared = frozenset(table.loc[table["shared"].astype(bool), "parameter"].astype(str))
        fitted = frozenset(Path(str(f)).stem for f in fits.loc[fits["set"] == "fit",
                                                                 "scenario"])
    except (KeyError, ValueError, pd.errors.ParserError) as err:
        raise PosteriorError(f"{summary} / {targets}: cannot read which parameters are shared "
                             f"and which scenarios were fitted ({err})") from None
    return Scope(fitted, shared)


def restrict(values: dict[str, float], where: Scope, scenario: str) -> dict[str, float]:
    """The drawn values that apply to ``scenario`` (all in a fitted one, else the shared)."""
    return {p: v for p, v in values.items() if where.applies(scenario, p)}
