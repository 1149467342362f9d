"""The shipped scenario files: each validates and runs; each CDEI case study shows the path the
research notes expect (domain.md section 5); the GP file reproduces the 2021 opt-out figures.

Each case and lever test says what kind of evidence it is (docs/validation.md, "Which tests are
validation"). Most are **verification**, named ``*_verification_*``: the path follows from values
typed into the file (when a story breaks, who is blamed, what the evaluation found, that the
census has no opt-out), so the test checks that the model carries them through, not that it
explains the case. The GP 2021 tests are **fitted** (the friction and the press story's severity
were set to the June opt-out and the NHS trust fall) or **predicted** (held out; those that fail
are marked ``xfail(strict=True)`` with the failure in their reason).

Runs are cached by (file, seed, population, overrides), so tests that read the same run share it.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim import scenario
from sim.stylized_facts import fall_and_recovery

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"
FILES = sorted(SCENARIOS.glob("*.yaml"))
SEEDS = (1, 2, 3)
N = None  # each file's own population (10,000): a run of 156 weeks takes about 0.3 s

CASE_STUDIES = ("national_pupil_database", "vat_register_cra", "troubled_families",
                "gp_records", "royal_free_deepmind")
LEVERS = ("citizen_control", "public_interest_mandate", "breach_shock")


@functools.cache
def run(name: str, seed: int, n: int | None = N, overrides: tuple[str, ...] = ()) -> pd.DataFrame:
    """The time series of one run of ``scenarios/<name>.yaml`` (all its steps)."""
    s = scenario.load(SCENARIOS / f"{name}.yaml", overrides)
    model = s.build(rng=seed, n_citizens=n, citizen_agents=False)
    for _ in range(s.steps):
        model.step()
    return model.timeseries()


def runs(name: str, **kw) -> list[pd.DataFrame]:
    return [run(name, seed, **kw) for seed in SEEDS]


# ------------------------------------------------------------------------- every file
def test_the_case_studies_and_levers_are_shipped():
    names = {f.stem for f in FILES}
    missing = sorted(set(CASE_STUDIES + LEVERS + ("baseline",)) - names)
    assert not missing, f"missing scenario files: {missing}"


@pytest.mark.parametrize("path", FILES, ids=[f.stem for f in FILES])
def test_every_file_validates_and_runs_a_few_steps(path):
    s = scenario.load(path)
    assert s.name == path.stem
    assert s.population.size == 10_000
    assert 1 <= s.replicates <= 10
    model = s.build(rng=0, n_citizens=500, citizen_agents=False)
    for _ in range(3):
        model.step()
    df = model.timeseries()
    assert list(df.step) == [0, 1, 2, 3]
    trust = df[[c for c in df.columns if c.startswith("trust_") and c != "trust_sd"]]
    assert trust.notna().all().all() and ((trust >= 0) & (trust <= 1)).all().all()
    assert df.opt_out_rate.between(0, 1).all()
    for agency in s.agencies:
        assert f"trust_{agency}" in df.columns


def _source_keys(text: str) -> set[str]:
    """Keys cited in [brackets] in the comments of a scenario file."""
    keys = set()
    for line in text.splitlines():
        comment = line.partition("#")[2]
        for group in re.findall(r"\[([^\]]+)\]", comment):
            for key in group.removeprefix("S-d:").split(","):
                keys.add(key.strip())
    return keys - {"P", "fit", "S-d", "brackets"}


def test_every_source_key_in_the_scenarios_is_in_docs_sources():
    table = (ROOT / "docs" / "sources.md").read_text(encoding="utf-8")
    listed = set(re.findall(r"^\| ([a-z0-9][a-z0-9-]*) \|", table, flags=re.MULTILINE))
    used = set().union(*(_source_keys(f.read_text(encoding="utf-8")) for f in FILES))
    assert used, "no source keys found in the scenario files"
    assert not used - listed, f"keys missing from docs/sources.md: {sorted(used - listed)}"


# ------------------------------------------------------------------------- case studies
def test_npd_verification_scandals_cost_the_dfe_trust_and_the_census_has_no_exit():
    """Verification: the stories are typed at steps 3, 40 and 149; the DfE is their holder, HMRC
    is reached only by ``agency_spill``; the census has no opt-out (consent ``none``), so
    ``opt_out_rate`` is the other programmes'."""
    for df in runs("national_pupil_database"):
        before = df.trust_dfe.iloc[2]  # the story breaks at the start of step 3
        fall = before - df.trust_dfe.iloc[3:20].min()
        assert fall > 0.01, fall
        # the DfE falls, an uninvolved agency hardly moves
        assert fall > 3 * (df.trust_hmrc.iloc[2] - df.trust_hmrc.iloc[3:20].min())
        # the audit (step 40) costs trust again
        assert df.trust_dfe.iloc[40:50].min() < df.trust_dfe.iloc[39] - 0.003
        # no opt-out from the census: the scandals move no one to exit
        assert abs(df.opt_out_rate.iloc[20] - df.opt_out_rate.iloc[2]) < 0.002
        assert abs(df.opt_out_rate.iloc[50] - df.opt_out_rate.iloc[39]) < 0.002
        assert (df.coverage_learning_records.iloc[4:] == 0).all()  # access stopped


def test_vat_register_verification_a_small_scare_and_a_business_register_leave_trust_flat():
    """Verification: the scare's severity and publicity are typed at 0.1, the sensitivity at
    0.1, and only the 5.3% of citizens who are sole traders have records in the register."""
    for df in runs("vat_register_cra"):
        for agency in ("hmrc", "cra"):
            col = df[f"trust_{agency}"]
            assert (col - col.iloc[0]).abs().max() < 0.02, agency
        # the feed did start: the flatness is not that of an empty world
        assert df.coverage_vat_register.iloc[52] == 0 and df.coverage_vat_register.iloc[-1] > 0.5
        assert df.public_benefit.iloc[-1] > 0.1


def test_troubled_families_verification_benefit_follows_the_typed_findings_trust_stays_flat():
    """Verification: the benefit per record and the value in pounds are typed into the
    timeline for each phase's findings (0, then 0.5 and GBP 7.91), so the benefit following the
    evaluation restates them; trust stays flat because ``benefit_attitude`` (0.05) times the
    typed change in benefit is about 0.01."""
    for df in runs("troubled_families"):
        for agency in ("council", "university"):
            col = df[f"trust_{agency}"]
            assert (col - col.iloc[0]).abs().max() < 0.02, agency
        benefit = df.public_benefit
        assert benefit.iloc[50] < 0.5 * benefit.iloc[0]  # phase 1: no effect found
        assert benefit.iloc[-1] > 1.5 * benefit.iloc[0]  # phase 2: effects found
        # in pounds: the value follows the findings, the evidence informs whatever they are
        value, evidence = df.benefit_family_evaluation_gbp, df.evidence_family_evaluation_gbp
        assert (value.iloc[1:124] == 0).all() and value.iloc[-1] > 1.5 * value.iloc[0] > 0
        assert (evidence - evidence.iloc[0]).abs().max() < 0.05 * evidence.iloc[0]
        assert (df.net_value_gbp == value).all()  # no harm stated, evidence joins no total


def _relative_fall(series: pd.Series, event_step: int) -> float:
    """Share of the trust before an event (at the start of ``event_step``) lost at the worst."""
    before = series.iloc[event_step - 1]
    return (before - series.iloc[event_step:].min()) / before


def test_royal_free_verification_trust_falls_by_the_routing_weights():
    """Verification: the revelations are typed (steps 31, 85, 93); who loses how much follows
    the routing (recipient in full, the holder by its blame share, other agencies by
    ``agency_spill`` 0.05), so the ordering partner > trust > NHS restates those weights."""
    for df in runs("royal_free_deepmind"):
        # staff time saved only while the records flow, from week 8
        hours = df.benefit_streams_staff_hours
        assert (hours.iloc[:8] == 0).all() and (hours.iloc[8:] > 0).all()
        # nothing is felt while the sharing is hidden
        assert abs(df.trust_deepmind.iloc[30] - df.trust_deepmind.iloc[0]) < 0.005
        partner, trust_, nhs = (_relative_fall(df[f"trust_{a}"], 31)
                                for a in ("deepmind", "royal_free", "nhs"))
        assert partner > 0.25, partner  # a clear fall toward the partnership
        assert nhs < 0.5 * trust_ < 0.5 * partner  # the wider NHS: a small spillover
        assert df.trust_nhs.iloc[30] - df.trust_nhs.iloc[31:].min() < 0.05
        # the later revelations (leak, ICO ruling) hit again
        assert df.trust_deepmind.iloc[85:100].min() < df.trust_deepmind.iloc[84] - 0.01
        assert df.opt_out_rate.iloc[-1] - df.opt_out_rate.iloc[30] < 0.01


def test_royal_free_verification_catchment_grievances_and_the_ruling_s_blame():
    """Verification of the catchment and of the blame field (both typed in the file). Only
    the Trust's patients' records flowed (a share of London): by week 100 their trust in the
    NHS has fallen more than everyone else's, as those who object are aggrieved. The ICO ruled
    against the Royal Free, the controller (week 93): with the ruling's blame the Royal Free
    loses more, and DeepMind, the processor, less, than with the default split."""
    from sim import population, sharing

    s = scenario.load(SCENARIOS / "royal_free_deepmind.yaml")
    unassigned = s.model_copy(update={"timeline": [
        e.model_copy(update={"blame": None}) if e.type == "scandal" else e for e in s.timeline]})
    for seed in SEEDS:
        m = s.build(rng=seed, citizen_agents=False)
        t, p = m.table, m.programme_index("streams")
        inside = sharing.members(population.codes(m.citizens), t.member, t.subject_share,
                                 t.subject_key, p)
        assert 0.01 < inside.mean() < 0.04  # 18% of London's 13% of the UK
        col = {a.name: a.column for a in m.agencies}
        start = m.citizens.trust.copy()
        default = unassigned.build(rng=seed, citizen_agents=False)
        for _ in range(100):
            m.step()
            default.step()
        fall = start - m.citizens.trust
        assert fall[inside, col["nhs"]].mean() > fall[~inside, col["nhs"]].mean() + 0.005
        ruled, split = m.timeseries().iloc[100], default.timeseries().iloc[100]
        assert ruled.trust_royal_free < split.trust_royal_free - 0.01
        assert ruled.trust_deepmind > split.trust_deepmind + 0.002


def test_gp_records_fitted_surge_is_bunched_in_the_deadline_month_then_paused():
    """Fitted in part: the June rise is the fitted target, and the deadline's salience (0.8) was
    kept from an earlier hand fit whose targets included the May and June counts (107,429 and
    1,275,153), so the bunching ratio is not held out. The NHS trust fall is the other fitted
    target; the pause is typed (step 12)."""
    for df in runs("gp_records"):
        opt = df.opt_out_rate
        may, june, july = opt[4] - opt[0], opt[8] - opt[4], opt[12] - opt[8]
        assert june > 0.01  # more than a point in four weeks
        assert june > 5 * may and june > 3 * july  # bunched in the deadline month
        assert opt.max() < 0.10  # still single digits
        assert df.trust_nhs.iloc[0] - df.trust_nhs.iloc[8] > 0.05  # attitudes move far more
        assert (df.coverage_gp_records.iloc[12:] == 0).all()  # paused from 19 July
        pounds = df.benefit_gp_records_gbp  # EY's value of NHS data, GBP 59 a record-year
        assert (pounds.iloc[12:] == 0).all() and pounds.iloc[11] < pounds.iloc[0]


def test_gp_records_fitted_to_the_2021_national_opt_out():
    """Fitted, not predicted: the starting stock fixes the utility constant, and the friction
    and the press story's severity were set by hand to the 4.97% of 30 June. Mean over the
    scenario's own replicates, at its own population size (10,000)."""
    s = scenario.load(SCENARIOS / "gp_records.yaml")
    opt = []
    for seed in s.replicate_seeds():
        model = s.build(rng=seed, citizen_agents=False)
        for _ in range(8):  # to the end of June
            model.step()
        opt.append(model.timeseries().opt_out_rate.to_numpy() * 100)
    mean = np.mean(opt, axis=0)
    assert abs(mean[1] - 2.8) < 0.5, mean[1]  # before the notice (step 2)
    assert abs(mean[4] - 2.77) < 0.5, mean[4]  # 31 May
    assert abs(mean[8] - 4.97) < 0.5, mean[8]  # 30 June, end of the deadline month


def test_gpdpr_verification_academics_lose_only_the_spillover():
    """Verification: the extract's recipient is typed as NHS Digital, not the researchers who
    would use it, so the story costs the NHS (holder) and NHS Digital (recipient), and academics
    only through ``agency_spill`` (0.05): the ordering restates the routing."""
    for df in runs("gp_records"):
        nhs = df.trust_nhs.iloc[0] - df.trust_nhs.min()
        academics = df.trust_university.iloc[0] - df.trust_university.min()
        assert nhs > 0.05 and academics < nhs / 3
        assert academics / df.trust_university.iloc[0] < nhs / df.trust_nhs.iloc[0] / 3


# Held-out targets of the 2021 episode: nothing was set from them (docs/validation.md 8).
HEALTHWATCH_WILLING = (0.73, 0.53)  # willing to share for planning and research, 2018 and 2021


@pytest.mark.xfail(strict=True, reason="predicted and failed: stated willingness to share for "
                   "planning and research starts near 94% in the model against Healthwatch's "
                   "73% (2018); the level of willingness is not calibrated (docs/model.md 9)")
def test_gpdpr_predicted_willingness_level_matches_healthwatch():
    """Predicted: the share willing to share before the notice, within 10 points of 73%."""
    for df in runs("gp_records"):
        assert abs(df.willing_gp_records.iloc[0] - HEALTHWATCH_WILLING[0]) < 0.10


@pytest.mark.xfail(strict=True, reason="predicted and failed: willingness falls about 4.5 "
                   "points by the end of June against Healthwatch's 20 (73% -> 53%), so exit "
                   "(+2 points, fitted) is about half the shift in stated attitudes, not the "
                   "ninth observed: the attitude-behaviour gap is too narrow")
def test_gpdpr_predicted_willingness_falls_as_far_as_healthwatch_found():
    """Predicted: by the end of June (step 8) willingness falls by at least half of the observed
    20 points, and so by at least 4.5 times the rise in opt-outs (observed: 9 times)."""
    observed = HEALTHWATCH_WILLING[0] - HEALTHWATCH_WILLING[1]
    for df in runs("gp_records"):
        fall = df.willing_gp_records.iloc[0] - df.willing_gp_records.iloc[8]
        exit_ = df.opt_out_rate.iloc[8] - df.opt_out_rate.iloc[0]
        assert fall > observed / 2 and fall > 4.5 * exit_, (fall, exit_)


@functools.cache
def _gp_rise_by_group(n: int = 200_000) -> pd.Series:
    """Relative rise in opt-outs from 31 May (step 4) to 30 June (step 8) by group, pooled over
    the file's replicates at ``n`` citizens (large, so that sampling noise is small)."""
    s = scenario.load(SCENARIOS / "gp_records.yaml")
    frames = []
    for seed in s.replicate_seeds():
        model = s.build(rng=seed, n_citizens=n, citizen_agents=False)
        for _ in range(8):
            model.step()
        g = model.groups_timeseries()
        frames.append(g[(g.output == "opt_out_rate") & g.step.isin([4, 8])])
    rate = pd.concat(frames).groupby(["group_kind", "group", "step"]).value.mean().unstack()
    return rate[8] / rate[4] - 1


@pytest.mark.xfail(strict=True, reason="predicted and failed: BJGP Open 2024 found the largest "
                   "relative rise at ages 40-49 (+109%); the model gives the oldest bands the "
                   "largest (their stock starts lowest) and 40-49 nothing special")
def test_gpdpr_predicted_ages_40_to_49_rise_most():
    rise = _gp_rise_by_group().loc["age_band"]
    assert rise.idxmax() == "40-49", rise


@pytest.mark.xfail(strict=True, reason="predicted and failed: BJGP Open 2024 found women's "
                   "opt-outs rising more than men's (+83% against +76%); nothing in the model "
                   "depends on sex, so it predicts the same rise")
def test_gpdpr_predicted_women_rise_more_than_men():
    """Predicted: women's relative rise exceeds men's by at least half the observed 7 points."""
    rise = _gp_rise_by_group().loc["sex"]
    assert rise["female"] - rise["male"] > 0.035, rise


def test_care_data_verification_objections_rise_trust_falls_at_each_story_and_pause():
    """Verification: the two betrayals and the pause are typed; that objections rise and trust
    falls when they come checks their signs. The sizes (1.9% by March 2014) are compared with
    the type 1 objections in docs/validation.md as a comparison of kind, not asserted here."""
    for df in runs("care_data"):
        assert df.opt_out_rate.iloc[12] > df.opt_out_rate.iloc[2] + 0.005  # leaflets, storm
        assert df.trust_nhs.iloc[6:20].min() < df.trust_nhs.iloc[5] - 0.03  # the press storm
        assert df.trust_nhs.iloc[96:110].min() < df.trust_nhs.iloc[95] - 0.02  # unhonoured
        assert (df.coverage_gp_records.iloc[7:] == 0).all()  # paused from 18 February 2014


def _without_care_data_scandals(*more: str) -> tuple[str, ...]:
    """Overrides for gp_after_care_data.yaml: the same history (leaflets, pause, the national
    opt-out, GPDPR) without care.data's two betrayals, the press storm and the unhonoured
    objections."""
    s = scenario.load(SCENARIOS / "gp_after_care_data.yaml")
    kept = [e.model_dump(mode="json") for e in s.timeline if e.type != "scandal" or e.step > 200]
    return (f"timeline={json.dumps(kept)}", *more)


def test_care_data_then_gpdpr_verification_lasting_trust_carries_the_betrayals():
    """Verification of the memory mechanism (docs/model.md 7.5; its form and values are [P]).
    A year after GPDPR, NHS trust is lower after care.data's betrayals than after the same
    history without them, because large betrayals lower lasting trust; with memory off the
    difference is gone (only care.data's opt-outs stay). On average it also ends below GPDPR
    alone (gp_records.yaml), which starts from the surveyed level with no seven years behind it."""
    chains, alones = [], []
    for seed in SEEDS:
        chain = run("gp_after_care_data", seed)
        calm = run("gp_after_care_data", seed, overrides=_without_care_data_scandals())
        assert chain.trust_nhs.iloc[-1] < calm.trust_nhs.iloc[-1] - 0.006
        forgetful = run("gp_after_care_data", seed, overrides=("params.memory_rate=0",))
        calm0 = run("gp_after_care_data", seed,
                    overrides=_without_care_data_scandals("params.memory_rate=0"))
        assert abs(forgetful.trust_nhs.iloc[-1] - calm0.trust_nhs.iloc[-1]) < 0.002
        assert chain.opt_out_rate.iloc[382] > 0.02  # care.data's exits stay
        chains.append(chain.trust_nhs.iloc[-1])
        alones.append(run("gp_records", seed).trust_nhs.iloc[-1])
    assert np.mean(chains) < np.mean(alones) - 0.005


# ------------------------------------------------------------------------------ levers
def test_breach_shock_verification_fast_fall_slow_recovery():
    """Verification, as stylized fact 1: the time scales are ``salience_fade`` and ``drift``."""
    for df in runs("breach_shock"):
        # up to week 80: later stochastic breaches of the baseline world would be new troughs
        to_trough, loss, half = fall_and_recovery(df.trust_nhs.iloc[:80], 12)
        assert loss > 0.05 and to_trough <= 12
        assert half > 3 * to_trough


def test_citizen_control_moves_trust_little_and_costs_coverage_under_the_same_breach():
    """The trust part is verification (under dynamic consent no one is aggrieved, under the
    opt-out only the aware objectors who stay in, in part: few of them); the coverage cost rising
    after the breach is predicted (emergent, not compared to data), as in stylized fact 4."""
    for seed in SEEDS:
        shock, control = run("breach_shock", seed), run("citizen_control", seed)
        # derived, not assumed: few object to the NHS's programmes, and the opt-out already lets
        # them leave, so replacing it with dynamic consent relieves few grievances; the
        # research programme's SF4 comparison with no choice at all is where control raises
        # trust (tests/test_stylized_facts.py). Compared while the random breach histories
        # agree (a breach's hazard rises with the volume shared, so they can part later).
        same = (shock.breaches != control.breaches).cumsum() == 0
        assert same.iloc[:40].all()
        assert (control.trust_nhs - shock.trust_nhs)[same].abs().max() < 0.003
        # coverage: the move asks everyone to choose, so the unwilling who did not know of the
        # opt-out leave at once; after the breach more are unwilling, and control costs more
        gp_shock, gp_control = shock.coverage_gp_records, control.coverage_gp_records
        before = gp_shock.iloc[11] - gp_control.iloc[11]
        after = gp_shock.iloc[30] - gp_control.iloc[30]
        assert 0 < before < 0.05
        assert after > before + 0.01


def test_mandate_levers_verification_coverage_rises_and_cost_falls_with_legitimacy():
    """Verification, as stylized fact 5: the override raises coverage; the cost is the
    grievance of those overridden, weighted by the typed illegitimacy."""
    for seed in SEEDS:
        base = run("baseline", seed)
        legit = run("public_interest_mandate", seed)
        bare = run("mandate_without_legitimacy", seed)
        for df in (legit, bare):
            assert df.coverage_gp_records.iloc[10] > base.coverage_gp_records.iloc[10] + 0.01
            assert df.public_benefit.iloc[10] > base.public_benefit.iloc[10]
        cost_legit = base.trust_nhs.iloc[-1] - legit.trust_nhs.iloc[-1]
        cost_bare = base.trust_nhs.iloc[-1] - bare.trust_nhs.iloc[-1]
        # derived from the grievances of those whose refusal the mandate overrides
        assert cost_legit < 0.002 and cost_bare > cost_legit + 0.001


def test_hidden_sharing_verification_discovery_costs_more_by_the_surprise():
    """Verification: news of hidden sharing is felt ``hidden_multiplier`` (2) times its
    severity, of announced sharing with transparency 0.8 1 + (2 - 1) x 0.2 = 1.2 times, so a
    ratio above 1.5 restates the multiplier and the typed transparency."""
    for seed in SEEDS:
        hidden = run("hidden_sharing_discovered", seed)
        told = run("hidden_sharing_discovered", seed,  # announced and explained
                   overrides=("programmes.council_analytics.announced=true",
                              "programmes.council_analytics.transparency=0.8"))
        lost_hidden = hidden.trust_council.iloc[60] - hidden.trust_council.iloc[61:80].min()
        lost_told = told.trust_council.iloc[60] - told.trust_council.iloc[61:80].min()
        assert lost_hidden > 1.5 * lost_told > 0
