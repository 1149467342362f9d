"""Trust dynamics: how each citizen's trust in each agency (and in general) moves every week.

For citizen i and trust column k (each agency, then general trust), synchronously::

    impulse = h_k * gap_i - sum_p spill[p, k] * salience[i, p]
    target  = clip(disposition[i, k] + base_k + concern_i * per_concern_k, 0, 1)
    dT      = gain * impulse * (1 - T)           if impulse >= 0  (better than expected)
              gain * lambda * impulse * T        otherwise        (bad news, lambda times more)
            + drift * (target - T)                          (slow return to disposition)
            + pull(T, T[partner], d, mu)                    (bounded-confidence influence)
    T      <- clip(T + dT, 0, 1)
    disposition -= memory_rate * max(target - T - memory_threshold, 0)   (lasting marks)

Incidents spill from the agency at fault to the holder, to every other agency and to general
trust through ``spill`` (SF9); what programmes are like (benefit, risk, control, mandates) sets the
equilibrium ``target`` through the attitude terms of sim.sharing, sim.control and sim.mandates.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba as nb
import numpy as np
import scipy.sparse as sp

from sim import control, mandates, sharing
from sim.citizens import Citizens
from sim.intrinsics import add_scaled_row8, nonzero_word, trailing_zeros
from sim.network import Ties, pick_partners
from sim.parallel import SERIAL, SUM_SPAN, Pool, Started
from sim.params import TrustParams
from sim.programmes import ProgrammeTable
from sim.social_influence import gather, partners, pull
from sim.streams import Streams


@dataclass(frozen=True)
class TrustPlan:
    """What the trust step reads, derived from the programmes and parameters (rebuilt after a
    policy change). Arrays and scalars are float32, as the kernel computes in float32."""

    spill: np.ndarray  # (P, K) share of news about each programme reaching each column
    experience_route: np.ndarray  # (K,) how a benefit gap reaches each column
    base: np.ndarray  # (K,) equilibrium shift for everyone
    per_concern: np.ndarray  # (K,) equilibrium shift per unit of concern
    grievance_route: np.ndarray  # (P, K) equilibrium shift per unit of a grievance
    gain: np.float32
    loss_aversion: np.float32
    drift: np.float32
    memory_threshold: np.float32
    memory_rate: np.float32
    bound: np.float32
    rate: np.float32

    @classmethod
    def build(cls, table: ProgrammeTable, params: TrustParams, n_cols: int) -> TrustPlan:
        f32 = np.float32
        attitude_route = routing(table, n_cols, 1.0, params)
        base, per_concern = attitude_offsets(
            [sharing.attitude_terms(table, params), control.attitude_terms(table, params),
             mandates.attitude_terms(table, params)], attitude_route)
        return cls(
            grievance_route=(-params.grievance_weight * attitude_route).astype(f32),
            spill=routing(table, n_cols, params.holder_blame, params, blame=True).astype(f32),
            experience_route=experience_routing(sharing.service_weight(table), table, n_cols,
                                                params).astype(f32),
            base=base.astype(f32), per_concern=per_concern.astype(f32),
            gain=f32(params.gain_rate), loss_aversion=f32(params.loss_aversion),
            drift=f32(params.drift), memory_threshold=f32(params.memory_threshold),
            memory_rate=f32(params.memory_rate), bound=f32(params.confidence_bound),
            rate=f32(params.influence_rate))

    def equilibrium_shift(self, concern: np.ndarray) -> np.ndarray:
        """(N, K) how far today's programmes move each citizen's equilibrium trust."""
        return self.base + concern[:, None] * self.per_concern

    def lower_dispositions(self, citizens: Citizens, pool: Pool = SERIAL) -> None:
        """Take today's equilibrium shift and grievance shift off every citizen's disposition,
        in place (the numbers of ``disposition -= equilibrium_shift(concern)`` and then
        ``-= grievance_shift(grievance)``, without their N x K temporaries)."""
        c = citizens

        def chunk(k: int, start: int, stop: int) -> None:
            _lower_dispositions(c.disposition[start:stop], c.concern[start:stop],
                                c.grievance[start:stop], self.base, self.per_concern,
                                self.grievance_route)

        pool.run(chunk, pool.ranges(c.n))

    def grievance_shift(self, grievance: np.ndarray) -> np.ndarray:
        """(N, K) how far each citizen's grievances move its equilibrium trust, summed in
        programme order in float32 as the kernel sums them."""
        out = np.zeros((grievance.shape[0], self.grievance_route.shape[1]), np.float32)
        for p in range(grievance.shape[1]):
            out += grievance[:, p:p + 1] * self.grievance_route[p]
        return out


def step(plan: TrustPlan, citizens: Citizens, network: Ties | sp.csr_array, streams: Streams,
         t: int, neighbour: np.ndarray, pool: Pool = SERIAL) -> tuple[np.ndarray, np.ndarray]:
    """One week of trust: draw conversation partners and copy their rows (:func:`meet`), then
    update every citizen's trust (:func:`move`). ``neighbour`` is an (N, K) float32 buffer for
    the partners' trust rows. Returns each column's sum and sum of squares of the new trust
    (float64)."""
    meet(citizens, network, streams, t, neighbour, pool).join()
    return move(plan, citizens, neighbour, pool)


def meet(citizens: Citizens, network: Ties | sp.csr_array, streams: Streams, t: int,
         neighbour: np.ndarray, pool: Pool = SERIAL) -> Started:
    """Start the week's conversations on ``pool`` (sim.parallel.Pool.start): each chunk of
    citizens draws its span of the partner draws, finds its partners and copies their trust
    rows into ``neighbour`` (:func:`find_partners`). Join the returned pass (or leave its
    ``with`` block) before :func:`move`. It reads only trust, the network and its own draws,
    and writes only the partners and ``neighbour``, so work that touches none of these can run
    on this thread meanwhile (the model's sharing and breaches)."""
    c = citizens
    if network.shape[0] != c.n:  # the compiled kernels do not check bounds
        raise ValueError(f"the network has {network.shape[0]} citizens, the state {c.n}")
    rows_of, copies = c.trust, neighbour
    if c.trust.shape[1] % 2 == 0 and c.trust.flags.c_contiguous and neighbour.flags.c_contiguous:
        # the rows as 64-bit words: half as many loads and stores, the same bytes
        rows_of, copies = c.trust.view(np.uint64), neighbour.view(np.uint64)

    def find(k: int, start: int, stop: int) -> None:
        find_partners(c, network, streams, t, rows_of, copies, start, stop)

    return pool.start(find, pool.ranges(c.n))


def find_partners(citizens: Citizens, network: Ties | sp.csr_array, streams: Streams, t: int,
                  rows_of: np.ndarray, copies: np.ndarray, start: int, stop: int) -> None:
    """Citizens ``start:stop`` draw their span of the week's partner draws, find their
    partners and copy the partners' rows of ``rows_of`` (trust, or its rows as words) into
    ``copies``."""
    c = citizens
    draw = streams.uniform_span("partner", t, start, stop)  # this chunk's draws
    if isinstance(network, Ties):  # the model's network (sim.network.Ties)
        rows = slice(start, stop)
        pick_partners(network.back[rows], network.ahead[rows], network.left[rows],
                      network.right[rows], network.far[rows], network.partner,
                      network.place_end, network.local_ties, draw, c.partner[rows], start)
    else:  # a list of ties (CSR)
        partners(network.indptr[start:stop + 1], network.indices, draw, c.partner[start:stop])
    gather(rows_of, c.partner[start:stop], copies[start:stop], start)


def move(plan: TrustPlan, citizens: Citizens, neighbour: np.ndarray, pool: Pool = SERIAL
         ) -> tuple[np.ndarray, np.ndarray]:
    """Update every citizen's trust from its own row and its partner's copied row
    (``neighbour``, filled by :func:`meet`). Returns each column's sum and sum of squares of
    the new trust (float64): each chunk of citizens writes the float32 sums of its fixed
    blocks, which are added up afterwards, block after block."""
    c = citizens
    n_cols = c.trust.shape[1]
    blocks = -(-c.n // SUM_SPAN)
    partial_sum = np.empty((blocks, n_cols), np.float32)
    partial_sumsq = np.empty((blocks, n_cols), np.float32)

    def chunk(k: int, start: int, stop: int) -> None:
        rows = slice(start, stop)
        sums = slice(start // SUM_SPAN, -(-stop // SUM_SPAN))
        update(c.trust[rows], neighbour[rows], c.disposition[rows], c.concern[rows],
               c.salience[rows], c.grievance[rows], plan.spill, plan.experience_route,
               c.gap[rows], plan.base, plan.per_concern, plan.grievance_route, plan.gain,
               plan.loss_aversion, plan.drift, plan.memory_threshold, plan.memory_rate,
               plan.bound, plan.rate, partial_sum[sums], partial_sumsq[sums])

    pool.run(chunk, pool.ranges(c.n))
    col_sum, col_sumsq = np.zeros(n_cols), np.zeros(n_cols)
    add_partials(partial_sum, partial_sumsq, col_sum, col_sumsq)
    return col_sum, col_sumsq


@nb.njit(cache=True)
def add_partials(partial_sum, partial_sumsq, col_sum, col_sumsq):
    """Add the float32 partial sums to the float64 totals, block after block (the order of the
    sums before they were kept per block)."""
    for b in range(partial_sum.shape[0]):
        for k in range(partial_sum.shape[1]):
            col_sum[k] += partial_sum[b, k]
            col_sumsq[k] += partial_sumsq[b, k]


@nb.njit(cache=True, nogil=True)
def _lower_dispositions(disposition, concern, grievance, base, per_concern, grievance_route):
    """:meth:`TrustPlan.lower_dispositions` cell by cell: the same float32 operations in the
    same order as the array expressions of ``equilibrium_shift`` and ``grievance_shift``."""
    n, n_cols = disposition.shape
    zero = np.float32(0)
    for i in range(n):
        for k in range(n_cols):
            disposition[i, k] = disposition[i, k] - (base[k] + concern[i] * per_concern[k])
        for k in range(n_cols):
            shift = zero
            for p in range(grievance.shape[1]):
                shift = shift + grievance[i, p] * grievance_route[p, k]
            disposition[i, k] = disposition[i, k] - shift


@nb.njit(cache=True)
def column_sums(trust, col_sum, col_sumsq):
    """Add each column's sum and sum of squares of ``trust`` in float64, citizen by citizen
    (the numbers of numpy's ``t.sum(axis=0)`` and ``(t**2).sum(axis=0)`` of the float64 copy
    ``t``, without the copy)."""
    for i in range(trust.shape[0]):
        for k in range(trust.shape[1]):
            x = np.float64(trust[i, k])
            col_sum[k] += x
            col_sumsq[k] += x * x


def routing(table: ProgrammeTable, n_cols: int, holder_weight: float,
            params: TrustParams, blame: bool = False) -> np.ndarray:
    """(P, K) share of news about each programme that reaches each trust column.

    The recipient takes it in full, the holder ``holder_weight``, general trust
    ``general_spill`` and every other agency ``agency_spill``. With ``blame``, a programme's
    own blame shares (``Programme.blame``) replace these where set.
    """
    spill = np.full((len(table), n_cols), params.agency_spill)
    rows = np.arange(len(table))
    spill[:, -1] = params.general_spill
    spill[rows, table.holder] = holder_weight
    spill[rows, table.recipient] = 1.0
    if blame:
        holder, recipient, government = table.blame.T
        spill[rows, table.holder] = np.where(np.isnan(holder), spill[rows, table.holder],
                                             holder)
        spill[rows, table.recipient] = np.where(np.isnan(recipient),
                                                spill[rows, table.recipient], recipient)
        spill[:, -1] = np.where(np.isnan(government), spill[:, -1], government)
    return spill


def experience_routing(weight: np.ndarray, table: ProgrammeTable, n_cols: int,
                       params: TrustParams) -> np.ndarray:
    """(K,) how a benefit gap reaches each column: holders in proportion to the benefit they
    deliver, general trust by ``general_spill``."""
    route = np.zeros(n_cols)
    total = weight.sum()
    if total > 0:
        np.add.at(route, table.holder, weight / total)
        route[-1] = params.general_spill
    return route


def attitude_offsets(terms: list[tuple[np.ndarray, np.ndarray]], spill: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Sum the mechanisms' per-programme attitude terms onto the trust columns."""
    base = sum(t[0] for t in terms) @ spill
    per_concern = sum(t[1] for t in terms) @ spill
    return base, per_concern


#: Citizens per block of :func:`update`: its scratch rows (a few float32 arrays of
#: ``BLOCK x K``) stay in the first-level caches, and 1024 (the float32 partial sums' span,
#: sim.parallel.SUM_SPAN) is a multiple of it.
BLOCK = 256
#: Spans of :data:`sim.parallel.SUM_SPAN` citizens whose blocks :func:`update` updates in one
#: loop (8 columns), so that their running sums' chains of additions overlap.
LANES = 2
#: Cells of a span of 8 columns.
SPAN_CELLS = SUM_SPAN * 8


@nb.njit(cache=True, inline="always")
def asymmetric(impulse, x, gain, loss_aversion):
    """Trust change from an impulse at trust ``x``: losses weigh ``loss_aversion`` times more.

    A gain closes a share of the distance to 1 and a loss takes a share of what there is, so
    losses shrink as trust falls and repeated bad news cannot drive it to zero at once (the
    final clip in :func:`update` keeps trust in [0, 1] even for extreme impulses). ``x`` is
    float32, and so is the arithmetic. Both sides are computed and one is selected, without a
    branch, so a loop over cells vectorises; each side is the same expression as before.
    """
    gained = gain * impulse * (np.float32(1) - x)
    lost = gain * loss_aversion * impulse * x
    return gained if impulse >= 0 else lost


@nb.njit(cache=True, nogil=True)
def update(trust, neighbour, disposition, concern, salience, grievance, spill, experience_route,
           gap, base, per_concern, grievance_route, gain, loss_aversion, drift, memory_threshold,
           memory_rate, bound, rate, partial_sum, partial_sumsq):
    """One synchronous week of trust for every citizen, in place.

    ``neighbour`` holds each citizen's conversation partner's trust row as it was before this
    update (sim.social_influence.gather), and a citizen's new row depends only on its own old row
    and that copy, so updating in place is synchronous. Writes each column's sum and sum of
    squares of the new trust over each span of :data:`sim.parallel.SUM_SPAN` citizens (float32,
    added in citizen order) to a row of ``partial_sum`` and ``partial_sumsq``; the slice's
    first citizen starts a span. Where new trust ends more than ``memory_threshold`` below its
    target, the disposition (lasting trust) falls by ``memory_rate`` times the excess: large
    betrayals leave a mark that outlasts the news.

    ``trust``, ``neighbour``, ``disposition``, ``salience`` and ``grievance`` must be
    C-contiguous (as the model's are): the update walks them as flat arrays. Pass float32
    arrays and scalars: impulses, targets and the drift are float32 (mixing in float64 makes
    the loop far slower).
    :func:`sim.social_influence.pull` returns float64, so the change, the new trust before it is
    stored (rounded to float32), the shortfall behind the memory and the partial sums take that
    value in float64, as they always have: results depend on it to the last bit.

    Why blocks of :data:`BLOCK` citizens in passes: a row of 8 trust columns is too short a
    loop to vectorise, and the long loop over all cells of a block is not. The first pass
    writes each cell's impulse, grievance shift and concern term (per citizen, in programme
    order, skipping zero salience and grievance as before; with 8 columns the programmes'
    terms come last, for the values not zero only, :func:`_sparse_terms`). The second updates
    the block's cells as one flat loop, branch-free (selects, not jumps), so it vectorises.
    With 8 columns (the model's) it also adds each new value to its column's running float32
    sums in citizen order, the cell one row on (8 cells, a compile-time constant, so the loop
    still vectorises) holding the sums so far: their chain of additions, one row after
    another, runs beside the update's arithmetic instead of after it; and the loop takes the
    same block of :data:`LANES` consecutive spans at once (:func:`_cells_lanes`), so the
    spans' chains, each in its own citizen order, overlap instead of waiting on each other
    (the spans left over at the end go one at a time). With other column counts a third pass
    adds the rows to the sums. Every number is computed by the same
    operations in the same order as cell by cell, so the results are bit-identical.
    """
    if trust.shape[1] == 8:  # the model's columns: a constant row length, sums in the loop
        _blocks(8, True, trust, neighbour, disposition, concern, salience, grievance, spill,
                experience_route, gap, base, per_concern, grievance_route, gain, loss_aversion,
                drift, memory_threshold, memory_rate, bound, rate, partial_sum, partial_sumsq)
    else:
        _blocks(trust.shape[1], False, trust, neighbour, disposition, concern, salience,
                grievance, spill, experience_route, gap, base, per_concern, grievance_route,
                gain, loss_aversion, drift, memory_threshold, memory_rate, bound, rate,
                partial_sum, partial_sumsq)


@nb.njit(cache=True, inline="always")
def _blocks(n_cols, fused, trust, neighbour, disposition, concern, salience, grievance, spill,
            experience_route, gap, base, per_concern, grievance_route, gain, loss_aversion,
            drift, memory_threshold, memory_rate, bound, rate, partial_sum, partial_sumsq):
    """:func:`update` for rows of ``n_cols`` trust columns; ``fused``: the sums in the cell
    loop (a constant ``n_cols`` only)."""
    n = trust.shape[0]
    n_prog = salience.shape[1]
    zero = np.float32(0)
    cells = BLOCK * n_cols
    lanes = LANES if fused else 1
    impulse = np.empty(lanes * cells, np.float32)
    shift = np.empty(lanes * cells, np.float32)
    concern_term = np.empty(lanes * cells, np.float32)
    kept = np.empty(lanes * cells, np.float32)  # new dispositions, copied back if one moved
    base_cell = np.empty(cells, np.float32)
    ring = cells + n_cols  # a lane's running sums: column sums after row b in cells of row b + 1
    run = np.zeros(lanes * ring, np.float32)
    run2 = np.zeros(lanes * ring, np.float32)
    new = np.empty(0 if fused else cells, np.float64)
    for j in range(cells):
        base_cell[j] = base[j % n_cols]
    row_of = (np.arange(BLOCK * n_prog) // max(n_prog, 1)).astype(np.uint64)
    prog_of = (np.arange(BLOCK * n_prog) % max(n_prog, 1)).astype(np.uint64)
    flat_trust = trust.reshape(n * n_cols)
    flat_neighbour = neighbour.reshape(n * n_cols)
    flat_disposition = disposition.reshape(n * n_cols)
    group = LANES * SUM_SPAN
    grouped = n // group * group if fused else 0  # whole groups of spans, their sums interleaved
    for first_row in range(0, grouped, group):
        for start in range(first_row, first_row + SUM_SPAN, BLOCK):
            for lane in range(LANES):
                at = lane * cells
                _first_pass8(impulse[at:at + cells], shift[at:at + cells],
                             concern_term[at:at + cells], experience_route, gap, concern,
                             per_concern, salience, grievance, spill, grievance_route,
                             start + lane * SUM_SPAN, BLOCK, row_of, prog_of)
            first = start * n_cols
            stop = first + (LANES - 1) * SPAN_CELLS + cells
            _cells_lanes(flat_trust[first:stop], flat_neighbour[first:stop],
                         flat_disposition[first:stop], base_cell, concern_term, shift, impulse,
                         run, run2, kept, gain, loss_aversion, drift, memory_threshold,
                         memory_rate, bound, rate)
            for lane in range(LANES):
                for k in range(n_cols):
                    run[lane * ring + k] = run[lane * ring + cells + k]
                    run2[lane * ring + k] = run2[lane * ring + cells + k]
        for lane in range(LANES):
            span = first_row // SUM_SPAN + lane
            for k in range(n_cols):
                partial_sum[span, k] = run[lane * ring + k]
                partial_sumsq[span, k] = run2[lane * ring + k]
                run[lane * ring + k], run2[lane * ring + k] = zero, zero
    for start in range(grouped, n, BLOCK):
        rows = min(BLOCK, n - start)
        if fused:
            _first_pass8(impulse, shift, concern_term, experience_route, gap, concern,
                         per_concern, salience, grievance, spill, grievance_route, start, rows,
                         row_of, prog_of)
        for b in range(0 if fused else rows):
            i = start + b
            g, c, row = gap[i], concern[i], b * n_cols
            for k in range(n_cols):
                impulse[row + k] = g * experience_route[k]
                shift[row + k] = zero
                concern_term[row + k] = c * per_concern[k]
            for p in range(n_prog):
                s = salience[i, p]
                if s != zero:
                    for k in range(n_cols):
                        impulse[row + k] -= s * spill[p, k]
                q = grievance[i, p]
                if q != zero:
                    for k in range(n_cols):
                        shift[row + k] += q * grievance_route[p, k]
        first, m = start * n_cols, rows * n_cols
        _cells(flat_trust[first:first + m], flat_neighbour[first:first + m],
               flat_disposition[first:first + m], base_cell, concern_term, shift, impulse,
               run, run2, new, n_cols, fused, gain, loss_aversion, drift, memory_threshold,
               memory_rate, bound, rate)
        if not fused:  # the sums after the update, row after row
            for b in range(rows):
                for k in range(n_cols):
                    y = new[b * n_cols + k]
                    run[k] += y
                    run2[k] += y * y
        last = m if fused else 0  # where the sums after the block are
        stop = start + rows
        flush = stop % SUM_SPAN == 0 or stop == n  # BLOCK divides SUM_SPAN
        for k in range(n_cols):
            total, total2 = run[last + k], run2[last + k]
            if flush:
                partial_sum[(stop - 1) // SUM_SPAN, k] = total
                partial_sumsq[(stop - 1) // SUM_SPAN, k] = total2
                total, total2 = zero, zero
            run[k], run2[k] = total, total2


@nb.njit(cache=True, inline="always")
def _first_pass8(impulse, shift, concern_term, experience_route, gap, concern, per_concern,
                 salience, grievance, spill, grievance_route, start, rows, row_of, prog_of):
    """The first pass for rows of 8 columns: :func:`_terms8`, then the programmes' terms."""
    _terms8(impulse, shift, concern_term, experience_route, gap, concern, per_concern, start,
            rows)
    _sparse_terms(impulse, salience, spill, -1, start, rows, row_of, prog_of)
    _sparse_terms(shift, grievance, grievance_route, 1, start, rows, row_of, prog_of)


@nb.njit(cache=True, inline="always")
def _terms8(impulse, shift, concern_term, experience_route, gap, concern, per_concern, start,
            rows):
    """The first pass of :func:`update` for rows of 8 columns, before the programmes' terms
    (:func:`_sparse_terms`): each cell's impulse from the benefit gap, a zero shift and the
    concern term, a row of constants at a time (the loop vectorises over citizens)."""
    zero = np.float32(0)
    e = experience_route
    e0, e1, e2, e3, e4, e5, e6, e7 = e[0], e[1], e[2], e[3], e[4], e[5], e[6], e[7]
    c0, c1, c2, c3 = per_concern[0], per_concern[1], per_concern[2], per_concern[3]
    c4, c5, c6, c7 = per_concern[4], per_concern[5], per_concern[6], per_concern[7]
    for b in range(rows):
        i = start + b
        g, c = gap[i], concern[i]
        m0, m1, m2, m3 = g * e0, g * e1, g * e2, g * e3
        m4, m5, m6, m7 = g * e4, g * e5, g * e6, g * e7
        row = b * 8
        impulse[row], impulse[row + 1], impulse[row + 2], impulse[row + 3] = m0, m1, m2, m3
        impulse[row + 4], impulse[row + 5], impulse[row + 6], impulse[row + 7] = m4, m5, m6, m7
        shift[row], shift[row + 1], shift[row + 2], shift[row + 3] = zero, zero, zero, zero
        shift[row + 4], shift[row + 5], shift[row + 6], shift[row + 7] = zero, zero, zero, zero
        concern_term[row], concern_term[row + 1] = c * c0, c * c1
        concern_term[row + 2], concern_term[row + 3] = c * c2, c * c3
        concern_term[row + 4], concern_term[row + 5] = c * c4, c * c5
        concern_term[row + 6], concern_term[row + 7] = c * c6, c * c7


@nb.njit(cache=True, inline="always")
def _sparse_terms(out, values, route, sign, start, rows, row_of, prog_of):
    """Add ``value * route[p]`` to the row of 8 cells of ``out`` (subtract it if ``sign`` is
    negative) for each value of ``values`` not zero (of either sign) in rows ``start`` to
    ``start + rows``, in citizen order and programme order within a citizen, as the general
    pass adds them. Few values are not zero (salience fades to exactly zero; few citizens hold
    a grievance) and which follows no pattern a branch could learn, so the block's values are
    read as bit words of 64 flags (:func:`sim.intrinsics.nonzero_word`: one vector compare
    each) and only the set bits are visited, lowest first; value ``u`` of the block is row
    ``row_of[u]``, programme ``prog_of[u]``. About 0.45 ns per trust cell faster than a
    branch-free listing of every value (Intel Xeon, default world)."""
    n_prog = values.shape[1]
    bits = values.reshape(values.shape[0] * n_prog).view(np.uint32)
    first, eight, one = np.uint64(start), np.uint64(8), np.uint64(1)
    at, count = start * n_prog, rows * n_prog
    whole = count - count % 64
    for lead in range(0, count, 64):
        if lead < whole:
            word = nonzero_word(bits, at + lead)
        else:  # the last rows of the population: fewer than 64 values left
            word = np.uint64(0)
            for k in range(count - lead):
                magnitude = np.uint32(bits[at + lead + k] << np.uint32(1))  # 32 bits: no sign
                word |= np.uint64(magnitude != 0) << np.uint64(k)
        while word != 0:
            u = lead + trailing_zeros(word)
            word &= word - one
            b, p = row_of[u], prog_of[u]
            add_scaled_row8(out, b * eight, route, p, values[first + b, p], sign < 0)


@nb.njit(cache=True, inline="always")
def _cell(x, lasting, base, concern_term, shift, impulse, partner, gain, loss_aversion, drift,
          memory_threshold, memory_rate, bound, rate):
    """One trust cell's week: its new trust and its disposition, both float64 (from ``pull``),
    for the caller to store as float32, and whether the disposition moved. target =
    clip(disposition + base_k + concern_i * per_concern_k + shift, 0, 1); trust moves by the
    asymmetric response to the impulse, the drift toward the target and the pull toward the
    partner, and is clipped to [0, 1]. The disposition keeps its value unless the new trust
    ends more than ``memory_threshold`` below the target (a select, not a branch)."""
    zero, one = np.float32(0), np.float32(1)
    target = min(max(lasting + base + concern_term + shift, zero), one)
    dx = (asymmetric(impulse, x, gain, loss_aversion) + drift * (target - x)
          + pull(x, partner, bound, rate))
    y = min(max(x + dx, zero), one)
    short = target - y - memory_threshold
    marked = lasting - memory_rate * short  # a large betrayal: lasting trust follows
    return y, (marked if short > zero else lasting), short > zero


@nb.njit(cache=True, inline="always")
def _cells(trust, neighbour, disposition, base, concern_term, shift, impulse, run, run2, new,
           n_cols, fused, gain, loss_aversion, drift, memory_threshold, memory_rate, bound, rate):
    """Update a block's trust cells (flat, in place). With ``fused``, add each new value
    (float64) to the float32 running sums ``run`` and sums of squares ``run2`` of its column:
    cell ``j`` adds to the sums in ``j`` and writes them to ``j + n_cols``, so ``run[:n_cols]``
    holds the sums before the block and the row after its last cell the sums after it;
    otherwise write each new value to ``new``. Each cell as :func:`_cell`; a store of the old
    disposition changes nothing.
    """
    for j in range(trust.shape[0]):
        y, lasting, _ = _cell(trust[j], disposition[j], base[j], concern_term[j], shift[j],
                              impulse[j], neighbour[j], gain, loss_aversion, drift,
                              memory_threshold, memory_rate, bound, rate)
        trust[j] = y
        disposition[j] = lasting
        if fused:  # the float32 sums, in citizen order per column
            run[j + n_cols] = run[j] + y
            run2[j + n_cols] = run2[j] + y * y
        else:
            new[j] = y


@nb.njit(cache=True, inline="always")
def _cells_lanes(trust, neighbour, disposition, base, concern_term, shift, impulse, run, run2,
                 kept, gain, loss_aversion, drift, memory_threshold, memory_rate, bound, rate):
    """:func:`_cells` (fused, 8 columns) for the same block of :data:`LANES` consecutive
    spans of citizens at once: the flat arrays start at the first span's block, and the
    lane's block is :data:`SPAN_CELLS` cells further on per lane; its scratch rows and running
    sums are a block (and a row) further on per lane. Each span's sums still add its
    citizens in order, but the spans' chains of additions are independent, so they overlap.

    The new dispositions go to the scratch rows ``kept``, and only a lane's block in which one
    moved is copied back: a disposition moves only after
    a large betrayal, so most weeks write none of them back to memory (about 0.5 ms a week at
    a million citizens, Intel Xeon). A select of the old value, as before, and the same
    numbers."""
    moved0 = moved1 = False  # whether a disposition of lane 0 (of another lane) moved
    for j in range(BLOCK * 8):
        for lane in range(LANES):  # a constant count: unrolled
            t, s, r = j + lane * SPAN_CELLS, j + lane * BLOCK * 8, j + lane * (BLOCK * 8 + 8)
            y, lasting, marked = _cell(trust[t], disposition[t], base[j], concern_term[s],
                                       shift[s], impulse[s], neighbour[t], gain, loss_aversion,
                                       drift, memory_threshold, memory_rate, bound, rate)
            trust[t] = y
            kept[s] = lasting
            if lane == 0:
                moved0 |= marked
            else:
                moved1 |= marked
            run[r + 8] = run[r] + y
            run2[r + 8] = run2[r] + y * y
    for lane in range(LANES):
        if moved0 if lane == 0 else moved1:
            at, t = lane * BLOCK * 8, lane * SPAN_CELLS
            for j in range(BLOCK * 8):
                disposition[t + j] = kept[at + j]
