"""Posterior folders: checked on load, drawn reproducibly and by weight, applied by path."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim import posterior


def _write(tmp_path, frame):
    frame.to_parquet(tmp_path / posterior.FILE)
    return tmp_path


def test_draws_follow_the_weights_and_the_seed(tmp_path):
    folder = _write(tmp_path, pd.DataFrame({"params.gain_rate": [0.01, 0.1],
                                            "weight": [0.0, 1.0]}))
    samples = posterior.load(folder)
    sets = posterior.draw(samples, 20, seed=3)
    assert {s["params.gain_rate"] for s in sets} == {0.1}  # a zero weight is never drawn
    assert posterior.draw(samples, 20, seed=3) == sets


def test_equal_weights_bootstrap_every_sample(tmp_path):
    values = np.linspace(0.0, 1.0, 5)
    samples = posterior.load(_write(tmp_path, pd.DataFrame({"params.drift": values})))
    drawn = {s["params.drift"] for s in posterior.draw(samples, 400, seed=1)}
    assert drawn == set(values)


@pytest.mark.parametrize("frame, words", [
    (pd.DataFrame({"weight": [1.0]}), "at least one sample and one parameter"),
    (pd.DataFrame({"params.drift": [np.nan]}), "not finite"),
    (pd.DataFrame({"params.drift": [0.1], "weight": [-1.0]}), "non-negative"),
])
def test_bad_posteriors_are_named(tmp_path, frame, words):
    with pytest.raises(posterior.PosteriorError, match=words):
        posterior.load(_write(tmp_path, frame))
    with pytest.raises(posterior.PosteriorError, match="no posterior here"):
        posterior.load(tmp_path / "missing")


def test_apply_sets_paths_on_a_copy_and_names_unknown_ones():
    data = {"params": {"drift": 0.01}}
    assert posterior.apply(data, {"params.drift": 0.02}) == {"params": {"drift": 0.02}}
    assert data == {"params": {"drift": 0.01}}
    with pytest.raises(posterior.PosteriorError, match="programmes"):
        posterior.apply(data, {"programmes.x.friction": 0.5})


def test_an_episode_s_own_parameters_stay_in_the_episode(tmp_path):
    """A posterior fitted to one episode gives another scenario only its shared parameters, so
    a timeline index of the one is never written into the other's timeline."""
    _write(tmp_path, pd.DataFrame({"params.drift": [0.02], "timeline.1.severity": [0.5]}))
    pd.DataFrame({"parameter": ["params.drift", "timeline.1.severity"],
                  "shared": [True, False]}).to_csv(tmp_path / posterior.SUMMARY, index=False)
    pd.DataFrame({"set": ["fit", "held_out"],
                  "scenario": ["../../scenarios/gp_records.yaml", "care_data.yaml"]}).to_csv(
        tmp_path / posterior.TARGETS, index=False)
    where = posterior.scope(tmp_path)
    values = posterior.draw(posterior.load(tmp_path), 1, seed=0)[0]
    assert posterior.restrict(values, where, "gp_records") == values
    assert posterior.restrict(values, where, "baseline") == {"params.drift": 0.02}
    (tmp_path / "bare").mkdir()  # a posterior that does not say: every parameter applies
    assert posterior.restrict(values, posterior.scope(tmp_path / "bare"), "x") == values


def test_the_committed_posterior_runs_any_shipped_scenario(tmp_path):
    from sim import api

    done = api.run("baseline", citizens=300, steps=2, replicates=2, seed=1,
                   posterior=Path(__file__).parents[1] / "results" / "calibration")
    assert done.data["posterior"]["fitted_to"] == ["gp_records"]
    assert "timeline.1.severity" not in done.data["posterior"]["shared_parameters"]
