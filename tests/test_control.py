"""Citizen control (sim.control): who opts out or in, when, and what makes them act."""

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim import TrustModel, control
from sim.citizens import Citizens
from sim.params import TrustParams
from sim.programmes import Choice
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
