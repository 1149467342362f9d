"""The ``trustsim`` command line: run, validate and compare scenario files; print the schema;
run sweeps, policy frontiers and calibrations; serve the app.

Bad input (a malformed or invalid scenario, a missing file, a path that does not exist, a
population too large for this machine) ends with a one-paragraph message naming the file, the
field and what is allowed, and exit status 2; never a traceback. Results are written into a
temporary folder beside ``--out`` and renamed into place at the end, so an interrupted run leaves
no half-written results, and an existing results folder is replaced only with ``--force``.
``--out`` defaults to ``results/<scenario name>``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import sys
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sim import command, files
from sim.command import EXIT_BAD_INPUT, UsageError, check_memory, non_negative, positive

if TYPE_CHECKING:  # the commands import what they need, so --help starts at once
    import pandas as pd

    from sim import runner
    from sim import scenario as sc


# ------------------------------------------------------------------------------ arguments
#: Examples at the end of each command's --help (kept short: the docs have the rest).
EXAMPLES = {
    "trustsim": """\
examples:
  trustsim run baseline                  the shipped baseline; results in results/baseline
  trustsim validate scenarios/*.yaml     check files: OK, or file:line: field: what is allowed
  trustsim compare breach_shock citizen_control --citizens 5000
  trustsim schema > scenario.schema.json
  trustsim sweep experiments/specs/morris_screening.yaml --out results/morris --quick
  trustsim frontier experiments/specs/frontier_baseline.yaml --out results/fb --quick
  trustsim calibrate experiments/specs/calibration_gp2021.yaml --out results/cal --quick
  trustsim app                           the interactive app at http://127.0.0.1:8765

'trustsim COMMAND -h' for a command's options; docs/scenarios.md for the scenario format.""",
    "run": """\
examples:
  trustsim run baseline                  a shipped scenario by name -> results/baseline
  trustsim run scenarios/gp_records.yaml --workers 2 --out results/gp
  trustsim run my_case.yaml --citizens 50000 --replicates 10 --set params.drift=0.03
  trustsim run a.yaml b.yaml --out results/ab     each into results/ab/<scenario name>

writes timeseries.csv, summary.json and summary.csv (mean, p10 and p90 across replicates at
key weeks), incidents.csv (every breach and revelation), manifest.json and figures.""",
    "validate": """\
examples:
  trustsim validate scenarios/*.yaml
  trustsim validate baseline my_case.yaml""",
    "compare": """\
examples:
  trustsim compare breach_shock citizen_control     -> results/breach_shock_vs_citizen_control
  trustsim compare ref.yaml variant.yaml --replicates 20 --workers 2 --out results/cmp

every scenario runs on the reference's (the first file's) weeks, replicates and seeds; the
paired difference to the reference has a 95% t interval (ci95_low, ci95_high).""",
    "schema": """\
examples:
  trustsim schema > scenario.schema.json""",
    "sweep": """\
examples:
  trustsim sweep experiments/specs/morris_screening.yaml --out results/morris --quick
  trustsim sweep my_sweep.yaml --out results/sweep --workers 2      (rerun to resume)
  trustsim sweep my_sweep.yaml --out results/sweep --scheduler local --workers 4   (Dask)""",
    "frontier": """\
examples:
  trustsim frontier experiments/specs/frontier_baseline.yaml --out results/frontier_baseline \\
      --workers 2                              (rerun to resume)
  trustsim frontier SPEC.yaml --out DIR --quick
  trustsim frontier SPEC.yaml --out DIR --posterior results/calibration --draws 20

writes frontier.csv (per mix: trust, benefit, harm and net value in real units, mean and 10-90%
bands from seeds and from the posterior; Pareto frontier flags), dominance.csv, frontier.png,
points.csv, runs.parquet and manifest.json (docs/sweeps.md).""",
    "calibrate": """\
examples:
  trustsim calibrate experiments/specs/calibration_gp2021.yaml --out results/calibration \\
      --workers 2                         (rerun to resume)
  trustsim calibrate my_spec.yaml --out results/cal --quick --scheduler local --workers 4

writes posterior.parquet (trustsim run --posterior reads it), posterior_summary.csv,
targets.csv (fitted and held-out targets with predictive intervals), pairs.png,
predictive.png, coverage.png and manifest.json (docs/calibration.md).""",
    "app": """\
examples:
  trustsim app
  trustsim app --port 9000 --host 0.0.0.0""",
}


def _run_options(parser: argparse.ArgumentParser, out: str) -> None:
    parser.add_argument("--out", type=Path, help=f"results folder to create (default: {out})")
    parser.add_argument("--citizens", type=positive, help="population size (default: file's)")
    parser.add_argument("--steps", type=positive, help="weeks to simulate (default: file's)")
    parser.add_argument("--replicates", type=positive, help="runs with spawned seeds")
    parser.add_argument("--seed", type=non_negative,
                        help="seed of all randomness (default: file's)")
    parser.add_argument("--workers", type=positive, default=1,
                        help="parallel processes; results are identical whatever the number")
    parser.add_argument("--threads", type=positive, default=1,
                        help="threads for each step of a run in this process (one large run: "
                             "2 on a two-core machine); results are identical whatever the "
                             "number; runs spread over --workers keep one thread each")
    parser.add_argument("--set", dest="overrides", action="append", default=[],
                        metavar="PATH=VALUE",
                        help="override a value by dotted path, e.g. "
                             "programmes.gp_records.publicity=0.8 (repeatable)")
    parser.add_argument("--posterior", type=Path, metavar="DIR",
                        help="a calibration's folder (trustsim calibrate): each replicate runs "
                             "with a parameter set drawn from its posterior.parquet, and the "
                             "summary splits the spread into parameters and seeds")
    parser.add_argument("--posterior-draws", type=positive, metavar="N",
                        help="with --posterior: N parameter sets, each run on replicates / N "
                             "seeds (N must divide the replicates; default: one per replicate)")
    parser.add_argument("--format", choices=("csv", "parquet"), default="csv",
                        help="format of the time series table")
    parser.add_argument("--force", action="store_true", help="replace an existing --out folder")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def build_parser() -> argparse.ArgumentParser:
    """The parser of every command, each --help ending with examples."""
    from sim import __version__

    style = {"formatter_class": argparse.RawDescriptionHelpFormatter}
    parser = argparse.ArgumentParser(
        prog="trustsim", description="Citizen trust in public-sector data sharing: run scenarios.",
        epilog=EXAMPLES["trustsim"], **style)
    parser.add_argument("--version", action="version", version=f"trustsim {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command_parser(name: str, summary: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=summary, description=summary,
                              epilog=EXAMPLES[name], **style)

    run = command_parser("run", "run a scenario's replicates; write tables and figures")
    run.add_argument("scenarios", type=Path, nargs="+", metavar="SCENARIO",
                     help="scenario file (YAML), or the name of a shipped scenario such as "
                          "baseline; several run one after the other")
    _run_options(run, "results/<scenario name>; with several scenarios, each goes to "
                      "OUT/<scenario name>")
    val = command_parser("validate", "check scenario files; print OK or the problems")
    val.add_argument("files", type=Path, nargs="+",
                     help="scenario files, or names of shipped scenarios")
    cmp = command_parser("compare", "run scenarios on common random numbers; compare")
    cmp.add_argument("scenarios", type=Path, nargs="+", help="scenario files (or names of "
                     "shipped scenarios); the first is the reference the others are compared with")
    _run_options(cmp, "results/<first>_vs_<second>...")
    command_parser("schema", "print the JSON Schema of the scenario format")
    app = command_parser("app", "the interactive app in a browser (Mesa SolaraViz)")
    app.add_argument("--port", type=positive, default=8765, help="port to listen on")
    app.add_argument("--host", default="127.0.0.1", help="address to listen on")
    command.sweep_options(command_parser(
        "sweep", "run a sensitivity or policy sweep spec (docs/sweeps.md); rerunning with "
        "the same --out resumes it"))
    fr = command_parser("frontier", "run a policy frontier spec: mixes of citizen control, "
                        "mandate, transparency and security on common random numbers "
                        "(docs/sweeps.md); rerunning with the same --out resumes it")
    command.sweep_options(fr, what="frontier spec (YAML, docs/sweeps.md)")
    fr.add_argument("--posterior", type=Path, metavar="DIR",
                    help="a calibration posterior folder (posterior.parquet): every mix also "
                         "runs on parameter sets drawn from it")
    fr.add_argument("--draws", type=positive,
                    help="parameter sets drawn from --posterior (default: the spec's draws)")
    command.sweep_options(command_parser(
        "calibrate", "calibrate a scenario to targets: history matching, then ABC-SMC, then "
        "posterior-predictive checks of fitted and held-out targets (docs/calibration.md); "
        "rerunning with the same --out resumes it"),
        what="calibration spec (YAML, docs/calibration.md)")
    return parser


# ------------------------------------------------------------------------------ helpers
def _table(df: pd.DataFrame, folder: Path, fmt: str) -> None:
    if fmt == "parquet":
        df.to_parquet(folder / "timeseries.parquet", index=False)
    else:
        df.to_csv(folder / "timeseries.csv", index=False)


def _agencies(s: sc.Scenario) -> list[str]:
    return list(s.agencies)


def _folder(name: str) -> str:
    """A scenario name as a folder name (letters, digits, ``_.-``; anything else ``_``)."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name).strip(".") or "scenario"


def _summary_table(summary: dict[str, Any]) -> pd.DataFrame:
    """``report.summary`` as a tidy table: output, week, mean, p10, p90 (one row per output
    and key week; the last week is the end)."""
    import pandas as pd

    return pd.DataFrame([{"output": output, "week": int(week), **band}
                         for output, entry in summary.items()
                         for week, band in entry["steps"].items()],
                        columns=["output", "week", "mean", "p10", "p90"])


def _csv(df: pd.DataFrame, path: Path) -> None:
    """A small table of results, at 6 significant digits (as summary.json)."""
    df.to_csv(path, index=False, float_format="%.6g")


def _run_all(todo: Sequence[runner.Task], args: argparse.Namespace, desc: str,
             ) -> list[runner.Replicate]:
    """Run the tasks with a progress bar: of weeks when they run in this process (a long
    single run shows progress), of runs when they run in parallel processes."""
    from sim import runner

    if runner.in_process(todo, args.workers):
        steps = sum(task.scenario["steps"] for task in todo)
        with command.progress(steps, args.quiet, desc, unit="week") as bar:
            return runner.run_all(todo, args.workers, on_step=bar.update,
                                  threads=args.threads)
    with command.progress(len(todo), args.quiet, desc) as bar:
        return runner.run_all(todo, args.workers, bar.update)


def _load_all(paths: Sequence[Path], overrides: Sequence[str]) -> list[sc.Scenario]:
    from sim import scenario as sc

    problems: list[sc.Problem] = []
    loaded = []
    for path in paths:
        try:
            loaded.append(sc.load(path, overrides))
        except sc.ScenarioError as err:
            problems.extend(err.problems)
    if problems:
        raise sc.ScenarioError(problems)
    return loaded


OPTIONS = {"population": "--citizens", "steps": "--steps", "replicates": "--replicates",
           "seed": "--seed"}


def _with_options(scenario: sc.Scenario, args: argparse.Namespace,
                  first: sc.Scenario | None = None) -> sc.Scenario:
    """The scenario with the run settings of the command line (else of ``first``, else its
    own), validated against the same limits as a file."""
    from pydantic import ValidationError

    from sim import scenario as sc

    base = first or scenario
    data = scenario.model_dump(mode="json")
    data["population"]["size"] = args.citizens or base.population.size
    data["steps"] = args.steps or base.steps
    data["replicates"] = args.replicates or base.replicates
    data["seed"] = base.seed if args.seed is None else args.seed
    try:
        return sc.Scenario.model_validate(data)
    except ValidationError as err:
        e = err.errors()[0]
        option = OPTIONS.get(str(e["loc"][0]), ".".join(map(str, e["loc"])))
        raise UsageError(f"{option}: {e['msg']} (got {e.get('input')!r}).") from None


def _hashes(paths: Sequence[str]) -> dict[str, str]:
    """SHA-256 of each scenario file, taken when it is read."""
    from sim import report

    return {str(Path(p).resolve()): report.file_sha256(p) for p in paths}


# ------------------------------------------------------------------------------ commands
def cmd_run(args: argparse.Namespace) -> int:
    """``trustsim run``: every file is read and checked, and every results folder claimed,
    before the first replicate runs; the folders appear together at the end."""
    from sim import api
    from sim import scenario as sc

    started = dt.datetime.now(dt.UTC)
    paths = [sc.bundled.find(p) for p in args.scenarios]
    loaded = _load_all(paths, args.overrides)
    hashes = [_hashes(sc.files(p)) for p in paths]
    scenarios = [_with_options(s, args) for s in loaded]
    names = api.unique_names(scenarios)
    if len(scenarios) == 1:
        outs = [args.out or Path("results", _folder(names[0]))]
    else:
        outs = [Path(args.out or "results", _folder(name)) for name in names]
    for s in scenarios:
        check_memory([s], s.population.size, min(args.workers, s.replicates))
    with ExitStack() as stack:
        folders = [stack.enter_context(files.results_folder(out, args.force)) for out in outs]
        lines = [_run_one(s, name, h, tmp, args, started)
                 for s, name, h, tmp in zip(scenarios, names, hashes, folders, strict=True)]
    for out, line in zip(outs, lines, strict=True):
        print(f"{out}: {line}")
    return 0


def _posterior(args: argparse.Namespace, replicates: int, seed: int,
               ) -> tuple[list[dict[str, float]], Any] | None:
    """The parameter sets of the replicates drawn from ``--posterior`` (None without it)."""
    if args.posterior is None:
        if args.posterior_draws is not None:
            raise UsageError("--posterior-draws needs --posterior DIR")
        return None
    from sim import posterior, uncertainty

    try:
        return uncertainty.draws_for(args.posterior, replicates, args.posterior_draws, seed)
    except posterior.PosteriorError as err:
        raise UsageError(f"--posterior: {err}") from None


def _with_posterior(todo: Sequence[runner.Task], drawn: Any) -> list[runner.Task]:
    from sim import posterior, uncertainty

    try:
        return uncertainty.apply_to_tasks(todo, drawn[0], drawn[1].attrs.get("scope"))
    except posterior.PosteriorError as err:
        raise UsageError(f"--posterior: {err}") from None


def _posterior_section(args: argparse.Namespace, drawn: Any, replicates: int,
                       seed: int) -> dict[str, Any]:
    from sim import uncertainty

    draws = args.posterior_draws or replicates
    return uncertainty.section(args.posterior, drawn[1], drawn[0], draws, replicates, seed)


def _run_one(scenario: sc.Scenario, name: str, hashes: dict[str, str], tmp: Path,
             args: argparse.Namespace, started: dt.datetime) -> str:
    """Run one scenario's replicates and write its results into ``tmp``; the line to print."""
    import pandas as pd

    from sim import api, report, runner

    citizens, steps, replicates = scenario.population.size, scenario.steps, scenario.replicates
    todo = runner.tasks(scenario, citizens, steps, replicates, scenario.seed)
    drawn = _posterior(args, replicates, scenario.seed)
    if drawn is not None:
        todo = _with_posterior(todo, drawn)
    done = _run_all(todo, args, name)
    df = pd.concat([r.timeseries for r in done], ignore_index=True)
    _table(df, tmp, args.format)
    data = api.summary_data(df, scenario)
    key = data["key_steps"]
    extra = {}
    if drawn is not None:
        from sim import uncertainty

        extra["posterior"] = _posterior_section(args, drawn, replicates, scenario.seed)
        data["posterior"] = report.significant({
            **{k: v for k, v in extra["posterior"].items() if k != "replicate_parameters"},
            "spread": uncertainty.spread(df, extra["posterior"]["draws"], key)})
    files.write_json(tmp / "summary.json", data)
    _csv(_summary_table(data["outputs"]), tmp / "summary.csv")
    _csv(runner.incident_table(done), tmp / "incidents.csv")
    groups, regions = runner.group_tables(done)
    _csv(groups, tmp / "groups.csv")
    _csv(regions, tmp / "regions.csv")
    files.write_json(tmp / "manifest.json", {**report.manifest(
        scenarios={scenario.name: scenario.model_dump(mode="json")},
        files={scenario.name: hashes}, seed=scenario.seed, replicates=replicates,
        citizens=citizens, steps=steps, workers=args.workers, started=started,
        argv=args.argv), **extra})
    from sim import html_report, plots, plots_regions

    drawn = plots.run_figures(df, tmp, _agencies(scenario), scenario.marks(), scenario=scenario)
    drawn.append(plots_regions.regions_figure(regions, tmp / "regions.png", df, scenario.marks()))
    html_report.write_run_report(tmp, df, scenario, key, drawn)
    end = df[df.step == df.step.max()]
    return (f"{name}, {replicates} replicates x {steps} weeks x {citizens:,} citizens; at the "
            f"end general trust {end.trust_mean.mean():.3f}, opted out "
            f"{end.opt_out_rate.mean():.2%}, coverage {end.data_coverage.mean():.2%}")


def cmd_validate(args: argparse.Namespace) -> int:
    from sim import scenario as sc  # pydantic and YAML only: no model, no pandas

    status = 0
    for path in args.files:
        try:
            scenario = sc.load(sc.bundled.find(path))
        except sc.ScenarioError as err:
            status = EXIT_BAD_INPUT
            print(err, file=sys.stderr)
        else:
            print(f"{path}: OK ({scenario.name}: {len(scenario.programmes)} programmes, "
                  f"{len(scenario.timeline)} events, {scenario.steps} steps)")
    return status


def cmd_compare(args: argparse.Namespace) -> int:
    import pandas as pd

    from sim import api, report, runner
    from sim import scenario as sc

    started = dt.datetime.now(dt.UTC)
    if len(args.scenarios) < 2:
        raise UsageError("compare needs at least two scenario files: the reference first, then "
                         "the ones to compare with it.")
    paths = [sc.bundled.find(p) for p in args.scenarios]
    loaded = _load_all(paths, args.overrides)
    hashes = [_hashes(sc.files(p)) for p in paths]
    # common random numbers: every scenario runs with the first one's settings and seeds
    scenarios = [_with_options(s, args, loaded[0]) for s in loaded]
    for s, original in zip(scenarios[1:], loaded[1:], strict=True):
        differs = [k for k in ("steps", "replicates", "seed")
                   if getattr(original, k) != getattr(s, k)]
        if differs:
            print(f"trustsim compare: note: {original.name} runs with the reference's "
                  f"{', '.join(differs)}", file=sys.stderr)
        lost = api.lost_events(original, s)
        if lost:
            print(f"trustsim compare: warning: {original.name}: events after week {s.steps} "
                  f"never happen: {', '.join(lost)} (see experiments/case_studies.py to set "
                  "scenarios side by side on their own timelines)", file=sys.stderr)
    names = api.unique_names(scenarios)
    out = args.out or Path("results", "_vs_".join(_folder(n) for n in names))
    first = scenarios[0]
    citizens, steps, per = first.population.size, first.steps, first.replicates
    check_memory(scenarios, citizens, min(args.workers, per * len(scenarios)))
    drawn = _posterior(args, per, first.seed)
    with files.results_folder(out, args.force) as tmp:
        todo = [task for s in scenarios
                for task in runner.tasks(s, citizens, steps, per, first.seed)]
        if drawn is not None:  # replicate r of every scenario: the same seed and parameters
            todo = _with_posterior(todo, drawn)
        done = _run_all(todo, args, "compare")
        df = pd.concat([r.timeseries.assign(scenario=names[i // per])
                        for i, r in enumerate(done)], ignore_index=True)
        df = df[["scenario", *(c for c in df.columns if c != "scenario")]]
        shared = api.shared_outputs(df)
        _table(df, tmp, args.format)
        marks = sorted({m for s in scenarios for m in s.marks()})
        data = api.comparison_data(df, scenarios, names)
        key = data["key_steps"]
        extra = {}
        if drawn is not None:
            from sim import uncertainty

            extra["posterior"] = _posterior_section(args, drawn, per, first.seed)
            data["posterior"] = report.significant({
                **{k: v for k, v in extra["posterior"].items() if k != "replicate_parameters"},
                "spread": {n: uncertainty.spread(shared[shared.scenario == n],
                                                 extra["posterior"]["draws"], key)
                           for n in names}})
        files.write_json(tmp / "comparison.json", data)
        _csv(pd.concat([_summary_table(o).assign(scenario=n)
                        for n, o in data["outputs"].items()],
                       ignore_index=True)[["scenario", "output", "week", "mean", "p10", "p90"]],
             tmp / "summary.csv")
        _csv(runner.incident_table(done, [names[i // per] for i in range(len(done))]),
             tmp / "incidents.csv")
        files.write_json(tmp / "manifest.json", {**report.manifest(
            scenarios={n: s.model_dump(mode="json") for n, s in zip(names, scenarios, strict=True)},
            files=dict(zip(names, hashes, strict=True)), seed=first.seed, replicates=per,
            citizens=citizens, steps=steps, workers=args.workers, started=started,
            argv=args.argv), **extra})
        from sim import html_report, plots

        named = dict(zip(names, scenarios, strict=True))
        drawn = plots.compare_figure(shared, report.difference_frame(shared, names[0]),
                                     names[0], tmp / "comparison.png", marks, scenarios=named)
        html_report.write_compare_report(tmp, shared, named, names[0], key, [drawn])
    end = df[df.step == df.step.max()].groupby("scenario", sort=False).trust_mean.mean()
    print(f"{out}: " + ", ".join(f"{n} trust {v:.3f}" for n, v in end.items()))
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    from sim import scenario as sc

    json.dump(sc.schema(), sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    from sim.sweeps.run import sweep_command  # the sweep machinery only when asked for

    return sweep_command(args)


def cmd_frontier(args: argparse.Namespace) -> int:
    from sim.sweeps.frontier import frontier_command

    if args.draws is not None and args.posterior is None:
        raise UsageError("--draws: needs --posterior (the draws are parameter sets from it).")
    return frontier_command(args)


def cmd_calibrate(args: argparse.Namespace) -> int:
    from sim.calibration.run import calibrate_command  # the calibration only when asked for

    return calibrate_command(args)


def cmd_app(args: argparse.Namespace) -> int:
    try:
        from sim.app import serve  # solara and mesa.visualization only when asked for
    except ModuleNotFoundError as err:
        if (err.name or "sim").partition(".")[0] == "sim":
            raise
        raise command.MissingExtraError("app", err.name, "the app") from None
    return serve(args.host, args.port)


COMMANDS: dict[str, Any] = {"run": cmd_run, "validate": cmd_validate, "compare": cmd_compare,
                            "schema": cmd_schema, "sweep": cmd_sweep, "frontier": cmd_frontier,
                            "calibrate": cmd_calibrate, "app": cmd_app}


def main(argv: Sequence[str] | None = None) -> int:
    try:
        try:
            args = build_parser().parse_args(argv)
        finally:
            sys.stdout.flush()  # --help and --version print, then exit
    except BrokenPipeError:  # trustsim --help | head -1
        return command.closed_pipe()
    # the command as given, for the manifest
    args.argv = ["trustsim", *(sys.argv[1:] if argv is None else argv)]
    return command.run(f"trustsim {args.command}", COMMANDS[args.command], args)


if __name__ == "__main__":
    sys.exit(main())
