"""Public-interest mandates (sim.mandates): what overriding a choice costs in trust."""

from sim import mandates
from sim.params import TrustParams
from sim.programmes import Mandate

P = TrustParams(mandate_attitude=0.2)  # the optional assumed cost (0 by default)


def test_mandate_trust_cost_falls_with_legitimacy(table, prog):
    costs = [mandates.attitude_terms(table(prog(
        mandate=Mandate(strength=0.8, public_interest_test=level, oversight=level),
        transparency=level)), P)[1][0] for level in (0.1, 0.5, 0.9)]
    assert costs[0] < costs[1] < costs[2] <= 0
    assert mandates.attitude_terms(table(prog()), P)[1][0] == 0  # no mandate, no cost
    statutory = table(prog(consent="none", mandate=Mandate(strength=0.8)))
    assert mandates.attitude_terms(statutory, P)[1][0] == 0  # no choice to override
