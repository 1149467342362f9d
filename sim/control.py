"""Citizen control: consent regimes, opting out and back in, and the trust that control buys.

The central feedback loop of the model: low trust turns into opt-outs, which lower coverage and
so benefit. A citizen acts only when trust is below a personal threshold (higher for the privacy
concerned, SF8) *and* something makes the choice salient (news, a deadline, a friend who opted
out), and even then only with the weekly chance that friction allows. Opting back in needs trust
above the threshold plus a margin (hysteresis): exit is sticky (domain.md 2.2).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numba as nb
import numpy as np

from sim.citizens import Citizens
from sim.params import TrustParams
from sim.programmes import Choice, Programme, ProgrammeTable, Regime
from sim.streams import Streams, spread

#: Perceived control by regime, before a dashboard is added: a proposal [P] ordering the regimes
#: by how much say they give (domain.md SF4, control paradox).
CONTROL_LEVEL = {Regime.NONE: 0.0, Regime.OPT_OUT: 0.4, Regime.OPT_IN: 0.7, Regime.DYNAMIC: 1.0}

#: Salience below this is set to zero, so kernels can skip citizens with nothing on their mind.
SALIENCE_FLOOR = 1e-4

_NONE, _OPT_OUT, _OPT_IN, _DYNAMIC = (int(r) for r in Regime)
_DEFAULT, _OUT, _IN = (int(c) for c in Choice)


@nb.njit(cache=True, inline="always")
def consents(regime: int, choice: int) -> bool:
    """Whether the citizen's choice lets data flow under this regime."""
    if regime == _NONE:
        return True
    if regime == _OPT_IN:
        return choice == _IN
    return choice != _OUT


@dataclass(frozen=True)
class ControlPlan:
    """What the consent step reads, derived from the programmes and parameters (rebuilt after a
    policy change). Scalars are float32, as the kernel computes in float32."""

    programmes: tuple[Programme, ...]  # for the deadlines
    holder: np.ndarray
    recipient: np.ndarray
    regime: np.ndarray
    act: np.ndarray  # float32 weekly chance an alerted, willing citizen acts
    rejoin: np.ndarray  # float32 weekly chance a citizen who trusts again opts back in
    w_holder: np.float32
    w_recipient: np.float32
    w_general: np.float32
    theta0: np.float32
    theta_concern: np.float32
    hysteresis: np.float32
    word_of_mouth: np.float32
    fade: np.float32
    deadline_lead: float

    @classmethod
    def build(cls, table: ProgrammeTable, params: TrustParams,
              programmes: Sequence[Programme]) -> ControlPlan:
        f32 = np.float32
        return cls(
            programmes=tuple(programmes), holder=table.holder, recipient=table.recipient,
            regime=table.regime, act=act_rate(table, params).astype(f32),
            rejoin=rejoin_rate(table, params).astype(f32), w_holder=f32(params.weight_holder),
            w_recipient=f32(params.weight_recipient), w_general=f32(params.weight_general),
            theta0=f32(params.opt_out_threshold), theta_concern=f32(params.threshold_concern),
            hysteresis=f32(params.hysteresis), word_of_mouth=f32(params.word_of_mouth),
            fade=f32(params.salience_fade), deadline_lead=params.deadline_lead)


def step(plan: ControlPlan, citizens: Citizens, streams: Streams, t: int, n_segments: int
         ) -> np.ndarray:
    """One week of consent choices, then salience fades; returns the number of citizens opted
    out of at least one programme, by segment."""
    c = citizens
    out_by_segment = np.zeros(n_segments, dtype=np.int64)
    prompt = deadline_prompt(plan.programmes, t, plan.deadline_lead).astype(np.float32)
    decide(c.choice, c.choice.copy(), c.salience, c.trust, c.concern, c.segment, c.partner,
           streams.bits("choice", t, c.n), plan.holder, plan.recipient, plan.regime, plan.act,
           plan.rejoin, prompt, plan.w_holder, plan.w_recipient, plan.w_general, plan.theta0,
           plan.theta_concern, plan.hysteresis, plan.word_of_mouth, plan.fade, out_by_segment)
    return out_by_segment


@nb.njit(cache=True, inline="always")
def decision_trust(trust, i, holder, recipient, w_holder, w_recipient, w_general):
    """The trust a consent choice weighs: holder, recipient and general trust (float32)."""
    return (w_holder * trust[i, holder] + w_recipient * trust[i, recipient]
            + w_general * trust[i, trust.shape[1] - 1])


@nb.njit(cache=True, inline="always")
def threshold_of(concern, theta0, theta_concern):
    """Decision trust below which a citizen will opt out: higher for the privacy concerned."""
    return theta0 + theta_concern * (concern - np.float32(0.5))


def threshold(concern: np.ndarray | float, params: TrustParams) -> np.ndarray | float:
    """:func:`threshold_of` with the parameters' values, in float32 as the kernels compute."""
    c = np.asarray(concern, np.float32)
    out = threshold_of(c.reshape(-1), np.float32(params.opt_out_threshold),
                       np.float32(params.threshold_concern))
    return out.reshape(c.shape) if c.ndim else float(out[0])


def control_level(table: ProgrammeTable, params: TrustParams) -> np.ndarray:
    """Perceived control each programme gives, in [0, 1]."""
    base = np.array([CONTROL_LEVEL[Regime(r)] for r in table.regime])
    return np.minimum(1.0, base + params.dashboard_control * table.dashboard)


def act_rate(table: ProgrammeTable, params: TrustParams) -> np.ndarray:
    """Weekly chance that a citizen who wants to act, and is alerted, does act."""
    eased = table.dashboard | (table.regime == Regime.DYNAMIC)
    return 1.0 - table.friction * np.where(eased, params.dashboard_friction, 1.0)


def rejoin_rate(table: ProgrammeTable, params: TrustParams) -> np.ndarray:
    """Weekly chance that an opted-out citizen whose trust has recovered opts back in."""
    eased = table.dashboard | (table.regime == Regime.DYNAMIC)
    return np.where(eased, params.dashboard_rejoin_rate, params.rejoin_rate)


def attitude_terms(table: ProgrammeTable, params: TrustParams) -> tuple[np.ndarray, np.ndarray]:
    """Shift of equilibrium trust per programme: (for everyone, per unit of concern).

    Perceived control raises trust, more for those who value control (SF4).
    """
    per_concern = params.control_attitude * control_level(table, params) * table.visible
    return np.zeros(len(table)), per_concern


def deadline_prompt(programmes: list[Programme], step: int, lead: float) -> np.ndarray:
    """How strongly each programme's opt-out deadline prompts citizens this step.

    It builds up as ``exp(-(deadline - step) / lead)`` and stops once the deadline has passed,
    or while the programme is paused.
    """
    out = np.zeros(len(programmes))
    for p, prog in enumerate(programmes):
        if prog.active and prog.deadline is not None and step <= prog.deadline:
            out[p] = prog.deadline_salience * np.exp(-(prog.deadline - step) / lead)
    return out


@nb.njit(cache=True)
def decide(choice, previous, salience, trust, concern, segment, partner, draw, holder,
           recipient, regime, act, rejoin, prompt, w_holder, w_recipient, w_general,
           theta0, theta_concern, hysteresis, word_of_mouth, fade, out_by_segment):
    """One week of consent choices for every citizen and programme; then salience fades.

    A citizen whose data flows leaves when decision trust is below the threshold and a draw
    ``u < act * alert``, the alert being ``min(salience + deadline prompt (+ word_of_mouth if the
    partner has opted out), 1)``; one not yet in (opt-in) joins when trust is above threshold
    plus hysteresis, on the same condition; one who opted out comes back when trust is above
    threshold plus hysteresis and ``u < rejoin``. ``draw`` holds one 32-bit word per citizen;
    programme p's uniform is ``u = spread(draw[i], p)``. ``previous`` is the choice array at the
    start of the step, read for the partner so the update is synchronous. ``out_by_segment``
    receives the number of citizens opted out of at least one programme, by segment. Pass
    float32 scalars and arrays (see sim.trust.update).
    """
    n, n_prog = choice.shape
    keep = np.float32(1) - fade
    for i in range(n):
        theta = threshold_of(concern[i], theta0, theta_concern)
        j = partner[i]
        opted_out = False
        for p in range(n_prog):
            r = regime[p]
            if r != _NONE:
                c = choice[i, p]
                u = spread(draw[i], p)  # this programme's own uniform draw
                if c == _OUT:
                    if u < rejoin[p]:
                        tau = decision_trust(trust, i, holder[p], recipient[p], w_holder,
                                             w_recipient, w_general)
                        if tau > theta + hysteresis:
                            c = _IN if r == _OPT_IN else _DEFAULT
                elif u < act[p]:  # cheap test first: most citizens do nothing this week
                    alert = min(salience[i, p] + prompt[p], 1)
                    go = u < act[p] * alert
                    if not go and u < act[p] * min(alert + word_of_mouth, 1):
                        go = j >= 0 and previous[j, p] == _OUT  # only now ask the partner
                    if go:
                        tau = decision_trust(trust, i, holder[p], recipient[p], w_holder,
                                             w_recipient, w_general)
                        if r == _OPT_IN and c == _DEFAULT:
                            if tau > theta + hysteresis:
                                c = _IN
                        elif tau < theta:
                            c = _OUT
                if c != choice[i, p]:
                    choice[i, p] = c
                opted_out |= c == _OUT
            s = salience[i, p]
            if s != 0:  # fade; flush what is too faint to matter to exactly zero
                salience[i, p] = s * keep if s > SALIENCE_FLOOR else 0
        if opted_out:
            out_by_segment[segment[i]] += 1


@nb.njit(cache=True)
def consent_mask(regime, choices):
    """Whether each citizen's choice lets data flow under this regime (one programme)."""
    out = np.empty(choices.shape[0], dtype=np.bool_)
    for i in range(choices.shape[0]):
        out[i] = consents(regime, choices[i])
    return out


@nb.njit(cache=True)
def _margins(trust, concern, holder, recipient, w_holder, w_recipient, w_general, theta0,
             theta_concern, out):
    """Each citizen's decision trust minus threshold for one programme (float32)."""
    for i in range(trust.shape[0]):
        out[i] = (decision_trust(trust, i, holder, recipient, w_holder, w_recipient, w_general)
                  - threshold_of(concern[i], theta0, theta_concern))


def initial_choices(
    citizens: Citizens, table: ProgrammeTable, p: int, programme: Programme,
    params: TrustParams, rng: np.random.Generator,
) -> None:
    """Set the opt-outs (or opt-ins) of programme ``p`` that exist before the run starts.

    The ``initial_opt_out`` share with the lowest margin of decision trust over threshold (plus
    noise) have opted out; under opt-in, the ``initial_opt_in`` share with the highest margin
    have opted in. So the initial stock, a fact from data (e.g. 2.77% national opt-out), sits
    with those most inclined to it.
    """
    regime = table.regime[p]
    share = programme.initial_opt_in if regime == Regime.OPT_IN else programme.initial_opt_out
    k = round(share * citizens.n)
    if regime == Regime.NONE or k == 0:
        return
    f32 = np.float32
    margin = np.empty(citizens.n, f32)
    _margins(citizens.trust, citizens.concern, table.holder[p], table.recipient[p],
             f32(params.weight_holder), f32(params.weight_recipient), f32(params.weight_general),
             f32(params.opt_out_threshold), f32(params.threshold_concern), margin)
    margin += rng.normal(0.0, params.initial_choice_noise, citizens.n)
    if regime == Regime.OPT_IN:
        citizens.choice[np.argpartition(-margin, k - 1)[:k], p] = Choice.IN
    else:
        citizens.choice[np.argpartition(margin, k - 1)[:k], p] = Choice.OUT
