"""Citizen control x mandate strength x publicity x breach rate: where does service benefit
rise without a trust collapse?

Spec: experiments/specs/policy_grid.yaml (a full-factorial grid: consent regime and mandate
strength applied to every programme from week 13, publicity and breach rate of GP records).
After the sweep, OUT/policy_table.csv lists per grid point the change in end-of-run service
benefit against opt-out with no mandate in the same breach world, the lowest mean trust and
whether trust collapsed (fell more than 0.1 below its start); ``win`` marks benefit up without
a collapse. Rerunning with the same --out resumes. See docs/sweeps.md.

    python experiments/policy_grid.py --quick --out results/policy_quick --workers 2
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # runs without installing the package
    sys.path.insert(0, str(ROOT))

from sim.files import write_atomic  # noqa: E402
from sim.sweeps import script  # noqa: E402
from sim.sweeps.analysis import policy_table  # noqa: E402

LEVERS = ["policies.0.consent", "policies.0.mandate.strength"]
CONTEXT = ["programmes.gp_records.publicity", "programmes.gp_records.breach_rate"]
REFERENCE = {"policies.0.consent": "opt_out", "policies.0.mandate.strength": 0.0}


def main(argv: list[str] | None = None) -> int:
    status = script(ROOT / "experiments/specs/policy_grid.yaml", __doc__.split("\n\n")[0],
                    argv)
    if status:
        return status
    out = Path(sys.argv[sys.argv.index("--out") + 1] if argv is None
               else argv[argv.index("--out") + 1])
    table = policy_table(pd.read_csv(out / "points.csv"), LEVERS, CONTEXT, REFERENCE)
    write_atomic(out / "policy_table.csv", lambda tmp: table.to_csv(tmp, index=False))
    wins = table[table.win]
    print(f"{out / 'policy_table.csv'}: {len(wins)} of {len(table)} settings raise service "
          "benefit without a trust collapse")
    with pd.option_context("display.width", 160, "display.max_columns", 20):
        print(wins.sort_values("service_benefit_change", ascending=False)
              [[*LEVERS, *CONTEXT, "service_benefit_change", "trust_min"]].head(12)
              .to_string(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
