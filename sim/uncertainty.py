"""Results over a posterior: each replicate runs with a parameter set drawn from a calibration's
posterior (:mod:`sim.posterior`), and the spread of an output is split into the part due to the
parameters and the part due to the seeds.

With ``draws`` parameter sets and R replicates (R a multiple of ``draws``), replicate r takes
draw r mod ``draws``, so each draw runs on R / ``draws`` seeds: a balanced one-way design. At a
step, with draw means m_d and S seeds per draw, the seed variance is the mean within-draw
variance s_w^2, and the parameter variance is var(m_d) - s_w^2 / S (the method-of-moments
estimate of a random-effects ANOVA, floored at 0). With one seed per draw (``draws`` = R, the
default) the two cannot be told apart, and only the total is reported.

Replicate seeds are unchanged by a posterior; draws come from the posterior's own seed stream
(:func:`sim.posterior.draw_seed`), so the same seed draws the same parameter sets.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim import posterior
from sim.runner import Task


def draws_for(folder: str | os.PathLike[str], replicates: int, draws: int | None, seed: int,
              ) -> tuple[list[dict[str, float]], pd.DataFrame]:
    """The parameter sets of a run's replicates (one per replicate, in order) and the samples
    they come from. ``draws`` must divide ``replicates``."""
    samples = posterior.load(folder)
    n = replicates if draws is None else draws
    if n < 1 or replicates % n:
        raise posterior.PosteriorError(
            f"--posterior-draws {n} must divide the replicates ({replicates}), so that every "
            "parameter set runs on as many seeds")
    sets = posterior.draw(samples, n, seed)
    samples.attrs["scope"] = posterior.scope(folder)
    return [sets[r % n] for r in range(replicates)], samples


def apply_to_tasks(tasks: Sequence[Task], sets: Sequence[dict[str, float]],
                   where: posterior.Scope | None = None) -> list[Task]:
    """The tasks with replicate r's parameter set written into its scenario: the values that
    apply to it (``where``: all in a scenario the posterior was fitted to, else the shared
    ones). Checked: a path the scenario lacks, or a value it does not allow, is a
    PosteriorError."""
    from pydantic import ValidationError

    from sim import scenario as sc

    out = []
    for task in tasks:
        values = sets[task.replicate]
        if where is not None:
            values = posterior.restrict(values, where, str(task.scenario.get("name", "")))
        data = posterior.apply(task.scenario, values)
        try:
            sc.Scenario.model_validate(data)
        except ValidationError as err:
            e = err.errors()[0]
            raise posterior.PosteriorError(
                f"posterior parameter set of replicate {task.replicate}: "
                f"{'.'.join(map(str, e['loc']))}: {e['msg']}") from None
        out.append(Task(data, task.replicate, task.entropy, task.spawn_key))
    return out


def spread(df: pd.DataFrame, draws: int, steps: Sequence[int]) -> dict[str, Any]:
    """Per output and step: total sd across replicates, and (with more than one seed per
    draw) the sd due to the seeds and the sd due to the parameters."""
    replicates = int(df["replicate"].nunique())
    seeds = replicates // draws
    outputs = [c for c in df.columns if c not in ("scenario", "replicate", "step")]
    out: dict[str, Any] = {}
    for col in outputs:
        by_step = {}
        for s in steps:
            part = df[df.step == s]
            if part.empty or part[col].isna().all():
                continue
            values = part.set_index("replicate")[col].sort_index().to_numpy(float)
            entry = {"total_sd": float(np.std(values, ddof=1)) if len(values) > 1 else 0.0}
            if seeds > 1 and draws > 1:
                groups = values.reshape(seeds, draws).T  # replicate r = draw r mod draws
                within = float(groups.var(axis=1, ddof=1).mean())
                between = float(groups.mean(axis=1).var(ddof=1)) - within / seeds
                entry.update({"seed_sd": float(np.sqrt(within)),
                              "parameter_sd": float(np.sqrt(max(between, 0.0)))})
            by_step[str(s)] = entry
        out[col] = by_step
    return out


def section(folder: str | os.PathLike[str], samples: pd.DataFrame, sets: Sequence[dict],
            draws: int, replicates: int, seed: int) -> dict[str, Any]:
    """What summary.json and the manifest record about the posterior a run drew from."""
    from sim import report

    path = Path(folder)
    file = path / posterior.FILE if path.is_dir() else path
    return {"folder": str(path), "file_sha256": report.file_sha256(file),
            "samples": len(samples), "parameters": posterior.parameters(samples),
            **_scope_note(samples.attrs.get("scope")),
            "draws": draws, "seeds_per_draw": replicates // draws,
            "draw_seed": f"sim.posterior.draw_seed({seed})",
            "replicate_parameters": [dict(s) for s in sets]}


def _scope_note(where: posterior.Scope | None) -> dict[str, Any]:
    if where is None or where.fitted is None or where.shared is None:
        return {}
    return {"fitted_to": sorted(where.fitted), "shared_parameters": sorted(where.shared)}
