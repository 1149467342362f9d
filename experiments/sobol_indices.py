"""Time-resolved Sobol indices (S1, ST with bootstrap CIs) of eight behavioural parameters of
the baseline world, with the seed-noise share, a dummy noise floor and convergence in N.

Spec: experiments/specs/sobol_indices.yaml. Writes OUT/indices.csv (output, step, parameter,
S1, S1_conf, ST, ST_conf), indices_over_time.png, noise.csv/png, convergence.csv/png,
runs.parquet, manifest.json. Rerunning with the same --out resumes. See docs/sweeps.md.

    python experiments/sobol_indices.py --quick --out results/sobol_quick --workers 2
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # runs without installing the package
    sys.path.insert(0, str(ROOT))

from sim.sweeps import script  # noqa: E402

if __name__ == "__main__":
    sys.exit(script(ROOT / "experiments/specs/sobol_indices.yaml", __doc__.split("\n\n")[0]))
