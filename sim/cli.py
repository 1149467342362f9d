"""The ``trustsim`` command line: run, validate and compare scenario files; print the schema.

Bad input (a malformed or invalid scenario, a missing file, a path that does not exist, a
population too large for this machine) ends with a one-paragraph message naming the file, the
field and what is allowed, and exit status 2; never a traceback. Results are written into a
temporary folder beside ``--out`` and renamed into place at the end, so an interrupted run leaves
no half-written results, and an existing results folder is replaced only with ``--force``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import ValidationError

from sim import command, files, report, runner
from sim import scenario as sc
from sim.command import EXIT_BAD_INPUT, UsageError, check_memory, non_negative, positive


# ------------------------------------------------------------------------------ arguments
def _run_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, required=True, help="results folder to create")
    parser.add_argument("--citizens", type=positive, help="population size (default: file's)")
    parser.add_argument("--steps", type=positive, help="weeks to simulate (default: file's)")
    parser.add_argument("--replicates", type=positive, help="runs with spawned seeds")
    parser.add_argument("--seed", type=non_negative,
                        help="seed of all randomness (default: file's)")
    parser.add_argument("--workers", type=positive, default=1,
                        help="parallel processes; results are identical whatever the number")
    parser.add_argument("--set", dest="overrides", action="append", default=[],
                        metavar="PATH=VALUE",
                        help="override a value by dotted path, e.g. "
                             "programmes.gp_records.publicity=0.8 (repeatable)")
    parser.add_argument("--format", choices=("csv", "parquet"), default="csv",
                        help="format of the time series table")
    parser.add_argument("--force", action="store_true", help="replace an existing --out folder")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="trustsim", description="Citizen trust in public-sector data sharing: run scenarios.")
    from sim import __version__

    parser.add_argument("--version", action="version", version=f"trustsim {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = sub.add_parser("run", help="run a scenario's replicates; write tables and figures")
    run.add_argument("scenario", type=Path, help="scenario file (YAML)")
    _run_options(run)
    val = sub.add_parser("validate", help="check scenario files; print OK or the problems")
    val.add_argument("files", type=Path, nargs="+", help="scenario files")
    cmp = sub.add_parser("compare", help="run scenarios on common random numbers; compare")
    cmp.add_argument("scenarios", type=Path, nargs="+", help="scenario files; the first is the "
                     "reference the others are compared with")
    _run_options(cmp)
    sub.add_parser("schema", help="print the JSON Schema of the scenario format")
    app = sub.add_parser("app", help="the interactive app in a browser (Mesa SolaraViz)")
    app.add_argument("--port", type=positive, default=8765, help="port to listen on")
    app.add_argument("--host", default="127.0.0.1", help="address to listen on")
    command.sweep_options(sub.add_parser(
        "sweep", help="run a sensitivity or policy sweep spec (docs/sweeps.md); rerunning with "
        "the same --out resumes it"))
    return parser


# ------------------------------------------------------------------------------ helpers
def _table(df: pd.DataFrame, folder: Path, fmt: str) -> None:
    if fmt == "parquet":
        df.to_parquet(folder / "timeseries.parquet", index=False)
    else:
        df.to_csv(folder / "timeseries.csv", index=False)


def _agencies(s: sc.Scenario) -> list[str]:
    return list(s.agencies)


def _load_all(paths: Sequence[Path], overrides: Sequence[str]) -> list[sc.Scenario]:
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
    return {str(Path(p).resolve()): report.file_sha256(p) for p in paths}


# ------------------------------------------------------------------------------ commands
def cmd_run(args: argparse.Namespace) -> int:
    started = dt.datetime.now(dt.UTC)
    (loaded,) = _load_all([args.scenario], args.overrides)
    hashes = _hashes(sc.files(args.scenario))
    scenario = _with_options(loaded, args)
    citizens, steps, replicates = scenario.population.size, scenario.steps, scenario.replicates
    check_memory([scenario], citizens, min(args.workers, replicates))
    with files.results_folder(args.out, args.force) as tmp:
        todo = runner.tasks(scenario, citizens, steps, replicates, scenario.seed)
        with command.progress(len(todo), args.quiet, scenario.name) as bar:
            runs = runner.run_tasks(todo, args.workers, bar.update, runner.run_task_groups)
        df = pd.concat([ts for ts, _ in runs], ignore_index=True)
        _table(df, tmp, args.format)
        regions = runner.write_groups([g for _, g in runs], tmp)  # groups.csv, regions.csv
        from sim import plots_regions

        plots_regions.regions_figure(regions, tmp / "regions.png", df, scenario.marks())
        key = report.key_steps(steps, (m for m, _ in scenario.marks()))
        files.write_json(tmp / "summary.json", {
            "scenario": scenario.name, "replicates": replicates, "key_steps": key,
            "outputs": report.summary(df, key)})
        files.write_json(tmp / "manifest.json", report.manifest(
            scenarios={scenario.name: scenario.model_dump(mode="json")},
            files={scenario.name: hashes}, seed=scenario.seed, replicates=replicates,
            citizens=citizens, steps=steps, workers=args.workers, started=started,
            argv=args.argv))
        from sim import plots

        plots.run_figures(df, tmp, _agencies(scenario), scenario.marks())
    end = df[df.step == df.step.max()]
    print(f"{args.out}: {scenario.name}, {replicates} replicates x {steps} weeks x "
          f"{citizens:,} citizens; at the end general trust {end.trust_mean.mean():.3f}, "
          f"opted out {end.opt_out_rate.mean():.2%}, coverage {end.data_coverage.mean():.2%}")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    status = 0
    for path in args.files:
        try:
            scenario = sc.load(path)
        except sc.ScenarioError as err:
            status = EXIT_BAD_INPUT
            print(err, file=sys.stderr)
        else:
            print(f"{path}: OK ({scenario.name}: {len(scenario.programmes)} programmes, "
                  f"{len(scenario.timeline)} events, {scenario.steps} steps)")
    return status


def _unique_names(scenarios: Sequence[sc.Scenario]) -> list[str]:
    """Scenario names for tables and figures; repeats get #2, #3, ..."""
    names, seen = [], {}
    for s in scenarios:
        seen[s.name] = seen.get(s.name, 0) + 1
        names.append(s.name if seen[s.name] == 1 else f"{s.name}#{seen[s.name]}")
    return names


def cmd_compare(args: argparse.Namespace) -> int:
    started = dt.datetime.now(dt.UTC)
    if len(args.scenarios) < 2:
        raise UsageError("compare needs at least two scenario files: the reference first, then "
                         "the ones to compare with it.")
    loaded = _load_all(args.scenarios, args.overrides)
    hashes = [_hashes(sc.files(p)) for p in args.scenarios]
    # common random numbers: every scenario runs with the first one's settings and seeds
    scenarios = [_with_options(s, args, loaded[0]) for s in loaded]
    for s, original in zip(scenarios[1:], loaded[1:], strict=True):
        differs = [k for k in ("steps", "replicates", "seed")
                   if getattr(original, k) != getattr(s, k)]
        if differs:
            print(f"trustsim compare: note: {original.name} runs with the reference's "
                  f"{', '.join(differs)}", file=sys.stderr)
        lost = [f"{e.type}@{e.step}" for e in original.events() if e.step > s.steps]
        if lost:
            print(f"trustsim compare: warning: {original.name}: events after week {s.steps} "
                  f"never happen: {', '.join(lost)} (see experiments/case_studies.py to set "
                  "scenarios side by side on their own timelines)", file=sys.stderr)
    names = _unique_names(scenarios)
    first = scenarios[0]
    citizens, steps, per = first.population.size, first.steps, first.replicates
    check_memory(scenarios, citizens, min(args.workers, per * len(scenarios)))
    with files.results_folder(args.out, args.force) as tmp:
        todo = [task for s in scenarios
                for task in runner.tasks(s, citizens, steps, per, first.seed)]
        with command.progress(len(todo), args.quiet, "compare") as bar:
            frames = runner.run_tasks(todo, args.workers, bar.update)
        df = pd.concat([f.assign(scenario=names[i // per]) for i, f in enumerate(frames)],
                       ignore_index=True)
        df = df[["scenario", *(c for c in df.columns if c != "scenario")]]
        shared = df[[c for c in df.columns if not df[c].isna().any()]]
        _table(df, tmp, args.format)
        marks = sorted({m for s in scenarios for m in s.marks()})
        key = report.key_steps(steps, (m for m, _ in marks))
        files.write_json(tmp / "comparison.json", {
            "reference": names[0], "scenarios": names, "replicates": per, "key_steps": key,
            "common_random_numbers": "every scenario runs on the same replicate seeds",
            "outputs": {name: report.summary(shared[shared.scenario == name], key)
                        for name in names},
            "paired_difference": report.paired_differences(shared, names[0], key)})
        files.write_json(tmp / "manifest.json", report.manifest(
            scenarios={n: s.model_dump(mode="json") for n, s in zip(names, scenarios, strict=True)},
            files=dict(zip(names, hashes, strict=True)), seed=first.seed, replicates=per,
            citizens=citizens, steps=steps, workers=args.workers, started=started,
            argv=args.argv))
        from sim import plots

        plots.compare_figure(shared, report.difference_frame(shared, names[0]), names[0],
                             tmp / "comparison.png", marks)
    end = df[df.step == df.step.max()].groupby("scenario", sort=False).trust_mean.mean()
    print(f"{args.out}: " + ", ".join(f"{n} trust {v:.3f}" for n, v in end.items()))
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    json.dump(sc.schema(), sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    from sim.sweeps.run import sweep_command  # the sweep machinery only when asked for

    return sweep_command(args)


def cmd_app(args: argparse.Namespace) -> int:
    from sim.app import serve  # solara and mesa.visualization only when asked for

    return serve(args.host, args.port)


COMMANDS: dict[str, Any] = {"run": cmd_run, "validate": cmd_validate, "compare": cmd_compare,
                            "schema": cmd_schema, "sweep": cmd_sweep, "app": cmd_app}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # the command as given, for the manifest
    args.argv = ["trustsim", *(sys.argv[1:] if argv is None else argv)]
    return command.run(f"trustsim {args.command}", COMMANDS[args.command], args)


if __name__ == "__main__":
    sys.exit(main())
