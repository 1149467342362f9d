"""The frontier figure: trust against benefit and against net value, per policy mix.

Left, trust against benefit in real units, marker area proportional to the harm of records not
shared; right, trust against net value (benefit minus harm). Each mix is a point at its mean,
with 10-90% bars from seeds (thin, dark) and from the posterior (thick, light) when given; the
mixes on each panel's Pareto frontier are joined and named. Colour is the consent regime.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from sim import plots
from sim.valuation import Unit

REGIME_COLOURS = {"none": "#7f7f7f", "opt_out": "#1f77b4", "opt_in": "#d62728",
                  "dynamic": "#2ca02c"}
UNIT_WORDS = {Unit.GBP: "£", Unit.QALY: "QALYs", Unit.STAFF_HOURS: "staff hours",
              Unit.DEATHS: "deaths", Unit.CASES: "cases"}


def scale(values: np.ndarray) -> tuple[float, str]:
    """A divisor and its word (bn, m, k) that keep the axis numbers short."""
    top = float(np.nanmax(np.abs(values))) if np.isfinite(values).any() else 0.0
    for div, word in ((1e9, "bn"), (1e6, "m"), (1e3, "thousand")):
        if top >= div:
            return div, word
    return 1.0, ""


def amount_text(value: float, unit: Unit) -> str:
    """An amount in words with its unit, e.g. '£57.0m' or '1.2 thousand QALYs'."""
    div, word = scale(np.array([value]))
    if unit is Unit.GBP:
        return f"£{value / div:.3g}{word if word != 'thousand' else 'k'}"
    return f"{value / div:.3g}{' ' + word if word else ''} {UNIT_WORDS[unit]}"


def amount_label(kind: str, unit: Unit, word: str) -> str:
    """An axis label in words with its unit, e.g. 'Net value, £m a year'."""
    if unit is Unit.GBP:
        return f"{kind}, £{word} a year" if word else f"{kind}, £ a year"
    what = UNIT_WORDS[unit]
    return f"{kind}, {word + ' ' if word else ''}{what} a year"


def _panel(ax: Axes, table: pd.DataFrame, metric: str, flag: str, div: float, sizes: np.ndarray,
           posterior: bool) -> None:
    x = table[f"{metric}_mean"].to_numpy() / div
    y = table["trust_mean"].to_numpy()
    colours = [REGIME_COLOURS.get(str(c), plots.BLUE) for c in
               (table["consent"] if "consent" in table else ["opt_out"] * len(table))]
    if posterior:
        ax.errorbar(x, y, xerr=[x - table[f"{metric}_post_p10"] / div,
                                table[f"{metric}_post_p90"] / div - x],
                    yerr=[y - table["trust_post_p10"], table["trust_post_p90"] - y],
                    fmt="none", ecolor="#c7c7c7", elinewidth=3.5, zorder=1)
    ax.errorbar(x, y, xerr=[x - table[f"{metric}_seed_p10"] / div,
                            table[f"{metric}_seed_p90"] / div - x],
                yerr=[y - table["trust_seed_p10"], table["trust_seed_p90"] - y],
                fmt="none", ecolor="#555555", elinewidth=0.8, zorder=2)
    ax.scatter(x, y, s=sizes, c=colours, edgecolors="white", linewidths=0.6, zorder=3)
    on = table[flag].to_numpy(bool)
    order = np.argsort(x[on])
    ax.plot(x[on][order], y[on][order], color="black", lw=1.0, ls="--", zorder=2.5)
    lines = []
    for k, i in enumerate(np.flatnonzero(on)[np.argsort(x[on])], start=1):
        ax.annotate(str(k), (x[i], y[i]), xytext=(5, 4), textcoords="offset points",
                    fontsize=8, fontweight="bold", zorder=4)
        lines.append(f"{k}: {table.label.iloc[i]}")
    ax.text(0.01, 0.99, "On the frontier:\n" + "\n".join(lines), transform=ax.transAxes,
            fontsize=6.5, va="top", ha="left", zorder=5,
            bbox={"facecolor": "white", "edgecolor": "#bbbbbb", "alpha": 0.85, "pad": 2})


def frontier_figure(table: pd.DataFrame, unit: Unit, path: Path, name: str, caption: str,
                    posterior: bool = False) -> Path:
    """Draw ``frontier.csv``'s table into ``path`` (PNG)."""
    u = unit.value
    benefit, harm, net = (f"benefit_{u}_per_year", f"harm_{u}_per_year",
                          f"net_value_{u}_per_year")
    bars = "10-90% bars: seeds (thin)" + (", posterior (thick, grey)" if posterior else "")
    harm_values = table[f"{harm}_mean"].to_numpy(float)
    finite = np.isfinite(harm_values)
    low = float(np.nanmin(harm_values)) if finite.any() else 0.0
    top = float(np.nanmax(harm_values)) if finite.any() else 0.0
    # area from the least harm to the most, so that differences between mixes show
    sizes = 20 + (200 * (np.nan_to_num(harm_values, nan=low) - low) / (top - low)
                  if top > low else np.full(len(table), 60.0))
    fig = plots.titled_figure(
        f"{name}: trust against benefit and net value per policy mix",
        f"{caption} Trust: mean general trust (0-1) over the window; amounts: the window's mean "
        f"week x 52. Marker area: harm of records not shared, from "
        f"{amount_text(low, unit)} to {amount_text(top, unit)} a year. Dashed: the Pareto frontier "
        f"(no other mix has both more trust and more of the x quantity). {bars}. Colour: "
        f"consent regime.", 11.0, 6.2)
    axes = fig.subplots(1, 2, sharey=True)
    for ax, metric, flag, kind in ((axes[0], benefit, "frontier_trust_benefit", "Benefit"),
                                   (axes[1], net, "frontier_trust_net_value",
                                    "Net value (benefit - harm)")):
        values = table[[f"{metric}_mean", f"{metric}_seed_p10", f"{metric}_seed_p90"]]
        div, word = scale(values.to_numpy(float))
        _panel(ax, table, metric, flag, div, sizes, posterior)
        ax.set_xlabel(amount_label(kind, unit, word))
        ax.grid(True)
    axes[0].set_ylabel("General trust, mean 0-1 score")
    present = [r for r in REGIME_COLOURS if "consent" in table and (table.consent == r).any()]
    handles = [axes[0].scatter([], [], s=40, c=REGIME_COLOURS[r], label=r) for r in present]
    legend = fig.legend(handles=handles, ncols=max(len(handles), 1), title="consent regime",
                        fontsize=8) if handles else None
    plots.finish(fig, legend)
    return plots.save(fig, path)
