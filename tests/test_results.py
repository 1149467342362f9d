"""The small canonical results in results/ are what today's code makes with the commands that
results/README.md gives for them (``make results`` reruns them all)."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results"

#: folder -> (the command of results/README.md, the committed files that hold its numbers)
CANONICAL = {
    "baseline": ("trustsim run scenarios/baseline.yaml --out results/baseline",
                 ["timeseries.csv", "summary.json", "summary.csv", "incidents.csv"]),
    "case_studies": ("python experiments/case_studies.py --out results/case_studies "
                     "--citizens 5000 --replicates 5 --workers 2",
                     ["timeseries.csv", "summary.csv"]),
    "morris_quick": ("python experiments/morris_screening.py --quick --out results/morris_quick",
                     ["indices.csv", "noise.csv", "convergence.csv", "points.csv"]),
    "sobol_quick": ("python experiments/sobol_indices.py --quick --out results/sobol_quick "
                    "--workers 2", ["indices.csv", "noise.csv", "convergence.csv"]),
}


def _argv(command: str, out: Path) -> list[str]:
    words = shlex.split(command)
    words[words.index("--out") + 1] = str(out)
    head = [sys.executable, "-m", "sim.cli"] if words[0] == "trustsim" else [sys.executable]
    return [*head, *words[1:], "--quiet"]


def _flat(path: Path) -> pd.Series:
    return pd.json_normalize(json.loads(path.read_text())).iloc[0]


def test_readme_gives_each_command_and_git_keeps_each_file():
    readme = (RESULTS / "README.md").read_text()
    tracked = subprocess.run(["git", "ls-files", "results"], cwd=ROOT, capture_output=True,
                             text=True, check=True).stdout.split()
    for folder, (command, files) in CANONICAL.items():
        assert command in readme, f"results/README.md does not give: {command}"
        for name in [*files, "manifest.json"]:
            assert f"results/{folder}/{name}" in tracked, f"results/{folder}/{name} not committed"
        manifest = json.loads((RESULTS / folder / "manifest.json").read_text())
        assert manifest["trustsim"]["dirty"] is False, f"{folder}: made from uncommitted code"


@pytest.mark.slow
@pytest.mark.parametrize("folder", list(CANONICAL))
def test_committed_result_is_what_the_command_makes_now(folder, tmp_path):
    command, files = CANONICAL[folder]
    out = tmp_path / folder
    done = subprocess.run(_argv(command, out), cwd=ROOT, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    for name in files:
        old, new = RESULTS / folder / name, out / name
        hint = f"results/{folder}/{name} is not what `{command}` makes now: run `make results`"
        if name.endswith(".json"):
            pd.testing.assert_series_equal(_flat(new), _flat(old), rtol=1e-9, obj=hint)
        else:
            pd.testing.assert_frame_equal(pd.read_csv(new), pd.read_csv(old), rtol=1e-9,
                                          obj=hint)


#: results that take minutes to make: their commands are given and their files committed from
#: committed code, but they are not rerun here
FRONTIERS = {
    "frontier_baseline": "trustsim frontier experiments/specs/frontier_baseline.yaml "
                         "--out results/frontier_baseline --workers 2 \\\n    --posterior "
                         "results/calibration --draws 4",
    "frontier_gp2021": "trustsim frontier experiments/specs/frontier_gp2021.yaml "
                       "--out results/frontier_gp2021 --workers 2 \\\n    --posterior "
                       "results/calibration --draws 4",
}


def test_the_frontiers_are_committed_with_their_commands():
    readme = (RESULTS / "README.md").read_text()
    tracked = subprocess.run(["git", "ls-files", "results"], cwd=ROOT, capture_output=True,
                             text=True, check=True).stdout.split()
    for folder, command in FRONTIERS.items():
        assert command in readme, f"results/README.md does not give: {command}"
        for name in ("frontier.csv", "dominance.csv", "frontier.png", "manifest.json"):
            assert f"results/{folder}/{name}" in tracked, f"results/{folder}/{name} not committed"
        manifest = json.loads((RESULTS / folder / "manifest.json").read_text())
        assert manifest["trustsim"]["dirty"] is False, f"{folder}: made from uncommitted code"
        assert manifest["command"][1:3] == command.split()[1:3]
