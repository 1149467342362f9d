"""The static citizen network: households, neighbourhoods and a few long-range ties.

Citizens are numbered household by household, so household members and neighbours (the nearest
ids on either side) sit next to each other in memory: a gather of a neighbour's trust mostly hits
the cache. The citizen order is also a map: it runs place by place (sim.population lays out one
run of citizens per region and deprivation quintile), and households and local ties stay inside
their run, so the people a citizen lives beside share its region. A few random long-range ties
per citizen, drawn as random pairings so every tie is mutual, make it a small world
(Newman-Watts style) and may cross regions. The result is a symmetric CSR adjacency
(``scipy.sparse.csr_array``) built in two passes without sorting, so ten million citizens take
seconds. The network's shape, :class:`NetworkParams`, is data (sim.params), imported from here
too.
"""

from __future__ import annotations

import numba as nb
import numpy as np
import scipy.sparse as sp

from sim.params import NetworkParams

#: Household sizes 1..5 (5 = five or more): roughly the UK distribution, mean about 2.4 people
#: per household [R: ONS Families and Households 2021; not in domain.md].
HOUSEHOLD_SIZE_SHARES = np.array([0.30, 0.34, 0.15, 0.13, 0.08])


def household_sizes(n: int, rng: np.random.Generator) -> np.ndarray:
    """Sizes of consecutive households that together hold exactly ``n`` citizens."""
    mean = float(HOUSEHOLD_SIZE_SHARES @ np.arange(1, 6))
    sizes = rng.choice(np.arange(1, 6), size=int(n / mean * 1.1) + 10, p=HOUSEHOLD_SIZE_SHARES)
    while sizes.sum() < n:  # rarely, for small n: draw more households (the first stay)
        more = rng.choice(np.arange(1, 6), size=len(sizes) // 2 + 10, p=HOUSEHOLD_SIZE_SHARES)
        sizes = np.concatenate([sizes, more])
    ends = np.cumsum(sizes)
    k = int(np.searchsorted(ends, n))  # first household reaching n
    sizes = sizes[: k + 1].copy()
    sizes[-1] -= ends[k] - n
    return sizes[sizes > 0]


def random_pairings(n: int, rounds: int, rng: np.random.Generator) -> np.ndarray:
    """``rounds`` random perfect matchings: ``partner[r, i]`` is i's partner (-1 if none)."""
    partner = np.full((rounds, n), -1, dtype=np.int32)
    for r in range(rounds):
        perm = rng.permutation(n).astype(np.int32)
        a, b = perm[0 : n - 1 : 2], perm[1:n:2]
        partner[r, a], partner[r, b] = b, a
    return partner


@nb.njit(cache=True)
def _fill_rows(household_start, household_end, local_ties, partner, place_end, indptr, indices,
               write):
    """Count (``write`` false) or write each citizen's neighbours: household, local (inside the
    citizen's place, the run ending at the next of ``place_end``), long-range."""
    n = household_start.shape[0]
    count = not write
    b, lo = 0, 0
    for i in range(n):
        while place_end[b] <= i:  # the place (run of citizens) that holds i
            lo = place_end[b]
            b += 1
        hi = place_end[b]
        pos = indptr[i]
        start, end = household_start[i], household_end[i]
        for j in range(start, end):  # household members
            if j != i:
                if not count:
                    indices[pos] = j
                pos += 1
        for off in range(-local_ties, local_ties + 1):  # neighbouring households
            j = i + off
            if lo <= j < hi and (j < start or j >= end):
                if not count:
                    indices[pos] = j
                pos += 1
        for r in range(partner.shape[0]):  # long-range ties, unless already local
            j = partner[r, i]
            local = abs(j - i) <= local_ties and lo <= j < hi
            if j >= 0 and not local and (j < start or j >= end):
                if not count:
                    indices[pos] = j
                pos += 1
        if count:
            indptr[i + 1] = pos - indptr[i]


def build_network(n: int, rng: np.random.Generator, shape: NetworkParams | None = None,
                  places: np.ndarray | None = None) -> sp.csr_array:
    """A symmetric, unweighted citizen network as CSR (int32 indices, rows in memory order).

    ``places``: the ends of consecutive runs of citizens (the last is ``n``) that households and
    local ties do not cross; None: one run of all ``n``."""
    shape = shape or NetworkParams()
    local_ties, long_range_ties = shape.local_ties, shape.long_range_ties
    place_end = np.array([n] if places is None else places, dtype=np.int64)
    if len(place_end) == 0 or place_end[-1] != n or (np.diff(place_end) < 0).any():
        raise ValueError("places: increasing ends of runs of citizens, the last one n")
    counts = np.diff(place_end, prepend=0)
    sizes = np.concatenate([household_sizes(int(k), rng) for k in counts if k > 0])
    ends = np.cumsum(sizes).astype(np.int64)
    household_end = np.repeat(ends, sizes)
    household_start = household_end - np.repeat(sizes, sizes)
    partner = random_pairings(n, long_range_ties, rng)
    indptr = np.zeros(n + 1, dtype=np.int64)
    _fill_rows(household_start, household_end, local_ties, partner, place_end, indptr,
               np.empty(0, np.int32), False)
    np.cumsum(indptr, out=indptr)
    indices = np.empty(int(indptr[-1]), dtype=np.int32)
    _fill_rows(household_start, household_end, local_ties, partner, place_end, indptr, indices,
               True)
    if indptr[-1] < np.iinfo(np.int32).max:  # scipy upcasts both to the wider index dtype
        indptr = indptr.astype(np.int32)
    data = np.ones(indices.shape[0], dtype=np.int8)
    return sp.csr_array((data, indices, indptr), shape=(n, n))


@nb.njit(cache=True)
def place_like_with_like(fresh, repeat, out):
    """Segments along the citizen order: citizen i repeats citizen i-1's segment where
    ``repeat[i]``, else takes its own draw ``fresh[i]``. A Markov chain whose stationary
    distribution is that of ``fresh``, so the segment shares are unchanged in expectation."""
    for i in range(fresh.shape[0]):
        out[i] = out[i - 1] if i > 0 and repeat[i] else fresh[i]


def assortativity(network: sp.csr_array, labels: np.ndarray) -> float:
    """Newman's (2003) assortativity coefficient of categorical labels over the network's ties:
    1 when every tie joins like with like, 0 when ties ignore the labels."""
    k = int(labels.max()) + 1
    rows = np.repeat(np.arange(network.shape[0]), np.diff(network.indptr))
    mix = np.zeros((k, k))
    np.add.at(mix, (labels[rows], labels[network.indices]), 1.0)
    mix /= mix.sum()
    a = mix.sum(axis=1)
    return float((np.trace(mix) - a @ a) / (1.0 - a @ a))
