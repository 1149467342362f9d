"""Results: one preallocated array per output, filled one step at a time.

The outputs are the contract shared by the command line, sweeps, notebooks and plots
(docs/model.md, "Observation"). Arrays grow by doubling if a run goes past the steps planned.
Beside the wide table of population outputs, :class:`GroupResults` keeps a few outputs for each
region and demographic group, read as a tidy long table.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import mesa
import numpy as np
import pandas as pd

from sim.programmes import PURPOSES
from sim.valuation import Unit

CORE_OUTPUTS = (
    "trust_mean", "trust_sd", "opt_out_rate", "data_coverage", "service_benefit",
    "public_benefit", "breaches",
)
#: The outputs kept for every region and demographic group (then ``trust_<agency>``).
GROUP_OUTPUTS = ("opt_out_rate", "trust_mean")


def worth_name(kind: str, programme: str, unit: str) -> str:
    """The output of a programme's amount in a real unit: ``benefit_<programme>_<unit>``,
    ``harm_...`` or ``evidence_...`` (sim.public_value)."""
    return f"{kind}_{programme}_{unit}"


def total_names(unit: str) -> tuple[str, str, str]:
    """The outputs summed within one unit: total benefit, total harm, net value."""
    return f"total_benefit_{unit}", f"total_harm_{unit}", f"net_value_{unit}"


def output_names(agencies: Sequence[str], segments: Sequence[str], programmes: Sequence[str],
                 worth: Sequence[tuple[str, str, str]] = ()) -> list[str]:
    """All outputs of a model with these agencies, segments and programmes, in column order;
    ``worth`` lists the (kind, programme, unit) of the programmes' real-unit amounts
    (``sim.public_value.entries``), which add their columns and, per unit of a benefit or
    harm in the order of ``sim.valuation.Unit``, the totals."""
    order = {u.value: k for k, u in enumerate(Unit)}
    units = sorted({unit for kind, _, unit in worth if kind != "evidence"},
                   key=lambda u: (order.get(u, len(order)), u))
    return [
        *CORE_OUTPUTS,
        *(f"trust_{a}" for a in agencies),
        *(f"opt_out_{s}" for s in segments),
        *(f"coverage_{p}" for p in programmes),
        *(f"willing_{p}" for p in programmes),
        *(f"refusing_{k.value}" for k in PURPOSES),
        *(worth_name(*entry) for entry in worth),
        *(name for unit in units for name in total_names(unit)),
    ]


class Results:
    """A table of outputs by step, preallocated for ``n_steps`` steps after step 0."""

    def __init__(self, names: Sequence[str], n_steps: int):
        self.names = list(names)
        self.index = {name: k for k, name in enumerate(self.names)}
        self.values = np.full((max(n_steps, 1) + 1, len(self.names)), np.nan)
        self.last = -1

    def record(self, step: int, values: dict[str, float]) -> None:
        row = self.row(step)
        for name, value in values.items():
            row[self.index[name]] = value

    def row(self, step: int) -> np.ndarray:
        """The row of ``step``, to be filled in place (columns by :attr:`index`); it becomes
        the latest."""
        if step >= len(self.values):
            grown = np.full((2 * step + 1, len(self.names)), np.nan)
            grown[: len(self.values)] = self.values
            self.values = grown
        self.last = step
        return self.values[step]

    def latest(self, name: str) -> float:
        return float(self.values[self.last, self.index[name]])

    def frame(self) -> pd.DataFrame:
        """Steps 0..last as a DataFrame with a ``step`` column first."""
        df = pd.DataFrame(self.values[: self.last + 1], columns=self.names)
        df.insert(0, "step", np.arange(self.last + 1))
        df["breaches"] = df["breaches"].astype(np.int64)
        return df


class Collector(mesa.DataCollector):
    """Mesa's DataCollector with one model reporter per output of a :class:`Results` table.

    Each ``collect`` notes which row of the table is the latest instead of calling a reporter
    per output; the reporters' columns (``model_vars``, so ``get_model_vars_dataframe()``) are
    read from those rows when asked for, as the Python floats the reporters return. A step
    then costs no call per output. Agent reporters are collected by Mesa as usual.
    """

    def __init__(self, results: Results, reporter: Callable[[str], Any],
                 agent_reporters: dict[str, Any] | None = None):
        self._results = results
        self._rows: list[int] = []
        self._vars: tuple[int, dict[str, list[float]]] | None = None
        super().__init__(model_reporters={name: reporter(name) for name in results.names},
                         agent_reporters=agent_reporters)

    @property
    def model_vars(self) -> dict[str, list[float]]:
        """Each output at every collection so far, in order."""
        if self._vars is None or self._vars[0] != len(self._rows):
            rows = self._results.values[self._rows]
            self._vars = (len(self._rows), {name: rows[:, k].tolist()
                                            for k, name in enumerate(self._results.names)})
        return self._vars[1]

    @model_vars.setter
    def model_vars(self, value: dict[str, list[float]]) -> None:
        """Ignored: Mesa's ``__init__`` starts an empty dict, the columns come from the table."""

    def collect(self, model: Any) -> None:
        self._rows.append(self._results.last)
        if hasattr(self, "_collection_steps"):  # Mesa 3.5 notes when each collection was made
            self._collection_steps.append(model.time)  # (its batch_run reads rows by it)
        reporters, self.model_reporters = self.model_reporters, {}
        try:  # Mesa collects the agent reporters, if any
            super().collect(model)
        finally:
            self.model_reporters = reporters


def group_output_names(agencies: Sequence[str]) -> list[str]:
    """The outputs kept per group: opt-out rate, general trust, then trust in each agency."""
    return [*GROUP_OUTPUTS, *(f"trust_{a}" for a in agencies)]


class GroupResults:
    """Outputs by group and step: ``values[step, group, output]``, preallocated like
    :class:`Results`; ``groups`` lists (kind, group) of each row."""

    def __init__(self, groups: Sequence[tuple[str, str]], names: Sequence[str], n_steps: int):
        self.groups = list(groups)
        self.names = list(names)
        self.values = np.full((max(n_steps, 1) + 1, len(self.groups), len(self.names)), np.nan)
        self.last = -1

    def record(self, step: int, values: np.ndarray) -> None:
        if step >= len(self.values):
            grown = np.full((2 * step + 1, *self.values.shape[1:]), np.nan)
            grown[: len(self.values)] = self.values
            self.values = grown
        self.values[step] = values
        self.last = step

    def frame(self) -> pd.DataFrame:
        """Steps 0..last as a long table: step, group_kind, group, output, value."""
        steps, n_groups, n_out = self.last + 1, len(self.groups), len(self.names)
        kind = np.array([k for k, _ in self.groups], dtype=object)
        group = np.array([g for _, g in self.groups], dtype=object)
        return pd.DataFrame({
            "step": np.repeat(np.arange(steps), n_groups * n_out),
            "group_kind": np.tile(np.repeat(kind, n_out), steps),
            "group": np.tile(np.repeat(group, n_out), steps),
            "output": np.tile(np.array(self.names, dtype=object), steps * n_groups),
            "value": self.values[:steps].ravel(),
        })


def wide_by(groups: pd.DataFrame, kind: str) -> pd.DataFrame:
    """One kind of group from a long group table as a wide one: a row per (any ``replicate``,)
    step and group, named by the kind (e.g. ``region``), an output per column."""
    keys = [c for c in ("replicate", "step") if c in groups.columns]
    part = groups[groups.group_kind == kind]
    wide = part.pivot_table(index=[*keys, "group"], columns="output", values="value",
                            sort=False)
    wide = wide.reset_index().rename(columns={"group": kind})
    wide.columns.name = None
    order = list(dict.fromkeys(part.output))
    return wide[[*keys, kind, *order]]
