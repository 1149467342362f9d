"""The Python API (sim.api) gives the command line's numbers, and the model follows Mesa's
conventions: ``running`` ends a run, agent reporters work for small populations, and the
citizens' state reads as one table."""

from __future__ import annotations

from pathlib import Path

import mesa
import numpy as np
import pandas as pd
import pytest

from sim import Citizen, TrustModel, cli, runner
from sim import scenario as sc
from sim.api import IDS, compare, load_scenario, read_results, run, run_settings
from sim.model import AGENT_REPORTERS_MAX

ROOT = Path(__file__).resolve().parents[1]
SIZES = {"citizens": 500, "steps": 5, "replicates": 2}
SIZE_ARGS = ["--citizens", "500", "--steps", "5", "--replicates", "2", "--quiet"]


def _equal(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True),
                                  check_exact=True)


# ------------------------------------------------------------------ run, compare, read_results
def test_run_gives_the_numbers_of_trustsim_run_and_reads_back(tmp_path):
    ours = run("baseline", **SIZES)
    assert cli.main(["run", str(ROOT / "scenarios" / "baseline.yaml"), "--out",
                     str(tmp_path / "run"), *SIZE_ARGS]) == 0
    written = read_results(tmp_path / "run")
    _equal(ours.runs, written.runs)
    _equal(ours.summary, written.summary)
    assert ours.data == written.data
    assert list(ours.runs.columns[:3]) == list(IDS)
    assert ours.scenarios == ["baseline"] and ours.reference is None and ours.paired is None
    assert len(ours.runs) == 2 * 6
    assert ours.manifest["citizens"] == written.manifest["citizens"] == 500
    assert ours.manifest["command"][:2] == ["sim.api.run", "baseline"]
    # the summary is tidy: one row per output and key step
    assert set(ours.summary.step) == {0, 1, 2, 4, 5}
    assert len(ours.summary) == len(ours.outputs) * 5


def test_compare_runs_common_random_numbers_as_trustsim_compare_does(tmp_path):
    with pytest.warns(UserWarning, match=r"citizen_control: events after week 5 never happen"):
        ours = compare(ROOT / "scenarios" / "breach_shock.yaml", "citizen_control", **SIZES)
    assert cli.main(["compare", str(ROOT / "scenarios" / "breach_shock.yaml"),
                     str(ROOT / "scenarios" / "citizen_control.yaml"), "--out",
                     str(tmp_path / "cmp"), "--format", "parquet", *SIZE_ARGS]) == 0
    written = read_results(tmp_path / "cmp")
    _equal(ours.runs, written.runs)
    _equal(ours.summary, written.summary)
    _equal(ours.paired, written.paired)
    assert ours.reference == written.reference == "breach_shock"
    assert ours.scenarios == ["breach_shock", "citizen_control"]
    # the same seeds: the two worlds start from the same citizens, replicate by replicate
    start = ours.runs[ours.runs.step == 0].set_index(["scenario", "replicate"])
    _equal(start.loc["breach_shock"], start.loc["citizen_control"])
    at_start = ours.paired[(ours.paired.step == 0) & (ours.paired.output == "trust_mean")]
    assert at_start["mean"].tolist() == [0.0]


def test_the_long_frame_is_tidy():
    results = run("baseline", citizens=300, steps=2, replicates=1)
    long = results.long
    assert list(long.columns) == [*IDS, "output", "value"]
    assert len(long) == len(results.runs) * len(results.outputs)
    wide = long.pivot_table(index=list(IDS), columns="output", values="value")
    np.testing.assert_array_equal(wide["trust_mean"].to_numpy(),
                                  results.runs["trust_mean"].to_numpy())


def test_a_scenario_is_a_path_a_bundled_name_or_a_scenario():
    path = ROOT / "scenarios" / "baseline.yaml"
    loaded = sc.load(path)
    assert load_scenario("baseline") == load_scenario(path) == load_scenario(str(path)) == loaded
    assert load_scenario(loaded) is loaded
    changed = load_scenario(loaded, ["params.loss_aversion=3.5"])
    assert changed.params.loss_aversion == 3.5
    assert load_scenario("baseline", ["params.loss_aversion=3.5"]) == changed
    small = {"citizens": 300, "steps": 2, "replicates": 1}
    _equal(run(loaded, **small).runs, run("baseline", **small).runs)
    with pytest.raises(sc.ScenarioError, match=r"bundled scenarios: .*gp_records"):
        load_scenario("gp_record")
    with pytest.raises(sc.ScenarioError, match="loss_aversion"):
        load_scenario(loaded, ["params.loss_aversion=-1"])
    with pytest.raises(ValueError, match="at least two scenarios"):
        compare("baseline")


def test_read_results_reads_the_committed_results():
    baseline = read_results(ROOT / "results" / "baseline")
    assert baseline.scenarios == ["baseline"]
    assert baseline.manifest["seed"]["replicates"] == baseline.runs.replicate.nunique()
    cases = read_results(ROOT / "results" / "case_studies")
    assert len(cases.scenarios) == 5 and "story_output" in cases.summary.columns
    with pytest.raises(FileNotFoundError):
        read_results(ROOT / "results")


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
    s = run_settings(load_scenario("breach_shock"), citizens=400, steps=6, replicates=1)
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


def test_finished_runs_do_not_stay_alive():
    """A worker runs thousands of models in a sweep or a calibration: none may outlive the
    reading of its outputs (Mesa 3.3 keeps an agent-id counter per model in a class dict)."""
    import gc
    import weakref

    s = runner.with_run_settings(sc.load("scenarios/baseline.yaml"), 500, 2)
    task = runner.tasks(s, 500, 2, 1, 7)[0]
    seen: list[weakref.ref] = []
    build = sc.Scenario.build

    def tracked(self, *args, **kwargs):
        model = build(self, *args, **kwargs)
        seen.append(weakref.ref(model))
        return model

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(sc.Scenario, "build", tracked)
        runner.run_replicate(s, np.random.SeedSequence(1))
        runner.run_task(task)
    gc.collect()
    assert len(seen) == 2 and all(ref() is None for ref in seen)
