"""Interactive app on Mesa's visualization (SolaraViz): levers, a scenario picker and live charts.

Start it with ``trustsim app`` or ``python -m sim.app [--port P] [--host H]`` (or ``solara run
sim/app.py``) and open the printed address. The sidebar has a scenario picker (the YAML files in
``scenarios/``), the population size and the main levers of one programme: ``gp_records`` when the
scenario has it, otherwise the scenario's first programme. Levers take effect as a policy change at
step 1 (the programmes at step 0 are the status quo that survey trust reflects); untick "Apply the
levers" to run the scenario as written. A change takes effect on **Reset**; **Step** and **▶** run
weeks.

The levers are declared once, in :data:`LEVERS`: each names the programme fields it sets, and its
widget's kind, range and default come from those fields' definitions in
:class:`~sim.programmes.Programme` and from the baseline's ``gp_records`` programme.

The page shows trust by agency, the opt-out rate, data coverage and the benefit of sharing
week by week, and the first 400 citizens on a 20 x 20 grid coloured by general trust (a cross
marks a citizen who opted out of the levered programme).
"""

from __future__ import annotations

import argparse
import inspect
import os
import subprocess
import sys
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import numpy as np
import solara
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from mesa.visualization import Slider, SolaraViz, make_plot_component
from mesa.visualization.utils import update_counter
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from sim import baseline
from sim import scenario as scenario_mod
from sim.events import PolicyChange
from sim.model import TrustModel
from sim.programmes import Choice, Programme

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = scenario_mod.bundled.folder()  # scenarios/, or the copy an installed wheel carries
SCENARIO_NAMES = sorted(p.stem for p in SCENARIOS.glob("*.yaml"))
LEVER_PROGRAMME = "gp_records"
GRID_SIDE = 20  # the population view shows GRID_SIDE**2 citizens
# the levers' defaults: the baseline's gp_records (as in scenarios/baseline.yaml, the default
# scenario, so that there the levers as they start change nothing)
BASELINE = next(p for p in baseline.PROGRAMMES if p.name == LEVER_PROGRAMME)


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


@dataclass(frozen=True)
class Lever:
    """One lever of the sidebar: the programme fields it sets, its label and its slider step.

    Nothing about the widget is typed here that a field's definition already says: an enum field
    is a select of its values, a number a slider over its ``ge``/``le`` bounds, and the default is
    the field's value in :data:`BASELINE`.
    """

    name: str  # the TrustApp keyword, the model_params key and the name in the summary
    fields: tuple[str, ...]  # dotted Programme fields, all set to the lever's value
    label: str
    step: float = 0.05  # slider step
    top: float | None = None  # slider maximum, where the field's upper bound is far beyond use

    @property
    def kind(self) -> type:
        """The fields' type: an enum (a select) or a number (a slider)."""
        return _field(self.fields[0]).annotation

    @property
    def default(self) -> Any:
        """The fields' value in :data:`BASELINE` (one value: a lever sets its fields alike)."""
        values = {_get(BASELINE, f) for f in self.fields}
        if len(values) != 1:
            raise ValueError(f"lever {self.name}: its fields differ in {LEVER_PROGRAMME}: "
                             f"{', '.join(f'{f}={_get(BASELINE, f)}' for f in self.fields)}")
        return values.pop()

    def bounds(self) -> tuple[float, float]:
        """The slider's range: the field's ``ge`` and ``le``, or :attr:`top` when set."""
        low = high = None
        for bound in _field(self.fields[0]).metadata:  # pydantic's Ge(ge=0), Le(le=1), ...
            low, high = getattr(bound, "ge", low), getattr(bound, "le", high)
        high = self.top if self.top is not None else high
        if low is None or high is None:
            raise ValueError(f"lever {self.name}: {self.fields[0]} needs ge and le (or a top)")
        return float(low), float(high)

    def value(self, raw: Any) -> Any:
        """A widget's value as the programme takes it (an enum's value, a float)."""
        value = self.kind(raw)
        return value.value if isinstance(value, Enum) else value

    def widget(self) -> Any:
        """The lever's entry in SolaraViz's ``model_params``."""
        if issubclass(self.kind, Enum):
            return {"type": "Select", "value": self.default,
                    "values": [c.value for c in self.kind], "label": self.label}
        return Slider(self.label, self.default, *self.bounds(), self.step)


LEVERS: tuple[Lever, ...] = (
    Lever("consent", ("consent",), "Consent regime (GP records)"),
    Lever("mandate_strength", ("mandate.strength",), "Mandate strength"),
    Lever("mandate_legitimacy", ("mandate.public_interest_test", "mandate.oversight"),
          "Mandate legitimacy (test and oversight)"),
    Lever("security", ("security",), "Security"),
    Lever("publicity", ("publicity",), "Publicity of breaches"),
    Lever("breach_rate", ("breach_rate",), "Breach rate (per year)", top=5.0),  # field: le=52
)


def changes(values: dict[str, Any]) -> dict[str, Any]:
    """Lever values by lever name as a :class:`PolicyChange`'s ``changes`` (nested as dicts)."""
    out: dict[str, Any] = {}
    for lever in LEVERS:
        for path in lever.fields:
            *parents, leaf = path.split(".")
            target = out
            for name in parents:
                target = target.setdefault(name, {})
            target[leaf] = values[lever.name]
    return out


# ------------------------------------------------------------------------------------ the model
class TrustApp(TrustModel):
    """A :class:`TrustModel` built from a scenario file plus the app's lever values.

    Every argument has a default and is a keyword, as SolaraViz requires (it recreates the model
    with ``TrustApp(**values)`` on Reset). The levers arrive as ``**levers``, one keyword per
    :data:`LEVERS` entry; the signature SolaraViz inspects lists them with their defaults
    (``__init__.__signature__``, set below from the table). No argument or attribute is called
    ``scenario``: Mesa 3.5 reserves that name for its own scenarios (a model property, and
    SolaraViz passes a Mesa scenario to a model that accepts one).
    """

    def __init__(
        self,
        *,
        scenario_name: str = "baseline",
        n_citizens: int = 2_000,
        apply_levers: bool = True,
        rng: Any = None,
        **levers: Any,
    ):
        unknown = sorted(set(levers) - {lever.name for lever in LEVERS})
        if unknown:
            raise TypeError(f"TrustApp got unknown levers: {', '.join(unknown)}")
        path = SCENARIOS / f"{scenario_name}.yaml"
        if not path.is_file():
            raise ValueError(f"unknown scenario {scenario_name!r}; "
                             f"scenarios: {', '.join(SCENARIO_NAMES)}")
        s = scenario_mod.load(path)
        names = list(s.programmes)
        target = LEVER_PROGRAMME if LEVER_PROGRAMME in s.programmes else names[0]
        kwargs = s.model_kwargs()
        values = {lever.name: lever.value(levers.get(lever.name, lever.default))
                  for lever in LEVERS}
        if apply_levers:  # the model orders its timeline by step
            kwargs["events"].append(
                PolicyChange(step=1, programme=target, changes=changes(values)))
        if rng is not None:
            kwargs["rng"] = rng
        super().__init__(int(n_citizens), **kwargs)
        self.scenario_spec = s
        self.scenario_name = scenario_name
        self.lever_programme = target
        self.levers = values if apply_levers else {}  # lever values by name, as applied


def _signature() -> inspect.Signature:
    """TrustApp.__init__'s own keywords, then one keyword per lever with its default."""
    own = inspect.signature(TrustApp.__init__)
    kept = [p for p in own.parameters.values() if p.kind is not inspect.Parameter.VAR_KEYWORD]
    return own.replace(parameters=kept + [
        inspect.Parameter(lever.name, inspect.Parameter.KEYWORD_ONLY, default=lever.default,
                          annotation=lever.kind.__name__)
        for lever in LEVERS])


TrustApp.__init__.__signature__ = _signature()  # what SolaraViz and help() inspect
# every keyword's default (the levers' from the table): where the sidebar's widgets start
DEFAULTS: dict[str, Any] = {name: p.default for name, p in
                            inspect.signature(TrustApp).parameters.items() if name != "rng"}


# ------------------------------------------------------------------------------- components
def _trust_by_agency(model: TrustModel) -> Figure:
    df = model.timeseries()
    fig = Figure(figsize=(5.6, 3.2))
    ax = fig.subplots()
    for agency in model.agencies:
        col = f"trust_{agency.name}"
        if col in df:
            ax.plot(df["step"], df[col], label=agency.name)
    if "trust_mean" in df:
        ax.plot(df["step"], df["trust_mean"], color="black", lw=2, ls="--", label="general (mean)")
    ax.set_title("Trust by agency")
    ax.set_xlabel("week")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # weeks, not 0.5 of one
    ax.set_ylabel("mean trust (0-1)")
    ax.legend(loc="best", fontsize="x-small", ncol=2)
    return fig


def _population(model: TrustModel) -> Figure:
    side = GRID_SIDE
    n = min(side * side, model.n_citizens)
    trust = np.full(side * side, np.nan)
    trust[:n] = model.citizens.trust[:n, model.column["general"]]
    p = model.programme_index(getattr(model, "lever_programme", model.programmes[0].name))
    out = np.zeros(side * side, dtype=bool)
    out[:n] = model.citizens.choice[:n, p] == Choice.OUT
    fig = Figure(figsize=(4.4, 3.4))
    ax = fig.subplots()
    image = ax.imshow(trust.reshape(side, side), cmap="RdYlGn", vmin=0, vmax=1)
    ys, xs = np.divmod(np.flatnonzero(out), side)
    ax.scatter(xs, ys, marker="x", color="black", s=14, linewidths=0.8)
    fig.colorbar(image, ax=ax, label="general trust")
    ax.set_title(f"First {n} citizens (x: opted out of {model.programmes[p].name}), "
                 f"week {model.steps}", fontsize="small")
    ax.set_xticks([])
    ax.set_yticks([])
    return fig


@solara.component
def TrustByAgency(model):  # noqa: N802 (Solara components are CamelCase)
    update_counter.get()
    solara.FigureMatplotlib(_trust_by_agency(model), format="png", bbox_inches="tight")


@solara.component
def PopulationView(model):  # noqa: N802 (Solara components are CamelCase)
    update_counter.get()
    solara.FigureMatplotlib(_population(model), format="png", bbox_inches="tight")


@solara.component
def Summary(model):  # noqa: N802 (Solara components are CamelCase)
    update_counter.get()
    df = model.timeseries()
    levers = getattr(model, "levers", {})
    text = (", ".join(f"{k}={v}" for k, v in levers.items()) if levers
            else "none (the scenario as written)")
    with solara.Column(gap="4px"):
        solara.Text(f"Scenario: {getattr(model, 'scenario_name', '?')} "
                    f"({model.n_citizens:,} citizens), week {model.steps}")
        solara.Text(f"Levers on {getattr(model, 'lever_programme', '?')} from week 1: {text}")
        if len(df):
            last = df.iloc[-1]
            solara.Text(f"Now: trust {last['trust_mean']:.3f}, opt-out "
                        f"{last['opt_out_rate']:.2%}, coverage {last['data_coverage']:.2%}, "
                        f"breaches {int(last['breaches'])}")


def _labelled(title: str, ylabel: str):
    def post(ax):
        ax.figure.set_size_inches(5.6, 3.2)
        ax.set_title(title)
        ax.set_ylabel(ylabel)
        ax.ticklabel_format(axis="y", useOffset=False)  # 0.69271, not 1e-5 + 6.927e-1
    return post


model_params: dict[str, Any] = {
    "scenario_name": {"type": "Select", "value": DEFAULTS["scenario_name"],
                      "values": SCENARIO_NAMES, "label": "Scenario"},
    "n_citizens": Slider("Population size", DEFAULTS["n_citizens"], 200, 20_000, 200),
    "apply_levers": {"type": "Checkbox", "value": DEFAULTS["apply_levers"],
                     "label": "Apply the levers (from week 1)"},
    **{lever.name: lever.widget() for lever in LEVERS},
}

components = [
    Summary,
    TrustByAgency,
    make_plot_component({"opt_out_rate": "tab:red"},
                        post_process=_labelled("Opt-out", "share of citizens")),
    make_plot_component({"data_coverage": "tab:blue"},
                        post_process=_labelled("Data coverage", "share of records shared")),
    make_plot_component({"service_benefit": "tab:green", "public_benefit": "tab:purple"},
                        post_process=_labelled("Benefit of sharing", "benefit")),
    PopulationView,
]

NAME = "trustsim: trust in public-sector data sharing"

page = SolaraViz(TrustApp(), components=components, model_params=model_params, name=NAME,
                 play_interval=300)


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
        "(Mesa SolaraViz); the same as `trustsim app`.")
    parser.add_argument("--port", type=_port, default=PORT, help="port to listen on")
    parser.add_argument("--host", default=HOST, help="address to listen on")
    args = parser.parse_args(argv)
    return serve(args.host, args.port)


# `solara run sim/app.py` also executes this file as __main__: serve only when run directly.
if __name__ == "__main__" and Path(sys.argv[0]).resolve() == Path(__file__).resolve():
    sys.exit(main())
