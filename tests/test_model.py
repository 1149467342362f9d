"""The model as Mesa users meet it: agents, views, data collection, batch_run, seeds, events."""

import warnings

import mesa
import numpy as np
import pandas as pd
import pytest

from sim import (
    Agency,
    Breach,
    Campaign,
    Citizen,
    OptOutDeadline,
    Pause,
    PolicyChange,
    Programme,
    Scandal,
    TrustModel,
)
from sim.results import CORE_OUTPUTS
from sim.stylized_facts import calm_programmes


def test_default_model_has_a_citizen_agent_per_citizen_and_agency_agents():
    m = TrustModel(rng=7)
    assert isinstance(m, mesa.Model)
    assert len(m.agents_by_type[Citizen]) == 10_000
    assert {a.name for a in m.agents_by_type[Agency]} == {a.name for a in m.agency_specs}


def test_citizen_is_a_view_that_reads_and_writes_the_arrays():
    m = TrustModel(2_000, rng=1)
    citizen = list(m.agents_by_type[Citizen])[17]
    assert citizen.row == 17
    assert citizen.concern == pytest.approx(float(m.citizens.concern[17]))
    citizen.concern = 0.25
    assert m.citizens.concern[17] == np.float32(0.25)
    citizen.trust[m.column["nhs"]] = 0.1  # a view: writes through
    assert m.citizens.trust[17, m.column["nhs"]] == np.float32(0.1)
    assert citizen.trust_in("nhs") == pytest.approx(0.1)
    m.step()  # the trust array is double-buffered: the view follows the live one
    assert citizen.trust_in("nhs") == pytest.approx(float(m.citizens.trust[17, m.column["nhs"]]))
    assert citizen.segment_key in {s.key for s in m.segments}


def test_agency_reports_mean_trust_of_its_column():
    m = TrustModel(2_000, rng=1)
    nhs = next(a for a in m.agencies if a.name == "nhs")
    assert nhs.trust == pytest.approx(m.timeseries().trust_nhs.iloc[0], abs=1e-6)
    assert "gp_records" in nhs.programmes


def test_large_runs_go_without_citizen_agents_unless_asked():
    assert len(TrustModel(100_001, rng=1).agents_by_type.get(Citizen, [])) == 0
    assert len(TrustModel(500, rng=1, citizen_agents=False).agents_by_type.get(Citizen, [])) == 0
    assert len(TrustModel(500, rng=1, citizen_agents=True).agents_by_type[Citizen]) == 500


def test_timeseries_has_the_output_contract(run_model):
    m = TrustModel(2_000, rng=3)
    df = run_model(m, 12)
    assert list(df.step) == list(range(13))
    assert set(CORE_OUTPUTS) <= set(df.columns)
    assert {f"trust_{a.name}" for a in m.agency_specs} <= set(df.columns)
    assert {f"opt_out_{s.key}" for s in m.segments} <= set(df.columns)
    assert {f"coverage_{p.name}" for p in m.programmes} <= set(df.columns)
    assert not df.isna().any().any()
    # opt-out rate is the segment-weighted mean of the rates by segment
    seg = df[[f"opt_out_{s.key}" for s in m.segments]].to_numpy()
    weights = m.segment_count / m.segment_count.sum()
    np.testing.assert_allclose(seg @ weights, df.opt_out_rate, atol=1e-12)


def test_datacollector_collects_every_output_each_step(run_model):
    m = TrustModel(1_000, rng=3)
    run_model(m, 5)
    collected = m.datacollector.get_model_vars_dataframe()
    assert len(collected) == 6  # step 0 and five steps
    np.testing.assert_allclose(collected.trust_mean, m.timeseries().trust_mean)
    assert set(m.results.names) <= set(collected.columns)


def test_datacollector_gives_what_a_plain_mesa_datacollector_of_its_reporters_gives():
    m = TrustModel(800, rng=4, events=[Pause(step=2, programme="gp_records")])
    plain = mesa.DataCollector(model_reporters=dict(m.datacollector.model_reporters))
    plain.collect(m)
    for _ in range(4):
        m.step()
        plain.collect(m)
        assert m.datacollector.model_vars == plain.model_vars
    m.datacollector.collect(m)  # an extra collection repeats the latest row, as Mesa's would
    plain.collect(m)
    pd.testing.assert_frame_equal(m.datacollector.get_model_vars_dataframe(),
                                  plain.get_model_vars_dataframe())
    assert len(plain.get_model_vars_dataframe()) == 6


def test_group_outputs_can_be_left_out_of_a_run_without_changing_the_time_series(run_model):
    full, lean = TrustModel(600, rng=5), TrustModel(600, rng=5)
    lean.group_outputs = False
    pd.testing.assert_frame_equal(run_model(full, 3), run_model(lean, 3))
    groups = lean.groups_timeseries()
    assert groups[groups.step > 0].value.isna().all()
    assert groups[groups.step == 0].value.equals(
        full.groups_timeseries().query("step == 0").value)


def test_mesa_batch_run_gives_rows_with_outputs():
    rows = mesa.batch_run(TrustModel, parameters={"n_citizens": [500, 800], "loss_aversion": 3.0},
                          max_steps=4, number_processes=1, display_progress=False)
    assert len(rows) == 2
    assert {"trust_mean", "opt_out_rate", "n_citizens"} <= set(rows[-1])
    assert all(0 <= r["trust_mean"] <= 1 for r in rows)


def test_runs_without_mesa_deprecation_warnings(run_model):
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        warnings.simplefilter("error", FutureWarning)
        run_model(TrustModel(500, rng=1), 3)


def test_same_seed_same_numbers_different_seed_different_numbers(run_model):
    a = run_model(TrustModel(3_000, rng=11), 20)
    b = run_model(TrustModel(3_000, rng=11), 20)
    c = run_model(TrustModel(3_000, rng=12), 20)
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(c)


def test_seed_sequence_and_int_seeds_agree(run_model):
    a = run_model(TrustModel(1_000, rng=5), 5)
    b = run_model(TrustModel(1_000, rng=np.random.SeedSequence(5)), 5)
    pd.testing.assert_frame_equal(a, b)


def test_common_random_numbers_a_policy_changes_only_what_it_touches(run_model):
    """Two runs that differ in one policy share every draw: before the change they are equal,
    and programmes that the change does not reach keep the same breach draws."""
    events = [Breach(step=3, programme="pupil_records", severity=0.5, publicity=0.5)]
    a = TrustModel(2_000, rng=9, events=events)
    b = TrustModel(2_000, rng=9, events=[*events, PolicyChange(step=10, programme="gp_records",
                                                               changes={"security": 0.2})])
    da, db = run_model(a, 20), run_model(b, 20)
    pd.testing.assert_frame_equal(da.iloc[:10], db.iloc[:10])
    assert not da.iloc[10:].equals(db.iloc[10:])
    np.testing.assert_array_equal(a.citizens.partner, b.citizens.partner)


def test_a_breach_lowers_trust_and_raises_opt_outs(run_model):
    quiet = run_model(TrustModel(3_000, rng=2, programmes=calm_programmes()), 12)
    hit = run_model(TrustModel(3_000, rng=2, programmes=calm_programmes(), events=[
        Breach(step=2, programme="gp_records", severity=0.6, publicity=0.9)]), 12)
    assert hit.trust_university.iloc[-1] < quiet.trust_university.iloc[-1] - 0.05
    assert hit.trust_nhs.iloc[-1] < quiet.trust_nhs.iloc[-1]
    assert hit.opt_out_rate.iloc[-1] > quiet.opt_out_rate.iloc[-1]
    assert hit.breaches.iloc[2] == 1 and hit.breaches.sum() == 1


def test_opt_outs_lower_coverage(run_model):
    m = TrustModel(3_000, rng=2, programmes=calm_programmes())
    before = run_model(m, 1).coverage_gp_records.iloc[-1]
    m.citizens.choice[: 1_500, m.programme_index("gp_records")] = 1  # half opt out
    after = run_model(m, 1).coverage_gp_records.iloc[-1]
    assert after < before - 0.3


def test_hidden_sharing_discovered_costs_more_than_announced(run_model):
    def loss(announced: bool) -> float:  # announced and explained (transparency 0.8)
        progs = [p.changed(announced=announced, transparency=0.8) if p.name == "gp_records"
                 else p for p in calm_programmes()]
        df = run_model(TrustModel(3_000, rng=4, programmes=progs, events=[
            Scandal(step=3, programme="gp_records", severity=0.4, publicity=0.8)]), 15)
        return df.trust_nhs.iloc[2] - df.trust_nhs.iloc[-1]

    assert loss(announced=False) > 1.3 * loss(announced=True)


def test_discovery_announces_a_hidden_programme(run_model):
    progs = [p.changed(announced=False, discovery_rate=52.0) if p.name == "gp_records" else p
             for p in calm_programmes()]
    m = TrustModel(1_000, rng=4, programmes=progs)
    run_model(m, 10)
    gp = m.programmes[m.programme_index("gp_records")]
    assert gp.announced
    assert any(i.kind == "revelation" and i.hidden for i in m.incidents)


def test_pause_stops_flows_and_resumes(run_model):
    m = TrustModel(1_000, rng=1, events=[Pause(step=2, programme="gp_records", duration=3)])
    df = run_model(m, 8)
    assert df.coverage_gp_records.iloc[2:5].eq(0).all()
    assert df.coverage_gp_records.iloc[6] > 0.5


def test_campaign_raises_trust_for_its_weeks(run_model):
    base = run_model(TrustModel(2_000, rng=1, programmes=calm_programmes()), 8)
    camp = run_model(TrustModel(2_000, rng=1, programmes=calm_programmes(), events=[
        Campaign(step=2, programme="gp_records", strength=1.0, reach=0.8, duration=4)]), 8)
    assert camp.trust_nhs.iloc[-1] > base.trust_nhs.iloc[-1] + 0.005


def test_deadline_prompts_opt_outs_before_it_and_not_after(run_model):
    m = TrustModel(4_000, rng=3, programmes=calm_programmes(), events=[
        OptOutDeadline(step=2, programme="gp_records", deadline=6, salience=1.0)])
    df = run_model(m, 14)
    rise = df.opt_out_rate.diff()
    assert rise[2:7].sum() > 0.005
    assert rise[8:].sum() < 0.3 * rise[2:7].sum()


def test_bad_world_is_refused_with_a_clear_message():
    bad = Programme(name="x", holder="nobody", recipient="nhs")
    with pytest.raises(ValueError, match=r"programmes.x.holder: 'nobody' is not an agency"):
        TrustModel(100, programmes=[bad])
    with pytest.raises(ValueError, match="loss_aversion"):
        TrustModel(100, loss_aversion=0.5)
    with pytest.raises(ValueError, match="legal_basis 'consent'"):
        Programme(name="y", holder="nhs", recipient="nhs", legal_basis="consent", consent="none")
    m = TrustModel(100, rng=1)
    with pytest.raises(KeyError, match="no programme 'nope'"):
        m.update_programme("nope", security=0.5)


def test_a_breach_of_hidden_sharing_reveals_it_once():
    progs = [p.changed(announced=False, discovery_rate=52.0) if p.name == "gp_records" else p
             for p in calm_programmes()]
    m = TrustModel(1_000, rng=4, programmes=progs, events=[
        Breach(step=1, programme="gp_records", severity=0.5, publicity=0.5)])
    m.step()
    assert m.programmes[m.programme_index("gp_records")].announced
    kinds = [(i.kind, i.hidden) for i in m.incidents if i.step == 1]
    assert kinds == [("breach", True)]  # revealed by the breach, so not discovered again


def test_citizen_opted_out_lists_only_programmes_with_a_choice(small_model):
    m = small_model
    citizen = list(m.agents_by_type[Citizen])[3]
    citizen.choice[:] = 1  # recorded "out" everywhere, even where there is no choice
    with_choice = {p.name for p in m.programmes if p.consent != "none"}
    assert set(citizen.opted_out) == with_choice


def test_a_pause_stops_flows_without_erasing_what_was_done(run_model):
    """A pause stops the records, not what people know of the programme: its attitude terms
    stay, so trust does not fall because of the pause; it only rises a little as those whose
    records flowed against their will are no longer aggrieved."""
    calm = run_model(TrustModel(3_000, rng=4, programmes=calm_programmes()), 60)
    paused = run_model(TrustModel(3_000, rng=4, programmes=calm_programmes(), events=[
        Pause(step=10, programme="gp_records")]), 60)
    assert (paused.coverage_gp_records.iloc[10:] == 0).all()
    for col in ("trust_nhs", "trust_university", "trust_mean"):
        rise = paused[col].iloc[10:] - calm[col].iloc[10:]
        assert (rise > -1e-4).all() and rise.iloc[-1] < 0.01, col


def test_uses_must_be_shares_of_known_purposes():
    import pydantic

    from sim.programmes import Programme
    base = {"name": "p", "holder": "nhs", "recipient": "university"}
    for bad in ({}, {"planning_research": 0.5}, {"commercial": 1.5, "planning_research": -0.5},
                {"marketing": 1.0}):
        with pytest.raises(pydantic.ValidationError):
            Programme(**base, uses=bad)
    assert Programme(**base).use_shares() == [0.0, 1.0, 0.0]
