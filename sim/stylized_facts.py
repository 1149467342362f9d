"""The seven stylized facts of the model brief as runnable experiments.

Each ``sfN_*`` function runs the model under one controlled comparison and returns the time
series it is judged on (pandas DataFrames, one per arm). The tests in tests/test_stylized_facts.py
assert the fact over several seeds; experiments/stylized_facts.py draws one figure per fact for
docs/figures. Keeping the set-ups here means the figures show exactly what is tested.

Every experiment starts from the baseline world with stochastic breaches and discoveries switched
off, so the only shocks are the scheduled ones and the arms share a breach history.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from sim import baseline, sharing
from sim.events import Breach, Event, OptOutDeadline, PolicyChange, Scandal
from sim.model import TrustModel
from sim.programmes import Choice, Programme, Purpose

N_CITIZENS = 5_000


def calm_programmes() -> list[Programme]:
    """The baseline programmes with no stochastic breaches or discoveries."""
    return [p.changed(breach_rate=0.0, discovery_rate=0.0) for p in baseline.PROGRAMMES]


def run(steps: int, events: Sequence[Event] = (), programmes: Sequence[Programme] | None = None,
        n: int = N_CITIZENS, seed: int = 1, **params: Any) -> pd.DataFrame:
    """Run the calm baseline (or ``programmes``) with ``events``; return the time series."""
    model = TrustModel(n, programmes=programmes or calm_programmes(), events=events, rng=seed,
                       citizen_agents=False, **params)
    for _ in range(steps):
        model.step()
    return model.timeseries()


def breach_series(steps: Sequence[int], severity: float = 0.6, publicity: float = 0.8,
                  programme: str = "gp_records") -> list[Event]:
    """A fixed breach history: the same breaches at the same steps in every arm."""
    return [Breach(step=s, programme=programme, severity=severity, publicity=publicity)
            for s in steps]


def fall_and_recovery(series: pd.Series, event_step: int) -> tuple[int, float, float]:
    """(steps from the event to the trough, loss at the trough, steps from the trough until half
    the loss is regained; inf if never)."""
    x = series.to_numpy()
    before = x[event_step - 1]
    trough = event_step + int(np.argmin(x[event_step:]))
    loss = before - x[trough]
    regained = np.flatnonzero(x[trough:] >= x[trough] + loss / 2)
    half = float(regained[0]) if len(regained) else float("inf")
    return trough - event_step, float(loss), half


# 1. one publicised breach: a fast fall, a slow recovery
def sf1_breach_recovery(seed: int = 1, n: int = N_CITIZENS, steps: int = 156,
                        event_step: int = 10) -> pd.DataFrame:
    return run(steps, breach_series([event_step], severity=0.5, publicity=0.9), n=n, seed=seed)


# 2. low trust -> opt-outs, lower coverage and benefit; no shocks -> all stays high
def sf2_low_trust(seed: int = 1, n: int = N_CITIZENS, steps: int = 104) -> dict[str, pd.DataFrame]:
    shocks = [*breach_series([10, 40, 70]), *breach_series([25, 55], programme="care_record")]
    return {"no shocks": run(steps, n=n, seed=seed),
            "repeated breaches": run(steps, shocks, n=n, seed=seed)}


# 3. a publicised controversy with an opt-out deadline, as strong as the 2021 GP story: a
# bunched surge, still single digits
def sf3_opt_out_surge(seed: int = 1, n: int = N_CITIZENS, steps: int = 52, notice: int = 5,
                      deadline: int = 11, severity: float = 0.4,
                      publicity: float = 0.9) -> pd.DataFrame:
    """The scandal's severity 0.4 is the one fitted by hand to the 2021 June opt-out
    (scenarios/gp_records.yaml); ``severity`` and ``publicity`` set a stronger or weaker one."""
    events = [Scandal(step=notice, programme="gp_records", severity=severity,
                      publicity=publicity),
              OptOutDeadline(step=notice, programme="gp_records", deadline=deadline,
                             salience=0.6)]
    return run(steps, events, n=n, seed=seed)


# 4. citizen control under the same breach history
def sf4_citizen_control(seed: int = 1, n: int = N_CITIZENS, steps: int = 104,
                        ) -> dict[tuple[str, str], pd.DataFrame]:
    out = {}
    for trust_level, shocks in (("high trust", []), ("low trust", breach_series([10, 40, 70]))):
        for regime in ("none", "dynamic"):
            policy = PolicyChange(step=1, programme="gp_records",
                                  changes={"consent": regime, "dashboard": regime == "dynamic"})
            out[trust_level, regime] = run(steps, [policy, *shocks], n=n, seed=seed)
    return out


# 5. mandates: more coverage and benefit; trust cost falls with legitimacy
def sf5_mandates(seed: int = 1, n: int = N_CITIZENS, steps: int = 104,
                 legitimacy: Sequence[float] = (0.1, 0.5, 0.9)) -> dict[str, pd.DataFrame]:
    shocks = breach_series([10, 40, 70])
    out = {"no mandate": run(steps, shocks, n=n, seed=seed)}
    for level in legitimacy:
        mandate = PolicyChange(step=1, programme="gp_records", changes={
            "mandate": {"strength": 0.8, "public_interest_test": level, "oversight": level},
            "transparency": level})
        out[f"legitimacy {level}"] = run(steps, [mandate, *shocks], n=n, seed=seed)
    return out


# 6. the privacy-concerned segments opt out first and most: the SF3 run, read by segment
def sf6_segments(seed: int = 1, n: int = N_CITIZENS, steps: int = 30) -> pd.DataFrame:
    return sf3_opt_out_surge(seed=seed, n=n, steps=steps)


# 7. who holds the data matters; sharing with private recipients costs more trust
def sf7_recipients(seed: int = 1, n: int = N_CITIZENS, steps: int = 104,
                   recipients: Sequence[str] = ("university", "supplier", "cra"),
                   start: int = 5) -> dict[str, pd.DataFrame]:
    out = {}
    for recipient in recipients:
        new = Programme(name="new_sharing", holder="council", recipient=recipient,
                        consent="none", sensitivity=0.7, security=0.5, transparency=0.5,
                        benefit=0.5, breach_rate=0.0, discovery_rate=0.0, active=False,
                        announced=False)  # not yet started, so not yet known
        out[recipient] = run(steps, [PolicyChange(step=start, programme="new_sharing",
                                                  changes={"active": True, "announced": True})],
                             programmes=[*calm_programmes(), new], n=n, seed=seed)
    return out


# 4b. granular dynamic consent: a citizen uneasy about commercial re-use refuses that use only
GRANULAR_USES = {"planning_research": 0.8, "commercial": 0.2}


def sf4_granular_consent(seed: int = 1, n: int = N_CITIZENS, steps: int = 104,
                         scandal: int = 10) -> dict[str, pd.DataFrame]:
    """GP records used 80% for planning and research and 20% commercially, under the
    all-or-nothing opt-out and under dynamic consent by purpose (both with a dashboard, so
    acting is as easy), from the same observed starting share and through the same scandal.

    Each arm's time series gains ``research_coverage`` and ``commercial_coverage``, the share
    of the records used for that purpose that flow (under opt-out, a citizen who opted out
    withdraws both), and ``gp_opted_out``, the share opted out of GP records altogether; all
    three at the end of each week, like ``refusing_<purpose>``.
    """
    out = {}
    for regime in ("opt_out", "dynamic"):
        programmes = [p.changed(uses=GRANULAR_USES, consent=regime, dashboard=True)
                      if p.name == "gp_records" else p for p in calm_programmes()]
        model = TrustModel(n, programmes=programmes, rng=seed, citizen_agents=False,
                           events=[Scandal(step=scandal, programme="gp_records", severity=0.5,
                                           publicity=0.9)])
        p = model.programme_index("gp_records")
        cover: dict[str, list[float]] = {"planning_research": [], "commercial": [], "out": []}
        for t in range(steps + 1):
            if t:
                model.step()
            cover["planning_research"].append(use_coverage(model, p, "planning_research"))
            cover["commercial"].append(use_coverage(model, p, "commercial"))
            cover["out"].append(float((model.citizens.choice[:, p] == Choice.OUT).mean()))
        frame = model.timeseries()
        frame["research_coverage"] = cover["planning_research"]
        frame["commercial_coverage"] = cover["commercial"]
        frame["gp_opted_out"] = cover["out"]
        out[regime] = frame
    return out


def use_coverage(model: TrustModel, p: int, purpose: str) -> float:
    """Share of programme ``p``'s records used for ``purpose`` that flow now: the flow of
    sim.sharing.flow with that use alone."""
    plan, c = model.plans.sharing, model.citizens
    k = [q.value for q in Purpose].index(purpose)
    one_use = np.zeros((1, plan.uses.shape[1]))
    one_use[0, k] = 1.0
    refused = (c.refused[:, p:p + 1] & (1 << k)).astype(np.int8)
    flow = np.empty(c.n)
    sharing._flow_column(c.choice[:, p], refused, plan.regime[p], one_use,
                         plan.flow_consent[p], plan.flow_refused[p], flow)
    return float(flow.mean())


# 7b. stated willingness by recipient, against the PIONEER survey (held out)
PIONEER_RECIPIENTS = {"nhs": "nhs", "academia": "university", "health companies": "supplier"}


def sf7_willingness_by_recipient(seed: int = 1, n: int = N_CITIZENS) -> dict[str, float]:
    """Share of citizens willing to share their GP records for planning and research (utility
    of sharing positive, the output ``willing_<programme>``) when the recipient is the NHS
    itself, a university or a private company, at the start of the calm baseline.

    Each recipient is a copy of ``gp_records`` that differs only in its recipient, with no
    starting share (so the same utility constant, ``share_intercept``), inactive and
    unannounced, so that it changes nothing else in the world. The keys are the PIONEER
    survey's categories (docs/model.md 6), none of whose shares was used to set anything.
    """
    gp = next(p for p in calm_programmes() if p.name == "gp_records")
    extra = [gp.changed(name=f"to_{agency}", recipient=agency, initial_opt_out=None,
                        active=False, announced=False)
             for agency in PIONEER_RECIPIENTS.values()]
    model = TrustModel(n, programmes=[*calm_programmes(), *extra], rng=seed,
                       citizen_agents=False)
    model.step()
    first = model.timeseries().iloc[1]
    return {label: float(first[f"willing_to_{agency}"])
            for label, agency in PIONEER_RECIPIENTS.items()}
