"""Interactive app on Mesa's Solara visualization: a scenario, its levers, and what they change.

Start it with ``trustsim app`` or ``python -m sim.app [--port P] [--host H]`` (or ``solara run
sim/app.py``) and open the printed address.

What it runs. The picked scenario file (``scenarios/*.yaml``) as ``trustsim run`` runs its first
replicate: the same seed, by default the same population size. Two models run side by side on
that seed and are stepped together (common random numbers): the scenario *as written*, drawn as a
faint line, and the *levered* run, drawn solid. The levers act on one programme of the scenario
(the programme picker; by default the first one the scenario's timeline names) and start at that
programme's values in the file, so as they start they change nothing and the two runs are
identical. A lever changes the levered run only once it differs from the file's value: it then
sets its field from week 1 (the programmes at week 0 are the status quo that survey trust
reflects) to the end of the run, in place of anything the scenario's timeline sets that field to
later. Any change in the sidebar rebuilds both runs at week 0; **Step** and **▶** run weeks up to
the scenario's length, **Reset** starts the same settings again.

The levers are declared once, in :data:`LEVERS`: each names the programme field it sets; its
widget's kind and range come from the field's definition in :class:`~sim.programmes.Programme`.

The page is composed from Mesa's visualization parts (its ``ModelController`` for Reset, Play
and Step; ``update_counter`` to redraw after a step) rather than ``SolaraViz``: SolaraViz's
parameter widgets keep the defaults they were declared with, so they could not start from the
picked scenario's values, and in Mesa 3.3 and 3.5 alike it always shows a "Page 0" tab and a
"Use Threads" box, which mean nothing here.
"""

from __future__ import annotations

import argparse
import functools
import os
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from html import escape
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import solara
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MaxNLocator
from mesa.visualization.solara_viz import ModelController
from mesa.visualization.utils import update_counter
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from sim import scenario as scenario_mod
from sim.demography import N_REGIONS, REGION_LABELS, REGIONS, Region
from sim.events import Event, PolicyChange
from sim.model import TrustModel
from sim.programmes import Choice, Consent, Programme, Regime

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = scenario_mod.bundled.folder()  # scenarios/, or the copy an installed wheel carries
SCENARIO_NAMES = sorted(p.stem for p in SCENARIOS.glob("*.yaml"))
DEFAULT_SCENARIO = "baseline"
NAME = "trustsim: trust in public-sector data sharing"
POPULATION_RANGE = (1_000, 20_000, 1_000)  # the population slider: min, max, step
LEVER_WEEK = 1  # levers act from this week to the end of the run


# ---------------------------------------------------------------------------------- scenarios
@functools.cache
def load_scenario(name: str) -> scenario_mod.Scenario:
    """A scenario file by name, read once (the app rebuilds its runs often)."""
    path = SCENARIOS / f"{name}.yaml"
    if not path.is_file():
        raise ValueError(f"unknown scenario {name!r}; scenarios: {', '.join(SCENARIO_NAMES)}")
    return scenario_mod.load(path)


def default_programme(s: scenario_mod.Scenario) -> str:
    """The programme the levers start on: the first one the timeline names (what the scenario
    is about), else the first programme."""
    return next((e.programme for e in s.events() if e.programme in s.programmes),
                next(iter(s.programmes)))


def describe_event(event: Event) -> str:
    """One timeline entry in words, e.g. ``week 5: story about gp_records (severity 0.4, ...)``.

    Generic over the event types, so a new type reads sensibly without a change here.
    """
    detail = event.model_dump(exclude={"type", "step", "programme"}, exclude_none=True)
    if isinstance(event, PolicyChange):
        detail = dict(_flatten(event.changes))
    words = {"scandal": "story about", "opt_out_deadline": "opt-out deadline for",
             "policy_change": "policy change to"}.get(event.type, event.type.replace("_", " "))
    text = f"week {event.step}: {words} {event.programme}"
    if detail:
        text += " (" + ", ".join(f"{k.replace('_', ' ')} {_show(v)}"
                                 for k, v in detail.items()) + ")"
    return text


def _flatten(changes: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for key, value in changes.items():
        if isinstance(value, dict):
            out += _flatten(value, f"{prefix}{key}.")
        else:
            out.append((f"{prefix}{key}", value))
    return out


def _show(value: Any) -> str:
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, float):
        return f"{value:g}"
    return "unset" if value is None else str(value)


# ------------------------------------------------------------------------------------- levers
def _field(path: str) -> FieldInfo:
    """The definition of a dotted :class:`Programme` field, e.g. ``mandate.strength``."""
    model: type[BaseModel] = Programme
    *parents, leaf = path.split(".")
    for name in parents:
        model = model.model_fields[name].annotation
    return model.model_fields[leaf]


def _get(programme: Programme, path: str) -> Any:
    value: Any = programme
    for name in path.split("."):
        value = getattr(value, name)
    return value.value if isinstance(value, Enum) else value


#: How the consent regimes read in the lever's picker (the scenario file's word first).
CONSENT_WORDS = {Consent.NONE.value: "none (no choice)", Consent.OPT_OUT.value: "opt_out",
                 Consent.OPT_IN.value: "opt_in", Consent.DYNAMIC.value: "dynamic (granular)"}


@dataclass(frozen=True)
class Lever:
    """One lever: the programme field it sets, its label and its slider's step and top.

    Nothing about the widget is typed here that the field's definition already says: an enum
    field is a picker of its values, a number a slider over its ``ge``/``le`` bounds.
    """

    name: str  # the key in TrustApp's ``levers`` and in the app's settings
    field: str  # dotted Programme field
    label: str
    step: float = 0.01  # fine enough that every scenario's value lies on the slider
    top: float | None = None  # slider maximum, where the field's upper bound is far beyond use

    @property
    def kind(self) -> type:
        """The field's type: an enum (a picker) or a number (a slider)."""
        return _field(self.field).annotation

    @property
    def is_choice(self) -> bool:
        """Whether the lever picks among named values rather than sliding over numbers."""
        return issubclass(self.kind, Enum)

    def written(self, programme: Programme) -> Any:
        """The field's value in the programme as the scenario writes it."""
        return _get(programme, self.field)

    def bounds(self, programme: Programme | None = None) -> tuple[float, float]:
        """The slider's range: the field's ``ge`` and ``le`` (or :attr:`top`), widened to the
        programme's own value if it lies beyond :attr:`top`."""
        low = high = None
        for bound in _field(self.field).metadata:  # pydantic's Ge(ge=0), Le(le=1), ...
            low, high = getattr(bound, "ge", low), getattr(bound, "le", high)
        if self.top is not None:
            high = self.top if programme is None else max(self.top, self.written(programme))
        if low is None or high is None:
            raise ValueError(f"lever {self.name}: {self.field} needs ge and le (or a top)")
        return float(low), float(high)

    def value(self, raw: Any) -> Any:
        """A widget's value as the programme takes it (an enum's value, a float)."""
        value = self.kind(raw)
        return value.value if isinstance(value, Enum) else value

    def differs(self, value: Any, programme: Programme) -> bool:
        """Whether ``value`` moves this lever away from the programme's value in the file."""
        written = self.written(programme)
        if isinstance(written, float):
            return abs(float(value) - written) > 1e-9  # a slider's 0.1 may be 0.1000000001
        return self.value(value) != written

    def changes(self, value: Any) -> dict[str, Any]:
        """``{field: value}`` as a :class:`PolicyChange` writes it (nested as dicts)."""
        *parents, leaf = self.field.split(".")
        out: dict[str, Any] = {leaf: value}
        for name in reversed(parents):
            out = {name: out}
        return out


LEVERS: tuple[Lever, ...] = (
    Lever("consent", "consent", "Consent regime"),
    Lever("mandate_strength", "mandate.strength", "Mandate strength"),
    Lever("public_interest_test", "mandate.public_interest_test", "Public-interest test"),
    Lever("oversight", "mandate.oversight", "Independent oversight"),
    Lever("security", "security", "Security"),
    Lever("publicity", "publicity", "Publicity of breaches"),
    Lever("breach_rate", "breach_rate", "Breach rate (per year)", top=5.0),  # field: le=52
)
BY_NAME = {lever.name: lever for lever in LEVERS}


def written_levers(programme: Programme) -> dict[str, Any]:
    """Every lever's value in the programme as written: where the levers start."""
    return {lever.name: lever.written(programme) for lever in LEVERS}


def moved_levers(programme: Programme, levers: dict[str, Any]) -> dict[str, Any]:
    """The levers whose value differs from the programme's in the file (the others are off)."""
    unknown = sorted(set(levers) - set(BY_NAME))
    if unknown:
        raise TypeError(f"unknown levers: {', '.join(unknown)}")
    return {name: BY_NAME[name].value(value) for name, value in levers.items()
            if BY_NAME[name].differs(value, programme)}


def changes(moved: dict[str, Any]) -> dict[str, Any]:
    """Moved levers as one :class:`PolicyChange`'s ``changes`` (nested fields merged)."""
    out: dict[str, Any] = {}
    for name, value in moved.items():
        for key, part in BY_NAME[name].changes(value).items():
            out[key] = {**out.get(key, {}), **part} if isinstance(part, dict) else part
    return out


def levered_timeline(events: Sequence[Event], programme: str, moved: dict[str, Any]
                     ) -> tuple[list[Event], list[str]]:
    """The timeline with the moved levers in force from :data:`LEVER_WEEK` on.

    A lever holds its field to the end of the run: the timeline's own later changes of that
    field of that programme are dropped (and listed in the second value, in words), so that a
    lever on, say, the consent regime is not undone by the scenario's own switch at week 4.
    """
    fields = {BY_NAME[name].field for name in moved}
    out: list[Event] = []
    replaced: list[str] = []
    for event in events:
        if isinstance(event, PolicyChange) and event.programme == programme:
            kept = _without(event.changes, fields)
            dropped = [k for k, _ in _flatten(event.changes) if k in fields]
            if dropped:
                replaced.append(f"week {event.step}: {', '.join(dropped)}")
                if not kept:
                    continue
                event = event.model_copy(update={"changes": kept})
        out.append(event)
    if moved:
        out.append(PolicyChange(step=LEVER_WEEK, programme=programme, changes=changes(moved)))
    return sorted(out, key=lambda e: e.step), replaced  # stable: the levers after week 1's own


def _without(changes_: dict[str, Any], fields: set[str], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in changes_.items():
        if isinstance(value, dict):
            inner = _without(value, fields, f"{prefix}{key}.")
            if inner:
                out[key] = inner
        elif f"{prefix}{key}" not in fields:
            out[key] = value
    return out


def held_back(model: TrustModel, p: int, rows: slice | np.ndarray = slice(None)) -> float:
    """Share of citizens whose own choice keeps their records of programme ``p`` back: opted
    out (opt-out, dynamic) or not opted in (opt-in); nobody under consent ``none``. The same
    rule as :func:`sim.sharing.consents`."""
    choice = model.citizens.choice[rows, p]
    if not len(choice):
        return 0.0
    regime = model.table.regime[p]
    if regime == Regime.NONE:
        return 0.0
    if regime == Regime.OPT_IN:
        return float(np.mean(choice != Choice.IN))
    return float(np.mean(choice == Choice.OUT))


# ------------------------------------------------------------------------------------ the model
class TrustApp(TrustModel):
    """The levered run of a scenario, with the scenario as written beside it (``reference``).

    Both are built from the scenario file on the same seed and stepped together by
    :meth:`step`, so any difference between them is the levers' doing. Every argument is a
    keyword with a default, as Mesa's ``ModelController`` rebuilds the model on Reset with
    ``TrustApp(**settings)``. No argument or attribute is called ``scenario``: Mesa 3.5 reserves
    that name for its own scenarios.

    Args:
        scenario_name: a file of ``scenarios/`` without ``.yaml``.
        n_citizens: population size; default: the scenario's.
        programme: the programme the levers act on; default: :func:`default_programme`.
        levers: lever values by name (:data:`LEVERS`); a lever left out, or equal to the
            programme's value in the file, changes nothing.
        rng: seed of both runs; default: the scenario's first replicate, as ``trustsim run``.
    """

    def __init__(
        self,
        *,
        scenario_name: str = DEFAULT_SCENARIO,
        n_citizens: int | None = None,
        programme: str | None = None,
        levers: dict[str, Any] | None = None,
        rng: int | None = None,
    ):
        s = load_scenario(scenario_name)
        target = programme or default_programme(s)
        if target not in s.programmes:
            raise ValueError(f"scenario {scenario_name} has no programme {target!r} "
                             f"(programmes: {', '.join(s.programmes)})")
        n = int(n_citizens or s.population.size)
        written = s.programmes[target]
        moved = moved_levers(written, levers or {})

        def kwargs() -> dict[str, Any]:  # fresh for each run: a seed is not shared
            out = s.model_kwargs()
            out["rng"] = s.replicate_seeds()[0] if rng is None else rng
            return out

        levered = kwargs()
        levered["events"], replaced = levered_timeline(levered["events"], target, moved)
        super().__init__(n, citizen_agents=False, **levered)
        self.reference = TrustModel(n, citizen_agents=False, **kwargs())
        self.scenario_spec = s
        self.scenario_name = scenario_name
        self.programme = target
        self.written = written  # the programme as the file writes it (where levers start)
        self.levers = moved  # the levers in force, by name
        self.replaced = replaced  # the timeline's changes the levers replace, in words
        self.weeks = s.steps
        self._p = self.programme_index(target)
        # Mesa's controller may step in a thread while the page draws: drawing takes the lock,
        # so that it never sees one run a week ahead of the other
        self.lock = threading.RLock()
        self.held_back = {"levered": [held_back(self, self._p)],
                          "written": [held_back(self.reference, self._p)]}

    def step(self) -> None:
        """One week of both runs; stops at the scenario's length."""
        with self.lock:
            super().step()
            self.reference.step()
            self.held_back["levered"].append(held_back(self, self._p))
            self.held_back["written"].append(held_back(self.reference, self._p))
            self.running = self.steps < self.weeks

    def frames(self) -> dict[str, pd.DataFrame]:
        """Both runs' outputs so far (``levered`` and ``written``), with ``held_back``, the share
        holding back their records of the levered programme."""
        out = {"levered": self.timeseries(), "written": self.reference.timeseries()}
        for key, df in out.items():
            df["held_back"] = self.held_back[key][: len(df)]
        return out

    def first_difference(self) -> int | None:
        """The first week in which any output of the two runs differs, or None."""
        a, b = self.timeseries().to_numpy(), self.reference.timeseries().to_numpy()
        same = (a == b) | (np.isnan(a) & np.isnan(b))
        weeks = np.flatnonzero(~same.all(axis=1))
        return int(weeks[0]) if len(weeks) else None


def start_settings(scenario_name: str = DEFAULT_SCENARIO, programme: str | None = None,
                   n_citizens: int | None = None) -> dict[str, Any]:
    """The sidebar's values for a scenario: its population, a programme, levers as written.

    These are ``TrustApp``'s keywords: Reset rebuilds the model with exactly them.
    """
    s = load_scenario(scenario_name)
    target = programme or default_programme(s)
    return {"scenario_name": scenario_name, "n_citizens": int(n_citizens or s.population.size),
            "programme": target, "levers": written_levers(s.programmes[target])}


# ------------------------------------------------------------------------------------ figures
def _label_spec(s: scenario_mod.Scenario, agency: str) -> str:
    return s.agencies[agency].label or agency


WRITTEN_STYLE = {"alpha": 0.3, "lw": 5, "solid_capstyle": "butt"}  # the scenario as written
LEVERED_STYLE = {"lw": 1.6}


def _label(model: TrustApp, agency: str) -> str:
    return _label_spec(model.scenario_spec, agency)


def _weeks_axis(ax: Axes, model: TrustApp) -> None:
    """Weeks on x, from 0 to the current week (at least 10), with the timeline's events."""
    right = max(model.steps, 10)
    ax.set_xlim(0, right)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("week")
    for week in sorted({e.step for e in model.scenario_spec.events() if e.step <= right}):
        ax.axvline(week, color="grey", lw=0.8, ls=":", zorder=0)
    ax.grid(axis="y", color="0.92")


def _pairs(ax: Axes, frames: dict[str, pd.DataFrame], series: Sequence[tuple[str, str, str]],
           scale: float = 1.0) -> float:
    """Each (column, label, colour) twice: faint as written, solid with the levers (the second
    and later series dashed, so that lines that coincide both show). Returns the largest value
    drawn (scaled)."""
    top = 0.0
    for k, (column, label, colour) in enumerate(series):
        for key, style in (("written", WRITTEN_STYLE), ("levered", LEVERED_STYLE)):
            df = frames[key]
            values = df[column].to_numpy(dtype=float) * scale
            dashes = {"ls": (0, (4, 2))} if key == "levered" and k > 0 else {}
            ax.plot(df["step"], values, color=colour,
                    label=label if key == "levered" else None, **style, **dashes)
            if len(values):
                top = max(top, float(np.nanmax(values)))
    return top


def _legend(ax: Axes) -> None:
    """The legend below the axes, where it hides no line, with the faint line's meaning."""
    handles, labels = ax.get_legend_handles_labels()
    handles.append(ax.plot([], [], color="0.4", **WRITTEN_STYLE)[0])
    labels.append("faint: the scenario as written")
    ax.figure.legend(handles, labels, loc="outside lower center", ncol=2, fontsize="x-small",
                     frameon=False)


def _figure() -> tuple[Figure, Axes]:
    fig = Figure(figsize=(5.4, 3.5), layout="constrained")
    return fig, fig.subplots()


def _percent_axis(axis: Any) -> None:
    """Percent ticks on round numbers (the values are already in percent)."""
    axis.set_major_locator(MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10]))
    axis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:g}%"))


def _time_figure(model: TrustApp, series: Sequence[tuple[str, str, str]], title: str,
                 ylabel: str, *, scale: float = 1.0, least_top: float = 1.0,
                 fixed_top: float | None = None, percent: bool = False) -> Figure:
    """One week-by-week panel of ``series`` (as written faint, levered solid), from 0 to
    ``fixed_top`` or to at least ``least_top`` (a flat line reads flat), legend below."""
    fig, ax = _figure()
    top = _pairs(ax, model.frames(), series, scale)
    ax.set_ylim(0, fixed_top if fixed_top is not None else max(least_top, top * 1.15))
    if percent:
        _percent_axis(ax.yaxis)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    _weeks_axis(ax, model)
    _legend(ax)
    return fig


def trust_figure(model: TrustApp) -> Figure:
    """General trust and trust in the levered programme's holder and recipient, on 0-1."""
    holder, recipient = model.written.holder, model.written.recipient
    series = [("trust_mean", "general trust in data use", "black"),
              (f"trust_{holder}", f"trust in the holder: {_label(model, holder)}", "tab:blue")]
    if recipient != holder:
        series.append((f"trust_{recipient}",
                       f"trust in the recipient: {_label(model, recipient)}", "tab:orange"))
    return _time_figure(model, series, f"Trust: general, and in the agencies of {model.programme}",
                        "mean trust (0 to 1)", fixed_top=1.0)


def choices_figure(model: TrustApp) -> Figure:
    """Opt-outs in percent, from 0 with a span of at least 5 points (a flat line reads flat)."""
    return _time_figure(model, [
        ("opt_out_rate", "opted out of any programme", "tab:red"),
        ("held_back", f"holding back their {model.programme} records", "tab:purple")],
        "Citizens' choices", "share of citizens", scale=100, least_top=5.0, percent=True)


def coverage_figure(model: TrustApp) -> Figure:
    """Records shared, in percent of what could be shared, on 0-100%."""
    return _time_figure(model, [
        (f"coverage_{model.programme}", f"records of {model.programme}", "tab:blue"),
        ("data_coverage", "records of all programmes", "tab:cyan")],
        "Data shared", "share of records shared", scale=100, fixed_top=100.0, percent=True)


def benefit_figure(model: TrustApp) -> Figure:
    """Benefit of sharing, from 0 to at least 1 (the scale of one programme's benefit)."""
    return _time_figure(model, [
        ("service_benefit", "service benefit index (mean per citizen)", "tab:green"),
        ("public_benefit", "public benefit index (research and planning)", "tab:olive")],
        "Benefit of sharing", "benefit (model index, no unit)", least_top=1.0)


def citizens_figure(model: TrustApp) -> Figure:
    """The citizens now, by attitude segment: general trust (mean and 10th-90th percentile)
    and the share holding back the levered programme's records; as written faint beside."""
    runs = {"written": model.reference, "levered": model}
    segments = model.segments
    fig = Figure(figsize=(10.8, 3.3), layout="constrained")
    left, right = fig.subplots(1, 2, sharey=True)
    y = np.arange(len(segments))
    general = model.column["general"]
    shares: dict[str, list[float]] = {}
    for key, run in runs.items():
        seg = run.citizens.segment
        trust = run.citizens.trust[:, general]
        shift = 0.17 if key == "levered" else -0.17
        for k in range(len(segments)):
            values = trust[seg == k]
            if not len(values):
                continue
            low, high = np.quantile(values, [0.1, 0.9])
            colour = "tab:blue" if key == "levered" else "0.6"
            left.plot([low, high], [k + shift] * 2, color=colour, lw=2.5,
                      alpha=1 if key == "levered" else 0.5, solid_capstyle="butt")
            left.plot(values.mean(), k + shift, "o", color=colour, ms=5)
        shares[key] = [100 * held_back(run, model._p, seg == k) for k in range(len(segments))]
    left.set_xlim(0, 1)
    left.set_xlabel("general trust (dot: mean; bar: 10th to 90th percentile)")
    left.set_yticks(y, [textwrap.fill(s.label, 24) for s in segments], fontsize="small")
    left.invert_yaxis()
    left.set_title(f"Trust by attitude segment, week {model.steps}", fontsize="medium")
    right.barh(y - 0.2, shares["written"], height=0.38, color="0.75")
    right.barh(y + 0.2, shares["levered"], height=0.38, color="tab:purple")
    top = max(shares["written"] + shares["levered"])
    right.set_xlim(0, max(5.0, top * 1.15))
    _percent_axis(right.xaxis)
    right.set_xlabel(f"share holding back their {model.programme} records")
    right.set_title(f"Choices by attitude segment, week {model.steps}", fontsize="medium")
    regimes = {model.reference.programmes[model._p].consent, model.programmes[model._p].consent}
    if regimes == {Consent.NONE}:
        right.text(0.5, 0.5, f"consent none: {model.programme}'s records flow\n"
                   "whatever citizens choose", transform=right.transAxes, ha="center",
                   va="center", fontsize="small", color="0.35")
    handles = [Line2D([], [], color="0.6", alpha=0.5, lw=2.5, marker="o"),
               Line2D([], [], color="tab:blue", lw=2.5, marker="o"),
               Patch(color="0.75"), Patch(color="tab:purple")]
    fig.legend(handles, ["trust as written", "trust with the levers", "choices as written",
                         "choices with the levers"], loc="outside lower center", ncol=4,
               fontsize="x-small", frameon=False)
    for ax in (left, right):
        ax.grid(axis="x", color="0.92")
    return fig


def regions_now(model: TrustApp) -> pd.DataFrame:
    """Each region now in both runs: one row per region (in ``sim.demography.REGIONS`` order)
    with its ``label``, ``citizens``, and the share opted out of any programme and the mean
    general trust, ``_levered`` and ``_written``.

    Read from the models' own group outputs, which every week records anyway, so drawing costs
    no pass over the citizens; only the head count is a bincount.
    """
    out: dict[str, Any] = {}
    for key, run in (("levered", model), ("written", model.reference)):
        groups = run.group_results
        rows = [k for k, (kind, _) in enumerate(groups.groups) if kind == "region"]
        now = groups.values[groups.last, rows]
        if "region" not in out:
            out["region"] = [groups.groups[k][1] for k in rows]
        for column in ("opt_out_rate", "trust_mean"):
            out[f"{column}_{key}"] = now[:, groups.names.index(column)]
    table = pd.DataFrame(out)
    codes = [REGIONS.index(Region(r)) for r in table["region"]]
    table.insert(1, "label", [REGION_LABELS[REGIONS[k]] for k in codes])
    table.insert(2, "citizens", np.bincount(model.citizens.region, minlength=N_REGIONS)[codes])
    return table


def regions_figure(model: TrustApp) -> Figure:
    """The citizens now by region: the share opted out of any programme (from 0, a span of at
    least 5 points, as in the choices chart) and mean general trust (on 0-1, as in the trust
    chart); the levered run solid in front of the scenario as written, faint, and the whole
    population's value as a line across the regions."""
    table = regions_now(model)
    whole = {"levered": model.results, "written": model.reference.results}  # the population
    fig = Figure(figsize=(10.8, 4.6), layout="constrained")
    left, right = fig.subplots(1, 2, sharey=True)
    y = np.arange(len(table))
    red, ink = "tab:red", "black"
    written, levered = 100 * table["opt_out_rate_written"], 100 * table["opt_out_rate_levered"]
    left.barh(y, written, height=0.8, color=red, alpha=0.25, lw=0)
    left.barh(y, levered, height=0.34, color=red)
    for key, style in (("written", {**WRITTEN_STYLE, "zorder": 0}),
                       ("levered", {"lw": 1, "ls": (0, (4, 2))})):
        left.axvline(100 * whole[key].latest("opt_out_rate"), color=red, **style)
        right.axvline(whole[key].latest("trust_mean"), color=ink, **style)
    left.set_xlim(0, max(5.0, 1.15 * max(written.max(), levered.max())))
    _percent_axis(left.xaxis)
    left.set_xlabel("share opted out of any programme that offers a choice")
    left.set_title(f"Opted out by region, week {model.steps}", fontsize="medium")
    left.set_yticks(y, [f"{label} ({n:,})" for label, n in zip(table["label"],
                                                                table["citizens"], strict=True)],
                    fontsize="small")
    left.set_ylabel("region (citizens)")
    left.invert_yaxis()
    choice = [run.table.regime != Regime.NONE for run in (model, model.reference)]
    if not any(c.any() for c in choice):
        left.text(0.5, 0.5, "no programme offers a choice:\nnobody can opt out",
                  transform=left.transAxes, ha="center", va="center", fontsize="small",
                  color="0.35")
    right.plot(table["trust_mean_written"], y, "o", color=ink, alpha=0.25, ms=11)
    right.plot(table["trust_mean_levered"], y, "o", color=ink, ms=5)
    right.set_xlim(0, 1)
    right.set_xlabel("mean general trust in data use (0 to 1)")
    right.set_title(f"General trust by region, week {model.steps}", fontsize="medium")
    for ax in (left, right):
        ax.grid(axis="x", color="0.92")
    handles = [Patch(color=red), Patch(color=red, alpha=0.25),
               Line2D([], [], color=ink, marker="o", ms=5, lw=0),
               Line2D([], [], color=ink, marker="o", ms=11, alpha=0.25, lw=0),
               Line2D([], [], color="0.3", lw=1, ls=(0, (4, 2))),
               Line2D([], [], color="0.3", **WRITTEN_STYLE)]
    fig.legend(handles, ["opted out, with the levers", "opted out, as written",
                         "trust, with the levers", "trust, as written",
                         "whole population, with the levers", "whole population, as written"],
               loc="outside lower center", ncol=3, fontsize="x-small", frameon=False)
    return fig


# ------------------------------------------------------------------------------- summary data
def comparison(model: TrustApp) -> list[tuple[str, str, str, str]]:
    """The summary's rows now: what, with the levers, as written, difference (in words)."""
    frames = model.frames()
    now = {key: df.iloc[-1] for key, df in frames.items()}
    holder, recipient, p = model.written.holder, model.written.recipient, model.programme
    rows: list[tuple[str, str, Callable[[float], str]]] = [
        ("General trust in data use (0 to 1)", "trust_mean", _decimal),
        (f"Trust in {_label(model, holder)}", f"trust_{holder}", _decimal),
        (f"Trust in {_label(model, recipient)}", f"trust_{recipient}", _decimal),
        ("Opted out of any programme", "opt_out_rate", _percent),
        (f"Holding back their {p} records", "held_back", _percent),
        (f"Records of {p} shared", f"coverage_{p}", _percent),
        ("Records of all programmes shared", "data_coverage", _percent),
        ("Service benefit index (mean per citizen)", "service_benefit", _decimal),
        ("Public benefit index", "public_benefit", _decimal),
    ]
    if recipient == holder:
        del rows[2]
    out = [(label, fmt(now["levered"][col]), fmt(now["written"][col]),
            _difference(now["levered"][col] - now["written"][col], fmt))
           for label, col, fmt in rows]
    breaches = {key: int(df["breaches"].sum()) for key, df in frames.items()}
    out.append(("Breaches so far", str(breaches["levered"]), str(breaches["written"]),
                _difference(breaches["levered"] - breaches["written"], str)))
    return out


def _decimal(x: float) -> str:
    return f"{x:.3f}"


def _percent(x: float) -> str:
    return f"{100 * x:.2f}%"


def _difference(d: float, fmt: Callable[[float], str]) -> str:
    if d == 0:
        return "same"
    text = fmt(abs(d))
    if float(text.rstrip("%")) == 0:  # too small for the format: say so rather than "+0.000"
        return "below display precision"
    return ("+" if d > 0 else "-") + text


def status(model: TrustApp) -> str:
    """One sentence: whether the levered run differs from the scenario as written, and since
    when."""
    first = model.first_difference()
    if not model.levers:
        if first is None:
            return f"No lever moved: the two runs are identical (weeks 0 to {model.steps})."
        return f"No lever moved, yet the runs differ from week {first}: please report this."
    if first is None:
        if model.steps < LEVER_WEEK:
            return f"Levers moved; they act from week {LEVER_WEEK}: press Step."
        return (f"Levers moved, yet the runs are still identical (weeks 0 to {model.steps}): "
                "nothing has happened that the moved fields change.")
    return f"The levers change the run from week {first}."


# ------------------------------------------------------------------------------- components
@solara.component
def Summary(model: TrustApp):  # noqa: N802 (Solara components are CamelCase)
    """The scenario in words, the levers in force, and the two runs compared now."""
    update_counter.get()
    with model.lock:
        html = summary_html(model)
    solara.HTML(unsafe_innerHTML=html, classes=["trustsim-summary"],
                style="padding: 0 8px; font-size: 0.92em; line-height: 1.4")


def summary_html(model: TrustApp) -> str:
    """The summary as HTML (escaped text; solara's Markdown would fetch KaTeX from the web)."""
    s = model.scenario_spec
    events = [describe_event(e) for e in s.events()]
    moved = ", ".join(f"{BY_NAME[k].label.lower()} {_show(v)} (as written: "
                      f"{_show(BY_NAME[k].written(model.written))})"
                      for k, v in model.levers.items())
    if model.levers:
        levers = f"<b>Levers on {model.programme}, from week {LEVER_WEEK}:</b> {escape(moved)}."
        if model.replaced:
            levers += escape(" They replace the timeline's own later changes of the same fields "
                             "(" + "; ".join(model.replaced) + ").")
    else:
        levers = (f"<b>Levers on {escape(model.programme)}:</b> none moved; this run is the "
                  "scenario as written.")
    rows = "".join(
        "<tr>" + f"<td>{escape(a)}</td>" + "".join(
            f'<td style="text-align: right">{escape(x)}</td>' for x in (b, c, d)) + "</tr>"
        for a, b, c, d in comparison(model))
    head = "".join(f'<th style="text-align: {al}; padding-right: 14px">{h}</th>' for h, al in (
        (f"week {model.steps}", "left"), ("with the levers", "right"), ("as written", "right"),
        ("difference", "right")))
    return (
        f"<h3 style='margin: 4px 0'>{escape(s.name)}: week {model.steps} of {model.weeks}, "
        f"{model.n_citizens:,} citizens</h3>"
        f"<p style='margin: 4px 0'>{escape(' '.join(s.description.split()))}</p>"
        "<p style='margin: 4px 0'><b>Timeline as written:</b> "
        f"{escape('; '.join(events) if events else 'no scheduled events')}.</p>"
        f"<p style='margin: 4px 0'>{levers}</p>"
        f"<p class='trustsim-status' style='margin: 6px 0; font-weight: bold'>"
        f"{escape(status(model))}</p>"
        f"<table class='trustsim-comparison' style='border-collapse: collapse'>"
        f"<tr>{head}</tr>{rows}</table>")


def _chart(make: Callable[[TrustApp], Figure]):
    # its own class (e.g. trustsim-regions for regions_figure): the browser test finds it
    classes = ["trustsim-chart", "trustsim-" + make.__name__.removesuffix("_figure")]

    @solara.component
    def Chart(model: TrustApp):  # noqa: N802 (Solara components are CamelCase)
        update_counter.get()
        with model.lock:
            figure = make(model)
        with solara.Column(gap="0px", classes=classes):
            solara.FigureMatplotlib(figure, format="png")  # laid out already: constrained

    Chart.__name__ = make.__name__
    return Chart


TrustChart = _chart(trust_figure)
ChoicesChart = _chart(choices_figure)
CoverageChart = _chart(coverage_figure)
BenefitChart = _chart(benefit_figure)
CitizensChart = _chart(citizens_figure)
RegionsChart = _chart(regions_figure)


@solara.component
def LeverInput(  # noqa: N802 (Solara components are CamelCase)
        lever: Lever, programme: Programme, value: Any, on_value: Callable[[Any], None]):
    """One lever, labelled with the programme it acts on, its value and whether it is moved."""
    written = lever.written(programme)
    moved = lever.differs(value, programme)
    label = f"{lever.label} ({programme.name})"
    state = f"moved from {_show(written)}" if moved else "as written"
    style = {"font-size": "0.85em", "color": "#b00020" if moved else "#555"}
    with solara.Column(gap="0px", style={"margin-bottom": "4px"}):
        if lever.is_choice:
            words = {v: k for k, v in CONSENT_WORDS.items()}
            solara.Select(label, values=[CONSENT_WORDS.get(c.value, c.value)
                                         for c in lever.kind],
                          value=CONSENT_WORDS.get(value, value),
                          on_value=lambda w: on_value(words.get(w, w)))
            solara.Text(state, style=style)
        else:
            low, high = lever.bounds(programme)
            solara.Text(f"{label}: {_show(lever.value(value))}, {state}", style=style)
            solara.SliderFloat("", value=float(value), min=low, max=high, step=lever.step,
                               on_value=on_value, thumb_label=True)


@solara.component
def WeekCounter(model: TrustApp):  # noqa: N802 (Solara components are CamelCase)
    """Where the run is: week k of the scenario's length."""
    update_counter.get()
    solara.Text(f"Week {model.steps} of {model.weeks}" + ("" if model.running else ": the end"))


@solara.component
def Page():  # noqa: N802 (Solara components are CamelCase)
    """The app: the run's controls, the scenario and its levers in the sidebar; the comparison,
    the charts and the citizens in the main area."""
    first = solara.use_memo(start_settings, [])
    settings = solara.use_reactive(first)
    model = solara.use_reactive(solara.use_memo(lambda: TrustApp(**first), []))
    rebuilt = solara.use_reactive(0)  # remounts the controller: a new run starts paused
    play_interval = solara.use_reactive(200)
    render_interval = solara.use_reactive(1)
    use_threads = solara.use_reactive(False)  # Mesa's option, off: each week drawn in turn

    def change(**new: Any) -> None:
        value = {**settings.value, **new}
        settings.set(value)
        model.set(TrustApp(**value))
        rebuilt.set(rebuilt.value + 1)

    current = settings.value
    s = load_scenario(current["scenario_name"])
    programme = s.programmes[current["programme"]]
    levers = current["levers"]

    solara.Title(NAME)
    with solara.AppBar():
        solara.AppBarTitle(NAME)
    with solara.Sidebar(), solara.Column():
        with solara.Card("Run"):
            ModelController(model, model_parameters=settings, play_interval=play_interval,
                            render_interval=render_interval, use_threads=use_threads
                            ).key(f"run-{rebuilt.value}")
            with solara.Column(gap="0px", style={"margin-top": "8px"}):
                WeekCounter(model.value)
                solara.Text(f"Pause between weeks when playing: {play_interval.value} ms",
                            style={"font-size": "0.85em", "margin-top": "6px"})
                solara.SliderInt("", value=play_interval, min=0, max=1000, step=50)
                solara.Text(f"Weeks per Step, and per redraw when playing: "
                            f"{render_interval.value}", style={"font-size": "0.85em"})
                solara.SliderInt("", value=render_interval, min=1, max=13)
        with solara.Card("Scenario"):
            solara.Select("Scenario", values=SCENARIO_NAMES, value=current["scenario_name"],
                          on_value=lambda name: change(**start_settings(name)))
            solara.Text(f"Population: {current['n_citizens']:,} citizens "
                        f"(as written: {s.population.size:,})", style={"font-size": "0.85em"})
            solara.SliderInt("", value=current["n_citizens"],
                             min=POPULATION_RANGE[0],
                             max=max(POPULATION_RANGE[1], s.population.size),
                             step=POPULATION_RANGE[2],
                             on_value=lambda n: change(n_citizens=int(n)))
            solara.Text("Both runs use the seed of replicate 1 of trustsim run (at the "
                        "written population, its numbers)",
                        style={"font-size": "0.8em", "color": "#555"})
        with solara.Card(f"Levers on {programme.name}"):
            solara.Select("Programme the levers act on", values=list(s.programmes),
                          value=programme.name,
                          on_value=lambda name: change(**start_settings(
                              current["scenario_name"], name, current["n_citizens"])))
            solara.Text(f"{_label_spec(s, programme.holder)} to "
                        f"{_label_spec(s, programme.recipient)}; "
                        f"levers act from week {LEVER_WEEK} once moved",
                        style={"font-size": "0.8em", "margin-bottom": "8px"})
            for lever in LEVERS:
                LeverInput(lever, programme, levers[lever.name],
                           on_value=lambda v, name=lever.name: change(
                               levers={**settings.value["levers"], name: v}))
            solara.Button("Levers back to the scenario", outlined=True,
                          disabled=not moved_levers(programme, levers),
                          on_click=lambda: change(levers=written_levers(programme)))

    with solara.Column(style={"padding": "8px"}):
        Summary(model.value)
        with solara.GridFixed(columns=2):
            TrustChart(model.value)
            ChoicesChart(model.value)
            CoverageChart(model.value)
            BenefitChart(model.value)
        CitizensChart(model.value)
        RegionsChart(model.value)


# ------------------------------------------------------------------------------------ serving
HOST, PORT = "127.0.0.1", 8765


def command(host: str = HOST, port: int = PORT) -> list[str]:
    """The command that serves the app (solara's CLI, production mode: no auto-reload)."""
    return [sys.executable, "-m", "solara", "run", "sim.app", "--host", host,
            "--port", str(port), "--production"]


def serve(host: str = HOST, port: int = PORT) -> int:
    """Serve the app until interrupted; returns solara's exit code."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    print(f"trustsim app: http://{host}:{port}/  (Ctrl-C to stop)", flush=True)
    try:
        return subprocess.call(command(host, port), cwd=ROOT, env=env)
    except KeyboardInterrupt:
        return 0


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if not 1 <= port <= 65_535:
        raise argparse.ArgumentTypeError(f"must be from 1 to 65535, got {port}")
    return port


def main(argv: list[str] | None = None) -> int:
    """``python -m sim.app [--host H] [--port P]``: the same as ``trustsim app``.

    Its own small parser, so that the app does not import the command line (which imports it).
    """
    parser = argparse.ArgumentParser(
        prog="python -m sim.app", description="Serve the interactive app in a browser "
        "(Mesa's Solara visualization); the same as `trustsim app`.")
    parser.add_argument("--port", type=_port, default=PORT, help="port to listen on")
    parser.add_argument("--host", default=HOST, help="address to listen on")
    args = parser.parse_args(argv)
    return serve(args.host, args.port)


# `solara run sim/app.py` also executes this file as __main__: serve only when run directly.
if __name__ == "__main__" and Path(sys.argv[0]).resolve() == Path(__file__).resolve():
    sys.exit(main())
