"""The seven stylized facts of the model brief, each asserted over several seeds.

Each test says what kind of evidence it is (docs/validation.md, "Which tests are validation"):

- **verification**: the asserted outcome follows from values typed into the model (a rate, a
  table, the form of a mechanism) whatever the dynamics do; the test checks that the
  implementation does what docs/model.md says, and is not evidence about the world. Such tests
  are named ``test_sfN_verification_*``.
- **fitted**: the asserted number was used to set a parameter.
- **predicted**: an emergent outcome of several mechanisms together that no single input sets
  and that was not used to set anything; it could fail for reasons other than a sign flip.
"""

import functools

import numpy as np
import pytest

from sim import stylized_facts as sf
from sim.params import TrustParams
from sim.segments import NHS_SEGMENTS

SEEDS = (1, 2, 3, 4)
SHARES = {s.key: s.share for s in NHS_SEGMENTS}


@pytest.mark.parametrize("seed", SEEDS)
def test_sf1_verification_fall_and_recovery_follow_salience_fade_and_drift(seed):
    """Verification. The fall's time scale is set by ``salience_fade`` (0.35 a week) and the
    recovery's by ``drift`` (0.02 a week, a half-life of ln 2 / drift = 35 weeks, chosen for
    "recovery several times slower than damage"): that half the loss takes several times longer
    to regain than the fall took restates those two inputs."""
    df = sf.sf1_breach_recovery(seed=seed, event_step=10)
    half_life = np.log(2) / TrustParams().drift
    for col in ("trust_mean", "trust_nhs", "trust_university"):
        fall, loss, half = sf.fall_and_recovery(df[col], 10)
        assert loss > 0.02, (col, loss)  # a visible fall
        assert fall <= 8, (col, fall)  # within a few weeks
        assert half >= 3 * max(fall, 1), (col, fall, half)  # at least 3x slower to regain half
        assert np.isfinite(half)  # but it does recover
        # the recovery runs at the drift's pace (slower, not faster, as news keeps arriving)
        assert half_life <= half <= 2.5 * half_life, (col, half, half_life)


@pytest.mark.parametrize("seed", SEEDS)
def test_sf2_verification_calm_world_is_stationary_and_breaches_cost_coverage_and_benefit(seed):
    """Verification. The start is built as the equilibrium of trust and of the consent choice
    (docs/model.md 5), so a calm world staying put checks that construction; with breaches, each
    link of breach -> trust -> utility -> opt-out -> coverage -> benefit has a fixed sign."""
    runs = sf.sf2_low_trust(seed=seed)
    calm, shocked = runs["no shocks"], runs["repeated breaches"]
    # no shocks: trust and coverage stay where they started
    assert abs(calm.trust_mean.iloc[-1] - calm.trust_mean.iloc[0]) < 0.01
    assert abs(calm.trust_nhs.iloc[-1] - calm.trust_nhs.iloc[0]) < 0.01
    assert calm.data_coverage.iloc[-1] > calm.data_coverage.iloc[0] - 0.01
    # low trust: more opt-outs, less coverage where there is a choice, less benefit of both kinds
    end = shocked.iloc[-1]
    assert end.trust_nhs < calm.trust_nhs.iloc[-1] - 0.03
    assert end.opt_out_rate > calm.opt_out_rate.iloc[-1] + 0.01  # seed noise is ~0.002
    assert end.coverage_gp_records < calm.coverage_gp_records.iloc[-1] - 0.01
    assert end.coverage_care_record < calm.coverage_care_record.iloc[-1]
    assert end.public_benefit < calm.public_benefit.iloc[-1]
    assert end.service_benefit < calm.service_benefit.iloc[-1]


@pytest.mark.parametrize("seed", SEEDS)
def test_sf3_verification_exit_follows_its_triggers_and_the_fitted_surge_stays_single_digit(
        seed):
    """Verification and fitted. Choices need attention, and the strong prompts are the scandal
    at the notice and the deadline (background attention is 0.01 a week, word of mouth follows
    exit), so exit bunching between them checks the attention mechanism;
    the size of the surge is fitted: the scandal's severity (0.4) and the programme friction
    (0.72) were set by hand to the 2021 June opt-out (scenarios/gp_records.yaml)."""
    df = sf.sf3_opt_out_surge(seed=seed, notice=5, deadline=11)
    rise = df.opt_out_rate.diff().fillna(0)
    assert rise[5:12].sum() >= 0.8 * rise.sum()  # bunched between notice and deadline
    assert df.opt_out_rate.iloc[-1] - df.opt_out_rate.iloc[4] > 0.01  # a real surge
    assert df.trust_nhs.iloc[4] - df.trust_nhs.min() > 0.05  # after a large trust fall
    assert df.opt_out_rate.max() < 0.10  # exit still in single digits (fitted)


@functools.cache
def _surge(seed: int, strong: bool):
    if strong:  # twice the fitted severity, near-universal publicity
        return sf.sf3_opt_out_surge(seed=seed, severity=0.8, publicity=0.99)
    return sf.sf3_opt_out_surge(seed=seed)


def _exit_outside_sceptics(df, start: int) -> float:
    """Share of the population's new opt-outs since ``start`` that come from the five segments
    other than the sceptics."""
    new = {k: (df[f"opt_out_{k}"].iloc[-1] - df[f"opt_out_{k}"].iloc[start]) * SHARES[k]
           for k in SHARES}
    return 1 - new["sceptics"] / sum(new.values())


@pytest.mark.parametrize("seed", SEEDS)
def test_sf3_no_built_in_ceiling_a_stronger_shock_takes_exit_past_the_sceptics(seed):
    """Predicted (emergent, not compared to data). No input caps exit: twice the fitted
    severity gives clearly more exit, more than the whole sceptic segment (10% of citizens, the
    ceiling of the first design, whose exit came from that segment alone), and a larger share of
    it from the other segments. Observed over seeds 1-4: 7.3-8.5% against 12.3-15.0% at the
    end, and 55-67% against 70-76% of the new exit from outside the sceptics."""
    fitted, strong = _surge(seed, False), _surge(seed, True)
    rise_fitted = fitted.opt_out_rate.iloc[-1] - fitted.opt_out_rate.iloc[4]
    rise_strong = strong.opt_out_rate.iloc[-1] - strong.opt_out_rate.iloc[4]
    assert rise_strong > 1.4 * rise_fitted, (rise_fitted, rise_strong)
    assert strong.opt_out_rate.iloc[-1] > SHARES["sceptics"]
    assert _exit_outside_sceptics(strong, 4) > _exit_outside_sceptics(fitted, 4) + 0.03


@functools.cache
def _control_runs(seed: int):
    return sf.sf4_citizen_control(seed=seed)


@pytest.mark.parametrize("seed", SEEDS)
def test_sf4_verification_dynamic_consent_aggrieves_no_one_so_trust_stays_higher(seed):
    """Verification. ``control_attitude`` is 0, so control moves trust only through grievances;
    but a grievance is softened by the regime's perceived control, 1 for dynamic consent and 0
    for none ([P], docs/model.md 7.5), so under dynamic consent (and no mandate on the GP
    records) no one is aggrieved and trust is higher whatever the dynamics do: the direction
    restates ``CONTROL_LEVEL``."""
    runs = _control_runs(seed)
    for level in ("high trust", "low trust"):
        none, control = runs[level, "none"], runs[level, "dynamic"]
        assert (control.trust_nhs.iloc[20:] > none.trust_nhs.iloc[20:]).all()
        assert control.trust_mean.iloc[-1] > none.trust_mean.iloc[-1]


@pytest.mark.parametrize("seed", SEEDS)
def test_sf4_control_costs_more_coverage_when_trust_is_low(seed):
    """Predicted (emergent, not compared to data). Moving to dynamic consent asks everyone to
    choose, so the unwilling who did not know of the opt-out leave; after breaches more are
    unwilling. No input sets the size of the cost or how it grows with the breaches."""
    runs = _control_runs(seed)
    cost_high = (runs["high trust", "none"].coverage_gp_records.iloc[-1]
                 - runs["high trust", "dynamic"].coverage_gp_records.iloc[-1])
    cost_low = (runs["low trust", "none"].coverage_gp_records.iloc[-1]
                - runs["low trust", "dynamic"].coverage_gp_records.iloc[-1])
    assert 0 < cost_high < 0.1
    assert cost_low > cost_high + 0.01


@functools.cache
def _mandate_runs(seed: int):
    return sf.sf5_mandates(seed=seed, legitimacy=(0.1, 0.5, 0.9))


@pytest.mark.parametrize("seed", SEEDS)
def test_sf5_verification_mandates_raise_coverage_and_cost_trust_by_illegitimacy(seed):
    """Verification. A mandate makes overridden records flow (coverage and benefit rise); the
    trust it costs is the grievance of those overridden, which is weighted by the typed
    illegitimacy 1 - L (docs/model.md 7.5), so the cost falls with legitimacy by construction."""
    runs = _mandate_runs(seed)
    none = runs["no mandate"].iloc[-1]
    ends = [runs[f"legitimacy {level}"].iloc[-1] for level in (0.1, 0.5, 0.9)]
    for end in ends:
        assert end.coverage_gp_records > none.coverage_gp_records + 0.005
        assert end.public_benefit > none.public_benefit
    costs = [none.trust_nhs - end.trust_nhs for end in ends]
    assert costs[0] > costs[1] > costs[2]
    assert costs[0] > 0.005  # derived from the grievances of those overridden; CRN noise ~1e-3


@pytest.mark.parametrize("seed", SEEDS)
def test_sf5_an_illegitimate_mandate_gains_less_coverage(seed):
    """Predicted (emergent, not compared to data). The mandate's strength is the same in every
    arm, yet the less legitimate one gains less coverage: the trust it costs makes holders hold
    back (the cultural barrier) and more of those still free to choose leave."""
    runs = _mandate_runs(seed)
    none = runs["no mandate"].iloc[-1]
    ends = [runs[f"legitimacy {level}"].iloc[-1] for level in (0.1, 0.5, 0.9)]
    gains = [end.coverage_gp_records - none.coverage_gp_records for end in ends]
    assert gains[0] < gains[1] < gains[2]


@pytest.mark.parametrize("seed", SEEDS)
def test_sf6_verification_concerned_segments_opt_out_first_and_most(seed):
    """Verification. The order of the segments follows their typed concern and trust (NHS
    England segmentation, docs/model.md 5): the sceptics start with the lowest utility, so they
    start and end with the most opt-outs; the logit, with no threshold, makes every segment
    respond."""
    df = sf.sf6_segments(seed=seed)
    rates = df.filter(like="opt_out_").drop(columns="opt_out_rate")
    rise = rates - rates.iloc[0]
    concerned, others = ["opt_out_sceptics", "opt_out_cautious"], [
        "opt_out_enthusiasts", "opt_out_followers", "opt_out_unfamiliar", "opt_out_disengaged"]
    assert rates.iloc[-1]["opt_out_sceptics"] > 2 * rates.iloc[-1][others].max()  # most
    assert rise.iloc[-1]["opt_out_sceptics"] > 2 * rise.iloc[-1][others].max()
    # the cautious (most concerned, average trust) above the confident and trusting
    low_concern = ["opt_out_enthusiasts", "opt_out_followers"]
    assert rise.iloc[-1]["opt_out_cautious"] > 2 * rise.iloc[-1][low_concern].max()
    assert (rise.iloc[-1][concerned + others] > 0).all()  # and the rest respond too

    def first(col):  # first step at which the rise passes 1 point
        hit = np.flatnonzero(rise[col].to_numpy() > 0.01)
        return hit[0] if len(hit) else np.inf

    assert first("opt_out_sceptics") <= min(first(c) for c in others)  # first


@pytest.mark.parametrize("seed", SEEDS)
def test_sf6_most_new_exit_comes_from_outside_the_sceptics(seed):
    """Predicted (emergent, not compared to data). The sceptics have the highest rate, but more
    than half of the surge's new opt-outs come from the other 90% of citizens: no input sets
    this share; it comes from the segments' sizes, concern and trust meeting awareness,
    attention and the logit. Observed over seeds 1-4: 56-67%."""
    df = sf.sf6_segments(seed=seed)
    assert _exit_outside_sceptics(df, 0) > 0.5


@pytest.mark.parametrize("seed", SEEDS)
def test_sf7_verification_recipient_ordering_follows_initial_trust_and_recipient_penalty(seed):
    """Verification. Trust in a health service starting far above government and private
    recipients is the typed ``INITIAL_TRUST`` table; a private recipient costing the holder more
    trust than a university follows from the typed ``RECIPIENT_PENALTY`` (1.0 against 0.3) and
    the recipients' initial trust, whatever the dynamics do."""
    runs = sf.sf7_recipients(seed=seed)
    start = runs["university"].iloc[0]
    assert start.trust_nhs > start.trust_dfe + 0.3  # health far above government
    assert start.trust_nhs > start.trust_supplier + 0.3  # and above private recipients
    end = {r: df.trust_council.iloc[-1] for r, df in runs.items()}
    assert end["supplier"] < end["university"] - 0.01
    assert end["cra"] < end["university"] - 0.01
    assert end["supplier"] < start.trust_council  # private sharing costs the holder trust


PIONEER = {"nhs": 0.938, "academia": 0.848, "health companies": 0.684}  # docs/model.md 6


@pytest.mark.xfail(strict=True, reason="predicted and failed: PIONEER found 93.8% happy for "
                   "data use by the NHS, 84.8% by academia, 68.4% by health companies; the "
                   "model puts academia about 3 points above the NHS (its recipient penalty is "
                   "0.3 against the NHS's 0.4) and private companies near 28%, about 40 points "
                   "too low")
@pytest.mark.parametrize("seed", SEEDS)
def test_sf7_predicted_willingness_by_recipient_matches_pioneer(seed):
    """Predicted, against data never used to set anything: the share willing to share GP
    records for planning and research, by recipient, is within 10 points of the PIONEER
    survey's for each recipient, and in its order (NHS, academia, health companies)."""
    got = sf.sf7_willingness_by_recipient(seed=seed)
    assert got["nhs"] > got["academia"] > got["health companies"], got
    for label, observed in PIONEER.items():
        assert abs(got[label] - observed) < 0.10, (label, got[label], observed)
