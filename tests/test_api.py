"""The model follows Mesa's conventions: ``running`` ends a run, agent reporters work for small
populations, and the citizens' state reads as one table."""

from __future__ import annotations

from pathlib import Path

import mesa
import numpy as np
import pandas as pd
import pytest

from sim import Citizen, TrustModel, runner
from sim import scenario as sc
from sim.model import AGENT_REPORTERS_MAX

ROOT = Path(__file__).resolve().parents[1]


def _equal(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True),
                                  check_exact=True)


# ------------------------------------------------------------------ Mesa conventions
def test_running_turns_false_after_the_last_step_so_run_model_stops():
    model = TrustModel(300, rng=3, steps=4)
    assert model.running
    model.run_model()
    assert model.steps == 4 and not model.running
    assert list(model.timeseries().step) == [0, 1, 2, 3, 4]
    endless = TrustModel(300, rng=3)
    for _ in range(3):
        endless.step()
    assert endless.running and endless.last_step is None
    endless.running = False  # a user's stop is kept
    assert not endless.running


def test_a_scenarios_model_runs_its_steps_with_run_model():
    s = runner.with_run_settings(sc.load(ROOT / "scenarios" / "breach_shock.yaml"), 400, 6, 1)
    seed = s.replicate_seeds()[0]
    model = s.build(rng=seed)
    model.run_model()
    assert model.steps == s.steps
    _equal(model.timeseries(), runner.run_replicate(s, seed))


def test_batch_run_stops_at_the_models_steps():
    rows = mesa.batch_run(TrustModel, parameters={"n_citizens": 300, "steps": 3}, max_steps=50,
                          number_processes=1, data_collection_period=1, display_progress=False)
    # without ``steps`` it would run to max_steps; Mesa 3.3 reports up to the step before the
    # last one, Mesa 3.5 up to the last one
    assert max(r["Step"] for r in rows) in (2, 3)


def test_citizens_frame_has_a_row_per_citizen_and_a_column_per_state_value(run_model):
    model = TrustModel(500, rng=1)
    run_model(model, 3)
    frame = model.citizens_frame()
    c, agencies, programmes = model.citizens, model.agency_specs, model.programmes
    assert len(frame) == 500 and frame["id"].tolist() == list(range(500))
    expected = {"id", "agent_id", "segment", "concern", "need", "trust_general",
                *(f"trust_{a.name}" for a in agencies),
                *(f"{v}_{p.name}" for v in ("choice", "aware", "opted_out") for p in programmes)}
    assert expected <= set(frame.columns)
    np.testing.assert_array_equal(frame["trust_general"], c.trust[:, model.column["general"]])
    np.testing.assert_array_equal(frame["trust_nhs"], c.trust[:, model.column["nhs"]])
    assert set(frame["segment"]) <= {s.key for s in model.segments}
    for citizen in list(model.agents_by_type[Citizen])[:50]:
        row = frame.iloc[citizen.row]
        assert row["agent_id"] == citizen.unique_id
        assert row["segment"] == citizen.segment_key
        assert [p.name for p in programmes if row[f"opted_out_{p.name}"]] == citizen.opted_out
    before = frame["trust_general"].copy()
    model.step()  # a copy: the table keeps the state it was taken at
    np.testing.assert_array_equal(frame["trust_general"], before)
    without = TrustModel(300, rng=1, citizen_agents=False).citizens_frame()
    assert without["agent_id"].isna().all() and len(without) == 300


def test_agent_reporters_collect_every_citizen_each_step_for_small_populations():
    model = TrustModel(300, rng=2, steps=2, agent_reporters=True)
    model.run_model()
    agents = model.datacollector.get_agent_vars_dataframe()
    n_agents = 300 + len(model.agency_specs)
    assert len(agents) == 3 * n_agents  # step 0 and two steps
    assert agents.index.get_level_values(0).nunique() == 3
    last = agents[agents.index.get_level_values(0) == agents.index.get_level_values(0).max()]
    citizens = last[last["type"] == "Citizen"]
    frame = model.citizens_frame().set_index("agent_id")
    ids = citizens.index.get_level_values(1)
    np.testing.assert_allclose(citizens["trust_general"].to_numpy(dtype=float),
                               frame.loc[ids, "trust_general"].to_numpy(dtype=float))
    assert (last.loc[last["type"] == "Agency", "segment"].isna()).all()
    assert {f"trust_{a.name}" for a in model.agency_specs} <= set(agents.columns)


def test_agent_reporters_are_refused_for_large_populations_and_without_citizen_agents():
    with pytest.raises(ValueError, match=f"up to {AGENT_REPORTERS_MAX:,} citizens"):
        TrustModel(AGENT_REPORTERS_MAX + 1, agent_reporters=True)
    with pytest.raises(ValueError, match="needs the citizens as Mesa agents"):
        TrustModel(300, agent_reporters=True, citizen_agents=False)
    plain = TrustModel(300, rng=1)
    with pytest.raises(UserWarning, match="No agent reporters"):  # Mesa's own message
        plain.datacollector.get_agent_vars_dataframe()
