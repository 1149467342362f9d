"""Morris screening (mu*, mu*_conf, sigma over time) of twelve parameters and levers: which
matter at all, before a Sobol study of the few that do.

Spec: experiments/specs/morris_screening.yaml. Writes OUT/indices.csv (output, step,
parameter, mu, mu_star, mu_star_conf, sigma), figures, noise and convergence tables,
runs.parquet, manifest.json. Rerunning with the same --out resumes. See docs/sweeps.md.

    python experiments/morris_screening.py --quick --out results/morris_quick --workers 2
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # runs without installing the package
    sys.path.insert(0, str(ROOT))

from sim.sweeps import script  # noqa: E402

if __name__ == "__main__":
    sys.exit(script(ROOT / "experiments/specs/morris_screening.yaml", __doc__.split("\n\n")[0]))
