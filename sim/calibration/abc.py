"""A fixed-generation ABC-SMC (Beaumont et al. 2009; Toni et al. 2009) on our own engine.

Generation 0 proposes parameter sets from the prior restricted to the space history matching
left (NROY); generation g > 0 resamples the previous particles by weight and perturbs them with
a Gaussian kernel of twice their weighted covariance (Beaumont et al. 2009; Filippi et al.
2013), rejecting proposals outside the prior's box and outside the NROY space. The prior is
thus the uniform prior truncated to the space history matching left (as in McKinley et al.
2018): the truncation removes only parameter sets the emulators rule out at three standard
deviations, and it keeps the importance weights bounded (a proposal outside the previous
population's support would otherwise carry a weight that swamps the rest). Every generation
simulates a fixed number of proposals (one seed each) and keeps the ``particles`` nearest the
observations, but none beyond the previous generation's threshold; the threshold epsilon_g is
the largest distance kept, so the thresholds never rise and fall as the particles improve (a
quantile schedule, Del Moral et al. 2012). A generation that keeps too few particles ends the
sequence. Weights:

    w_i  proportional to  pi(theta_i) / sum_k W_k N(theta_i; theta_k, 2 Sigma)

(truncated uniform prior: pi is constant on the NROY space). The distance is

    d(theta) = sqrt( sum_j (s_j(theta) - z_j)^2 / (V_obs,j + V_seed,j + V_md,j) )

so a target counts by its observation noise, its seed noise and its discrepancy. A fixed number
of simulations per generation, all drawn before any runs, makes the result independent of how
many workers ran them.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def distance(S: np.ndarray, z: np.ndarray, scale_var: np.ndarray) -> np.ndarray:
    """Scaled Euclidean distance of each row of S (n, J) to z (J); NaN rows are infinite."""
    d = np.sqrt((((S - z) ** 2) / scale_var).sum(axis=1))
    return np.where(np.isfinite(d), d, np.inf)


def keep(d: np.ndarray, n: int) -> np.ndarray:
    """Indices of the n smallest distances (ties by index)."""
    return np.argsort(d, kind="stable")[:n]


def accept(d: np.ndarray, n: int, previous: float) -> np.ndarray:
    """The accepted proposals: the n nearest, but none beyond the previous threshold, so the
    thresholds never rise (a noisy model's lucky runs regress in the next generation; a rising
    threshold would accept particles outside the previous population's support, whose weights
    would then swamp the rest)."""
    idx = keep(d, n)
    return idx[d[idx] <= previous]


def covariance(theta: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Twice the weighted covariance of the particles: the perturbation kernel's."""
    w = w / w.sum()
    mean = w @ theta
    c = (theta - mean).T @ ((theta - mean) * w[:, None])
    c = 2.0 * np.atleast_2d(c)
    return c + 1e-12 * np.eye(len(c))


def propose(rng: np.random.Generator, theta: np.ndarray, w: np.ndarray, lo: np.ndarray,
            hi: np.ndarray, n: int,
            support: Callable[[np.ndarray], np.ndarray] | None = None,
            ) -> tuple[np.ndarray, np.ndarray]:
    """n proposals inside the box (and inside ``support``, a mask function: the space history
    matching left), and the kernel covariance used."""
    cov = covariance(theta, w)
    chol = np.linalg.cholesky(cov)
    p = w / w.sum()
    out: list[np.ndarray] = []
    while sum(len(o) for o in out) < n:
        idx = rng.choice(len(theta), size=n, p=p)
        cand = theta[idx] + rng.standard_normal((n, theta.shape[1])) @ chol.T
        cand = cand[((cand >= lo) & (cand <= hi)).all(axis=1)]
        if support is not None and len(cand):
            cand = cand[support(cand)]
        out.append(cand)
    return np.concatenate(out)[:n], cov


def weights(new: np.ndarray, old: np.ndarray, old_w: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """Importance weights of ``new`` particles under a uniform prior (normalised)."""
    prec = np.linalg.inv(cov)
    diff = new[:, None, :] - old[None, :, :]
    q = np.einsum("ikd,de,ike->ik", diff, prec, diff)
    kernel = np.exp(-0.5 * q)  # the normalising constant cancels
    denom = kernel @ (old_w / old_w.sum())
    w = 1.0 / np.maximum(denom, 1e-300)
    return w / w.sum()


def ess(w: np.ndarray) -> float:
    """Effective sample size of normalised weights."""
    w = w / w.sum()
    return float(1.0 / (w**2).sum())


def weighted_quantile(x: np.ndarray, w: np.ndarray, q: float | np.ndarray) -> np.ndarray:
    order = np.argsort(x, kind="stable")
    cw = np.cumsum(w[order]) / w.sum()
    return np.interp(q, cw - w[order] / (2 * w.sum()), x[order])
