"""Calibration (docs/calibration.md): targets files, emulators and implausibility, ABC-SMC,
identical results for any worker count, resume, parameter recovery, runs over a posterior."""

from __future__ import annotations

import itertools
import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from sim import cli
from sim.calibration import abc, design, emulator, recovery
from sim.calibration import spec as calspec
from sim.calibration.run import calibrate
from sim.sweeps.testmodels import ishigami_value

ROOT = Path(__file__).resolve().parent.parent
TARGETS = ROOT / "experiments" / "specs" / "targets_gp2021.yaml"
GP = ROOT / "scenarios" / "gp_records.yaml"


def _spec(write_file, citizens: int = 300, quick_citizens: int = 300, **extra) -> Path:
    """A small spec of three parameters over the GP 2021 targets."""
    data = {
        "name": "small", "targets": str(TARGETS), "citizens": citizens, "seed": 5,
        "parameters": [
            {"path": "programmes.gp_records.friction", "bounds": [0.3, 0.95], "shared": True,
             "source": "docs/model.md"},
            {"path": "timeline.1.severity", "bounds": [0.05, 0.95], "source": "[P]"},
            {"path": "params.media_amplification", "bounds": [0.0, 5.0], "shared": True,
             "source": "docs/model.md"}],
        "history_matching": {"waves": 2, "points": 12, "replicates": 2, "candidates": 1000},
        "abc": {"generations": 2, "particles": 10, "proposals": 20},
        "draws": 4,
        "quick": {"citizens": quick_citizens,
                  "history_matching": {"waves": 2, "points": 30, "replicates": 2,
                                       "candidates": 4000},
                  "abc": {"generations": 3, "particles": 40, "proposals": 120}, "draws": 10},
        **extra}
    return write_file("spec.yaml", yaml.safe_dump(data, sort_keys=False))


# ------------------------------------------------------------------ files and errors
@pytest.mark.parametrize(("change", "where", "words"), [
    (lambda t: t["targets"][1]["measurement"].pop("since"), "targets.1.measurement",
     ["since"]),
    (lambda t: t["targets"][0].update(stepp=8), "targets.0.stepp", ["unknown field"]),
    (lambda t: t["targets"][3]["measurement"].update(agency="nhss"), "targets.3.measurement",
     ["nhss", "allowed"]),
    (lambda t: t["targets"][0].update(step=400), "targets.0.step", ["after the end"]),
    (lambda t: t["targets"][0].update(output="opt_out_rat"), "targets.0.output",
     ["opt_out_rate"]),
    (lambda t: t["targets"][2].update(sd=-1.0), "targets.2", ["positive"]),
    (lambda t: t["targets"][4].update(scenario="missing.yaml"), "targets.4.scenario",
     ["file not found"]),
])
def test_bad_targets_files_exit_2_naming_file_line_and_field(tmp_path, capsys, write_file,
                                                             change, where, words):
    data = yaml.safe_load(TARGETS.read_text())
    for t in data["targets"]:
        t["scenario"] = str((TARGETS.parent / t["scenario"]).resolve())
    change(data)
    targets = write_file("targets.yaml", yaml.safe_dump(data, sort_keys=False))
    spec = _spec(write_file)
    spec.write_text(spec.read_text().replace(str(TARGETS), str(targets)))
    assert cli.main(["calibrate", str(spec), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "targets.yaml:" in err and where in err, err
    for word in words:
        assert word in err, err
    assert not (tmp_path / "out").exists()


def test_bad_spec_names_the_parameter_and_what_is_wrong(tmp_path, capsys, write_file):
    spec = _spec(write_file)
    spec.write_text(spec.read_text().replace("params.media_amplification",
                                             "params.media_amplificatio"))
    assert cli.main(["calibrate", str(spec), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "spec.yaml:" in err and "parameters.2.path" in err and "not a number" in err, err


def test_the_shipped_spec_and_targets_load_with_fit_and_held_out_apart():
    loaded = calspec.load(ROOT / "experiments" / "specs" / "calibration_gp2021.yaml")
    fit = {t.name for t in loaded.targets.of("fit")}
    held = {t.name for t in loaded.targets.of("held_out")}
    assert fit == {"ndoo_stock_june", "ndoo_flow_may", "ndoo_flow_june",
                   "nhs_data_safety_trust"}
    assert not fit & held and len(held) >= 5
    assert all(p.source for p in loaded.spec.parameters)


# ------------------------------------------------------------------ emulators, implausibility
def test_emulator_predicts_an_analytic_function_with_honest_variance():
    lo, hi = np.full(3, -math.pi), np.full(3, math.pi)
    X = design.latin(design.rng(1, 1), 120, lo, hi)
    f = np.array([[ishigami_value(*x)] for x in X])
    em = emulator.fit(X, f, lo, hi)
    T = design.uniform(design.rng(1, 2), 300, lo, hi)
    truth = np.array([ishigami_value(*x) for x in T])
    m, v = em.predict(T)
    z = (truth - m[:, 0]) / np.sqrt(v[:, 0])
    assert np.mean(np.abs(z) < 3) > 0.9  # the emulator's variance covers its errors
    assert np.corrcoef(truth, m[:, 0])[0, 1] > 0.9


def test_implausibility_keeps_the_truth_and_rules_out_far_values():
    lo, hi = np.zeros(2), np.ones(2)
    X = design.latin(design.rng(2, 1), 60, lo, hi)
    Y = np.column_stack([X[:, 0] + X[:, 1], X[:, 0] - X[:, 1]])
    em = emulator.fit(X, Y, lo, hi)
    truth = np.array([[0.3, 0.6]])
    z = np.array([0.9, -0.3])
    other = np.full(2, 0.01**2)
    keep = emulator.nroy([em], np.array([[0.3, 0.6], [0.9, 0.9], [0.0, 0.0]]), z, other, 3.0)
    assert keep.tolist() == [True, False, False]
    implausible = emulator.implausibility(*em.predict(truth), z, other)
    assert implausible.max() < 1


# ------------------------------------------------------------------ ABC-SMC
def test_abc_smc_recovers_the_posterior_of_a_normal_mean():
    """Prior U(-5, 5), 20 observations N(theta, 1): the posterior of theta is about
    N(ybar, 1/20). The same kernel, weights and thresholds as a calibration."""
    rng = np.random.default_rng(3)
    data = rng.normal(1.3, 1.0, 20)
    ybar, n = data.mean(), len(data)
    lo, hi = np.array([-5.0]), np.array([5.0])

    def simulate(theta: np.ndarray, g: np.random.Generator) -> np.ndarray:
        return g.normal(theta[:, 0:1], 1.0, (len(theta), n)).mean(axis=1, keepdims=True)

    z, scale = np.array([ybar]), np.array([1.0 / n])
    X = design.uniform(design.rng(3, 0), 4000, lo, hi)
    d = abc.distance(simulate(X, design.rng(3, 100)), z, scale)
    idx = abc.keep(d, 1000)
    theta, w = X[idx], np.full(1000, 1e-3)
    eps = [d[idx].max()]
    for g in range(1, 6):
        X, cov = abc.propose(design.rng(3, g), theta, w, lo, hi, 4000)
        d = abc.distance(simulate(X, design.rng(3, 100 + g)), z, scale)
        idx = abc.keep(d, 1000)
        w = abc.weights(X[idx], theta, w, cov)
        theta = X[idx]
        eps.append(d[idx].max())
    mean = np.average(theta[:, 0], weights=w)
    sd = math.sqrt(np.average((theta[:, 0] - mean) ** 2, weights=w))
    assert all(b < a for a, b in itertools.pairwise(eps))  # thresholds fall
    assert abs(mean - ybar) < 0.05
    assert 0.9 * math.sqrt(1 / n) < sd < 1.3 * math.sqrt(1 / n)
    assert abc.ess(w) > 300


def test_perturbed_proposals_stay_inside_the_prior_box():
    theta = np.array([[0.0, 0.5], [0.1, 0.9], [0.05, 0.99]])
    X, _ = abc.propose(design.rng(4, 1), theta, np.ones(3) / 3, np.zeros(2), np.ones(2), 500)
    assert X.shape == (500, 2) and (X >= 0).all() and (X <= 1).all()


# ------------------------------------------------------------------ the whole calibration
def test_a_small_calibration_writes_its_folder_and_resumes(tmp_path, write_file):
    loaded = calspec.load(_spec(write_file))
    first = calibrate(loaded, tmp_path / "out", figures=False)
    assert first["ran"] > 0 and first["failures"] == 0
    out = tmp_path / "out"
    post = pd.read_parquet(out / "posterior.parquet")
    assert list(post.columns) == [*loaded.spec.names(), "weight"]
    assert np.isclose(post.weight.sum(), 1.0)
    table = pd.read_csv(out / "targets.csv")
    assert set(table.set) == {"fit", "held_out"}
    assert (table.predicted_p05 <= table.predicted_p95).all()
    again = calibrate(loaded, out, figures=False)
    assert again["ran"] == 0 and again["reused"] == first["ran"]
    assert pd.read_parquet(out / "posterior.parquet").equals(post)


def test_a_folder_of_another_calibration_is_refused_without_force(tmp_path, write_file, capsys):
    loaded = calspec.load(_spec(write_file))
    calibrate(loaded, tmp_path / "out", figures=False)
    assert cli.main(["calibrate", str(_spec(write_file, citizens=400)), "--out",
                     str(tmp_path / "out"), "--quiet"]) == 2
    assert "different calibration spec" in capsys.readouterr().err


@pytest.mark.integration
def test_one_and_two_workers_give_identical_posteriors(tmp_path, write_file):
    loaded = calspec.load(_spec(write_file))
    calibrate(loaded, tmp_path / "one", workers=1, figures=False)
    calibrate(loaded, tmp_path / "two", workers=2, figures=False)
    for name in ("posterior.parquet", "predictive.parquet"):
        assert pd.read_parquet(tmp_path / "one" / name).equals(
            pd.read_parquet(tmp_path / "two" / name))
    assert (tmp_path / "one" / "targets.csv").read_text() == \
        (tmp_path / "two" / "targets.csv").read_text()


@pytest.mark.slow
def test_quick_calibration_recovers_known_parameters(tmp_path, write_file):
    """Acceptance: on synthetic targets made by the model at four truths, the true value lies
    inside the 90% credible interval for at least 80% of the parameters (1,000 citizens)."""
    loaded = calspec.load(_spec(write_file, quick_citizens=1000))
    results = recovery.recover(loaded, tmp_path / "rec", n=4)
    hits = [ok for r in results for ok in r["covered"].values()]
    assert sum(hits) >= math.ceil(0.8 * len(hits)), [r["covered"] for r in results]
    # the targets say something: some interval is narrower than its prior range
    widths = pd.concat([r["summary"] for r in results]).ci90_share_of_prior
    assert widths.min() < 0.9
    shutil.rmtree(tmp_path / "rec")


# ------------------------------------------------------------------ results over a posterior
def _posterior(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"params.gain_rate": [0.02, 0.05, 0.2, 0.4],
                  "params.loss_aversion": [2.0, 4.0, 6.0, 9.0],
                  "weight": [1.0, 1.0, 1.0, 1.0]}).to_parquet(folder / "posterior.parquet")
    return folder


RUN = ["--citizens", "300", "--steps", "6", "--replicates", "4", "--quiet"]


def test_run_with_a_posterior_splits_parameter_and_seed_spread(tmp_path):
    post = _posterior(tmp_path / "post")
    gp = str(GP)
    assert cli.main(["run", gp, *RUN, "--out", str(tmp_path / "plain")]) == 0
    assert cli.main(["run", gp, *RUN, "--out", str(tmp_path / "post_run"), "--posterior",
                     str(post), "--posterior-draws", "2"]) == 0
    summary = yaml.safe_load((tmp_path / "post_run" / "summary.json").read_text())
    section = summary["posterior"]
    assert section["draws"] == 2 and section["seeds_per_draw"] == 2
    entry = section["spread"]["trust_mean"]["6"]
    assert {"total_sd", "seed_sd", "parameter_sd"} <= set(entry)
    manifest = yaml.safe_load((tmp_path / "post_run" / "manifest.json").read_text())
    sets = manifest["posterior"]["replicate_parameters"]
    assert len(sets) == 4 and sets[0] == sets[2] and sets[1] == sets[3]
    plain = pd.read_csv(tmp_path / "plain" / "timeseries.csv")
    drawn = pd.read_csv(tmp_path / "post_run" / "timeseries.csv")
    assert not plain.equals(drawn)  # other parameters, same seeds
    assert "posterior" not in yaml.safe_load((tmp_path / "plain" / "summary.json").read_text())


def test_compare_with_a_posterior_gives_every_scenario_the_same_parameter_sets(tmp_path):
    from sim import api

    post = _posterior(tmp_path / "post")
    out = tmp_path / "cmp"
    assert cli.main(["compare", str(GP), str(ROOT / "scenarios" / "breach_shock.yaml"), *RUN,
                     "--out", str(out), "--posterior", str(post)]) == 0
    data = yaml.safe_load((out / "comparison.json").read_text())
    assert set(data["posterior"]["spread"]) == {"gp_records", "breach_shock"}
    result = api.compare(GP, ROOT / "scenarios" / "breach_shock.yaml", citizens=300, steps=6,
                         replicates=4, posterior=post)
    assert result.data["posterior"]["draws"] == 4
    assert result.manifest["posterior"]["replicate_parameters"] == \
        yaml.safe_load((out / "manifest.json").read_text())["posterior"]["replicate_parameters"]
    mine = pd.read_csv(out / "timeseries.csv")
    pd.testing.assert_frame_equal(mine, result.runs.reset_index(drop=True), rtol=1e-6,
                                  check_dtype=False)


@pytest.mark.parametrize(("extra", "words"), [
    (["--posterior", "nowhere"], ["--posterior", "no posterior here"]),
    (["--posterior", "POST", "--posterior-draws", "3"], ["must divide"]),
    (["--posterior-draws", "2"], ["needs --posterior"]),
])
def test_bad_posterior_options_exit_2(tmp_path, capsys, extra, words):
    post = _posterior(tmp_path / "post")
    extra = [str(post) if e == "POST" else e for e in extra]
    assert cli.main(["run", str(GP), *RUN, "--out", str(tmp_path / "o"), *extra]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    for word in words:
        assert word in err, err
    assert not (tmp_path / "o").exists()


# ------------------------------------------------------------------ the committed calibration
def test_the_committed_calibration_was_made_from_committed_code_and_reports_every_target():
    folder = ROOT / "results" / "calibration"
    manifest = yaml.safe_load((folder / "manifest.json").read_text())
    assert manifest["trustsim"]["dirty"] is False
    from sim import posterior

    samples = posterior.load(folder)
    loaded = calspec.load(ROOT / "experiments" / "specs" / "calibration_gp2021.yaml")
    assert posterior.parameters(samples) == loaded.spec.names()
    table = pd.read_csv(folder / "targets.csv")
    names = {label for t in loaded.targets.spec.targets for label, *_ in t.points()}
    assert set(table.target) == names
    assert table.inside_90.dtype == bool
