"""What a run needs from the machine: memory, estimated before the population is built."""

from __future__ import annotations

import os

from sim.scenario.spec import Scenario


def memory_estimate(scenario: Scenario, n_citizens: int | None = None,
                    parallel: int = 1) -> int:
    """Bytes a run is expected to need at its peak, for ``parallel`` runs at once."""
    from sim.model import TrustModel  # only when a run is about to build one

    n = n_citizens or scenario.population.size
    per_citizen = TrustModel.bytes_per_citizen(len(scenario.agencies) + 1,
                                               len(scenario.programmes))  # runs build no views
    return parallel * int(n * per_citizen) + 300 * 2**20


def available_memory() -> int | None:
    """Memory available to new processes now (Linux), or None if unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError):
        return None
