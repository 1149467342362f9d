"""Social influence on the citizen network: bounded confidence (Deffuant-Weisbuch).

Each week every citizen talks with one network neighbour picked at random. If their opinions
differ by less than the confidence bound ``d``, the citizen moves a share ``mu`` of the way toward
the neighbour; otherwise not at all (Deffuant, Neau, Amblard & Weisbuch 2000). All citizens move
at once from last week's opinions (synchronous update). The rule runs alone on any opinion array
and CSR network (:func:`deffuant`), which is how it is checked against the known results: from a
uniform start, consensus iff ``d >= 1/2``; about ``floor(1 / (2d))`` clusters below that.
"""

from __future__ import annotations

import numba as nb
import numpy as np
import scipy.sparse as sp

from sim.intrinsics import copy_row4, prefetch_row


@nb.njit(cache=True, inline="always")
def pick_partner(indptr, indices, i, u):
    """Citizen i's partner for uniform draw ``u`` in [0, 1): a random neighbour, or -1."""
    start, end = indptr[i], indptr[i + 1]
    if end == start:
        return -1
    k = start + int(u * (end - start))
    return indices[min(k, end - 1)]


@nb.njit(cache=True, inline="always")
def pull(x, y, bound, rate):
    """Change in opinion ``x`` from meeting ``y``: ``rate * (y - x)`` if ``|y - x| < bound``."""
    gap = y - x
    return rate * gap if abs(gap) < bound else gap * 0  # keeps the float type of the inputs


@nb.njit(cache=True, nogil=True)
def partners(indptr, indices, draw, out):
    """Every citizen's partner for this step (``draw`` holds one uniform per citizen). For a
    slice of citizens from ``start``, pass ``indptr[start:stop + 1]`` and the whole
    ``indices``."""
    for i in range(out.shape[0]):
        out[i] = pick_partner(indptr, indices, i, draw[i])


@nb.njit(cache=True, nogil=True)
def gather(opinions, partner, out, first=0):
    """Copy each citizen's partner's row of ``opinions`` into ``out`` (own row if no partner).
    ``partner`` and ``out`` may be the slice of citizens from ``first`` on; ``opinions`` is all
    of them.

    A pass of its own: a simple loop keeps many cache misses in flight, which the long
    update loop cannot (measured: half the cost of gathering inside the update). Rows of four
    contiguous values (the model's trust rows as 64-bit words, sim.trust.step) are copied as
    one vector (:func:`copy_row4`), and the row wanted ``GATHER_AHEAD`` citizens later is
    prefetched.
    """
    n, k = out.shape
    rows4 = (k == 4 and opinions.strides[1] == opinions.itemsize
             and out.strides[1] == out.itemsize)
    for i in range(n):
        j = partner[i] if partner[i] >= 0 else first + i
        if rows4:
            if i + GATHER_AHEAD < n:
                later = partner[i + GATHER_AHEAD]
                prefetch_row(opinions, later if later >= 0 else first + i + GATHER_AHEAD)
            copy_row4(out, i, opinions, j)
        else:
            for c in range(k):
                out[i, c] = opinions[j, c]


#: How many citizens ahead :func:`gather` prefetches a partner's row.
GATHER_AHEAD = 64


@nb.njit(cache=True)
def bounded_confidence(opinions, neighbour, bound, rate, out):
    """One synchronous Deffuant step on (n, k) opinions given each one's partner's opinions."""
    n, k = opinions.shape
    for i in range(n):
        for c in range(k):
            x = opinions[i, c]
            out[i, c] = x + pull(x, neighbour[i, c], bound, rate)


def deffuant(
    opinions: np.ndarray, network: sp.csr_array, bound: float, rate: float, steps: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """Run the rule alone for ``steps`` synchronous steps; returns the final opinions."""
    x = np.array(opinions, dtype=np.float64).reshape(len(opinions), -1)
    out, neighbour = np.empty_like(x), np.empty_like(x)
    partner = np.empty(len(x), dtype=np.int64)
    indptr, indices = network.indptr, network.indices
    for _ in range(steps):
        partners(indptr, indices, rng.random(len(x)), partner)
        gather(x, partner, neighbour)
        bounded_confidence(x, neighbour, bound, rate, out)
        x, out = out, x
    return x.reshape(np.shape(opinions))


def clusters(opinions: np.ndarray, gap: float = 0.01) -> np.ndarray:
    """Sizes of opinion clusters (runs of sorted opinions closer than ``gap``), largest first."""
    x = np.sort(np.asarray(opinions).ravel())
    breaks = np.flatnonzero(np.diff(x) > gap)
    sizes = np.diff(np.concatenate(([0], breaks + 1, [len(x)])))
    return np.sort(sizes)[::-1]
