"""Sharing and benefit (sim.sharing): who flows, what it is worth, what sharing feels like."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim import sharing
from sim.citizens import Citizens
from sim.params import TrustParams
from sim.programmes import Choice, Mandate

P = TrustParams()
OPEN = {"interoperability": 1, "data_quality": 1, "legal_clarity": 1, "willingness": 1}


def share(tab, choice, segment=None, need=None, expectation=None, params=P):
    """Run the sharing step on a population with these choices; return it and the outputs."""
    n, n_prog = choice.shape
    c = Citizens(n, 8, n_prog)
    c.choice[:] = choice
    c.segment[:] = 0 if segment is None else segment
    c.need[:] = 1.0 if need is None else need
    c.expectation[:] = 0.0 if expectation is None else expectation
    count = np.bincount(c.segment, minlength=int(c.segment.max()) + 1)
    cover, represent = sharing.step(sharing.SharingPlan.build(tab, params), c, count)
    return c, cover, represent


def test_opt_outs_lower_coverage_and_a_mandate_restores_part_of_it(table, prog):
    choice = np.zeros((100, 1), np.int8)
    choice[:40] = Choice.OUT
    _, cover, _ = share(table(prog(barriers=OPEN)), choice)
    assert cover[0] == pytest.approx(0.6)
    _, cover, _ = share(table(prog(barriers=OPEN, mandate=Mandate(strength=0.5))), choice)
    assert cover[0] == pytest.approx(0.6 + 0.4 * 0.5)


@pytest.mark.parametrize(("consent", "flowing"), [
    ("none", [1, 1, 1]), ("opt_out", [1, 0, 1]), ("dynamic", [1, 0, 1]), ("opt_in", [0, 0, 1])])
def test_consent_regimes_decide_who_flows(table, prog, consent, flowing):
    choice = np.array([[Choice.DEFAULT], [Choice.OUT], [Choice.IN]], np.int8)
    plan = sharing.SharingPlan.build(table(prog(consent=consent, barriers=OPEN)), P)
    assert sharing.flow_of(plan, choice, 0).tolist() == flowing


def test_breach_victims_and_coverage_read_the_same_flows(table, prog):
    rng = np.random.default_rng(3)
    choice = rng.integers(0, 3, (200, 2)).astype(np.int8)
    tab = table(prog(consent="opt_out", mandate=Mandate(strength=0.3)),
                prog(name="q", consent="opt_in"))
    plan = sharing.SharingPlan.build(tab, P)
    _, cover, _ = share(tab, choice)
    for p in range(2):
        assert sharing.flow_of(plan, choice, p).mean() == pytest.approx(cover[p])


def test_barriers_and_pause_scale_flows(table, prog):
    choice = np.zeros((10, 1), np.int8)
    half = {"interoperability": 0.5, "legal_clarity": 1, "willingness": 1}
    assert share(table(prog(barriers=half)), choice)[1][0] == pytest.approx(0.5)
    assert share(table(prog(active=False)), choice)[1][0] == 0


def test_service_benefit_scales_with_need_and_moves_expectation(table, prog):
    direct = table(prog(purpose="direct_service", benefit=1.0, barriers=OPEN))
    c, _, _ = share(direct, np.zeros((2, 1), np.int8), need=np.array([0.2, 0.8]),
                    params=P.model_copy(update={"expectation_rate": 0.5}))
    np.testing.assert_allclose(c.benefit, [0.2, 0.8], rtol=1e-6)
    np.testing.assert_allclose(c.gap, [0.2, 0.8], rtol=1e-6)  # expected nothing
    np.testing.assert_allclose(c.expectation, [0.1, 0.4], rtol=1e-6)  # half way (rate 0.5)


def test_representativeness_falls_when_one_segment_leaves():
    count = np.array([50, 50])
    even = np.array([[25.0], [25.0]])
    skewed = np.array([[50.0], [0.0]])
    assert sharing.representativeness(even, count)[0] == pytest.approx(1.0)
    assert sharing.representativeness(skewed, count)[0] == pytest.approx(0.5)


def test_public_benefit_comes_from_coverage_of_non_direct_programmes(table, prog):
    tab = table(prog(benefit=1.0, barriers=OPEN), prog(name="q", purpose="direct_service"))
    plan = sharing.SharingPlan.build(tab, P)
    full = sharing.public_benefit(plan, np.array([1.0, 1.0]), np.array([1.0, 1.0]))
    assert full == pytest.approx(1.0)  # the direct service adds nothing
    assert sharing.public_benefit(plan, np.array([0.5, 1.0]), np.array([0.8, 1.0])) == \
        pytest.approx(0.4)


def test_private_and_commercial_sharing_carry_more_risk(table, prog):
    r = [sharing.risk(table(prog(**kw)), P)[0] for kw in (
        {"recipient": "university"}, {"recipient": "supplier"},
        {"recipient": "supplier", "purpose": "commercial"})]
    assert r[0] < r[1] < r[2]


def test_hidden_sharing_has_no_attitude_effect_until_announced(table, prog):
    base, per_concern = sharing.attitude_terms(table(prog(announced=False)), P)
    assert base[0] == 0 and per_concern[0] == 0


def test_dynamic_flows_follow_the_refused_uses(table, prog):
    """Flow under dynamic consent is rho x sum_k uses_k x (m + (1 - m) [use k kept]); other
    regimes ignore the refusals."""
    uses = {"planning_research": 0.8, "commercial": 0.2}
    choice = np.array([[Choice.DEFAULT]] * 3 + [[Choice.OUT]], np.int8)
    refused = np.array([[0], [4], [2], [6]], np.int8)  # none, commercial, research, both
    for consent, flowing in (("dynamic", [1, 0.9, 0.6, 0.5]), ("opt_out", [1, 1, 1, 0.5])):
        tab = table(prog(consent=consent, uses=uses, barriers=OPEN,
                         mandate=Mandate(strength=0.5)))
        plan = sharing.SharingPlan.build(tab, P)
        np.testing.assert_allclose(sharing.flow_of(plan, choice, 0, refused), flowing)
        c = Citizens(4, 8, 1)
        c.choice[:], c.refused[:] = choice, refused
        cover, _ = sharing.step(plan, c, np.array([4]))
        assert cover[0] == pytest.approx(np.mean(flowing))


def test_exposure_and_benefit_are_weighted_by_the_uses(table, prog):
    mixed = table(prog(uses={"planning_research": 0.5, "commercial": 0.5}))
    research, commercial = table(prog()), table(prog(purpose="commercial"))
    assert sharing.exposure(mixed, P)[0] == pytest.approx(
        (sharing.exposure(research, P)[0] + sharing.exposure(commercial, P)[0]) / 2)


def test_the_cultural_barrier_follows_trust_in_the_recipient(table, prog, agencies):
    """The holder shares as willingly as at the start while trust in the recipient stays put,
    less as it falls, and never more than every record."""
    tab = table(prog(barriers={**OPEN, "willingness": 0.8}))
    plan = sharing.SharingPlan.build(tab, P)
    ratio = np.ones(len(agencies) + 1)
    assert plan.culture(ratio)[0] == 1.0
    column = [a.name for a in agencies].index("university")
    ratio[column] = 0.5
    assert plan.culture(ratio)[0] == pytest.approx(0.5 ** P.culture_elasticity)
    ratio[column] = 2.0
    assert plan.culture(ratio)[0] == pytest.approx(1 / 0.8)  # effective willingness 1 at most
    ratio[:] = 1.0
    ratio[column] = 0.5
    flat = sharing.SharingPlan.build(tab, TrustParams(culture_elasticity=0.0))
    assert flat.culture(ratio)[0] == 1.0  # elasticity 0: the barrier is fixed
    c = Citizens(10, len(agencies) + 1, 1)  # everyone's records flow
    count = np.array([10])
    full = sharing.step(plan, c, count)[0][0]
    half = sharing.step(plan, c, count, plan.culture(ratio))[0][0]
    assert half == pytest.approx(full * 0.5 ** P.culture_elasticity)


def test_statutory_sharing_shrinks_when_a_scandal_costs_the_recipient_trust():
    """Derived: with no consent choice nobody can opt out, yet after a scandal the holder's
    willingness falls with trust in the recipient, and coverage with it; with the elasticity
    at 0 coverage does not move."""
    from sim import Scandal, TrustModel

    def run(elasticity):
        m = TrustModel(3_000, rng=5, params=TrustParams(culture_elasticity=elasticity),
                       events=[Scandal(step=2, programme="pupil_records", severity=0.6,
                                       publicity=0.9)])
        for _ in range(12):
            m.step()
        return m.timeseries()

    moved, fixed = run(1.0), run(0.0)
    assert moved.trust_dfe.iloc[10] < moved.trust_dfe.iloc[1] - 0.02
    assert moved.coverage_pupil_records.iloc[10] < moved.coverage_pupil_records.iloc[1] - 0.01
    assert fixed.coverage_pupil_records.iloc[10] == pytest.approx(
        fixed.coverage_pupil_records.iloc[1], abs=1e-9)


# ------------------------------------------------------------------ catchments and subjects
def test_only_the_catchments_records_flow_and_coverage_is_of_the_catchment(table, prog):
    from sim import TrustModel, demography, population
    from sim.sharing import members

    london = demography.REGIONS.index(demography.Region.LONDON)
    m = TrustModel(20_000, rng=3, citizen_agents=False, programmes=[
        prog(consent="none", purpose="direct_service", barriers=OPEN,
             catchment={"regions": ["london"], "share": 0.5}),
        prog(name="q", consent="none", barriers=OPEN)])
    c, t = m.citizens, m.table
    held = members(population.codes(c), t.member, t.subject_share, t.subject_key, 0)
    assert not held[c.region != london].any()  # none outside London
    in_london = c.region == london
    assert held[in_london].mean() == pytest.approx(0.5, abs=0.03)  # half of London
    assert c.benefit[~held].max() == 0 and c.benefit[held].min() > 0  # only they are served
    assert m.member_count[:, 0].sum() == held.sum()
    cover = m.timeseries().iloc[0]
    assert cover.coverage_p == pytest.approx(1.0) and cover.coverage_q == pytest.approx(1.0)
    flow = sharing.flow_of(m.plans.sharing, c.choice, 0, c.refused, None, population.codes(c))
    np.testing.assert_array_equal(flow > 0, held)
    with pytest.raises(ValueError, match="codes"):
        sharing.flow_of(m.plans.sharing, c.choice, 0)


def test_business_records_hold_only_the_sole_traders_among_citizens(table, prog):
    from sim import TrustModel, population
    from sim.programmes import SOLE_TRADER_SHARE
    from sim.sharing import members

    m = TrustModel(40_000, rng=4, citizen_agents=False, programmes=[
        prog(consent="none", subjects="businesses"),
        prog(name="q", consent="none", subjects="businesses", citizen_share=0.2)])
    t, codes = m.table, population.codes(m.citizens)
    share = [members(codes, t.member, t.subject_share, t.subject_key, p).mean() for p in (0, 1)]
    assert share[0] == pytest.approx(SOLE_TRADER_SHARE, abs=0.005)
    assert share[1] == pytest.approx(0.2, abs=0.01)
    with pytest.raises(ValueError, match="citizen_share"):
        prog(citizen_share=0.2)  # a share of citizens as subjects is catchment.share
    other = TrustModel(40_000, rng=5, citizen_agents=False, programmes=m.programmes)
    assert not np.array_equal(  # members come from the seed's stream, not from the index alone
        members(codes, t.member, t.subject_share, t.subject_key, 0),
        members(population.codes(other.citizens), other.table.member,
                other.table.subject_share, other.table.subject_key, 0))


def test_a_membership_key_is_the_programme_names_stream_key_mixed_with_the_salt():
    """sim.catchment, which is data, computes the crc32 itself rather than import sim.streams."""
    from sim import catchment
    from sim.streams import stream_key

    for name in ("gp_records", "vat_register"):
        assert catchment.key(name, 0) == stream_key(name)
        assert catchment.key(name, 2**32 - 1) == stream_key(name) ^ (2**32 - 1)


def test_a_default_catchment_leaves_flows_as_before(table, prog):
    choice = np.random.default_rng(1).integers(0, 3, (300, 1)).astype(np.int8)
    tab = table(prog(consent="opt_out"))
    everyone = tab.everyone[0] and tab.member.all() and tab.subject_share[0] == 1.0
    assert everyone
    _, cover, _ = share(tab, choice)
    assert cover[0] == pytest.approx(sharing.flow_of(sharing.SharingPlan.build(tab, P),
                                                     choice, 0).mean())


@settings(max_examples=60, deadline=None)
@given(n=st.integers(0, 3_000), regimes=st.lists(st.sampled_from([0, 1, 2]), min_size=1,
                                                  max_size=8),
       seed=st.integers(0, 2**31), fused=st.booleans())
def test_flows_are_the_cell_by_cell_rule_to_the_bit(n, regimes, seed, fused):
    """sim.sharing.flows (opt-out flows set from bit words of the choices, the rest by column
    loops) against the rule written a citizen and a programme at a time: the same flows,
    benefits, gaps, expectations and sums by segment, for any population size, mix of regimes
    (no say, opt-out, opt-in) and share of choices, in one pass or chunk-style."""
    from sim.demography import N_CELLS

    rng = np.random.default_rng(seed)
    n_prog, n_seg = len(regimes), 4
    regime = np.array(regimes, np.int8)
    choice = rng.choice(np.array([0, 1, 2], np.int8), (n, n_prog), p=rng.dirichlet([1, 1, 1]))
    segment = rng.integers(0, n_seg, n).astype(np.int8)
    need = rng.random(n, dtype=np.float32)
    expectation = rng.random(n, dtype=np.float32)
    consent, refused = rng.random(n_prog), rng.random(n_prog) * 0.5
    weight, eta = rng.random(n_prog), np.float32(0.3)
    codes = tuple(np.zeros(n, np.int8) for _ in range(4))
    member = np.ones((n_prog, N_CELLS), np.bool_)
    share_, key = np.ones(n_prog), np.zeros(n_prog, np.int64)
    plain = np.ones(n_prog, np.bool_)
    benefit, gap = np.empty(n, np.float32), np.empty(n, np.float32)
    new_expectation = expectation.copy()
    out = np.empty((n_prog, sharing.BLOCK if fused else n))
    segment_flow = np.zeros((n_seg, n_prog))
    sharing.flows(choice, None, segment, need, new_expectation, regime, np.ones((n_prog, 3)),
                  consent, refused, weight, eta, benefit, gap, *codes, member, share_, key,
                  plain, 0, out, segment_flow, fused)
    if not fused:
        sharing.add_flows(segment, out, segment_flow)
    want_flow = np.zeros((n_seg, n_prog))
    for i in range(n):
        total = 0.0
        for p in range(n_prog):
            f = consent[p] if sharing.consents(regime[p], choice[i, p]) else refused[p]
            total += weight[p] * f
            want_flow[segment[i], p] += f
        b = total * need[i]
        assert benefit[i] == np.float32(b) and gap[i] == np.float32(b - expectation[i])
        assert new_expectation[i] == np.float32(expectation[i] + eta * (b - expectation[i]))
    np.testing.assert_array_equal(segment_flow, want_flow)
    if not fused and n:
        for p in range(n_prog):
            np.testing.assert_array_equal(
                out[p], np.where([sharing.consents(regime[p], c) for c in choice[:, p]],
                                 consent[p], refused[p]))
