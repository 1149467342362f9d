"""Figures of a sweep: indices over time per output, convergence, seed-noise share.

Drawn to the standard of the run figures (:mod:`sim.plots`): a title naming the sweep, a caption
giving its sizes and what the intervals are, outputs in words. Indices over time are heat maps
with the parameters ranked by influence, so a dozen parameters never share ten colours; the
noise floor (the dummy) is a row of its own and cells that do not clear it are dotted. No index
is drawn below 0: Sobol estimates and bootstrap intervals can dip below it, the indices cannot.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from sim import plots
from sim.plots import save
from sim.sweeps.spec import DUMMY, SweepSpec

CMAP = "Blues"  # 0 is white: a parameter without influence leaves its cells blank
TOP = 5  # parameters named in colour in the convergence figure; the others grey


def sizes(spec: SweepSpec, citizens: int | None, points: int) -> str:
    """The sweep's design and sizes in words, for the captions."""
    who = f" x {citizens:,} citizens" if citizens else ""
    return (f"{spec.method.capitalize()} design, N = {spec.n} ({points:,} design points), "
            f"{spec.replicates} replicates each{who}, {spec.steps} weeks.")


def intervals(spec: SweepSpec) -> str:
    """What the indices and their intervals are, for the captions of the index figures."""
    return (f"Indices of the replicate means; intervals: {spec.conf_level:.0%} bootstrap "
            f"({spec.num_resamples} resamples).")


def _measures(method: str) -> list[tuple[str, str]]:
    if method == "sobol":
        return [("S1", "first-order index S1"), ("ST", "total index ST")]
    return [("mu_star", "mu* (mean absolute elementary effect)")]


def _output_label(output: str) -> str:
    return plots.CORE_LABELS.get(output, output)


def wrap_path(path: str, width: int = 28) -> str:
    """A dotted path on lines of at most about ``width`` characters, broken after dots."""
    parts = path.split(".")
    pieces = [f"{p}." for p in parts[:-1]] + parts[-1:]
    lines = [""]
    for piece in pieces:
        if lines[-1] and len(lines[-1]) + len(piece) > width:
            lines.append(piece)
        else:
            lines[-1] += piece
    return "\n".join(lines)


def index_unit(output: str) -> str:
    """The unit of mu* of ``output``: that of the output."""
    if output.startswith("trust_"):
        return "trust, 0-1"
    if plots.is_share(output):
        return "share, 0-1"
    return "model index" if output.endswith("benefit") else "output units"


def _caption(text: str, about: str) -> str:
    return f"{about} {text}".strip()


def ranked(sub: pd.DataFrame, col: str) -> list[str]:
    """Parameters by their mean ``col`` over the weeks, most influential first; the dummy
    last."""
    mean = sub.groupby("parameter", sort=False)[col].mean().clip(lower=0)
    order = [p for p in mean.sort_values(ascending=False, kind="stable").index if p != DUMMY]
    return [*order, *([DUMMY] if DUMMY in mean.index else [])]


def _edges(steps: np.ndarray) -> np.ndarray:
    """Cell edges around each kept step (steps may be unevenly spaced at the end)."""
    if len(steps) == 1:
        return np.array([steps[0] - 0.5, steps[0] + 0.5])
    mid = (steps[1:] + steps[:-1]) / 2
    return np.concatenate([[steps[0] - (mid[0] - steps[0])], mid,
                           [steps[-1] + (steps[-1] - mid[-1])]])


def _heat(ax: Axes, sub: pd.DataFrame, col: str, order: list[str], vmax: float) -> Any:
    """One output's index as parameters (rows, in ``order``) x weeks, clipped at 0; a dot
    marks a cell whose lower interval bound does not clear the dummy's upper bound."""
    value = sub.pivot_table(index="parameter", columns="step", values=col, aggfunc="first")
    value = value.reindex(order)
    conf = sub.pivot_table(index="parameter", columns="step", values=f"{col}_conf",
                           aggfunc="first").reindex(order)
    steps = value.columns.to_numpy(dtype=float)
    shown = np.ma.masked_invalid(value.to_numpy(dtype=float).clip(min=0))
    mesh = ax.pcolormesh(_edges(steps), np.arange(len(order) + 1), shown, cmap=CMAP, vmin=0,
                         vmax=vmax, shading="flat")
    if DUMMY in value.index:
        floor = (value.loc[DUMMY] + conf.loc[DUMMY].fillna(0)).to_numpy(dtype=float)
        low = (value - conf.fillna(0)).to_numpy(dtype=float)
        rows, cols = np.nonzero(low[:-1] <= floor[None, :])
        ax.plot(steps[cols], rows + 0.5, "o", ms=2.6, mfc="white", mec="#555555", mew=0.5,
                zorder=3)
        ax.axhline(len(order) - 1, color=plots.BLACK, lw=0.8)
    ax.set_facecolor("#E8E8E8")  # no index at that week (the output did not vary)
    ax.set_ylim(len(order), 0)
    ax.set_yticks(np.arange(len(order)) + 0.5,
                  ["dummy (noise floor)" if p == DUMMY else str(p) for p in order], fontsize=7)
    ax.grid(False)
    ax.tick_params(axis="y", length=0)
    return mesh


def indices_over_time(indices: pd.DataFrame, method: str, path: Path, *, name: str = "sweep",
                      about: str = "", interval: str = "") -> Path:
    """One heat map per output and index: parameters ranked by influence (rows), weeks
    (columns), colour the index (Sobol on one 0-1 scale; mu* on each output's scale)."""
    outputs = list(dict.fromkeys(indices["output"]))
    measures = _measures(method)
    params = indices["parameter"].nunique()
    height = (0.17 * params + 0.95) * len(outputs) + 1.3
    width = 6.2 * len(measures) + 2.6
    note = ("Sobol indices: the share of the output's variance due to each parameter alone "
            "(S1) or with its interactions (ST), 0 to 1; estimates below 0 are drawn as 0. "
            if method == "sobol" else
            "mu*: the mean absolute change in the output when one parameter moves across its "
            "range, in the output's units; never below 0. ")
    caption = _caption(f"{interval} {note}Rows: parameters, most influential first (mean over "
                       "the weeks); a dot: the index's lower bound does not clear the dummy's "
                       "upper bound (indistinguishable from seed noise); grey: no index that "
                       "week (the output did not vary).", about)
    with mpl.rc_context(plots.STYLE):
        fig = plots.titled_figure(f"{name}: {method.capitalize()} indices over time",
                                  caption, width, height)
        axes = fig.subplots(len(outputs), len(measures), squeeze=False, sharex=True)
        for r, output in enumerate(outputs):
            sub = indices[indices.output == output]
            order = ranked(sub, measures[-1][0])
            if method == "sobol":
                vmax = 1.0
            else:
                top = float(np.nanmax(sub[measures[0][0]].to_numpy(dtype=float), initial=0.0))
                vmax = top if top > 0 else 1.0
            for c, (col, label) in enumerate(measures):
                ax = axes[r, c]
                mesh = _heat(ax, sub, col, order, vmax)
                ax.set_title(f"{_output_label(output)}: {label}", fontsize=9, loc="left")
                if c > 0:
                    ax.set_yticklabels([])
            if method != "sobol" or r == 0:
                cax = axes[r, -1].inset_axes((1.02, 0.0, 0.015, 1.0))
                bar = fig.colorbar(mesh, cax=cax)
                bar.ax.tick_params(labelsize=7)
                bar.set_label("index (0-1)" if method == "sobol"
                              else f"mu* ({index_unit(output)})", fontsize=7)
        for ax in axes[-1]:
            ax.set_xlabel(plots.WEEKS)
        plots.finish(fig)
        return save(fig, path)


def _clipped(values: np.ndarray, conf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Values clipped at 0 and their error bars (below, above) clipped at 0 too."""
    shown = np.clip(values, 0, None)
    conf = np.nan_to_num(conf)
    return shown, np.vstack([np.minimum(conf, shown), np.clip(values + conf, 0, None) - shown])


def convergence_figure(conv: pd.DataFrame, method: str, path: Path, *, name: str = "sweep",
                       about: str = "", interval: str = "") -> Path:
    """Each output's index at the last step against the number of base points N: the most
    influential parameters in colour and labelled, the dummy dashed, the others grey."""
    outputs = list(dict.fromkeys(conv["output"]))
    col = "ST" if method == "sobol" else "mu_star"
    label = "total index ST" if method == "sobol" else "mu*"
    what = "the total index ST" if method == "sobol" else "mu*"
    ncols = min(3, len(outputs))
    nrows = -(-len(outputs) // ncols)
    caption = _caption(f"{interval} Each point: {label} at the last week from the first N/8, "
                       "N/4, N/2 and N base points of the same nested design (as many as there "
                       "are); "
                       "whiskers: the interval, clipped at 0. "
                       f"Coloured: the {TOP} largest at the full N; grey: the other parameters; "
                       "dashed: the dummy (noise floor). Stable values as N grows mean N is "
                       "large enough.", about)
    with mpl.rc_context(plots.STYLE):
        fig = plots.titled_figure(f"{name}: convergence of {what}", caption,
                                  4.9 * ncols, 3.4 * nrows + 1.1)
        axes = fig.subplots(nrows, ncols, squeeze=False)
        groups = []
        for ax, output in zip(axes.flat, outputs, strict=False):
            sub = conv[conv.output == output]
            last = sub[sub.n == sub.n.max()].set_index("parameter")[col].clip(lower=0)
            top = [p for p in last.sort_values(ascending=False, kind="stable").index
                   if p != DUMMY][:TOP]
            labels = plots.EndLabels(ax, fontsize=7, wrap=24)
            for param, g in sub.groupby("parameter", sort=False):
                g = g.sort_values("n")
                shown, err = _clipped(g[col].to_numpy(float), g[f"{col}_conf"].to_numpy(float))
                if param == DUMMY:
                    colour, ls, lw, z = plots.BLACK, "--", 1.0, 4
                elif param in top:
                    colour, ls, lw, z = plots.PALETTE[top.index(param)], "-", 1.6, 5
                else:
                    colour, ls, lw, z = "#BBBBBB", "-", 0.9, 2
                ax.errorbar(g.n, shown, yerr=err, marker="o", ms=2.5, capsize=2, color=colour,
                            ls=ls, lw=lw, elinewidth=0.7, zorder=z)
                if param == DUMMY or param in top:
                    labels.add(float(g.n.iloc[-1]), float(shown[-1]),
                               "dummy (noise floor)" if param == DUMMY else wrap_path(str(param)),
                               colour)
            ax.set_xscale("log", base=2)
            hi = ax.get_ylim()[1]
            ax.set_ylim(0, hi if hi > 0 else 1.0)
            ax.set_title(textwrap.fill(_output_label(output), 40), fontsize=9)
            ax.set_xlabel("N (base points)")
            ax.set_ylabel(label if method == "sobol"
                          else f"mu* ({index_unit(output)})")
            groups.append(labels)
        for ax in list(axes.flat)[len(outputs):]:
            ax.set_visible(False)
        plots.finish(fig, labels=groups)
        return save(fig, path)


def noise_figure(noise: pd.DataFrame, path: Path, *, name: str = "sweep",
                 about: str = "") -> Path:
    """The share of each output's variance that is seed noise, week by week (0 to 100%)."""
    caption = _caption("Seed share: the mean variance across replicates within a design point "
                       "over the variance across all runs. Near 100%: seed noise swamps the "
                       "parameters (use more replicates or citizens); near 0: the parameters "
                       "drive the output.", about)
    with mpl.rc_context(plots.STYLE):
        fig: Figure = plots.titled_figure(f"{name}: share of variance due to seeds", caption,
                                          plots.WIDTH, 4.8)
        ax = fig.subplots()
        lines = []
        for k, (output, g) in enumerate(noise.groupby("output", sort=False)):
            g = g.sort_values("step")
            colour, dash = plots.styled(k)
            lines.append(plots.Line(_output_label(str(output)), g.step.to_numpy(float),
                                    g.seed_share.to_numpy(float), colour=colour, style=dash))
        steps = int(noise.step.max()) if len(noise) else 1
        labels = plots.lines_panel(ax, lines, steps, ylabel="seed share of the variance",
                                   min_span=plots.MIN_SPAN, ceiling=1.0, share=True)
        plots.finish(fig, labels=[labels] if labels else [])
        return save(fig, path)
