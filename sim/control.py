"""Citizen control: consent regimes and every citizen's consent choice.

The central feedback loop of the model: low trust turns into opt-outs, which lower coverage and
so benefit. Each citizen's choice for each programme is a random-utility (logit) decision over the
privacy calculus (Dinev & Hart 2006, domain.md SF2): the utility of sharing rises with decision
trust and perceived benefit and falls with perceived risk, more for the privacy concerned, plus a
taste of the citizen's own. Every citizen responds to trust, with a strength set by its
attitudes; none waits below a threshold.

Acting needs attention (news, a deadline, a campaign, a partner who opted out, or rarely nothing
at all) and effort (friction), and changing a recorded choice costs a switching cost (status-quo
bias), which makes exit sticky. The starting state is the behavioural equilibrium of this choice
process: each citizen starts out with the stationary probability of its own two-state chain, so
a calm world stays where it starts.

After the week's choices, each citizen's grievances are brought up to date: records of a public
programme it knows of that flow although it would refuse them, weighted by the sharing's
illegitimacy, and softened by the say the regime gives it where it could refuse and has not.
They lower its trust target (sim.trust), so what control and mandates do to trust is derived.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numba as nb
import numpy as np
from scipy.optimize import brentq

from sim import population, sharing
from sim.citizens import Citizens
from sim.intrinsics import at_most_word, trailing_zeros
from sim.parallel import SERIAL, InOrder, Pool, copy_into
from sim.params import TrustParams
from sim.population import cell_of, column_words, opted_out_word
from sim.programmes import (
    PURPOSES,
    Choice,
    Programme,
    ProgrammeTable,
    Purpose,
    Regime,
)
from sim.sharing import consents, holds
from sim.streams import Streams, spread

if TYPE_CHECKING:
    from sim.model import TrustModel

#: Perceived control by regime, before a dashboard is added: a proposal [P] ordering the regimes
#: by how much say they give (domain.md SF4, control paradox).
CONTROL_LEVEL = {Regime.NONE: 0.0, Regime.OPT_OUT: 0.4, Regime.OPT_IN: 0.7, Regime.DYNAMIC: 1.0}

#: Citizens per block of :func:`_attitudes` and :func:`decide`: the block's rows stay in cache
#: while each programme's column loop runs over them.
BLOCK = 1024

#: Citizens per span of :func:`_attitudes`' pass over a block's cells, whose per-programme
#: values repeat every ``LANES * n_programmes`` cells.
LANES = 16

#: Salience and attention below this are set to zero, so kernels can skip citizens with nothing
#: on their mind.
SALIENCE_FLOOR = 1e-4
#: The largest float32 not above :data:`SALIENCE_FLOOR`: for a float32 ``s``, ``s > _FLOOR32``
#: exactly when ``float64(s) > SALIENCE_FLOOR``.
_FLOOR32 = np.float32(SALIENCE_FLOOR)
if float(_FLOOR32) > SALIENCE_FLOOR:  # rounded up to the nearest float32: take the one below
    _FLOOR32 = np.nextafter(_FLOOR32, np.float32(0))

#: Values per span of :func:`_fade`'s test for anything to fade.
FADE_SPAN = 256

_NONE, _OPT_OUT, _OPT_IN, _DYNAMIC = (int(r) for r in Regime)

_DEFAULT, _OUT, _IN = (int(c) for c in Choice)


@dataclass(frozen=True)
class ControlPlan:
    """What the consent step reads, derived from the programmes, the parameters and each
    programme's utility constant (rebuilt after a policy change). Scalars are float32, as the
    kernel computes in float32."""

    programmes: tuple[Programme, ...]  # for the deadlines
    holder: np.ndarray
    recipient: np.ndarray
    regime: np.ndarray
    act: np.ndarray  # float32 weekly chance an attentive citizen gets round to acting
    constant: np.ndarray  # float32 utility constant per programme (fitted at the start)
    exposure: np.ndarray  # float32 what sharing exposes, as citizens see it
    benefit_direct: np.ndarray  # float32 personal benefit per unit of need (direct services)
    benefit_public: np.ndarray  # float32 public benefit (planning and research)
    used: np.ndarray  # int8 bitmask of the purposes each programme uses its records for
    main: np.ndarray  # int64 index of each programme's own purpose (keeps today's uniforms)
    uses: np.ndarray  # float64 P x 3 share of the records used per purpose
    exposure_k: np.ndarray  # float32 P x 3 exposure of each use
    benefit_direct_k: np.ndarray  # float32 P x 3 personal benefit per unit of need, per use
    benefit_public_k: np.ndarray  # float32 P x 3 public benefit, per use
    legitimacy: np.ndarray  # float32 procedural legitimacy above 0.5
    illegitimacy: np.ndarray  # float32 1 - procedural legitimacy (weighs a grievance)
    visible: np.ndarray  # bool the public knows of the programme (announced or revealed)
    unheard: np.ndarray  # float32 1 - perceived control (grievance of one who could refuse)
    flow_consent: np.ndarray  # float64 share flowing for a consenting citizen (sim.sharing)
    flow_refused: np.ndarray  # float64 share flowing for one who refused (a mandate)
    member: np.ndarray  # bool P x cells: the catchment's demographic cells (sim.catchment)
    subject_share: np.ndarray  # float64 share of their citizens whose records it holds
    subject_key: np.ndarray  # int64 key of the membership draws
    w_holder: np.float32
    w_recipient: np.float32
    w_general: np.float32
    trust_weight: np.float32
    risk_weight: np.float32
    benefit_weight: np.float32
    legitimacy_weight: np.float32
    switching_cost: np.float32
    background: np.float32
    word_of_mouth: np.float32
    fade: np.float32
    deadline_lead: float

    @classmethod
    def build(cls, table: ProgrammeTable, params: TrustParams,
              programmes: Sequence[Programme], constant: np.ndarray) -> ControlPlan:
        f32 = np.float32
        value = table.benefit * table.data_quality
        direct_k = np.array([k is Purpose.DIRECT_SERVICE for k in PURPOSES], float)
        public_k = np.array([k is Purpose.PLANNING_RESEARCH for k in PURPOSES], float)
        used = ((table.uses > 0) * (1 << np.arange(len(PURPOSES)))).sum(axis=1)
        return cls(
            programmes=tuple(programmes), holder=table.holder, recipient=table.recipient,
            regime=table.regime, act=act_rate(table, params).astype(f32),
            constant=np.asarray(constant, f32),
            exposure=sharing.exposure(table, params).astype(f32),
            benefit_direct=(value * (table.uses @ direct_k)).astype(f32),
            benefit_public=(value * (table.uses @ public_k)).astype(f32),
            used=used.astype(np.int8), main=table.main, uses=table.uses,
            exposure_k=sharing.exposure_by_purpose(table, params).astype(f32),
            benefit_direct_k=(value[:, None] * direct_k[None, :]).astype(f32),
            benefit_public_k=(value[:, None] * public_k[None, :]).astype(f32),
            legitimacy=(table.legitimacy - 0.5).astype(f32),
            illegitimacy=(1.0 - table.legitimacy).astype(f32), visible=table.visible.copy(),
            unheard=(1.0 - control_level(table, params)).astype(f32),
            flow_consent=sharing.flow_weight(table)[0], flow_refused=sharing.flow_weight(table)[1],
            member=table.member, subject_share=table.subject_share,
            subject_key=table.subject_key,
            w_holder=f32(params.weight_holder), w_recipient=f32(params.weight_recipient),
            w_general=f32(params.weight_general), trust_weight=f32(params.trust_weight),
            risk_weight=f32(params.risk_weight), benefit_weight=f32(params.benefit_weight),
            legitimacy_weight=f32(params.legitimacy_weight),
            switching_cost=f32(params.switching_cost),
            background=f32(params.background_attention), word_of_mouth=f32(params.word_of_mouth),
            fade=f32(params.salience_fade), deadline_lead=params.deadline_lead)

    def utilities(self, citizens: Citizens, p: int) -> np.ndarray:
        """Every citizen's utility of sharing programme ``p``'s records now (float32)."""
        out = np.empty(citizens.n, np.float32)
        _utilities(*self._utility_args(citizens), p, out)
        return out

    def purpose_utilities(self, citizens: Citizens, p: int, k: int) -> np.ndarray:
        """Every citizen's utility of sharing programme ``p``'s records for purpose ``k``."""
        out = np.empty(citizens.n, np.float32)
        _purpose_utilities(*self._utility_args(citizens), self.exposure_k, self.benefit_direct_k,
                           self.benefit_public_k, p, k, out)
        return out

    def attitudes(self, citizens: Citizens, culture: np.ndarray | None = None,
                  pool: Pool = SERIAL) -> np.ndarray:
        """Count the willing per programme and write every citizen's grievances (see
        :func:`_attitudes`), with flows scaled by ``culture`` as this week's sharing was
        (sim.sharing.SharingPlan.culture); returns the counts. Chunks of citizens run on
        ``pool`` (sim.parallel), each counting into its own row."""
        c = citizens
        consent, refuse = self.flow_consent, self.flow_refused
        if culture is not None:
            consent, refuse = consent * culture, refuse * culture
        ranges = pool.ranges(c.n)
        counts = np.zeros((len(ranges), len(self.regime)), dtype=np.int64)
        codes = population.codes(c)

        def chunk(k: int, start: int, stop: int) -> None:
            rows = slice(start, stop)
            _attitudes(*self._utility_args(c, rows), c.choice[rows], c.refused[rows],
                       c.aware[rows], self.visible, self.unheard, self.regime, self.uses,
                       consent, refuse, self.illegitimacy, counts[k], c.grievance[rows],
                       *(code[rows] for code in codes), self.member, self.subject_share,
                       self.subject_key, self.plain, start)

        pool.run(chunk, ranges)
        return counts.sum(axis=0)

    @cached_property
    def dynamic(self) -> bool:
        """Whether any programme is under dynamic consent."""
        return bool((self.regime == _DYNAMIC).any())

    @cached_property
    def plain(self) -> np.ndarray:
        """Per programme: no dynamic consent and a catchment of everyone, which the grievance
        pass takes in its column loops (sim.sharing.plain_programmes)."""
        return sharing.plain_programmes(self.regime, self.subject_share, self.member)

    def _utility_args(self, c: Citizens, rows: slice = slice(None)) -> tuple:
        return (c.trust[rows], c.concern[rows], c.propensity[rows], c.need[rows], self.holder,
                self.recipient,
                self.constant, self.exposure, self.benefit_direct, self.benefit_public,
                self.legitimacy, self.w_holder, self.w_recipient, self.w_general,
                self.trust_weight, self.risk_weight, self.benefit_weight,
                self.legitimacy_weight)


def step(plan: ControlPlan, citizens: Citizens, streams: Streams, t: int, n_segments: int,
         culture: np.ndarray | None = None, pool: Pool = SERIAL,
         previous: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """One week of consent choices, then salience and attention fade; then each citizen's
    grievances are brought up to date with the choices made (read by next week's trust step).

    Returns the number of citizens opted out of at least one programme, by segment, and the
    number of citizens whose utility favours sharing, by programme (their stated willingness).
    Chunks of citizens decide on ``pool`` (sim.parallel), each with its own span of the draws
    (sim.streams.Streams.bits_span), reading others' choices only from the copy made at the
    start, into ``previous`` (a buffer of the choices' shape kept between weeks; None: a new
    one, as when it has another shape), on the pool.
    """
    c = citizens
    prompt = deadline_prompt(plan.programmes, t, plan.deadline_lead).astype(np.float32)
    if previous is None or previous.shape != c.choice.shape:
        previous = np.empty_like(c.choice)
    previous = copy_into(pool, c.choice, previous)
    act = plan.act
    dynamic = plan.dynamic
    previous_refused = (copy_into(pool, c.refused, np.empty_like(c.refused)) if dynamic
                        else c.refused)
    if dynamic:  # by purpose; decide then only fades and counts them
        act = np.where(plan.regime == _DYNAMIC, np.float32(0), plan.act)
    ranges = pool.ranges(c.n)
    out_by_segment = np.zeros((len(ranges), n_segments), dtype=np.int64)

    def chunk(k: int, start: int, stop: int) -> None:
        rows = slice(start, stop)
        draw = streams.bits_span("choice", t, start, stop)  # this chunk's draws
        if dynamic:
            decide_dynamic(c.choice[rows], previous, c.refused[rows], previous_refused,
                           plan.used, plan.main, c.aware[rows], c.salience[rows],
                           c.attention[rows], c.partner[rows], draw, c.trust[rows],
                           c.concern[rows], c.propensity[rows], c.need[rows], plan.holder,
                           plan.recipient, plan.constant, plan.exposure_k,
                           plan.benefit_direct_k, plan.benefit_public_k, plan.legitimacy,
                           plan.w_holder, plan.w_recipient, plan.w_general, plan.trust_weight,
                           plan.risk_weight, plan.benefit_weight, plan.legitimacy_weight,
                           plan.regime, plan.act, prompt, plan.switching_cost, plan.background,
                           plan.word_of_mouth)
        decide(c.choice[rows], previous, c.aware[rows], c.salience[rows], c.attention[rows],
               c.segment[rows], c.partner[rows], draw, *plan._utility_args(c, rows),
               plan.regime, act, prompt, plan.switching_cost, plan.background,
               plan.word_of_mouth, plan.fade, out_by_segment[k])

    pool.run(chunk, ranges)
    return out_by_segment.sum(axis=0), plan.attitudes(c, culture, pool)


# ------------------------------------------------------------------ the choice
@nb.njit(cache=True, inline="always")
def decision_trust(trust, i, holder, recipient, w_holder, w_recipient, w_general):
    """The trust a consent choice weighs: holder, recipient and general trust (float32)."""
    return trust_weighed(trust[i, holder], trust[i, recipient], trust[i, trust.shape[1] - 1],
                         w_holder, w_recipient, w_general)


@nb.njit(cache=True, inline="always")
def trust_weighed(t_holder, t_recipient, t_general, w_holder, w_recipient, w_general):
    """:func:`decision_trust` from the three trust values (for the column loops of
    :func:`_attitudes`)."""
    return w_holder * t_holder + w_recipient * t_recipient + w_general * t_general


@nb.njit(cache=True, inline="always")
def utility(trust, concern, propensity, need, holder, recipient, constant, exposure,
            benefit_direct, benefit_public, legitimacy, w_holder, w_recipient, w_general,
            trust_weight, risk_weight, benefit_weight, legitimacy_weight, i, p):
    """Citizen i's utility of sharing programme p's records (float32): the privacy calculus
    and the programme's procedural legitimacy,

    ``U = constant_p + beta_T tau_ip - beta_R c_i x_p + beta_B (n_i b_direct_p + b_public_p)
    + beta_L (L_p - 0.5) + eta_i``, with ``x_p`` the programme's exposure.
    """
    return utility_of(trust, concern, propensity, need, holder, recipient, constant,
                      exposure[p], benefit_direct[p], benefit_public[p], legitimacy, w_holder,
                      w_recipient, w_general, trust_weight, risk_weight, benefit_weight,
                      legitimacy_weight, i, p)


@nb.njit(cache=True, inline="always")
def utility_of(trust, concern, propensity, need, holder, recipient, constant, x, b_direct,
               b_public, legitimacy, w_holder, w_recipient, w_general, trust_weight,
               risk_weight, benefit_weight, legitimacy_weight, i, p):
    """The utility of :func:`utility` for a given exposure ``x`` and benefits: those of the
    programme (use-weighted) or of one of its uses (dynamic consent, ``U_ipk``)."""
    tau = decision_trust(trust, i, holder[p], recipient[p], w_holder, w_recipient, w_general)
    return utility_value(tau, concern[i], need[i], propensity[i], constant[p], x, b_direct,
                         b_public, legitimacy[p], trust_weight, risk_weight, benefit_weight,
                         legitimacy_weight)


@nb.njit(cache=True, inline="always")
def utility_value(tau, concern, need, propensity, constant, x, b_direct, b_public, legitimacy,
                  trust_weight, risk_weight, benefit_weight, legitimacy_weight):
    """The utility from one citizen's and one programme's values (``tau`` the decision
    trust): the one formula that :func:`utility_of` and the column loops of
    :func:`_attitudes` share (float32, in this order of operations)."""
    gain = need * b_direct + b_public
    return (constant + trust_weight * tau - risk_weight * concern * x
            + benefit_weight * gain + legitimacy_weight * legitimacy + propensity)


@nb.njit(cache=True, inline="always")
def logistic(x):
    """The logistic function in float32 (the probability of a logit choice)."""
    return np.float32(1) / (np.float32(1) + np.exp(-x))


@nb.njit(cache=True)
def _utilities(trust, concern, propensity, need, holder, recipient, constant, exposure,
               benefit_direct, benefit_public, legitimacy, w_holder, w_recipient, w_general,
               trust_weight, risk_weight, benefit_weight, legitimacy_weight, p, out):
    for i in range(trust.shape[0]):
        out[i] = utility(trust, concern, propensity, need, holder, recipient, constant, exposure,
                         benefit_direct, benefit_public, legitimacy, w_holder, w_recipient,
                         w_general, trust_weight, risk_weight, benefit_weight,
                         legitimacy_weight, i, p)


@nb.njit(cache=True)
def _purpose_utilities(trust, concern, propensity, need, holder, recipient, constant, exposure,
                       benefit_direct, benefit_public, legitimacy, w_holder, w_recipient,
                       w_general, trust_weight, risk_weight, benefit_weight, legitimacy_weight,
                       exposure_k, benefit_direct_k, benefit_public_k, p, k, out):
    for i in range(trust.shape[0]):
        out[i] = utility_of(trust, concern, propensity, need, holder, recipient, constant,
                            exposure_k[p, k], benefit_direct_k[p, k], benefit_public_k[p, k],
                            legitimacy, w_holder, w_recipient, w_general, trust_weight,
                            risk_weight, benefit_weight, legitimacy_weight, i, p)


@nb.njit(cache=True, nogil=True)
def _attitudes(trust, concern, propensity, need, holder, recipient, constant, exposure,
               benefit_direct, benefit_public, legitimacy, w_holder, w_recipient, w_general,
               trust_weight, risk_weight, benefit_weight, legitimacy_weight, choice, refused,
               aware, visible, unheard, regime, uses, flow_consent, flow_refused, illegitimacy,
               willing, grievance, region, sex, age_band, deprivation, member, subject_share,
               subject_key, plain, first):
    """Per programme, how many citizens' utility of sharing is positive (their stated
    willingness); per citizen and programme, the grievance of unwanted sharing: the share of its
    records that flows although its utility of sharing is negative, times the sharing's
    illegitimacy (Epstein's grievance = hardship x (1 - legitimacy)). Only sharing the citizen
    knows of aggrieves it: the programme is public (announced or revealed) and the citizen is
    aware of it. Records that flow although the citizen refused (a mandate) or could not refuse
    (no choice) aggrieve in full; one who could refuse and has not is aggrieved in proportion to
    how little say the regime gives (1 - perceived control, :func:`control_level`). Only the
    records of the programme's catchment flow (sim.catchment), so no one else is aggrieved.

    Blocks of :data:`BLOCK` citizens. For the programmes without dynamic consent whose catchment
    is everyone (most; ``plain``, :attr:`ControlPlan.plain`), the block's trust columns are
    first copied out contiguous (:func:`_copy_columns`), so that each programme's utilities are
    a vectorised loop over the block; who is willing is then spread out cell by cell, and one
    vectorised, branch-free pass over the block's cells in memory order writes the grievances:
    for an aware citizen who is not willing, the programme's grievance for a choice IN, OUT or
    other (:func:`_grievance_of`, computed once per call), selected by masks of bits. Any other
    programme goes cell by cell afterwards.
    Each (citizen, programme) is computed by the same operations as before and the counts are
    integers, so the order changes no number. The arrays may be the slice of citizens from
    ``first`` on (whose number keys the catchment's membership draws).
    """
    n_prog = willing.shape[0]
    n, n_cols = trust.shape
    willing[:] = 0
    # the grievance of an aware citizen who is not willing depends on the programme and on
    # whether its choice is IN, OUT or another: per cell of a span of LANES citizens' rows
    span = LANES * n_prog
    by_in = np.empty(span, np.float32)
    by_out, by_other = np.empty_like(by_in), np.empty_like(by_in)
    for k in range(span):
        p = k % n_prog
        by_in[k] = _grievance_of(_IN, regime[p], visible[p], flow_consent[p], flow_refused[p],
                                 unheard[p], illegitimacy[p])
        by_out[k] = _grievance_of(_OUT, regime[p], visible[p], flow_consent[p],
                                  flow_refused[p], unheard[p], illegitimacy[p])
        by_other[k] = _grievance_of(_DEFAULT, regime[p], visible[p], flow_consent[p],
                                    flow_refused[p], unheard[p], illegitimacy[p])
    needed = np.zeros(n_cols, np.bool_)  # the trust columns the plain programmes weigh
    needed[n_cols - 1] = True
    for p in range(n_prog):
        if plain[p]:
            needed[holder[p]] = True
            needed[recipient[p]] = True
    columns = np.empty((n_cols, BLOCK), np.float32)  # the block's trust, column by column
    own = np.empty((3, BLOCK), np.float32)  # and its concern, need and propensity
    by_programme = np.zeros((n_prog, BLOCK), np.uint8)  # willing, programme by programme
    by_cell = np.zeros(BLOCK * n_prog, np.uint8)  # willing, cell by cell (row-major)
    choice_flat, aware_flat = choice.reshape(choice.size), aware.reshape(aware.size)
    grievance_bits = grievance.reshape(grievance.size).view(np.uint32)
    in_bits, out_bits = by_in.view(np.uint32), by_out.view(np.uint32)
    other_bits = by_other.view(np.uint32)
    for start in range(0, n, BLOCK):
        stop = min(start + BLOCK, n)
        m = stop - start
        _copy_columns(trust, start, stop, needed, columns, concern, need, propensity, own)
        t_general = columns[n_cols - 1]
        concern_b, need_b, propensity_b = own[0], own[1], own[2]
        for p in range(n_prog):
            if not plain[p]:
                continue
            t_holder, t_recipient = columns[holder[p]], columns[recipient[p]]
            constant_p, x, b_direct = constant[p], exposure[p], benefit_direct[p]
            b_public, legitimacy_p = benefit_public[p], legitimacy[p]
            willing_p = by_programme[p]
            for j in range(m):
                tau = trust_weighed(t_holder[j], t_recipient[j], t_general[j], w_holder,
                                    w_recipient, w_general)
                u = utility_value(tau, concern_b[j], need_b[j], propensity_b[j], constant_p, x,
                                  b_direct, b_public, legitimacy_p, trust_weight, risk_weight,
                                  benefit_weight, legitimacy_weight)
                willing_p[j] = u > 0
            count = 0
            for j in range(m):
                count += willing_p[j]
                by_cell[j * n_prog + p] = willing_p[j]
            willing[p] += count
        # every cell of the block, row-major: the aware who are not willing are aggrieved
        first_cell = start * n_prog
        cells = m * n_prog
        for lead in range(0, cells, span):
            width = min(span, cells - lead)
            choice_s = choice_flat[first_cell + lead:first_cell + lead + width]
            aware_s = aware_flat[first_cell + lead:first_cell + lead + width]
            willing_s = by_cell[lead:lead + width]
            grievance_s = grievance_bits[first_cell + lead:first_cell + lead + width]
            for k in range(width):  # selects by masks of bits, so the loads stay unconditional
                c = choice_s[k]
                is_in, is_out = c == _IN, c == _OUT
                g = ((in_bits[k] & _mask(is_in)) | (out_bits[k] & _mask(is_out))
                     | (other_bits[k] & _mask(not (is_in | is_out))))
                grievance_s[k] = g & _mask((aware_s[k] != 0) & (willing_s[k] == 0))
        for p in range(n_prog):  # any other programme, cell by cell (after the above)
            if plain[p]:
                continue
            for i in range(start, stop):
                u = utility(trust, concern, propensity, need, holder, recipient, constant,
                            exposure, benefit_direct, benefit_public, legitimacy, w_holder,
                            w_recipient, w_general, trust_weight, risk_weight,
                            benefit_weight, legitimacy_weight, i, p)
                if u > 0:
                    willing[p] += 1
                    grievance[i, p] = 0
                elif visible[p] and aware[i, p] and holds(
                        member, subject_share, subject_key,
                        cell_of(region, sex, age_band, deprivation, i), first + i, p):
                    f = np.float32(sharing.flow(regime[p], choice[i, p], refused, uses,
                                                flow_consent[p], flow_refused[p], i, p))
                    if regime[p] != _NONE and choice[i, p] != _OUT:
                        f *= unheard[p]  # could refuse and has not: control softens it
                    grievance[i, p] = f * illegitimacy[p]
                else:
                    grievance[i, p] = 0


@nb.njit(cache=True, inline="always")
def _copy_columns(trust, start, stop, needed, columns, concern, need, propensity, own):
    """Copy the ``needed`` trust columns of rows ``start:stop`` to the rows of ``columns``,
    and their concern, need and propensity to the rows of ``own``. Eight columns (the
    baseline's seven agencies and general trust) are copied all, from the rows read as one
    flat array (a row length the compiler knows turns the copy into vector shuffles), in one
    loop with the other three (more reads from memory under way at once)."""
    m = stop - start
    if trust.shape[1] == 8:
        rows = trust.reshape(trust.size)[start * 8:stop * 8]
        c0, c1, c2, c3 = columns[0], columns[1], columns[2], columns[3]
        c4, c5, c6, c7 = columns[4], columns[5], columns[6], columns[7]
        concern_b, need_b, propensity_b = concern[start:stop], need[start:stop], \
            propensity[start:stop]
        o0, o1, o2 = own[0], own[1], own[2]
        for j in range(m):
            o0[j], o1[j], o2[j] = concern_b[j], need_b[j], propensity_b[j]
            c0[j] = rows[8 * j]
            c1[j] = rows[8 * j + 1]
            c2[j] = rows[8 * j + 2]
            c3[j] = rows[8 * j + 3]
            c4[j] = rows[8 * j + 4]
            c5[j] = rows[8 * j + 5]
            c6[j] = rows[8 * j + 6]
            c7[j] = rows[8 * j + 7]
        return
    for k in range(trust.shape[1]):
        if needed[k]:
            column, trust_k = columns[k], trust[start:stop, k]
            for j in range(m):
                column[j] = trust_k[j]
    own[0, :m] = concern[start:stop]
    own[1, :m] = need[start:stop]
    own[2, :m] = propensity[start:stop]


@nb.njit(cache=True, inline="always")
def _mask(flag):
    """All 32 bits set if ``flag``, none if not (a select of float32 bits by and)."""
    return np.uint32(np.uint32(0) - np.uint32(flag))


@nb.njit(cache=True, inline="always")
def _grievance_of(c, regime, known, flow_consent, flow_refused, unheard, illegitimacy):
    """The grievance of a citizen with choice ``c`` who knows of the sharing and is not
    willing, under a regime other than dynamic consent (float32): sim.sharing.flow with
    consents() as arithmetic, softened where the citizen could refuse and has not; zero for a
    programme the public does not know of."""
    no_say, opt_in = regime == _NONE, regime == _OPT_IN
    f = np.float32(flow_consent) if no_say | (opt_in & (c == _IN)) | (
        (not opt_in) & (c != _OUT)) else np.float32(flow_refused)
    f = f * unheard if (not no_say) & (c != _OUT) else f
    return f * illegitimacy if known else np.float32(0)


@nb.njit(cache=True, nogil=True)
def decide(choice, previous, aware, salience, attention, segment, partner, draw, trust, concern,
           propensity, need, holder, recipient, constant, exposure, benefit_direct,
           benefit_public, legitimacy, w_holder, w_recipient, w_general, trust_weight,
           risk_weight, benefit_weight, legitimacy_weight, regime, act, prompt, switching_cost,
           background, word_of_mouth, fade, out_by_segment):
    """One week of consent choices for every citizen and programme; then salience and attention
    fade.

    Only a citizen aware of the choice attends to it. One whose data flows attends with
    ``a = min(1, background + salience + attention + deadline prompt)``, plus ``word_of_mouth``
    if the partner has opted out (again capped at 1): bad news, a deadline and a partner who left
    prompt exit. One whose data does not flow attends with ``min(1, background + attention)``:
    campaigns and consent requests prompt joining, bad news does not. A citizen acts when its
    first uniform ``u < act * a``; one who acts and shares leaves with probability
    ``logistic(-U - k)``, one who does not share joins with ``logistic(U - k)``, decided by a
    second uniform (``k`` the switching cost). With no news, prompt or campaign both directions
    see only the background attention, so the starting equilibrium holds, but for word of mouth,
    which prompts only exit (a creep of about 0.05 points over three years). Draw ``draw[i]``
    gives programme p the uniforms ``spread(draw[i], p)`` and ``spread(draw[i], P + p)``.
    ``previous`` is the choice array at the start of the step, read for the partner so the
    update is synchronous. Counts, by segment, the citizens opted out of at least one programme
    with a choice. A utility is computed only for a citizen who acts. Programmes under dynamic
    consent are decided by :func:`decide_dynamic` first and passed here with ``act`` 0. Pass
    float32 scalars and arrays (see sim.trust.update). The per-citizen arrays may be a slice
    of citizens; ``previous`` is all of them (a partner may be anywhere).

    Each (citizen, programme) decides from its own values as they were at the start of the
    phase (its choice, salience and attention, the partner's ``previous`` choice), so the order
    of the work changes no number. For speed, per block of :data:`BLOCK` citizens: a
    vectorised pass tells whether the block has any salience or attention to fade and brings
    its rows into cache; then per programme with a choice, a vectorised loop hashes every
    citizen's first uniform (in integers: ``u < act`` exactly when the hash is at most
    ``act * 2**32`` rounded up, less one) into bits, and the set bits of the aware list those
    who act (about 8% in the default world); only they decide. In a block without salience or
    attention (all zero, as in a calm world) the thresholds of the decision are the same for
    every citizen, so one who draws above all of them, and would do nothing, is not listed
    (about 1% are). Those whom only word of mouth
    would alert wait until the block's partner choices have been read in one loop (scattered
    reads that then overlap). The opt-outs are then found as bit words of the block's OUT
    cells of programmes with a choice (each citizen counted once, by segment), and the block
    fades if it has anything to fade.
    """
    n, n_prog = choice.shape
    acting = np.empty(BLOCK, np.int64)
    asked_row = np.empty(BLOCK * n_prog, np.int64)
    asked_programme = np.empty(BLOCK * n_prog, np.int64)
    partner_out = np.empty(BLOCK * n_prog, np.bool_)
    hashed = np.empty(BLOCK, np.uint32)
    out = np.empty(BLOCK, np.uint8)
    by_code = np.zeros(256, np.int64)  # opt-outs by segment code, read as uint8
    chosen = np.empty(n_prog, np.int64)  # the programmes with a choice
    n_chosen = 0
    for p in range(n_prog):
        if regime[p] != _NONE:
            chosen[n_chosen] = p
            n_chosen += 1
    chosen = chosen[:n_chosen]
    # bit k of with_choice[r]: the programme of cell r + k of a block has a choice
    with_choice = column_words(regime != _NONE)
    choice_flat = choice.reshape(choice.size)
    keep = np.float32(1) - fade
    salience_flat = salience.reshape(salience.size)
    attention_flat = attention.reshape(attention.size)
    for start in range(0, n, BLOCK):
        stop = min(start + BLOCK, n)
        m = stop - start
        draw_b = draw[start:stop]
        rows = slice(start * n_prog, stop * n_prog)
        # read the block's salience and attention (is there anything to fade?) before the few
        # decisions, which then find them in cache
        salient = attentive = _any_held_of_two(salience_flat[rows], attention_flat[rows])
        if salient:  # which of them (a second read, from cache)
            salient, attentive = _any_held(salience_flat[rows]), _any_held(attention_flat[rows])
        n_asked = 0
        for p in chosen:
            r = regime[p]
            limit = _hash_limit(act[p])  # spread(draw, p) < act: hash <= limit
            if not (salient or attentive):
                # no salience or attention in the block (all zero): the thresholds below are
                # the same for all, and one who draws above all of them does nothing
                zero = np.float32(0)
                alert = min(background + zero + zero + prompt[p], 1)
                limit = min(limit, max(_hash_limit(act[p] * alert),
                                       _hash_limit(act[p] * min(alert + word_of_mouth, 1)),
                                       _hash_limit(act[p] * min(background + zero, 1))))
            if limit < 0:  # no one acts (act 0: dynamic consent)
                continue
            _hash_block(draw_b, p, hashed)
            aware_b = aware[start:stop, p]
            count = 0  # list who acts: the bits of who draws below act, then who is aware
            for lead in range(0, m, 64):
                if m - lead >= 64:  # one vector compare (sim.intrinsics)
                    word = at_most_word(hashed, lead, np.uint32(limit))
                else:
                    word = _at_most(hashed[lead:m], np.uint32(limit))
                while word != 0:
                    j = lead + trailing_zeros(word)
                    word &= word - np.uint64(1)
                    acting[count] = j
                    count += aware_b[j] != 0
            for a in range(count):
                i = start + acting[a]
                c = choice[i, p]
                u = spread(draw[i], p)
                if consents(r, c):  # sharing: bad news, a deadline or a partner prompt exit
                    alert = min(background + salience[i, p] + attention[i, p] + prompt[p], 1)
                    go = u < act[p] * alert
                    if not go and u < act[p] * min(alert + word_of_mouth, 1):
                        asked_row[n_asked] = acting[a]  # the partner decides: see below
                        asked_programme[n_asked] = p
                        n_asked += 1
                        continue
                    if go:
                        u_sh = utility(trust, concern, propensity, need, holder, recipient,
                                       constant, exposure, benefit_direct, benefit_public,
                                       legitimacy, w_holder, w_recipient, w_general,
                                       trust_weight, risk_weight, benefit_weight,
                                       legitimacy_weight, i, p)
                        if spread(draw[i], n_prog + p) < logistic(-u_sh - switching_cost):
                            c = _OUT
                elif u < act[p] * min(background + attention[i, p], 1):  # not sharing
                    u_sh = utility(trust, concern, propensity, need, holder, recipient,
                                   constant, exposure, benefit_direct, benefit_public,
                                   legitimacy, w_holder, w_recipient, w_general,
                                   trust_weight, risk_weight, benefit_weight,
                                   legitimacy_weight, i, p)
                    if spread(draw[i], n_prog + p) < logistic(u_sh - switching_cost):
                        c = _IN if r == _OPT_IN else _DEFAULT
                if c != choice[i, p]:
                    choice[i, p] = c
        # those who share, are not alerted enough by themselves and would be by word of mouth
        # leave if the partner had opted out: the partners' choices (anywhere in memory) are
        # read in one loop, so the reads overlap
        for b in range(n_asked):
            j = partner[start + asked_row[b]]
            partner_out[b] = j >= 0 and previous[j, asked_programme[b]] == _OUT
        for b in range(n_asked):
            if partner_out[b]:
                i, p = start + asked_row[b], asked_programme[b]
                c = choice[i, p]
                u_sh = utility(trust, concern, propensity, need, holder, recipient, constant,
                               exposure, benefit_direct, benefit_public, legitimacy, w_holder,
                               w_recipient, w_general, trust_weight, risk_weight,
                               benefit_weight, legitimacy_weight, i, p)
                if spread(draw[i], n_prog + p) < logistic(-u_sh - switching_cost):
                    c = _OUT
                if c != choice[i, p]:
                    choice[i, p] = c
        # opted out of a programme with a choice, counted by segment (integers: any order):
        # bit words of the OUT cells of programmes with a choice, then each citizen once
        choice_s, segment_b = choice_flat[rows], segment[start:stop].view(np.uint8)
        out[:m] = 0
        cells = m * n_prog
        for lead in range(0, cells, 64):
            word = opted_out_word(choice_s, lead, min(cells - lead, 64))
            word &= with_choice[lead % n_prog]
            while word != 0:
                j = (lead + trailing_zeros(word)) // n_prog
                word &= word - np.uint64(1)
                if out[j] == 0:
                    out[j] = 1
                    by_code[segment_b[j]] += 1
        # the block's rows fade once its choices are made (each citizen reads only its own)
        if salient:
            _fade(salience_flat[rows], keep)
        if attentive:
            _fade(attention_flat[rows], keep)
    for s in range(min(out_by_segment.shape[0], 128)):  # int8 codes: at most 127
        out_by_segment[s] += by_code[s]


@nb.njit(cache=True, inline="always")
def _any_held(values):
    """Whether any float32 value is not zero (of either sign): the or of their bits but the
    sign's, which vectorises."""
    bits = values.view(np.uint32)
    held = np.uint32(0)
    for j in range(bits.shape[0]):
        held = np.uint32(held | bits[j])  # kept to 32 bits: 32-bit vector lanes
    return (held & np.uint32(0x7FFFFFFF)) != 0


@nb.njit(cache=True, inline="always")
def _hash_limit(x):
    """The largest 32-bit hash whose uniform (:func:`sim.streams.spread`, hash * 2**-32) is
    below ``x``, or -1 if none is: ``u < x`` exactly when ``hash < x * 2**32`` (a product
    exact in float64), for an integer hash when ``hash <= ceil(x * 2**32) - 1``."""
    ceiling = np.ceil(np.float64(x) * 4294967296.0)
    if not ceiling > 0:
        return np.int64(-1)
    return np.int64(min(ceiling, 4294967296.0)) - 1


@nb.njit(cache=True, inline="always")
def _any_held_of_two(a, b):
    """:func:`_any_held` of either of two arrays of the same size, read side by side."""
    a_bits, b_bits = a.view(np.uint32), b.view(np.uint32)
    held = np.uint32(0)
    for j in range(a_bits.shape[0]):
        held = np.uint32(held | a_bits[j] | b_bits[j])
    return (held & np.uint32(0x7FFFFFFF)) != 0


@nb.njit(cache=True, inline="always")
def _hash_block(draw, k, out):
    """``out[j]`` = the 32-bit hash that :func:`sim.streams.spread` makes of ``draw[j]`` and
    ``k`` (``spread`` is it times 2**-32), in uint32 arithmetic, which vectorises: the same
    integers, as every step of the hash is taken modulo 2**32."""
    key = np.uint32(((k + 1) * 0x9E3779B9) & 0xFFFFFFFF)
    for j in range(draw.shape[0]):  # every step cut to 32 bits: 32-bit vector lanes
        h = np.uint32(draw[j] ^ key)
        h = np.uint32(h ^ np.uint32(h >> np.uint32(16)))
        h = np.uint32(h * np.uint32(0x85EBCA6B))
        h = np.uint32(h ^ np.uint32(h >> np.uint32(13)))
        h = np.uint32(h * np.uint32(0xC2B2AE35))
        h = np.uint32(h ^ np.uint32(h >> np.uint32(16)))
        out[j] = h


@nb.njit(cache=True, inline="always")
def _at_most(values, limit):
    """Bit k set where ``values[k] <= limit``, for fewer than 64 values (the end of a block;
    whole words: sim.intrinsics.at_most_word)."""
    word = np.uint64(0)
    for k in range(values.shape[0]):
        word |= np.uint64(values[k] <= limit) << np.uint64(k)
    return word


@nb.njit(cache=True, inline="always")
def _fade(values, keep):
    """Salience or attention fades by ``keep``; what is too faint to matter is flushed to
    exactly zero (so kernels can skip it). A zero (of either sign) stays as it is.

    Mostly zeros: spans of :data:`FADE_SPAN` values are tested first (:func:`_any_held`, an or
    of their bits), and only a span holding a value is rewritten, by selects (a zero is written
    back as it was). The floor is compared in float32 (:data:`_FLOOR32`), which decides every
    float32 value as the float64 comparison with :data:`SALIENCE_FLOOR` does, without
    widening each value."""
    zero = np.float32(0)
    n = values.shape[0]
    for start in range(0, n, FADE_SPAN):
        span = values[start:min(start + FADE_SPAN, n)]
        if not _any_held(span):
            continue
        for j in range(span.shape[0]):
            s = span[j]
            faded = s * keep if s > _FLOOR32 else zero
            span[j] = faded if s != 0 else s


@nb.njit(cache=True, nogil=True)
def decide_dynamic(choice, previous, refused, previous_refused, used, main, aware, salience,
                   attention, partner, draw, trust, concern, propensity, need, holder, recipient,
                   constant, exposure_k, benefit_direct_k, benefit_public_k, legitimacy,
                   w_holder, w_recipient, w_general, trust_weight, risk_weight, benefit_weight,
                   legitimacy_weight, regime, act, prompt, switching_cost, background,
                   word_of_mouth):
    """One week of consent choices by purpose for the programmes under dynamic consent (run
    before :func:`decide`, which then leaves those programmes alone and fades salience).

    The citizen decides for each purpose k the programme uses its records for (bit k of
    ``used``), with the same awareness, attention and act test as :func:`decide`, the utility
    ``U_ipk`` of that use, and its own uniforms: the programme's own purpose keeps
    ``spread(draw[i], p)`` and ``spread(draw[i], P + p)``, any other use gets
    ``spread(draw[i], 2P + 3p + k)`` and ``spread(draw[i], 5P + 3p + k)``, so a programme with
    one use draws as before. "Sharing" use k means bit k of ``refused[i, p]`` clear; leaving
    sets it, joining clears it; a partner prompts exit from a use it refused
    (``previous_refused``, read as at the start of the step). A citizen recorded as out refuses
    every use. The choice becomes OUT when every use is refused, DEFAULT otherwise.
    """
    n, n_prog = choice.shape
    for p in range(n_prog):
        if regime[p] != _DYNAMIC:
            continue
        mask = used[p]
        for i in range(n):
            if not aware[i, p]:
                continue
            c = choice[i, p]
            bits = refused[i, p]
            if c == _OUT:  # out means every use refused
                bits |= mask
            before = bits
            j = partner[i]
            for k in range(3):
                if not (mask >> k) & 1:
                    continue
                if k == main[p]:
                    u = spread(draw[i], p)
                    key = n_prog + p
                else:
                    u = spread(draw[i], 2 * n_prog + 3 * p + k)
                    key = 5 * n_prog + 3 * p + k
                if u >= act[p]:
                    continue
                if not (bits >> k) & 1:  # this use shares: bad news prompts exit
                    alert = min(background + salience[i, p] + attention[i, p] + prompt[p], 1)
                    go = u < act[p] * alert
                    if not go and u < act[p] * min(alert + word_of_mouth, 1):
                        go = j >= 0 and (previous_refused[j, p] >> k) & 1 == 1
                    if go:
                        u_sh = utility_of(trust, concern, propensity, need, holder, recipient,
                                          constant, exposure_k[p, k], benefit_direct_k[p, k],
                                          benefit_public_k[p, k], legitimacy, w_holder,
                                          w_recipient, w_general, trust_weight, risk_weight,
                                          benefit_weight, legitimacy_weight, i, p)
                        if spread(draw[i], key) < logistic(-u_sh - switching_cost):
                            bits |= 1 << k
                elif u < act[p] * min(background + attention[i, p], 1):
                    u_sh = utility_of(trust, concern, propensity, need, holder, recipient,
                                      constant, exposure_k[p, k], benefit_direct_k[p, k],
                                      benefit_public_k[p, k], legitimacy, w_holder, w_recipient,
                                      w_general, trust_weight, risk_weight, benefit_weight,
                                      legitimacy_weight, i, p)
                    if spread(draw[i], key) < logistic(u_sh - switching_cost):
                        bits &= ~(1 << k)
            if bits != refused[i, p]:
                refused[i, p] = bits
            if bits != before or c == _OUT:
                c = _OUT if bits & mask == mask else _DEFAULT
                if c != choice[i, p]:
                    choice[i, p] = c


# ------------------------------------------------------------------ the starting state
def _stationary(base: np.ndarray, aware: np.ndarray, constant: float, switching_cost: float,
                out_share: np.ndarray, pool: Pool = SERIAL) -> float:
    """Each aware citizen's stationary probability of not sharing (float64), for utilities
    ``base + constant``: the share of time its two-state chain spends out,
    ``logistic(-U - k) / (logistic(-U - k) + logistic(U - k))``; returns the population mean
    (the unaware never chose). The shares are computed in chunks on ``pool``; each chunk then
    adds its shares to the total in its turn (sim.parallel.InOrder), so the sum runs in citizen
    order while other chunks compute."""
    ranges = pool.ranges(base.shape[0])
    order = InOrder(len(ranges))
    total = np.zeros(1)

    def chunk(k: int, start: int, stop: int) -> None:
        _stationary_shares(base[start:stop], aware[start:stop], constant, switching_cost,
                           out_share[start:stop])
        with order.turn(k):
            _sum_of_aware(out_share[start:stop], total)

    pool.run(chunk, ranges)
    return total[0] / base.shape[0]


@nb.njit(cache=True, nogil=True)
def _stationary_shares(base, aware, constant, switching_cost, out_share):
    for i in range(base.shape[0]):
        if aware[i]:
            x = np.float64(base[i]) + constant
            leave = 1.0 / (1.0 + np.exp(x + switching_cost))
            join = 1.0 / (1.0 + np.exp(-x + switching_cost))
            out_share[i] = leave / (leave + join)
        else:
            out_share[i] = 0.0


@nb.njit(cache=True, nogil=True)
def _sum_of_aware(out_share, total):
    """Add the shares to ``total[0]`` in order. The unaware's shares are +0.0, and adding +0.0
    to a sum of shares (never -0.0) leaves it as it is: the sum of the aware's alone, without
    a branch per citizen."""
    s = total[0]
    for i in range(out_share.shape[0]):
        s += out_share[i]
    total[0] = s


def fit_constants(plan: ControlPlan, citizens: Citizens, programmes: Sequence[Programme],
                  params: TrustParams, pool: Pool = SERIAL) -> np.ndarray:
    """Each programme's utility constant: fitted so the equilibrium matches the observed
    starting share (``initial_opt_out``, or ``initial_opt_in`` under opt-in) where one is given
    and the programme has a choice; ``share_intercept`` otherwise. Under dynamic consent with
    several uses, the use-weighted mean of the stationary refusal shares is matched."""
    constant = np.full(len(programmes), params.share_intercept)
    # the arrays the root finder's function reads: scipy's wrapper of it is a reference
    # cycle, freed only by the garbage collector, so they are emptied out once it is done
    held: dict[str, Any] = {"scratch": np.empty(citizens.n)}
    zero = _with_constant(plan, 0.0)
    k = float(params.switching_cost)
    for p, prog in enumerate(programmes):
        regime = Regime(int(plan.regime[p]))
        target = prog.initial_opt_in if regime is Regime.OPT_IN else prog.initial_opt_out
        if regime is Regime.NONE or target is None:
            continue
        held["aware"] = aware = citizens.aware[:, p]
        known = float(aware.mean())
        out = known - target if regime is Regime.OPT_IN else target
        if not 0 < out < known:
            raise ValueError(f"programme {prog.name!r}: a starting share of {target} cannot "
                             f"come from the {known:.1%} of citizens aware of the choice "
                             "(raise its awareness)")
        uses = _uses_of(plan, p)
        if regime is Regime.DYNAMIC and len(uses) > 1:
            held["bases"] = [(w, zero.purpose_utilities(citizens, p, j)) for w, j in uses]
        else:
            held["bases"] = [(1.0, zero.utilities(citizens, p))]
        single = len(held["bases"]) == 1

        def gap(a: float, o: float = out, single: bool = single) -> float:
            shares = [share * _stationary(b, held["aware"], a, k, held["scratch"], pool)
                      for share, b in held["bases"]]
            return (shares[0] if single else sum(shares)) - o

        constant[p] = brentq(gap, -60.0, 60.0, xtol=1e-10)
    held.clear()
    return constant


def _with_constant(plan: ControlPlan, value: float) -> ControlPlan:
    return replace(plan, constant=np.full(len(plan.regime), value, np.float32))


def _uses_of(plan: ControlPlan, p: int) -> list[tuple[float, int]]:
    """(share, purpose index) of each purpose programme ``p`` uses its records for."""
    return [(float(plan.uses[p, k]), k) for k in range(len(PURPOSES)) if plan.uses[p, k] > 0]


def initial_choices(plan: ControlPlan, citizens: Citizens, p: int, params: TrustParams,
                    rng: np.random.Generator,
                    purpose_rng: Callable[[int], np.random.Generator] | None = None,
                    pool: Pool = SERIAL) -> None:
    """Draw programme ``p``'s choices of the start from each citizen's stationary probability.

    Under opt-out and dynamic consent, not sharing means having opted out; under opt-in,
    sharing means having opted in. A calm world then stays where it starts. Under dynamic
    consent each use is refused with its own stationary probability (the programme's own
    purpose draws from ``rng``, any other use ``k`` from ``purpose_rng(k)``); a citizen who
    refuses every use has opted out.

    ``rng`` is fresh (nothing drawn yet) and left as it is: chunks of citizens draw on
    ``pool``, each from a copy of it moved on past the draws before the chunk.
    """
    regime = int(plan.regime[p])
    if regime == _NONE:
        return
    if regime == _DYNAMIC:
        _initial_refusals(plan, citizens, p, params, rng, purpose_rng, pool)
        return
    aware = citizens.aware[:, p]
    out_share = np.empty(citizens.n)
    _stationary(plan.utilities(citizens, p), aware, 0.0, float(params.switching_cost),
                out_share, pool)
    state = rng.bit_generator.state

    def chunk(k: int, start: int, stop: int) -> None:
        # the chunk's draws: a float64 takes one 64-bit output, so ``start`` of them come first
        bits = type(rng.bit_generator)()
        bits.state = state
        bits.advance(start)
        draw_from = np.random.Generator(bits)
        for first in range(start, stop, 1 << 20):  # in spans: small temporaries
            last = min(first + (1 << 20), stop)
            draw, share = draw_from.random(last - first), out_share[first:last]
            if regime == _OPT_IN:
                chosen = (draw >= share) & (aware[first:last] == 1)
                citizens.choice[first:last, p][chosen] = Choice.IN
            else:
                citizens.choice[first:last, p][draw < share] = Choice.OUT

    pool.run(chunk, pool.ranges(citizens.n))


def _initial_refusals(plan: ControlPlan, citizens: Citizens, p: int, params: TrustParams,
                      rng: np.random.Generator,
                      purpose_rng: Callable[[int], np.random.Generator] | None,
                      pool: Pool = SERIAL) -> None:
    aware = citizens.aware[:, p]
    bits = np.zeros(citizens.n, np.int8)
    out_share = np.empty(citizens.n)
    for _, k in _uses_of(plan, p):
        _stationary(plan.purpose_utilities(citizens, p, k), aware, 0.0,
                    float(params.switching_cost), out_share, pool)
        if k == plan.main[p]:
            draw = rng.random(citizens.n)
        elif purpose_rng is None:
            raise ValueError("a dynamic programme with several uses needs purpose_rng")
        else:
            draw = purpose_rng(k).random(citizens.n)
        bits |= np.where(draw < out_share, np.int8(1 << k), np.int8(0))
    citizens.refused[:, p] = bits
    mask = plan.used[p]
    citizens.choice[bits & mask == mask, p] = Choice.OUT


def start_dynamic(plan: ControlPlan, citizens: Citizens, p: int) -> None:
    """Programme ``p`` has just switched to dynamic consent (or changed its uses): a citizen
    who had opted out refuses every use, any other refuses the uses it refused before that the
    programme still has."""
    mask = plan.used[p]
    column = citizens.refused[:, p]
    column &= mask
    column[citizens.choice[:, p] == Choice.OUT] = mask
    citizens.choice[(column == mask) & (mask != 0), p] = Choice.OUT


def initial_awareness(citizens: Citizens, table: ProgrammeTable, rng: np.random.Generator,
                      pool: Pool = SERIAL) -> None:
    """Who knows at the start that they have a choice: each programme's ``awareness`` share,
    drawn independently of attitudes [P].

    One float32 draw per citizen and programme, in citizen order, from ``rng`` (fresh: nothing
    drawn yet; it is left as it is). Chunks of citizens run on ``pool``, each from a copy of
    ``rng`` moved on past the draws before it (as sim.streams.Streams.uniform_span: a float32
    takes one half of a 64-bit output, and a chunk starts on an even draw), in spans: the
    same draws, small temporaries."""
    share = table.awareness.astype(np.float32)
    n, width = citizens.n, citizens.aware.shape[1]
    state = rng.bit_generator.state

    def chunk(k: int, start: int, stop: int) -> None:
        bits = type(rng.bit_generator)()
        bits.state = state
        if start * width % 2:
            raise ValueError(f"a chunk of draws starts at an even draw, not {start * width}")
        bits.advance(start * width // 2)
        draw_from = np.random.Generator(bits)
        for first in range(start, stop, 1 << 20):
            last = min(first + (1 << 20), stop)
            draw = draw_from.random((last - first, width), dtype=np.float32)
            citizens.aware[first:last] = draw < share

    pool.run(chunk, pool.ranges(n))


def announce(model: TrustModel, programme: str, reach: float) -> None:
    """An announcement of a choice (a deadline's notice): a ``reach`` share of citizens, drawn
    from stream ``announcement``, learn that they can opt out (or in)."""
    p = model.programme_index(programme)
    draw = model.streams.uniform("announcement", model.steps, model.n_citizens, p,
                                 model.serials.next("announcement", p))
    model.citizens.aware[draw < reach, p] = 1


def request_consent(citizens: Citizens, p: int) -> None:
    """A change of consent regime asks every citizen to choose: all become aware of the
    choice, with full attention that week."""
    citizens.aware[:, p] = 1
    np.maximum(citizens.attention[:, p], np.float32(1), out=citizens.attention[:, p])


# ------------------------------------------------------------------ per programme
def control_level(table: ProgrammeTable, params: TrustParams) -> np.ndarray:
    """Perceived control each programme gives, in [0, 1]."""
    base = np.array([CONTROL_LEVEL[Regime(r)] for r in table.regime])
    return np.minimum(1.0, base + params.dashboard_control * table.dashboard)


def act_rate(table: ProgrammeTable, params: TrustParams) -> np.ndarray:
    """Weekly chance that an attentive citizen gets round to acting: a dashboard or dynamic
    consent makes acting easier (lower friction)."""
    eased = table.dashboard | (table.regime == Regime.DYNAMIC)
    return 1.0 - table.friction * np.where(eased, params.dashboard_friction, 1.0)


def attitude_terms(table: ProgrammeTable, params: TrustParams) -> tuple[np.ndarray, np.ndarray]:
    """Shift of equilibrium trust per programme: (for everyone, per unit of concern).

    An optional assumed gain from having a say, more for those who value control (SF4):
    ``control_attitude`` is 0 by default, since control's trust effect is derived from the
    grievances it relieves (:func:`_attitudes`).
    """
    per_concern = params.control_attitude * control_level(table, params) * table.visible
    return np.zeros(len(table)), per_concern


def deadline_prompt(programmes: Sequence[Programme], step: int, lead: float) -> np.ndarray:
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
def consent_mask(regime, choices):
    """Whether each citizen's choice lets data flow under this regime (one programme)."""
    out = np.empty(choices.shape[0], dtype=np.bool_)
    for i in range(choices.shape[0]):
        out[i] = consents(regime, choices[i])
    return out
