"""The Python API for ensembles: run a scenario's replicates, compare scenarios on common random
numbers, and read a results folder back, as pandas frames.

``run`` and ``compare`` give the numbers that ``trustsim run`` and ``trustsim compare`` write
(the same tasks and seeds, ``sim.runner``; the same summaries, ``sim.report``), without
writing files; ``read_results`` reads a folder either command wrote. All three return a
``RunResults``. A scenario can be given as a file path, as the name of a bundled scenario
(``"baseline"``: ``scenarios/baseline.yaml``) or as a ``sim.scenario.Scenario``.

The helpers below ``RunResults`` (``load_scenario``, ``run_settings``, ``unique_names``,
``lost_events``, ``ensemble``, ``summary_data``, ``comparison_data``) are the steps the command
line takes too, kept here once so that both give the same numbers.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from sim import command, report, runner
from sim import scenario as sc
from sim.posterior import Scope
from sim.world import suggest

#: The bundled scenario files, found by name (``run("baseline")``).
SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
#: What a scenario argument can be: a file path, a bundled scenario's name, or a Scenario.
ScenarioLike = str | os.PathLike[str] | sc.Scenario
#: The columns that identify a row of a results table; every other column is an output.
IDS = ("scenario", "replicate", "step")


# ------------------------------------------------------------------------------ results
@dataclass(frozen=True)
class RunResults:
    """An ensemble's results as pandas frames: what ``run``, ``compare`` and ``read_results``
    return.

    Attributes:
        runs: the wide time series: one row per scenario, replicate and step (``scenario``,
            ``replicate``, ``step``, then one column per output), as in ``timeseries.csv``.
        summary: mean and 10-90% band across replicates at the key steps: one row per
            ``scenario``, ``output`` and ``step`` (columns ``mean``, ``p10``, ``p90``).
        paired: for a comparison, each scenario minus the reference, paired by replicate, with a
            95% t interval at the key steps (``scenario``, ``output``, ``step``, ``mean``,
            ``ci95_low``, ``ci95_high``, ``n``); None for a single scenario.
        manifest: provenance (code, packages, resolved scenarios, seeds), as in
            ``manifest.json``.
        reference: the reference scenario of a comparison; None for a single scenario.
        data: the summary as written to ``summary.json`` or ``comparison.json``.
    """

    runs: pd.DataFrame
    summary: pd.DataFrame
    manifest: dict[str, Any]
    paired: pd.DataFrame | None = None
    reference: str | None = None
    data: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def scenarios(self) -> list[str]:
        """Scenario names in the order they ran (the reference first)."""
        return list(dict.fromkeys(self.runs["scenario"]))

    @property
    def outputs(self) -> list[str]:
        """The output columns of ``runs``."""
        return [c for c in self.runs.columns if c not in IDS]

    @property
    def long(self) -> pd.DataFrame:
        """The time series in long form: one row per scenario, replicate, step and output
        (``scenario``, ``replicate``, ``step``, ``output``, ``value``), for grouping and
        plotting; an output a scenario does not have has no rows."""
        long = self.runs.melt(id_vars=list(IDS), var_name="output", value_name="value")
        return long.dropna(subset=["value"]).reset_index(drop=True)

    def __repr__(self) -> str:
        replicates = self.runs.groupby("scenario", sort=False)["replicate"].nunique()
        return (f"RunResults({', '.join(self.scenarios)}: {int(replicates.max())} replicates x "
                f"{int(self.runs['step'].max())} steps, {len(self.outputs)} outputs)")


# ------------------------------------------------------------------------------ scenarios
def load_scenario(scenario: ScenarioLike, overrides: Sequence[str] = ()) -> sc.Scenario:
    """A validated scenario from a file path, a bundled scenario's name or a ``Scenario``, with
    ``path=value`` overrides applied (as ``trustsim run --set``).

    Raises ``sim.scenario.ScenarioError`` naming the file, field and what is allowed.
    """
    if isinstance(scenario, sc.Scenario):
        if not overrides:
            return scenario
        data = scenario.model_dump(mode="json")
        where = f"<scenario {scenario.name}>"
        sc.apply_overrides(data, overrides, where)
        return sc.validate(data, [sc.Source(Path(where), None)],
                           [item.partition("=")[0].strip() for item in overrides])
    return sc.load(scenario_path(scenario), overrides)


def scenario_path(scenario: str | os.PathLike[str]) -> Path:
    """The file of a scenario argument: the path itself, or a bundled scenario by name."""
    path = Path(scenario)
    if path.exists() or path.suffix or len(path.parts) > 1:
        return path
    bundled = SCENARIOS / f"{path.name}.yaml"
    if bundled.is_file():
        return bundled
    names = sorted(p.stem for p in SCENARIOS.glob("*.yaml"))
    raise sc.ScenarioError([sc.Problem(
        str(scenario), "", f"no such file, nor a bundled scenario{suggest(str(scenario), names)}"
        f"; bundled scenarios: {', '.join(names)}")])


def run_settings(scenario: sc.Scenario, citizens: int | None = None, steps: int | None = None,
                 replicates: int | None = None, seed: int | None = None,
                 base: sc.Scenario | None = None) -> sc.Scenario:
    """The scenario with a run's settings written into it (validated): each setting given, else
    that of ``base`` (the reference of a comparison), else the scenario's own."""
    base = base or scenario
    return runner.with_run_settings(
        scenario, citizens or base.population.size, steps or base.steps,
        replicates or base.replicates, base.seed if seed is None else seed)


def unique_names(scenarios: Sequence[sc.Scenario]) -> list[str]:
    """Scenario names for tables and figures; repeats get #2, #3, ..."""
    names, seen = [], {}
    for s in scenarios:
        seen[s.name] = seen.get(s.name, 0) + 1
        names.append(s.name if seen[s.name] == 1 else f"{s.name}#{seen[s.name]}")
    return names


def lost_events(original: sc.Scenario, compared: sc.Scenario) -> list[str]:
    """Events of ``original`` that never happen when it runs with the reference's (shorter)
    steps, as ``type@step``."""
    return [f"{e.type}@{e.step}" for e in original.events() if e.step > compared.steps]


# ------------------------------------------------------------------------------ running
def ensemble(scenarios: Sequence[sc.Scenario], names: Sequence[str], workers: int = 1,
             progress: Callable[[int], None] | None = None, threads: int = 1,
             parameter_sets: Sequence[dict[str, float]] | None = None,
             posterior_scope: Scope | None = None) -> pd.DataFrame:
    """Every replicate of every scenario, each run with the settings written into it
    (``run_settings``), as one wide frame: ``scenario``, ``replicate``, ``step``, outputs.
    With ``parameter_sets`` (one per replicate, :mod:`sim.uncertainty`), replicate r of every
    scenario runs with set r written into it (the values that apply to it:
    ``posterior_scope``, :func:`sim.posterior.restrict`).

    An output that only some scenarios have (trust in an agency of one world) is NaN in the
    others' rows.
    """
    todo = [(name, task) for s, name in zip(scenarios, names, strict=True)
            for task in runner.tasks(s, s.population.size, s.steps, s.replicates, s.seed)]
    if parameter_sets is not None:
        from sim import uncertainty

        tasks = uncertainty.apply_to_tasks([t for _, t in todo], parameter_sets,
                                           posterior_scope)
        todo = [(name, task) for (name, _), task in zip(todo, tasks, strict=True)]
    return runner.run_named(todo, workers, progress, threads)


def _posterior(posterior: str | os.PathLike[str] | None, draws: int | None, replicates: int,
               seed: int) -> tuple[list[dict[str, float]] | None, dict[str, Any] | None,
                                   Scope | None]:
    """The replicates' parameter sets drawn from a posterior folder, what to record, and which
    of them apply to which scenario (:class:`sim.posterior.Scope`)."""
    if posterior is None:
        return None, None, None
    from sim import uncertainty

    sets, samples = uncertainty.draws_for(posterior, replicates, draws, seed)
    return sets, uncertainty.section(posterior, samples, sets, draws or replicates, replicates,
                                     seed), samples.attrs.get("scope")


def summary_data(df: pd.DataFrame, scenario: sc.Scenario) -> dict[str, Any]:
    """What ``summary.json`` holds for one scenario's runs."""
    key = report.key_steps(scenario.steps, (m for m, _ in scenario.marks()))
    return report.significant({"scenario": scenario.name, "replicates": scenario.replicates,
                               "key_steps": key, "outputs": report.summary(df, key)})


def shared_outputs(df: pd.DataFrame) -> pd.DataFrame:
    """The columns every scenario of a comparison has (no NaN), which it compares."""
    return df[[c for c in df.columns if not df[c].isna().any()]]


def comparison_data(df: pd.DataFrame, scenarios: Sequence[sc.Scenario],
                    names: Sequence[str]) -> dict[str, Any]:
    """What ``comparison.json`` holds: each scenario's summary and the paired differences to
    the first (the reference), on the outputs all of them have."""
    shared = shared_outputs(df)
    marks = sorted({m for s in scenarios for m in s.marks()})
    key = report.key_steps(scenarios[0].steps, (m for m, _ in marks))
    return report.significant({
        "reference": names[0], "scenarios": list(names), "replicates": scenarios[0].replicates,
        "key_steps": key,
        "common_random_numbers": "every scenario runs on the same replicate seeds",
        "outputs": {name: report.summary(shared[shared.scenario == name], key)
                    for name in names},
        "paired_difference": report.paired_differences(shared, names[0], key)})


def _bar(total: int, show: bool, desc: str) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="run", disable=not show, leave=False)


def _hashes(scenario: ScenarioLike) -> dict[str, str]:
    """SHA-256 of a scenario's file and every file it extends (none for a Scenario object)."""
    if isinstance(scenario, sc.Scenario):
        return {}
    files = sc.files(scenario_path(scenario))
    return {str(Path(p).resolve()): report.file_sha256(p) for p in files}


def _call(name: str, scenarios: Sequence[ScenarioLike], **settings: Any) -> list[str]:
    """The call, for the manifest's ``command``."""
    args = [s.name if isinstance(s, sc.Scenario) else str(s) for s in scenarios]
    args += [f"{k}={v!r}" for k, v in settings.items() if v not in (None, (), [])]
    return [f"sim.api.{name}", *args]


def run(scenario: ScenarioLike, *, citizens: int | None = None, steps: int | None = None,
        replicates: int | None = None, seed: int | None = None, workers: int = 1,
        threads: int = 1, overrides: Sequence[str] = (), progress: bool = False,
        posterior: str | os.PathLike[str] | None = None,
        posterior_draws: int | None = None) -> RunResults:
    """Run a scenario's replicates: the numbers ``trustsim run`` writes, as a ``RunResults``.

    Args:
        scenario: a file path, a bundled scenario's name ("baseline") or a ``Scenario``.
        citizens: population size; default: the scenario's.
        steps: weeks to simulate; default: the scenario's.
        replicates: runs, each with its own seed spawned from ``seed``; default: the scenario's.
        seed: seed of all randomness; default: the scenario's.
        workers: parallel processes; the numbers are the same whatever the number.
        threads: threads for each step of a run in this process (one large run: 2 on a
            two-core machine); the numbers are the same whatever the number. Runs spread over
            ``workers`` processes keep one thread each.
        overrides: ``path=value`` changes, as ``trustsim run --set``.
        progress: show a progress bar of replicates.
        posterior: a calibration's folder (``trustsim calibrate``): replicate r runs with a
            parameter set drawn from its posterior (``sim.uncertainty``); ``data["posterior"]``
            then gives the spread across parameter sets and across seeds.
        posterior_draws: the number of parameter sets (must divide the replicates); default:
            one per replicate.
    """
    started = dt.datetime.now(dt.UTC)
    loaded = load_scenario(scenario, overrides)
    s = run_settings(loaded, citizens, steps, replicates, seed)
    command.check_memory([s], s.population.size, min(workers, s.replicates))
    sets, drawn, scope = _posterior(posterior, posterior_draws, s.replicates, s.seed)
    with _bar(s.replicates, progress, s.name) as bar:
        df = ensemble([s], [s.name], workers, bar.update, threads, sets, scope)
    manifest = report.manifest(
        scenarios={s.name: s.model_dump(mode="json")}, files={s.name: _hashes(scenario)},
        seed=s.seed, replicates=s.replicates, citizens=s.population.size, steps=s.steps,
        workers=workers, started=started,
        argv=_call("run", [scenario], citizens=citizens, steps=steps, replicates=replicates,
                   seed=seed, workers=workers, threads=threads if threads != 1 else None,
                   overrides=list(overrides),
                   posterior=None if posterior is None else str(posterior),
                   posterior_draws=posterior_draws))
    data = summary_data(df, s)
    if drawn is not None:
        from sim import uncertainty

        manifest["posterior"] = drawn
        data["posterior"] = report.significant({
            **{k: v for k, v in drawn.items() if k != "replicate_parameters"},
            "spread": uncertainty.spread(df, drawn["draws"], data["key_steps"])})
    return _results(df, data, manifest)


def compare(reference: ScenarioLike, *others: ScenarioLike, citizens: int | None = None,
            steps: int | None = None, replicates: int | None = None, seed: int | None = None,
            workers: int = 1, threads: int = 1, overrides: Sequence[str] = (),
            progress: bool = False, posterior: str | os.PathLike[str] | None = None,
            posterior_draws: int | None = None) -> RunResults:
    """Run scenarios on common random numbers and compare them with the first: the numbers
    ``trustsim compare`` writes, as a ``RunResults`` with ``paired`` differences.

    Every scenario runs with the reference's population, steps, replicates and seed (unless
    given here), so replicate r of each uses the same seeds and the difference is measured
    replicate by replicate. An event after the last step never happens: a warning names it.
    Arguments as for ``run``; ``overrides`` apply to every scenario, and with ``posterior``
    replicate r of every scenario runs with the same parameter set (and seed).
    """
    if not others:
        raise ValueError("compare needs at least two scenarios: the reference first, then the "
                         "ones to compare with it")
    started = dt.datetime.now(dt.UTC)
    given = [reference, *others]
    loaded = [load_scenario(s, overrides) for s in given]
    scenarios = [run_settings(s, citizens, steps, replicates, seed, base=loaded[0])
                 for s in loaded]
    for original, s in zip(loaded[1:], scenarios[1:], strict=True):
        lost = lost_events(original, s)
        if lost:
            warnings.warn(f"{original.name}: events after week {s.steps} never happen: "
                          f"{', '.join(lost)}", UserWarning, stacklevel=2)
    names = unique_names(scenarios)
    first = scenarios[0]
    per = first.replicates
    command.check_memory(scenarios, first.population.size,
                         min(workers, per * len(scenarios)))
    sets, drawn, scope = _posterior(posterior, posterior_draws, per, first.seed)
    with _bar(per * len(scenarios), progress, "compare") as bar:
        df = ensemble(scenarios, names, workers, bar.update, threads, sets, scope)
    manifest = report.manifest(
        scenarios={n: s.model_dump(mode="json") for n, s in zip(names, scenarios, strict=True)},
        files={n: _hashes(s) for n, s in zip(names, given, strict=True)}, seed=first.seed,
        replicates=per, citizens=first.population.size, steps=first.steps, workers=workers,
        started=started,
        argv=_call("compare", given, citizens=citizens, steps=steps, replicates=replicates,
                   seed=seed, workers=workers, threads=threads if threads != 1 else None,
                   overrides=list(overrides),
                   posterior=None if posterior is None else str(posterior),
                   posterior_draws=posterior_draws))
    data = comparison_data(df, scenarios, names)
    if drawn is not None:
        from sim import uncertainty

        manifest["posterior"] = drawn
        shared = shared_outputs(df)
        data["posterior"] = report.significant({
            **{k: v for k, v in drawn.items() if k != "replicate_parameters"},
            "spread": {n: uncertainty.spread(shared[shared.scenario == n], drawn["draws"],
                                             data["key_steps"]) for n in names}})
    return _results(df, data, manifest)


# ------------------------------------------------------------------------------ reading
SUMMARY_COLUMNS = ["scenario", "output", "step", "mean", "p10", "p90"]
PAIRED_COLUMNS = ["scenario", "output", "step", "mean", "ci95_low", "ci95_high", "n"]
#: read_csv reads back exactly the floats written: pandas 3 by default, pandas 2 when asked
#: (pandas 3 deprecates the argument)
EXACT_FLOATS = {} if int(pd.__version__.split(".")[0]) >= 3 else {"float_precision": "round_trip"}


def _bands(summary: dict[str, Any], scenario: str, last: int) -> list[dict[str, Any]]:
    """Tidy rows of one scenario's ``report.summary``: its key steps, then its last step if
    that is not one of them."""
    rows = []
    for output, entry in summary.items():
        for s, band in entry["steps"].items():
            rows.append({"scenario": scenario, "output": output, "step": int(s), **band})
        if str(last) not in entry["steps"]:
            rows.append({"scenario": scenario, "output": output, "step": last, **entry["end"]})
    return rows


def _results(runs: pd.DataFrame, data: dict[str, Any], manifest: dict[str, Any],
             ) -> RunResults:
    """A RunResults from a time series and what summary.json or comparison.json holds."""
    last = runs.groupby("scenario", sort=False)["step"].max()
    paired, reference = None, None
    if "paired_difference" in data:  # a comparison
        rows = [r for name, summary in data["outputs"].items()
                for r in _bands(summary, name, int(last[name]))]
        paired = pd.DataFrame(
            [{"scenario": name, "output": output, "step": int(s), **interval}
             for name, by_output in data["paired_difference"].items()
             for output, by_step in by_output.items() for s, interval in by_step.items()],
            columns=PAIRED_COLUMNS)
        reference = data["reference"]
    else:
        name = data["scenario"]
        rows = _bands(data["outputs"], name, int(last[name]))
    return RunResults(runs=runs, summary=pd.DataFrame(rows, columns=SUMMARY_COLUMNS),
                      manifest=manifest, paired=paired, reference=reference, data=data)


def _read_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def read_results(folder: str | os.PathLike[str]) -> RunResults:
    """Read a results folder written by ``trustsim run`` or ``trustsim compare``.

    Reads ``timeseries.csv`` (or ``timeseries.parquet``), ``summary.json`` or
    ``comparison.json``, and ``manifest.json``. The folder of ``experiments/case_studies.py``
    reads too: its ``summary`` is its ``summary.csv`` as it is.
    """
    folder = Path(folder)
    if (folder / "timeseries.parquet").is_file():
        runs = pd.read_parquet(folder / "timeseries.parquet")
    elif (folder / "timeseries.csv").is_file():
        runs = pd.read_csv(folder / "timeseries.csv", **EXACT_FLOATS)
    else:
        raise FileNotFoundError(f"{folder}: no timeseries.csv or timeseries.parquet; not a "
                                "folder written by trustsim run or trustsim compare")
    manifest = (_read_json(folder / "manifest.json")
                if (folder / "manifest.json").is_file() else {})
    for name in ("comparison.json", "summary.json"):
        if (folder / name).is_file():
            data = _read_json(folder / name)
            break
    else:
        if not (folder / "summary.csv").is_file():
            raise FileNotFoundError(f"{folder}: no summary.json, comparison.json or summary.csv")
        return RunResults(runs=runs, summary=pd.read_csv(folder / "summary.csv"),
                          manifest=manifest)
    if "scenario" not in runs.columns:  # trustsim run: one scenario, named in its summary
        runs.insert(0, "scenario", data["scenario"])
    return _results(runs, data, manifest)
