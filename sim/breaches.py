"""Breaches and misuse: when they happen, whom they hit, and how far the news travels.

A programme's weekly breach hazard rises with the volume it shares (coverage) and the number of
recipients, and falls with security. A breach has a severity; its direct victims are citizens
whose records flowed; its publicity reaches a share of everyone else (media amplification,
SARF). Each hit raises the citizen's *salience* of that programme, which drives trust down over
the next weeks as it fades (sim.trust) and prompts opt-outs (sim.control). Sharing that was hidden
and is then discovered hits harder than the same sharing announced.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.params import TrustParams
from sim.programmes import ProgrammeTable


@dataclass(frozen=True)
class Incident:
    """One breach or revelation about one programme, as recorded in ``model.incidents``."""

    step: int
    programme: str
    kind: str  # "breach" or "revelation"
    severity: float
    publicity: float
    victims: int
    reached: int
    hidden: bool


def hazard(table: ProgrammeTable, cover: np.ndarray, params: TrustParams) -> np.ndarray:
    """Weekly breach probability per programme.

    ``lambda = breach_rate / 52 * coverage * n_recipients ** e * 2 * (1 - security)``, so
    ``breach_rate`` is the yearly rate at full coverage, one recipient and security 0.5;
    the probability of at least one breach in the week is ``1 - exp(-lambda)``.
    """
    rate = (table.breach_rate / 52.0 * cover * table.n_recipients ** params.recipients_exponent
            * 2.0 * (1.0 - table.security) * table.active)
    return -np.expm1(-rate)


def discovery_hazard(table: ProgrammeTable) -> np.ndarray:
    """Weekly probability that a hidden, active programme is discovered."""
    hidden = table.active & ~table.visible  # active but not announced
    return -np.expm1(-table.discovery_rate / 52.0) * hidden


def severity(mean: float, concentration: float, rng: np.random.Generator) -> float:
    """A breach's severity, beta-distributed around the programme's mean severity."""
    return float(rng.beta(concentration * mean, concentration * (1.0 - mean)))


def victims(flow: np.ndarray, sev: float, params: TrustParams, draw: np.ndarray) -> np.ndarray:
    """Citizens whose exposed records make them victims: ``draw < victim_share * sev * flow``."""
    return draw < params.victim_share * sev * flow


def reached(publicity: float, draw: np.ndarray) -> np.ndarray:
    """Citizens the news reaches: a ``publicity`` share of the population."""
    return draw < publicity


def hit(salience: np.ndarray, victim: np.ndarray | None, reach: np.ndarray, sev: float,
        params: TrustParams, hidden: bool) -> None:
    """Raise one programme's salience column for victims and for those the news reached.

    Victims gain ``victim_weight * s`` and the reached ``media_amplification * s`` (the larger of
    the two for a victim who also read the news), times ``hidden_multiplier`` if the sharing had
    been hidden.
    """
    scale = sev * (params.hidden_multiplier if hidden else 1.0)
    add = np.where(reach, np.float32(params.media_amplification * scale), np.float32(0))
    if victim is not None:
        np.maximum(add, np.where(victim, np.float32(params.victim_weight * scale), 0), out=add)
    salience += add
