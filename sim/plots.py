"""Figures of a run's time series (the edge of the package: the model never imports this).

Each figure takes the tidy time series of one or more replicates (columns ``replicate``, ``step``
and the outputs) and draws the mean with a 10-90% band across replicates.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from sim import files


def figure(**kwargs: Any) -> Figure:
    """A figure on its own Agg canvas: no pyplot, so no global state and no display needed, and
    a notebook that uses pyplot keeps its own backend."""
    fig = Figure(**kwargs)
    FigureCanvasAgg(fig)
    return fig


def band(ax: Axes, runs: pd.DataFrame, column: str, label: str, color: str | None = None,
         ) -> None:
    """Mean of ``column`` over replicates by step, with the 10-90% band if there are several."""
    by_step = runs.groupby("step")[column]
    mean = by_step.mean()
    (line,) = ax.plot(mean.index, mean.to_numpy(), label=label, color=color, lw=1.8)
    if runs["replicate"].nunique() > 1:
        lo, hi = by_step.quantile(0.1), by_step.quantile(0.9)
        ax.fill_between(mean.index, lo.to_numpy(), hi.to_numpy(), color=line.get_color(),
                        alpha=0.2, lw=0)


def save(fig: Figure, path: Path) -> Path:
    """Write a PNG atomically, so no half-written figure exists."""
    return files.write_atomic(path, lambda tmp: fig.savefig(tmp, dpi=150, format="png"))


Marks = Sequence[tuple[int, str]]


def event_lines(ax: Axes, marks: Marks, labelled: bool = True) -> None:
    """Dashed vertical lines at the timeline's events, labelled along the top."""
    seen: dict[int, list[str]] = {}
    for step, label in marks:
        seen.setdefault(step, []).append(label)
    for step, labels in sorted(seen.items()):
        ax.axvline(step, color="0.35", ls="--", lw=0.8, zorder=0)
        if labelled:
            ax.annotate(", ".join(dict.fromkeys(labels)), (step, 1.0),
                        xycoords=("data", "axes fraction"), xytext=(2, -2),
                        textcoords="offset points", rotation=90, va="top", ha="left", fontsize=7,
                        color="0.3")


def _panel(runs: pd.DataFrame, columns: Sequence[tuple[str, str]], title: str, ylabel: str,
           marks: Marks = ()) -> Figure:
    fig = figure(figsize=(8, 4.5))
    ax = fig.subplots()
    for column, label in columns:
        band(ax, runs, column, label)
    ax.set(title=title, xlabel="week", ylabel=ylabel, ylim=(0, None))
    ax.grid(alpha=0.3)
    event_lines(ax, marks)
    ax.legend(loc="best", fontsize=8, ncol=2)
    fig.tight_layout()
    return fig


def run_figures(runs: pd.DataFrame, out: Path, agencies: Sequence[str],
                marks: Marks = ()) -> list[Path]:
    """The standard figures of a run: trust by agency, opt-out, coverage, benefit; bands are
    10-90% across replicates, dashed lines the timeline's events."""
    trust_cols = [("trust_mean", "general trust"), *((f"trust_{a}", a) for a in agencies)]
    figures = {
        "trust.png": _panel(runs, trust_cols, "Trust by agency", "mean trust (0-1)", marks),
        "opt_out.png": _panel(runs, [("opt_out_rate", "all citizens"),
                                     *((c, c.removeprefix("opt_out_")) for c in runs.columns
                                       if c.startswith("opt_out_") and c != "opt_out_rate")],
                              "Opted out of at least one programme", "share of citizens", marks),
        "coverage.png": _panel(runs, [("data_coverage", "all programmes"),
                                      *((c, c.removeprefix("coverage_")) for c in runs.columns
                                        if c.startswith("coverage_"))],
                               "Data coverage", "share of citizens' records shared", marks),
        "benefit.png": _panel(runs, [("service_benefit", "service benefit (per citizen)"),
                                     ("public_benefit", "public benefit")],
                              "Benefit of sharing", "benefit units", marks),
    }
    return [save(fig, out / name) for name, fig in figures.items()]


COMPARED = (("trust_mean", "general trust (0-1)"), ("opt_out_rate", "opted out (share)"),
            ("data_coverage", "data coverage (share)"), ("service_benefit", "service benefit"),
            ("public_benefit", "public benefit"))


def compare_figure(runs: pd.DataFrame, differences: pd.DataFrame, reference: str, out: Path,
                   marks: Marks = ()) -> Path:
    """Scenarios side by side (top row) and each one's paired difference to the reference with
    its 10-90% band across replicates (bottom row)."""
    fig = figure(figsize=(3.2 * len(COMPARED), 6))
    axes = fig.subplots(2, len(COMPARED), sharex=True)
    for k, (col, label) in enumerate(COMPARED):
        top, bottom = axes[0, k], axes[1, k]
        for name, group in runs.groupby("scenario", sort=False):
            band(top, group, col, str(name))
        for name, group in differences.groupby("scenario", sort=False):
            band(bottom, group, col, f"{name} - {reference}")
        bottom.axhline(0, color="0.2", lw=0.8)
        top.set_title(label, fontsize=9)
        bottom.set_xlabel("week")
        for ax in (top, bottom):
            ax.grid(alpha=0.3)
            ax.tick_params(labelsize=7)
            event_lines(ax, marks)
    axes[0, 0].set_ylabel("scenario")
    axes[1, 0].set_ylabel(f"difference to {reference}")
    axes[0, 0].legend(fontsize=7, loc="best")
    axes[1, 0].legend(fontsize=7, loc="best")
    fig.tight_layout()
    return save(fig, out)


MIN_SPAN = 0.1  # the least y-range of a 0-1 quantity in the case-study figure


def case_studies_figure(runs: pd.DataFrame, cases: Sequence[Any],
                        marks: dict[str, Marks] | None = None) -> Figure:
    """The case studies side by side, one column each on its own timeline: general trust,
    opt-out and the output that tells the case's story (``sim.case_studies``), each the mean
    with the 10-90% band across replicates; dashed lines mark each case's events (labelled in
    the top row). Trust and opt-out share one scale per row, so cases compare at a glance."""
    rows = (("trust_mean", "general trust (0-1)", "C0"), ("opt_out_rate", "opted out (share)",
                                                           "C3"), (None, None, "C2"))
    fig = figure(figsize=(3.4 * len(cases), 7.6))
    axes = fig.subplots(len(rows), len(cases), sharex="col", squeeze=False)
    for j, case in enumerate(cases):
        sub = runs[runs.scenario == case.name]
        for i, (column, label, colour) in enumerate(rows):
            ax = axes[i, j]
            band(ax, sub, column or case.story, case.title, colour)
            ax.set_ylabel(label or case.story_label, fontsize=8)
            ax.grid(alpha=0.3)
            ax.tick_params(labelsize=7)
            event_lines(ax, (marks or {}).get(case.name, ()), labelled=i == 0)
        axes[0, j].set_title(case.title, fontsize=9)
        axes[-1, j].set_xlabel("week")
    for i in (0, 1):  # one scale per row of the shared outputs: no tiny wiggle looks like a fall
        limits = [ax.get_ylim() for ax in axes[i]]
        low = 0.0 if i == 1 else min(lo for lo, _ in limits)
        for ax in axes[i]:
            ax.set_ylim(low, max(hi for _, hi in limits))
    for case, ax in zip(cases, axes[-1], strict=True):  # a story in trust or shares: span >= 0.1
        lo, hi = ax.get_ylim()
        if case.story.startswith(("trust_", "opt_out", "coverage_")) and hi - lo < MIN_SPAN:
            mid = (lo + hi) / 2
            ax.set_ylim(max(0.0, mid - MIN_SPAN / 2), max(0.0, mid - MIN_SPAN / 2) + MIN_SPAN)
    fig.tight_layout()
    return fig
