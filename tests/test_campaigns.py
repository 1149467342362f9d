"""Public information campaigns (sim.campaigns)."""

import numpy as np

from sim import Campaign, TrustModel, campaigns


def test_uplift_raises_reached_citizens_only_and_stays_in_bounds():
    trust = np.array([[0.5, 0.5], [0.5, 0.5], [0.99, 0.99]], np.float32)
    campaigns.uplift(trust, np.array([True, False, True]), np.array([1.0, 0.5]), 0.1, 0.5)
    np.testing.assert_allclose(trust[0], [0.55, 0.525], rtol=1e-6)
    np.testing.assert_array_equal(trust[1], [0.5, 0.5])
    assert trust[2].max() <= 1.0


def test_a_campaign_runs_its_weeks_and_raises_trust_in_its_holder(run_model):
    def nhs_trust(events):
        return run_model(TrustModel(2_000, events=events, rng=4), 6).trust_nhs

    calm = nhs_trust([])
    run = nhs_trust([Campaign(step=2, programme="gp_records", strength=1.0, reach=1.0,
                              duration=3)])
    assert run.iloc[1] == calm.iloc[1]  # nothing before it starts
    assert (run.iloc[2:5].to_numpy() > calm.iloc[2:5].to_numpy()).all()
    assert run.diff().iloc[2:5].gt(0).all()  # each of its three weeks adds
