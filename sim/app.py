"""Interactive app on Mesa's visualization (SolaraViz): levers, a scenario picker and live charts.

Start it with ``python -m sim.app [--port P] [--host H]`` (or ``solara run sim/app.py``) and open
the printed address. The sidebar has a scenario picker (the YAML files in ``scenarios/``), the
population size and the main levers of one programme: ``gp_records`` when the scenario has it,
otherwise the scenario's first programme. Levers take effect as a policy change at step 1 (the
programmes at step 0 are the status quo that survey trust reflects); untick "Apply the levers" to
run the scenario as written. A change takes effect on **Reset**; **Step** and **▶** run weeks.

The page shows trust by agency, the opt-out rate, data coverage and the benefit of sharing
week by week, and the first 400 citizens on a 20 x 20 grid coloured by general trust (a cross
marks a citizen who opted out of the levered programme).
"""

from __future__ import annotations

import os
import subprocess
import sys
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

from sim import scenario as scenario_mod
from sim.events import PolicyChange
from sim.model import TrustModel
from sim.programmes import Choice, Consent

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"
SCENARIO_NAMES = sorted(p.stem for p in SCENARIOS.glob("*.yaml"))
LEVER_PROGRAMME = "gp_records"
GRID_SIDE = 20  # the population view shows GRID_SIDE**2 citizens

# Defaults: the baseline's gp_records programme (sim/baseline.py).
DEFAULTS: dict[str, Any] = {
    "scenario_name": "baseline",
    "n_citizens": 2_000,
    "apply_levers": True,
    "consent": Consent.OPT_OUT.value,
    "mandate_strength": 0.0,
    "mandate_legitimacy": 0.6,
    "security": 0.8,
    "publicity": 0.9,
    "breach_rate": 0.05,
}


class TrustApp(TrustModel):
    """A :class:`TrustModel` built from a scenario file plus the app's lever values.

    Every argument has a default and is a keyword, as SolaraViz requires (it recreates the model
    with ``TrustApp(**values)`` on Reset). No argument or attribute is called ``scenario``: Mesa
    3.5 reserves that name for its own scenarios (a model property, and SolaraViz passes a Mesa
    scenario to a model that accepts one).
    """

    def __init__(
        self,
        scenario_name: str = DEFAULTS["scenario_name"],
        n_citizens: int = DEFAULTS["n_citizens"],
        apply_levers: bool = DEFAULTS["apply_levers"],
        consent: str = DEFAULTS["consent"],
        mandate_strength: float = DEFAULTS["mandate_strength"],
        mandate_legitimacy: float = DEFAULTS["mandate_legitimacy"],
        security: float = DEFAULTS["security"],
        publicity: float = DEFAULTS["publicity"],
        breach_rate: float = DEFAULTS["breach_rate"],
        rng: Any = None,
    ):
        path = SCENARIOS / f"{scenario_name}.yaml"
        if not path.is_file():
            raise ValueError(f"unknown scenario {scenario_name!r}; "
                             f"scenarios: {', '.join(SCENARIO_NAMES)}")
        s = scenario_mod.load(path)
        names = list(s.programmes)
        target = LEVER_PROGRAMME if LEVER_PROGRAMME in s.programmes else names[0]
        kwargs = s.model_kwargs()
        levers = {
            "consent": Consent(consent).value,
            "mandate": {"strength": float(mandate_strength),
                        "public_interest_test": float(mandate_legitimacy),
                        "oversight": float(mandate_legitimacy)},
            "security": float(security),
            "publicity": float(publicity),
            "breach_rate": float(breach_rate),
        }
        if apply_levers:  # the model orders its timeline by step
            kwargs["events"].append(PolicyChange(step=1, programme=target, changes=levers))
        if rng is not None:
            kwargs["rng"] = rng
        super().__init__(int(n_citizens), **kwargs)
        self.scenario_spec = s
        self.scenario_name = scenario_name
        self.lever_programme = target
        self.levers = levers if apply_levers else {}


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
    text = ", ".join(
        f"{k}={v}" for k, v in {
            "consent": levers.get("consent"),
            "mandate_strength": levers.get("mandate", {}).get("strength"),
            "mandate_legitimacy": levers.get("mandate", {}).get("oversight"),
            **{k: levers.get(k) for k in ("security", "publicity", "breach_rate")},
        }.items()) if levers else "none (the scenario as written)"
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
    "consent": {"type": "Select", "value": DEFAULTS["consent"],
                "values": [c.value for c in Consent], "label": "Consent regime (GP records)"},
    "mandate_strength": Slider("Mandate strength", DEFAULTS["mandate_strength"], 0.0, 1.0, 0.05),
    "mandate_legitimacy": Slider("Mandate legitimacy (test and oversight)",
                                 DEFAULTS["mandate_legitimacy"], 0.0, 1.0, 0.05),
    "security": Slider("Security", DEFAULTS["security"], 0.0, 1.0, 0.05),
    "publicity": Slider("Publicity of breaches", DEFAULTS["publicity"], 0.0, 1.0, 0.05),
    "breach_rate": Slider("Breach rate (per year)", DEFAULTS["breach_rate"], 0.0, 5.0, 0.05),
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
def command(host: str = "127.0.0.1", port: int = 8765) -> list[str]:
    """The command that serves the app (solara's CLI, production mode: no auto-reload)."""
    return [sys.executable, "-m", "solara", "run", "sim.app", "--host", host,
            "--port", str(port), "--production"]


def serve(host: str = "127.0.0.1", port: int = 8765) -> int:
    """Serve the app until interrupted; returns solara's exit code."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    print(f"trustsim app: http://{host}:{port}/  (Ctrl-C to stop)", flush=True)
    try:
        return subprocess.call(command(host, port), cwd=ROOT, env=env)
    except KeyboardInterrupt:
        return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m sim.app [--host H] [--port P]``: the same as ``trustsim app``."""
    from sim.cli import main as trustsim

    return trustsim(["app", *(sys.argv[1:] if argv is None else argv)])


# `solara run sim/app.py` also executes this file as __main__: serve only when run directly.
if __name__ == "__main__" and Path(sys.argv[0]).resolve() == Path(__file__).resolve():
    sys.exit(main())
