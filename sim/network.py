"""The static citizen network: households, neighbourhoods and a few long-range ties.

Citizens are numbered household by household, so household members and neighbours (the nearest
ids on either side) sit next to each other in memory: a gather of a neighbour's trust mostly hits
the cache. The citizen order is also a map: it runs place by place (sim.population lays out one
run of citizens per region and deprivation quintile), and households and local ties stay inside
their run, so the people a citizen lives beside share its region. A few random long-range ties
per citizen, drawn as random pairings so every tie is mutual, make it a small world
(Newman-Watts style) and may cross regions.

The model keeps the network as :class:`Ties`: each citizen's household as two small offsets,
the counts of its local ties before and after the household and of its own long-range ties, and
its long-range partners, 9 bytes per citizen by default, from which :func:`pick_partners` finds
the k-th neighbour in the order of the CSR adjacency (household, then local, then long-range
ties), so a draw picks the same partner as from the list. :meth:`Ties.csr` (and
:func:`build_network`) builds that list, a symmetric CSR adjacency (``scipy.sparse.csr_array``),
in two passes without sorting, for analysis; it would take about 40 bytes per citizen. The
network's shape, :class:`NetworkParams`, is data (sim.params), imported from here too.
"""

from __future__ import annotations

from dataclasses import dataclass

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


@dataclass(frozen=True)
class Ties:
    """The citizen network without its list of ties: citizen g's household runs from
    ``g - back[g]`` up to (not including) ``g + ahead[g]``; its local ties (the ``local_ties``
    nearest citizens on each side, inside its place, outside its household) are the ``left[g]``
    citizens just before the household and the ``right[g]`` just after it; its long-range
    partners are ``partner[r, g]`` (-1: none), ``far[g]`` of which are ties of their own (not
    already household or local). Places: the runs of citizens ending at ``place_end``."""

    back: np.ndarray  # int8
    ahead: np.ndarray  # int8
    left: np.ndarray  # int8
    right: np.ndarray  # int8
    far: np.ndarray  # int8
    partner: np.ndarray  # int32, rounds x n
    place_end: np.ndarray  # int64
    local_ties: int

    @property
    def shape(self) -> tuple[int, int]:
        n = self.back.shape[0]
        return n, n

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in (self.back, self.ahead, self.left, self.right, self.far,
                                      self.partner))

    def csr(self) -> sp.csr_array:
        """The network as a symmetric, unweighted CSR adjacency (int32 indices, rows in memory
        order, each row's ties in the order :func:`pick_partners` counts them)."""
        n = self.shape[0]
        start = np.arange(n, dtype=np.int64) - self.back
        end = np.arange(n, dtype=np.int64) + self.ahead
        indptr = np.zeros(n + 1, dtype=np.int64)
        _fill_rows(start, end, self.local_ties, self.partner, self.place_end, indptr,
                   np.empty(0, np.int32), False)
        np.cumsum(indptr, out=indptr)
        indices = np.empty(int(indptr[-1]), dtype=np.int32)
        _fill_rows(start, end, self.local_ties, self.partner, self.place_end, indptr, indices,
                   True)
        if indptr[-1] < np.iinfo(np.int32).max:  # scipy upcasts both to the wider index dtype
            indptr = indptr.astype(np.int32)
        data = np.ones(indices.shape[0], dtype=np.int8)
        return sp.csr_array((data, indices, indptr), shape=(n, n))


def build_ties(n: int, rng: np.random.Generator, shape: NetworkParams | None = None,
               places: np.ndarray | None = None) -> Ties:
    """The network as :class:`Ties`. ``places``: the ends of consecutive runs of citizens (the
    last is ``n``) that households and local ties do not cross; None: one run of all ``n``."""
    shape = shape or NetworkParams()
    place_end = np.array([n] if places is None else places, dtype=np.int64)
    if len(place_end) == 0 or place_end[-1] != n or (np.diff(place_end) < 0).any():
        raise ValueError("places: increasing ends of runs of citizens, the last one n")
    counts = np.diff(place_end, prepend=0)
    sizes = np.concatenate([household_sizes(int(k), rng) for k in counts if k > 0])
    back, ahead = np.empty(n, np.int8), np.empty(n, np.int8)
    _households(sizes, back, ahead)
    del sizes
    partner = random_pairings(n, shape.long_range_ties, rng)
    left, right, far = (np.empty(n, np.int8) for _ in range(3))
    _count_ties(back, ahead, partner, place_end, shape.local_ties, left, right, far)
    return Ties(back, ahead, left, right, far, partner, place_end, shape.local_ties)


def build_network(n: int, rng: np.random.Generator, shape: NetworkParams | None = None,
                  places: np.ndarray | None = None) -> sp.csr_array:
    """A symmetric, unweighted citizen network as CSR (int32 indices, rows in memory order):
    :func:`build_ties` as a list of ties (:meth:`Ties.csr`)."""
    return build_ties(n, rng, shape, places).csr()


@nb.njit(cache=True)
def _households(sizes, back, ahead):
    """Each citizen's offsets to its household's first member and to the end of it."""
    i = 0
    for s in sizes:
        for m in range(s):
            back[i] = m
            ahead[i] = s - m
            i += 1


@nb.njit(cache=True)
def _count_ties(back, ahead, partner, place_end, local_ties, left, right, far):
    """Each citizen's local ties before and after its household and its own long-range ties
    (as :func:`_fill_rows` lists them)."""
    b, lo = 0, 0
    for g in range(back.shape[0]):
        while place_end[b] <= g:
            lo = place_end[b]
            b += 1
        hi = place_end[b]
        start, end = g - back[g], g + ahead[g]
        left[g] = max(start - max(g - local_ties, lo), 0)
        right[g] = max(min(g + local_ties, hi - 1) - end + 1, 0)
        count = 0
        for r in range(partner.shape[0]):
            count += _far(partner[r, g], g, start, end, lo, hi, local_ties)
        far[g] = count


#: Citizens per block of :func:`pick_partners` (its list stays in cache).
PICK_BLOCK = 1024


@nb.njit(cache=True, nogil=True)
def pick_partners(back, ahead, left, right, far, partner, place_end, local_ties, draw, out,
                  first):
    """Every citizen's partner for uniform ``draw`` (as sim.social_influence.partners on the
    CSR list): its ``int(u * degree)``-th tie, counting household, local and long-range ties in
    the list's order, or -1 without ties. The per-citizen arrays may be the slice of citizens
    from ``first`` on; ``partner`` is all of them.

    Per block of citizens, a branch-free loop picks household and local ties by arithmetic
    (the two runs of local ties lie just before and just after the household) and, with one
    round of long-range ties, the long-range tie (a citizen's only one); with more rounds, it
    lists those whose pick is a long-range tie and a second loop picks those."""
    n = out.shape[0]
    rounds = partner.shape[0]
    todo = np.empty(PICK_BLOCK, np.int64)
    rest = np.empty(PICK_BLOCK, np.int64)
    for s in range(0, n, PICK_BLOCK):
        e = min(s + PICK_BLOCK, n)
        back_b, ahead_b, left_b, right_b = back[s:e], ahead[s:e], left[s:e], right[s:e]
        far_b, draw_b, out_b = far[s:e], draw[s:e], out[s:e]
        g0 = first + s
        # the first round's partners (with no rounds, out_b stands in: never picked)
        first_b = partner[0, g0:g0 + e - s] if rounds > 0 else out_b
        for j in range(e - s):
            g = g0 + j
            members = np.int64(back_b[j]) + ahead_b[j] - 1
            before, after = np.int64(left_b[j]), np.int64(right_b[j])
            degree = members + before + after + far_b[j]
            k = min(np.int64(draw_b[j] * degree), degree - 1)
            start = g - back_b[j]
            pick = start + k
            pick = pick + 1 if pick >= g else pick  # the household, skipping g itself
            k -= members
            pick = start - before + k if k >= 0 else pick
            k -= before
            pick = g + ahead_b[j] + k if k >= 0 else pick
            k -= after
            pick = first_b[j] if k >= 0 else pick  # with one round, the long-range tie
            out_b[j] = pick if degree > 0 else -1
            rest[j] = k  # >= 0: a long-range tie, picked below with more rounds
        if rounds == 1:
            continue
        count = 0
        for j in range(e - s):
            todo[count] = j
            count += rest[j] >= 0
        for a in range(count):
            j = todo[a]
            g = g0 + j
            k = rest[j]
            b = np.searchsorted(place_end, g, side="right")
            lo = place_end[b - 1] if b > 0 else 0
            for r in range(rounds):
                candidate = partner[r, g]
                if _far(candidate, g, g - back_b[j], g + ahead_b[j], lo, place_end[b],
                        local_ties):
                    if k == 0:
                        out_b[j] = candidate
                        break
                    k -= 1


@nb.njit(cache=True, inline="always")
def _far(j, i, start, end, lo, hi, local_ties):
    """Whether long-range partner ``j`` of citizen ``i`` is a tie of its own (not a household
    member or local tie already)."""
    local = abs(j - i) <= local_ties and lo <= j < hi
    return j >= 0 and not local and (j < start or j >= end)


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
