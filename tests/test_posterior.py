"""Posterior folders: checked on load, drawn reproducibly and by weight, applied by path."""

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
