"""The design of a sweep: the SALib problem, the sample of design points and their seeds.

Sobol (``SALib.sample.sobol``, N(D+2) points, N(2D+2) with second order), Morris
(``SALib.sample.morris``, N(D+1)), Latin hypercube (``SALib.sample.latin``, N) and full-factorial
grids. Every sampler is seeded with the spec's seed. Replicate r of every design point uses the
same seed, ``SeedSequence(seed).spawn(replicates)[r]`` (common random numbers across points).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.sweeps.spec import DUMMY, SweepSpec


@dataclass
class Design:
    """Design points (rows of X, in parameter order ``names``) and replicate seeds."""

    problem: dict[str, Any]
    X: np.ndarray
    points: list[dict[str, Any]]
    seeds: list[tuple[int, tuple[int, ...]]]
    sampler: str
    block: int  # rows per base point (sobol D+2, morris D+1; else 1)


def problem(spec: SweepSpec) -> dict[str, Any]:
    """The SALib problem: names, bounds and (if any is not uniform) dists."""
    names = spec.names()
    bounds: list[list[float]] = []
    dists: list[str] = []
    for p in spec.parameters:
        bounds.append(list(p.bounds) if p.bounds is not None else [0.0, float(len(p.values))])
        dists.append(p.dist)
    if DUMMY in names:
        bounds.append([0.0, 1.0])
        dists.append("unif")
    out: dict[str, Any] = {"num_vars": len(names), "names": names, "bounds": bounds}
    if any(d != "unif" for d in dists):
        out["dists"] = dists
    return out


def _value(p, x: float) -> Any:
    if p.integer:
        return int(np.rint(x))
    return float(x)


def build(spec: SweepSpec) -> Design:
    """The design points of ``spec`` (with its seeds)."""
    prob = problem(spec)
    D = len(spec.names())
    if spec.method == "sobol":
        from SALib.sample import sobol

        X = sobol.sample(prob, spec.n, calc_second_order=spec.second_order, seed=spec.seed)
        sampler = f"SALib.sample.sobol.sample(N={spec.n}, calc_second_order=" \
                  f"{spec.second_order}, scramble=True, seed={spec.seed})"
        block = 2 * D + 2 if spec.second_order else D + 2
    elif spec.method == "morris":
        from SALib.sample import morris

        X = morris.sample(prob, spec.n, num_levels=spec.num_levels, seed=spec.seed)
        sampler = f"SALib.sample.morris.sample(N={spec.n}, num_levels={spec.num_levels}, " \
                  f"seed={spec.seed})"
        block = D + 1
    elif spec.method == "lhs":
        from SALib.sample import latin

        X = latin.sample(prob, spec.n, seed=spec.seed)
        sampler = f"SALib.sample.latin.sample(N={spec.n}, seed={spec.seed})"
        block = 1
    else:
        levels = []
        for p in spec.parameters:
            if p.values is not None:
                levels.append(list(p.values))
            else:
                grid = np.linspace(p.bounds[0], p.bounds[1], spec.n)
                levels.append([_value(p, x) for x in grid])
        combos = list(itertools.product(*levels))
        X = np.zeros((len(combos), 0))
        points = [dict(zip(spec.names(), c, strict=True)) for c in combos]
        sampler = f"full factorial of {' x '.join(str(len(v)) for v in levels)} levels"
        return Design(prob, X, points, _seeds(spec), sampler, 1)
    points = []
    for row in X:
        point = {}
        for p, x in zip(spec.parameters, row, strict=False):
            point[p.path] = _value(p, x)
        if spec.dummy:
            point[DUMMY] = float(row[-1])
        points.append(point)
    return Design(prob, X, points, _seeds(spec), sampler, block)


def _seeds(spec: SweepSpec) -> list[tuple[int, tuple[int, ...]]]:
    children = np.random.SeedSequence(spec.seed).spawn(spec.replicates)
    return [(int(c.entropy), tuple(int(k) for k in c.spawn_key)) for c in children]


def design_matrix(design: Design, spec: SweepSpec) -> np.ndarray:
    """X as analysed: the values the model saw (integer parameters rounded)."""
    X = np.array([[pt[name] for name in spec.names()] for pt in design.points], dtype=float)
    return X
