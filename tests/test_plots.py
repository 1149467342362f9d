"""The figures and the HTML report of ``trustsim run``, ``compare`` and ``sweep``, in-process.

What a reader of a results folder relies on: lines are labelled in the scenario's words (the
agency's label, not ``dfe``), titles name the scenario, captions say what the band is and over
how many replicates, a flat series is not stretched into a crash (a minimum y span), lines that
coincide are named together rather than hidden, no label overlaps another, an index is never
drawn below 0, and ``report.html`` opens offline: every figure embedded, the summary table, the
scenario as written (escaped) and the provenance.
"""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import QuadMesh

from sim import html_report, plots
from sim import scenario as sc
from sim.sweeps import figures as sweep_figures

STEPS = 8
CHILD = """\
extends: baseline.yaml
name: little_world
description: >
  A small world for the figure tests, with <b>markup</b> & an "ampersand" to escape.
steps: 8
replicates: 2
timeline:
  - {type: scandal, step: 3, programme: gp_records, severity: 0.6, publicity: 0.9}
  - {type: breach, step: 4, programme: care_record, severity: 0.5, publicity: 0.9}
"""


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> tuple[Path, sc.Scenario]:
    folder = tmp_path_factory.mktemp("world")
    base = Path(__file__).resolve().parents[1] / "scenarios" / "baseline.yaml"
    (folder / "baseline.yaml").write_text(base.read_text(encoding="utf-8"), encoding="utf-8")
    (folder / "child.yaml").write_text(CHILD, encoding="utf-8")
    return folder, sc.load(folder / "child.yaml", ["population.size=300"])


@pytest.fixture(scope="module")
def runs(world, run_model) -> pd.DataFrame:
    """Two replicates of the little world, 300 citizens, 8 weeks."""
    _, scenario = world
    frames = [run_model(scenario.build(rng=seed, n_citizens=300, citizen_agents=False), STEPS)
              .assign(replicate=r) for r, seed in enumerate(scenario.replicate_seeds())]
    df = pd.concat(frames, ignore_index=True)
    return df[["replicate", *(c for c in df.columns if c != "replicate")]]


def texts(fig) -> list[str]:
    """Every text drawn in a figure: suptitle, caption, titles, labels, annotations."""
    found = [t.get_text() for t in fig.texts]
    if fig._suptitle is not None:
        found.append(fig._suptitle.get_text())
    for ax in fig.axes:
        found += [ax.get_title(), ax.get_title("left"), ax.get_ylabel(), ax.get_xlabel()]
        found += [t.get_text() for t in ax.texts]
        legend = ax.get_legend()
        if legend is not None:
            found += [t.get_text() for t in legend.get_texts()]
    for legend in fig.legends:
        found += [t.get_text() for t in legend.get_texts()]
    return found


def flat(text: list[str]) -> str:
    return " ".join(t.replace("\n", " ") for t in text)


def overlaps(boxes) -> list[tuple[int, int]]:
    return [(i, j) for i in range(len(boxes)) for j in range(i + 1, len(boxes))
            if boxes[i].overlaps(boxes[j])]


# ------------------------------------------------------------------------------ run figures
def test_lines_are_labelled_in_the_scenarios_words(runs, world):
    _, scenario = world
    about = plots.About.of(runs, scenario)
    trust = plots.trust_figure(runs, list(scenario.agencies), scenario.marks(), about)
    words = flat(texts(trust))
    for agency in scenario.agencies.values():
        assert agency.label and agency.label in words, agency.label
    labels = [t.get_text() for t in trust.axes[0].texts]
    assert not {"dfe", "cra", "hmrc", "nhs"} & set(labels)
    segments = flat(texts(plots.opt_out_figure(runs, scenario.marks(), about)))
    for segment in scenario.segments():
        assert segment.label in segments
    coverage = flat(texts(plots.coverage_figure(runs, scenario.marks(), about)))
    assert "GP records" in coverage and "VAT register" in coverage
    assert "coverage_gp_records" not in coverage


def test_titles_name_the_scenario_and_captions_say_what_the_band_is(runs, world, tmp_path):
    _, scenario = world
    written = plots.run_figures(runs, tmp_path, list(scenario.agencies), scenario.marks(),
                                scenario=scenario)
    assert [p.name for p in written] == ["trust.png", "opt_out.png", "coverage.png",
                                         "benefit.png"]
    about = plots.About.of(runs, scenario)
    for draw in (plots.opt_out_figure, plots.coverage_figure, plots.benefit_figure):
        fig = draw(runs, scenario.marks(), about)
        assert fig._suptitle.get_text().startswith("little_world:")
        caption = flat(texts(fig))
        assert "10th\u201390th percentile" in caption and "2 replicates" in caption
        assert "300 citizens" in caption


def test_benefit_axes_say_what_benefit_is(runs):
    fig = plots.benefit_figure(runs)
    ylabels = [ax.get_ylabel() for ax in fig.axes]
    assert all("model index, see docs/model.md" in y for y in ylabels), ylabels
    assert not any("benefit units" in y for y in ylabels)


def test_amounts_in_real_units_carry_their_unit_on_axes_and_in_the_report():
    """benefit.png adds a panel per real unit, whose axis names it; the report writes amounts
    with their unit; the indices stay indices."""
    df = _flat_runs()
    for column, level in (("benefit_a_gbp", 4e7), ("total_benefit_gbp", 4e7),
                          ("total_harm_gbp", 1e7), ("net_value_gbp", 3e7),
                          ("harm_b_staff_hours", 5.0), ("total_benefit_staff_hours", 0.0),
                          ("total_harm_staff_hours", 5.0), ("net_value_staff_hours", -5.0)):
        df[column] = level
    fig = plots.benefit_figure(df)
    ylabels = [ax.get_ylabel() for ax in fig.axes]
    assert ylabels[2:] == ["£ per week", "staff hours per week"], ylabels
    assert all("model index, see docs/model.md" in y for y in ylabels[:2]), ylabels
    assert "not money" in flat(texts(fig)) and "per week" in flat(texts(fig))
    assert plots.real_unit("service_benefit") is None
    assert plots.real_unit("public_benefit") is None
    assert plots.difference_unit("net_value_qaly") == "QALYs per week"
    assert plots.output_labels()["net_value_gbp"] == "Net value (benefit minus harm)"
    assert html_report.value("benefit_a_gbp", 42_237_820.4) == "£42,237,820"
    assert html_report.difference("net_value_qaly", -0.5) == "-0.5 QALYs"
    assert html_report.value("public_benefit", 1.18) == "1.1800"


def test_without_a_scenario_existing_callers_still_work(runs, tmp_path):
    written = plots.run_figures(runs, tmp_path, ["nhs", "dfe"])
    assert all(p.read_bytes().startswith(b"\x89PNG") for p in written)


def _flat_runs(value: float = 0.69277) -> pd.DataFrame:
    """Two replicates whose every output barely moves (by 1e-5)."""
    rows = []
    for r in range(2):
        for step in range(STEPS + 1):
            wiggle = 1e-5 * ((step + r) % 3)
            rows.append({"replicate": r, "step": step, "trust_mean": 0.33 + wiggle,
                         "opt_out_rate": 0.03 + wiggle, "data_coverage": value + wiggle,
                         "service_benefit": 0.128 + wiggle, "public_benefit": 1.18 + wiggle,
                         "trust_nhs": 0.74 + wiggle, "coverage_a": value + wiggle,
                         "coverage_b": value + wiggle, "coverage_c": value + wiggle,
                         "opt_out_sceptics": 0.2 + wiggle})
    return pd.DataFrame(rows)


def test_a_flat_series_gets_at_least_the_minimum_y_span():
    df = _flat_runs()
    for fig in (plots.coverage_figure(df), plots.trust_figure(df, ["nhs"]),
                plots.opt_out_figure(df)):
        lo, hi = fig.axes[0].get_ylim()
        assert hi - lo >= plots.MIN_SPAN - 1e-9
    for ax in plots.benefit_figure(df).axes:
        lo, hi = ax.get_ylim()
        assert hi - lo >= plots.REL_SPAN * max(abs(lo), abs(hi)) * 0.9


def test_limits_keep_a_minimum_span_and_stay_within_bounds():
    lo, hi = plots.limits([np.array([0.69274, 0.69280])], min_span=0.1, base=None, floor=0.0,
                          ceiling=1.0)
    assert hi - lo >= 0.1 and lo <= 0.69274 and hi >= 0.69280
    lo, hi = plots.limits([np.array([0.0, 0.001])], min_span=0.1, base=None, floor=0.0)
    assert lo == 0.0 and hi >= 0.1  # a share near 0 does not go below 0
    lo, hi = plots.limits([np.array([0.97, 0.99])], min_span=0.1, base=None, floor=0.0,
                          ceiling=1.0)
    assert hi <= 1.03 and hi - lo >= 0.1
    lo, hi = plots.limits([np.array([-1e-4, -2e-4])], min_span=0.02, base=None, zero=True)
    assert lo < -2e-4 and hi >= 0 and hi - lo >= 0.02


def test_coinciding_lines_share_one_label_that_names_them_all():
    df = _flat_runs()
    fig = plots.coverage_figure(df, about=plots.About("flat", 2, None, {
        "coverage_a": "Alpha", "coverage_b": "Beta", "coverage_c": "Gamma"}))
    labels = [t.get_text().replace("\n", " ") for t in fig.axes[0].texts]
    together = [t for t in labels if "Alpha" in t]
    assert together and "Beta" in together[0] and "Gamma" in together[0]
    assert "(identical)" in together[0] or "(lines overlap)" in together[0]


def test_no_label_overlaps_another(runs, world):
    _, scenario = world
    about = plots.About.of(runs, scenario)
    marks = [*scenario.marks(), (4, "policy"), (5, "opt out deadline")]
    for fig in (plots.trust_figure(runs, list(scenario.agencies), marks, about),
                plots.opt_out_figure(runs, marks, about)):
        renderer = fig.canvas.get_renderer()
        ax = fig.axes[0]
        ends = [t.get_window_extent(renderer) for t in ax.texts if t.get_rotation() == 0]
        events = [t.get_window_extent(renderer) for t in ax.texts if t.get_rotation() == 90]
        assert len(ends) >= 3 and events
        assert not overlaps(ends), "line-end labels overlap"
        assert not overlaps(events), "event labels overlap"


# ------------------------------------------------------------------------------ compare
@pytest.fixture(scope="module")
def comparison(runs, world):
    """The little world against a copy of itself with the scandal removed."""
    _, scenario = world
    calm = scenario.model_copy(update={"name": "calm", "timeline": []})
    names = {"little_world": scenario, "calm": calm}
    other = runs.copy()
    other["trust_mean"] = other["trust_mean"] + 0.01
    df = pd.concat([runs.assign(scenario="little_world"), other.assign(scenario="calm")],
                   ignore_index=True)
    df = df[["scenario", *(c for c in df.columns if c != "scenario")]]
    from sim import report

    return df, report.difference_frame(df, "little_world"), names


def test_compare_figure_names_the_scenarios_and_keeps_a_minimum_span(comparison, tmp_path,
                                                                      monkeypatch):
    from sim import report

    df, diff, names = comparison
    path = plots.compare_figure(df, diff, "little_world", tmp_path / "c.png", scenarios=names)
    assert path.read_bytes().startswith(b"\x89PNG")
    drawn = []
    monkeypatch.setattr(plots, "save", lambda fig, path: drawn.append(fig) or path)
    plots.compare_figure(df, diff, "little_world", tmp_path / "c.png", scenarios=names)
    words = flat(texts(drawn[-1]))
    assert drawn[-1]._suptitle.get_text() == "calm compared with little_world"
    assert "little_world (reference)" in words and "2 replicates" in words
    assert "paired replicate by replicate" in words
    flat_df = pd.concat([_flat_runs().assign(scenario=n) for n in ("a", "b")], ignore_index=True)
    plots.compare_figure(flat_df, report.difference_frame(flat_df, "a"), "a", tmp_path / "f.png")
    axes = np.array(drawn[-1].axes).reshape(2, len(plots.COMPARED))
    for j, (column, _) in enumerate(plots.COMPARED):
        (lo, hi), (dlo, dhi) = axes[0, j].get_ylim(), axes[1, j].get_ylim()
        if plots.is_share(column):
            assert hi - lo >= plots.MIN_SPAN - 1e-9, column
            assert dhi - dlo >= plots.MIN_DIFF_SPAN - 1e-9, column
        else:
            assert hi - lo >= plots.REL_SPAN * 0.1, column
        assert dlo <= 0 <= dhi


def test_compare_marks_name_the_scenario_an_event_belongs_to(comparison):
    _, _, names = comparison
    marks = plots.compare_marks(names)
    assert (3, "scandal (little_world)") in marks


# ------------------------------------------------------------------------------ report.html
def _manifest(folder: Path, names: dict[str, sc.Scenario], world_folder: Path) -> dict:
    files = {n: {str(world_folder / "child.yaml"): "0" * 64} for n in names}
    return {"trustsim": {"version": "0.1.0", "commit": "a" * 40, "dirty": False},
            "python": "3.11", "platform": "test", "packages": {"numpy": "2"},
            "command": ["trustsim", "run", "child.yaml"], "scenario_files": files,
            "seed": {"entropy": 7, "replicates": 2, "replicate_seeds": "spawn"},
            "citizens": 300, "steps": STEPS, "workers": 1, "started": "s", "finished": "f"}


def _sources(page: str) -> list[str]:
    return re.findall(r"""\ssrc\s*=\s*["']?([^"'\s>]+)""", page, flags=re.IGNORECASE)


def test_run_report_is_self_contained_with_table_figures_scenario_and_provenance(
        runs, world, tmp_path):
    folder, scenario = world
    drawn = plots.run_figures(runs, tmp_path, list(scenario.agencies), scenario.marks(),
                              scenario=scenario)
    (tmp_path / "manifest.json").write_text(json.dumps(_manifest(
        tmp_path, {scenario.name: scenario}, folder)))
    key = [0, 3, 4, STEPS]
    path = html_report.write_run_report(tmp_path, runs, scenario, key, drawn)
    page = path.read_text(encoding="utf-8")
    assert path.name == "report.html" and page.startswith("<!doctype html>")
    # offline: every source is embedded, nothing is fetched, no script
    sources = _sources(page)
    assert len(sources) == len(drawn) == 4
    assert all(s.startswith("data:image/png;base64,") for s in sources)
    assert not re.search(r"""src\s*=\s*["']?(https?:)?//""", page, flags=re.IGNORECASE)
    assert "<script" not in page.lower() and "<link" not in page.lower()
    for p in drawn:  # each figure, byte for byte
        assert base64.b64encode(p.read_bytes()).decode() in page
    # name, description (escaped), summary table with the key weeks and the band
    assert "<h1>little_world</h1>" in page
    assert "&lt;b&gt;markup&lt;/b&gt; &amp; an &quot;ampersand&quot;" in page
    assert "<b>markup</b>" not in page
    assert "<table class=summary>" in page
    for step in key:
        assert f"week {step}" in page
    assert "week 3: scandal" in page
    mean = runs.loc[runs.step == STEPS, "trust_mean"].mean()
    assert f"{mean:.3f}" in page
    # the scenario as written, escaped, and provenance
    assert "extends: baseline.yaml" in page
    assert "&lt;b&gt;markup&lt;/b&gt;" in page.split("Scenario as written")[1]
    assert "a" * 40 in page and "(clean)" in page and "trustsim run child.yaml" in page
    assert "has changed since the run read it" in page  # the recorded hash is not the file's


def test_compare_report_has_the_paired_differences(comparison, world, tmp_path):
    df, diff, names = comparison
    folder, _ = world
    drawn = plots.compare_figure(df, diff, "little_world", tmp_path / "comparison.png",
                                 scenarios=names)
    manifest = _manifest(tmp_path, names, folder)
    path = html_report.write_compare_report(tmp_path, df, names, "little_world", [0, 3, STEPS],
                                            [drawn], manifest)
    page = path.read_text(encoding="utf-8")
    assert all(s.startswith("data:image/png;base64,") for s in _sources(page))
    assert len(_sources(page)) == 1
    assert "calm minus little_world" in page and "<table class=comparison>" in page
    assert "+0.010" in page  # the paired difference in general trust, every week
    assert "little_world (reference)" in page


def test_paired_difference_interval_is_a_t_interval():
    df = pd.DataFrame({"scenario": ["r"] * 3 + ["o"] * 3, "replicate": [0, 1, 2] * 2,
                       "step": [1] * 6, "x": [1.0, 2.0, 3.0, 1.5, 2.0, 3.9]})
    mean, lo, hi, n = html_report.paired(df, "o", "r", "x", 1)
    d = np.array([0.5, 0.0, 0.9])
    assert n == 3 and mean == pytest.approx(d.mean())
    from scipy import stats

    half = stats.t.ppf(0.975, 2) * d.std(ddof=1) / np.sqrt(3)
    assert (lo, hi) == pytest.approx((d.mean() - half, d.mean() + half))


# ------------------------------------------------------------------------------ sweep figures
def _indices(method: str) -> pd.DataFrame:
    """Indices with estimates and intervals that dip below 0, as small samples give."""
    rng = np.random.default_rng(3)
    rows = []
    for output in ("trust_mean", "opt_out_rate"):
        for step in (0, 4, 8, 9):
            for p in ("params.gain_rate", "params.drift", "params.trust_weight", "dummy"):
                v = rng.uniform(-0.05, 0.4)
                conf = rng.uniform(0.05, 0.5)
                if method == "sobol":
                    rows.append({"output": output, "step": step, "parameter": p, "S1": v - 0.1,
                                 "S1_conf": conf, "ST": v, "ST_conf": conf})
                else:
                    rows.append({"output": output, "step": step, "parameter": p, "mu": -v,
                                 "mu_star": abs(v), "mu_star_conf": conf, "sigma": conf})
    return pd.DataFrame(rows)


@pytest.mark.parametrize("method", ["morris", "sobol"])
def test_sweep_indices_are_never_drawn_below_zero(method, tmp_path, monkeypatch):
    drawn = []
    monkeypatch.setattr(sweep_figures, "save", lambda fig, path: drawn.append(fig) or path)
    idx = _indices(method)
    sweep_figures.indices_over_time(idx, method, tmp_path / "i.png", name="little_sweep",
                                    about="N = 4.")
    fig = drawn[-1]
    assert fig._suptitle.get_text().startswith("little_sweep:")
    meshes = [c for ax in fig.axes for c in ax.collections if isinstance(c, QuadMesh)]
    assert meshes and all(float(np.ma.min(m.get_array())) >= 0 for m in meshes)
    assert all(m.norm.vmin == 0 for m in meshes)
    conv = idx.assign(n=idx.step.map({0: 2, 4: 4, 8: 8, 9: 16}), runs=1)
    sweep_figures.convergence_figure(conv, method, tmp_path / "c.png", name="little_sweep")
    fig = drawn[-1]
    for ax in fig.axes:
        if not ax.get_visible():
            continue
        assert ax.get_ylim()[0] == 0
        for line in ax.lines:
            y = np.asarray(line.get_ydata(), dtype=float)
            assert (y[np.isfinite(y)] >= 0).all()
        for coll in ax.collections:  # error bars
            for seg in coll.get_segments():
                assert (np.asarray(seg)[:, 1] >= 0).all()


def test_sweep_heat_map_ranks_parameters_and_keeps_the_dummy_last(tmp_path, monkeypatch):
    drawn = []
    monkeypatch.setattr(sweep_figures, "save", lambda fig, path: drawn.append(fig) or path)
    idx = _indices("morris")
    idx.loc[idx.parameter == "params.drift", "mu_star"] = 5.0
    sweep_figures.indices_over_time(idx, "morris", tmp_path / "i.png")
    ticks = [t.get_text() for t in drawn[-1].axes[0].get_yticklabels()]
    assert ticks[0] == "params.drift" and ticks[-1] == "dummy (noise floor)"
    noise = pd.DataFrame({"output": ["trust_mean"] * 3 + ["opt_out_rate"] * 3,
                          "step": [0, 4, 8] * 2, "seed_share": [1.0, 0.5, 0.2] * 2,
                          "within_var": 1.0, "total_var": 1.0})
    sweep_figures.noise_figure(noise, tmp_path / "n.png", name="little_sweep")
    words = flat(texts(drawn[-1]))
    assert "General trust in public-sector data use and Opted out" in words  # identical lines
