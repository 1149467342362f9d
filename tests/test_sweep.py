"""Sweeps (sim.sweeps, ``trustsim sweep``): the engine reproduces analytic Sobol indices, runs
the right designs, gives the same indices on every executor, resumes after SIGKILL, records
failing runs and goes on, reports bad specs like bad scenarios, exports to the EMA shape; run
keys hash the code a run imports; an experiment script is ``trustsim sweep`` without sim.cli."""

from __future__ import annotations

import copy
import json
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim import cli, report, runner, sweeps
from sim import scenario as sc
from sim.sweeps import design, engine, testmodels
from sim.sweeps.spec import SweepSpec

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / "scenarios" / "baseline.yaml"
PI = 3.141592653589793


def _ishigami_spec(write_file: Callable[..., Path], n: int, model: str = "ishigami",
                   replicates: int = 1, outputs: str = "[y]") -> Path:
    return write_file(f"{model}.yaml", f"""
name: {model}
model: "sim.sweeps.testmodels:{model}"
parameters:
  - {{path: x1, bounds: [{-PI}, {PI}]}}
  - {{path: x2, bounds: [{-PI}, {PI}]}}
  - {{path: x3, bounds: [{-PI}, {PI}]}}
method: sobol
n: {n}
replicates: {replicates}
steps: 1
outputs: {outputs}
num_resamples: 200
seed: 42
""")


def _trustsim_spec(write_file: Callable[..., Path], n: int = 8, citizens: int = 200,
                   steps: int = 8) -> Path:
    return write_file("tiny.yaml", f"""
name: tiny
base: {BASELINE}
parameters:
  - {{path: params.gain_rate, bounds: [0.01, 0.15]}}
  - {{path: params.loss_aversion, bounds: [2.0, 6.0]}}
  - {{path: programmes.gp_records.breach_rate, bounds: [0.5, 20.0]}}
method: sobol
n: {n}
replicates: 2
steps: {steps}
citizens: {citizens}
every: 2
seed: 7
num_resamples: 50
""")


def test_ishigami_indices_within_the_reported_confidence_intervals(tmp_path, write_file):
    loaded = sweeps.load(_ishigami_spec(write_file, 1024))
    result = sweeps.run_sweep(loaded, tmp_path / "out")
    assert result["runs"] == 1024 * (4 + 2)  # x1..x3 and the dummy, no second order
    idx = pd.read_csv(tmp_path / "out" / "indices.csv")
    last = idx[idx.step == idx.step.max()].set_index("parameter")
    truth = testmodels.ishigami_indices()
    for measure in ("S1", "ST"):
        for name, value in truth[measure].items():
            estimate, conf = last.loc[name, measure], last.loc[name, f"{measure}_conf"]
            assert abs(estimate - value) <= conf, (measure, name, estimate, conf, value)
    assert abs(last.loc["dummy", "ST"]) < 0.01  # the model ignores it
    conv = pd.read_csv(tmp_path / "out" / "convergence.csv")
    assert sorted(conv.n.unique()) == [128, 256, 512, 1024]


def test_design_sizes_follow_the_methods():
    base = {"model": "sim.sweeps.testmodels:ishigami", "outputs": ["y"],
            "parameters": [{"path": p, "bounds": [0.0, 1.0]} for p in ("x1", "x2", "x3")]}
    D = 4  # with the dummy
    assert len(design.build(SweepSpec(**base, method="sobol", n=16)).points) == 16 * (D + 2)
    assert len(design.build(SweepSpec(**base, method="sobol", n=16, second_order=True)
                            ).points) == 16 * (2 * D + 2)
    assert len(design.build(SweepSpec(**base, method="morris", n=5)).points) == 5 * (D + 1)
    assert len(design.build(SweepSpec(**base, method="lhs", n=7)).points) == 7
    grid = {**base, "parameters": [{"path": "x1", "values": [1, 2, 3]},
                                   {"path": "x2", "values": ["a", "b"]}]}
    assert len(design.build(SweepSpec(**grid, method="grid")).points) == 6
    seeds = design.build(SweepSpec(**base, method="lhs", n=3, replicates=3)).seeds
    assert [s[1] for s in seeds] == [(0,), (1,), (2,)]


def test_serial_processes_and_dask_give_identical_indices(tmp_path, write_file):
    pytest.importorskip("dask.distributed")
    loaded = sweeps.load(_trustsim_spec(write_file))
    texts = {}
    for kind in ("serial", "processes", "dask"):
        out = tmp_path / kind
        result = sweeps.run_sweep(loaded, out, workers=1 if kind == "serial" else 2,
                                  executor=kind)
        assert result["executor"] == kind and result["failures"] == 0
        texts[kind] = (out / "indices.csv").read_text()
        manifest = json.loads((out / "manifest.json").read_text())
        if kind == "dask":
            assert "127.0.0.1" in manifest["sweep"]["executor"]["scheduler"]
    assert texts["serial"] == texts["processes"] == texts["dask"]
    idx = pd.read_csv(tmp_path / "serial" / "indices.csv")
    assert idx.step.nunique() > 1 and idx.S1_conf.notna().all()
    runs = pd.read_parquet(tmp_path / "serial" / "runs.parquet")
    assert len(runs) == 8 * 6 * 2 * 5  # points x replicates x kept steps 0, 2, 4, 6, 8
    assert {"key", "point", "replicate", "step", "params.gain_rate", "dummy",
            "trust_mean"} <= set(runs.columns)
    noise = pd.read_csv(tmp_path / "serial" / "noise.csv")
    share = noise.seed_share.dropna()
    assert len(share) and ((share >= 0) & (share <= 1 + 1e-9)).all()


def test_a_sweep_killed_with_sigkill_resumes_to_the_same_indices(tmp_path, write_file,
                                                                 trustsim_env, wait_for):
    spec = _trustsim_spec(write_file, n=16, citizens=500, steps=26)
    reference = tmp_path / "reference"
    sweeps.run_sweep(sweeps.load(spec), reference)
    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "sim.cli", "sweep", str(spec), "--out", str(out), "--quiet"]
    proc = subprocess.Popen(cmd, env=trustsim_env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    wait_for(lambda: len(list((out / "runs").glob("??/*.parquet"))) >= 3, "3 run files",
             timeout=60, proc=proc, interval=0.02)
    assert proc.poll() is None, "the sweep finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (out / "indices.csv").exists()
    rerun = subprocess.run(cmd, env=trustsim_env, capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    resumed = json.loads((out / "manifest.json").read_text())["sweep"]["resumed"]
    assert resumed["already_done"] > 0 and resumed["ran_now"] > 0
    assert resumed["already_done"] + resumed["ran_now"] == 16 * 6 * 2
    assert (out / "indices.csv").read_text() == (reference / "indices.csv").read_text()
    again = sweeps.run_sweep(sweeps.load(spec), out)  # complete: nothing left to run
    assert again["ran"] == 0 and again["skipped"] == 16 * 6 * 2


def test_a_run_that_raises_is_recorded_and_the_sweep_goes_on(tmp_path, write_file):
    loaded = sweeps.load(_ishigami_spec(write_file, 16, model="fragile", replicates=2))
    result = sweeps.run_sweep(loaded, tmp_path / "out")
    pts = design.build(loaded.spec).points
    bad = sum(p["x1"] > 2.5 for p in pts)
    assert 0 < bad < len(pts)
    assert result["failures"] == bad * 2
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert all("too large" in f["error"] for f in manifest["sweep"]["failures"])
    runs = pd.read_parquet(tmp_path / "out" / "runs.parquet")
    assert runs.point.nunique() == len(pts) - bad
    again = sweeps.run_sweep(loaded, tmp_path / "out")  # failures are not retried
    assert again["ran"] == 0 and again["failures"] == bad * 2


def test_a_dying_worker_is_replaced_and_its_runs_redone(tmp_path, monkeypatch, write_file):
    monkeypatch.setenv("TRUSTSIM_DIES_ONCE", str(tmp_path / "died"))
    loaded = sweeps.load(_ishigami_spec(write_file, 8, model="dies_once"))
    result = sweeps.run_sweep(loaded, tmp_path / "out", workers=2, executor="processes")
    assert (tmp_path / "died").exists()
    assert result["failures"] == 0 and result["ran"] == result["runs"] == 8 * 6
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["sweep"]["executor"]["pool_restarts"] >= 1


@pytest.mark.parametrize(("text", "where", "words"), [
    ("name: s\nbase: {base}\nparameters:\n  - {{path: params.gain_rat, bounds: [0, 1]}}\n",
     ":4:", ["parameters.0.path", "gain_rate"]),
    ("name: s\nbase: {base}\nparameters:\n  - {{path: params.gain_rate, bounds: [0, 1]}}\n"
     "methd: sobol\n", ":5:", ["methd", "method"]),
    ("name: s\nbase: {base}\nparameters:\n  - {{path: params.gain_rate, bounds: [0, 9]}}\n",
     ":4:", ["parameters.0", "less than or equal to 0.5"]),
    ("name: s\nbase: {base}\nn: 10\nparameters:\n  - {{path: params.gain_rate, bounds: [0, 1]}}\n",
     "spec.yaml", ["power of 2"]),
    ("name: s\nbase: missing.yaml\nparameters:\n  - {{path: x, bounds: [0, 1]}}\n",
     ":2:", ["base", "file not found"]),
    ("name: s\nbase: {base}\noutputs: [trust_man]\n"
     "parameters:\n  - {{path: params.gain_rate, bounds: [0, 0.4]}}\n",
     ":3:", ["outputs.0", "trust_mean"]),
])
def test_bad_specs_exit_2_naming_file_line_and_path(tmp_path, capsys, write_file, text, where,
                                                    words):
    spec = write_file("spec.yaml", text.format(base=BASELINE))
    assert cli.main(["sweep", str(spec), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert where in err, err
    for word in words:
        assert word in err, err
    assert not (tmp_path / "out").exists()


def test_a_folder_of_another_spec_is_refused_without_force(tmp_path, capsys, write_file):
    first = sweeps.load(_ishigami_spec(write_file, 4))
    sweeps.run_sweep(first, tmp_path / "out")
    other = _ishigami_spec(write_file, 8, model="fragile")
    assert cli.main(["sweep", str(other), "--out", str(tmp_path / "out")]) == 2
    assert "different sweep spec" in capsys.readouterr().err
    assert cli.main(["sweep", str(other), "--out", str(tmp_path / "out"), "--force",
                     "--quiet"]) == 0


def test_ema_export_has_one_experiment_per_run_and_arrays_of_runs_by_steps(tmp_path, write_file):
    loaded = sweeps.load(_ishigami_spec(write_file, 4, replicates=2,
                                        outputs="[y, noisy_y]"))
    sweeps.run_sweep(loaded, tmp_path / "out")
    runs = sweeps.read_runs(tmp_path / "out")
    experiments, outcomes = sweeps.to_ema(runs, ["x1", "x2", "x3", "dummy"], ["y", "noisy_y"])
    n_runs = 4 * 6 * 2
    assert len(experiments) == n_runs
    assert {"x1", "x2", "x3", "dummy", "scenario", "replicate"} <= set(experiments.columns)
    assert outcomes["y"].shape == (n_runs, 2) and outcomes["TIME"].shape == (n_runs, 2)
    assert np.isfinite(outcomes["noisy_y"]).all()


def test_run_keys_hash_the_code_a_run_imports_and_nothing_else():
    trustsim = report.imported_files(engine.code_roots("trustsim"))
    assert {"sim.runner", "sim.scenario", "sim.sweeps.engine"} <= set(trustsim)
    for name in trustsim:  # what a run reaches, followed from the source
        path = ROOT.joinpath(*name.split("."))
        assert path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()
    edge = {"sim.cli", "sim.command", "sim.app", "sim.report", "sim.plots", "sim.case_studies",
            "sim.sweeps.run", "sim.sweeps.analysis", "sim.sweeps.figures"}
    assert not edge & set(trustsim)
    ishigami = report.imported_files(engine.code_roots("sim.sweeps.testmodels:ishigami"))
    assert "sim.sweeps.testmodels" in ishigami and list(ishigami) == sorted(ishigami)
    version = report.code_version(engine.code_roots("trustsim"))
    assert version == report.code_version(engine.code_roots("trustsim"))
    assert version != report.code_version(engine.code_roots("sim.sweeps.testmodels:ishigami"))


def test_the_sweeps_never_import_the_command_line():
    for path in sorted((ROOT / "sim" / "sweeps").glob("*.py")):
        name = "sim.sweeps" if path.stem == "__init__" else f"sim.sweeps.{path.stem}"
        assert "sim.cli" not in report.imported_files([name]), name


def test_a_sweep_replicate_is_a_runner_replicate(tmp_path, write_file):
    loaded = sweeps.load(_trustsim_spec(write_file, n=2, citizens=150, steps=4))
    sweeps.run_sweep(loaded, tmp_path / "out")
    runs = sweeps.read_runs(tmp_path / "out")
    first = runs[(runs.point == 0) & (runs.replicate == 1)].reset_index(drop=True)
    point = {k: first.loc[0, k] for k in ("params.gain_rate", "params.loss_aversion",
                                          "programmes.gp_records.breach_rate")}
    data = copy.deepcopy(loaded.base)
    for path, value in point.items():
        sc.set_path(data, path, float(value))
    scenario = runner.with_run_settings(data, 150, 4, replicates=2, seed=7)
    alone = runner.run_replicate(scenario, scenario.replicate_seeds()[1])
    alone = alone[alone.step.isin(first.step)].reset_index(drop=True)
    for column in loaded.spec.outputs:
        assert np.array_equal(first[column].to_numpy(), alone[column].to_numpy()), column


def test_an_experiment_script_is_trustsim_sweep(tmp_path, capsys, write_file):
    spec = _ishigami_spec(write_file, 4)
    assert sweeps.script(spec, "ishigami", ["--out", str(tmp_path / "out"), "--quiet"]) == 0
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["command"][:2] == ["trustsim", "sweep"]
    assert manifest["command"][-1] == "--quiet"
    other = _ishigami_spec(write_file, 8, model="fragile")
    assert sweeps.script(other, "fragile", ["--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "trustsim sweep: error:" in err and "different sweep spec" in err
    with pytest.raises(SystemExit) as exit_:
        sweeps.script(spec, "ishigami", ["--out", str(tmp_path / "x"), "--workers", "0"])
    assert exit_.value.code == 2 and "--workers" in capsys.readouterr().err
