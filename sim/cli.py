"""The ``trustsim`` command line.

``trustsim run --out DIR`` runs the baseline world for some replicates and writes
``timeseries.csv`` (tidy: replicate, step, outputs) and the standard figures into DIR. Results are
written to a temporary folder beside DIR and renamed at the end, so an interrupted run leaves no
half-written results; an existing DIR is replaced only with ``--force``.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from sim.model import TrustModel


class UsageError(Exception):
    """Bad input: reported as one paragraph on stderr with exit status 2."""


def run_replicates(citizens: int, steps: int, replicates: int, seed: int) -> pd.DataFrame:
    """Run ``replicates`` independent runs seeded from one ``SeedSequence``; tidy output."""
    frames = []
    for r, child in enumerate(np.random.SeedSequence(seed).spawn(replicates)):
        model = TrustModel(citizens, n_steps=steps, rng=child)
        for _ in range(steps):
            model.step()
        frames.append(model.timeseries().assign(replicate=r))
    df = pd.concat(frames, ignore_index=True)
    return df[["replicate", *(c for c in df.columns if c != "replicate")]]


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="trustsim", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the baseline world and write results and figures")
    run.add_argument("--out", type=Path, required=True, help="results folder to create")
    run.add_argument("--citizens", type=_positive, default=10_000, help="population size")
    run.add_argument("--steps", type=_positive, default=156, help="weeks to simulate")
    run.add_argument("--replicates", type=_positive, default=3, help="independent runs")
    run.add_argument("--seed", type=int, default=20200213, help="seed of all randomness")
    run.add_argument("--force", action="store_true", help="replace an existing results folder")
    return parser


def cmd_run(args: argparse.Namespace) -> int:
    from sim import plots  # plotting stays at the edge

    out: Path = args.out
    if out.exists() and not args.force:
        raise UsageError(f"{out}: the results folder exists; choose another --out or add "
                         "--force to replace it.")
    if args.citizens < 2:
        raise UsageError(f"--citizens: at least 2 citizens are needed, got {args.citizens}.")
    runs = run_replicates(args.citizens, args.steps, args.replicates, args.seed)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        runs.to_csv(tmp / "timeseries.csv", index=False)
        agencies = [c.removeprefix("trust_") for c in runs.columns
                    if c.startswith("trust_") and c not in ("trust_mean", "trust_sd")]
        plots.run_figures(runs, tmp, agencies)
        if out.exists():
            shutil.rmtree(out)
        tmp.rename(out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    end = runs[runs.step == runs.step.max()]
    print(f"wrote {out}: {args.replicates} replicates x {args.steps} weeks, "
          f"final trust {end.trust_mean.mean():.3f}, opt-out {end.opt_out_rate.mean():.2%}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return {"run": cmd_run}[args.command](args)
    except UsageError as err:
        print(f"trustsim: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
