"""Calibration and out-of-sample validation (docs/calibration.md): targets as data with their
measurement models, history matching with Gaussian-process emulators, then a fixed-generation
ABC-SMC on the sweep engine, posterior-predictive checks of fitted and held-out targets.

Modules, one per concept: :mod:`~sim.calibration.targets` (the targets file, measurement
models), :mod:`~sim.calibration.observe` (the survey shares a run reports, worker side),
:mod:`~sim.calibration.spec` (the calibration spec and its priors), :mod:`~sim.calibration.design`
(prior samples and seeds), :mod:`~sim.calibration.emulator` (emulators, implausibility),
:mod:`~sim.calibration.abc` (ABC-SMC), :mod:`~sim.calibration.run` (the command: stages,
resume, manifest), :mod:`~sim.calibration.figures`.

This package imports nothing into itself, so a worker that imports the observer does not load
the rest (and the run keys, which hash the code a run imports, stay those of the observer).
"""
