"""The benchmark's phase timers (experiments/benchmark.py) time the calls the model makes: every
name they wrap exists, a timed step gives the same numbers as an untimed one, and the originals
are back afterwards. No timing is asserted: speed is for the benchmark's report, not a test."""

from __future__ import annotations

import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def benchmark(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """experiments.benchmark, with the thread variables it sets on import restored after."""
    for var in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                "MKL_NUM_THREADS"):
        monkeypatch.delenv(var, raising=False)
    sys.path.insert(0, str(ROOT))
    try:
        from experiments import benchmark
    finally:
        sys.path.remove(str(ROOT))
    return benchmark


def test_phase_timers_time_every_phase_and_change_no_number(benchmark: ModuleType) -> None:
    from sim import TrustModel

    originals = {(module, path): _resolve(module, path)
                 for _, module, path, _ in benchmark.TIMED_CALLS}
    timed, plain = (TrustModel(500, rng=2, citizen_agents=False) for _ in range(2))
    phases = benchmark.time_phases(timed, 3)
    for _ in range(3):
        plain.step()
    assert list(phases) == list(benchmark.PHASES)
    assert all(np.isfinite(v) for v in phases.values())
    parents = {"trust", "trust: find", "control"}  # reported as own times under other names
    assert {p for p, *_ in benchmark.TIMED_CALLS} - parents <= set(phases)
    np.testing.assert_array_equal(timed.citizens.trust, plain.citizens.trust)
    assert timed.timeseries().equals(plain.timeseries())
    assert all(_resolve(module, path) is originals[module, path]
               for _, module, path, _ in benchmark.TIMED_CALLS)
    assert "collect" not in vars(timed.datacollector)
    cells = benchmark.kernel_cells(timed)
    assert cells["trust: update"] == 500 * timed.citizens.trust.shape[1]


def _resolve(module: str, path: str) -> object:
    import importlib

    owner: object = importlib.import_module(module)
    *outer, name = path.split(".")
    for part in outer:
        owner = getattr(owner, part)
    return vars(owner)[name]
