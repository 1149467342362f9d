"""Trust dynamics (sim.trust): how each citizen's trust moves every week."""

import dataclasses

import numba as nb
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from sim import trust
from sim.citizens import Citizens
from sim.parallel import SUM_SPAN
from sim.params import TrustParams
from sim.social_influence import pull
from sim.streams import Streams, seed_sequence

P = TrustParams()
N_COLS = 8
PAIR = sp.csr_array(np.array([[0, 1], [1, 0]], np.int8))  # two citizens who talk every week


def trust_step(table, prog, x, salience=0.0, gap=0.0, disposition=None, neighbour=None,
               params=P):
    """One trust step for citizen 0 (trust ``x`` in every column) talking to citizen 1; news
    and benefit reach every column in full, programmes set no equilibrium shift."""
    c = Citizens(2, N_COLS, 1)
    c.trust[0], c.trust[1] = x, x if neighbour is None else neighbour
    c.disposition[:] = c.trust
    c.disposition[0] = x if disposition is None else disposition
    c.concern[:] = 0.5
    c.salience[0] = salience
    c.gap[0] = gap
    plan = dataclasses.replace(
        trust.TrustPlan.build(table(prog()), params, N_COLS),
        spill=np.ones((1, N_COLS), np.float32), experience_route=np.ones(N_COLS, np.float32),
        base=np.zeros(N_COLS, np.float32), per_concern=np.zeros(N_COLS, np.float32))
    neighbour_rows = np.zeros_like(c.trust)
    s, ss = trust.step(plan, c, PAIR, Streams(seed_sequence(0)), 1, neighbour_rows)
    assert c.partner.tolist() == [1, 0]
    np.testing.assert_allclose(s, c.trust.sum(axis=0, dtype=np.float64), rtol=1e-6)
    np.testing.assert_allclose(ss, (c.trust.astype(np.float64) ** 2).sum(axis=0), rtol=1e-6)
    return float(c.trust[0, 0])


def test_losses_weigh_more_than_gains(table, prog):
    down = 0.5 - trust_step(table, prog, 0.5, gap=-0.2)
    up = trust_step(table, prog, 0.5, gap=0.2) - 0.5
    assert down == pytest.approx(P.loss_aversion * up, rel=1e-4)


def test_news_lowers_trust_and_trust_stays_in_bounds(table, prog):
    assert trust_step(table, prog, 0.5, salience=1.0) < 0.5
    extreme = TrustParams(gain_rate=0.5, loss_aversion=10.0)
    assert trust_step(table, prog, 0.01, salience=50.0, params=extreme) >= 0
    assert trust_step(table, prog, 0.99, gap=50.0, params=extreme) <= 1


def test_drift_returns_trust_toward_disposition(table, prog):
    assert trust_step(table, prog, 0.3, disposition=0.6) > 0.3
    assert trust_step(table, prog, 0.8, disposition=0.6) < 0.8


def test_social_pull_only_from_close_neighbours(table, prog):
    assert trust_step(table, prog, 0.5, neighbour=0.6) > 0.5
    assert trust_step(table, prog, 0.5, neighbour=0.95) == pytest.approx(0.5)


def test_routing_recipient_full_holder_partial_general_and_others_spill(table, prog, agencies):
    spill = trust.routing(table(prog(holder="nhs", recipient="supplier")), N_COLS,
                          P.holder_blame, P)
    cols = {a.name: k for k, a in enumerate(agencies)}
    assert spill[0, cols["supplier"]] == 1.0
    assert spill[0, cols["nhs"]] == P.holder_blame
    assert spill[0, -1] == P.general_spill
    assert spill[0, cols["hmrc"]] == P.agency_spill


def test_experience_reaches_holders_of_direct_services_only(table, prog, agencies):
    tab = table(prog(holder="council", purpose="direct_service"), prog(name="q", holder="dfe"))
    plan = trust.TrustPlan.build(tab, P, N_COLS)
    cols = {a.name: k for k, a in enumerate(agencies)}
    assert plan.experience_route[cols["council"]] == 1.0
    assert plan.experience_route[cols["dfe"]] == 0.0
    assert plan.experience_route[-1] == pytest.approx(P.general_spill)


def test_programmes_shift_equilibrium_more_for_the_concerned(table, prog):
    risky = table(prog(recipient="supplier", purpose="commercial", sensitivity=0.9))
    shift = trust.TrustPlan.build(risky, P, N_COLS).equilibrium_shift(
        np.array([0.1, 0.9], np.float32))
    assert (shift[1] < shift[0]).all()  # risk weighs on the concerned


def test_a_grievance_lowers_the_target_of_holder_and_recipient(table, prog, agencies):
    c = Citizens(2, N_COLS, 1)
    c.trust[:] = c.disposition[:] = 0.5
    c.grievance[0] = 0.5
    plan = trust.TrustPlan.build(table(prog()), P, N_COLS)
    trust.step(plan, c, PAIR, Streams(seed_sequence(0)), 1, np.zeros_like(c.trust))
    cols = {a.name: k for k, a in enumerate(agencies)}
    drop = c.trust[1] - c.trust[0]  # citizen 1 is the same but for the grievance
    for name in ("nhs", "university"):  # holder and recipient, in full
        assert drop[cols[name]] == pytest.approx(P.drift * P.grievance_weight * 0.5, rel=1e-3)
    assert drop[cols["hmrc"]] == pytest.approx(
        P.drift * P.grievance_weight * 0.5 * P.agency_spill, rel=1e-3)


def test_only_a_large_shortfall_moves_lasting_trust(table, prog):
    """Memory: a citizen far below its target lowers its disposition by memory_rate times the
    excess over memory_threshold; one a little below, or above, keeps it."""
    c = Citizens(3, N_COLS, 1)
    c.disposition[:] = 0.7
    c.trust[:] = [[0.69], [0.3], [0.9]]  # near the target, far below it, above it
    plan = trust.TrustPlan.build(table(prog(announced=False)), P, N_COLS)  # no attitude terms
    alone = sp.csr_array((3, 3), dtype=np.int8)  # nobody talks: no social pull
    trust.step(plan, c, alone, Streams(seed_sequence(0)), 1, np.zeros_like(c.trust))
    assert (c.disposition[0] == np.float32(0.7)).all()
    assert (c.disposition[2] == np.float32(0.7)).all()
    expected = 0.7 - P.memory_rate * (0.7 - c.trust[1] - P.memory_threshold)
    np.testing.assert_allclose(c.disposition[1], expected, rtol=1e-5)
    assert (c.disposition[1] < 0.7).all()


@nb.njit
def _update_cell_by_cell(trust_, neighbour, disposition, concern, salience, grievance, spill,
                         route, gap, base, per_concern, grievance_route, gain, loss_aversion,
                         drift, memory_threshold, memory_rate, bound, rate, partial_sum,
                         partial_sumsq):
    """The update of docs/model.md written the plain way, a citizen and a column at a time."""
    n, n_cols = trust_.shape
    zero, one = np.float32(0), np.float32(1)
    run, run2 = np.zeros(n_cols, np.float32), np.zeros(n_cols, np.float32)
    for i in range(n):
        for k in range(n_cols):
            impulse, shift = gap[i] * route[k], zero
            for p in range(salience.shape[1]):
                if salience[i, p] != zero:
                    impulse -= salience[i, p] * spill[p, k]
                if grievance[i, p] != zero:
                    shift += grievance[i, p] * grievance_route[p, k]
            x, lasting = trust_[i, k], disposition[i, k]
            target = min(max(lasting + base[k] + concern[i] * per_concern[k] + shift, zero), one)
            dx = (trust.asymmetric(impulse, x, gain, loss_aversion) + drift * (target - x)
                  + pull(x, neighbour[i, k], bound, rate))
            y = min(max(x + dx, zero), one)
            trust_[i, k] = y
            short = target - y - memory_threshold
            if short > zero:
                disposition[i, k] = lasting - memory_rate * short
            run[k] += y
            run2[k] += y * y
        if (i + 1) % SUM_SPAN == 0 or i == n - 1:
            partial_sum[i // SUM_SPAN], partial_sumsq[i // SUM_SPAN] = run, run2
            run, run2 = np.zeros(n_cols, np.float32), np.zeros(n_cols, np.float32)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 5000), n_prog=st.integers(0, 6),
       n_cols=st.sampled_from([8, 8, 3]))
def test_update_is_the_cell_by_cell_rule_to_the_bit(seed, n, n_prog, n_cols):
    """The compiled update (blocks, two spans at once, the programmes' terms from bit words,
    the dispositions written back only where one moved) gives every trust value, disposition
    and partial sum of the plain rule, to the bit: for any population size (whole groups of
    spans and the rest), with sparse salience and grievances (zeros of both signs) and news bad
    enough to leave lasting marks in some blocks and none in others."""
    rng = np.random.default_rng(seed)
    f32 = np.float32

    def sparse(scale):
        values = np.where(rng.random((n, n_prog)) < 0.15, rng.random((n, n_prog)) * scale, 0.0)
        values[rng.random((n, n_prog)) < 0.05] = -0.0
        return values.astype(f32)

    trust_ = rng.random((n, n_cols), dtype=f32)
    neighbour = rng.random((n, n_cols), dtype=f32)
    disposition = rng.random((n, n_cols), dtype=f32)
    calm = np.repeat(rng.random(-(-n // 256)) < 0.5, 256)[:n]  # blocks with no lasting mark
    disposition[calm] = trust_[calm] * f32(0.5)
    concern, gap = rng.random(n, dtype=f32), (rng.normal(size=n) * 0.2).astype(f32)
    salience, grievance = sparse(3.0), sparse(1.0)
    salience[calm], grievance[calm] = 0.0, 0.0
    spill = rng.random((n_prog, n_cols), dtype=f32)
    grievance_route = -rng.random((n_prog, n_cols), dtype=f32)
    route, base = rng.random(n_cols, dtype=f32), (rng.normal(size=n_cols) * 0.1).astype(f32)
    per_concern = (rng.normal(size=n_cols) * 0.1).astype(f32)
    scalars = tuple(f32(v) for v in (P.gain_rate, P.loss_aversion, P.drift, P.memory_threshold,
                                     P.memory_rate, P.confidence_bound, P.influence_rate))
    spans = -(-n // SUM_SPAN)
    results = []
    for kernel in (trust.update, _update_cell_by_cell):
        t, d = trust_.copy(), disposition.copy()
        sums, sumsq = np.zeros((spans, n_cols), f32), np.zeros((spans, n_cols), f32)
        kernel(t, neighbour, d, concern, salience, grievance, spill, route, gap, base,
               per_concern, grievance_route, *scalars, sums, sumsq)
        results.append([a.view(np.uint32) for a in (t, d, sums, sumsq)])
    if n >= 50 and not calm.all():  # the plain rule left lasting marks to compare
        assert (results[1][1] != disposition.view(np.uint32)).any()
    for compiled, plain in zip(*results, strict=True):
        assert np.array_equal(compiled, plain)
