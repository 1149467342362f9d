"""One figure per stylized fact of the model, drawn from the experiments the tests assert.

Runs each experiment of ``sim.stylized_facts`` over several seeds and writes one PNG per fact,
sf1_breach_recovery.png ... sf7_recipients.png, plus sf4_granular_consent.png (SF4 by purpose),
each showing the quantities that tests/test_stylized_facts.py (and, for granular consent,
tests/test_control.py) check: the seed mean as a line, the min-max across seeds as a band,
scheduled events as dashed lines. One step is one week.

    python experiments/stylized_facts.py --out docs/figures [--seeds 5] [--citizens 5000]
        [--only sf4_granular_consent.png]

Figures are drawn with matplotlib's Agg canvas (no pyplot, no display) and written atomically,
so a reader never sees a half-written PNG.
"""

from __future__ import annotations

import argparse
import textwrap
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.legend import Legend
from matplotlib.ticker import FuncFormatter, MaxNLocator

from sim import baseline, files, plots
from sim import stylized_facts as sf
from sim.command import integer
from sim.plots import (
    BLACK,
    BLUE,
    DPI,
    EVENT_COLOUR,
    GREEN,
    GREY,
    ORANGE,
    PURPLE,
    SKY,
    VERMILLION,
    WIDTH,
)
from sim.segments import NHS_SEGMENTS

#: the one colour-blind-safe palette and figure style of every figure (sim.plots); the
#: stylized-fact figures set their axis labels a little larger
STYLE: dict[str, Any] = {**plots.STYLE, "axes.labelsize": 9.5}

WEEKS = "weeks"
TRUST_UNIT = "(0-1)"
TRUST = f"trust {TRUST_UNIT}"
SHARE = "share of population"

Runs = list[pd.DataFrame]  # one time series per seed


# ------------------------------------------------------------------ running the experiments
@dataclass(frozen=True)
class Seeds:
    """The seeds to run every experiment for, and the population size to run it with."""

    values: tuple[int, ...]
    citizens: int

    def __iter__(self) -> Iterator[int]:
        return iter(self.values)

    def __len__(self) -> int:
        return len(self.values)


def over_seeds(experiment: Callable[..., Any], seeds: Sequence[int]) -> Any:
    """Run ``experiment`` for every seed; regroup dict results by arm (a list per arm)."""
    n = seeds.citizens if isinstance(seeds, Seeds) else sf.N_CITIZENS
    results = [experiment(seed=s, n=n) for s in seeds]
    if isinstance(results[0], dict):
        return {arm: [r[arm] for r in results] for arm in results[0]}
    return results


def stack(runs: Runs, column: str) -> np.ndarray:
    """One column of every seed's run as a (seeds, steps) array."""
    return np.vstack([df[column].to_numpy() for df in runs])


# ------------------------------------------------------------------ drawing helpers
def new_figure(title: str, height: float, caption: str) -> Figure:
    """A figure with the fact as its title and the seeds/population caption at the bottom."""
    fig = Figure(figsize=(WIDTH, height), dpi=DPI)
    FigureCanvasAgg(fig)
    fig.suptitle("\n".join(textwrap.wrap(title, 94)), x=0.01, y=1 - 6 / (72 * height),
                 ha="left", va="top")
    fig.text(0.01, 4 / (72 * height), caption, fontsize=7.5, color=GREY, ha="left",
             va="bottom")
    return fig


def finish(fig: Figure, legend: Legend | None = None) -> None:
    """Tight layout above the caption (and a figure legend above it); tight_layout itself
    leaves room for the title."""
    points = 72 * fig.get_figheight()
    bottom = (4 + 1.4 * 7.5 + 2) / points
    if legend is not None:
        legend.set_bbox_to_anchor((0.5, bottom), transform=fig.transFigure)
        legend.set_loc("lower center")
        bottom += legend.get_window_extent(fig.canvas.get_renderer()).height / fig.bbox.height
    fig.tight_layout(rect=(0, bottom, 1, 1), h_pad=1.0, w_pad=1.5)


def figure_legend(fig: Figure, ax: Axes, ncol: int, **kwargs: Any) -> Legend:
    """One legend for all panels, below them (placed by :func:`finish`)."""
    handles, labels = ax.get_legend_handles_labels()
    return fig.legend(handles, labels, ncol=ncol, loc="lower center", **kwargs)


def band(ax: Axes, runs: Runs, column: str, colour: str, label: str | None = None,
         **line: Any) -> np.ndarray:
    """The seed mean as a line and the min-max across seeds as a band; returns the mean."""
    y = stack(runs, column)
    x = runs[0]["step"].to_numpy()
    ax.fill_between(x, y.min(axis=0), y.max(axis=0), color=colour, alpha=0.2, linewidth=0)
    mean = y.mean(axis=0)
    ax.plot(x, mean, color=colour, label=label, **line)
    return mean


def relative(runs: Runs, column: str, step: int) -> Runs:
    """Each seed's ``column`` minus its own value at ``step``: paired changes, so the band shows
    the spread of the effect rather than of the starting populations."""
    return [df.assign(**{column: df[column] - df[column].iloc[step]}) for df in runs]


def events(ax: Axes, marks: Sequence[tuple[int, str]], labels: bool = True) -> None:
    """Dashed vertical lines at scheduled events, with a small rotated label at the top.

    Call after the x-limits are set: a label next to the left edge goes right of its line.
    """
    lo, hi = ax.get_xlim()
    for step, text in marks:
        ax.axvline(step, color=EVENT_COLOUR, linestyle="--", linewidth=0.9, zorder=1)
        if labels and text:
            right = step - lo < 0.05 * (hi - lo)
            ax.annotate(text, (step, 1), xycoords=ax.get_xaxis_transform(),
                        xytext=(2.5 if right else -2.5, -3), textcoords="offset points",
                        rotation=90, ha="left" if right else "right", va="top", fontsize=7,
                        color=EVENT_COLOUR, zorder=5, linespacing=1.0)


def weeks_axis(ax: Axes, steps: int, label: bool = True) -> None:
    """x from week 0 to the end of the run, labelled in weeks."""
    ax.set_xlim(0, steps)
    if label:
        ax.set_xlabel(WEEKS)


def headroom(ax: Axes, frac: float = 0.35) -> None:
    """Extend the y-axis upward so event labels at the top do not sit on the data."""
    lo, hi = ax.get_ylim()
    ax.set_ylim(lo, hi + frac * (hi - lo))


def percent(ax: Axes) -> None:
    """Shares on the y-axis as percentages at round steps."""
    ax.yaxis.set_major_locator(MaxNLocator(6, steps=[1, 2, 2.5, 5, 10]))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{round(v * 100, 6):g}%"))


def save(fig: Figure, path: Path) -> None:
    """Write the PNG atomically (:func:`sim.files.write_atomic`)."""
    files.write_atomic(path, lambda tmp: fig.savefig(tmp, format="png", dpi=DPI))


def agency_label(name: str) -> str:
    """Plain-words name of an agency of the baseline world."""
    return next((a.label for a in baseline.AGENCIES if a.name == name and a.label), name)


def span(values: Sequence[float], fmt: str = "{:.0f}") -> str:
    """'a' if all seeds agree, else 'a-b' (for per-seed statistics in legends)."""
    lo, hi = fmt.format(min(values)), fmt.format(max(values))
    return lo if lo == hi else f"{lo}-{hi}"


# ------------------------------------------------------------------ the seven figures
def fig_sf1(seeds: Sequence[int], caption: str) -> Figure:
    """SF1: the fall after one breach is fast, the recovery at least 3x slower (but it comes)."""
    event = 10
    runs: Runs = over_seeds(partial(sf.sf1_breach_recovery, event_step=event), seeds)
    steps = len(runs[0]) - 1
    series = (("trust_nhs", "NHS", BLUE), ("trust_university", "University researchers", GREEN),
              ("trust_mean", "General trust in public-sector data use", VERMILLION))
    fig = new_figure("1. After a publicised breach trust falls within weeks and takes far "
                     "longer to recover", 4.8, caption)
    ax_level, ax_change = fig.subplots(1, 2)
    for column, name, colour in series:
        band(ax_level, runs, column, colour, name)
        mean = band(ax_change, relative(runs, column, event - 1), column, colour)
        stats = [sf.fall_and_recovery(df[column], event) for df in runs]
        fall, _, half = sf.fall_and_recovery(pd.Series(mean), event)
        trough = event + fall
        ax_change.plot(trough, mean[trough], "o", color=colour, markersize=5, zorder=6)
        if np.isfinite(half):
            back = trough + int(half)
            ax_change.plot([trough, back], [mean[trough]] * 2, ":", color=colour, linewidth=1)
            ax_change.plot(back, mean[back], "D", color=colour, markersize=5, zorder=6,
                           markeredgecolor="white")
        ax_change.plot([], [], color=colour, label=(
            f"{name.split(' in ')[0]}: falls {span([s[1] for s in stats], '{:.2f}')} "
            f"in {span([s[0] for s in stats])} wk;\nhalf regained "
            f"{span([s[2] for s in stats])} wk after the trough"))
    ax_change.plot([], [], "o", color=GREY, label="trough")
    ax_change.plot([], [], "D", color=GREY, markeredgecolor="white",
                   label="half the loss regained")
    ax_level.set_title("Trust by agency")
    ax_level.set_ylabel(TRUST)
    ax_level.set_ylim(0, 1)
    ax_level.legend(loc="upper right")
    ax_change.set_title(f"Change since week {event - 1}, the week before the breach")
    ax_change.set_ylabel("change in trust (trust points)")
    ax_change.axhline(0, color=BLACK, linewidth=0.6)
    headroom(ax_change, 0.25)
    ax_change.legend(loc="lower right", fontsize=7.5, handlelength=1.5)
    for ax in (ax_level, ax_change):
        weeks_axis(ax, steps)
        events(ax, [(event, "breach")])
    finish(fig)
    return fig


def fig_sf2(seeds: Sequence[int], caption: str) -> Figure:
    """SF2: repeated breaches lower trust, raise opt-outs and cut coverage and both benefits."""
    runs: dict[str, Runs] = over_seeds(sf.sf2_low_trust, seeds)
    steps = len(runs["no shocks"][0]) - 1
    arms = (("no shocks", BLUE), ("repeated breaches", VERMILLION))
    panels = (("trust_nhs", "Trust in the NHS", TRUST),
              ("trust_mean", "General trust", TRUST),
              ("opt_out_rate", "Opted out of any programme", SHARE),
              ("data_coverage", "Data coverage (all programmes)", SHARE),
              ("public_benefit", "Public benefit", "benefit index"),
              ("service_benefit", "Service benefit", "benefit per citizen (index)"))
    marks = [(10, "GP"), (25, "care"), (40, "GP"), (55, "care"), (70, "GP")]
    fig = new_figure("2. Low trust means more opt-outs, less data and less benefit; "
                     "without shocks all stays level", 6.9, caption)
    axes = fig.subplots(2, 3, sharex=True)
    for ax, (column, title, unit) in zip(axes.flat, panels, strict=True):
        for arm, colour in arms:
            band(ax, runs[arm], column, colour, arm)
        ax.set_title(title)
        ax.set_ylabel(unit)
        if unit == SHARE:
            percent(ax)
        headroom(ax, 0.3 if ax in axes[0] else 0.05)
        weeks_axis(ax, steps, label=ax in axes[1])
        events(ax, marks, labels=ax in axes[0])
    axes[0, 0].plot([], [], "--", color=EVENT_COLOUR, linewidth=0.9,
                    label="breach of GP records or of the shared care record "
                          "(repeated-breaches arm only)")
    finish(fig, figure_legend(fig, axes[0, 0], ncol=3))
    return fig


def fig_sf3(seeds: Sequence[int], caption: str) -> Figure:
    """SF3: opt-outs bunch between the publicity and the deadline yet stay under 10%."""
    notice, deadline = 5, 11
    runs: Runs = over_seeds(partial(sf.sf3_opt_out_surge, notice=notice, deadline=deadline),
                            seeds)
    steps = len(runs[0]) - 1
    rate = stack(runs, "opt_out_rate")
    rise = np.diff(rate, axis=1, prepend=rate[:, :1])
    share_in_window = rise[:, notice:deadline + 1].sum(axis=1) / rise.sum(axis=1)
    fig = new_figure("3. A publicised controversy with an opt-out deadline brings a surge of "
                     "opt-outs, bunched before the deadline and still in single digits", 8.4,
                     caption)
    ax_rate, ax_rise, ax_trust = fig.subplots(3, 1, sharex=True,
                                              gridspec_kw={"height_ratios": [1.3, 1, 1]})
    surge = rate[:, -1] - rate[:, notice - 1]
    band(ax_rate, runs, "opt_out_rate", VERMILLION,
         f"opted out of any programme (+{span(surge * 100, '{:.1f}')} points by week {steps})")
    ax_rate.axhline(0.10, color=BLACK, linewidth=1, linestyle=":")
    ax_rate.text(steps, 0.10, "10%: single digits below this line ", ha="right", va="bottom",
                 fontsize=8)
    ax_rate.set_ylim(0, 0.14)
    percent(ax_rate)
    ax_rate.set_ylabel(f"opt-out rate\n({SHARE})")
    ax_rate.set_title("Opt-out rate")
    ax_rate.legend(loc="lower right")

    x = runs[0]["step"].to_numpy()
    mean_rise = rise.mean(axis=0) * 100
    err = np.vstack([mean_rise - rise.min(axis=0) * 100, rise.max(axis=0) * 100 - mean_rise])
    inside = (x >= notice) & (x <= deadline)
    ax_rise.axvspan(notice - 0.5, deadline + 0.5, color=ORANGE, alpha=0.1, linewidth=0)
    ax_rise.bar(x, mean_rise, width=0.8, color=np.where(inside, VERMILLION, SKY),
                yerr=err, error_kw={"elinewidth": 0.7, "capsize": 1.5, "ecolor": GREY})
    ax_rise.text(deadline + 1.5, 0.9, f"{span(share_in_window * 100)}% of each seed's rise "
                 f"falls in weeks {notice}-{deadline} (shaded)", fontsize=8, va="top",
                 transform=ax_rise.get_xaxis_transform())
    ax_rise.set_ylabel("weekly increase\n(percentage points)")
    ax_rise.set_title("Weekly increase in the opt-out rate (bars: mean; whiskers: min-max)")
    ax_rise.grid(axis="x", visible=False)

    drop = [df.trust_nhs.iloc[notice - 1] - df.trust_nhs.min() for df in runs]
    band(ax_trust, runs, "trust_nhs", BLUE,
         f"trust in the NHS (falls by {span(drop, '{:.3f}')} after the story)")
    ax_trust.set_ylabel(TRUST)
    ax_trust.set_title("Trust in the NHS")
    ax_trust.legend(loc="lower right")

    marks = [(notice, "scandal +\ndeadline set"), (deadline, "deadline")]
    for ax in (ax_rate, ax_rise, ax_trust):
        weeks_axis(ax, steps, label=ax is ax_trust)
        events(ax, marks, labels=ax is ax_rate)
    finish(fig)
    return fig


def fig_sf4(seeds: Sequence[int], caption: str) -> Figure:
    """SF4: control keeps trust a little higher in both worlds (it relieves the grievances of
    objectors who could not refuse); it costs coverage, more under low trust."""
    runs: dict[tuple[str, str], Runs] = over_seeds(sf.sf4_citizen_control, seeds)
    steps = len(runs["high trust", "none"][0]) - 1
    regimes = (("none", "no choice (consent: none)", GREY),
               ("dynamic", "dynamic consent + dashboard", GREEN))
    fig = new_figure("4. Giving citizens control keeps trust a little higher; it costs data "
                     "coverage, more when trust is low", 6.8, caption)
    axes = fig.subplots(2, 2, sharex=True, sharey="row")
    for col, level in enumerate(("high trust", "low trust")):
        ax_trust, ax_cover = axes[0, col], axes[1, col]
        for regime, label, colour in regimes:
            band(ax_trust, runs[level, regime], "trust_nhs", colour, label)
            band(ax_cover, runs[level, regime], "coverage_gp_records", colour, label)
        cost = (stack(runs[level, "none"], "coverage_gp_records")[:, -1]
                - stack(runs[level, "dynamic"], "coverage_gp_records")[:, -1])
        ax_cover.text(0.98, 0.04, f"coverage cost of control at week {steps}:\n"
                      f"{span(cost * 100, '{:.1f}')} percentage points",
                      transform=ax_cover.transAxes, ha="right", va="bottom", fontsize=8)
        gain = (stack(runs[level, "dynamic"], "trust_nhs")[:, -1]
                - stack(runs[level, "none"], "trust_nhs")[:, -1])
        ax_trust.set_title(level.capitalize() + (": no breaches" if level == "high trust"
                                                 else ": GP breaches in weeks 10, 40, 70")
                           + f"\nwith control, trust {span(gain * 100, '{:.1f}')} points higher "
                           f"at week {steps}", fontsize=9)
        for ax in (ax_trust, ax_cover):
            weeks_axis(ax, steps, label=ax is ax_cover)
    axes[0, 0].set_ylabel(f"trust in the NHS {TRUST_UNIT}")
    axes[1, 0].set_ylabel(f"GP-record coverage\n({SHARE})")
    percent(axes[1, 0])
    headroom(axes[0, 0], 0.3)
    lo, hi = axes[1, 0].get_ylim()
    axes[1, 0].set_ylim(lo - 0.25 * (hi - lo), hi)
    for col, level in enumerate(("high trust", "low trust")):  # after the shared y-limits
        marks = [(1, "regime set")]
        if level == "low trust":
            marks += [(10, "breach"), (40, "breach"), (70, "breach")]
        events(axes[0, col], marks)
        events(axes[1, col], marks, labels=False)
    axes[1, 0].legend(loc="center left")
    finish(fig)
    return fig


def fig_sf4_granular(seeds: Sequence[int], caption: str) -> Figure:
    """SF4, granular consent: refusing the commercial use only keeps the research use."""
    scandal = 10
    runs: dict[str, Runs] = over_seeds(partial(sf.sf4_granular_consent, scandal=scandal), seeds)
    steps = len(runs["dynamic"][0]) - 1
    fig = new_figure("4b. With consent by purpose, citizens uneasy about commercial re-use refuse "
                     "only that use and keep sharing for research", 4.6, caption)
    ax_refuse, ax_cover = fig.subplots(1, 2, sharex=True)
    band(ax_refuse, runs["opt_out"], "gp_opted_out", GREY,
         "opt-out: opted out of GP records (both uses)")
    band(ax_refuse, runs["dynamic"], "refusing_commercial", VERMILLION,
         "dynamic consent: refusing the commercial use")
    band(ax_refuse, runs["dynamic"], "refusing_planning_research", BLUE,
         "dynamic consent: refusing the research use")
    ax_refuse.set_ylabel(f"refusing\n({SHARE})")
    ax_refuse.set_title("Refusals by purpose (GP records: 80% research, 20% commercial)")
    percent(ax_refuse)
    band(ax_cover, runs["opt_out"], "research_coverage", GREY, "opt-out (all or nothing)")
    gain = (stack(runs["dynamic"], "research_coverage")[:, -1]
            - stack(runs["opt_out"], "research_coverage")[:, -1])
    band(ax_cover, runs["dynamic"], "research_coverage", GREEN, "dynamic consent by purpose")
    ax_cover.text(0.98, 0.04, f"research coverage kept at week {steps}:\n"
                  f"+{span(gain * 100, '{:.1f}')} percentage points",
                  transform=ax_cover.transAxes, ha="right", va="bottom", fontsize=8)
    ax_cover.set_ylabel(f"GP records flowing for research\n({SHARE})")
    ax_cover.set_title("Coverage of the research use")
    percent(ax_cover)
    lo, hi = ax_cover.get_ylim()
    ax_cover.set_ylim(lo - 0.25 * (hi - lo), hi)
    for ax in (ax_refuse, ax_cover):
        weeks_axis(ax, steps)
        headroom(ax, 0.3)
        events(ax, [(scandal, "scandal")])
    ax_refuse.legend(loc="upper left", bbox_to_anchor=(0.12, 1.0), fontsize=7.5)
    ax_cover.legend(loc="upper right", fontsize=7.5)
    finish(fig)
    return fig


def fig_sf5(seeds: Sequence[int], caption: str) -> Figure:
    """SF5: every mandate raises coverage and benefit; the trust it costs falls with legitimacy."""
    levels = (0.1, 0.5, 0.9)
    runs: dict[str, Runs] = over_seeds(partial(sf.sf5_mandates, legitimacy=levels), seeds)
    steps = len(runs["no mandate"][0]) - 1
    colours = (VERMILLION, ORANGE, GREEN)
    arms = [("no mandate", GREY), *((f"legitimacy {lv}", c)
                                    for lv, c in zip(levels, colours, strict=True))]
    fig = new_figure("5. Mandates raise coverage and public benefit; the trust they cost falls "
                     "as their legitimacy rises", 7.2, caption)
    axes = fig.subplots(2, 2)
    panels = (("coverage_gp_records", "GP-record coverage", SHARE),
              ("public_benefit", "Public benefit", "benefit index"),
              ("trust_nhs", "Trust in the NHS", TRUST))
    marks = [(1, "mandate"), (10, "breach"), (40, "breach"), (70, "breach")]
    for ax, (column, title, unit) in zip(axes.flat, panels, strict=False):
        for arm, colour in arms:
            label = arm if arm == "no mandate" else f"mandate, {arm}"
            band(ax, runs[arm], column, colour, label, linewidth=1.5)
        ax.set_title(title)
        ax.set_ylabel(unit)
        headroom(ax, 0.3)
        weeks_axis(ax, steps)
        events(ax, marks)
    percent(axes[0, 0])

    ax = axes[1, 1]
    none = stack(runs["no mandate"], "trust_nhs")[:, -1]
    costs = [none - stack(runs[f"legitimacy {lv}"], "trust_nhs")[:, -1] for lv in levels]
    means = [c.mean() for c in costs]
    ax.bar([str(lv) for lv in levels], means, color=colours, width=0.6,
           yerr=[[m - c.min() for m, c in zip(means, costs, strict=True)],
                 [c.max() - m for m, c in zip(means, costs, strict=True)]],
           error_kw={"elinewidth": 0.9, "capsize": 3, "ecolor": BLACK})
    for k, (m, c) in enumerate(zip(means, costs, strict=True)):
        ax.text(k, c.max(), f"{m:.3f}\n", ha="center", va="bottom", fontsize=8,
                linespacing=0.9)
    ax.axhline(0, color=BLACK, linewidth=0.6)
    headroom(ax, 0.1)
    ax.set_title(f"Trust cost of the mandate at week {steps}")
    ax.set_xlabel("legitimacy (0-1): clarity of the public-interest test,\n"
                  "independent oversight and transparency, all set to this level")
    ax.set_ylabel("trust in the NHS lost vs\nno mandate (trust points)")
    ax.grid(axis="x", visible=False)
    finish(fig, figure_legend(fig, axes[0, 0], ncol=4))
    return fig


def fig_sf6(seeds: Sequence[int], caption: str) -> Figure:
    """SF6: the privacy-concerned segments opt out first and most."""
    notice, deadline = 5, 11
    runs: Runs = over_seeds(sf.sf6_segments, seeds)
    steps = len(runs[0]) - 1
    colours = {"sceptics": VERMILLION, "cautious": ORANGE, "disengaged": PURPLE,
               "unfamiliar": SKY, "followers": BLUE, "enthusiasts": GREEN}
    segments = sorted(NHS_SEGMENTS, key=lambda s: list(colours).index(s.key))
    fig = new_figure("6. The privacy-concerned segments opt out first and most", 5.6, caption)
    ax_level, ax_rise = fig.subplots(1, 2)
    for seg in segments:
        column = f"opt_out_{seg.key}"
        label = f"{seg.label} ({seg.share:.0%} of population)"
        band(ax_level, runs, column, colours[seg.key], label)
        mean = band(ax_rise, relative(runs, column, 0), column, colours[seg.key], label)
        passed = np.flatnonzero(mean > 0.01)
        if len(passed):
            ax_rise.plot(passed[0], mean[passed[0]], "o", color=colours[seg.key], markersize=6,
                         markeredgecolor="white", zorder=6)
    quiet = [s for s in segments if s.key not in ("sceptics", "cautious")]
    top = max(stack(runs, f"opt_out_{s.key}").max() for s in quiet)
    ax_level.text(steps, 0.03, f"the other four segments stay below {top:.1%}",
                  ha="right", va="bottom", fontsize=7.5, color=GREY)
    ax_rise.axhline(0.01, color=BLACK, linewidth=0.8, linestyle=":")
    ax_rise.text(steps, 0.01, "+1 point", ha="right", va="bottom", fontsize=7.5)
    ax_rise.plot([], [], "o", color=GREY, markeredgecolor="white",
                 label="first week more than 1 point above week 0")
    ax_level.set_title("Opt-out rate by segment")
    ax_level.set_ylabel("opted out (share of segment)")
    ax_rise.set_title("Rise since week 0")
    ax_rise.set_ylabel("rise in opt-out rate (share of segment)")
    marks = [(notice, "scandal +\ndeadline set"), (deadline, "deadline")]
    for ax in (ax_level, ax_rise):
        percent(ax)
        ax.set_ylim(-0.01 if ax is ax_rise else 0, None)
        headroom(ax, 0.15)
        weeks_axis(ax, steps)
        events(ax, marks)
    finish(fig, figure_legend(fig, ax_rise, ncol=2, title="NHS attitude segment",
                              title_fontsize=8.5))
    return fig


def fig_sf7(seeds: Sequence[int], caption: str) -> Figure:
    """SF7: trust starts by who holds the data; private recipients cost the holder trust."""
    start_week = 5
    runs: dict[str, Runs] = over_seeds(partial(sf.sf7_recipients, start=start_week), seeds)
    recipients = list(runs)
    steps = len(runs[recipients[0]][0]) - 1
    fig = new_figure("7. Who holds the data matters: the NHS starts far above government and "
                     "private firms, and sharing with private recipients costs the holder trust",
                     5.0, caption)
    ax_bar, ax_time = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.2]})

    kind_colour = {"nhs": BLUE, "university": GREEN, "dfe": SKY, "hmrc": SKY, "council": SKY,
                   "supplier": VERMILLION, "cra": VERMILLION}
    names = [a.name for a in baseline.AGENCIES]
    start = np.array([[df[f"trust_{a}"].iloc[0] for a in names] for df in runs[recipients[0]]])
    mean = start.mean(axis=0)
    order = np.argsort(mean)
    y = np.arange(len(names))
    hi = start.max(axis=0)[order]
    ax_bar.barh(y, mean[order], color=[kind_colour.get(names[k], GREY) for k in order],
                xerr=[mean[order] - start.min(axis=0)[order], hi - mean[order]],
                error_kw={"elinewidth": 0.8, "capsize": 2, "ecolor": BLACK}, height=0.65)
    ax_bar.set_yticks(y, [agency_label(names[k]) for k in order], fontsize=8)
    for k, v, h in zip(y, mean[order], hi, strict=True):
        ax_bar.text(h + 0.02, k, f"{v:.2f}", va="center", fontsize=7.5)
    nhs = mean[names.index("nhs")]
    ax_bar.axvline(nhs - 0.3, color=BLACK, linestyle=":", linewidth=0.9)
    ax_bar.text(nhs - 0.3, len(names) - 0.5, " NHS - 0.3", fontsize=7.5, va="bottom")
    ax_bar.set_xlim(0, 1)
    ax_bar.set_ylim(-0.6, len(names) + 0.1)
    ax_bar.set_xlabel(f"initial trust {TRUST_UNIT}")
    ax_bar.set_title("Initial trust by agency (week 0)")
    ax_bar.grid(axis="y", visible=False)

    colours = {"university": GREEN, "supplier": VERMILLION, "cra": PURPLE}
    styles = {"cra": (0, (4, 2))}
    council = stack(runs[recipients[0]], "trust_council")[:, 0]
    seen: dict[str, np.ndarray] = {}
    for r in recipients:
        label = f"council shares with {agency_label(r).lower()}"
        series = stack(runs[r], "trust_council")
        twin = next((o for o, s in seen.items() if np.array_equal(s, series)), None)
        if twin is not None:
            label += f"\n(identical to {agency_label(twin).lower()})"
        seen[r] = series
        band(ax_time, relative(runs[r], "trust_council", 0), "trust_council",
             colours.get(r, GREY), label, linestyle=styles.get(r, "-"))
    ax_time.axhline(0, color=BLACK, linewidth=0.7, linestyle=":")
    ax_time.text(steps, 0, f"level at week 0 ({span(council, '{:.3f}')}) ", ha="right",
                 va="bottom", fontsize=7.5)
    ax_time.set_title("Trust in the local council, the holder")
    ax_time.set_ylabel("change in trust since week 0 (trust points)")
    headroom(ax_time, 0.6)
    weeks_axis(ax_time, steps)
    events(ax_time, [(start_week, "council starts sharing")])
    ax_time.legend(loc="upper left", bbox_to_anchor=(0.07, 1.0), fontsize=7.5)
    finish(fig)
    return fig


FIGURES: dict[str, Callable[[Sequence[int], str], Figure]] = {
    "sf1_breach_recovery.png": fig_sf1,
    "sf2_low_trust.png": fig_sf2,
    "sf3_opt_out_surge.png": fig_sf3,
    "sf4_citizen_control.png": fig_sf4,
    "sf4_granular_consent.png": fig_sf4_granular,
    "sf5_mandates.png": fig_sf5,
    "sf6_segments.png": fig_sf6,
    "sf7_recipients.png": fig_sf7,
}


def make_figures(out: Path, seeds: Sequence[int], citizens: int,
                 only: Sequence[str] = ()) -> list[Path]:
    """Draw and write every figure (or only those named); returns the paths written."""
    out.mkdir(parents=True, exist_ok=True)
    caption = (f"Lines: mean over {len(seeds)} seeds; bands: min-max across seeds. "
               f"{citizens:,} citizens; one step = one week. Dashed lines: scheduled events. "
               "Set-ups: sim/stylized_facts.py.")
    written = []
    plan = Seeds(tuple(seeds), citizens)
    with mpl.rc_context(STYLE):
        for name, draw in FIGURES.items():
            if only and name not in only:
                continue
            path = out / name
            save(draw(plan, caption), path)
            written.append(path)
    return written


def main(argv: Sequence[str] | None = None) -> None:
    """Command line: figure directory, number of seeds, population size."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/figures"),
                        help="directory for the PNGs (default: docs/figures)")
    parser.add_argument("--seeds", type=integer(1), default=5, help="seeds 1..N per experiment")
    parser.add_argument("--citizens", type=integer(2), default=sf.N_CITIZENS,
                        help=f"population size (default: {sf.N_CITIZENS})")
    parser.add_argument("--only", action="append", default=[], choices=list(FIGURES),
                        metavar="NAME", help="draw only this figure (repeatable; default: all)")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    written = make_figures(args.out, range(1, args.seeds + 1), args.citizens, args.only)
    for path in written:
        print(path)
    print(f"{len(written)} figures in {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
