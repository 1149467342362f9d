"""The policy frontier (sim.frontier, sim.sweeps.frontier, ``trustsim frontier``).

Pareto and dominance on hand-made arrays first (ties included, and a property over random
points), then the bands, then a tiny frontier end to end: the tables and figure it writes,
resume, one worker against two, a posterior, bad specs.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from sim import frontier
from sim import scenario as sc
from sim.sweeps import frontier as fr

ROOT = Path(__file__).resolve().parents[1]
BASE = ROOT / "experiments" / "specs" / "frontier_base.yaml"


# ------------------------------------------------------------------ pareto and dominance
def test_pareto_front_on_hand_made_points():
    points = np.array([[0.5, 10.0],   # 0: on (most trust)
                       [0.4, 20.0],   # 1: on (most value)
                       [0.4, 10.0],   # 2: dominated by 0 and 1
                       [0.45, 15.0],  # 3: on (between)
                       [0.3, 5.0]])   # 4: dominated by all
    assert frontier.pareto_front(points).tolist() == [True, True, False, True, False]
    d = frontier.dominance_matrix(points)
    assert d[0, 2] and d[1, 2] and not d[2, 0]
    assert d[:, 4].sum() == 4 and not d[4].any()
    assert not d.diagonal().any()


def test_ties_are_all_on_the_front_and_never_dominate_each_other():
    points = np.array([[1.0, 1.0], [1.0, 1.0], [1.0, 0.5], [0.5, 1.0]])
    assert frontier.pareto_front(points).tolist() == [True, True, False, False]
    assert not frontier.dominates(points[0], points[1])
    # equal on one objective, better on the other: dominates
    assert frontier.dominates(points[0], points[2]) and frontier.dominates(points[0], points[3])


def test_nan_is_never_on_the_front():
    points = np.array([[np.nan, 5.0], [0.1, 1.0]])
    assert frontier.pareto_front(points).tolist() == [False, True]


@settings(max_examples=200, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(1, 30), st.integers(1, 3)),
              elements=st.integers(0, 4).map(float)))
def test_no_front_point_is_dominated_and_every_other_point_is_by_a_front_point(points):
    on = frontier.pareto_front(points)
    d = frontier.dominance_matrix(points)
    assert on.any()
    assert not d[:, on].any()  # nothing dominates a frontier point
    for j in np.flatnonzero(~on):
        assert d[on, j].any()  # some frontier point dominates each other point


def test_paired_dominance_counts_pairs_on_the_same_seed():
    # mix 0 beats mix 1 on seeds 0 and 1, loses on seed 2; seed 3 failed for mix 1
    a = np.array([[0.5, 10], [0.5, 10], [0.1, 1], [0.5, 10]])
    b = np.array([[0.4, 9], [0.4, 9], [0.2, 2], [np.nan, np.nan]])
    s = frontier.paired_dominance(np.stack([a, b]))
    assert s[0, 1] == pytest.approx(2 / 3) and s[1, 0] == pytest.approx(1 / 3)
    assert s[0, 0] == 0.0


def test_bands_separate_seeds_from_posterior_draws():
    # two draws far apart, seeds scattered around each: the posterior band spans the draws'
    # means, the seed band only the scatter within a draw
    seeds = np.array([-1.0, 0.0, 1.0])
    values = np.array([[10 + seeds, 20 + seeds]])  # (1 mix, 2 draws, 3 seeds)
    b = frontier.bands(values)
    assert b["mean"][0] == pytest.approx(15.0)
    assert b["post_p10"][0] == pytest.approx(11.0) and b["post_p90"][0] == pytest.approx(19.0)
    assert b["seed_p10"][0] == pytest.approx(15.0 + np.quantile(np.tile(seeds, 2), 0.1))
    assert b["seed_p90"][0] - b["seed_p10"][0] == pytest.approx(2.0)  # not the 10 between draws
    one = frontier.bands(values[:, :1])
    assert np.isnan(one["post_p10"][0])
    assert one["seed_p10"][0] == pytest.approx(np.quantile(10 + seeds, 0.1))


# ------------------------------------------------------------------ specs
def tiny_spec(write_file: Callable[..., Path], extra: str = "", name: str = "tiny") -> Path:
    return write_file(f"{name}.yaml", f"""
name: {name}
base: {BASE}
policy: {{step: 1, programmes: [gp_records, care_record]}}
levers:
  consent: [opt_out, opt_in]
  mandate: [0.0, 0.8]
unit: gbp
replicates: 2
steps: 4
citizens: 300
seed: 5
quick: {{replicates: 2, steps: 3, citizens: 200, draws: 2}}
{extra}""")


def test_the_mixes_are_the_grid_less_the_excluded(write_file):
    loaded = fr.load(tiny_spec(write_file, "exclude:\n  - {consent: opt_in, mandate: 0.8}\n"))
    assert fr.mixes(loaded.spec) == [{"consent": "opt_out", "mandate": 0.0},
                                     {"consent": "opt_out", "mandate": 0.8},
                                     {"consent": "opt_in", "mandate": 0.0}]
    assert fr.label({"consent": "opt_in", "mandate": 0.8, "legitimacy": 0.9}) == \
        "opt_in, mandate 0.8 legit 0.9"
    assert fr.mix_params({"legitimacy": 0.9}, 3) == {
        "policies.3.mandate.public_interest_test": 0.9, "policies.3.mandate.oversight": 0.9}
    assert loaded.base["policies"][loaded.index]["programmes"] == ["gp_records", "care_record"]


@pytest.mark.parametrize("extra, where, words", [
    ("levers: {consent: [opt_up]}", "levers.consent.0", "opt_out"),
    ("policy: {step: 1, programmes: [gp_record]}", "policy.programmes.0", "gp_records"),
    ("unit: qaly", "unit", "gbp"),
    ("levers: {mandate: [1.5]}", "levers.mandate", "not allowed"),
    ("window: [3, 99]", "window", "last <= steps"),
    ("exclude:\n  - {dashboard: true}", "exclude.0.dashboard", "not a lever"),
    ("replicate: 3", "replicate", "allowed here"),
])
def test_bad_specs_name_the_file_field_and_what_is_allowed(write_file, extra, where, words):
    text = tiny_spec(write_file).read_text()
    for key in ("levers:", "policy:", "unit:"):
        if extra.startswith(key):
            lines = text.splitlines()
            start = next(i for i, line in enumerate(lines) if line.startswith(key))
            end = start + 1
            while end < len(lines) and lines[end].startswith("  "):
                end += 1
            text = "\n".join([*lines[:start], *lines[end:]]) + "\n"
    path = write_file("bad.yaml", text + extra + "\n")
    with pytest.raises(sc.ScenarioError) as err:
        fr.load(path)
    text = str(err.value)
    assert "bad.yaml" in text and where in text and words in text, text


# ------------------------------------------------------------------ end to end
def test_a_tiny_frontier_writes_its_tables_and_figure(tmp_path, write_file):
    loaded = fr.load(tiny_spec(write_file))
    result = fr.run_frontier(loaded, tmp_path / "out")
    out = tmp_path / "out"
    assert result["runs"] == 4 * 2
    table = pd.read_csv(out / "frontier.csv")
    assert len(table) == 4 and (table.runs == 2).all()
    for m in ("trust", "benefit_gbp_per_year", "harm_gbp_per_year", "net_value_gbp_per_year"):
        assert (table[f"{m}_seed_p10"] <= table[f"{m}_mean"] + 1e-9).all()
        assert (table[f"{m}_mean"] <= table[f"{m}_seed_p90"] + 1e-9).all()
    assert not any(c.endswith("post_p10") for c in table.columns)  # no posterior given
    np.testing.assert_allclose(table.net_value_gbp_per_year_mean,
                               table.benefit_gbp_per_year_mean - table.harm_gbp_per_year_mean,
                               rtol=1e-9)
    points = table[["trust_mean", "net_value_gbp_per_year_mean"]].to_numpy()
    assert table.frontier_trust_net_value.tolist() == frontier.pareto_front(points).tolist()
    dom = pd.read_csv(out / "dominance.csv")
    assert set(dom.mix) == set(table.mix[~table.frontier_trust_net_value])
    assert dom.share_paired.between(0, 1).all() and (dom.pairs == 2).all()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["frontier"]["units"]["net_value_gbp_per_year"] == "GBP a year"
    assert manifest["frontier"]["spec_digest"] == loaded.spec.digest()
    assert "dirty" in manifest["trustsim"] or "commit" in manifest["trustsim"]
    assert (out / "frontier.png").stat().st_size > 10_000
    assert "benefit units" not in (out / "manifest.json").read_text()


def test_a_posterior_adds_bands_from_its_draws(tmp_path, write_file):
    folder = tmp_path / "posterior"
    folder.mkdir()
    pd.DataFrame({"params.gain_rate": [0.02, 0.08, 0.12],
                  "weight": [1.0, 1.0, 2.0]}).to_parquet(folder / "posterior.parquet")
    loaded = fr.load(tiny_spec(write_file))
    result = fr.run_frontier(loaded, tmp_path / "out", quick=True, posterior_folder=folder)
    assert result["runs"] <= 4 * 2 * 2  # quick: 2 draws x 2 seeds (equal draws share runs)
    table = pd.read_csv(tmp_path / "out" / "frontier.csv")
    assert (table.runs == 4).all()
    for m in ("trust", "net_value_gbp_per_year"):
        assert table[f"{m}_post_p10"].notna().all()
        assert (table[f"{m}_post_p10"] <= table[f"{m}_post_p90"]).all()
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    post = manifest["frontier"]["posterior"]
    assert post["draws"] == 2 and post["parameters"] == ["params.gain_rate"]
    runs = pd.read_parquet(tmp_path / "out" / "runs.parquet")
    assert sorted(runs.draw.unique()) == [0, 1]
    # a posterior naming a lever, or a path the scenario lacks, is refused by name
    pd.DataFrame({"programmes.nope.friction": [0.5]}).to_parquet(folder / "posterior.parquet")
    with pytest.raises(fr.FrontierUsageError, match="nope"):
        fr.run_frontier(loaded, tmp_path / "out2", posterior_folder=folder)


def test_resume_two_workers_and_dask_give_the_same_files(tmp_path, write_file):
    loaded = fr.load(tiny_spec(write_file))
    fr.run_frontier(loaded, tmp_path / "a", quick=True)
    again = fr.run_frontier(loaded, tmp_path / "a", quick=True)
    assert again["ran"] == 0 and again["skipped"] == again["runs"]
    fr.run_frontier(loaded, tmp_path / "b", quick=True, workers=2)
    for name in ("frontier.csv", "dominance.csv", "points.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "a" / "runs.parquet"),
                                  pd.read_parquet(tmp_path / "b" / "runs.parquet"))
    with pytest.raises(fr.FrontierUsageError, match="different frontier"):
        fr.run_frontier(loaded, tmp_path / "a")  # not --quick: another frontier
    pytest.importorskip("dask.distributed")
    fr.run_frontier(loaded, tmp_path / "c", quick=True, workers=2, scheduler="local")
    for name in ("frontier.csv", "dominance.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "c" / name).read_bytes()


def test_the_command_line(tmp_path, write_file, run_cli):
    spec = tiny_spec(write_file)
    done = run_cli("frontier", spec, "--out", tmp_path / "out", "--quick", "--quiet",
                   cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "mixes on the frontier of trust and net value" in done.stdout
    first = (tmp_path / "out" / "frontier.csv").read_bytes()
    done = run_cli("frontier", spec, "--out", tmp_path / "out", "--quick", "--quiet",
                   cwd=tmp_path)
    assert done.returncode == 0 and "(8 reused, 0 run now" in done.stdout
    assert (tmp_path / "out" / "frontier.csv").read_bytes() == first
    bad = write_file("bad.yaml", spec.read_text().replace("opt_in]", "opt_inn]"))
    done = run_cli("frontier", bad, "--out", tmp_path / "bad", "--quiet", cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "bad.yaml" in done.stderr and "levers.consent" in done.stderr
    done = run_cli("frontier", spec, "--out", tmp_path / "p", "--posterior", tmp_path / "none",
                   cwd=tmp_path)
    assert done.returncode == 2 and "no posterior here" in done.stderr
