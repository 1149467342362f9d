"""Fingerprints of two runs, to check that a change, or another processor, changes no number.

Prints a SHA-256 prefix of the outputs and of every citizen array's bytes after

* the default world, 20,000 citizens, seed 1, 60 weeks (``default``), and
* the stress world of experiments/mesa_reference.py (frequent breaches, a deadline, opt-in and
  dynamic consent, a week of campaigns first), 20,000 citizens, seed 3, 40 weeks (``stress``).

Run it before and after a change to the kernels: every line must be the same. The kernels are
compiled for the processor they run on; to check another instruction set on this machine, give
numba another target and an empty cache, e.g.::

    NUMBA_CACHE_DIR=/tmp/nb-avx2 NUMBA_CPU_NAME=haswell \\
        NUMBA_CPU_FEATURES=+64bit,+avx,+avx2,+fma,+bmi,+bmi2,+f16c,+lzcnt,+movbe,+popcnt,+sse4.2 \\
        python experiments/fingerprint.py

(``NUMBA_CPU_NAME=x86-64 NUMBA_CPU_FEATURES=`` for plain SSE2), and numpy's AVX-512 code paths
can be switched off with ``NPY_DISABLE_CPU_FEATURES``. ``--threads 2`` runs the kernels on two
threads (sim.parallel): the lines must be the same as with one.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # runs without installing the package
    sys.path.insert(0, str(ROOT))

from experiments.mesa_reference import STRESS_CAMPAIGNS, stress_world  # noqa: E402
from sim import TrustModel  # noqa: E402
from sim.citizens import STATE  # noqa: E402


def digest(*blobs: bytes) -> str:
    """The first 16 hex digits of the SHA-256 of the bytes, in order."""
    h = hashlib.sha256()
    for blob in blobs:
        h.update(blob)
    return h.hexdigest()[:16]


def fingerprint(model: TrustModel) -> dict[str, str]:
    """Hashes of the outputs, the group outputs and the citizens' state."""
    c = model.citizens
    return {
        "outputs": digest(model.timeseries().to_numpy().tobytes()),
        "groups": digest(model.groups_timeseries()["value"].to_numpy().tobytes()),
        "trust": digest(c.trust.tobytes()),
        "state": digest(*(getattr(c, v.name).tobytes() for v in STATE)),
    }


def default_run(threads: int = 1) -> TrustModel:
    model = TrustModel(20_000, rng=1, citizen_agents=False, threads=threads)
    for _ in range(60):
        model.step()
    return model


def stress_run(threads: int = 1) -> TrustModel:
    model = TrustModel(20_000, programmes=stress_world(), rng=3, citizen_agents=False,
                       threads=threads)
    for p, strength, reach in STRESS_CAMPAIGNS:
        model.campaign(model.programmes[p].name, strength, reach)
    for _ in range(40):
        model.step()
    return model


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=1, help="threads per run (default 1)")
    threads = parser.parse_args(argv).threads
    for name, run in (("default", default_run), ("stress", stress_run)):
        print(name, " ".join(f"{k}={v}" for k, v in fingerprint(run(threads)).items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
