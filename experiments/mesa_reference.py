"""The same weekly step as ``sim.TrustModel``, written as a plain per-agent Mesa model.

This is the yardstick of experiments/benchmark.py: what the model would cost had it been written
the usual Mesa way, one ``mesa.Agent`` per citizen holding its state as Python attributes and a
method per mechanism, called agent by agent through ``AgentSet.do``. It is deliberately plain
Python (the per-citizen loops are the point); it is not used by the model itself.

It runs the computation of ``TrustModel.step`` for a world without scheduled events and without
hidden programmes (the default world): sharing and benefit, stochastic breaches, trust (impulse,
asymmetric gain and loss, drift, bounded-confidence pull toward one random neighbour, all
synchronous), consent decisions with the rules of ``sim.control.decide`` (a logit choice over the
utility of sharing, by aware citizens who attend and get round to acting), salience and attention
fade, and the outputs. Every number it uses (programme table, spill matrices, attitude offsets,
the consent plan with its fitted utility constants, network, initial citizen state with its
awareness and starting choices) is taken from a constructed ``TrustModel``, so both run the same
equations.

Random draws: by default each citizen draws from Mesa's ``model.random`` as a plain Mesa model
would. With ``common_random_numbers=True`` each citizen takes instead the element of the array
model's named streams (sim.streams) that the array model gives it, so the two models follow the
same path to float rounding (float64 here, float32 there); :func:`crn_check` uses that to check
this reference is the same computation.
"""

from __future__ import annotations

import math
from functools import partial
from typing import Any

import mesa
import numpy as np

from sim import baseline, breaches, control, sharing
from sim.control import SALIENCE_FLOOR
from sim.model import TrustModel
from sim.programmes import Choice, Consent, Programme, Regime
from sim.streams import spread

spread_py = spread.py_func  # the same integer arithmetic, run as plain Python

NONE, OPT_OUT, OPT_IN, DYNAMIC = (int(r) for r in Regime)
DEFAULT, OUT, IN = (int(c) for c in Choice)


def consents(regime: int, choice: int) -> bool:
    """Whether the choice lets data flow under this regime (as ``sim.sharing.consents``)."""
    if regime == NONE:
        return True
    if regime == OPT_IN:
        return choice == IN
    return choice != OUT


def logistic(x: float) -> float:
    """The logistic function (as ``sim.control.logistic``, in float64), without overflow."""
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


class RefAgency(mesa.Agent):
    """An agency; its trust is the citizens' mean trust in its column, read each week."""

    def __init__(self, model: MesaReference, name: str, column: int):
        super().__init__(model)
        self.name = name
        self.column = column
        self.trust = 0.0

    def observe(self) -> None:
        """Mean trust of all citizens in this agency now (from the sums the citizens added)."""
        self.trust = self.model.col_sum[self.column] / self.model.n


class RefCitizen(mesa.Agent):
    """One citizen with its whole state as Python attributes (lists per column / programme)."""

    def __init__(self, model: MesaReference, row: int, **state: Any):
        super().__init__(model)
        self.row = row  # position in the array model: which element of a shared stream is ours
        self.segment: int = state["segment"]
        self.concern: float = state["concern"]
        self.need: float = state["need"]
        self.propensity: float = state["propensity"]
        self.trust: list[float] = state["trust"]
        self.disposition: list[float] = state["disposition"]
        self.choice: list[int] = state["choice"]
        self.aware: list[int] = state["aware"]
        self.salience: list[float] = state["salience"]
        self.attention: list[float] = state["attention"]
        self.grievance: list[float] = state["grievance"]
        self.benefit: float = state["benefit"]
        self.expectation: float = state["expectation"]
        self.gap = 0.0
        self.neighbours: list[RefCitizen] = []
        self.partner: RefCitizen | None = None
        self.next_trust = self.trust
        self.previous_choice = self.choice

    def _uniform(self, stream: list[float] | None) -> float:
        return self.random.random() if stream is None else stream[self.row]

    # 2. sharing and benefit
    def share(self) -> None:
        m = self.model
        flows = m.segment_flow[self.segment]
        b = 0.0
        for p, regime in enumerate(m.regime):
            f = m.flow_consent[p] if consents(regime, self.choice[p]) else m.flow_refused[p]
            flows[p] += f
            b += m.service_weight[p] * f
        b *= self.need
        self.benefit = b
        self.gap = b - self.expectation
        self.expectation += m.expectation_rate * self.gap
        m.benefit_sum += b

    # 3. breaches: victims and news raise salience
    def hit(self, p: int, victim_level: float, victim_add: float, news_add: float,
            victim_draw: list[float] | None, reach_draw: list[float] | None,
            publicity: float) -> None:
        m = self.model
        flow = m.flow_consent[p] if consents(m.regime[p], self.choice[p]) else m.flow_refused[p]
        add = news_add if self._uniform(reach_draw) < publicity else 0.0
        if self._uniform(victim_draw) < victim_level * flow:
            add = max(add, victim_add)
        self.salience[p] += add

    # 4. trust, computed from last week's values of everyone ...
    def update_trust(self) -> None:
        m = self.model
        if self.neighbours:
            u = self._uniform(m.partner_draw)
            k = min(int(u * len(self.neighbours)), len(self.neighbours) - 1)
            self.partner = self.neighbours[k]
            other = self.partner.trust
        else:
            self.partner = None
            other = self.trust
        impulse = [self.gap * r for r in m.experience_route]
        for s, spill in zip(self.salience, m.spill, strict=True):
            if s != 0.0:
                impulse = [x - s * w for x, w in zip(impulse, spill, strict=True)]
        new = []
        for k, x in enumerate(self.trust):
            target = (self.disposition[k] + m.attitude_base[k]
                      + self.concern * m.attitude_concern[k]
                      + sum(g * route[k] for g, route in zip(self.grievance, m.grievance_route,
                                                               strict=True)))
            target = min(max(target, 0.0), 1.0)
            if impulse[k] >= 0:  # a gain closes a share of the way to 1, a loss takes a share
                dx = m.gain * impulse[k] * (1.0 - x)
            else:
                dx = m.gain * m.loss_aversion * impulse[k] * x
            dx += m.drift * (target - x)
            diff = other[k] - x
            if abs(diff) < m.bound:
                dx += m.rate * diff
            y = min(max(x + dx, 0.0), 1.0)
            new.append(y)
            short = target - y - m.memory_threshold
            if short > 0.0:  # a large betrayal moves lasting trust (sim.trust.update)
                self.disposition[k] -= m.memory_rate * short
        self.next_trust = new

    # ... then assigned by everyone at once
    def commit(self) -> None:
        self.trust = self.next_trust
        self.previous_choice = self.choice
        col_sum = self.model.col_sum
        for k, y in enumerate(self.trust):
            col_sum[k] += y

    # 5. consent decisions (the rules of sim.control.decide), then salience and attention fade
    def utility(self, p: int) -> float:
        """The utility of sharing programme p's records now (as ``sim.control.utility``)."""
        m, trust = self.model, self.trust
        tau = (m.w_holder * trust[m.holder[p]] + m.w_recipient * trust[m.recipient[p]]
               + m.w_general * trust[-1])
        gain = self.need * m.benefit_direct[p] + m.benefit_public[p]
        return (m.constant[p] + m.trust_weight * tau - m.risk_weight * self.concern * m.exposure[p]
                + m.benefit_weight * gain + m.legitimacy_weight * m.legitimacy[p]
                + self.propensity)

    def decide(self) -> None:
        m = self.model
        bits = (self.random.getrandbits(32) if m.choice_draw is None
                else m.choice_draw[self.row])
        n_prog = len(m.regime)
        choice = list(self.choice)
        opted_out = False
        for p, regime in enumerate(m.regime):
            utility = self.utility(p)
            if utility > 0.0:
                m.willing[p] += 1
            if regime != NONE:
                c = choice[p]
                u = spread_py(bits, p)
                act = m.act[p]
                if u < act and self.aware[p]:  # only a citizen aware of the choice attends
                    if consents(regime, c):  # sharing: news, a deadline or a partner prompt exit
                        alert = min(m.background + self.salience[p] + self.attention[p]
                                    + m.prompt[p], 1.0)
                        go = u < act * alert
                        if not go and u < act * min(alert + m.word_of_mouth, 1.0):
                            go = (self.partner is not None
                                  and self.partner.previous_choice[p] == OUT)
                        if go and (spread_py(bits, n_prog + p)
                                   < logistic(-utility - m.switching_cost)):
                            c = OUT
                    elif (u < act * min(m.background + self.attention[p], 1.0)  # not sharing:
                          and spread_py(bits, n_prog + p)  # only attention prompts joining
                          < logistic(utility - m.switching_cost)):
                        c = IN if regime == OPT_IN else DEFAULT
                choice[p] = c
                opted_out = opted_out or c == OUT
            # the grievance of unwanted sharing, with the choice just made (sim.control._attitudes)
            if utility > 0.0 or not (m.visible[p] and self.aware[p]):
                self.grievance[p] = 0.0  # willing, or does not know of the sharing
            else:
                flows = regime == NONE or consents(regime, choice[p])
                f = m.flow_consent[p] if flows else m.flow_refused[p]
                if regime != NONE and choice[p] != OUT:  # could refuse and has not
                    f *= m.unheard[p]
                self.grievance[p] = f * m.illegitimacy[p]
            s = self.salience[p]
            if s != 0.0:
                self.salience[p] = s * m.keep if s > SALIENCE_FLOOR else 0.0
            a = self.attention[p]
            if a != 0.0:
                self.attention[p] = a * m.keep if a > SALIENCE_FLOOR else 0.0
        self.choice = choice
        if opted_out:
            m.out_by_segment[self.segment] += 1


class MesaReference(mesa.Model):
    """Plain Mesa model of the weekly step, built from (and numerically equal to) ``source``.

    ``source`` is only read: its programme table, derived matrices, parameters, network and
    initial citizen arrays are copied into Python objects, so it can be stepped afterwards
    for comparison.
    """

    def __init__(self, source: TrustModel, *, common_random_numbers: bool = False,
                 rng: int | None = None):
        super().__init__(rng=rng if rng is not None else int(source.seed_sequence.entropy % 2**32))
        if source.events or not source.table.visible[source.table.active].all():
            raise NotImplementedError("the reference covers worlds without events or hidden "
                                      "programmes (such as the default world)")
        prm, table = source.params, source.table
        self.n = n = source.n_citizens
        self.params, self.table, self.streams = prm, table, source.streams
        self.programmes = list(source.programmes)
        self.crn = common_random_numbers
        # the numbers the array model derived, as Python values
        plans = source.plans
        self.regime = plans.control.regime.tolist()
        self.holder = plans.control.holder.tolist()
        self.recipient = plans.control.recipient.tolist()
        self.sharing_plan = plans.sharing
        self.flow_consent = plans.sharing.flow_consent.tolist()
        self.flow_refused = plans.sharing.flow_refused.tolist()
        # the cultural barrier follows trust in the recipient relative to the start
        self.trust_start = source._trust_start
        self.trust_ratio = np.ones(len(self.trust_start))
        self.service_weight = plans.sharing.service_weight.tolist()
        self.spill = plans.trust.spill.tolist()
        self.experience_route = plans.trust.experience_route.tolist()
        self.attitude_base = plans.trust.base.tolist()
        self.attitude_concern = plans.trust.per_concern.tolist()
        self.grievance_route = plans.trust.grievance_route.tolist()
        self.gain, self.loss_aversion, self.drift = prm.gain_rate, prm.loss_aversion, prm.drift
        self.memory_threshold, self.memory_rate = prm.memory_threshold, prm.memory_rate
        self.bound, self.rate = prm.confidence_bound, prm.influence_rate
        self.expectation_rate = prm.expectation_rate
        # the consent step's plan (float32 values, held as Python floats), with the utility
        # constants the array model fitted to the observed starting shares
        ctl = plans.control
        self.act, self.constant = ctl.act.tolist(), ctl.constant.tolist()
        self.exposure = ctl.exposure.tolist()
        self.benefit_direct = ctl.benefit_direct.tolist()
        self.benefit_public = ctl.benefit_public.tolist()
        self.legitimacy = ctl.legitimacy.tolist()
        self.illegitimacy = ctl.illegitimacy.tolist()
        self.visible, self.unheard = ctl.visible.tolist(), ctl.unheard.tolist()
        self.legitimacy_weight = float(ctl.legitimacy_weight)
        self.w_holder, self.w_recipient = float(ctl.w_holder), float(ctl.w_recipient)
        self.w_general = float(ctl.w_general)
        self.trust_weight, self.risk_weight = float(ctl.trust_weight), float(ctl.risk_weight)
        self.benefit_weight = float(ctl.benefit_weight)
        self.switching_cost, self.background = float(ctl.switching_cost), float(ctl.background)
        self.word_of_mouth = float(ctl.word_of_mouth)
        self.keep = float(np.float32(1) - ctl.fade)  # as the kernel computes it
        self.deadline_lead = ctl.deadline_lead
        self.segment_count = source.segment_count
        # whose records each programme holds, by segment: everyone in the worlds this reference
        # runs (it has no catchments)
        self.member_count = source.member_count
        self.n_segments, self.n_cols = len(source.segments), len(source.column)

        c = source.citizens
        state = {name: getattr(c, name).tolist() for name in (
            "segment", "concern", "need", "propensity", "trust", "disposition", "choice",
            "aware", "salience", "attention", "grievance", "benefit", "expectation")}
        people = [RefCitizen(self, i, **{name: v[i] for name, v in state.items()})
                  for i in range(n)]
        indptr, indices = source.network.indptr.tolist(), source.network.indices.tolist()
        for i, person in enumerate(people):
            person.neighbours = [people[j] for j in indices[indptr[i]:indptr[i + 1]]]
        self.citizens = self.agents_by_type[RefCitizen]
        self.agencies = [RefAgency(self, name, k) for name, k in source.column.items()
                         if name != "general"]
        self.partner_draw: list[float] | None = None
        self.choice_draw: list[int] | None = None
        self.latest: dict[str, float] = {}
        self.datacollector = mesa.DataCollector(model_reporters={
            name: partial(_latest, name=name)
            for name in ("trust_mean", "opt_out_rate", "data_coverage", "service_benefit",
                         "public_benefit", "breaches")})

    def step(self) -> None:
        """One week: share, breaches, trust (two passes: compute, assign), decide, record."""
        t, n = self.steps, self.n
        if self.crn:
            self.partner_draw = self.streams.uniform("partner", t, n).tolist()
            self.choice_draw = self.streams.bits("choice", t, n).tolist()
        self.segment_flow = [[0.0] * len(self.regime) for _ in range(self.n_segments)]
        self.benefit_sum = 0.0
        culture = self.sharing_plan.culture(self.trust_ratio)
        self.flow_consent = (self.sharing_plan.flow_consent * culture).tolist()
        self.flow_refused = (self.sharing_plan.flow_refused * culture).tolist()
        self.citizens.do("share")
        flow = np.array(self.segment_flow)
        cover = sharing.coverage(flow, self.member_count)
        represent = sharing.representativeness(flow, self.member_count)
        self.breaches_now = 0
        draw = self.streams.generator("breach", t).random(len(self.table))
        for p in np.flatnonzero(draw < breaches.hazard(self.table, cover, self.params)):
            self._breach(int(p), t)
        self.col_sum = [0.0] * self.n_cols
        self.citizens.do("update_trust")
        self.citizens.do("commit")
        self.trust_ratio = np.array(self.col_sum) / n / self.trust_start
        self.prompt = control.deadline_prompt(self.programmes, t, self.deadline_lead
                                              ).astype(np.float32).tolist()
        self.out_by_segment = [0] * self.n_segments
        self.willing = [0] * len(self.regime)
        self.citizens.do("decide")
        for agency in self.agencies:
            agency.observe()
        self.latest = {
            "trust_mean": self.col_sum[-1] / n,
            "opt_out_rate": sum(self.out_by_segment) / n,
            "data_coverage": float(cover.mean()),
            "service_benefit": self.benefit_sum / n,
            "public_benefit": sharing.public_benefit(self.sharing_plan, cover, represent),
            "breaches": self.breaches_now,
            **{f"willing_{prog.name}": w / n
               for prog, w in zip(self.programmes, self.willing, strict=True)},
        }
        self.datacollector.collect(self)

    def _breach(self, p: int, t: int) -> None:
        """A stochastic breach of programme p: severity drawn as the array model draws it."""
        prm, prog = self.params, self.programmes[p]
        serial = 0  # at most one stochastic breach per programme and step, and no events
        rng = self.streams.generator("severity", t, p, serial)
        sev = breaches.draw_severity(prog.severity, prm.severity_concentration, rng)
        victim_draw = reach_draw = None
        if self.crn:
            victim_draw = self.streams.uniform("victims", t, self.n, p, serial).tolist()
            reach_draw = self.streams.uniform("publicity", t, self.n, p, serial).tolist()
        felt = sev * breaches.surprise(prog.transparency, False, prm)  # no hidden programmes
        self.citizens.do("hit", p, prm.victim_share * sev, prm.victim_weight * felt,
                         prm.media_amplification * felt, victim_draw, reach_draw, prog.publicity)
        self.breaches_now += 1

    def state(self) -> dict[str, np.ndarray]:
        """Trust and choices of every citizen as arrays, in the array model's row order."""
        people = sorted(self.citizens, key=lambda a: a.row)
        return {"trust": np.array([a.trust for a in people]),
                "choice": np.array([a.choice for a in people], dtype=np.int8)}


def _latest(model: MesaReference, name: str) -> float:
    return model.latest[name]


def stress_world() -> list[Programme]:
    """The default programmes made eventful, so a short check runs every branch of the step:
    frequent breaches (salience, losses), an opt-out deadline (prompts), and one programme
    each under opt-in and dynamic consent (joining, leaving again)."""
    progs = [p.changed(breach_rate=20.0) for p in baseline.PROGRAMMES]
    progs[0] = progs[0].changed(deadline=3, deadline_salience=0.5)
    progs[1] = progs[1].changed(consent=Consent.OPT_IN)
    progs[2] = progs[2].changed(consent=Consent.DYNAMIC)
    return progs


#: Campaigns run on the array model before the reference copies it (a week of campaigning
#: just before the start): they make citizens aware and attentive, so that joining, which only
#: attention prompts, happens often enough in a short check. (programme index, strength, reach)
STRESS_CAMPAIGNS = ((1, 0.5, 0.5), (2, 0.5, 0.5))


def crn_check(n: int, steps: int, seed: int) -> dict[str, float]:
    """Step the array model and this reference side by side on common random numbers.

    Uses :func:`stress_world` and :data:`STRESS_CAMPAIGNS`, so that breaches, deadlines,
    campaigns (awareness, attention), every consent regime and both directions of the choice
    take part. Returns the largest per-citizen trust difference, the share of (citizen,
    programme) choices that differ, the largest difference of mean trust in any column and of
    the share willing to share any programme, and the difference of the opt-out rate after
    ``steps`` weeks. Only float rounding separates the two models (float64 here, float32
    there), so all of them should be about zero; a choice whose uniform falls between the two
    models' logit probabilities can differ. ``choice_change_share`` is the share of (citizen,
    programme) choices the array model changed, week by week, over the run: what the mismatch
    share is to be read against.
    """
    array = TrustModel(n, programmes=stress_world(), rng=seed, citizen_agents=False,
                       n_steps=steps)
    for p, strength, reach in STRESS_CAMPAIGNS:
        array.campaign(array.programmes[p].name, strength, reach)
    ref = MesaReference(array, common_random_numbers=True)
    changes = 0
    for _ in range(steps):
        before = array.citizens.choice.copy()
        array.step()
        ref.step()
        changes += int((array.citizens.choice != before).sum())
    got = ref.state()
    trust = array.citizens.trust.astype(np.float64)
    willing = [f"willing_{p.name}" for p in array.programmes]
    return {
        "citizens": n,
        "steps": steps,
        "incidents": len(array.incidents),
        "max_abs_trust_diff": float(np.abs(got["trust"] - trust).max()),
        "choice_mismatch_share": float((got["choice"] != array.citizens.choice).mean()),
        "choice_change_share": changes / array.citizens.choice.size,
        "max_mean_trust_diff": float(np.abs(got["trust"].mean(axis=0) - trust.mean(axis=0)).max()),
        "max_willing_diff": max(abs(ref.latest[k] - array.results.latest(k)) for k in willing),
        "opt_out_rate_diff": abs(ref.latest["opt_out_rate"]
                                 - array.results.latest("opt_out_rate")),
    }
