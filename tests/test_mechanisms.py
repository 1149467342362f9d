"""Each mechanism as a function over arrays, tested without a model."""

import numpy as np
import pytest

from sim import baseline, breaches, control, mandates, sharing, trust
from sim.network import build_network, household_sizes
from sim.params import TrustParams
from sim.programmes import Choice, Consent, Mandate, Programme, ProgrammeTable, Regime
from sim.streams import Streams, seed_sequence, spread

P = TrustParams()
f32 = np.float32


def table(*programmes: Programme) -> ProgrammeTable:
    return ProgrammeTable.build(programmes, baseline.AGENCIES)


def prog(**kw) -> Programme:
    return Programme(**{"name": "p", "holder": "nhs", "recipient": "university", **kw})


# --- sharing and benefit -----------------------------------------------------------------
def run_flows(tab, choice, segment=None, need=None, expectation=None):
    n = choice.shape[0]
    segment = np.zeros(n, np.int8) if segment is None else segment
    need = np.ones(n, f32) if need is None else need
    expectation = np.zeros(n, f32) if expectation is None else expectation
    benefit, gap = np.zeros(n, f32), np.zeros(n, f32)
    seg_flow = np.zeros((int(segment.max()) + 1, len(tab)))
    consent, refused = sharing.flow_weight(tab)
    sharing.flows(choice, segment, need, expectation, tab.regime, consent.astype(f32),
                  refused.astype(f32), sharing.service_weight(tab).astype(f32), f32(0.5),
                  benefit, gap, seg_flow)
    return benefit, gap, seg_flow, expectation


def test_opt_outs_lower_coverage_and_a_mandate_restores_part_of_it():
    choice = np.zeros((100, 1), np.int8)
    choice[:40] = Choice.OUT
    barriers = {"interoperability": 1, "data_quality": 1, "legal_clarity": 1, "willingness": 1}
    plain = table(prog(barriers=barriers))
    _, _, flow, _ = run_flows(plain, choice)
    assert sharing.coverage(flow, 100)[0] == pytest.approx(0.6)
    mandated = table(prog(barriers=barriers, mandate=Mandate(strength=0.5)))
    _, _, flow, _ = run_flows(mandated, choice)
    assert sharing.coverage(flow, 100)[0] == pytest.approx(0.6 + 0.4 * 0.5)


def test_consent_regimes_decide_who_flows():
    choice = np.array([[Choice.DEFAULT], [Choice.OUT], [Choice.IN]], np.int8)
    expected = {Consent.NONE: [1, 1, 1], Consent.OPT_OUT: [1, 0, 1],
                Consent.DYNAMIC: [1, 0, 1], Consent.OPT_IN: [0, 0, 1]}
    for regime, flows in expected.items():
        mask = control.consent_mask(int(Regime[regime.name]), choice[:, 0])
        assert mask.tolist() == [bool(f) for f in flows], regime


def test_barriers_and_pause_scale_flows():
    choice = np.zeros((10, 1), np.int8)
    half = table(prog(barriers={"interoperability": 0.5, "legal_clarity": 1, "willingness": 1}))
    _, _, flow, _ = run_flows(half, choice)
    assert sharing.coverage(flow, 10)[0] == pytest.approx(0.5)
    paused = table(prog(active=False))
    _, _, flow, _ = run_flows(paused, choice)
    assert sharing.coverage(flow, 10)[0] == 0


def test_service_benefit_scales_with_need_and_moves_expectation():
    direct = table(prog(purpose="direct_service", benefit=1.0,
                        barriers={"interoperability": 1, "data_quality": 1, "legal_clarity": 1,
                                  "willingness": 1}))
    choice = np.zeros((2, 1), np.int8)
    need = np.array([0.2, 0.8], f32)
    benefit, gap, _, expectation = run_flows(direct, choice, need=need)
    np.testing.assert_allclose(benefit, [0.2, 0.8], rtol=1e-6)
    np.testing.assert_allclose(gap, [0.2, 0.8], rtol=1e-6)  # expected nothing
    np.testing.assert_allclose(expectation, [0.1, 0.4], rtol=1e-6)  # half way (rate 0.5)


def test_representativeness_falls_when_one_segment_leaves():
    count = np.array([50, 50])
    even = np.array([[25.0], [25.0]])
    skewed = np.array([[50.0], [0.0]])
    assert sharing.representativeness(even, count)[0] == pytest.approx(1.0)
    assert sharing.representativeness(skewed, count)[0] == pytest.approx(0.5)


def test_private_and_commercial_sharing_carry_more_risk():
    public = table(prog(recipient="university"))
    private = table(prog(recipient="supplier"))
    commercial = table(prog(recipient="supplier", purpose="commercial"))
    r = [sharing.risk(t, P)[0] for t in (public, private, commercial)]
    assert r[0] < r[1] < r[2]


def test_hidden_sharing_has_no_attitude_effect_until_announced():
    hidden = table(prog(announced=False))
    base, per_concern = sharing.attitude_terms(hidden, P)
    assert base[0] == 0 and per_concern[0] == 0


# --- mandates ----------------------------------------------------------------------------
def test_mandate_trust_cost_falls_with_legitimacy():
    costs = [mandates.attitude_terms(table(prog(
        mandate=Mandate(strength=0.8, public_interest_test=level, oversight=level),
        transparency=level)), P)[1][0] for level in (0.1, 0.5, 0.9)]
    assert costs[0] < costs[1] < costs[2] <= 0
    assert mandates.attitude_terms(table(prog()), P)[1][0] == 0  # no mandate, no cost
    statutory = table(prog(consent="none", mandate=Mandate(strength=0.8)))
    assert mandates.attitude_terms(statutory, P)[1][0] == 0  # no choice to override


# --- citizen control ---------------------------------------------------------------------
def bits_for(lo: float, hi: float) -> int:
    """A 32-bit draw whose uniform for programme 0 lies in [lo, hi)."""
    return next(b for b in range(1_000_000) if lo <= spread.py_func(b, 0) < hi)


def decide(choice, trust_row, salience=0.0, prompt=0.0, draw=(0.0, 0.01), concern=0.5,
           regime=Regime.OPT_OUT, partner=-1, previous=None):
    n = choice.shape[0]
    tab = table(prog(consent=Consent[Regime(regime).name], friction=0.0))
    trust_arr = np.tile(np.asarray(trust_row, f32), (n, 1))
    out = np.zeros(6, np.int64)
    control.decide(choice, choice.copy() if previous is None else previous,
                   np.full((n, 1), salience, f32), trust_arr, np.full(n, concern, f32),
                   np.zeros(n, np.int8), np.full(n, partner, np.int32),
                   np.full(n, bits_for(*draw), np.uint32),
                   tab.holder, tab.recipient, tab.regime,
                   control.act_rate(tab, P).astype(f32), control.rejoin_rate(tab, P).astype(f32),
                   np.full(1, prompt, f32), f32(P.weight_holder), f32(P.weight_recipient),
                   f32(P.weight_general), f32(P.opt_out_threshold), f32(P.threshold_concern),
                   f32(P.hysteresis), f32(P.word_of_mouth), f32(P.salience_fade), out)
    return out


def low_trust(level: float) -> list[float]:
    return [level] * (len(baseline.AGENCIES) + 1)


def test_low_trust_alone_is_not_enough_a_salient_trigger_is_needed():
    choice = np.zeros((5, 1), np.int8)
    decide(choice, low_trust(0.05))
    assert (choice == Choice.DEFAULT).all()
    decide(choice, low_trust(0.05), salience=1.0)
    assert (choice == Choice.OUT).all()


def test_high_trust_citizens_stay_in_even_when_alerted():
    choice = np.zeros((5, 1), np.int8)
    decide(choice, low_trust(0.9), salience=1.0, prompt=1.0)
    assert (choice == Choice.DEFAULT).all()


def test_hysteresis_opting_back_in_needs_trust_well_above_threshold():
    theta = control.threshold(0.5, P)
    choice = np.full((1, 1), Choice.OUT, np.int8)
    draw = (0.0, P.rejoin_rate / 2)
    decide(choice, low_trust(theta + 0.5 * P.hysteresis), draw=draw)
    assert choice[0, 0] == Choice.OUT  # between threshold and threshold + hysteresis: stays out
    decide(choice, low_trust(theta + 1.5 * P.hysteresis), draw=draw)
    assert choice[0, 0] == Choice.DEFAULT


def test_word_of_mouth_a_partner_who_opted_out_alerts():
    previous = np.array([[Choice.DEFAULT], [Choice.OUT]], np.int8)
    choice = previous.copy()
    decide(choice, low_trust(0.05), partner=1, previous=previous, draw=(0.04, 0.06))
    assert choice[0, 0] == Choice.OUT  # u < act (1) * word_of_mouth (0.1)
    assert choice[1, 0] == Choice.OUT  # already out; its partner (none) changes nothing


def test_more_concerned_citizens_have_higher_thresholds():
    assert control.threshold(0.9, P) > control.threshold(0.5, P) > control.threshold(0.1, P)


def test_opt_in_joins_when_trusting_and_prompted():
    choice = np.zeros((3, 1), np.int8)
    decide(choice, low_trust(0.9), prompt=1.0, regime=Regime.OPT_IN)
    assert (choice == Choice.IN).all()


def test_salience_fades_and_faint_salience_is_flushed():
    choice = np.zeros((1, 1), np.int8)
    sal = np.array([[1.0]], f32)
    tab = table(prog())
    args = (choice, choice.copy(), sal, np.full((1, 8), 0.9, f32), np.full(1, 0.5, f32),
            np.zeros(1, np.int8), np.full(1, -1, np.int32),
            np.full(1, bits_for(0.99, 1), np.uint32), tab.holder, tab.recipient, tab.regime,
            np.ones(1, f32), np.zeros(1, f32), np.zeros(1, f32),
            f32(0.5), f32(0.3), f32(0.2), f32(0.25), f32(0.3), f32(0.15), f32(0.1), f32(0.5),
            np.zeros(6, np.int64))
    control.decide(*args)
    assert sal[0, 0] == pytest.approx(0.5)
    sal[0, 0] = control.SALIENCE_FLOOR / 2
    control.decide(*args)
    assert sal[0, 0] == 0


def test_deadline_prompt_builds_up_and_stops_after():
    p = prog().changed(deadline=10, deadline_salience=1.0)
    prompts = [control.deadline_prompt([p], t, 2.0)[0] for t in (4, 8, 10, 11)]
    assert prompts[0] < prompts[1] < prompts[2] == pytest.approx(1.0)
    assert prompts[3] == 0
    assert control.deadline_prompt([p.changed(active=False)], 9, 2.0)[0] == 0  # paused


def test_control_level_orders_regimes_and_dashboard_adds():
    levels = [control.control_level(table(prog(consent=c)), P)[0]
              for c in ("none", "opt_out", "opt_in", "dynamic")]
    assert levels == sorted(levels) and levels[0] == 0
    assert control.control_level(table(prog(dashboard=True)), P)[0] > levels[1]


# --- breaches ----------------------------------------------------------------------------
def test_breach_hazard_rises_with_volume_and_recipients_and_falls_with_security():
    def h(cover=1.0, **kw):
        return breaches.hazard(table(prog(breach_rate=1.0, **kw)), np.array([cover]), P)[0]

    assert h(cover=0.9) > h(cover=0.3) > 0
    assert h(n_recipients=20) > h(n_recipients=1)
    assert h(security=0.9) < h(security=0.5)
    assert h(security=0.5) == pytest.approx(1 - np.exp(-1 / 52))  # the yearly rate's anchor
    assert h(active=False) == 0


def test_victims_only_among_those_whose_records_flowed():
    flow = np.array([0.0] * 500 + [1.0] * 500)
    draw = np.random.default_rng(0).random(1000)
    v = breaches.victims(flow, 0.9, P.model_copy(update={"victim_share": 0.5}), draw)
    assert not v[:500].any() and v[500:].mean() == pytest.approx(0.45, abs=0.06)


def test_hits_victims_hardest_and_hidden_sharing_hardest_of_all():
    sal = np.zeros(3, f32)
    victim = np.array([True, False, False])
    reach = np.array([True, True, False])
    breaches.hit(sal, victim, reach, 0.5, P, hidden=False)
    assert sal[0] > sal[1] > sal[2] == 0
    hidden = np.zeros(3, f32)
    breaches.hit(hidden, victim, reach, 0.5, P, hidden=True)
    np.testing.assert_allclose(hidden, sal * P.hidden_multiplier)


# --- trust dynamics ----------------------------------------------------------------------
def trust_step(x, salience=0.0, gap=0.0, disposition=None, neighbour=None, params=P):
    x = np.array([[x]], f32)
    disp = x.copy() if disposition is None else np.array([[disposition]], f32)
    neigh = x.copy() if neighbour is None else np.array([[neighbour]], f32)
    s, ss = np.zeros(1), np.zeros(1)
    trust.update(x, neigh, disp, np.full(1, 0.5, f32), np.array([[salience]], f32),
                 np.ones((1, 1), f32), np.ones(1, f32), np.array([gap], f32), np.zeros(1, f32),
                 np.zeros(1, f32), f32(params.gain_rate), f32(params.loss_aversion),
                 f32(params.drift), f32(params.confidence_bound), f32(params.influence_rate), s, ss)
    assert s[0] == pytest.approx(x[0, 0]) and ss[0] == pytest.approx(x[0, 0] ** 2)
    return float(x[0, 0])  # updated in place


def test_losses_weigh_more_than_gains():
    down = 0.5 - trust_step(0.5, gap=-0.2)
    up = trust_step(0.5, gap=0.2) - 0.5
    assert down == pytest.approx(P.loss_aversion * up, rel=1e-4)


def test_news_lowers_trust_and_trust_stays_in_bounds():
    assert trust_step(0.5, salience=1.0) < 0.5
    extreme = TrustParams(gain_rate=0.5, loss_aversion=10.0)
    assert trust_step(0.01, salience=50.0, params=extreme) >= 0
    assert trust_step(0.99, gap=50.0, params=extreme) <= 1


def test_drift_returns_trust_toward_disposition():
    assert trust_step(0.3, disposition=0.6) > 0.3
    assert trust_step(0.8, disposition=0.6) < 0.8


def test_social_pull_only_from_close_neighbours():
    assert trust_step(0.5, neighbour=0.6) > 0.5
    assert trust_step(0.5, neighbour=0.95) == pytest.approx(0.5)


def test_routing_recipient_full_holder_partial_general_and_others_spill():
    tab = table(prog(holder="nhs", recipient="supplier"))
    spill = trust.routing(tab, len(baseline.AGENCIES) + 1, P.holder_blame, P)
    cols = {a.name: k for k, a in enumerate(baseline.AGENCIES)}
    assert spill[0, cols["supplier"]] == 1.0
    assert spill[0, cols["nhs"]] == P.holder_blame
    assert spill[0, -1] == P.general_spill
    assert spill[0, cols["hmrc"]] == P.agency_spill


# --- network and random streams ----------------------------------------------------------
def test_network_is_symmetric_without_self_loops_and_mostly_local():
    net = build_network(5_000, np.random.default_rng(1))
    assert (net != net.T).nnz == 0
    assert net.diagonal().sum() == 0
    rows = np.repeat(np.arange(5_000), np.diff(net.indptr))
    local = np.abs(net.indices - rows) <= P.local_ties + 4
    assert 0.6 < local.mean() < 0.95  # households and neighbours, plus long-range ties
    assert 5 < net.nnz / 5_000 < 12  # mean degree


def test_household_sizes_add_up():
    sizes = household_sizes(10_001, np.random.default_rng(2))
    assert sizes.sum() == 10_001 and sizes.min() >= 1 and sizes.max() <= 5


def test_spread_gives_independent_uniforms_per_programme():
    bits = Streams(seed_sequence(1)).bits("choice", 1, 20_000)
    u = np.array([[spread.py_func(int(b), p) for p in range(3)] for b in bits])
    assert ((u >= 0) & (u < 1)).all()
    np.testing.assert_allclose(u.mean(axis=0), 0.5, atol=0.01)
    corr = np.corrcoef(u.T)
    assert np.abs(corr[np.triu_indices(3, 1)]).max() < 0.03
    both = ((u[:, 0] < 0.1) & (u[:, 1] < 0.1)).mean()  # acting on two programmes in one week
    assert both == pytest.approx(0.01, abs=0.004)
    assert spread(int(bits[0]), 1) == spread.py_func(int(bits[0]), 1)  # compiled = Python


def test_streams_depend_only_on_seed_name_and_step():
    s = Streams(seed_sequence(3))
    a = s.uniform("partner", 5, 10)
    s.uniform("choice", 5, 10)  # other draws in between change nothing
    np.testing.assert_array_equal(a, Streams(seed_sequence(3)).uniform("partner", 5, 10))
    assert not np.array_equal(a, s.uniform("partner", 6, 10))
    assert not np.array_equal(a, s.uniform("choice", 5, 10))
    assert not np.array_equal(a, Streams(seed_sequence(4)).uniform("partner", 5, 10))
    with pytest.raises(TypeError):
        seed_sequence("seven")
