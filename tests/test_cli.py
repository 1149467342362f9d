"""The trustsim command end to end, through a real subprocess."""

import subprocess
import sys

import pandas as pd


def trustsim(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "sim.cli", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=300)


def test_run_writes_timeseries_and_figures(tmp_path):
    out = tmp_path / "res"
    r = trustsim("run", "--out", str(out), "--citizens", "600", "--steps", "8",
                 "--replicates", "2", "--seed", "3")
    assert r.returncode == 0, r.stderr
    df = pd.read_csv(out / "timeseries.csv")
    assert sorted(df.replicate.unique()) == [0, 1]
    assert df.groupby("replicate").step.max().eq(8).all()
    for name in ("trust.png", "opt_out.png", "coverage.png", "benefit.png"):
        assert (out / name).stat().st_size > 10_000
    assert [p.name for p in tmp_path.iterdir()] == ["res"]  # no temporary folder left

    again = trustsim("run", "--out", str(out), "--citizens", "600", "--steps", "8",
                     "--replicates", "2", "--seed", "3", "--force")
    assert again.returncode == 0, again.stderr
    pd.testing.assert_frame_equal(df, pd.read_csv(out / "timeseries.csv"))


def test_existing_results_are_not_overwritten_without_force(tmp_path):
    out = tmp_path / "res"
    out.mkdir()
    (out / "keep.txt").write_text("precious")
    r = trustsim("run", "--out", str(out), "--citizens", "100", "--steps", "2")
    assert r.returncode == 2
    assert "exists" in r.stderr and "--force" in r.stderr and "Traceback" not in r.stderr
    assert (out / "keep.txt").read_text() == "precious"


def test_bad_numbers_exit_2_without_traceback(tmp_path):
    for args in (["--citizens", "0"], ["--steps", "-3"], ["--citizens", "many"]):
        r = trustsim("run", "--out", str(tmp_path / "x"), *args)
        assert r.returncode == 2, args
        assert "Traceback" not in r.stderr and "--" in r.stderr
