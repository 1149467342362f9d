"""The population drawn: each citizen's place, age band and sex, and the cell its codes make.

Place comes first and is laid out along the citizen order: one contiguous run of citizens per
region, and within it one run per deprivation quintile (a neighbourhood's IMD quintile is a
property of its area). The network (sim.network) builds households and local ties inside these
runs, so they never cross a region. Age is drawn given the attitude segment, sex on its own; the
shares are sim.demography's.

The four codes put each citizen in one demographic cell (:func:`cell_of`); one pass over the
citizens sums what the group outputs need per cell (:func:`tally`), and sim.demography.by_group
adds the cells up into the groups.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numba as nb
import numpy as np

from sim.demography import (
    N_AGES,
    N_CELLS,
    N_QUINTILES,
    N_SEXES,
    age_shares_by_segment,
    deprivation_shares,
    region_shares,
    sex_shares,
)
from sim.intrinsics import add_row8, equal_word, trailing_zeros
from sim.programmes import Choice
from sim.streams import Streams

if TYPE_CHECKING:
    from sim.citizens import Citizens
    from sim.segments import Segment


# ------------------------------------------------------------------ drawing them
def place(citizens: Citizens, streams: Streams) -> np.ndarray:
    """Lay out regions and deprivation quintiles along the citizen order; return the ends of the
    runs (region x quintile, in order), inside which the network keeps households and local
    ties. Counts are multinomial draws (streams ``region``, ``deprivation``)."""
    n = citizens.n
    counts = streams.generator("region", 0).multinomial(n, region_shares())
    rng = streams.generator("deprivation", 0)
    runs = np.stack([rng.multinomial(int(counts[r]), p)
                     for r, p in enumerate(deprivation_shares())])  # 12 x 5
    ends = np.cumsum(runs.ravel())
    start = 0
    for k, end in enumerate(ends):
        citizens.region[start:end] = k // N_QUINTILES
        citizens.deprivation[start:end] = k % N_QUINTILES
        start = end
    return ends.astype(np.int64)


def people(citizens: Citizens, segments: Sequence[Segment], streams: Streams) -> None:
    """Each citizen's age band (given its segment; stream ``age``) and sex (stream ``sex``)."""
    cdf = np.cumsum(age_shares_by_segment(segments), axis=1)
    cdf[:, -1] = 1.0
    u = streams.uniform("age", 0, citizens.n)
    _draw_by_segment(u, citizens.segment, cdf.astype(np.float32), citizens.age_band)
    u = streams.uniform("sex", 0, citizens.n)
    np.less(np.float32(sex_shares()[0]), u, out=citizens.sex, casting="unsafe")  # 0 female


@nb.njit(cache=True)
def _draw_by_segment(u, segment, cdf, out):
    for i in range(u.shape[0]):
        row = segment[i]
        k = 0
        while k < cdf.shape[1] - 1 and u[i] >= cdf[row, k]:
            k += 1
        out[i] = k


# ------------------------------------------------------------------ cells
@nb.njit(cache=True, inline="always")
def cell_of(region, sex, age_band, deprivation, i):
    """Citizen i's cell: region x sex x age band x quintile, in that nesting."""
    return ((np.int64(region[i]) * N_SEXES + sex[i]) * N_AGES + age_band[i]) * N_QUINTILES \
        + deprivation[i]


def codes(citizens: Citizens) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The four code arrays, in the order :func:`cell_of` reads them."""
    return citizens.region, citizens.sex, citizens.age_band, citizens.deprivation


def cell_counts(citizens: Citizens) -> np.ndarray:
    """Citizens per cell (int64, ``N_CELLS``)."""
    out = np.zeros(N_CELLS, np.int64)
    _count_cells(*codes(citizens), out)
    return out


@nb.njit(cache=True)
def _count_cells(region, sex, age_band, deprivation, out):
    for i in range(region.shape[0]):
        out[cell_of(region, sex, age_band, deprivation, i)] += 1


@nb.njit(cache=True)
def count_out(segment, choice, has_choice, out_by_segment):
    """Citizens opted out of at least one programme with a choice, by segment."""
    for i in range(choice.shape[0]):
        out = False
        for p in range(choice.shape[1]):
            out |= has_choice[p] & (choice[i, p] == 1)
        out_by_segment[segment[i]] += out


#: Citizens per block of :func:`tally` (its flags and cells stay in the first-level cache).
TALLY_BLOCK = 1024
_OUT = int(Choice.OUT)


@nb.njit(cache=True)
def column_words(flags):
    """Bit k of word r is ``flags[(r + k) % len(flags)]``: over a block's cells (rows of
    ``len(flags)`` columns, row-major), the mask of a bit word of 64 cells whose first cell lies
    in column r."""
    n = flags.shape[0]
    words = np.zeros(n, np.uint64)
    for r in range(n):
        for k in range(64):
            if flags[(r + k) % n]:
                words[r] |= np.uint64(1) << np.uint64(k)
    return words


@nb.njit(cache=True, inline="always")
def opted_out_word(choice_flat, at, count):
    """Bit k set where cell ``at + k`` of the flat choices is OUT, for the ``count`` cells
    from ``at`` (at most 64): one vector compare for 64 (sim.intrinsics.equal_word)."""
    if count >= 64:
        return equal_word(choice_flat, at, _OUT)
    word = np.uint64(0)  # the population's last cells: fewer than 64
    for k in range(count):
        word |= np.uint64(choice_flat[at + k] == _OUT) << np.uint64(k)
    return word


@nb.njit(cache=True, inline="always")
def _flag_opted_out(choice_flat, first, cells, n_prog, with_choice, flags):
    """``flags[j] = 1`` for each citizen j of a block (cells ``first:first + cells`` of the
    flat choices) opted out of a programme with a choice: bit words of the block's OUT cells
    (:func:`opted_out_word`), masked by ``with_choice`` (:func:`column_words`); each set bit
    marks its citizen. Few cells are OUT, so few bits."""
    for lead in range(0, cells, 64):
        word = opted_out_word(choice_flat, first + lead, min(cells - lead, 64))
        word &= with_choice[lead % n_prog]
        while word != 0:
            flags[(lead + trailing_zeros(word)) // n_prog] = 1
            word &= word - np.uint64(1)


@nb.njit(cache=True, nogil=True)
def tally(region, sex, age_band, deprivation, trust, choice, has_choice, trust_sum, out_count):
    """One pass over the citizens: per cell, the sum of each trust column (in float64,
    ``trust_sum``) and the number opted out of at least one programme with a
    choice (the definition of ``opt_out_rate``). The citizens may be a slice of whole places
    (:func:`place`): no other slice then touches their cells, so slices can run at once.

    Per block of citizens, the opted out are flagged from bit words of the block's choices
    (:func:`_flag_opted_out`) and a simple loop (which vectorises) finds each citizen's cell;
    then each citizen's row is added to its cell's sums in citizen order, a row of 8
    contiguous columns as one vector add (sim.intrinsics.add_row8). ``choice`` must be
    C-contiguous (the model's, or a slice of its rows)."""
    n, n_cols = trust.shape
    n_prog = choice.shape[1]
    rows8 = n_cols == 8 and trust.strides[1] == trust.itemsize and trust_sum.strides[1] == 8
    out = np.empty(TALLY_BLOCK, np.int64)
    cells = np.empty(TALLY_BLOCK, np.int64)
    choice_flat = choice.reshape(choice.size)
    with_choice = column_words(has_choice)
    for s in range(0, n, TALLY_BLOCK):
        e = min(s + TALLY_BLOCK, n)
        flags = out[:e - s]
        flags[:] = 0
        if n_prog > 0:
            _flag_opted_out(choice_flat, s * n_prog, (e - s) * n_prog, n_prog, with_choice,
                            flags)
        region_b, sex_b, age_b, deprivation_b = region[s:e], sex[s:e], age_band[s:e], \
            deprivation[s:e]
        for j in range(e - s):
            cells[j] = cell_of(region_b, sex_b, age_b, deprivation_b, j)
        for j in range(e - s):
            c = cells[j]
            if rows8:
                add_row8(trust_sum, c, trust, s + j)
            else:  # no row view: a view per citizen costs two atomic counts
                for k in range(n_cols):
                    trust_sum[c, k] += trust[s + j, k]
            out_count[c] += flags[j]
