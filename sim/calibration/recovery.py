"""Parameter recovery: calibrate on synthetic targets that the model itself made at a known
truth, and see whether the truth lies in the posterior's credible interval.

The synthetic observation of each fit target is one run at the truth (on a seed no calibration
run uses) measured as the target's measurement model says; the targets keep their observation
uncertainty. Held-out targets are dropped: recovery is about the fit.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from sim import runner
from sim import scenario as sc
from sim.calibration import observe
from sim.calibration.spec import Loaded
from sim.calibration.targets import Targets, TargetsFile

#: the spawn key of the synthetic observations' seeds, apart from every calibration run's
SYNTHETIC = 0x5359


def synthetic(loaded: Loaded, truth: dict[str, float], seed: int, citizens: int) -> Loaded:
    """``loaded`` with its fit targets observed on the model at ``truth`` (and no held-out
    targets)."""
    targets = loaded.targets
    fit = targets.of("fit")
    frames: dict[str, Any] = {}
    new = []
    for t in fit:
        key = targets.scenario_key(t)
        if key not in frames:
            data = sc.Scenario.model_validate(targets.scenarios[key]).model_dump(mode="json")
            for path, value in truth.items():
                sc.set_path(data, path, value)
            steps = max(s for u in fit if targets.scenario_key(u) == key for s in u.steps())
            scenario = runner.with_run_settings(data, citizens, steps)
            frames[key] = observe.survey(
                scenario, np.random.SeedSequence(seed, spawn_key=(SYNTHETIC,))).set_index("step")
        series = frames[key][t.column()]
        values = [t.measure(series, s) for s in t.steps()]
        new.append(t.model_copy(update={"observed": values if isinstance(t.step, list)
                                        else values[0]}))
    spec = TargetsFile(description="synthetic", targets=new)
    keys = {targets.scenario_key(t) for t in new}
    made = Targets(targets.path, spec, {k: v for k, v in targets.scenarios.items() if k in keys},
                   targets.files)
    return Loaded(loaded.spec, loaded.path, made, loaded.files)


def covered(summary: Any, truth: dict[str, float]) -> dict[str, bool]:
    """Whether each true value lies in its 90% credible interval (posterior_summary rows)."""
    rows = summary.set_index("parameter")
    return {p: bool(rows.loc[p, "ci90_lo"] <= v <= rows.loc[p, "ci90_hi"])
            for p, v in truth.items()}


def truths(loaded: Loaded, n: int, seed: int) -> list[dict[str, float]]:
    """n truths drawn uniformly from the middle 80% of each prior range."""
    gen = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(SYNTHETIC, 1)))
    out = []
    for _ in range(n):
        out.append({p.path: float(p.bounds[0] + (0.1 + 0.8 * gen.random())
                                   * (p.bounds[1] - p.bounds[0])) for p in loaded.spec.parameters})
    return out


def recover(loaded: Loaded, out: Path, n: int = 4, seed: int = 7, **kw: Any,
            ) -> list[dict[str, Any]]:
    """Calibrate (quick) on synthetic targets at n truths; the coverage of each."""
    from sim.calibration.run import calibrate

    spec = loaded.spec.with_quick()
    results = []
    for k, truth in enumerate(truths(loaded, n, seed)):
        made = synthetic(loaded, truth, seed + k, spec.citizens)
        result = calibrate(made, out / f"truth{k}", quick=True, figures=False, **kw)
        results.append({"truth": truth, "covered": covered(result["summary"], truth),
                        "summary": result["summary"]})
    return results
