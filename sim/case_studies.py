"""The five CDEI case studies as one set: which scenario file, which output tells its story.

The Centre for Data Ethics and Innovation's review of public-sector data sharing (2020) rests on
five cases; ``scenarios/`` has one file for each, whose header says what happened and which path
to expect. The cases are different worlds on timelines of different lengths, so they are not
compared with a reference on common random numbers (``trustsim compare``) but set side by side:
each runs with its own file's steps, seed and replicates, as ``trustsim run`` would run it.

``run`` gives one tidy time series (a ``scenario`` column added), ``summary`` one row per case,
``sim.plots.case_studies_figure`` the figure; ``experiments/case_studies.py`` writes all three
to ``results/case_studies`` and ``notebooks/02_case_studies.ipynb`` reads the same functions.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from sim import runner
from sim import scenario as sc

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"


@dataclass(frozen=True)
class Case:
    """A case study: its scenario file's stem, a title, and the output that tells its story."""

    name: str
    title: str
    story: str
    story_label: str


CASES: tuple[Case, ...] = (
    Case("national_pupil_database", "National Pupil Database", "trust_dfe", "trust in the DfE"),
    Case("vat_register_cra", "VAT register to credit agencies", "trust_hmrc",
         "trust in HMRC"),
    Case("troubled_families", "Troubled Families evaluation", "public_benefit",
         "public benefit index"),
    Case("gp_records", "GP records (GPDPR 2021)", "trust_nhs", "trust in the NHS"),
    Case("royal_free_deepmind", "Royal Free and DeepMind", "trust_deepmind",
         "trust in DeepMind"),
)


def load(folder: Path = SCENARIOS, cases: tuple[Case, ...] = CASES) -> dict[str, sc.Scenario]:
    """The validated scenario of each case, by case name."""
    return {case.name: sc.load(folder / f"{case.name}.yaml") for case in cases}


def run(scenarios: Mapping[str, sc.Scenario], citizens: int | None = None,
        replicates: int | None = None, workers: int = 1,
        progress: Callable[[int], None] | None = None) -> pd.DataFrame:
    """Every case's replicates, each with its own file's steps and seed (the same numbers as
    ``trustsim run`` with these sizes), as one tidy frame with a leading ``scenario`` column.

    Outputs a case does not have (trust in an agency of another case) are NaN in its rows.
    """
    return runner.run_named(
        [(name, task) for name, s in scenarios.items()
         for task in runner.tasks(s, citizens or s.population.size, s.steps,
                                  replicates or s.replicates, s.seed)],
        workers, progress)


def summary(runs: pd.DataFrame, cases: tuple[Case, ...] = CASES) -> pd.DataFrame:
    """One row per case: weeks run, general trust and opt-out at the start and the end, and
    the story output's start, lowest, highest and final value (means over replicates)."""
    rows = []
    for case in cases:
        mean = runs[runs.scenario == case.name].groupby("step").mean(numeric_only=True)
        story = mean[case.story]
        rows.append({
            "case": case.name, "weeks": int(mean.index.max()),
            "trust_start": mean.trust_mean.iloc[0], "trust_end": mean.trust_mean.iloc[-1],
            "opt_out_start": mean.opt_out_rate.iloc[0], "opt_out_end": mean.opt_out_rate.iloc[-1],
            "story_output": case.story, "story_start": story.iloc[0],
            "story_min": story.min(), "story_max": story.max(), "story_end": story.iloc[-1],
        })
    return pd.DataFrame(rows).set_index("case")
