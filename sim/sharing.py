"""Sharing and benefit: which records flow, what they are worth, and what sharing feels like.

A citizen's records flow under a programme when the consent regime lets them (or a mandate
overrides the choice), scaled by how much the barriers let through. Direct-service programmes
give the citizen a personal benefit in proportion to need; planning, research and commercial
programmes give a public benefit that grows with coverage and loses value as opt-outs make the
data unrepresentative. Citizens judge the benefit they receive against what they expected.

The cultural barrier moves with public trust: a holder shares more readily while the public
trusts the recipient and holds back as that trust falls (:meth:`SharingPlan.culture`).

Whether a citizen's records of a programme can flow at all is decided here for every mechanism
(control's kernels call the same two tests): the recorded choice under the consent regime
(:func:`consents`) and membership of the programme's catchment (:func:`holds`; the catchment
itself is data, sim.catchment).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numba as nb
import numpy as np

from sim import population
from sim.citizens import Citizens
from sim.intrinsics import trailing_zeros
from sim.parallel import SERIAL, InOrder, Pool
from sim.params import TrustParams
from sim.population import cell_of
from sim.programmes import Choice, ProgrammeTable, Purpose, Regime
from sim.streams import spread

_NONE, _OPT_IN, _DYNAMIC = int(Regime.NONE), int(Regime.OPT_IN), int(Regime.DYNAMIC)
_OUT, _IN = int(Choice.OUT), int(Choice.IN)
_DIRECT, _RESEARCH, _COMMERCIAL = (list(Purpose).index(k) for k in Purpose)


# ------------------------------------------------------------------ whose records can flow
@nb.njit(cache=True, inline="always")
def consents(regime: int, choice: int) -> bool:
    """Whether a citizen's recorded choice lets data flow under this regime."""
    if regime == _NONE:
        return True
    if regime == _OPT_IN:
        return choice == _IN
    return choice != _OUT


@nb.njit(cache=True, inline="always")
def holds(member, share, key, cell, i, p):
    """Whether programme p holds the records of citizen i (of demographic cell ``cell``)."""
    if not member[p, cell]:
        return False
    s = share[p]
    return s >= 1.0 or spread(key[p], i) < s


@nb.njit(cache=True)
def _members(region, sex, age_band, deprivation, member, share, key, p, out):
    for i in range(region.shape[0]):
        out[i] = holds(member, share, key, cell_of(region, sex, age_band, deprivation, i), i, p)


def members(codes: tuple[np.ndarray, ...], member: np.ndarray, share: np.ndarray,
            keys: np.ndarray, p: int) -> np.ndarray:
    """Every citizen's membership of programme ``p``'s catchment (bool, one per citizen)."""
    out = np.empty(codes[0].shape[0], bool)
    _members(*codes, member, share, keys, p, out)
    return out


@nb.njit(cache=True)
def _member_counts(region, sex, age_band, deprivation, segment, member, share, key, todo, out):
    for i in range(region.shape[0]):
        c = cell_of(region, sex, age_band, deprivation, i)
        for p in todo:
            if holds(member, share, key, c, i, p):
                out[segment[i], p] += 1


def member_counts(codes: tuple[np.ndarray, ...], segment: np.ndarray, segment_count: np.ndarray,
                  member: np.ndarray, share: np.ndarray, keys: np.ndarray,
                  everyone: np.ndarray) -> np.ndarray:
    """Members of each programme's catchment by segment (S x P, int64); a programme that holds
    everyone's records takes ``segment_count`` without a pass over the citizens."""
    out = np.zeros((len(segment_count), len(share)), np.int64)
    out[:, everyone] = segment_count[:, None]
    todo = np.flatnonzero(~everyone)
    if len(todo):
        _member_counts(*codes, segment, member, share, keys, todo, out)
    return out


# ------------------------------------------------------------------ the plan and the step


@dataclass(frozen=True)
class SharingPlan:
    """What the sharing step reads, derived from the programmes and parameters (rebuilt after a
    policy change)."""

    regime: np.ndarray  # int8 Regime code per programme
    flow_consent: np.ndarray  # float64 share flowing for a consenting citizen
    flow_refused: np.ndarray  # float64 share flowing for a citizen who refused (mandate)
    uses: np.ndarray  # float64 P x 3 share of records used per purpose
    service_weight: np.ndarray  # float64 personal benefit per unit of flow and need
    public_weight: np.ndarray  # float64 public benefit per unit of coverage
    expectation_rate: np.float32
    recipient: np.ndarray  # int64 trust column of each programme's recipient
    willingness: np.ndarray  # float64 the holder's willingness to share (cultural barrier)
    culture_elasticity: float
    member: np.ndarray  # bool P x cells: the catchment's demographic cells (sim.catchment)
    subject_share: np.ndarray  # float64 share of their citizens whose records it holds
    subject_key: np.ndarray  # int64 key of the membership draws

    @classmethod
    def build(cls, table: ProgrammeTable, params: TrustParams) -> SharingPlan:
        consent, refused = flow_weight(table)
        return cls(regime=table.regime, flow_consent=consent, flow_refused=refused,
                   uses=table.uses, service_weight=service_weight(table),
                   public_weight=table.benefit * table.data_quality
                   * (1.0 - table.uses[:, _DIRECT]),
                   expectation_rate=np.float32(params.expectation_rate),
                   recipient=table.recipient, willingness=table.willingness,
                   culture_elasticity=params.culture_elasticity, member=table.member,
                   subject_share=table.subject_share, subject_key=table.subject_key)

    def culture(self, trust_ratio: np.ndarray) -> np.ndarray:
        """Per programme, how far the holder's willingness to share has moved with public trust
        in the recipient: ``min((T_R / T_R(0)) ** e, 1 / w)``, a factor on every flow.

        ``trust_ratio`` is each trust column's mean now over its mean at the start, so the
        factor is 1 while trust stays where it started; the cap keeps the effective
        willingness ``w`` times the factor at most 1.
        """
        factor = trust_ratio[self.recipient] ** self.culture_elasticity
        return np.minimum(factor, self._culture_cap)

    @cached_property
    def _culture_cap(self) -> np.ndarray:
        """``1 / w`` per programme (1 where ``w`` is 0): the cap of :meth:`culture`."""
        return np.divide(1.0, self.willingness, out=np.ones_like(self.willingness),
                         where=self.willingness > 0)

    @cached_property
    def dynamic(self) -> bool:
        """Whether any programme is under dynamic consent (the kernels then read refusals)."""
        return bool((self.regime == _DYNAMIC).any())

    @cached_property
    def plain(self) -> np.ndarray:
        """Per programme: no dynamic consent and a catchment of everyone, so the kernels take
        their branch-free column loop for it (:func:`plain_programmes`)."""
        return plain_programmes(self.regime, self.subject_share, self.member)


def plain_programmes(regime: np.ndarray, subject_share: np.ndarray, member: np.ndarray
                     ) -> np.ndarray:
    """Per programme: no dynamic consent and a catchment of everyone (the sharing and grievance
    kernels' branch-free column loops)."""
    return (regime != _DYNAMIC) & (subject_share >= 1.0) & member.all(axis=1)


def step(plan: SharingPlan, citizens: Citizens, member_count: np.ndarray,
         culture: np.ndarray | None = None, pool: Pool = SERIAL) -> tuple[np.ndarray, np.ndarray]:
    """One week of sharing: every citizen's flows, benefit and benefit gap (written into
    ``citizens``); returns coverage and representativeness per programme. ``member_count`` is
    each programme's catchment by segment (S x P, :func:`member_counts`; S alone: every
    programme holds everyone's records). ``culture`` scales each programme's flows
    (:meth:`SharingPlan.culture`; None: 1).

    The flows by segment are float64 sums in citizen order over all citizens. On one thread
    :func:`flows` adds each block's flows as it goes; on several, each chunk works out its
    citizens' flows and benefits at once with the others, then adds its flows to the sums in
    its turn (:class:`InOrder`). The numbers are the same."""
    c = citizens
    if member_count.ndim == 1:
        member_count = np.repeat(member_count[:, None], len(plan.regime), axis=1)
    segment_flow = np.zeros(member_count.shape)
    refused = c.refused if plan.dynamic else None
    consent, refuse = scaled_flows(plan, culture)
    codes = population.codes(c)
    ranges = pool.ranges(c.n)
    order = InOrder(len(ranges))

    def chunk(k: int, start: int, stop: int) -> None:
        rows = slice(start, stop)
        part = None if refused is None else refused[rows]
        fused = len(ranges) == 1  # add block by block, in the one pass
        out = np.empty((len(plan.regime), BLOCK if fused else stop - start))
        flows(c.choice[rows], part, c.segment[rows], c.need[rows], c.expectation[rows],
              plan.regime, plan.uses, consent, refuse, plan.service_weight,
              plan.expectation_rate, c.benefit[rows], c.gap[rows],
              *(code[rows] for code in codes), plan.member, plan.subject_share,
              plan.subject_key, plan.plain, start, out, segment_flow, fused)
        if not fused:
            with order.turn(k):
                add_flows(c.segment[rows], out, segment_flow)

    pool.run(chunk, ranges)
    return _coverage_and_representativeness(segment_flow, member_count)


def scaled_flows(plan: SharingPlan, culture: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """The shares flowing for a consenting and a refusing citizen, times ``culture``."""
    if culture is None:
        return plan.flow_consent, plan.flow_refused
    return plan.flow_consent * culture, plan.flow_refused * culture


def flow_of(plan: SharingPlan, choice: np.ndarray, p: int,
            refused: np.ndarray | None = None, culture: np.ndarray | None = None,
            codes: tuple[np.ndarray, ...] | None = None) -> np.ndarray:
    """Each citizen's flowing share of programme ``p``'s records, given their choices (and,
    under dynamic consent, the purposes they refused); 0 outside its catchment, which needs the
    citizens' demographic ``codes`` (sim.population.codes) unless the programme holds
    everyone's records."""
    out = np.empty(choice.shape[0])
    bits = np.zeros((choice.shape[0], 1), np.int8) if refused is None else refused[:, p:p + 1]
    consent, refuse = scaled_flows(plan, culture)
    _flow_column(choice[:, p], bits, plan.regime[p], plan.uses[p:p + 1], consent[p],
                 refuse[p], out)
    if plan.subject_share[p] < 1.0 or not plan.member[p].all():
        if codes is None:
            raise ValueError("flow_of: programme p has a catchment; pass the citizens' codes")
        out *= members(codes, plan.member, plan.subject_share, plan.subject_key, p)
    return out


@nb.njit(cache=True, inline="always")
def flow(regime, choice, refused, uses, flow_consent, flow_refused, i, p):
    """The share of citizen i's records of programme p that flows (``choice`` its choice):
    ``rho * (m + (1 - m) * consent)``; under dynamic consent
    ``rho * sum_k uses_pk * (m + (1 - m) * [purpose k not refused])``. The refusals
    ``refused[i, p]`` are read only under dynamic consent; ``refused`` None (no programme
    under dynamic consent) compiles the kernel without them."""
    if refused is None:
        return flow_consent if consents(regime, choice) else flow_refused
    if not consents(regime, choice):
        return flow_refused
    if regime != _DYNAMIC:
        return flow_consent
    bits = refused[i, p]
    if bits == 0:
        return flow_consent
    kept = 0.0
    for k in range(uses.shape[1]):
        if not (bits >> k) & 1:
            kept += uses[p, k]
    return flow_refused + (flow_consent - flow_refused) * kept


@nb.njit(cache=True)
def _flow_column(choices, refused, regime, uses, flow_consent, flow_refused, out):
    for i in range(choices.shape[0]):
        out[i] = flow(regime, choices[i], refused, uses, flow_consent, flow_refused, i, 0)


def flow_weight(table: ProgrammeTable) -> tuple[np.ndarray, np.ndarray]:
    """Per programme: the share flowing for a consenting citizen and for a non-consenting one.

    ``f = rho * (m + (1 - m) * consent)`` with realisation ``rho`` (barriers, 0 when paused) and
    mandate strength ``m``.
    """
    return table.realisation.copy(), table.realisation * table.mandate


def service_weight(table: ProgrammeTable) -> np.ndarray:
    """Personal benefit per unit of flow and need: benefit x data quality x the share of the
    records used for a direct service."""
    return table.benefit * table.data_quality * table.uses[:, _DIRECT]


#: Citizens per block of :func:`flows`: the block's flows stay in cache until they are added.
BLOCK = 1024


@nb.njit(cache=True, nogil=True)
def flows(choice, refused, segment, need, expectation, regime, uses, flow_consent, flow_refused,
          weight, expectation_rate, benefit, gap, region, sex, age_band, deprivation, member,
          subject_share, subject_key, plain, first, out, segment_flow, fused):
    """Records flowing and benefit received this step, for every citizen of the slice from
    ``first`` on (whose numbers key catchment membership).

    Writes each citizen's service benefit ``benefit`` and its gap to expectation ``gap`` (then
    moves the expectation toward the benefit). Each citizen's flow of programme p (0 outside
    its catchment: only the records of a programme's catchment flow, :func:`holds`) goes to
    ``out[p, i]``; ``fused``: ``out`` holds one block and each block's flows are added to
    ``segment_flow`` at once (:func:`add_flows`), else ``out`` holds the slice's.

    Per block of :data:`BLOCK` citizens, programme by programme: a programme ``plain`` (no
    dynamic consent, a catchment of everyone: most) goes through a branch-free loop over the
    block's column, which vectorises; any other cell by cell. A plain opt-out programme's flows
    are first set to the consenting share for all and then to the refusing share at the block's
    OUT cells, found as bit words of the block's choices (sim.population.opted_out_word; few
    bits), so its column of the row-major choices is not read a strided byte at a time; a plain
    opt-in programme's column is read (flowing where IN). Each citizen's benefit still adds its
    programmes' terms in programme order, and each flow is computed by the same operations as
    before. ``choice`` must be C-contiguous (the model's, or a slice of its rows).
    """
    n, n_prog = choice.shape
    eta = np.float32(expectation_rate)
    total = np.empty(BLOCK)
    opt_out = np.zeros(n_prog, np.bool_)  # plain, and flowing unless the citizen opted out
    for p in range(n_prog):
        opt_out[p] = plain[p] and regime[p] != _NONE and regime[p] != _OPT_IN
    any_opt_out = opt_out.any()
    out_words = population.column_words(opt_out)
    choice_flat = choice.reshape(choice.size)
    for start in range(0, n, BLOCK):
        stop = min(start + BLOCK, n)
        m = stop - start
        base = 0 if fused else start
        total[:m] = 0.0
        if any_opt_out:
            _opt_out_flows(choice_flat, start, m, n_prog, opt_out, out_words, flow_consent,
                           flow_refused, out, base)
        for p in range(n_prog):
            out_b = out[p, base:base + m]
            r, w = regime[p], weight[p]
            if opt_out[p]:  # the flows are set: add them
                for j in range(m):
                    total[j] += w * out_b[j]
                continue
            if plain[p]:  # no say, or opt-in (opt-out is set above)
                consenting, refusing = flow_consent[p], flow_refused[p]
                if r == _NONE:  # everyone's records flow as consenting: no choice to read
                    gain = w * consenting
                    for j in range(m):
                        out_b[j] = consenting
                        total[j] += gain
                    continue
                choice_b = choice[start:stop, p]
                for j in range(m):  # flows once the citizen has opted in
                    f = consenting if choice_b[j] == _IN else refusing
                    out_b[j] = f
                    total[j] += w * f
                continue
            for j in range(m):
                i = start + j
                if holds(member, subject_share, subject_key,
                         cell_of(region, sex, age_band, deprivation, i), first + i, p):
                    f = flow(r, choice[i, p], refused, uses, flow_consent[p], flow_refused[p],
                             i, p)
                    out_b[j] = f
                    total[j] += w * f
                else:
                    out_b[j] = 0.0
        # views of the block (an index from 0 the compiler can see vectorises)
        need_b, expectation_b = need[start:stop], expectation[start:stop]
        benefit_b, gap_b = benefit[start:stop], gap[start:stop]
        for j in range(m):
            b = total[j]
            b *= need_b[j]
            benefit_b[j] = b
            g = b - expectation_b[j]
            gap_b[j] = g
            expectation_b[j] += eta * g
        if fused:
            add_flows(segment[start:stop], out[:, :m], segment_flow)


@nb.njit(cache=True, inline="always")
def _opt_out_flows(choice_flat, start, m, n_prog, opt_out, out_words, flow_consent,
                   flow_refused, out, base):
    """Each plain opt-out programme's flows for the block of ``m`` citizens from ``start``
    into ``out[p, base:base + m]``: the consenting share, then the refusing share at each OUT
    cell (bit words of the block's choices masked by ``out_words``,
    sim.population.column_words)."""
    for p in range(n_prog):
        if opt_out[p]:
            out_b, consenting = out[p, base:base + m], flow_consent[p]
            for j in range(m):
                out_b[j] = consenting
    first, cells = start * n_prog, m * n_prog
    for lead in range(0, cells, 64):
        word = population.opted_out_word(choice_flat, first + lead, min(cells - lead, 64))
        word &= out_words[lead % n_prog]
        while word != 0:
            u = lead + trailing_zeros(word)
            word &= word - np.uint64(1)
            p = u % n_prog
            out[p, base + u // n_prog] = flow_refused[p]


@nb.njit(cache=True, nogil=True)
def add_flows(segment, flow_b, segment_flow):
    """Add each citizen's flows (``flow_b[p, i]``) to ``segment_flow[segment[i], p]``, in
    citizen order. A citizen outside a catchment adds 0.0, which leaves the sum (of flows, never
    negative, so never -0.0) as it was.

    The sums must run in citizen order, so on several threads this is the sharing step's
    serial part. For up to 8 programmes the count is made a constant the compiler sees
    (:func:`_add_each` inlined once per count), so the loop over a citizen's programmes is
    unrolled: about a third faster (Intel Xeon), the same additions in the same order."""
    n_prog = flow_b.shape[0]
    if n_prog == 1:
        _add_each(segment, flow_b, segment_flow, 1)
    elif n_prog == 2:
        _add_each(segment, flow_b, segment_flow, 2)
    elif n_prog == 3:
        _add_each(segment, flow_b, segment_flow, 3)
    elif n_prog == 4:
        _add_each(segment, flow_b, segment_flow, 4)
    elif n_prog == 5:
        _add_each(segment, flow_b, segment_flow, 5)
    elif n_prog == 6:
        _add_each(segment, flow_b, segment_flow, 6)
    elif n_prog == 7:
        _add_each(segment, flow_b, segment_flow, 7)
    elif n_prog == 8:
        _add_each(segment, flow_b, segment_flow, 8)
    else:
        _add_each(segment, flow_b, segment_flow, n_prog)


@nb.njit(cache=True, inline="always")
def _add_each(segment, flow_b, segment_flow, n_prog):
    """:func:`add_flows` for ``n_prog`` programmes."""
    for i in range(segment.shape[0]):
        s = segment[i]
        for p in range(n_prog):
            segment_flow[s, p] += flow_b[p, i]


def coverage(segment_flow: np.ndarray, member_count: np.ndarray) -> np.ndarray:
    """Share of the catchment's records that flow, per programme (0 for an empty catchment)."""
    held = member_count.sum(axis=0)
    return np.divide(segment_flow.sum(axis=0), held, out=np.zeros(held.shape), where=held > 0)


def representativeness(segment_flow: np.ndarray, member_count: np.ndarray) -> np.ndarray:
    """1 minus the total-variation distance between the segment mix of shared records and of the
    catchment, per programme (1: opt-outs spread evenly; 0: one segment missing entirely)."""
    held = member_count.sum(axis=0)
    population = np.divide(member_count, held, out=np.zeros(member_count.shape), where=held > 0)
    total = segment_flow.sum(axis=0)
    shared = np.divide(segment_flow, total, out=np.zeros_like(segment_flow), where=total > 0)
    return 1.0 - 0.5 * np.abs(shared - population).sum(axis=0)


def _coverage_and_representativeness(segment_flow: np.ndarray, member_count: np.ndarray
                                      ) -> tuple[np.ndarray, np.ndarray]:
    """:func:`coverage` and :func:`representativeness` by the same operations, with the sums
    they share taken once."""
    held = member_count.sum(axis=0)
    some = held > 0
    total = segment_flow.sum(axis=0)
    cover = np.divide(total, held, out=np.zeros(held.shape), where=some)
    population = np.divide(member_count, held, out=np.zeros(member_count.shape), where=some)
    shared = np.divide(segment_flow, total, out=np.zeros_like(segment_flow), where=total > 0)
    return cover, 1.0 - 0.5 * np.abs(shared - population).sum(axis=0)


def public_benefit(plan: SharingPlan, cover: np.ndarray, represent: np.ndarray) -> float:
    """Benefit to the public from programmes that are not direct services."""
    return float(np.sum(plan.public_weight * cover * represent))


def exposure_by_purpose(table: ProgrammeTable, params: TrustParams) -> np.ndarray:
    """What sharing for each purpose exposes (P x 3): sensitivity x recipient penalty x
    (``commercial_risk`` for commercial re-use, else 1)."""
    purpose = np.ones(3)
    purpose[_COMMERCIAL] = params.commercial_risk
    return (table.sensitivity * table.recipient_penalty)[:, None] * purpose[None, :]


def exposure(table: ProgrammeTable, params: TrustParams) -> np.ndarray:
    """What sharing exposes, as citizens see it: sensitivity x recipient penalty x purpose,
    weighted by the programme's uses of the records.

    The security of a flow is invisible to citizens, and who receives the data weighs more than
    the safeguards (CDEI tracker wave 4, domain.md SF3), so a consent choice weighs exposure.
    """
    return (table.uses * exposure_by_purpose(table, params)).sum(axis=1)


def risk(table: ProgrammeTable, params: TrustParams) -> np.ndarray:
    """Perceived risk of each programme: its exposure x insecurity."""
    return exposure(table, params) * (1.0 - table.security)


def attitude_terms(table: ProgrammeTable, params: TrustParams) -> tuple[np.ndarray, np.ndarray]:
    """Shift of equilibrium trust per programme: (for everyone, per unit of concern).

    The privacy calculus (SF2): announced sharing for a public purpose raises trust by its
    benefit; its risk lowers trust in proportion to the citizen's concern. Hidden sharing is not
    felt until it is discovered.
    """
    public_purpose = 1.0 - table.uses[:, _COMMERCIAL]
    base = params.benefit_attitude * table.benefit * public_purpose * table.visible
    per_concern = -params.risk_attitude * risk(table, params) * table.visible
    return base, per_concern
