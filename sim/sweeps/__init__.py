"""Sensitivity and policy sweeps of trustsim: Sobol, Morris, Latin hypercube and grids over
time, with replicates, on processes or a Dask cluster, resumable (docs/sweeps.md).

Modules, one per concept: :mod:`sim.sweeps.spec` (the YAML spec), :mod:`sim.sweeps.design`
(SALib problem, sample, seeds), :mod:`sim.sweeps.engine` (run keys, tasks, shards, executors),
:mod:`sim.sweeps.analysis` (indices, seed-noise share, convergence), :mod:`sim.sweeps.figures`,
:mod:`sim.sweeps.export` (tidy runs, EMA Workbench shape), :mod:`sim.sweeps.run` (a whole
sweep), :mod:`sim.sweeps.testmodels` (Ishigami and other test models for the engine).
"""

from sim.sweeps.export import read_runs, to_ema
from sim.sweeps.run import SweepUsageError, run_sweep, script
from sim.sweeps.spec import LoadedSpec, SweepSpec, load

__all__ = ["LoadedSpec", "SweepSpec", "SweepUsageError", "load", "read_runs", "run_sweep",
           "script", "to_ema"]
