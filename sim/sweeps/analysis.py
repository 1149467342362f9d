"""From runs to indices: time-resolved Sobol/Morris indices, seed-noise share, convergence.

For each output and kept step, the replicate mean at every design point goes to SALib's
functional analyzers (``SALib.analyze.sobol.analyze`` / ``SALib.analyze.morris.analyze``), seeded,
with ``num_resamples`` bootstrap resamples and ``conf_level``. A step at which an output does not
vary across the design (the same at every point: nothing to apportion) has no indices and is
listed as skipped. The seed-noise share is the mean variance across replicates within a design
point over the variance across all runs at that step (population variances, so that it is the
empirical E[Var(Y | X)] / Var(Y), in [0, 1]; with common random numbers the replicates at each
point share their seeds, so this is the part of the output's spread the seeds account for).
Convergence repeats the analysis of the last step on prefixes of the same nested design: N/8,
N/4, N/2 and N base points (Sobol rows come in blocks of D+2 per base point, Morris in
trajectories of D+1).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from sim.sweeps.design import Design
from sim.sweeps.spec import SweepSpec

SOBOL_COLUMNS = ["output", "step", "parameter", "S1", "S1_conf", "ST", "ST_conf"]
MORRIS_COLUMNS = ["output", "step", "parameter", "mu", "mu_star", "mu_star_conf", "sigma"]


def means(runs: pd.DataFrame, output: str, n_points: int) -> pd.DataFrame:
    """Replicate mean of ``output`` by design point (rows, all points) and step (columns)."""
    table = runs.pivot_table(index="point", columns="step", values=output, aggfunc="mean")
    return table.reindex(range(n_points))


def _analyze(spec: SweepSpec, design: Design, X: np.ndarray, Y: np.ndarray) -> dict[str, Any]:
    problem = design.problem
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        if spec.method == "sobol":
            from SALib.analyze import sobol

            return sobol.analyze(problem, Y, calc_second_order=spec.second_order,
                                 num_resamples=spec.num_resamples, conf_level=spec.conf_level,
                                 print_to_console=False, seed=spec.seed)
        from SALib.analyze import morris

        return morris.analyze(problem, X, Y, num_resamples=spec.num_resamples,
                              conf_level=spec.conf_level, print_to_console=False,
                              num_levels=spec.num_levels, seed=spec.seed)


def _rows(spec: SweepSpec, result: dict[str, Any], names: list[str], output: str,
          step: int) -> list[dict[str, Any]]:
    rows = []
    for i, name in enumerate(names):
        row: dict[str, Any] = {"output": output, "step": int(step), "parameter": name}
        if spec.method == "sobol":
            for k in ("S1", "S1_conf", "ST", "ST_conf"):
                row[k] = float(result[k][i])
        else:
            for k in ("mu", "mu_star", "mu_star_conf", "sigma"):
                row[k] = float(result[k][i])
        rows.append(row)
    return rows


def _usable(Y: np.ndarray) -> bool:
    return bool(np.isfinite(Y).all() and np.ptp(Y) > 1e-12 * max(1.0, float(np.abs(Y).max())))


def indices(spec: SweepSpec, design: Design, runs: pd.DataFrame,
            X: np.ndarray) -> tuple[pd.DataFrame, pd.DataFrame, list[dict[str, Any]]]:
    """Indices per output and step (sobol or morris), second-order indices (sobol, if asked),
    and the (output, step) pairs skipped with the reason."""
    names = design.problem["names"]
    rows, s2rows, skipped = [], [], []
    for output in spec.outputs:
        table = means(runs, output, len(design.points))
        for step in table.columns:
            Y = table[step].to_numpy(dtype=float)
            if not np.isfinite(Y).all():
                skipped.append({"output": output, "step": int(step),
                                "reason": "design points without any successful run"})
                continue
            if not _usable(Y):
                skipped.append({"output": output, "step": int(step),
                                "reason": "the output is the same at every design point"})
                continue
            result = _analyze(spec, design, X, Y)
            rows += _rows(spec, result, names, output, step)
            if spec.method == "sobol" and spec.second_order:
                for i, a in enumerate(names):
                    for j in range(i + 1, len(names)):
                        s2rows.append({"output": output, "step": int(step), "parameter": a,
                                       "other": names[j], "S2": float(result["S2"][i, j]),
                                       "S2_conf": float(result["S2_conf"][i, j])})
    columns = SOBOL_COLUMNS if spec.method == "sobol" else MORRIS_COLUMNS
    return pd.DataFrame(rows, columns=columns), pd.DataFrame(s2rows), skipped


def convergence(spec: SweepSpec, design: Design, runs: pd.DataFrame,
                X: np.ndarray) -> pd.DataFrame:
    """Indices at the last step from the first N/8, N/4, N/2 and N base points."""
    sizes = sorted({spec.n // d for d in (8, 4, 2, 1) if spec.n // d >= 2})
    last = int(runs["step"].max())
    names = design.problem["names"]
    rows = []
    for output in spec.outputs:
        Y_all = means(runs, output, len(design.points))[last].to_numpy(dtype=float)
        for n in sizes:
            m = n * design.block
            Y, Xp = Y_all[:m], X[:m]
            if not _usable(Y):
                continue
            result = _analyze(spec, design, Xp, Y)
            for row in _rows(spec, result, names, output, last):
                rows.append({"n": n, "runs": m * spec.replicates, **row})
    return pd.DataFrame(rows)


def noise(spec: SweepSpec, runs: pd.DataFrame) -> pd.DataFrame:
    """Per output and step: variance within design points (seeds) over total variance."""
    rows = []
    for output in spec.outputs:
        # population variances (ddof=0): total = variance of point means + mean within-point
        # variance, so the share lies in [0, 1] (law of total variance)
        within = runs.groupby(["step", "point"])[output].var(ddof=0).groupby("step").mean()
        total = runs.groupby("step")[output].var(ddof=0)
        for step in total.index:
            t, w = float(total[step]), float(within.get(step, np.nan))
            rows.append({"output": output, "step": int(step), "within_var": w,
                         "total_var": t, "seed_share": w / t if t > 0 else np.nan})
    return pd.DataFrame(rows, columns=["output", "step", "within_var", "total_var",
                                       "seed_share"])


def points(spec: SweepSpec, runs: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    """Per design point and kept step: parameters, mean and sd of each output over replicates."""
    group = runs.groupby(["point", "step"], sort=True)
    stats = group[spec.outputs].agg(["mean", "std"])
    stats.columns = [f"{o}_{s.replace('std', 'sd')}" for o, s in stats.columns]
    params = group[names].first()
    n = group.size().rename("replicates")
    return pd.concat([params, n, stats], axis=1).reset_index()


def policy_table(pts: pd.DataFrame, levers: list[str], context: list[str],
                 reference: dict[str, Any], benefit: str = "service_benefit",
                 trust: str = "trust_mean", collapse: float = 0.1) -> pd.DataFrame:
    """Per grid point: the change in end-of-run ``benefit`` against the ``reference`` levers in
    the same context (the other grid parameters), the lowest ``trust`` over the run and whether
    trust collapsed (fell more than ``collapse`` below its start at any kept step). A lever
    setting is a win where benefit rises and trust does not collapse."""
    first, last = pts.step.min(), pts.step.max()
    start = pts[pts.step == first].set_index("point")[f"{trust}_mean"]
    low = pts.groupby("point")[f"{trust}_mean"].min()
    end = pts[pts.step == last].set_index("point")
    table = end[[*levers, *context, f"{benefit}_mean", f"{trust}_mean"]].copy()
    table["trust_start"] = start
    table["trust_min"] = low
    table["trust_collapse"] = (start - low) > collapse
    is_ref = np.logical_and.reduce([table[k] == v for k, v in reference.items()])
    ref = table[is_ref].set_index(context)[f"{benefit}_mean"] if context else \
        table[is_ref][f"{benefit}_mean"]
    if context:
        keys = pd.MultiIndex.from_frame(table[context]) if len(context) > 1 else table[context[0]]
        table[f"{benefit}_change"] = table[f"{benefit}_mean"].to_numpy() - \
            ref.reindex(keys).to_numpy()
    else:
        table[f"{benefit}_change"] = table[f"{benefit}_mean"] - float(ref.iloc[0])
    table["win"] = (table[f"{benefit}_change"] > 0) & ~table["trust_collapse"]
    return table.reset_index()
