"""The ``trustsim`` command line end to end, through a real subprocess (``python -m sim.cli``).

What a user of the command relies on: ``run`` writes a tidy time series, a summary, a manifest
that is enough to repeat the run, and figures; the numbers do not depend on ``--workers``; results
appear all at once or not at all (an existing folder survives without ``--force``, an interrupted
run leaves nothing); ``validate``, ``compare`` and ``schema`` do what they say; and bad input of
every kind ends with exit status 2 and one paragraph naming the file, the field and what is
allowed, never a traceback, and writes nothing.

Sizes are small (hundreds of citizens, a few weeks) so the file runs in well under two minutes;
the bad-input cases run a few processes at a time.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import re
import select
import shlex
import shutil
import signal
import stat
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import pandas as pd
import psutil
import pytest

import sim
from sim import scenario as sc

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / "scenarios" / "baseline.yaml"
TIMEOUT = 180  # seconds for any one command: a hung command fails the test instead of CI
PNG = b"\x89PNG\r\n\x1a\n"
FIGURES = ("trust.png", "opt_out.png", "coverage.png", "benefit.png")


def listing(folder: Path) -> dict[str, bytes | None]:
    """Everything under ``folder`` (hidden entries too), with file contents."""
    return {str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else None)
            for p in sorted(folder.rglob("*"))}


def hidden(folder: Path) -> list[str]:
    """Temporary or half-written entries beside a results folder (``.NAME.partial-*`` etc.)."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def child_yaml(name: str = "child", steps: int = 12, timeline: str = "") -> str:
    """A scenario extending the baseline, with a scandal at ``step 6`` unless told otherwise."""
    timeline = timeline or ("timeline:\n"
                            "  - {type: scandal, step: 6, programme: gp_records, severity: 0.6, "
                            "publicity: 0.9}\n")
    return (f"# a test scenario\nextends: baseline.yaml\nname: {name}\nsteps: {steps}\n"
            f"replicates: 3\n{timeline}")


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    """A folder with a copy of the baseline and a scenario that extends it."""
    folder = tmp_path_factory.mktemp("world")
    shutil.copy(BASELINE, folder / "baseline.yaml")
    (folder / "child.yaml").write_text(child_yaml(), encoding="utf-8")
    return folder


RUN_ARGS = ("--citizens", "800", "--steps", "12", "--replicates", "2", "--seed", "7", "--quiet",
            "--set", "programmes.gp_records.publicity=0.5")


@pytest.fixture(scope="module")
def run_w1(world, run_cli):
    r = run_cli("run", "child.yaml", "--out", "w1", "--workers", "1", *RUN_ARGS, cwd=world)
    assert r.returncode == 0, r.stderr
    return r, world / "w1"


# ------------------------------------------------------------------------------ run
def test_run_writes_a_tidy_time_series(run_w1):
    _, out = run_w1
    df = pd.read_csv(out / "timeseries.csv")
    assert list(df.columns[:2]) == ["replicate", "step"]
    assert sorted(df.replicate.unique()) == [0, 1]
    for _, group in df.groupby("replicate"):
        assert group.step.tolist() == list(range(13))  # the initial state and 12 weeks
    agencies = [a.name for a in sc.load(BASELINE).agencies.values()]
    for col in ("trust_mean", "opt_out_rate", "data_coverage", "service_benefit",
                "public_benefit", *(f"trust_{a}" for a in agencies)):
        assert col in df.columns, col
    assert not df.isna().any().any()
    # replicates run on different seeds: their trajectories differ
    ends = df[df.step == 12].set_index("replicate").trust_mean
    assert ends[0] != ends[1]


def test_run_summary_gives_end_and_key_steps_with_a_band(run_w1):
    _, out = run_w1
    df = pd.read_csv(out / "timeseries.csv")
    summary = json.loads((out / "summary.json").read_text())
    assert summary["scenario"] == "child" and summary["replicates"] == 2
    assert {0, 6, 12} <= set(summary["key_steps"])  # start, the scandal, the end
    outputs = [c for c in df.columns if c not in ("replicate", "step")]
    assert set(summary["outputs"]) == set(outputs)
    for col in outputs:
        entry = summary["outputs"][col]
        assert set(entry["steps"]) == {str(s) for s in summary["key_steps"]}
        for band in (entry["end"], *entry["steps"].values()):
            assert set(band) == {"mean", "p10", "p90"}
            assert band["p10"] <= band["mean"] + 1e-12 and band["mean"] <= band["p90"] + 1e-12
    last = df[df.step == 12].trust_mean  # summary.json has 6 significant digits
    assert summary["outputs"]["trust_mean"]["end"]["mean"] == pytest.approx(last.mean(), rel=1e-5)
    assert summary["outputs"]["trust_mean"]["end"]["p90"] == pytest.approx(last.quantile(0.9),
                                                                           rel=1e-5)
    at6 = df[df.step == 6].opt_out_rate.mean()
    assert summary["outputs"]["opt_out_rate"]["steps"]["6"]["mean"] == pytest.approx(at6, rel=1e-5)


def test_run_manifest_records_code_environment_inputs_seed_and_timing(run_w1, world):
    _, out = run_w1
    m = json.loads((out / "manifest.json").read_text())
    assert m["trustsim"]["version"] == sim.__version__
    assert re.fullmatch(r"[0-9a-f]{40}", m["trustsim"]["commit"] or ""), m["trustsim"]
    assert isinstance(m["trustsim"]["dirty"], bool)
    for package in ("numpy", "pandas", "pydantic", "mesa"):
        assert m["packages"][package] == importlib.metadata.version(package)
    assert m["python"] == sys.version
    assert m["platform"]
    # the file and every file it extends, each with its SHA-256
    files = m["scenario_files"]["child"]
    digests = {Path(path).name: digest for path, digest in files.items()}
    assert digests == {name: hashlib.sha256((world / name).read_bytes()).hexdigest()
                       for name in ("child.yaml", "baseline.yaml")}
    # the resolved scenario, --set included, is enough to rebuild exactly what ran
    resolved = m["scenarios"]["child"]
    assert resolved["programmes"]["gp_records"]["publicity"] == 0.5  # the file says 0.9
    assert resolved["timeline"][0]["type"] == "scandal"
    # ... with the command line's run settings written into it
    expected = sc.load(world / "child.yaml", [
        "programmes.gp_records.publicity=0.5", "population.size=800", "steps=12",
        "replicates=2", "seed=7"])
    assert sc.Scenario.model_validate(resolved).digest() == expected.digest()
    assert m["seed"]["entropy"] == 7 and m["seed"]["replicates"] == 2
    assert (m["citizens"], m["steps"], m["workers"]) == (800, 12, 1)
    assert m["command"][:2] == ["trustsim", "run"]
    assert "programmes.gp_records.publicity=0.5" in m["command"]
    started = datetime.fromisoformat(m["started"])
    finished = datetime.fromisoformat(m["finished"])
    assert started.tzinfo is not None and started <= finished


def test_run_draws_the_figures(run_w1):
    _, out = run_w1
    for name in FIGURES:
        data = (out / name).read_bytes()
        assert data.startswith(PNG) and len(data) > 10_000, name


def test_run_writes_the_outputs_by_region_and_group(run_w1):
    _, out = run_w1
    ts = pd.read_csv(out / "timeseries.csv")
    regions = pd.read_csv(out / "regions.csv")
    assert list(regions.columns[:5]) == ["replicate", "step", "region", "opt_out_rate",
                                         "trust_mean"]
    by = regions.groupby(["region", "step"])["opt_out_rate"].mean().unstack()
    assert len(by) == 12 and by.shape[1] == ts.step.nunique()
    groups = pd.read_csv(out / "groups.csv")
    assert set(groups.group_kind) == {"region", "sex", "age_band", "deprivation"}
    assert (groups.region.notna() == (groups.group_kind == "region")).all()
    assert (out / "regions.png").read_bytes().startswith(PNG)


def test_results_are_ordinary_files_not_private_temporaries(run_w1):
    """Files written atomically start as private temporaries; they end as any file would."""
    _, out = run_w1
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(out.stat().st_mode) == 0o777 & ~mask
    for path in out.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~mask, path.name


def test_run_reports_on_stdout_and_leaves_no_temporary_folder(run_w1, world):
    result, out = run_w1
    assert str(out.name) in result.stdout and "child" in result.stdout
    assert result.stderr == ""  # --quiet, and no terminal anyway
    assert hidden(world) == []
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["timeseries.csv", "summary.json", "summary.csv", "incidents.csv", "manifest.json",
         "groups.csv", "regions.csv", "regions.png", "report.html", *FIGURES])


def test_one_and_two_workers_write_byte_identical_time_series(run_w1, world, run_cli):
    r = run_cli("run", "child.yaml", "--out", "w2", "--workers", "2", *RUN_ARGS, cwd=world)
    assert r.returncode == 0, r.stderr
    assert (world / "w2" / "timeseries.csv").read_bytes() == \
        (run_w1[1] / "timeseries.csv").read_bytes()
    assert json.loads((world / "w2" / "manifest.json").read_text())["workers"] == 2


def test_parquet_holds_the_same_numbers(run_w1, world, run_cli):
    r = run_cli("run", "child.yaml", "--out", "pq", "--format", "parquet", *RUN_ARGS, cwd=world)
    assert r.returncode == 0, r.stderr
    assert not (world / "pq" / "timeseries.csv").exists()
    parquet = pd.read_parquet(world / "pq" / "timeseries.parquet")
    csv = pd.read_csv(run_w1[1] / "timeseries.csv")
    pd.testing.assert_frame_equal(parquet, csv, check_dtype=False, rtol=1e-12)


def _on_a_terminal(args: list[str], cwd: Path, env: dict[str, str]) -> tuple[int, bytes]:
    """Run with stderr on a pseudo-terminal (100 columns); return exit status and its bytes."""
    import fcntl
    import pty
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    proc = subprocess.Popen([sys.executable, "-m", "sim.cli", *args], cwd=cwd, env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=slave)
    os.close(slave)
    chunks, deadline = [], time.monotonic() + TIMEOUT
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 1.0)
            if ready:
                try:
                    data = os.read(master, 65536)
                except OSError:  # the child closed the terminal
                    break
                if not data:
                    break
                chunks.append(data)
            elif proc.poll() is not None:
                break
        return proc.wait(timeout=TIMEOUT), b"".join(chunks)
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)


@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")
def test_progress_bar_only_on_a_terminal_and_never_with_quiet(scenario_dir, run_cli,
                                                              trustsim_env):
    small = ["baseline.yaml", "--citizens", "600", "--steps", "4", "--replicates", "3"]
    with ThreadPoolExecutor(max_workers=3) as pool:
        bar = pool.submit(_on_a_terminal, ["run", *small, "--out", "bar"], scenario_dir,
                          trustsim_env)
        quiet = pool.submit(_on_a_terminal, ["run", *small, "--out", "quiet", "--quiet"],
                            scenario_dir, trustsim_env)
        piped = pool.submit(run_cli, "run", *small, "--out", "piped", cwd=scenario_dir)
        (status, shown), (quiet_status, quiet_shown) = bar.result(), quiet.result()
        piped = piped.result()  # no terminal, no --quiet
    assert status == 0, shown
    assert b"3/3" in shown or b"%|" in shown, shown  # the bar, so the checks below can fail
    assert quiet_status == 0, quiet_shown
    assert b"%|" not in quiet_shown and b"/3" not in quiet_shown, quiet_shown
    assert b"run/s" not in quiet_shown, quiet_shown
    assert piped.returncode == 0, piped.stderr
    assert piped.stderr == ""


def test_existing_results_survive_without_force_and_are_replaced_with_it(scenario_dir, run_cli):
    out = scenario_dir / "res"
    out.mkdir()
    (out / "keep.txt").write_text("precious")
    small = ("baseline.yaml", "--out", "res", "--citizens", "600", "--steps", "4",
             "--replicates", "2", "--quiet")
    for extra in ((), ("--force",)):  # not results: refused even with --force
        refused = run_cli("run", *small, *extra, cwd=scenario_dir)
        assert refused.returncode == 2
        assert "res" in refused.stderr and "Traceback" not in refused.stderr
        assert ("manifest.json" if extra else "--force") in refused.stderr
        assert listing(out) == {"keep.txt": b"precious"}
        assert hidden(scenario_dir) == []

    (out / "keep.txt").unlink()
    first = run_cli("run", *small, cwd=scenario_dir)
    assert first.returncode == 2  # empty but existing: still needs --force
    out.rmdir()
    assert run_cli("run", *small, cwd=scenario_dir).returncode == 0
    (out / "extra.txt").write_text("from the first run")
    again = run_cli("run", *small, cwd=scenario_dir)
    assert again.returncode == 2 and "--force" in again.stderr
    forced = run_cli("run", *small, "--force", cwd=scenario_dir)
    assert forced.returncode == 0, forced.stderr
    assert not (out / "extra.txt").exists()  # earlier results replaced whole
    assert (out / "timeseries.csv").exists() and (out / "manifest.json").exists()
    assert hidden(scenario_dir) == []


@pytest.mark.parametrize(("signame", "whole_group", "workers", "existing"), [
    ("SIGINT", True, 1, False),    # Ctrl-C in a terminal: the whole process group
    ("SIGTERM", False, 2, False),  # kill PID, a job scheduler's time limit: the main process
    ("SIGTERM", False, 1, True),   # ... during a --force run: the old results survive
])
def test_an_interrupted_run_leaves_no_results(scenario_dir, trustsim_env, wait_for, signame,
                                              whole_group, workers, existing):
    out = scenario_dir / "res"
    if existing:  # earlier results, as a run leaves them
        out.mkdir()
        (out / "manifest.json").write_text("{}")
        (out / "keep.txt").write_text("old results")
    before = listing(out) if existing else None
    args = ["run", "baseline.yaml", "--out", "res", "--citizens", "200000", "--steps", "400",
            "--replicates", "4", "--workers", str(workers), "--quiet",
            *(["--force"] if existing else [])]
    proc = subprocess.Popen([sys.executable, "-m", "sim.cli", *args], cwd=scenario_dir,
                            env=trustsim_env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        wait_for(lambda: any(p.name.startswith(".res.partial") for p in scenario_dir.iterdir()),
                 ".res.partial folder", timeout=60, proc=proc)
        time.sleep(0.5)  # into the replicates
        children = psutil.Process(proc.pid).children(recursive=True)
        while workers > 1 and not children and time.monotonic() < deadline:
            time.sleep(0.05)
            children = psutil.Process(proc.pid).children(recursive=True)
        assert children or workers == 1, "no worker processes to check"
        assert proc.poll() is None, "the run finished before it could be interrupted"
        sig = getattr(signal, signame)
        if whole_group:
            os.killpg(proc.pid, sig)
        else:
            proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 128 + getattr(signal, signame), (proc.returncode, err)
    assert "Traceback" not in err, err
    assert "interrupted" in err
    if existing:
        assert listing(out) == before
    else:
        assert not out.exists()
    assert hidden(scenario_dir) == []
    _, alive = psutil.wait_procs(children, timeout=10)
    assert alive == [], f"worker processes outlived the run: {alive}"


# ------------------------------------------------------------------------------ compare
@pytest.fixture(scope="module")
def comparison(tmp_path_factory, run_cli):
    """A reference, an identical copy of it under another file name, and the reference with a
    late scandal (step 10 of 16), compared on common random numbers."""
    folder = tmp_path_factory.mktemp("compare")
    shutil.copy(BASELINE, folder / "baseline.yaml")
    ref = child_yaml("ref", steps=16, timeline="timeline: []\n")
    (folder / "ref.yaml").write_text(ref, encoding="utf-8")
    (folder / "copy.yaml").write_text(ref, encoding="utf-8")
    (folder / "late.yaml").write_text(child_yaml("late", steps=16, timeline=(
        "timeline:\n  - {type: scandal, step: 10, programme: gp_records, severity: 0.8, "
        "publicity: 1.0}\n")), encoding="utf-8")
    r = run_cli("compare", "ref.yaml", "copy.yaml", "late.yaml", "--out", "cmp",
                "--citizens", "800", "--replicates", "3", "--quiet", cwd=folder)
    assert r.returncode == 0, r.stderr
    return folder, folder / "cmp"


def test_compare_writes_its_outputs(comparison):
    folder, out = comparison
    assert sorted(p.name for p in out.iterdir()) == [
        "comparison.json", "comparison.png", "incidents.csv", "manifest.json", "report.html",
        "summary.csv", "timeseries.csv"]
    assert (out / "comparison.png").read_bytes().startswith(PNG)
    assert hidden(folder) == []
    result = json.loads((out / "comparison.json").read_text())
    names = result["scenarios"]
    assert len(names) == 3 and len(set(names)) == 3, names  # the two 'ref' files told apart
    assert result["reference"] == names[0] and names[2] == "late"
    assert 10 in result["key_steps"] and 16 in result["key_steps"]
    assert set(result["outputs"]) == set(names)
    assert set(result["paired_difference"]) == set(names[1:])
    df = pd.read_csv(out / "timeseries.csv")
    assert df.columns[0] == "scenario"
    assert list(df.scenario.unique()) == names
    for _, runs in df.groupby("scenario"):
        assert sorted(runs.replicate.unique()) == [0, 1, 2]
        assert runs.step.max() == 16
    manifest = json.loads((out / "manifest.json").read_text())
    assert set(manifest["scenarios"]) == set(names)
    assert set(manifest["scenario_files"]) == set(names)


def _by_replicate(df: pd.DataFrame, name: str) -> pd.DataFrame:
    return df[df.scenario == name].drop(columns="scenario").set_index(["replicate", "step"])


def test_compare_runs_every_scenario_on_the_same_seeds(comparison):
    _, out = comparison
    result = json.loads((out / "comparison.json").read_text())
    ref, copy, late = result["scenarios"]
    df = pd.read_csv(out / "timeseries.csv")
    # the same scenario under two names: identical, replicate by replicate
    pd.testing.assert_frame_equal(_by_replicate(df, ref), _by_replicate(df, copy))
    for output, per_step in result["paired_difference"][copy].items():
        for step, d in per_step.items():
            assert (d["mean"], d["ci95_low"], d["ci95_high"]) == (0, 0, 0), (output, step)
    # a late event: identical before it, different after it
    a, b = _by_replicate(df, ref), _by_replicate(df, late)
    early = a.index.get_level_values("step") < 10
    pd.testing.assert_frame_equal(a[early], b[early])
    assert (b.xs(16, level="step").trust_mean < a.xs(16, level="step").trust_mean).all()


def test_compare_paired_difference_has_an_interval(comparison):
    _, out = comparison
    result = json.loads((out / "comparison.json").read_text())
    ref, _, late = result["scenarios"]
    df = pd.read_csv(out / "timeseries.csv")
    diff = (_by_replicate(df, late) - _by_replicate(df, ref)).xs(16, level="step").trust_mean
    d = result["paired_difference"][late]["trust_mean"]["16"]
    assert d["n"] == 3
    assert d["mean"] == pytest.approx(diff.mean(), rel=1e-5)  # 6 significant digits
    assert d["ci95_low"] < d["mean"] < d["ci95_high"] < 0  # the scandal lowers trust, clearly
    half = d["ci95_high"] - d["mean"]  # a difference of two 6-digit figures: about 4 digits
    assert half == pytest.approx(4.302653 * diff.std(ddof=1) / 3 ** 0.5, rel=1e-3)  # t(0.975, 2)
    end = result["outputs"][late]["trust_mean"]["end"]
    assert end["mean"] == pytest.approx(df[(df.scenario == late) & (df.step == 16)]
                                        .trust_mean.mean(), rel=1e-5)


@pytest.mark.parametrize("files", [["baseline.yaml"], ["baseline.yaml", "baseline.yaml"]],
                         ids=["one-scenario", "same-file-twice"])
def test_compare_with_fewer_than_two_distinct_files_does_not_crash(scenario_dir, files, run_cli):
    r = run_cli("compare", *files, "--out", "cmp", "--citizens", "600", "--steps", "4",
                "--replicates", "2", "--quiet", cwd=scenario_dir)
    assert "Traceback" not in r.stderr, r.stderr
    assert r.returncode in (0, 2), r.stderr
    if r.returncode == 0:
        names = json.loads((scenario_dir / "cmp" / "comparison.json").read_text())["scenarios"]
        assert len(set(names)) == len(names)
    else:
        assert "compare" in r.stderr and not (scenario_dir / "cmp").exists()
    assert hidden(scenario_dir) == []


def test_compare_warns_of_events_the_reference_weeks_cut_off(tmp_path, run_cli):
    scenarios = ROOT / "scenarios"
    r = run_cli("compare", scenarios / "gp_records.yaml", scenarios / "royal_free_deepmind.yaml",
                "--out", "cmp", "--citizens", "300", "--replicates", "1", "--quiet",
                cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert ("royal_free_deepmind: events after week 52 never happen: scandal@85, scandal@93"
            in r.stderr)
    assert "gp_records:" not in r.stderr  # the reference loses nothing


# ------------------------------------------------------------------------------ validate, schema
def test_validate_prints_ok_for_good_files(world, run_cli):
    r = run_cli("validate", "baseline.yaml", "child.yaml", cwd=world)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("baseline.yaml: OK") and lines[1].startswith("child.yaml: OK")
    assert "child" in lines[1]
    assert r.stderr == ""


def test_every_shipped_scenario_validates(run_cli):
    files = sorted(p.relative_to(ROOT) for p in (ROOT / "scenarios").glob("*.yaml"))
    assert Path("scenarios/baseline.yaml") in files
    r = run_cli("validate", *files, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    assert len([line for line in r.stdout.splitlines() if ": OK (" in line]) == len(files)


def test_validate_reports_every_bad_file_and_still_checks_the_good_ones(world, run_cli):
    folder = world / "validate"
    folder.mkdir()
    shutil.copy(BASELINE, folder / "baseline.yaml")
    (folder / "consent.yaml").write_text(
        "extends: baseline.yaml\nprogrammes:\n  gp_records:\n    consent: maybe\n")
    (folder / "typo.yaml").write_text("extends: baseline.yaml\nreplicats: 3\n")
    r = run_cli("validate", "consent.yaml", "baseline.yaml", "typo.yaml", cwd=folder)
    assert r.returncode == 2
    lines = r.stdout.splitlines()
    assert len(lines) == 1 and lines[0].startswith("baseline.yaml: OK"), r.stdout
    assert "consent.yaml:4:5: programmes.gp_records.consent:" in r.stderr
    assert "'none', 'opt_out', 'opt_in' or 'dynamic'" in r.stderr and "'maybe'" in r.stderr
    assert "typo.yaml:2:1: replicats:" in r.stderr and "did you mean 'replicates'" in r.stderr
    assert "Traceback" not in r.stderr


def test_schema_prints_the_json_schema(tmp_path, run_cli):
    r = run_cli("schema", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    schema = json.loads(r.stdout)
    assert schema == sc.schema()
    assert set(schema["properties"]) == {*sc.Scenario.model_fields, "extends"}
    assert {"Programme", "TrustParams", "Policy", "Breach"} <= set(schema["$defs"])
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------------------ bad input
BAD_EVENT = "timeline:\n  - {type: flood, step: 3, programme: gp_records}\n"
TAG_FILE = "pwned"  # what the YAML tags below would create if they were constructed

BAD_INPUTS: dict[str, tuple[dict[str, str], list[str], list[str]]] = {
    # id: (files in the folder, extra arguments (scenario first), fragments the message must show)
    "malformed-yaml": ({"bad.yaml": "name: x\nsteps: [1, 2\nseed: 3\n"}, ["bad.yaml"],
                       ["bad.yaml:3:5:", "malformed YAML"]),
    "unknown-key": ({"bad.yaml": "extends: baseline.yaml\nprogrammes:\n  gp_records:\n"
                                 "    publicty: 0.5\n"}, ["bad.yaml"],
                    ["bad.yaml:4:5:", "programmes.gp_records.publicty",
                     "did you mean 'publicity'"]),
    "wrong-type": ({"bad.yaml": "name: x\nsteps: many\n"}, ["bad.yaml"],
                   ["bad.yaml:2:", "steps", "integer", "'many'"]),
    "out-of-range": ({"bad.yaml": "population:\n  size: -5\n"}, ["bad.yaml"],
                     ["bad.yaml:2:3:", "population.size", "greater than or equal to 2", "-5"]),
    "not-an-allowed-value": ({"bad.yaml": "extends: baseline.yaml\nprogrammes:\n  gp_records:\n"
                                          "    consent: maybe\n"}, ["bad.yaml"],
                             ["bad.yaml:4:5:", "programmes.gp_records.consent",
                              "'none', 'opt_out', 'opt_in' or 'dynamic'"]),
    "unknown-event-type": ({"bad.yaml": "extends: baseline.yaml\n" + BAD_EVENT}, ["bad.yaml"],
                           ["bad.yaml:3:", "timeline.0", "'flood'", "'breach'", "'scandal'",
                            "'campaign'", "'pause'"]),
    "event-on-unknown-programme": ({"bad.yaml": "extends: baseline.yaml\ntimeline:\n"
                                                "  - {type: pause, step: 3, programme: gp}\n"},
                                   ["bad.yaml"], ["bad.yaml:3:", "timeline.0.programme", "'gp'",
                                                  "gp_records", "care_record"]),
    "name-differs-from-key": ({"bad.yaml": "extends: baseline.yaml\nprogrammes:\n"
                                           "  gp_records: {name: gp}\n"}, ["bad.yaml"],
                              ["bad.yaml", "programmes.gp_records.name"]),
    "missing-file": ({}, ["missing.yaml"], ["missing.yaml", "not found"]),
    "folder-not-file": ({"folder.yaml/x": ""}, ["folder.yaml"], ["folder.yaml", "folder"]),
    "not-utf8": ({"bad.yaml": "name: caf\udce9\n"}, ["bad.yaml"], ["bad.yaml", "utf-8"]),
    "extends-cycle": ({"a.yaml": "extends: b.yaml\nname: a\n", "b.yaml": "extends: a.yaml\n"},
                      ["a.yaml"], ["extends", "cycle", "a.yaml -> b.yaml -> a.yaml"]),
    "extends-missing": ({"bad.yaml": "extends: nowhere.yaml\n"}, ["bad.yaml"],
                        ["nowhere.yaml", "not found"]),
    "empty-file": ({"bad.yaml": ""}, ["bad.yaml"], ["bad.yaml", "empty"]),
    "not-a-mapping": ({"bad.yaml": "- name: x\n"}, ["bad.yaml"], ["bad.yaml:1:1:", "mapping"]),
    "duplicate-key": ({"bad.yaml": "name: a\nsteps: 4\nname: b\n"}, ["bad.yaml"],
                      ["bad.yaml:3:1:", "duplicate key 'name'", "line 1"]),
    "python-tag": ({"bad.yaml": f'!!python/object/apply:os.system ["touch {TAG_FILE}"]\n'},
                   ["bad.yaml"], ["bad.yaml:1:1:", "tags", "not allowed"]),
    "python-tag-in-a-value": (
        {"bad.yaml": f'name: x\ndescription: !!python/object/apply:subprocess.call '
                     f'[["touch", "{TAG_FILE}"]]\n'},
        ["bad.yaml"], ["bad.yaml:2:14:", "tags", "not allowed"]),
    "set-unknown-path": ({}, ["baseline.yaml", "--set", "programmes.gp_records.publicty=0.5"],
                         ["--set", "programmes.gp_records.publicty", "did you mean 'publicity'"]),
    "set-index-out-of-range": ({}, ["baseline.yaml", "--set", "timeline.0.severity=0.5"],
                               ["--set", "timeline.0", "does not exist"]),
    "set-without-equals": ({}, ["baseline.yaml", "--set", "programmes.gp_records.publicity"],
                           ["--set", "programmes.gp_records.publicity", "path=value"]),
    "set-out-of-range": ({}, ["baseline.yaml", "--set", "programmes.gp_records.publicity=3"],
                         ["programmes.gp_records.publicity", "less than or equal to 1"]),
    "out-is-a-file": ({"res": "not a folder"}, ["baseline.yaml", "--force"],
                      ["res", "not a folder"]),
}


# argparse refuses these before anything is read: (option, value) and the option in the message
BAD_NUMBERS = [("--citizens", "0"), ("--citizens", "many"), ("--citizens", "1.5"),
               ("--citizens", "1"), ("--steps", "-3"), ("--steps", "x"), ("--workers", "0"),
               ("--workers", "two"), ("--replicates", "0"), ("--seed", "-1")]
BAD_INPUTS.update({f"{option}={value}": ({}, ["baseline.yaml", option, value], [option])
                   for option, value in BAD_NUMBERS})


def _bad_case(run_cli, folder: Path, files: dict[str, str], args: list[str]):
    folder.mkdir()
    shutil.copy(BASELINE, folder / "baseline.yaml")
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(text.encode("utf-8", "surrogateescape"))
    before = listing(folder)
    result = run_cli("run", "--out", "res", "--citizens", "600", "--steps", "4",
                     "--replicates", "2", "--quiet", *args, cwd=folder)
    return result, before


@pytest.fixture(scope="module")
def bad_results(tmp_path_factory, run_cli):
    """Every bad-input case through the real command line, two processes per core at a time."""
    root = tmp_path_factory.mktemp("bad")
    with ThreadPoolExecutor(max_workers=2 * (os.cpu_count() or 1)) as pool:
        futures = {case: pool.submit(_bad_case, run_cli, root / re.sub(r"\W", "_", case), files,
                                   args)
                   for case, (files, args, _) in BAD_INPUTS.items()}
        return {case: (root / re.sub(r"\W", "_", case), *future.result())
                for case, future in futures.items()}


def assert_refused(result: subprocess.CompletedProcess[str], fragments: list[str]) -> None:
    """Exit 2, one paragraph on stderr with every fragment, no traceback, nothing on stdout."""
    err = result.stderr
    assert result.returncode == 2, (result.returncode, err)
    assert "Traceback" not in err, err
    assert err.strip() and "\n\n" not in err.strip(), err
    for fragment in fragments:
        assert fragment in err, f"{fragment!r} not in {err!r}"
    assert result.stdout == ""


@pytest.mark.parametrize("case", BAD_INPUTS)
def test_bad_input_exits_2_with_a_located_message_and_writes_nothing(bad_results, case):
    folder, result, before = bad_results[case]
    assert_refused(result, BAD_INPUTS[case][2])
    after = listing(folder)
    assert after == before, sorted(set(after) ^ set(before))  # no results, no temporary
    assert not (folder / TAG_FILE).exists()  # the YAML tags did not run


def test_unreadable_file_is_refused(tmp_path, run_cli):
    bad = tmp_path / "secret.yaml"
    shutil.copy(BASELINE, bad)
    bad.chmod(0)
    try:
        if os.access(bad, os.R_OK):
            pytest.skip("running as a user who can read any file (root)")
        r = run_cli("run", "secret.yaml", "--out", "res", "--quiet", cwd=tmp_path)
        assert_refused(r, ["secret.yaml", "cannot be read"])
        assert sorted(p.name for p in tmp_path.iterdir()) == ["secret.yaml"]
    finally:
        bad.chmod(0o644)


def test_a_population_too_large_for_memory_is_refused_with_the_estimate(scenario_dir, run_cli):
    citizens = 90_000_000_000
    r = run_cli("run", "baseline.yaml", "--out", "res", "--citizens", citizens,
                "--replicates", "2", "--quiet", cwd=scenario_dir)
    need = sc.memory_estimate(sc.load(BASELINE), citizens, 1) / 2**30
    assert_refused(r, ["population", "90,000,000,000", f"{need:.1f} GiB", "--citizens"])
    assert sorted(p.name for p in scenario_dir.iterdir()) == ["baseline.yaml"]


def test_out_dot_is_refused_not_crashed(scenario_dir, run_cli):
    """``--out . --force`` cannot replace the folder one stands in; say so before running."""
    (scenario_dir / "keep.txt").write_text("precious")
    r = run_cli("run", "baseline.yaml", "--out", ".", "--force", "--citizens", "600",
                "--steps", "2", "--replicates", "1", "--quiet", cwd=scenario_dir)
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr, r.stderr
    assert (scenario_dir / "keep.txt").read_text() == "precious"
    assert sorted(p.name for p in scenario_dir.iterdir()) == ["baseline.yaml", "keep.txt"]


# ------------------------------------------------------------------------ start, pipes, extras
def _modules_after(args: list[str], cwd: Path, env: dict[str, str]) -> set[str]:
    """The modules a fresh interpreter has imported after ``trustsim ARGS``."""
    code = ("import sys\nfrom sim import cli\ntry:\n    cli.main(sys.argv[1:])\n"
            "except SystemExit:\n    pass\nprint(' '.join(sys.modules), file=sys.stderr)")
    r = subprocess.run([sys.executable, "-c", code, *args], cwd=cwd, env=env,
                       capture_output=True, text=True, timeout=TIMEOUT)
    return set(r.stderr.split())


HEAVY = {"pandas", "mesa", "scipy", "matplotlib", "numba", "pyarrow", "SALib", "tqdm"}


def test_help_and_validate_import_no_model_and_no_tables(trustsim_env):
    """--help needs argparse only; validate the scenario modules (pydantic, YAML and the data
    models they validate with), never the model, its compiled kernels (numba), SciPy, pandas or
    the figures: those take longer to import than validating takes."""
    helped = _modules_after(["--help"], ROOT, trustsim_env)
    top = {m.partition(".")[0] for m in helped}
    assert "argparse" in top
    assert not top & (HEAVY | {"numpy", "pydantic", "yaml"}), top & HEAVY
    validated = _modules_after(["validate", "scenarios/baseline.yaml"], ROOT, trustsim_env)
    top = {m.partition(".")[0] for m in validated}
    assert {"pydantic", "yaml", "sim"} <= top
    assert not top & (HEAVY | {"llvmlite"}), top & (HEAVY | {"llvmlite"})
    kernels = {"sim.model", "sim.runner", "sim.report", "sim.network", "sim.population",
               "sim.sharing", "sim.streams"}  # the data layer imports no module that compiles
    assert not kernels & validated, kernels & validated


def test_a_closed_pipe_ends_quietly(trustsim_env):
    for args in (["schema"], ["--help"]):
        shell = subprocess.run(
            f"{shlex.join([sys.executable, '-m', 'sim.cli', *args])} | head -1", shell=True,
            cwd=ROOT, env=trustsim_env, capture_output=True, text=True, timeout=TIMEOUT)
        assert shell.stdout.count("\n") == 1, shell.stdout
        assert shell.stderr == "", shell.stderr


def test_schema_into_a_pipe_closed_at_once_exits_141_without_a_traceback(trustsim_env):
    proc = subprocess.Popen([sys.executable, "-m", "sim.cli", "schema"], cwd=ROOT,
                            env=trustsim_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # before the command has written anything: its first write fails
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=TIMEOUT) == 141, err
    assert err == ""


def test_the_app_without_its_extra_names_the_extra(monkeypatch, capsys):
    from sim import cli

    monkeypatch.delitem(sys.modules, "sim.app", raising=False)
    monkeypatch.setitem(sys.modules, "solara", None)  # import solara fails: not installed
    assert cli.main(["app"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1, err
    assert "trustsim app: error:" in err and "pip install 'trustsim[app]'" in err
    assert "solara" in err and "Traceback" not in err


def test_a_sweep_on_dask_without_its_extra_names_the_extra(monkeypatch, capsys, tmp_path):
    from sim import cli

    spec = tmp_path / "spec.yaml"
    spec.write_text('model: "sim.sweeps.testmodels:ishigami"\nparameters:\n'
                    "  - {path: x1, bounds: [0, 1]}\nn: 4\nsteps: 1\noutputs: [y]\n")
    for name in ("dask", "dask.distributed", "distributed"):
        monkeypatch.setitem(sys.modules, name, None)
    assert cli.main(["sweep", str(spec), "--out", str(tmp_path / "out"), "--scheduler",
                     "local", "--quiet"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1, err
    assert "pip install 'trustsim[dask]'" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


# ------------------------------------------------------------------ deep files, sweep specs
def test_a_deeply_nested_file_is_refused_by_name_not_with_a_recursion_error(tmp_path, run_cli):
    (tmp_path / "deep.yaml").write_text("name: x\nsteps: " + "[" * 5000 + "]" * 5000 + "\n")
    block = "".join(" " * i + "k:\n" for i in range(1, 400)) + " " * 400 + "1\n"
    (tmp_path / "blocks.yaml").write_text("name: y\nparams:\n" + block)
    for name, line in (("deep.yaml", 2), ("blocks.yaml", 52)):
        for command in (["validate", name], ["run", name, "--out", "res", "--quiet"]):
            r = run_cli(*command, cwd=tmp_path)
            assert_refused(r, [f"{name}:{line}:", "nested more than 50 levels deep"])
            assert "RecursionError" not in r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blocks.yaml", "deep.yaml"]


def test_a_sweep_spec_reports_every_problem_at_once_each_at_its_line(scenario_dir, run_cli):
    (scenario_dir / "spec.yaml").write_text(
        "name: bad\nbase: baseline.yaml\nparameters:\n"
        "  - {path: params.gain_rate, bounds: [0.5, 0.1]}\n"
        "  - {path: params.drfit, bounds: [0, 0.1]}\n"
        "  - {path: params.loss_aversion, values: [2, 3]}\n"
        "method: sobol\nn: 100\nreplicates: 0\noutputs: [trust_mean, trust_maen]\n"
        "quick: {n: 12}\n")
    r = run_cli("sweep", "spec.yaml", "--out", "res", "--quiet", cwd=scenario_dir)
    assert_refused(r, [
        "spec.yaml:4:5: parameters.0: lower bound 0.5 must be below upper bound 0.1",
        "spec.yaml:5:6: parameters.1.path: 'params.drfit' is not a field",
        "spec.yaml:6:", "parameters.2.values", "values are for method grid",
        "spec.yaml:8:1: n: must be a power of 2 for sobol (got 100)",
        "spec.yaml:9:1: replicates:",
        "spec.yaml:10:", "outputs.1: unknown output 'trust_maen'",
        "spec.yaml:11:", "quick.n: must be a power of 2 for sobol (got 12)"])
    assert ":1:1:" not in r.stderr  # nothing blamed on the start of the file
    assert not (scenario_dir / "res").exists()


# ------------------------------------------------------------------------ summary.csv, incidents
def most_digits(text: str) -> int:
    """The most significant digits of any decimal number written in ``text``."""
    mantissas = re.findall(r"(\d+\.\d+)(?:[eE][-+]?\d+)?", text)
    return max((len(m.replace(".", "").lstrip("0")) for m in mantissas), default=0)


def test_run_writes_a_tidy_summary_csv_beside_a_rounded_summary_json(run_w1):
    _, out = run_w1
    summary = json.loads((out / "summary.json").read_text())
    assert most_digits((out / "summary.json").read_text()) <= 6
    table = pd.read_csv(out / "summary.csv")
    assert list(table.columns) == ["output", "week", "mean", "p10", "p90"]
    assert most_digits((out / "summary.csv").read_text()) <= 6
    assert set(table.output) == set(summary["outputs"])
    assert sorted(table.week.unique()) == summary["key_steps"]
    assert len(table) == len(summary["outputs"]) * len(summary["key_steps"])
    for row in table.itertuples():
        band = summary["outputs"][row.output]["steps"][str(row.week)]
        assert (row.mean, row.p10, row.p90) == pytest.approx(
            (band["mean"], band["p10"], band["p90"]), rel=1e-9, abs=1e-12)


def test_compare_writes_summary_csv_by_scenario_and_names_its_interval(comparison):
    _, out = comparison
    result = json.loads((out / "comparison.json").read_text())
    assert most_digits((out / "comparison.json").read_text()) <= 6
    table = pd.read_csv(out / "summary.csv")
    assert list(table.columns) == ["scenario", "output", "week", "mean", "p10", "p90"]
    assert list(table.scenario.unique()) == result["scenarios"]
    row = table[(table.scenario == "late") & (table.output == "trust_mean")
                & (table.week == 16)].iloc[0]
    assert row["mean"] == pytest.approx(result["outputs"]["late"]["trust_mean"]["end"]["mean"])
    for per_step in result["paired_difference"]["late"].values():
        for d in per_step.values():
            assert set(d) == {"mean", "ci95_low", "ci95_high", "n"}


def test_run_lists_every_incident_and_they_add_up_to_the_breaches(run_w1):
    _, out = run_w1
    incidents = pd.read_csv(out / "incidents.csv")
    assert list(incidents.columns) == ["replicate", "week", "programme", "kind", "severity",
                                       "publicity", "victims", "reached", "hidden"]
    assert set(incidents.kind) <= {"breach", "revelation"}
    # the file's scandal at week 6, in every replicate (a revelation, with no victims)
    scandal = incidents[(incidents.week == 6) & (incidents.kind == "revelation")]
    assert sorted(scandal.replicate) == [0, 1]
    assert (scandal.programme == "gp_records").all() and (scandal.victims == 0).all()
    df = pd.read_csv(out / "timeseries.csv")
    counted = incidents[incidents.kind == "breach"].groupby(["replicate", "week"]).size()
    series = df.set_index(["replicate", "step"]).breaches
    assert series[series > 0].to_dict() == {k: v for k, v in counted.items()}


def test_compare_lists_incidents_by_scenario(comparison):
    _, out = comparison
    incidents = pd.read_csv(out / "incidents.csv")
    assert list(incidents.columns[:3]) == ["scenario", "replicate", "week"]
    late = incidents[(incidents.scenario == "late") & (incidents.kind == "revelation")]
    assert sorted(late.replicate) == [0, 1, 2] and set(late.week) == {10}


# ------------------------------------------------------------------------ --out, several files
def test_out_defaults_to_results_and_the_scenario_name(scenario_dir, run_cli):
    r = run_cli("run", "baseline.yaml", "--citizens", "300", "--steps", "2", "--replicates",
                "1", "--quiet", cwd=scenario_dir)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("results/baseline: baseline, ")
    assert (scenario_dir / "results" / "baseline" / "manifest.json").is_file()
    assert hidden(scenario_dir / "results") == []


def test_several_files_run_each_into_its_own_folder(scenario_dir, run_cli):
    (scenario_dir / "child.yaml").write_text(child_yaml(steps=3, timeline="timeline: []\n"))
    small = ("--citizens", "300", "--steps", "2", "--replicates", "1", "--quiet")
    r = run_cli("run", "baseline.yaml", "child.yaml", "--out", "both", *small,
                cwd=scenario_dir)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[0].startswith("both/baseline: baseline, ")
    assert r.stdout.splitlines()[1].startswith("both/child: child, ")
    for name in ("baseline", "child"):
        manifest = json.loads((scenario_dir / "both" / name / "manifest.json").read_text())
        assert list(manifest["scenarios"]) == [name]
    # without --out, each to its own default; a folder in the way stops all before any run
    (scenario_dir / "results" / "child").mkdir(parents=True)
    refused = run_cli("run", "baseline.yaml", "child.yaml", *small, cwd=scenario_dir)
    assert_refused(refused, ["results/child", "--force"])
    assert sorted(p.name for p in (scenario_dir / "results").iterdir()) == ["child"]
    # every file is read before anything runs: all their problems at once
    (scenario_dir / "bad1.yaml").write_text("name: a\nsteps: x\n")
    (scenario_dir / "bad2.yaml").write_text("name: b\nreplicats: 2\n")
    bad = run_cli("run", "bad1.yaml", "bad2.yaml", "--out", "bad", *small, cwd=scenario_dir)
    assert_refused(bad, ["bad1.yaml:2:", "bad2.yaml:2:"])
    assert not (scenario_dir / "bad").exists()


def test_a_bare_name_runs_the_shipped_scenario_and_a_wrong_one_lists_them(tmp_path, run_cli):
    r = run_cli("run", "breach_shock", "--citizens", "300", "--steps", "2", "--replicates",
                "1", "--quiet", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    manifest = json.loads((tmp_path / "results" / "breach_shock" / "manifest.json").read_text())
    assert str(ROOT / "scenarios" / "breach_shock.yaml") in manifest["scenario_files"][
        "breach_shock"]
    wrong = run_cli("validate", "breach_shok", cwd=tmp_path)
    assert_refused(wrong, ["breach_shok: file not found", "did you mean 'breach_shock'",
                           "baseline, breach_shock"])


# ------------------------------------------------------------------------ help, progress, signals
@pytest.mark.parametrize("name", [None, "run", "validate", "compare", "schema", "sweep", "frontier",
                                  "app"])
def test_every_help_ends_with_examples(name, capsys):
    from sim import cli

    with pytest.raises(SystemExit) as exit_:
        cli.main([name, "--help"] if name else ["--help"])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    examples = text[text.index("\nexamples:\n"):]
    assert f"  trustsim {name or ''}".rstrip() in examples
    assert "usage: trustsim" in text


@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")
def test_a_single_run_shows_progress_by_week(scenario_dir, trustsim_env):
    status, shown = _on_a_terminal(["run", "baseline.yaml", "--out", "one", "--citizens", "600",
                                    "--steps", "5", "--replicates", "1"], scenario_dir,
                                   trustsim_env)
    assert status == 0, shown
    assert b"/5 " in shown and b"week" in shown, shown  # 5 weeks, not 1 run


def test_sigterm_stops_a_run_between_two_steps(monkeypatch, tmp_path):
    """The signal lands during a step; the step ends, no other starts, the command unwinds."""
    from sim import command, runner

    scenario = sc.load(BASELINE, ["population.size=300", "steps=8", "replicates=1"])
    steps: list[int] = []

    def on_step(n: int) -> None:
        steps.append(n)
        if len(steps) == 3:
            os.kill(os.getpid(), signal.SIGTERM)  # handled at once, in this (main) thread
            steps.append(0)  # the handler did not raise: the step's work goes on

    def work(args) -> int:
        runner.run_replicate(scenario, scenario.replicate_seeds()[0], on_step)
        return 0

    previous = signal.getsignal(signal.SIGTERM)
    assert command.run("trustsim run", work, None) == 143
    assert steps == [1, 1, 1, 0]  # stopped before the fourth step
    assert signal.getsignal(signal.SIGTERM) == previous
    # outside a command the flag is clear again
    assert command.run("trustsim run", lambda args: 0, None) == 0
