"""Behavioural parameters shared by all citizens, each with its meaning, range and default.

These are the model's uncertainties (the exogenous X of the XLRM framing), as opposed to the
policy levers that live on each programme. docs/model.md has the table with sources; a test checks
that the two agree. Rates are per step; one step is one week. The network's shape
(:class:`NetworkParams`) is here too, so a scenario is validated without building a network
(sim.network, which needs numba and SciPy).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator


def _p(default: float, lo: float, hi: float, meaning: str, source: str = "[P]", **kw) -> object:
    """A float parameter with its allowed range and source recorded in the schema."""
    return Field(default=default, ge=lo, le=hi, description=meaning,
                 json_schema_extra={"source": source}, **kw)


class TrustParams(BaseModel):
    """Parameters of the five mechanisms; any subset can be passed to ``TrustModel(**params)``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # trust dynamics
    gain_rate: float = _p(0.05, 0.0, 0.5, "trust gained per step per unit of good news or "
                          "benefit above expectation", "[P] SF1, swept")
    loss_aversion: float = _p(4.0, 1.0, 10.0, "losses per unit of bad news relative to gains",
                              "domain.md SF1 (ratio 3-5)")
    drift: float = _p(0.02, 0.0, 0.5, "share of the gap to the citizen's equilibrium trust "
                      "(disposition plus the programmes' attitude effects) closed per step "
                      "(recovery half-life ln2/drift = 35 weeks)",
                      "domain.md SF10 (recovery >= 5-10x damage time)")
    memory_threshold: float = _p(0.12, 0.0, 1.0, "how far below its equilibrium a citizen's "
                                 "trust must fall before its lasting trust (disposition) moves: "
                                 "only large betrayals leave a mark", "[P] brief mechanism 5")
    memory_rate: float = _p(0.03, 0.0, 0.2, "share of the shortfall beyond memory_threshold by "
                            "which lasting trust falls per step", "[P] brief mechanism 5")
    confidence_bound: float = _p(0.3, 0.0, 1.0, "bounded confidence d: neighbours further apart "
                                 "in trust than this do not influence each other",
                                 "Deffuant et al. 2000 (domain.md section 4)")
    influence_rate: float = _p(0.01, 0.0, 0.5, "share of the gap to the week's conversation "
                               "partner closed (Deffuant mu)", "[P], swept")
    salience_fade: float = _p(0.35, 0.01, 1.0, "share of an event's salience lost per step "
                              "(publicity fades)", "[P] trust falls within a few steps (SF1)")
    # breaches, publicity, spillover
    victim_weight: float = _p(2.0, 0.0, 10.0, "salience of a breach for a victim, per unit "
                              "severity")
    media_amplification: float = _p(1.5, 0.0, 10.0, "salience of a breach for a citizen reached "
                                    "by the news, per unit severity", "SARF, Kasperson et al. "
                                    "1988 (domain.md SF6)")
    hidden_multiplier: float = _p(2.0, 1.0, 10.0, "how much more a discovered hidden sharing "
                                  "costs than announced sharing", "domain.md 2.2 and SF6")
    victim_share: float = _p(0.05, 0.0, 1.0, "share of shared records exposed per unit severity")
    recipients_exponent: float = _p(0.5, 0.0, 2.0, "breach hazard grows as n_recipients to "
                                    "this power")
    severity_concentration: float = _p(5.0, 0.5, 100.0, "concentration of the beta "
                                       "distribution of breach severity")
    holder_blame: float = _p(0.3, 0.0, 1.0, "share of an incident's trust cost borne by the "
                             "holder when the recipient is another agency", "domain.md section 5 "
                             "(Royal Free: small spillover to the NHS)")
    general_spill: float = _p(0.5, 0.0, 1.0, "share of any agency's news that reaches general "
                              "trust in public-sector data use", "domain.md SF9")
    agency_spill: float = _p(0.05, 0.0, 1.0, "share of an agency's news that reaches every other "
                             "agency", "domain.md SF9")
    # sharing, benefit and attitudes (privacy calculus)
    expectation_rate: float = _p(0.1, 0.0, 1.0, "share of the gap between benefit received and "
                                 "expected closed per step")
    culture_elasticity: float = _p(0.5, 0.0, 3.0, "elasticity of a holder's willingness to "
                                   "share (the cultural barrier) with public trust in the "
                                   "recipient, relative to the start",
                                   "CDEI 2020: public trust underlies the legal, technical and "
                                   "cultural barriers (domain.md 1.1); [P] value")
    benefit_attitude: float = _p(0.05, 0.0, 1.0, "rise in equilibrium trust per unit benefit of "
                                 "announced sharing for a non-commercial purpose", "domain.md SF2")
    risk_attitude: float = _p(0.15, 0.0, 1.0, "fall in equilibrium trust per unit concern x risk "
                              "of announced sharing", "domain.md SF2, SF3")
    commercial_risk: float = _p(1.5, 1.0, 5.0, "risk multiplier for commercial purposes",
                                "Wellcome 'One-Way Mirror' 2016 (domain.md SF3)")
    control_attitude: float = _p(0.0, 0.0, 1.0, "rise in equilibrium trust per unit concern x "
                                 "perceived control: an optional assumed gain, 0 so that "
                                 "control's trust effect is derived from grievances",
                                 "domain.md SF4; [P]")
    mandate_attitude: float = _p(0.0, 0.0, 1.0, "fall in equilibrium trust per unit concern x "
                                 "mandate x (1 - legitimacy): an optional assumed cost, 0 so "
                                 "that a mandate's cost is derived from grievances",
                                 "[P] brief mechanism 3")
    dashboard_control: float = _p(0.3, 0.0, 1.0, "perceived control a dashboard adds",
                                  "Estonia data tracker (domain.md 2.1)")
    grievance_weight: float = _p(0.3, 0.0, 2.0, "fall in equilibrium trust per unit of unwanted "
                                 "sharing the citizen knows of: records flowing that it would "
                                 "refuse, times the sharing's illegitimacy",
                                 "Epstein 2002 (grievance = hardship x (1 - legitimacy), "
                                 "domain.md section 4); [P] value")
    # consent choice (random utility over the privacy calculus)
    weight_holder: float = _p(0.5, 0.0, 1.0, "weight of trust in the holder in decision trust")
    weight_recipient: float = _p(0.3, 0.0, 1.0, "weight of trust in the recipient")
    weight_general: float = _p(0.2, 0.0, 1.0, "weight of general trust")
    trust_weight: float = _p(8.0, 0.0, 30.0, "utility of sharing per unit of decision trust",
                             "Dinev & Hart 2006 (domain.md SF2); [P] value")
    risk_weight: float = _p(10.0, 0.0, 50.0, "disutility of sharing per unit of concern x "
                            "exposure (what sharing exposes, to whom, for what)",
                            "Dinev & Hart 2006 (domain.md SF2, SF3); [P] value")
    benefit_weight: float = _p(1.0, 0.0, 10.0, "utility of sharing per unit of perceived "
                               "benefit (personal for direct services, public for planning and "
                               "research)", "Dinev & Hart 2006; CDEI tracker W1 (domain.md "
                               "SF2); [P] value")
    legitimacy_weight: float = _p(2.0, 0.0, 10.0, "utility of sharing per unit of procedural "
                                  "legitimacy above 0.5 (public-interest test, oversight, "
                                  "transparency, legal basis)", "Tyler 2006, procedural justice "
                                  "and acceptance; [P] value")
    switching_cost: float = _p(2.0, 0.0, 10.0, "utility a citizen must gain to change a "
                               "recorded choice (status-quo bias; sets hysteresis)",
                               "Samuelson & Zeckhauser 1988; Johnson & Goldstein 2003; [P] value")
    propensity_sd: float = _p(1.0, 0.0, 5.0, "sd of each citizen's own taste for sharing "
                              "(utility units)", "[P] individual heterogeneity of the logit")
    share_intercept: float = _p(-1.1, -10.0, 10.0, "utility constant of a programme whose "
                                "starting opt-out (or opt-in) share is not given",
                                "[fit] the constant fitted to the GP records' starting opt-out "
                                "(-1.08 in the baseline), rounded")
    background_attention: float = _p(0.01, 0.0, 1.0, "weekly attention to a consent choice with "
                                     "no news, deadline or campaign")
    dashboard_friction: float = _p(0.5, 0.0, 1.0, "friction multiplier with a dashboard or "
                                   "dynamic consent")
    word_of_mouth: float = _p(0.1, 0.0, 1.0, "attention added for the week when the "
                              "conversation partner has opted out", "domain.md SF7")
    deadline_lead: float = _p(2.0, 0.1, 52.0, "weeks over which a deadline's prompt builds up")
    # initial population
    initial_trust_sd: float = _p(0.1, 0.0, 0.5, "sd of a citizen's initial trust around the "
                                 "segment and agency mean")
    concern_sd: float = _p(0.1, 0.0, 0.5, "sd of privacy concern around the segment's value")
    need_concentration: float = _p(4.0, 0.5, 100.0, "concentration of the beta distribution "
                                   "of need")
    @model_validator(mode="after")
    def _weights_sum_to_one(self) -> TrustParams:
        total = self.weight_holder + self.weight_recipient + self.weight_general
        if abs(total - 1.0) > 1e-9:
            raise ValueError(
                "weight_holder + weight_recipient + weight_general must equal 1, "
                f"got {total:.4g}"
            )
        return self


class NetworkParams(BaseModel):
    """The network's shape: set under ``network:`` in a scenario, ``TrustModel(network=...)``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    local_ties: int = Field(default=3, ge=0, le=50, description="ties to the nearest citizens "
                            "on each side outside the household (neighbourhood)",
                            json_schema_extra={"source": "[P]"})
    long_range_ties: int = Field(default=1, ge=0, le=20, description="random long-range ties per "
                                 "citizen (small world)", json_schema_extra={"source": "[P]"})
    homophily: float = Field(default=0.5, ge=0, le=1, description="chance that a citizen has "
                             "the attitude segment of the citizen before it in household and "
                             "neighbourhood order, so that like lives beside like",
                             json_schema_extra={"source": "McPherson, Smith-Lovin & Cook 2001 "
                                                "(homophily); [P] value"})
