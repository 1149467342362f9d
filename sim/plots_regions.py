"""The figure of opt-out by region (the edge of the package: the model never imports this).

Small multiples, one panel per region in the order of sim.demography.REGIONS, so a reader can
see whether a surge reaches every part of the country and how far apart the regions end up.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from sim import files
from sim.demography import REGION_LABELS, REGIONS


def regions_figure(regions: pd.DataFrame, path: Path, national: pd.DataFrame | None = None,
                   marks: Sequence[tuple[int, str]] = ()) -> Path:
    """Opt-out by region over time (``regions``: columns replicate, step, region,
    opt_out_rate, as ``regions.csv``): the mean over replicates with the 10-90% band, the whole
    population's rate in grey (``national``: the time series) and the timeline's events dashed.
    Each panel's title gives the rise from the first to the last step, in points."""
    fig = Figure(figsize=(11, 8.5))
    FigureCanvasAgg(fig)
    axes = fig.subplots(3, 4, sharex=True, sharey=True).ravel()
    n_rep = regions["replicate"].nunique() if "replicate" in regions else 1
    for ax, region in zip(axes, REGIONS, strict=True):
        part = regions[regions.region == region.value]
        by_step = part.groupby("step")["opt_out_rate"]
        mean = by_step.mean() * 100
        if national is not None:
            whole = national.groupby("step")["opt_out_rate"].mean() * 100
            ax.plot(whole.index, whole.to_numpy(), color="0.6", lw=1.0)
        (line,) = ax.plot(mean.index, mean.to_numpy(), color="C0", lw=1.6)
        if n_rep > 1:
            ax.fill_between(mean.index, by_step.quantile(0.1).to_numpy() * 100,
                            by_step.quantile(0.9).to_numpy() * 100, color=line.get_color(),
                            alpha=0.2, lw=0)
        for step in sorted({s for s, _ in marks}):
            ax.axvline(step, color="0.35", ls="--", lw=0.6, zorder=0)
        rise = mean.iloc[-1] - mean.iloc[0] if len(mean) else np.nan
        ax.set_title(f"{REGION_LABELS[region]} ({rise:+.1f} pts)", fontsize=9)
        ax.grid(alpha=0.3)
    for ax in axes[8:]:
        ax.set_xlabel("week")
    for ax in axes[::4]:
        ax.set_ylabel("opted out (%)")
    axes[0].set_ylim(bottom=0)
    fig.suptitle("Opt-out by region", fontsize=13)
    fig.text(0.01, 0.01, "Share of each region's citizens opted out of at least one programme "
             f"with a choice: mean of {n_rep} replicate(s), band 10-90%; grey: the whole "
             "population; dashed: the timeline's events. Title: rise from the first week to "
             "the last.", fontsize=8, wrap=True)
    fig.tight_layout(rect=(0, 0.04, 1, 0.96))
    return files.write_atomic(path, lambda tmp: fig.savefig(tmp, dpi=120, format="png"))
