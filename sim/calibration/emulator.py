"""History matching: Gaussian-process emulators of the fit targets and their implausibility.

An emulator per target point is a scikit-learn ``GaussianProcessRegressor`` on the parameters
scaled to [0, 1], fitted to the replicate means of one wave's design points (each wave's
design lies in the space earlier waves left, so its emulators resolve that space): a constant
times a Matern (nu = 2.5, one length scale per parameter) kernel plus a white-noise term,
targets normalised,
hyperparameters by maximum marginal likelihood from a fixed ``random_state``. The implausibility
of a parameter set x for target j (Vernon, Goldstein and Bower 2010; Andrianakis et al. 2015) is

    I_j(x) = |z_j - E[f_j(x)]| / sqrt(V_obs,j + V_em,j(x) + V_seed,j + V_md,j)

with z_j the observation, V_obs its variance, V_em the emulator's predictive variance, V_seed the
variance of one run across seeds (pooled over the design points: seed noise as model
discrepancy) and V_md any further discrepancy. x is not ruled out (NROY) while max_j I_j(x) is
below the cutoff (3, by Pukelsheim's three-sigma rule).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np


@dataclass
class Emulator:
    """GP emulators of J outputs over a box [lo, hi] of D parameters."""

    lo: np.ndarray
    hi: np.ndarray
    models: list

    def _scale(self, X: np.ndarray) -> np.ndarray:
        return (np.asarray(X, float) - self.lo) / (self.hi - self.lo)

    def predict(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Means and variances, each (n, J)."""
        Z = self._scale(X)
        means, variances = [], []
        for gp in self.models:
            m, s = gp.predict(Z, return_std=True)
            means.append(m)
            variances.append(s**2)
        return np.column_stack(means), np.column_stack(variances)


def fit(X: np.ndarray, Y: np.ndarray, lo: np.ndarray, hi: np.ndarray,
        seed: int = 0) -> Emulator:
    """Emulators of each column of ``Y`` (n, J) on the design ``X`` (n, D)."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

    lo, hi = np.asarray(lo, float), np.asarray(hi, float)
    em = Emulator(lo, hi, [])
    Z = em._scale(X)
    D = Z.shape[1]
    for j in range(Y.shape[1]):
        kernel = (ConstantKernel(1.0, (1e-3, 1e3))
                  * Matern(length_scale=np.full(D, 0.5), length_scale_bounds=(1e-2, 1e2),
                           nu=2.5)
                  + WhiteKernel(1e-2, (1e-8, 1.0)))
        gp = GaussianProcessRegressor(kernel, normalize_y=True, n_restarts_optimizer=2,
                                      random_state=seed + j)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            gp.fit(Z, Y[:, j])
        em.models.append(gp)
    return em


def implausibility(mean: np.ndarray, var: np.ndarray, z: np.ndarray,
                   other_var: np.ndarray) -> np.ndarray:
    """I (n, J) from emulator means and variances, observations ``z`` (J) and the other
    variances (observation + seed noise + discrepancy, J)."""
    return np.abs(z - mean) / np.sqrt(var + other_var)


def nroy(emulators: list[Emulator], X: np.ndarray, z: np.ndarray, other_var: np.ndarray,
         cutoff: float) -> np.ndarray:
    """Which rows of X no wave's emulator rules out (max implausibility below the cutoff)."""
    keep = np.ones(len(X), dtype=bool)
    for em in emulators:
        if not keep.any():
            break
        m, v = em.predict(X[keep])
        ok = implausibility(m, v, z, other_var).max(axis=1) < cutoff
        idx = np.flatnonzero(keep)
        keep[idx[~ok]] = False
    return keep
