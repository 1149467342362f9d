"""Figures of a sweep: indices over time per output, convergence, seed-noise share."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from sim.plots import figure, save
from sim.sweeps.spec import DUMMY


def _measures(method: str) -> list[tuple[str, str]]:
    if method == "sobol":
        return [("S1", "first-order S1"), ("ST", "total ST")]
    return [("mu_star", "mu*")]


def indices_over_time(indices: pd.DataFrame, method: str, path: Path) -> Path:
    """One row per output, one column per index: lines with CI ribbons; the dummy dashed."""
    outputs = list(dict.fromkeys(indices["output"]))
    measures = _measures(method)
    fig = figure(figsize=(5.5 * len(measures), 2.6 * len(outputs) + 0.6))
    axes = fig.subplots(len(outputs), len(measures), squeeze=False, sharex=True)
    for r, output in enumerate(outputs):
        sub = indices[indices.output == output]
        for c, (col, label) in enumerate(measures):
            ax = axes[r, c]
            for name, g in sub.groupby("parameter", sort=False):
                g = g.sort_values("step")
                dummy = name == DUMMY
                (line,) = ax.plot(g.step, g[col], lw=1.0 if dummy else 1.6,
                                  ls="--" if dummy else "-", color="0.4" if dummy else None,
                                  label="dummy (noise floor)" if dummy else str(name))
                conf = g[f"{col}_conf"]
                ax.fill_between(g.step, g[col] - conf, g[col] + conf, color=line.get_color(),
                                alpha=0.15, lw=0)
            ax.set_title(f"{output}: {label}", fontsize=9)
            ax.grid(alpha=0.3)
            ax.tick_params(labelsize=7)
        axes[r, 0].set_ylabel("index")
    for ax in axes[-1]:
        ax.set_xlabel("week")
    axes[0, -1].legend(fontsize=7, loc="best")
    fig.tight_layout()
    return save(fig, path)


def convergence_figure(conv: pd.DataFrame, method: str, path: Path) -> Path:
    outputs = list(dict.fromkeys(conv["output"]))
    col = "ST" if method == "sobol" else "mu_star"
    fig = figure(figsize=(3.6 * len(outputs), 3.4))
    axes = fig.subplots(1, len(outputs), squeeze=False)
    for ax, output in zip(axes[0], outputs, strict=True):
        sub = conv[conv.output == output]
        for name, g in sub.groupby("parameter", sort=False):
            dummy = name == DUMMY
            ax.errorbar(g.n, g[col], yerr=g[f"{col}_conf"], marker="o", ms=3, capsize=2,
                        ls="--" if dummy else "-", label=str(name))
        ax.set_xscale("log", base=2)
        ax.set_title(f"{output} (last step)", fontsize=9)
        ax.set_xlabel("N (base points)")
        ax.grid(alpha=0.3)
        ax.tick_params(labelsize=7)
    axes[0, 0].set_ylabel(col)
    axes[0, -1].legend(fontsize=6, loc="best")
    fig.tight_layout()
    return save(fig, path)


def noise_figure(noise: pd.DataFrame, path: Path) -> Path:
    fig = figure(figsize=(7, 3.8))
    ax = fig.subplots()
    for output, g in noise.groupby("output", sort=False):
        ax.plot(g.step, g.seed_share, label=str(output), lw=1.6)
    ax.set(title="Share of variance due to seeds (within design points / total)",
           xlabel="week", ylabel="seed share", ylim=(0, None))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    return save(fig, path)
