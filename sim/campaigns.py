"""Public information campaigns: a week of messages about a programme that raises the trust of
the citizens it reaches.

A campaign of strength ``s`` reaching a share ``r`` of the population raises a reached citizen's
trust in each column by ``gain_rate * s`` times the programme's attitude routing (the recipient in
full, the holder in full, general trust ``general_spill``, other agencies ``agency_spill``). A
campaign event (sim.events) runs one week at a time and schedules its next week itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim import trust
from sim.citizens import Citizens

if TYPE_CHECKING:
    from sim.model import TrustModel


def run_week(model: TrustModel, programme: str, strength: float, reach: float) -> None:
    """One week of a campaign about ``programme``."""
    p = model.programme_index(programme)
    draw = model.streams.uniform("campaign", model.steps, model.n_citizens, p,
                                 model.serials.next("campaign", p))
    route = trust.routing(model.table, len(model.column), 1.0, model.params)[p]
    reached = draw < reach
    uplift(model.citizens.trust, reached, route, model.params.gain_rate, strength)
    prompt(model.citizens, reached, p, strength)


def prompt(citizens: Citizens, reached: np.ndarray, p: int, strength: float) -> None:
    """A campaign tells reached citizens of their choice and prompts them to make it: they
    become aware, and their attention to programme p rises by the campaign's strength."""
    rows = np.flatnonzero(reached)
    citizens.aware[rows, p] = 1
    citizens.attention[rows, p] += np.float32(strength)


def uplift(trust: np.ndarray, reached: np.ndarray, route: np.ndarray, gain: float,
           strength: float) -> None:
    """Raise reached citizens' trust by ``gain * strength`` times each column's route."""
    rows = np.flatnonzero(reached)
    lift = (gain * strength * route).astype(np.float32)
    trust[rows] = np.clip(trust[rows] + lift, 0.0, 1.0)
