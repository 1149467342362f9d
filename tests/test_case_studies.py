"""The case-study set: each case on its own timeline, one table row each, one figure, and the
script that writes them refuses bad input cleanly (the script's tests are integration tests: they
run it as a process)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from sim import case_studies, plots

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = "experiments/case_studies.py"


@pytest.fixture(scope="module")
def runs():
    scenarios = case_studies.load()
    return scenarios, case_studies.run(scenarios, citizens=400, replicates=2)


def test_each_case_runs_its_own_file_for_its_own_weeks(runs):
    scenarios, df = runs
    assert list(df.columns[:3]) == ["scenario", "replicate", "step"]
    assert list(df.scenario.unique()) == [c.name for c in case_studies.CASES]
    for name, s in scenarios.items():
        sub = df[df.scenario == name]
        assert sub.step.max() == s.steps and sorted(sub.replicate.unique()) == [0, 1]
    # an output a case does not have is empty in its rows, not zero
    assert df.loc[df.scenario == "gp_records", "trust_deepmind"].isna().all()
    assert df.loc[df.scenario == "royal_free_deepmind", "trust_deepmind"].notna().all()


def test_a_case_has_the_numbers_of_trustsim_run(runs):
    from sim import runner

    scenarios, df = runs
    s = scenarios["gp_records"]
    alone = runner.run_tasks(runner.tasks(s, 400, s.steps, 2, s.seed))[1]
    mine = df[(df.scenario == "gp_records") & (df.replicate == 1)].drop(columns="scenario")
    mine = mine.dropna(axis=1, how="all").reset_index(drop=True)
    assert np.array_equal(mine[alone.columns].to_numpy(), alone.to_numpy())


def test_summary_reads_start_extremes_and_end_of_the_story(runs):
    _, df = runs
    table = case_studies.summary(df)
    assert list(table.index) == [c.name for c in case_studies.CASES]
    for case in case_studies.CASES:
        mean = df[df.scenario == case.name].groupby("step")[case.story].mean()
        row = table.loc[case.name]
        assert row.story_output == case.story and row.weeks == mean.index.max()
        assert (row.story_start, row.story_end) == (mean.iloc[0], mean.iloc[-1])
        assert row.story_min == mean.min() <= row.story_end <= row.story_max == mean.max()
    # the stories of the files: the GP notice drives opt-outs up, the pupil database scandals
    # cost the DfE trust, the Troubled Families evaluation moves public benefit
    assert table.loc["gp_records", "opt_out_end"] > table.loc["gp_records", "opt_out_start"]
    assert table.loc["national_pupil_database", "story_min"] < table.loc[
        "national_pupil_database", "story_start"]
    assert table.loc["troubled_families", "story_min"] < table.loc[
        "troubled_families", "story_max"]


def test_figure_has_a_column_per_case_with_shared_trust_and_opt_out_scales(runs, tmp_path):
    scenarios, df = runs
    fig = plots.case_studies_figure(df, case_studies.CASES,
                                    {n: s.marks() for n, s in scenarios.items()})
    axes = np.array(fig.axes).reshape(3, len(case_studies.CASES))
    for row in axes[:2]:
        assert len({ax.get_ylim() for ax in row}) == 1
    assert axes[1, 0].get_ylim()[0] == 0
    assert [ax.get_title() for ax in axes[0]] == [c.title for c in case_studies.CASES]
    path = plots.save(fig, tmp_path / "cases.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.integration
def test_script_refuses_an_existing_folder_and_bad_sizes(tmp_path, run_script):
    out = tmp_path / "cases"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    done = run_script(SCRIPT, "--out", out, "--citizens", "300", "--replicates", "1", "--force")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "not a trustsim results folder" in done.stderr
    assert (out / "keep.txt").read_text() == "mine"
    done = run_script(SCRIPT, "--out", tmp_path / "x", "--citizens", "0")
    assert done.returncode == 2 and "--citizens" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "x").exists()


@pytest.mark.integration
def test_script_stopped_by_sigterm_leaves_no_folder_behind(tmp_path, trustsim_env, wait_for):
    out = tmp_path / "cases"
    proc = subprocess.Popen([sys.executable, str(ROOT / SCRIPT), "--out", str(out),
                             "--citizens", "50000", "--quiet"], cwd=ROOT, env=trustsim_env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:  # until it has started writing
        wait_for(lambda: list(tmp_path.glob(".cases.partial-*")), "partial folder", proc=proc)
    except BaseException:
        proc.kill()
        proc.communicate()
        raise
    time.sleep(1.0)  # and is running replicates (its kernels loaded from numba's cache)
    proc.send_signal(signal.SIGTERM)
    out_, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, (proc.returncode, out_, err)
    assert "interrupted" in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []
