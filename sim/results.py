"""Results: one preallocated array per output, filled one step at a time.

The outputs are the contract shared by the command line, sweeps, notebooks and plots
(docs/model.md, "Observation"). Arrays grow by doubling if a run goes past the steps planned.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from sim.programmes import PURPOSES

CORE_OUTPUTS = (
    "trust_mean", "trust_sd", "opt_out_rate", "data_coverage", "service_benefit",
    "public_benefit", "breaches",
)



def output_names(agencies: Sequence[str], segments: Sequence[str],
                 programmes: Sequence[str]) -> list[str]:
    """All outputs of a model with these agencies, segments and programmes, in column order."""
    return [
        *CORE_OUTPUTS,
        *(f"trust_{a}" for a in agencies),
        *(f"opt_out_{s}" for s in segments),
        *(f"coverage_{p}" for p in programmes),
        *(f"willing_{p}" for p in programmes),
        *(f"refusing_{k.value}" for k in PURPOSES),
    ]


class Results:
    """A table of outputs by step, preallocated for ``n_steps`` steps after step 0."""

    def __init__(self, names: Sequence[str], n_steps: int):
        self.names = list(names)
        self.index = {name: k for k, name in enumerate(self.names)}
        self.values = np.full((max(n_steps, 1) + 1, len(self.names)), np.nan)
        self.last = -1

    def record(self, step: int, values: dict[str, float]) -> None:
        if step >= len(self.values):
            grown = np.full((2 * step + 1, len(self.names)), np.nan)
            grown[: len(self.values)] = self.values
            self.values = grown
        row = self.values[step]
        for name, value in values.items():
            row[self.index[name]] = value
        self.last = step

    def latest(self, name: str) -> float:
        return float(self.values[self.last, self.index[name]])

    def frame(self) -> pd.DataFrame:
        """Steps 0..last as a DataFrame with a ``step`` column first."""
        df = pd.DataFrame(self.values[: self.last + 1], columns=self.names)
        df.insert(0, "step", np.arange(self.last + 1))
        df["breaches"] = df["breaches"].astype(np.int64)
        return df
