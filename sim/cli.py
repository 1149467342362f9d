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
import shutil
import signal
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

from sim import report, runner
from sim import scenario as sc

EXIT_BAD_INPUT = 2


class UsageError(Exception):
    """Bad command-line input: reported as one paragraph on stderr, exit status 2."""


class Terminated(BaseException):  # like KeyboardInterrupt: not an error to catch broadly
    """SIGTERM: unwind like Ctrl-C, so temporary results are removed."""


def _terminate(signum: int, frame: Any) -> None:
    raise Terminated()


# ------------------------------------------------------------------------------ arguments
def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def _run_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, required=True, help="results folder to create")
    parser.add_argument("--citizens", type=_positive, help="population size (default: file's)")
    parser.add_argument("--steps", type=_positive, help="weeks to simulate (default: file's)")
    parser.add_argument("--replicates", type=_positive, help="runs with spawned seeds")
    parser.add_argument("--seed", type=_seed, help="seed of all randomness (default: file's)")
    parser.add_argument("--workers", type=_positive, default=1,
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
    return parser


# ------------------------------------------------------------------------------ helpers
@contextmanager
def _atomic_folder(out: Path, force: bool) -> Iterator[Path]:
    """A temporary folder beside ``out`` that becomes ``out`` only if the block succeeds."""
    if out.exists() and not force:
        raise UsageError(f"{out}: the results folder already exists; choose another --out or "
                         "add --force to replace it.")
    if out.exists() and not out.is_dir():
        raise UsageError(f"{out}: exists and is not a folder.")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    except OSError as err:
        raise UsageError(f"{out}: cannot create the results folder: {err.strerror}.") from None
    try:
        yield tmp
        if out.exists():
            old = out.with_name(f".{out.name}.old-{tmp.name.rsplit('-', 1)[-1]}")
            out.rename(old)
            tmp.rename(out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _progress(total: int, quiet: bool, desc: str):
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="run", file=sys.stderr,
                disable=quiet or not sys.stderr.isatty(), leave=False)


def _check_memory(scenarios: Sequence[sc.Scenario], citizens: int, parallel: int) -> None:
    need = max(sc.memory_estimate(s, citizens, parallel) for s in scenarios)
    have = sc.available_memory()
    if have is not None and need > 0.9 * have:
        raise UsageError(
            f"population: {citizens:,} citizens x {parallel} parallel run(s) need about "
            f"{need / 2**30:.1f} GiB, but this machine has {have / 2**30:.1f} GiB available; use "
            "fewer --citizens or --workers.")


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


def _settings(first: sc.Scenario, args: argparse.Namespace) -> dict[str, int]:
    return {
        "citizens": args.citizens or first.population.size,
        "steps": args.steps or first.steps,
        "replicates": args.replicates or first.replicates,
        "seed": first.seed if args.seed is None else args.seed,
    }


# ------------------------------------------------------------------------------ commands
def cmd_run(args: argparse.Namespace) -> int:
    started = dt.datetime.now(dt.UTC)
    (scenario,) = _load_all([args.scenario], args.overrides)
    cfg = _settings(scenario, args)
    _check_memory([scenario], cfg["citizens"], min(args.workers, cfg["replicates"]))
    with _atomic_folder(args.out, args.force) as tmp:
        todo = runner.tasks(scenario, cfg["citizens"], cfg["steps"], cfg["replicates"],
                            cfg["seed"])
        with _progress(len(todo), args.quiet, scenario.name) as bar:
            frames = runner.run_tasks(todo, args.workers, bar.update)
        df = pd.concat(frames, ignore_index=True)
        _table(df, tmp, args.format)
        steps = report.key_steps(cfg["steps"], (m for m, _ in scenario.marks()))
        report.write_json(tmp / "summary.json", {
            "scenario": scenario.name, "replicates": cfg["replicates"], "key_steps": steps,
            "outputs": report.summary(df, steps)})
        report.write_json(tmp / "manifest.json", report.manifest(
            scenarios={scenario.name: scenario.model_dump(mode="json")},
            files={scenario.name: sc.files(args.scenario)}, seed=cfg["seed"],
            replicates=cfg["replicates"], citizens=cfg["citizens"], steps=cfg["steps"],
            workers=args.workers, started=started, argv=["trustsim", *sys.argv[1:]]))
        from sim import plots

        plots.run_figures(df, tmp, _agencies(scenario), scenario.marks())
    end = df[df.step == df.step.max()]
    print(f"{args.out}: {scenario.name}, {cfg['replicates']} replicates x {cfg['steps']} weeks "
          f"x {cfg['citizens']:,} citizens; at the end general trust {end.trust_mean.mean():.3f}, "
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


def cmd_compare(args: argparse.Namespace) -> int:
    started = dt.datetime.now(dt.UTC)
    loaded = _load_all(args.scenarios, args.overrides)
    names = [s.name for s in loaded]
    if len(set(names)) != len(names):
        names = [f"{s.name}" if names.count(s.name) == 1 else f"{s.name}@{p}"
                 for s, p in zip(loaded, args.scenarios, strict=True)]
    cfg = _settings(loaded[0], args)
    _check_memory(loaded, cfg["citizens"], min(args.workers, cfg["replicates"] * len(loaded)))
    with _atomic_folder(args.out, args.force) as tmp:
        todo = [task for s in loaded for task in runner.tasks(
            s, cfg["citizens"], cfg["steps"], cfg["replicates"], cfg["seed"])]
        with _progress(len(todo), args.quiet, "compare") as bar:
            frames = runner.run_tasks(todo, args.workers, bar.update)
        per = cfg["replicates"]
        df = pd.concat([f.assign(scenario=names[i // per]) for i, f in enumerate(frames)],
                       ignore_index=True)
        df = df[["scenario", *(c for c in df.columns if c != "scenario")]]
        common = [c for c in df.columns if not df[c].isna().any()]
        _table(df, tmp, args.format)
        marks = sorted({m for s in loaded for m in s.marks()})
        steps = report.key_steps(cfg["steps"], (m for m, _ in marks))
        shared = df[common]
        report.write_json(tmp / "comparison.json", {
            "reference": names[0], "scenarios": names, "replicates": per, "key_steps": steps,
            "common_random_numbers": "every scenario runs on the same replicate seeds",
            "outputs": {name: report.summary(shared[shared.scenario == name], steps)
                        for name in names},
            "paired_difference": report.paired_differences(shared, names[0], steps)})
        report.write_json(tmp / "manifest.json", report.manifest(
            scenarios={n: s.model_dump(mode="json") for n, s in zip(names, loaded, strict=True)},
            files={n: sc.files(p) for n, p in zip(names, args.scenarios, strict=True)},
            seed=cfg["seed"], replicates=per, citizens=cfg["citizens"], steps=cfg["steps"],
            workers=args.workers, started=started, argv=["trustsim", *sys.argv[1:]]))
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


COMMANDS: dict[str, Any] = {"run": cmd_run, "validate": cmd_validate, "compare": cmd_compare,
                            "schema": cmd_schema}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        return COMMANDS[args.command](args)
    except (UsageError, sc.ScenarioError) as err:
        print(f"trustsim {args.command}: error:\n{err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except (KeyboardInterrupt, Terminated) as err:
        print("trustsim: interrupted; no results were written", file=sys.stderr)
        return 143 if isinstance(err, Terminated) else 130
    finally:
        signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
