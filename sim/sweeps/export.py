"""Reading a sweep's tidy runs table and exporting it to the EMA Workbench results shape."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

ID_COLUMNS = ("key", "point", "replicate", "step")


def read_runs(out: str | Path) -> pd.DataFrame:
    """The tidy ``runs.parquet`` of a sweep folder (one row per run and kept step)."""
    return pd.read_parquet(Path(out) / "runs.parquet")


def to_ema(runs: pd.DataFrame, parameters: list[str] | None = None,
           outputs: list[str] | None = None) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """EMA Workbench ``(experiments, outcomes)``: one experiment per run (parameters, plus
    ``scenario`` = design point, ``replicate`` and ``key``), and per output an array of shape
    (runs, kept steps); ``outcomes["TIME"]`` holds the steps, as EMA's time-series outcomes do.
    Usable with ``ema_workbench.analysis.prim.Prim(experiments, y, ...)``."""
    meta = runs.attrs.get("sweep", {})
    parameters = parameters or meta.get("parameters") or []
    outputs = outputs or meta.get("outputs") or [
        c for c in runs.columns if c not in ID_COLUMNS and c not in parameters]
    steps = np.sort(runs["step"].unique())
    runs = runs.sort_values(["point", "replicate", "step"])
    first = runs.drop_duplicates("key", keep="first")
    experiments = first[[*parameters, "point", "replicate", "key"]].rename(
        columns={"point": "scenario"}).reset_index(drop=True)
    outcomes: dict[str, np.ndarray] = {}
    for output in outputs:
        wide = runs.pivot(index="key", columns="step", values=output).reindex(
            index=experiments["key"], columns=steps)
        outcomes[output] = wide.to_numpy(dtype=float)
    outcomes["TIME"] = np.tile(steps.astype(float), (len(experiments), 1))
    return experiments, outcomes
