"""Pareto frontier, dominance and bands over arrays: the arithmetic of ``trustsim frontier``.

Plain functions of numpy arrays, so they can be checked alone on hand-made numbers
(tests/test_frontier.py). Every objective is to be maximised (trust, benefit, net value); a
point dominates another if it is at least as good on every objective and better on one, so
tied points never dominate each other and all sit on the frontier together. The bands split
the spread of a summary into the part due to seeds (within a posterior draw) and the part due
to parameter uncertainty (between the draws' means), so the two are never confused.
"""

from __future__ import annotations

import warnings

import numpy as np

LOW, HIGH = 0.1, 0.9  # the band: 10th to 90th percentile


def dominates(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Whether ``a`` dominates ``b`` (both ``(..., k)``, broadcast): at least as good on every
    objective and strictly better on one. NaN never dominates nor is dominated."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    return np.all(a >= b, axis=-1) & np.any(a > b, axis=-1)


def dominance_matrix(points: np.ndarray) -> np.ndarray:
    """``D[i, j]``: point ``i`` dominates point ``j`` (``points`` is ``(n, k)``)."""
    p = np.asarray(points, float)
    return dominates(p[:, None, :], p[None, :, :])


def pareto_front(points: np.ndarray) -> np.ndarray:
    """Boolean mask of the points no other point dominates (the Pareto frontier when every
    objective is maximised); ties are all kept. A point with a NaN is never on it."""
    p = np.asarray(points, float)
    if p.ndim != 2:
        raise ValueError(f"points must be (n, k), got shape {p.shape}")
    finite = np.isfinite(p).all(axis=1)
    return finite & ~dominance_matrix(p).any(axis=0)


def paired_dominance(samples: np.ndarray) -> np.ndarray:
    """``S[i, j]``: the share of paired samples in which mix ``i`` dominates mix ``j``.

    ``samples`` is ``(n_mixes, n_pairs, k)``: pair ``r`` of every mix ran on the same seed and
    posterior draw (common random numbers), so ``S`` compares like with like. Pairs where either
    mix has no result (NaN) are left out of the share; a pair count of 0 gives NaN."""
    s = np.asarray(samples, float)
    ok = np.isfinite(s).all(axis=2)  # (n, r)
    both = ok[:, None, :] & ok[None, :, :]
    wins = dominates(s[:, None, :, :], s[None, :, :, :]) & both
    count = both.sum(axis=2)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, wins.sum(axis=2) / count, np.nan)


def bands(values: np.ndarray) -> dict[str, np.ndarray]:
    """Mean and 10-90% bands of per-run summaries ``values`` shaped ``(n_mixes, n_draws,
    n_seeds)`` (one draw: no posterior).

    * ``mean``: over every run of the mix;
    * ``seed_p10``/``seed_p90``: the mean plus the 10th/90th percentile of each run's deviation
      from its draw's mean (the spread seeds alone give, parameters held fixed);
    * ``post_p10``/``post_p90``: percentiles of the draws' means (seed noise averaged out);
      NaN with a single draw.
    NaN runs (failed) are ignored."""
    v = np.asarray(values, float)
    if v.ndim != 3:
        raise ValueError(f"values must be (mixes, draws, seeds), got shape {v.shape}")
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices: NaN, said once
        mean = np.nanmean(v, axis=(1, 2))
        draw_mean = np.nanmean(v, axis=2)  # (n, d)
        dev = (v - draw_mean[:, :, None]).reshape(v.shape[0], -1)
        seed_lo = mean + np.nanquantile(dev, LOW, axis=1)
        seed_hi = mean + np.nanquantile(dev, HIGH, axis=1)
        if v.shape[1] > 1:
            post_lo = np.nanquantile(draw_mean, LOW, axis=1)
            post_hi = np.nanquantile(draw_mean, HIGH, axis=1)
        else:
            post_lo = post_hi = np.full(v.shape[0], np.nan)
    return {"mean": mean, "seed_p10": seed_lo, "seed_p90": seed_hi, "post_p10": post_lo,
            "post_p90": post_hi}

