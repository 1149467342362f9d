"""Citizen control (sim.control): who opts out or in, when, and what makes them act."""

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim import TrustModel, control
from sim.citizens import Citizens
from sim.params import TrustParams
from sim.programmes import Choice, Regime
from sim.streams import Streams, seed_sequence, spread

P = TrustParams()
N_COLS = 8  # the baseline's seven agencies and general trust
#: utility is the programme's constant alone: no trust, risk, benefit or legitimacy terms
FLAT = P.model_copy(update={"trust_weight": 0.0, "risk_weight": 0.0, "benefit_weight": 0.0,
                            "legitimacy_weight": 0.0,
                            "background_attention": 0.0})


class FixedDraws:
    """Streams whose 32-bit draws are all one word, so a test picks a citizen's uniforms."""

    def __init__(self, bits: int):
        self.bits_value = bits

    def bits(self, name: str, step: int, size: int, *sub: int) -> np.ndarray:
        return np.full(size, self.bits_value, np.uint32)

    def bits_span(self, name: str, step: int, start: int, stop: int, *sub: int) -> np.ndarray:
        return self.bits(name, step, stop - start, *sub)


def bits_for(act: tuple[float, float], choose: tuple[float, float] = (0.0, 1.0)) -> int:
    """A 32-bit draw whose uniform for acting on programme 0 lies in ``act`` and whose uniform
    for the logit choice (programme 0 of 1) lies in ``choose``."""
    return next(b for b in range(10_000_000) if act[0] <= spread.py_func(b, 0) < act[1]
                and choose[0] <= spread.py_func(b, 1) < choose[1])


def population(n, trust=0.5, choice=Choice.DEFAULT, aware=1, salience=0.0, attention=0.0,
               partner=-1):
    c = Citizens(n, N_COLS, 1)
    c.trust[:], c.choice[:], c.aware[:] = trust, choice, aware
    c.salience[:], c.attention[:], c.partner[:] = salience, attention, partner
    c.concern[:] = 0.5
    return c


def plan_for(table, prog, utility=0.0, params=FLAT, consent="opt_out", **programme):
    programmes = [prog(consent=consent, **{"friction": 0.0, **programme})]
    plan = control.ControlPlan.build(table(*programmes), params, programmes, np.zeros(1))
    return dataclasses.replace(plan, constant=np.array([utility], np.float32))


def test_an_attentive_aware_citizen_follows_its_utility(table, prog):
    leave = bits_for((0.0, 0.5), (0.0, 0.5))  # acts; logit uniform below one half
    for utility, expected in ((-8.0, Choice.OUT), (8.0, Choice.DEFAULT)):
        c = population(5, salience=1.0)
        control.step(plan_for(table, prog, utility), c, FixedDraws(leave), 1, 1)
        assert (c.choice[:, 0] == expected).all(), utility


def test_no_attention_or_no_awareness_means_no_choice(table, prog):
    draw = FixedDraws(bits_for((0.0, 0.01)))
    plan = plan_for(table, prog, -8.0)
    calm = population(5)  # aware, but nothing draws attention (background 0)
    control.step(plan, calm, draw, 1, 1)
    assert (calm.choice == Choice.DEFAULT).all()
    unaware = population(5, aware=0, salience=1.0, attention=1.0)
    control.step(plan, unaware, draw, 1, 1)
    assert (unaware.choice == Choice.DEFAULT).all()


def test_switching_probabilities_are_the_logit_with_the_switching_cost(table, prog):
    """Over many citizens, the share who leave is logistic(-U - k) and the share who come back
    logistic(U - k), for any utility: exit is sticky because of the switching cost."""
    n, k = 200_000, P.switching_cost
    streams = Streams(seed_sequence(5))
    for utility in (-1.0, 0.5, 2.0):
        plan = plan_for(table, prog, utility)
        inside = population(n, salience=1.0)
        control.step(plan, inside, streams, 1, 1)
        left = (inside.choice == Choice.OUT).mean()
        assert left == pytest.approx(1 / (1 + np.exp(utility + k)), abs=3e-3)
        outside = population(n, choice=Choice.OUT, attention=1.0)
        control.step(plan, outside, streams, 2, 1)
        back = (outside.choice == Choice.DEFAULT).mean()
        assert back == pytest.approx(1 / (1 + np.exp(-utility + k)), abs=3e-3)


def test_bad_news_prompts_exit_but_not_a_return(table, prog):
    """Salience (bad news) and a deadline prompt those who share to leave; they do not prompt
    those who opted out to come back, however attractive sharing is."""
    plan = plan_for(table, prog, 8.0, deadline=1, deadline_salience=1.0)
    out = population(5, choice=Choice.OUT, salience=1.0)
    control.step(plan, out, FixedDraws(bits_for((0.0, 0.5), (0.0, 0.5))), 1, 1)
    assert (out.choice == Choice.OUT).all()
    asked = population(5, choice=Choice.OUT, attention=1.0)  # a campaign or a request does
    control.step(plan, asked, FixedDraws(bits_for((0.0, 0.5), (0.0, 0.5))), 1, 1)
    assert (asked.choice == Choice.DEFAULT).all()


def test_a_partner_who_opted_out_prompts_the_aware(table, prog):
    draw = FixedDraws(bits_for((0.04, 0.06), (0.0, 0.5)))  # u < act (1) x word of mouth (0.1)
    c = population(2, partner=1)
    c.choice[1] = Choice.OUT
    control.step(plan_for(table, prog, -8.0), c, draw, 1, 1)
    assert c.choice[0, 0] == Choice.OUT
    quiet = population(2, partner=1)  # a partner still in prompts nothing
    control.step(plan_for(table, prog, -8.0), quiet, draw, 1, 1)
    assert (quiet.choice == Choice.DEFAULT).all()
    unaware = population(2, aware=0, partner=1)  # nor does one who opted out, to the unaware
    unaware.choice[1] = Choice.OUT
    control.step(plan_for(table, prog, -8.0), unaware, draw, 1, 1)
    assert unaware.choice[0, 0] == Choice.DEFAULT


def test_a_deadline_prompts_the_aware(table, prog):
    c = population(5)
    plan = plan_for(table, prog, -8.0, deadline=1, deadline_salience=1.0)
    control.step(plan, c, FixedDraws(bits_for((0.0, 0.5), (0.0, 0.5))), 1, 1)
    assert (c.choice == Choice.OUT).all()


def test_opt_in_joins_when_utility_is_high_and_prompted(table, prog):
    c = population(3, attention=1.0)
    control.step(plan_for(table, prog, 8.0, consent="opt_in"), c,
                 FixedDraws(bits_for((0.0, 0.5), (0.0, 0.5))), 1, 1)
    assert (c.choice == Choice.IN).all()


def test_utility_rises_with_trust_and_benefit_and_falls_with_concern_times_risk(table, prog):
    plan = dataclasses.replace(
        control.ControlPlan.build(table(prog()), P, [prog()], np.zeros(1)))
    c = population(4)
    c.trust[1] = 0.9  # more trust
    c.concern[2] = 0.95  # more concern
    c.need[:] = 0.4
    u = plan.utilities(c, 0)
    assert u[1] > u[0] > u[2]
    richer = control.ControlPlan.build(table(prog(benefit=1.0)), P, [prog(benefit=1.0)],
                                       np.zeros(1))
    assert richer.utilities(c, 0)[0] > plan.utilities(c, 0)[0]


def test_salience_and_attention_fade_and_faint_ones_are_flushed(table, prog):
    params = FLAT.model_copy(update={"salience_fade": 0.5})
    plan = plan_for(table, prog, 8.0, params=params)
    c = population(1, salience=1.0, attention=1.0)
    control.step(plan, c, FixedDraws(bits_for((0.99, 1.0))), 1, 1)
    assert c.salience[0, 0] == pytest.approx(0.5) and c.attention[0, 0] == pytest.approx(0.5)
    c.salience[:] = c.attention[:] = control.SALIENCE_FLOOR / 2
    control.step(plan, c, FixedDraws(bits_for((0.99, 1.0))), 1, 1)
    assert c.salience[0, 0] == 0 and c.attention[0, 0] == 0


def test_fading_flushes_exactly_the_values_at_or_below_the_floor():
    """Every float32 within 2,000 steps of the floor, and values of both signs and zeros, fade
    as ``s * keep`` if ``float64(s) > SALIENCE_FLOOR``, else to zero; a zero stays as it was.
    (The kernel compares in float32 against the float32 just below the floor.)"""
    floor = np.float32(control.SALIENCE_FLOOR)
    near = floor + np.arange(-2_000, 2_000) * np.spacing(floor)
    values = np.concatenate([near, [0.0, -0.0, 1.0, 0.3, -0.5]]).astype(np.float32)
    keep = np.float32(0.9)
    expected = np.where(values.astype(np.float64) > control.SALIENCE_FLOOR,
                        values * keep, np.float32(0)).astype(np.float32)
    expected[values == 0] = values[values == 0]
    faded = values.copy()
    control._fade(faded, keep)
    assert np.array_equal(faded.view(np.uint32), expected.view(np.uint32))


def test_willingness_counts_citizens_whose_utility_favours_sharing(table, prog):
    c = population(4)
    c.propensity[:] = [-3.0, -1.0, 1.0, 3.0]
    _, willing = control.step(plan_for(table, prog, 0.5), c, FixedDraws(0), 1, 1)
    assert willing.tolist() == [2]


def test_deadline_prompt_builds_up_and_stops_after(prog):
    p = prog().changed(deadline=10, deadline_salience=1.0)
    prompts = [control.deadline_prompt([p], t, 2.0)[0] for t in (4, 8, 10, 11)]
    assert prompts[0] < prompts[1] < prompts[2] == pytest.approx(1.0)
    assert prompts[3] == 0
    assert control.deadline_prompt([p.changed(active=False)], 9, 2.0)[0] == 0  # paused


def test_control_level_orders_regimes_and_dashboard_adds(table, prog):
    levels = [control.control_level(table(prog(consent=c)), P)[0]
              for c in ("none", "opt_out", "opt_in", "dynamic")]
    assert levels == sorted(levels) and levels[0] == 0
    assert control.control_level(table(prog(dashboard=True)), P)[0] > levels[1]


@settings(max_examples=15, deadline=None)
@given(share=st.floats(0.005, 0.2), awareness=st.floats(0.3, 1.0), seed=st.integers(0, 2**16))
def test_the_start_is_fitted_to_the_observed_share(share, awareness, seed):
    """The utility constant is fitted so the equilibrium share of the aware matches the
    observed starting share, whatever the awareness."""
    from sim import baseline

    gp = baseline.PROGRAMMES[0].changed(initial_opt_out=share, awareness=awareness)
    m = TrustModel(20_000, programmes=[gp], rng=seed, citizen_agents=False)
    assert m.timeseries().opt_out_rate.iloc[0] == pytest.approx(share, abs=0.006)
    out = m.citizens.choice[:, 0] == Choice.OUT
    assert not (out & (m.citizens.aware[:, 0] == 0)).any()  # only the aware ever chose


def test_a_share_the_aware_cannot_hold_is_refused():
    from sim import baseline

    gp = baseline.PROGRAMMES[0].changed(initial_opt_out=0.5, awareness=0.3)
    with pytest.raises(ValueError, match="raise its awareness"):
        TrustModel(2_000, programmes=[gp], rng=1)


def test_opt_in_with_an_enrolment_campaign_gains_coverage_that_rises_with_trust():
    """GP records switched to opt-in at week 1 (everyone is asked), with and without an
    enrolment campaign, in worlds that trust the NHS and researchers at 0.4, 0.6 and 0.8; the
    programme's constant is the default, not fitted, so trust is the only difference."""
    from sim import Campaign, PolicyChange, baseline
    from sim.stylized_facts import calm_programmes

    switch = PolicyChange(step=1, programme="gp_records",
                          changes={"consent": "opt_in", "legal_basis": "consent"})
    drive = Campaign(step=2, programme="gp_records", strength=0.5, reach=0.5, duration=8)
    programmes = [p.changed(initial_opt_out=None) if p.name == "gp_records" else p
                  for p in calm_programmes()]
    coverage = {}
    for trust in (0.4, 0.6, 0.8):
        agencies = [a.model_copy(update={"initial_trust": trust})
                    if a.name in ("nhs", "university") else a for a in baseline.AGENCIES]
        for events in ([switch], [switch, drive]):
            m = TrustModel(5_000, agencies=agencies, programmes=programmes, events=events,
                           rng=1, citizen_agents=False)
            for _ in range(40):
                m.step()
            coverage[trust, len(events)] = m.timeseries().coverage_gp_records.iloc[-1]
    for trust in (0.4, 0.6, 0.8):
        assert coverage[trust, 2] > coverage[trust, 1] + 0.1  # the drive enrols
    assert 0.2 < coverage[0.4, 2] < coverage[0.6, 2] - 0.03 < coverage[0.8, 2] - 0.06


def test_procedural_legitimacy_and_a_sound_legal_basis_raise_the_utility(table, prog):
    def mean_utility(**fields):
        programme = prog(**fields)
        plan = control.ControlPlan.build(table(programme), P, [programme], np.zeros(1))
        return float(plan.utilities(population(10), 0).mean())

    assert mean_utility(transparency=0.9) > mean_utility(transparency=0.5) > \
        mean_utility(transparency=0.1)
    assert mean_utility(mandate={"oversight": 0.9}) > mean_utility(mandate={"oversight": 0.1})
    assert mean_utility(legal_basis="statute") > mean_utility(legal_basis="implied_consent")


# ------------------------------------------------------------------ dynamic consent by purpose
RESEARCH, COMMERCIAL = 1, 2  # bits of sim.programmes.PURPOSES
TWO_USES = {"planning_research": 0.8, "commercial": 0.2}


def two_use_bits(act=(0.0, 0.5), choose=(0.0, 0.5)) -> int:
    """A draw whose uniforms (one programme, own purpose research) for acting and choosing lie
    in ``act`` and ``choose`` for both uses: research keeps keys 0 and 1 (P + p), commercial
    gets 2P + 3p + k = 4 and 5P + 3p + k = 7."""
    return next(b for b in range(10_000_000)
                if all(act[0] <= spread.py_func(b, k) < act[1] for k in (0, 4))
                and all(choose[0] <= spread.py_func(b, k) < choose[1] for k in (1, 7)))


def dynamic_plan(table, prog, utility, commercial_exposure):
    """Dynamic consent over two uses; the commercial use alone exposes (risk weight 1)."""
    params = FLAT.model_copy(update={"risk_weight": 1.0})
    plan = plan_for(table, prog, utility, params=params, consent="dynamic", uses=TWO_USES)
    exposure = np.zeros((1, 3), np.float32)
    exposure[0, COMMERCIAL] = commercial_exposure
    return dataclasses.replace(plan, exposure_k=exposure)


def test_dynamic_consent_refuses_the_commercial_use_and_keeps_research(table, prog):
    """Utility 8 for research, 8 - 0.5 x 32 = -8 for commercial re-use: an attentive citizen
    refuses only the commercial use and has not opted out."""
    c = population(4, salience=1.0)
    control.step(dynamic_plan(table, prog, 8.0, 32.0), c, FixedDraws(two_use_bits()), 1, 1)
    assert (c.refused[:, 0] == 1 << COMMERCIAL).all()
    assert (c.choice[:, 0] == Choice.DEFAULT).all()


def test_refusing_every_use_is_opting_out_and_joining_clears_a_refusal(table, prog):
    c = population(3, salience=1.0)
    control.step(dynamic_plan(table, prog, -8.0, 0.0), c, FixedDraws(two_use_bits()), 1, 1)
    assert (c.refused[:, 0] == (1 << RESEARCH) | (1 << COMMERCIAL)).all()
    assert (c.choice[:, 0] == Choice.OUT).all()
    back = population(3, choice=Choice.OUT, attention=1.0)  # a request; sharing is attractive
    control.step(dynamic_plan(table, prog, 8.0, 0.0), back, FixedDraws(two_use_bits()), 1, 1)
    assert (back.refused[:, 0] == 0).all() and (back.choice[:, 0] == Choice.DEFAULT).all()


def test_one_use_dynamic_consent_draws_as_before(table, prog):
    """With the programme's own purpose as its only use, dynamic consent reads the same
    uniforms and makes the same choices as before purposes were told apart."""
    streams = Streams(seed_sequence(9))
    plan = plan_for(table, prog, -0.5, consent="dynamic")
    c = population(20_000, salience=1.0)
    control.step(plan, c, streams, 1, 1)
    out = c.choice[:, 0] == Choice.OUT
    assert 0.1 < out.mean() < 0.9
    assert ((c.refused[:, 0] == 1 << RESEARCH) == out).all()
    u = np.array([spread.py_func(b, 0) for b in streams.bits("choice", 1, 20)])
    assert not out[:20][u >= 1.0].any()  # act is 1 (friction 0): every draw acts


def test_dynamic_start_and_fit_match_the_use_weighted_share():
    """Refusals at the start are drawn per use; the constant is fitted so the use-weighted
    refusal share is the observed starting share; the commercial use is refused more."""
    from sim.stylized_facts import calm_programmes

    programmes = [p.changed(consent="dynamic", uses=TWO_USES) if p.name == "gp_records" else p
                  for p in calm_programmes()]
    m = TrustModel(20_000, programmes=programmes, rng=3, citizen_agents=False)
    first = m.timeseries().iloc[0]
    weighted = 0.8 * first.refusing_planning_research + 0.2 * first.refusing_commercial
    assert weighted == pytest.approx(0.0277, abs=0.004)
    assert first.refusing_commercial > 2 * first.refusing_planning_research
    both = m.citizens.refused[:, 0] == (1 << RESEARCH) | (1 << COMMERCIAL)
    assert ((m.citizens.choice[:, 0] == Choice.OUT) == both).all()


def test_a_switch_to_dynamic_consent_starts_from_the_current_choices():
    from sim import PolicyChange
    from sim.stylized_facts import calm_programmes

    programmes = [p.changed(uses=TWO_USES) if p.name == "gp_records" else p
                  for p in calm_programmes()]
    m = TrustModel(3_000, programmes=programmes, rng=2, citizen_agents=False,
                   events=[PolicyChange(step=1, programme="gp_records",
                                        changes={"consent": "dynamic"})])
    out = m.citizens.choice[:, 0] == Choice.OUT
    assert out.any() and not m.citizens.refused.any()
    m.step()
    was_out = out & (m.citizens.choice[:, 0] == Choice.OUT)
    assert (m.citizens.refused[was_out, 0] == (1 << RESEARCH) | (1 << COMMERCIAL)).all()


def test_granular_consent_keeps_research_sharing_through_a_scandal():
    """The acceptance test: GP records used 80% for research and 20% commercially, one scandal,
    the same history under opt-out and under dynamic consent by purpose (sim.stylized_facts)."""
    from sim.stylized_facts import sf4_granular_consent

    runs = sf4_granular_consent(n=4_000, steps=40)
    dyn, opt = runs["dynamic"], runs["opt_out"]
    rise = dyn.iloc[-1] - dyn.iloc[9]
    assert rise.refusing_commercial > 0.08
    assert rise.refusing_commercial > 2 * rise.refusing_planning_research
    assert dyn.research_coverage.iloc[-1] > opt.research_coverage.iloc[-1] + 0.01
    assert dyn.opt_out_rate.iloc[-1] < opt.opt_out_rate.iloc[-1] - 0.02
    assert (opt.refusing_commercial == 0).all()  # no dynamic programme: no refusals counted


def test_grievance_is_unwanted_sharing_weighted_by_illegitimacy(table, prog):
    """Records flowing against a citizen's will (utility not positive) aggrieve it, in
    proportion to the flow and to the sharing's illegitimacy: in full where its refusal is
    overridden or it has no choice, softened by the regime's perceived control where it could
    refuse and has not; wanting to share, not knowing of the sharing, or a hidden programme,
    leaves none."""
    c = population(5)
    c.propensity[:] = [-20.0, -20.0, -20.0, -20.0, 20.0]  # four objectors, one willing
    c.choice[1] = Choice.OUT  # an objector who refused: only the mandated half flows
    c.aware[3] = 0  # an objector who does not know of the programme
    fields = {"mandate": {"strength": 0.5},
              "barriers": {"interoperability": 1, "legal_clarity": 1, "willingness": 1}}
    programme = prog(consent="opt_out", **fields)
    plan = control.ControlPlan.build(table(programme), P, [programme], np.zeros(1))
    plan.attitudes(c)
    illegitimate = 1 - programme.legitimacy
    unheard = 1 - control.CONTROL_LEVEL[Regime.OPT_OUT]
    np.testing.assert_allclose(c.grievance[:, 0], [unheard * illegitimate, 0.5 * illegitimate,
                                                   unheard * illegitimate, 0.0, 0.0], rtol=1e-6)
    # no choice: every objector who knows is aggrieved in full
    statutory = prog(consent="none", **fields)
    control.ControlPlan.build(table(statutory), P, [statutory], np.zeros(1)).attitudes(c)
    np.testing.assert_allclose(c.grievance[:, 0], [illegitimate, illegitimate, illegitimate,
                                                   0.0, 0.0], rtol=1e-6)
    # sharing nobody was told of aggrieves no one until it is revealed
    hidden = prog(consent="none", announced=False, **fields)
    control.ControlPlan.build(table(hidden), P, [hidden], np.zeros(1)).attitudes(c)
    assert (c.grievance == 0).all()
    legit = prog(consent="opt_out", transparency=1.0, mandate={"public_interest_test": 1.0,
                                                               "oversight": 1.0},
                 legal_basis="statute")
    control.ControlPlan.build(table(legit), P, [legit], np.zeros(1)).attitudes(c)
    assert (c.grievance == 0).all()  # fully legitimate sharing aggrieves no one
