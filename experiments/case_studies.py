"""The five CDEI case studies side by side: one table, one figure, one time series.

Runs each case's scenario file (``sim.case_studies``) with its own steps and seed, as
``trustsim run`` would, at the population size and replicates given here, and writes into OUT:

- ``timeseries.csv``: every case's replicates, a ``scenario`` column first (6 significant digits);
- ``summary.csv``: one row per case: weeks, trust and opt-out at the start and the end, and the
  start, lowest, highest and final value of the output that tells the case's story;
- ``case_studies.png``: general trust, opt-out and the story output of each case over its own
  timeline (mean and 10-90% band across replicates, events dashed);
- ``manifest.json``: code version, packages, scenario files (hashed and resolved), sizes, command.

The folder appears whole or not at all (also when interrupted with Ctrl-C or SIGTERM); an
existing one is replaced only with ``--force``.

    python experiments/case_studies.py --out results/case_studies --citizens 5000 --workers 2
"""

from __future__ import annotations

import argparse
import datetime as dt
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # runs without installing the package
    sys.path.insert(0, str(ROOT))

from sim import case_studies, files, plots, report, stop  # noqa: E402
from sim import scenario as sc  # noqa: E402
from sim.command import EXIT_BAD_INPUT, EXIT_INTERRUPTED, integer  # noqa: E402


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, required=True, help="results folder to create")
    p.add_argument("--citizens", type=integer(1), help="population size (default: each file's)")
    p.add_argument("--replicates", type=integer(1), help="replicates (default: each file's)")
    p.add_argument("--workers", type=integer(1), default=1,
                   help="parallel processes; results are identical whatever the number")
    p.add_argument("--force", action="store_true", help="replace an existing --out folder")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def write(args: argparse.Namespace) -> str:
    started = dt.datetime.now(dt.UTC)
    hashes = {case.name: {str(Path(f).resolve()): report.file_sha256(f)
                          for f in sc.files(ROOT / "scenarios" / f"{case.name}.yaml")}
              for case in case_studies.CASES}
    scenarios = case_studies.load(ROOT / "scenarios")
    with files.results_folder(args.out, args.force) as tmp:
        from tqdm import tqdm

        total = sum(args.replicates or s.replicates for s in scenarios.values())
        with tqdm(total=total, desc="case studies", unit="run", file=sys.stderr, leave=False,
                  disable=args.quiet or not sys.stderr.isatty()) as bar:
            runs = case_studies.run(scenarios, args.citizens, args.replicates, args.workers,
                                    bar.update)
        stop.stop_point()  # a stop asked for during the last replicate: write nothing
        table = case_studies.summary(runs)
        runs.to_csv(tmp / "timeseries.csv", index=False, float_format="%.6g")
        table.to_csv(tmp / "summary.csv", float_format="%.6g")
        marks = {name: s.marks() for name, s in scenarios.items()}
        plots.save(plots.case_studies_figure(runs, case_studies.CASES, marks),
                   tmp / "case_studies.png")
        manifest = report.manifest(
            scenarios={n: s.model_dump(mode="json") for n, s in scenarios.items()},
            files=hashes, seed=0, replicates=0, citizens=0, steps=0, workers=args.workers,
            started=started, argv=["python", *sys.argv])
        # each case has its own settings: record them per case
        manifest["seed"] = {n: {"entropy": s.seed, "replicates": args.replicates or s.replicates,
                                "replicate_seeds": "SeedSequence(entropy).spawn(replicates)"}
                            for n, s in scenarios.items()}
        manifest["citizens"] = {n: args.citizens or s.population.size
                                for n, s in scenarios.items()}
        manifest["steps"] = {n: s.steps for n, s in scenarios.items()}
        files.write_json(tmp / "manifest.json", manifest)
        stop.stop_point()
    return table.to_string(float_format=lambda v: f"{v:.3f}")


def _interrupt(signum: int, frame: object) -> None:
    """SIGTERM unwinds like Ctrl-C, so the temporary folder is removed: at once, or, while model
    steps run, between two steps (sim.stop). The request stays recorded, so one that lands where
    Python can only report an exception, not raise it, still stops the script at the next
    stop point."""
    stop.request()


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        print(write(args))
    except (files.OutputError, sc.ScenarioError) as err:
        print(f"case_studies: error:\n{err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except (KeyboardInterrupt, stop.Terminated):
        print("case_studies: interrupted; no results were written", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        stop.clear()
    print(f"{args.out}: {len(case_studies.CASES)} case studies")
    return 0


if __name__ == "__main__":
    sys.exit(main())
