"""Public-interest mandates: purposes shared whatever citizens chose, and what that costs in trust.

A mandate of strength ``m`` lets that share of a programme's records flow even for citizens who
opted out (see :func:`sim.sharing.flow_weight`), which raises coverage and benefit, most for
citizens with high need. Among the privacy concerned, overriding their choice costs trust,
unless the mandate is legitimate: a clear public-interest test, independent oversight and
transparency (the programme's ``legitimacy``). Where citizens have no choice to override, a
mandate changes neither flows nor trust. This assumed cost is off by default
(``mandate_attitude`` 0): overriding a refusal costs trust through the grievance it causes
(sim.trust, sim.control).
"""

from __future__ import annotations

import numpy as np

from sim.params import TrustParams
from sim.programmes import ProgrammeTable, Regime


def trust_cost(table: ProgrammeTable) -> np.ndarray:
    """Per programme: mandate strength times illegitimacy, ``m * (1 - L)``, where there is a
    consent choice for the mandate to override (without one, sharing is statutory anyway and
    its cost is the perceived risk of sim.sharing)."""
    return table.mandate * (1.0 - table.legitimacy) * (table.regime != Regime.NONE)


def attitude_terms(table: ProgrammeTable, params: TrustParams) -> tuple[np.ndarray, np.ndarray]:
    """Shift of equilibrium trust per programme: (for everyone, per unit of concern)."""
    per_concern = -params.mandate_attitude * trust_cost(table) * table.visible
    return np.zeros(len(table)), per_concern
