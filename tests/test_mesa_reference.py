"""The plain-Mesa reference (experiments/mesa_reference.py) is the same computation as the array
model: stepped side by side on common random numbers they agree to float rounding. The benchmark's
speed-up against plain Mesa means something only while this holds."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_plain_mesa_reference_matches_the_array_model_on_common_random_numbers():
    sys.path.insert(0, str(ROOT))
    try:
        from experiments.mesa_reference import crn_check
    finally:
        sys.path.remove(str(ROOT))
    check = crn_check(600, 15, 3)
    assert check["incidents"] > 0  # breaches, so victims and news take part
    assert check["choice_change_share"] > 0.01  # and choices move
    assert check["max_abs_trust_diff"] < 1e-5, check
    assert check["choice_mismatch_share"] < 1e-3, check
    assert check["max_willing_diff"] < 1e-3, check
