"""Figures of a run's time series (the edge of the package: the model never imports this).

Each figure takes the tidy time series of one or more replicates (columns ``replicate``, ``step``
and the outputs) and draws the mean with a 10-90% band across replicates.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd


def band(ax: plt.Axes, runs: pd.DataFrame, column: str, label: str, color: str | None = None,
         ) -> None:
    """Mean of ``column`` over replicates by step, with the 10-90% band if there are several."""
    by_step = runs.groupby("step")[column]
    mean = by_step.mean()
    (line,) = ax.plot(mean.index, mean.to_numpy(), label=label, color=color, lw=1.8)
    if runs["replicate"].nunique() > 1:
        lo, hi = by_step.quantile(0.1), by_step.quantile(0.9)
        ax.fill_between(mean.index, lo.to_numpy(), hi.to_numpy(), color=line.get_color(),
                        alpha=0.2, lw=0)


def save(fig: plt.Figure, path: Path) -> Path:
    """Write a PNG atomically (temporary file, then rename), so no half-written figure exists."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".png.tmp")
    os.close(fd)
    try:
        fig.savefig(tmp, dpi=150, format="png")
        os.replace(tmp, path)
    finally:
        plt.close(fig)
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def _panel(runs: pd.DataFrame, columns: Sequence[tuple[str, str]], title: str, ylabel: str,
           ) -> plt.Figure:
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for column, label in columns:
        band(ax, runs, column, label)
    ax.set(title=title, xlabel="week", ylabel=ylabel, ylim=(0, None))
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=8, ncol=2)
    fig.tight_layout()
    return fig


def run_figures(runs: pd.DataFrame, out: Path, agencies: Sequence[str]) -> list[Path]:
    """The standard figures of a run: trust by agency, opt-out, coverage, benefit."""
    trust_cols = [("trust_mean", "general trust"), *((f"trust_{a}", a) for a in agencies)]
    figures = {
        "trust.png": _panel(runs, trust_cols, "Trust by agency", "mean trust (0-1)"),
        "opt_out.png": _panel(runs, [("opt_out_rate", "all citizens"),
                                     *((c, c.removeprefix("opt_out_")) for c in runs.columns
                                       if c.startswith("opt_out_") and c != "opt_out_rate")],
                              "Opted out of at least one programme", "share of citizens"),
        "coverage.png": _panel(runs, [("data_coverage", "all programmes"),
                                      *((c, c.removeprefix("coverage_")) for c in runs.columns
                                        if c.startswith("coverage_"))],
                               "Data coverage", "share of citizens' records shared"),
        "benefit.png": _panel(runs, [("service_benefit", "service benefit (per citizen)"),
                                     ("public_benefit", "public benefit")],
                              "Benefit of sharing", "benefit units"),
    }
    return [save(fig, out / name) for name, fig in figures.items()]
