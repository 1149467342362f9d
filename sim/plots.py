"""Figures of a run's time series (the edge of the package: the model never imports this).

Each figure takes the tidy time series of one or more replicates (columns ``replicate``, ``step``
and the outputs) and draws the mean with the 10th-90th percentile band across replicates.

The figures of ``trustsim run`` and ``trustsim compare`` are read away from the code, so they
follow the stylized-fact figures (experiments/stylized_facts.py): a title naming the scenario, a
caption saying what the lines and bands are and over how many replicates, lines labelled at
their ends in the scenario's own words (lines that coincide share one label, so none hides
another), units on every axis, and a minimum y span, so that a flat series stays flat instead of
being stretched until its noise looks like a fall.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.legend import Legend
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, MaxNLocator

from sim import files
from sim.segments import NHS_SEGMENTS
from sim.valuation import UNIT_LABELS, Unit

if TYPE_CHECKING:
    from sim.scenario import Scenario

DPI = 150
WIDTH = 9.5  # inches, as the stylized-fact figures

#: Okabe-Ito, the colour-blind-safe palette of the stylized-fact figures (yellow left out: it
#: does not show on white).
BLUE, VERMILLION, GREEN, ORANGE, PURPLE, SKY, GREY, BLACK = (
    "#0072B2", "#D55E00", "#009E73", "#E69F00", "#CC79A7", "#56B4E9", "#7F7F7F", "#000000")
PALETTE = (BLUE, VERMILLION, GREEN, ORANGE, PURPLE, SKY, GREY)
#: after the palette's seven colours, lines are told apart by dashes as well
DASHES: tuple[Any, ...] = ("-", (0, (5, 2)), (0, (1, 1.5)), (0, (6, 2, 1, 2)))
EVENT_COLOUR = "#555555"

STYLE: dict[str, Any] = {
    "font.size": 9.5,
    "axes.titlesize": 10,
    "axes.titleweight": "bold",
    "axes.labelsize": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#E5E5E5",
    "grid.linewidth": 0.6,
    "axes.axisbelow": True,
    "legend.fontsize": 8.5,
    "legend.frameon": False,
    "xtick.labelsize": 8.5,
    "ytick.labelsize": 8.5,
    "lines.linewidth": 1.8,
    "figure.titlesize": 12,
    "figure.titleweight": "bold",
    "savefig.dpi": DPI,
}

#: the least y span of a 0-1 quantity (trust, a share): noise in a flat series stays flat
MIN_SPAN = 0.1
#: the least y span of a difference in a 0-1 quantity (2 points)
MIN_DIFF_SPAN = 0.02
#: the least y span of an index (benefit), as a fraction of its largest level
REL_SPAN, REL_DIFF_SPAN = 0.1, 0.02
#: lines closer than this fraction of the y span everywhere are drawn over each other: they
#: share one label that names them all
OVERLAP = 0.006

WEEKS = "week"
BENEFIT_UNIT = "(model index, see docs/model.md)"
#: the prefixes of the outputs in real units (sim.public_value), each ending with its unit
AMOUNTS = ("benefit_", "harm_", "evidence_", "total_benefit_", "total_harm_", "net_value_")

CORE_LABELS = {
    "trust_mean": "General trust in public-sector data use",
    "trust_sd": "Spread of general trust (standard deviation)",
    "opt_out_rate": "Opted out of at least one programme",
    "data_coverage": "Data coverage (mean over programmes)",
    "service_benefit": "Service benefit per citizen (index)",
    "public_benefit": "Public benefit (index)",
    "breaches": "Breaches per week",
    "refusing_direct_service": "Refusing the use for direct services",
    "refusing_planning_research": "Refusing the use for planning and research",
    "refusing_commercial": "Refusing commercial re-use",
}
#: two- and three-letter words read as words, not acronyms, in an identifier (``humanise``)
SHORT_WORDS = frozenset({
    "a", "an", "as", "at", "by", "in", "is", "it", "of", "on", "or", "to", "up", "all", "and",
    "any", "are", "for", "new", "not", "off", "old", "one", "out", "own", "the", "two", "use",
    "via", "age", "key", "tax", "pay", "job", "net", "per", "set", "low", "top", "big"})

Marks = Sequence[tuple[int, str]]


# ------------------------------------------------------------------------------ words
def humanise(name: str) -> str:
    """An identifier in words (``gp_records`` -> ``GP records``), for readers who never saw the
    file: two- and three-letter parts that are not common words are read as acronyms."""
    words = [w.upper() if 2 <= len(w) <= 3 and w not in SHORT_WORDS else w
             for w in name.split("_")]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


def output_labels(scenario: Scenario | None = None) -> dict[str, str]:
    """A label in words for every output column, from the scenario: agencies by their ``label``,
    segments by their survey name and share, programmes by their name in words. Without a
    scenario, the baseline's segments and the identifiers in words."""
    labels = dict(CORE_LABELS)
    segments = NHS_SEGMENTS if scenario is None else scenario.segments()
    total = sum(s.share for s in segments) or 1.0
    for s in segments:
        labels[f"opt_out_{s.key}"] = f"{s.label} ({s.share / total:.0%})"
    if scenario is not None:
        for name, agency in scenario.agencies.items():
            labels[f"trust_{name}"] = agency.label or humanise(name)
        for name, programme in scenario.programmes.items():
            labels[f"coverage_{name}"] = humanise(name)
            labels[f"willing_{name}"] = f"Willing to share: {humanise(name)}"
            for kind, words in (("value", "Benefit"), ("harm", "Harm of not sharing"),
                                ("evidence", "Evidence informs")):
                amount = getattr(programme, kind)
                if amount is not None:
                    column = f"{'benefit' if kind == 'value' else kind}_{name}_{amount.unit}"
                    labels[column] = f"{words}: {humanise(name)}"
    for u in Unit:
        labels.update(zip(
            (f"total_benefit_{u}", f"total_harm_{u}", f"net_value_{u}"),
            ("Benefit, all programmes", "Harm of not sharing, all programmes",
             "Net value (benefit minus harm)"), strict=True))
    return labels


def label_of(column: str, labels: Mapping[str, str]) -> str:
    """``labels[column]``, else the column without its prefix, in words."""
    if column in labels:
        return labels[column]
    for prefix in ("trust_", "opt_out_", "coverage_", "willing_"):
        if column.startswith(prefix):
            return humanise(column.removeprefix(prefix))
    return humanise(column)


def real_unit(column: str) -> Unit | None:
    """The real unit of an output of sim.public_value (``benefit_<programme>_<unit>``,
    ``net_value_<unit>``, ...), or None for any other output."""
    if column.startswith(AMOUNTS):
        for u in Unit:
            if column.endswith(f"_{u.value}"):
                return u
    return None


def is_share(column: str) -> bool:
    """Outputs between 0 and 1 (trust and shares): drawn on an absolute 0-1 scale."""
    return (column.startswith(("trust_", "opt_out_", "coverage_", "willing_", "refusing_"))
            or column == "data_coverage")


def is_percent(column: str) -> bool:
    """Shares of citizens or records, shown as percentages (trust is not a share)."""
    return is_share(column) and not column.startswith("trust_")


def unit(column: str) -> str:
    """What the y axis of ``column`` measures."""
    amount = real_unit(column)
    if amount is not None:
        return f"{UNIT_LABELS[amount]} per week"
    if column.startswith("trust_"):
        return "trust (0-1)"
    if column.startswith("coverage_") or column == "data_coverage":
        return "share of records shared"
    if column == "service_benefit":
        return f"service benefit per citizen\n{BENEFIT_UNIT}"
    if column == "public_benefit":
        return f"public benefit\n{BENEFIT_UNIT}"
    if column == "breaches":
        return "breaches per week"
    return "share of citizens" if is_share(column) else column


def difference_unit(column: str) -> str:
    """What a difference in ``column`` is measured in."""
    if real_unit(column) is not None:
        return unit(column)
    if column.startswith("trust_"):
        return "trust points"
    if is_share(column):
        return "percentage points"
    if column.endswith("benefit"):
        return "model index"
    return unit(column)


def joined(names: Sequence[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


@dataclass(frozen=True)
class About:
    """What a figure says about the runs it draws: the scenario's name, how many replicates and
    citizens, and the labels in words of its outputs."""

    name: str
    replicates: int
    citizens: int | None
    labels: Mapping[str, str]

    @classmethod
    def of(cls, runs: pd.DataFrame, scenario: Scenario | None = None) -> About:
        """From the runs (replicates) and, if given, the scenario (name, population, labels)."""
        name = (scenario.name if scenario is not None else
                str(runs["scenario"].iloc[0]) if "scenario" in runs and len(runs)
                else "scenario")
        replicates = int(runs["replicate"].nunique()) if "replicate" in runs else 1
        citizens = scenario.population.size if scenario is not None else None
        return cls(name, replicates, citizens, output_labels(scenario))

    def band(self) -> str:
        """What the lines and bands are, for a caption."""
        if self.replicates < 2:
            return "Lines: one replicate (no band)."
        return (f"Lines: mean over {self.replicates} replicates; bands: 10th\u201390th "
                "percentile across the replicates.")

    def size(self) -> str:
        """Population and time step, for a caption."""
        who = f"{self.citizens:,} citizens; " if self.citizens else ""
        return f"{who}one step is one week."


# ------------------------------------------------------------------------------ figures
def figure(**kwargs: Any) -> Figure:
    """A figure on its own Agg canvas: no pyplot, so no global state and no display needed, and
    a notebook that uses pyplot keeps its own backend."""
    fig = Figure(**kwargs)
    FigureCanvasAgg(fig)
    return fig


def titled_figure(title: str, caption: str, width: float, height: float) -> Figure:
    """A figure with ``title`` at the top left and ``caption`` (small, grey) at the bottom, as
    the stylized-fact figures: a figure found on its own still says what it shows."""
    fig = figure(figsize=(width, height), dpi=DPI)
    chars = int(width * 72 / (0.6 * STYLE["figure.titlesize"]))
    fig.suptitle("\n".join(textwrap.wrap(title, chars)), x=0.01, y=1 - 6 / (72 * height),
                 ha="left", va="top")
    chars = int(width * 72 / (0.58 * 7.5))
    fig.text(0.01, 4 / (72 * height), "\n".join(textwrap.wrap(caption, chars)), fontsize=7.5,
             color=GREY, ha="left", va="bottom", gid="caption")
    return fig


def finish(fig: Figure, legend: Legend | None = None,
           labels: Iterable[EndLabels] = ()) -> None:
    """Lay the panels out above the caption (and above a figure legend, if any), then place the
    line-end labels for the axes' final heights."""
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    bottom = 6 / (72 * fig.get_figheight())
    for text in fig.texts:
        if text.get_gid() == "caption":
            bottom += text.get_window_extent(renderer).height / fig.bbox.height
    if legend is not None:
        legend.set_bbox_to_anchor((0.5, bottom), transform=fig.transFigure)
        legend.set_loc("lower center")
        bottom += legend.get_window_extent(renderer).height / fig.bbox.height
    fig.tight_layout(rect=(0, bottom, 1, 1), h_pad=1.2, w_pad=1.5)
    for group in labels:
        group.place()


def save(fig: Figure, path: Path) -> Path:
    """Write a PNG atomically, so no half-written figure exists."""
    return files.write_atomic(path, lambda tmp: fig.savefig(tmp, dpi=DPI, format="png"))


# ------------------------------------------------------------------------------ axes
def limits(values: Iterable[np.ndarray | None], *, min_span: float, base: float | None = None,
           floor: float | None = None, ceiling: float | None = None,
           zero: bool = False) -> tuple[float, float]:
    """y limits that show every value and span at least ``min_span``.

    ``base``: the axis starts there (levels drawn from 0); ``floor`` and ``ceiling``: it never
    goes beyond them (a share is never below 0 or above 1); ``zero``: 0 is in view (differences).
    Without a minimum span, a series that varies by 1e-5 fills the axis and looks like a crash.
    """
    arrays = [np.ravel(v) for v in values if v is not None]
    data = np.concatenate(arrays) if arrays else np.zeros(0)
    data = data[np.isfinite(data)]
    lo, hi = (float(data.min()), float(data.max())) if data.size else (0.0, 0.0)
    if zero:
        lo, hi = min(lo, 0.0), max(hi, 0.0)
    if base is not None:
        lo = min(lo, base) if floor is None else base
    if hi - lo < min_span:
        if base is not None:
            hi = lo + min_span
        else:
            mid = (lo + hi) / 2
            lo, hi = mid - min_span / 2, mid + min_span / 2
    else:
        pad = 0.05 * (hi - lo)
        lo, hi = (lo if base is not None else lo - pad), hi + pad
    if floor is not None and lo < floor:
        lo, hi = floor, hi + floor - lo
    if ceiling is not None and hi > ceiling:  # a little above it, so a line at 1 shows
        lo = max(lo - (hi - ceiling), floor if floor is not None else -np.inf)
        hi = ceiling + 0.02 * (ceiling - lo)
    return lo, hi


def set_y(ax: Axes, lo: float, hi: float, top: float | None = None) -> None:
    """Set the y limits, with ticks only up to ``top`` (none above 1 on a 0-1 scale that has
    room for event labels above 1)."""
    ax.set_ylim(lo, hi)
    if top is not None and hi > top:
        ticks = MaxNLocator(6, steps=[1, 2, 2.5, 5, 10]).tick_values(lo, top)
        ax.set_yticks([t for t in ticks if lo - 1e-12 <= t <= top + 1e-12])


def percent(ax: Axes, points: bool = False) -> None:
    """Shares on the y axis as percentages (``points``: signed percentage points)."""
    def fmt(v: float, _: Any) -> str:
        value = round(v * 100, 6)
        if points:
            return "0" if value == 0 else f"{value:+g}"
        return f"{value:g}%"

    ax.yaxis.set_major_formatter(FuncFormatter(fmt))


def weeks_axis(ax: Axes, steps: int, label: bool = True) -> None:
    """x from week 0 to the end of the run, labelled in weeks."""
    ax.set_xlim(0, max(steps, 1))
    if label:
        ax.set_xlabel(WEEKS)


def _points(ax: Axes) -> tuple[float, float]:
    """The axes' width and height in points as laid out now (before the final layout the
    panels shrink a little: an estimate)."""
    fig = ax.get_figure()
    box = ax.get_position()
    return (box.width * fig.get_figwidth() * 72 * 0.85,  # type: ignore[union-attr]
            box.height * fig.get_figheight() * 72 * 0.85)  # type: ignore[union-attr]


def _by_step(marks: Marks) -> dict[int, str]:
    seen: dict[int, list[str]] = {}
    for step, label in marks:
        seen.setdefault(int(step), []).append(label)
    return {step: ", ".join(dict.fromkeys(names)) for step, names in sorted(seen.items())}


def event_key(marks: Marks) -> str:
    """The key to numbered events (``events(..., key=True)``), for the caption."""
    return "Events: " + "; ".join(f"[{k}] week {step}: {text}" for k, (step, text)
                                  in enumerate(_by_step(marks).items(), 1)) + "."


def events(ax: Axes, marks: Marks, labelled: bool = True, fontsize: float = 7.0,
           key: bool = False) -> float:
    """Dashed vertical lines at the timeline's events, labelled at the top: left of the line,
    or right of it where a neighbour's label is in the way, or merged into the neighbour's
    label where both sides are taken, so no two labels overlap. With ``key``, small numbers
    instead, explained by ``event_key`` in the caption: panels too small for words. Call after
    the x limits are set. Returns the room to leave at the top, in points."""
    seen = _by_step(marks)
    if key:
        return _numbered(ax, seen, labelled)
    lo, hi = ax.get_xlim()
    per_week = _points(ax)[0] / max(hi - lo, 1e-9)
    width, gap = 1.25 * fontsize, 1.5

    def span(step: int, side: str) -> tuple[float, float]:
        x = (step - lo) * per_week
        return (x - gap - width, x - gap) if side == "left" else (x + gap, x + gap + width)

    def free(a: float, b: float, skip: Any = None) -> bool:
        return all(b <= p["span"][0] or a >= p["span"][1] for p in placed if p is not skip)

    placed: list[dict[str, Any]] = []
    for step, text in seen.items():
        ax.axvline(step, color=EVENT_COLOUR, ls="--", lw=0.9, zorder=1)
        if not labelled:
            continue
        sides = ["left", "right"] if span(step, "left")[0] >= 0 else ["right", "left"]
        side = next((sd for sd in sides if free(*span(step, sd))), None)
        if side is not None or not placed:
            side = side or sides[0]
            placed.append({"step": step, "side": side, "span": span(step, side),
                           "parts": [(step, text)]})
            continue
        # both sides taken: one label for both events, on the free side of the pair
        last = placed[-1]
        last["parts"].append((step, text))
        if last["side"] == "right" and free(*span(step, "right"), skip=last):
            last.update(step=step, span=span(step, "right"))
    longest = 0.0
    for p in placed:
        parts = p["parts"]
        text = parts[0][1] if len(parts) == 1 else "; ".join(f"{t} (week {s})" for s, t in parts)
        right = p["side"] == "right"
        ax.annotate(text, (p["step"], 1.0), xycoords=("data", "axes fraction"),
                    xytext=(2.5 if right else -2.5, -3), textcoords="offset points", rotation=90,
                    ha="left" if right else "right", va="top", fontsize=fontsize,
                    color=EVENT_COLOUR, zorder=5)
        longest = max(longest, 0.55 * fontsize * len(text))
    return longest


def _numbered(ax: Axes, seen: Mapping[int, str], labelled: bool) -> float:
    """Events as dashed lines with their number in a small box at the top; numbers too close
    to a neighbour's go a row lower."""
    lo, hi = ax.get_xlim()
    width = _points(ax)[0]
    per_week = width / max(hi - lo, 1e-9)
    rows: list[list[tuple[float, float]]] = []
    for k, step in enumerate(seen, 1):
        ax.axvline(step, color=EVENT_COLOUR, ls="--", lw=0.9, zorder=1)
        if not labelled:
            continue
        x, half = (step - lo) * per_week, 2.5 + 2.2 * len(str(k))
        # a box at the axes' edge goes inside it, beside its line
        edge, shift = (("left", 1.5) if x - half < 0 else ("right", -1.5) if x + half > width
                       else ("center", 0.0))
        a = x + shift - (0 if edge == "left" else 2 * half if edge == "right" else half)
        row = next((r for r, taken in enumerate(rows)
                    if all(a + 2 * half <= ta or a >= tb for ta, tb in taken)), len(rows))
        if row == len(rows):
            rows.append([])
        rows[row].append((a, a + 2 * half))
        ax.annotate(str(k), (step, 1.0), xycoords=("data", "axes fraction"),
                    xytext=(shift, -2 - 11 * row), textcoords="offset points", ha=edge,
                    va="top", fontsize=6.5, color=EVENT_COLOUR, zorder=6,
                    bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": EVENT_COLOUR,
                          "lw": 0.5})
    return 11.0 * len(rows)


def headroom(ax: Axes, lo: float, hi: float, label_points: float) -> float:
    """The top of the y axis that leaves room for event labels of ``label_points`` above the
    data (at most 45% of the axis)."""
    if label_points <= 0:
        return hi
    share = min((label_points + 8) / _points(ax)[1], 0.45)
    return lo + (hi - lo) / (1 - share)


class EndLabels:
    """Labels at the right end of lines, in the lines' colours, moved apart vertically so no two
    overlap, each joined to its line's end by a short leader in the gap beside the axes.
    ``place`` (run by ``finish``) sets them for the axes' final height."""

    X = 1.03  # where the labels start, in axes widths

    def __init__(self, ax: Axes, fontsize: float = 7.5, wrap: int = 30) -> None:
        self.ax, self.fontsize, self.wrap = ax, fontsize, wrap
        self.items: list[tuple[float, Any, Line2D, int]] = []

    def add(self, x: float, y: float, text: str, colour: str) -> None:
        """A label for the line ending at height ``y`` (``x``: its end, the axes' right edge);
        ``text`` is wrapped unless it has line breaks of its own."""
        if "\n" not in text:
            text = textwrap.fill(text, self.wrap, break_long_words=False)
        label = self.ax.text(self.X, 0.5, text, transform=self.ax.transAxes, ha="left",
                             va="center", fontsize=self.fontsize, color=colour, clip_on=False)
        leader = Line2D([], [], transform=self.ax.transAxes, color=colour, lw=0.7,
                        clip_on=False)
        self.ax.add_artist(leader)
        self.items.append((y, label, leader, text.count("\n") + 1))

    def place(self) -> None:
        """Spread the labels out: each at its line's end where there is room, else the least
        distance away that leaves a line of text between neighbours."""
        if not self.items:
            return
        lo, hi = self.ax.get_ylim()
        height = self.ax.get_window_extent().height * 72 / self.ax.figure.dpi
        line = 1.35 * self.fontsize / height  # a text line with its leading, and a little air
        order = sorted(range(len(self.items)), key=lambda k: self.items[k][0])
        want = [(self.items[k][0] - lo) / (hi - lo) for k in order]
        half = [self.items[k][3] * line / 2 for k in order]
        pos = list(want)
        for i in range(1, len(pos)):
            pos[i] = max(pos[i], pos[i - 1] + half[i - 1] + half[i])
        if pos[-1] + half[-1] > 1:
            pos[-1] = 1 - half[-1]
            for i in range(len(pos) - 2, -1, -1):
                pos[i] = min(pos[i], pos[i + 1] - half[i + 1] - half[i])
        if pos[0] - half[0] < 0:
            pos[0] = half[0]
            for i in range(1, len(pos)):
                pos[i] = max(pos[i], pos[i - 1] + half[i - 1] + half[i])
        for k, y, p in zip(order, want, pos, strict=True):
            _, label, leader, _ = self.items[k]
            label.set_y(p)
            leader.set_data([1.0, 1.008, self.X - 0.004], [y, y, p])


@dataclass
class Line:
    """One series to draw: its label, x, y and optional band, colour, dash and width."""

    label: str
    x: np.ndarray
    y: np.ndarray
    lo: np.ndarray | None = None
    hi: np.ndarray | None = None
    colour: str = BLUE
    style: Any = "-"
    width: float = 1.8


def summary_line(runs: pd.DataFrame, column: str, label: str, colour: str = BLUE,
                 style: Any = "-", width: float = 1.8) -> Line:
    """The mean of ``column`` over replicates by step, with the 10th-90th percentile band if
    there are several replicates."""
    by_step = runs.groupby("step")[column]
    mean = by_step.mean()
    lo = hi = None
    if "replicate" in runs and runs["replicate"].nunique() > 1:
        lo, hi = by_step.quantile(0.1).to_numpy(), by_step.quantile(0.9).to_numpy()
    return Line(label, mean.index.to_numpy(), mean.to_numpy(dtype=float), lo, hi, colour, style,
                width)


def styled(k: int) -> tuple[str, Any]:
    """Colour and dash of the k-th line: the palette first, then the palette dashed."""
    return PALETTE[k % len(PALETTE)], DASHES[(k // len(PALETTE)) % len(DASHES)]


def coincide(lines: Sequence[Line], tolerance: float) -> list[list[Line]]:
    """Lines grouped with those they lie on (within ``tolerance`` at every step)."""
    groups: list[list[Line]] = []
    for line in lines:
        for group in groups:
            first = group[0]
            if (len(first.y) == len(line.y)
                    and np.nanmax(np.abs(first.y - line.y), initial=0.0) <= tolerance):
                group.append(line)
                break
        else:
            groups.append([line])
    return groups


def draw_lines(ax: Axes, lines: Sequence[Line], labels: EndLabels | None = None,
               tolerance: float = 0.0) -> None:
    """Each line with its band; lines that lie on each other are drawn once, with one label that
    names them all (``(identical)`` when they are equal), so a reader never misses one."""
    for group in coincide(lines, tolerance):
        first = group[0]
        for line in group:
            if line.lo is not None and line.hi is not None:
                ax.fill_between(line.x, line.lo, line.hi, color=first.colour, alpha=0.18, lw=0)
        text = first.label
        if len(group) > 1:
            same = all(np.array_equal(first.y, g.y) for g in group[1:])
            text = (f"{joined([g.label for g in group])} "
                    f"({'identical' if same else 'lines overlap'})")
        ax.plot(first.x, first.y, color=first.colour, ls=first.style, lw=first.width,
                label=text, zorder=3)
        if labels is not None and len(first.x):
            labels.add(float(first.x[-1]), float(first.y[-1]), text, first.colour)


def lines_panel(ax: Axes, lines: Sequence[Line], steps: int, marks: Marks = (), *,
                ylabel: str, min_span: float, base: float | None = 0.0,
                floor: float | None = 0.0, ceiling: float | None = None, share: bool = False,
                labelled: bool = True, end_labels: bool = True,
                key: bool = False) -> EndLabels | None:
    """One panel of lines over the weeks: limits with the minimum span, the events, room above
    the data for their labels, the lines labelled at their ends."""
    weeks_axis(ax, steps)
    lo, hi = limits([a for line in lines for a in (line.y, line.lo, line.hi)],
                    min_span=min_span, base=base, floor=floor, ceiling=ceiling)
    top = headroom(ax, lo, hi, events(ax, marks, labelled, key=key))
    set_y(ax, lo, top, ceiling)
    labels = EndLabels(ax) if end_labels else None
    draw_lines(ax, lines, labels, OVERLAP * (hi - lo))
    ax.set_ylabel(ylabel)
    if share:
        percent(ax)
    return labels


# ------------------------------------------------------------------------------ trustsim run
#: what each figure of a run shows, for the report's captions
CAPTIONS = {
    "trust.png": "Trust in each agency and general trust in public-sector data use, week by "
                 "week.",
    "opt_out.png": "Share of citizens opted out of at least one programme, in all and in each "
                   "attitude segment.",
    "coverage.png": "Share of records shared, over all programmes and in each programme.",
    "benefit.png": "Service benefit per citizen and public benefit of sharing (model indices, "
                   "docs/model.md), and, where programmes state them, benefit, harm of not "
                   "sharing and net value in real units per week.",
    "comparison.png": "Each scenario (top) and its paired difference to the reference, "
                      "replicate by replicate on common random numbers (bottom).",
    "regions.png": "Share of citizens opted out in each region (the whole population in grey), "
                   "with each region's rise over the run.",
}


def _run_caption(about: About, extra: str = "") -> str:
    return (f"{about.band()} {about.size()} Dashed lines: the scenario's events and policies. "
            f"{extra}").strip()


def _single(runs: pd.DataFrame, title: str, total: tuple[str, str],
            columns: Sequence[tuple[str, str]], steps: int, marks: Marks, about: About,
            ylabel: str, share: bool, extra: str = "") -> Figure:
    """A one-panel figure: a black total and one coloured line per part, labelled at the end."""
    with mpl.rc_context(STYLE):
        fig = titled_figure(f"{about.name}: {title}", _run_caption(about, extra), WIDTH, 5.4)
        ax = fig.subplots()
        lines = [summary_line(runs, total[0], total[1], BLACK, width=2.4)]
        for k, (column, label) in enumerate(columns):
            colour, dash = styled(k)
            lines.append(summary_line(runs, column, label, colour, dash))
        labels = lines_panel(ax, lines, steps, marks, ylabel=ylabel, min_span=MIN_SPAN,
                             ceiling=1.0, share=share)
        finish(fig, labels=[labels] if labels else [])
    return fig


def trust_figure(runs: pd.DataFrame, agencies: Sequence[str], marks: Marks = (),
                 about: About | None = None) -> Figure:
    """General trust and trust in each agency (labelled by the agency's label)."""
    about = about or About.of(runs)
    columns = [(f"trust_{a}", label_of(f"trust_{a}", about.labels)) for a in agencies
               if f"trust_{a}" in runs]
    return _single(runs, "trust by agency", ("trust_mean", about.labels["trust_mean"]), columns,
                   int(runs.step.max()), marks, about, "mean trust (0-1)", share=False)


def opt_out_figure(runs: pd.DataFrame, marks: Marks = (), about: About | None = None) -> Figure:
    """The share opted out of at least one programme, in all and by attitude segment."""
    about = about or About.of(runs)
    columns = [(c, label_of(c, about.labels)) for c in runs.columns
               if c.startswith("opt_out_") and c != "opt_out_rate"]
    return _single(runs, "opted out of at least one programme, by attitude segment",
                   ("opt_out_rate", "All citizens"), columns, int(runs.step.max()), marks, about,
                   "opted out (share of citizens, or of the segment)", share=True,
                   extra="In brackets: the segment's share of citizens.")


def coverage_figure(runs: pd.DataFrame, marks: Marks = (), about: About | None = None) -> Figure:
    """Data coverage over all programmes and by programme (programmes that coincide share a
    label)."""
    about = about or About.of(runs)
    columns = [(c, label_of(c, about.labels)) for c in runs.columns if c.startswith("coverage_")]
    return _single(runs, "data coverage by programme",
                   ("data_coverage", "All programmes (mean)"), columns, int(runs.step.max()),
                   marks, about, "share of records shared", share=True,
                   extra="Coverage: the share of a programme's records that flow, after "
                         "opt-outs and technical, legal and cultural barriers.")


def benefit_figure(runs: pd.DataFrame, marks: Marks = (), about: About | None = None) -> Figure:
    """Service benefit per citizen and public benefit, side by side: two indices on scales of
    their own, each from 0; then, for each real unit the run has (sim.public_value), benefit,
    harm of not sharing and net value in that unit."""
    about = about or About.of(runs)
    steps = int(runs.step.max())
    key = f" {event_key(marks)}" if marks else ""
    units = [u for u in Unit if f"net_value_{u}" in runs.columns]
    real = (" Amounts in real units are per week, for the UK's adults the citizens stand for "
            "(docs/model.md, sections 7.1 and 7.9)." if units else "")
    with mpl.rc_context(STYLE):
        fig = titled_figure(f"{about.name}: benefit of sharing", _run_caption(
            about, "Service and public benefit are model indices (docs/model.md, section 7.1), "
                   f"comparable between runs, not money.{real}{key}"),
            WIDTH * (2 + len(units)) / 2, 4.4)
        axes = fig.subplots(1, 2 + len(units))
        panels = (("service_benefit", "Service benefit per citizen (index)", BLUE),
                  ("public_benefit", "Public benefit (index)", GREEN))
        for ax, (column, title, colour) in zip(axes[:2], panels, strict=True):
            line = summary_line(runs, column, title, colour)
            top = float(np.nanmax(np.abs(line.hi if line.hi is not None else line.y),
                                  initial=0.0))
            lines_panel(ax, [line], steps, marks, ylabel=unit(column),
                        min_span=REL_SPAN * top or MIN_SPAN, end_labels=False, key=True)
            ax.set_title(title)
        for ax, u in zip(axes[2:], units, strict=True):
            lines = [summary_line(runs, f"{kind}_{u}", title, colour) for kind, title, colour in
                     (("total_benefit", "benefit", GREEN),
                      ("total_harm", "harm of not sharing", VERMILLION),
                      ("net_value", "net value", BLUE))]
            top = max(float(np.nanmax(np.abs(line.y), initial=0.0)) for line in lines)
            lines_panel(ax, lines, steps, marks, ylabel=unit(f"net_value_{u}"),
                        min_span=REL_SPAN * top or MIN_SPAN, base=None, floor=None,
                        end_labels=False, key=True)
            ax.yaxis.set_major_formatter(FuncFormatter(_amount))
            ax.set_title(f"In {UNIT_LABELS[u]}")
            ax.legend(loc="best")
        finish(fig)
    return fig


def _amount(value: float, _position: object = None) -> str:
    """A tick of an amount in real units: 40M, 2.5bn, 300k."""
    for size, suffix in ((1e9, "bn"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            return f"{value / size:g}{suffix}"
    return f"{value:g}"


def run_figures(runs: pd.DataFrame, out: Path, agencies: Sequence[str], marks: Marks = (), *,
                scenario: Scenario | None = None) -> list[Path]:
    """The standard figures of a run (trust by agency, opt-out, coverage, benefit), titled with
    the scenario's name and labelled in its words when ``scenario`` is given; bands are the
    10th-90th percentile across replicates, dashed lines the timeline's events."""
    about = About.of(runs, scenario)
    figures = {"trust.png": trust_figure(runs, agencies, marks, about),
               "opt_out.png": opt_out_figure(runs, marks, about),
               "coverage.png": coverage_figure(runs, marks, about),
               "benefit.png": benefit_figure(runs, marks, about)}
    return [save(fig, out / name) for name, fig in figures.items()]


# ------------------------------------------------------------------------------ trustsim compare
COMPARED = (("trust_mean", "General trust"), ("opt_out_rate", "Opted out"),
            ("data_coverage", "Data coverage"), ("service_benefit", "Service benefit"),
            ("public_benefit", "Public benefit"))


def compare_marks(scenarios: Mapping[str, Scenario]) -> list[tuple[int, str]]:
    """Every scenario's events and policies; one that not every scenario has names its
    scenarios, so a reader knows which line it moves."""
    names = list(scenarios)
    owners: dict[tuple[int, str], list[str]] = {}
    for name, s in scenarios.items():
        for mark in dict.fromkeys(s.marks()):
            owners.setdefault(mark, []).append(name)
    return sorted((step, label if len(who) == len(names) else f"{label} ({', '.join(who)})")
                  for (step, label), who in owners.items())


def compare_figure(runs: pd.DataFrame, differences: pd.DataFrame, reference: str, out: Path,
                   marks: Marks = (), *, scenarios: Mapping[str, Scenario] | None = None,
                   ) -> Path:
    """Scenarios side by side (top row) and each one's paired difference to the reference
    (bottom row), each the mean with the 10th-90th percentile band across replicates. Each
    scenario has its own colour and dash, so identical scenarios still show both lines."""
    names = list(dict.fromkeys(runs["scenario"]))
    steps = int(runs.step.max())
    replicates = int(runs["replicate"].nunique())
    if scenarios:
        marks = compare_marks(scenarios)
    first = next(iter(scenarios.values())) if scenarios else None
    citizens = f"{first.population.size:,} citizens; " if first is not None else ""
    others = [n for n in names if n != reference]
    title = (f"{joined(others)} compared with {reference}" if others
             else f"{reference} alone")
    caption = (f"Top: mean over {replicates} replicates, band: 10th\u201390th percentile across "
               "them. Bottom: each scenario minus the reference, paired replicate by replicate "
               f"(common random numbers: replicate r of every scenario runs on the same seed); "
               f"mean and 10th\u201390th percentile of the {replicates} paired differences. "
               f"{citizens}one step is one week. Benefits are model indices (docs/model.md). "
               "Dashed lines: events and policies (a scenario named after one has it alone). "
               f"{event_key(marks) if marks else ''}").strip()
    with mpl.rc_context(STYLE):
        fig = titled_figure(title, caption, 14.5, 7.2)
        axes = fig.subplots(2, len(COMPARED), sharex=True, squeeze=False)
        style = {n: (PALETTE[k % len(PALETTE)], DASHES[k % len(DASHES)], 2.4 if k == 0 else 1.8)
                 for k, n in enumerate(names)}
        for j, (col, title_) in enumerate(COMPARED):
            top, bottom = axes[0, j], axes[1, j]
            share, pct = is_share(col), is_percent(col)
            level = [summary_line(g, col, str(n), *style[str(n)])
                     for n, g in runs.groupby("scenario", sort=False)]
            scale = max(float(np.nanmax(np.abs(line.y), initial=0.0)) for line in level)
            lines_panel(top, level, steps, marks, ylabel=unit(col), end_labels=False, share=pct,
                        min_span=MIN_SPAN if share else REL_SPAN * scale or MIN_SPAN,
                        base=None, ceiling=1.0 if share else None, key=True)
            top.set_title(title_)
            top.set_xlabel("")
            diff = [summary_line(g, col, str(n), *style[str(n)])
                    for n, g in differences.groupby("scenario", sort=False)] \
                if len(differences) else []
            weeks_axis(bottom, steps)
            events(bottom, marks, labelled=False, key=True)
            lo, hi = limits([a for line in diff for a in (line.y, line.lo, line.hi)], zero=True,
                            min_span=MIN_DIFF_SPAN if share else REL_DIFF_SPAN * scale
                            or MIN_DIFF_SPAN)
            bottom.set_ylim(lo, hi)
            bottom.axhline(0, color=BLACK, lw=0.8, zorder=2)
            draw_lines(bottom, diff)
            bottom.set_ylabel(f"difference to {reference}\n({difference_unit(col)})")
            if pct:
                percent(bottom, points=True)
        handles = [Line2D([], [], color=c, ls=d, lw=w,
                          label=f"{n} (reference)" if n == reference else n)
                   for n, (c, d, w) in style.items()]
        legend = fig.legend(handles=handles, ncol=min(len(handles), 4), loc="lower center",
                            fontsize=9, handlelength=3)
        finish(fig, legend)
        return save(fig, out)


# ------------------------------------------------------------------------------ case studies
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
