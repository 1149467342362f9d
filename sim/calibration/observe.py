"""What a calibration run reports: the model's outputs plus survey shares of trust.

A survey asks whether an agency is trusted; the model has each citizen's latent trust. The
measurement model (docs/calibration.md) reads a survey answer as latent trust above a fixed
threshold, the threshold chosen so that the share above it at the start (step 0) is the share
the survey reported before the episode: ``share_above_<agency>_<pp>`` is the share of citizens
whose trust in ``<agency>`` (or ``general``) exceeds the level that ``pp`` percent exceeded at
step 0, for pp = 1..99. The start share restates an input; the later shares are predictions.

This runs in the sweep engine's workers (``observe`` of :class:`sim.sweeps.engine.Context`),
so it imports only what a run needs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim import runner, stop
from sim import scenario as sc

PERCENTS = np.arange(1, 100)


def share_name(agency: str, percent: int) -> str:
    """The output of the share above the threshold that ``percent``% exceeded at the start."""
    return f"share_above_{agency}_{int(percent)}"


def thresholds(trust0: np.ndarray) -> np.ndarray:
    """The trust levels that 1..99 % of citizens exceed at the start."""
    return np.quantile(trust0.astype(np.float64), 1.0 - PERCENTS / 100.0)


def shares(trust: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """Share of ``trust`` strictly above each level."""
    ordered = np.sort(trust.astype(np.float64))
    return (len(ordered) - np.searchsorted(ordered, levels, side="right")) / len(ordered)


def survey(scenario: sc.Scenario, seed: np.random.SeedSequence) -> pd.DataFrame:
    """One replicate's time series (as :func:`sim.runner.run_replicate`) with the survey
    shares of every agency and of general trust at every step."""
    model = scenario.build(rng=seed, citizen_agents=False)
    columns = dict(model.column)
    trust = model.citizens.trust
    levels = {name: thresholds(trust[:, k]) for name, k in columns.items()}
    rows = [{name: shares(trust[:, k], levels[name]) for name, k in columns.items()}]
    with stop.between_steps():
        for _ in range(scenario.steps):
            stop.stop_point()
            model.step()
            rows.append({name: shares(trust[:, k], levels[name]) for name, k in columns.items()})
        stop.stop_point()
    df = model.timeseries()
    runner.release(model)
    extra = {share_name(name, p): [row[name][j] for row in rows]
             for name in columns for j, p in enumerate(PERCENTS)}
    return pd.concat([df, pd.DataFrame(extra)], axis=1)

