"""The calibration's figures: pairs plot of the posterior, posterior-predictive bands of every
target, and the coverage of the observations by the predictive intervals."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib as mpl
import numpy as np
import pandas as pd

from sim import plots
from sim.calibration.spec import CalibrationSpec
from sim.calibration.targets import Targets

SET_COLOUR = {"fit": plots.BLUE, "held_out": plots.VERMILLION}


def pairs(spec: CalibrationSpec, samples: pd.DataFrame, path: Path) -> Path:
    """Weighted marginals on the diagonal, particles (shaded by weight) below it; each axis
    spans the parameter's prior range, so a wide marginal shows a parameter the targets do not
    pin down."""
    names = spec.names()
    D = len(names)
    w = samples["weight"].to_numpy(float)
    w = w / w.sum()
    size = max(5.0, 1.6 * D)
    with mpl.rc_context(plots.STYLE):
        fig = plots.titled_figure(
            f"{spec.name}: posterior (ABC-SMC particles)",
            "Diagonal: weighted histogram of each parameter over its prior range (uniform "
            "prior: flat at the dashed line). Below: particles, darker for larger weights.",
            size, size + 0.6)
        axes = fig.subplots(D, D, squeeze=False)
        for r in range(D):
            for c in range(D):
                ax = axes[r][c]
                pr, pc = spec.parameters[r], spec.parameters[c]
                if c > r:
                    ax.set_axis_off()
                    continue
                x = samples[pc.path].to_numpy(float)
                if r == c:
                    ax.hist(x, bins=15, range=pc.bounds, weights=w, color=plots.BLUE,
                            alpha=0.8, density=True)
                    ax.axhline(1.0 / (pc.bounds[1] - pc.bounds[0]), color=plots.GREY,
                               linestyle="--", linewidth=0.8)
                    ax.set_yticks([])
                else:
                    y = samples[pr.path].to_numpy(float)
                    ax.scatter(x, y, s=6, c=w, cmap="Blues", vmin=0, vmax=w.max(),
                               edgecolors="none")
                    ax.set_ylim(pr.bounds)
                ax.set_xlim(pc.bounds)
                ax.tick_params(labelsize=6)
                if r == D - 1:
                    ax.set_xlabel(_short(pc.path), fontsize=7)
                if c == 0 and r > 0:
                    ax.set_ylabel(_short(pr.path), fontsize=7)
        plots.finish(fig)
        return plots.save(fig, path)


def bands(targets: Targets, table: pd.DataFrame, series: pd.DataFrame, path: Path) -> Path:
    """Each target's output over its scenario's weeks: the posterior-predictive median and
    50% and 90% bands (one run per posterior draw), with the observations and their 90%
    observation error."""
    ts = targets.spec.targets
    cols = 3
    rows = math.ceil(len(ts) / cols)
    fig = plots.titled_figure(
        "Posterior-predictive bands of every target (blue: fitted, vermilion: held out)",
        "Median, 50% and 90% bands over posterior draws (one run and seed per draw) of what "
        "the measurement model reports; a change is shown from its start. Points: "
        "observations, bars: their 90% error.", 3.6 * cols, 2.6 * rows + 0.8)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax, t in zip(axes, ts, strict=False):
        colour = SET_COLOUR[t.set]
        part = series[series.target == t.name]
        if len(part):
            wide = part.pivot(index="draw", columns="step", values="value")
            if t.measurement.model == "change":
                wide = wide.sub(wide[t.measurement.since], axis=0)
            steps = wide.columns.to_numpy()
            q = np.quantile(wide.to_numpy(float), [0.05, 0.25, 0.5, 0.75, 0.95], axis=0)
            ax.fill_between(steps, q[0], q[4], color=colour, alpha=0.15, linewidth=0)
            ax.fill_between(steps, q[1], q[3], color=colour, alpha=0.3, linewidth=0)
            ax.plot(steps, q[2], color=colour, linewidth=1.2)
        for _, o in table[table.target.str.split("@").str[0] == t.name].iterrows():
            ax.errorbar([o.step], [o.observed], yerr=[[1.645 * o.sd], [1.645 * o.sd]],
                        fmt="o", color="black", markersize=3.5, capsize=2)
        ax.set_title(f"{t.name} ({t.set.replace('_', '-')})", fontsize=8)
        ax.set_xlabel("week", fontsize=7)
        ax.tick_params(labelsize=6)
    for ax in axes[len(ts):]:
        ax.set_axis_off()
    plots.finish(fig)
    return plots.save(fig, path)


def coverage(table: pd.DataFrame, path: Path) -> Path:
    """Every observation against its posterior-predictive 50% and 90% intervals, standardised
    by the interval, so fitted and held-out targets share one axis."""
    fig = plots.titled_figure(
        "Coverage: observations within their posterior-predictive intervals",
        "For each target: 90% (thin) and 50% (thick) predictive interval of the observation "
        "(model plus observation error), centred on the predictive median and scaled so the "
        "90% interval spans -1..1; the dot is the observation. Blue: fitted; vermilion: "
        "held out.", 7.0, 0.35 * len(table) + 1.6)
    ax = fig.subplots()
    for k, (_, r) in enumerate(table.iloc[::-1].iterrows()):
        mid = r.model_median
        half = max((r.predicted_p95 - r.predicted_p05) / 2, 1e-12)
        colour = SET_COLOUR[r.set]
        ax.plot([(r.predicted_p05 - mid) / half, (r.predicted_p95 - mid) / half], [k, k],
                color=colour, linewidth=1)
        ax.plot([(r.predicted_p25 - mid) / half, (r.predicted_p75 - mid) / half], [k, k],
                color=colour, linewidth=4, alpha=0.6)
        x = (r.observed - mid) / half
        ax.plot([np.clip(x, -4, 4)], [k], "o", color="black" if abs(x) <= 4 else plots.GREY,
                markersize=4)
        ax.text(4.2, k, "pass" if r.inside_90 else "fail", fontsize=7, va="center")
    ax.set_yticks(range(len(table)), list(table.target.iloc[::-1]), fontsize=7)
    ax.set_xlim(-4.2, 4.8)
    ax.axvline(0, color=plots.GREY, linewidth=0.6)
    ax.set_xlabel("(value - predictive median) / half the 90% interval (clipped at 4)",
                  fontsize=7)
    plots.finish(fig)
    return plots.save(fig, path)


def _short(path: str) -> str:
    return path.removeprefix("params.").replace("programmes.", "").replace("timeline.", "t.")

