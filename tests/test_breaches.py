"""Breaches and misuse (sim.breaches): when they happen, whom they hit, how far news travels."""

import numpy as np
import pytest

from sim import TrustModel, breaches
from sim.params import TrustParams
from sim.programmes import Choice

P = TrustParams()


def test_breach_hazard_rises_with_volume_and_recipients_and_falls_with_security(table, prog):
    def h(cover=1.0, **kw):
        return breaches.hazard(table(prog(breach_rate=1.0, **kw)), np.array([cover]), P)[0]

    assert h(cover=0.9) > h(cover=0.3) > 0
    assert h(n_recipients=20) > h(n_recipients=1)
    assert h(security=0.9) < h(security=0.5)
    assert h(security=0.5) == pytest.approx(1 - np.exp(-1 / 52))  # the yearly rate's anchor
    assert h(active=False) == 0


def test_only_hidden_active_programmes_can_be_discovered(table, prog):
    tab = table(prog(), prog(name="q", announced=False), prog(name="r", announced=False,
                                                            active=False))
    hazard = breaches.discovery_hazard(tab)
    assert hazard[0] == 0 and hazard[1] > 0 and hazard[2] == 0


def test_victims_only_among_those_whose_records_flowed():
    flow = np.array([0.0] * 500 + [1.0] * 500)
    draw = np.random.default_rng(0).random(1000)
    v = breaches.victims_of(flow, 0.9, P.model_copy(update={"victim_share": 0.5}), draw)
    assert not v[:500].any() and v[500:].mean() == pytest.approx(0.45, abs=0.06)


def test_hits_victims_hardest_and_hidden_sharing_hardest_of_all():
    sal = np.zeros(3, np.float32)
    victim = np.array([True, False, False])
    reach = np.array([True, True, False])
    breaches.hit(sal, victim, reach, 0.5, P, surprise=1.0)
    assert sal[0] > sal[1] > sal[2] == 0
    hidden = np.zeros(3, np.float32)
    breaches.hit(hidden, victim, reach, 0.5, P, breaches.surprise(0.9, True, P))
    np.testing.assert_allclose(hidden, sal * P.hidden_multiplier)


def test_news_surprises_more_the_less_people_were_told():
    H = P.hidden_multiplier
    assert breaches.surprise(1.0, False, P) == 1.0  # fully explained: severity alone
    assert breaches.surprise(0.5, False, P) == pytest.approx(1 + (H - 1) / 2)
    assert breaches.surprise(0.0, False, P) == breaches.surprise(0.8, True, P) == H


def test_a_breach_in_a_model_hits_only_flowing_citizens_and_reveals_hidden_sharing(prog):
    programmes = [prog(announced=False, consent="opt_out", mandate={"strength": 0.0})]
    m = TrustModel(3_000, programmes=programmes, rng=2)
    m.citizens.choice[:1_500, 0] = Choice.OUT
    m.breach("p", severity=0.9, publicity=0.0)
    incident = m.incidents[-1]
    assert incident.kind == "breach" and incident.hidden and incident.reached == 0
    assert incident.victims > 0
    assert (m.citizens.salience[:1_500, 0] == 0).all()  # the opted out were not exposed
    assert m.programmes[0].announced  # now public


def test_breaches_at_counts_this_steps_breaches_only():
    log = [breaches.Incident(1, "p", "breach", 0.5, 0.3, 1, 1, False),
           breaches.Incident(2, "p", "revelation", 0.5, 0.3, 0, 1, False),
           breaches.Incident(2, "p", "breach", 0.5, 0.3, 1, 1, False),
           breaches.Incident(2, "q", "breach", 0.5, 0.3, 1, 1, False)]
    assert breaches.breaches_at(log, 2) == 2
    assert breaches.breaches_at(log, 3) == 0


def test_victims_only_in_the_catchment_and_local_news_only_in_its_regions(prog):
    from sim import demography, population
    from sim.sharing import members

    london = demography.REGIONS.index(demography.Region.LONDON)
    local = prog(consent="none", catchment={"regions": ["london"], "share": 0.5},
                 publicity_scope="local")
    national = local.changed(name="q")
    m = TrustModel(20_000, programmes=[local, national.changed(publicity_scope="national")],
                   rng=6, citizen_agents=False)
    c = m.citizens
    held = members(population.codes(c), m.table.member, m.table.subject_share,
                   m.table.subject_key, 0)
    m.breach("p", severity=0.9, publicity=0.0)  # victims only: no news
    victim = c.salience[:, 0] > 0
    assert victim.any() and not victim[~held].any()
    c.salience[:] = 0
    m.breach("p", severity=0.9, publicity=0.6)
    hit = c.salience[:, 0] > 0
    assert hit.any() and not hit[c.region != london].any()  # victims and news stay in London
    assert hit[c.region == london].mean() == pytest.approx(0.6, abs=0.05)
    m.breach("q", severity=0.9, publicity=0.6)
    news = c.salience[:, 1] > 0
    assert news[c.region != london].mean() == pytest.approx(0.6, abs=0.02)  # national news
    assert m.incidents[-1].victims <= held.sum()  # q has the same catchment
