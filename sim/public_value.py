"""Benefit, harm and evidence in real units: what records produce, and what withholding them costs.

A programme that states a ``value`` (sim.valuation) produces, each week, its amount per citizen
of the catchment per year for every record that flows, scaled down by how unrepresentative the
shared records are across the demographic groups the use depends on; a direct service's share of
the records is weighted by need instead, since its value goes to the citizen served. A ``harm``
costs its amount for every record that does not flow (opted out, not yet opted in, held back by
the barriers, paused). ``evidence`` is the spending or decision an evaluation informs, scaled
like a value but with no regard to what the evaluation finds: a null result informs as much as
a positive one.

The citizens stand for the UK's adults (``sim.demography.ADULT_POPULATION``), so a week's amount
is for the whole country: each citizen's record counts ``ADULT_POPULATION / N`` times. Amounts
are summed only within one unit (``total_benefit_<unit>``, ``total_harm_<unit>`` and their
difference ``net_value_<unit>``); trust is reported beside them, never priced.

Representativeness here is by demographic cell (region, sex, age band, deprivation), from one
pass over the citizens that sums each valued programme's flowing and held records per cell; the
attitude-segment representativeness of the ``public_benefit`` index (sim.sharing) is separate.
With no programme valued, nothing here runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numba as nb
import numpy as np

from sim import population
from sim.citizens import Citizens
from sim.demography import ADULT_POPULATION, N_AGES, N_CELLS, N_QUINTILES, N_REGIONS, N_SEXES
from sim.population import cell_of
from sim.programmes import Programme, ProgrammeTable, Purpose, Regime
from sim.results import total_names, worth_name
from sim.sharing import SharingPlan, flow, holds, representativeness, scaled_flows
from sim.valuation import GroupKind, Unit, kinds

WEEKS_PER_YEAR = 52.0
_DIRECT = list(Purpose).index(Purpose.DIRECT_SERVICE)
_KINDS = tuple(GroupKind)


def entries(programmes: Sequence[Programme]) -> list[tuple[str, str, str]]:
    """(kind, programme, unit) of every real-unit amount the programmes state, in programme
    order and, within one, benefit, harm, evidence: the outputs a run of them records."""
    out = []
    for prog in programmes:
        for kind, unit in zip(("benefit", "harm", "evidence"), prog.units(), strict=True):
            if unit is not None:
                out.append((kind, prog.name, unit.value))
    return out


def _mask(depends_on) -> list[bool]:
    wanted = kinds(depends_on)
    return [k in wanted for k in _KINDS]


@dataclass(frozen=True)
class ValuePlan:
    """What the real-unit measurement reads: the programmes with a value, harm or evidence and
    their amounts (rebuilt after a policy change, like every plan)."""

    todo: np.ndarray  # int64 index of each valued programme
    names: tuple[str, ...]  # their names
    value: np.ndarray  # float64 amount per citizen-year (0: unset)
    harm: np.ndarray
    evidence: np.ndarray
    units: tuple[tuple[Unit | None, Unit | None, Unit | None], ...]
    value_kinds: np.ndarray  # bool K x 4: the groupings each value depends on
    evidence_kinds: np.ndarray  # bool K x 4
    direct: np.ndarray  # float64 share of the records used for a direct service

    @classmethod
    def build(cls, programmes: Sequence[Programme], table: ProgrammeTable) -> ValuePlan:
        todo = [p for p, prog in enumerate(programmes) if any(u is not None
                                                              for u in prog.units())]
        chosen = [programmes[p] for p in todo]

        def amount(kind: str) -> np.ndarray:
            return np.array([0.0 if getattr(p, kind) is None
                             else getattr(p, kind).per_citizen_year for p in chosen])

        def mask(kind: str) -> np.ndarray:
            return np.array([_mask(None if getattr(p, kind) is None
                                   else getattr(p, kind).depends_on) for p in chosen],
                            bool).reshape(-1, len(_KINDS))

        return cls(todo=np.array(todo, np.int64), names=tuple(p.name for p in chosen),
                   value=amount("value"), harm=amount("harm"), evidence=amount("evidence"),
                   units=tuple(p.units() for p in chosen), value_kinds=mask("value"),
                   evidence_kinds=mask("evidence"),
                   direct=table.uses[todo, _DIRECT] if todo else np.zeros(0))

    @property
    def empty(self) -> bool:
        return len(self.todo) == 0


@dataclass(frozen=True)
class Records:
    """Per valued programme: flowing and held records by demographic cell (``N_CELLS`` x K),
    and the need-weighted sums of flowing and held records (K)."""

    flowing: np.ndarray
    held: np.ndarray
    need_flowing: np.ndarray
    need_held: np.ndarray


def records(plan: ValuePlan, sharing_plan: SharingPlan, citizens: Citizens,
            culture: np.ndarray | None = None) -> Records:
    """One pass over the citizens: each valued programme's records by cell, flowing as the
    sharing step let them this week (the same choices and ``culture``, sim.sharing)."""
    c, k = citizens, len(plan.todo)
    out = Records(np.zeros((N_CELLS, k)), np.zeros((N_CELLS, k)), np.zeros(k), np.zeros(k))
    refused = c.refused if (sharing_plan.regime[plan.todo] == Regime.DYNAMIC).any() else None
    consent, refuse = scaled_flows(sharing_plan, culture)
    _cell_flows(c.choice, refused, c.need, sharing_plan.regime, sharing_plan.uses, consent,
                refuse, *population.codes(c), sharing_plan.member, sharing_plan.subject_share,
                sharing_plan.subject_key, plan.todo, out.flowing, out.held, out.need_flowing,
                out.need_held)
    return out


@nb.njit(cache=True)
def _cell_flows(choice, refused, need, regime, uses, flow_consent, flow_refused, region, sex,
                age_band, deprivation, member, subject_share, subject_key, todo, flowing, held,
                need_flowing, need_held):
    for i in range(choice.shape[0]):
        cell = cell_of(region, sex, age_band, deprivation, i)
        for k in range(todo.shape[0]):
            p = todo[k]
            if not holds(member, subject_share, subject_key, cell, i, p):
                continue
            f = flow(regime[p], choice[i, p], refused, uses, flow_consent[p], flow_refused[p],
                     i, p)
            flowing[cell, k] += f
            held[cell, k] += 1.0
            need_flowing[k] += f * need[i]
            need_held[k] += need[i]


def group_representativeness(flowing: np.ndarray, held: np.ndarray,
                             mask: np.ndarray) -> np.ndarray:
    """Per programme, the product over the groupings it depends on (``mask``, K x 4) of one
    minus the total-variation distance between the groups' shares of the flowing records and of
    the catchment's records (``sim.sharing.representativeness``, over groups instead of
    segments); 1 for a programme that depends on none."""
    k = flowing.shape[1]
    grid_f = flowing.reshape(N_REGIONS, N_SEXES, N_AGES, N_QUINTILES, k)
    grid_h = held.reshape(N_REGIONS, N_SEXES, N_AGES, N_QUINTILES, k)
    out = np.ones(k)
    for axis in range(len(_KINDS)):
        if not mask[:, axis].any():
            continue
        others = tuple(a for a in range(4) if a != axis)
        r = representativeness(grid_f.sum(axis=others), grid_h.sum(axis=others))
        out = np.where(mask[:, axis], out * r, out)
    return out


def amounts(plan: ValuePlan, rec: Records, n_citizens: int) -> dict[str, np.ndarray]:
    """Per valued programme, this week's benefit, harm and evidence in their units (0 where
    unset), for the adults the ``n_citizens`` stand for:

    ``benefit = V/52 * s * (u_dir * Phi_need + (1 - u_dir) * Phi * R_V)``,
    ``harm = H/52 * s * (|H_p| - Phi)``, ``evidence = E/52 * s * Phi * R_E``,

    with ``Phi`` the flowing records, ``Phi_need`` the flowing records weighted by need relative
    to the catchment's mean need, ``|H_p|`` the records held, ``R`` the representativeness
    over the groupings the value (or evidence) depends on and ``s = ADULT_POPULATION / N``."""
    scale = ADULT_POPULATION / n_citizens / WEEKS_PER_YEAR
    flowing, held = rec.flowing.sum(axis=0), rec.held.sum(axis=0)
    mean_need = np.divide(rec.need_held, held, out=np.zeros_like(held), where=held > 0)
    by_need = np.divide(rec.need_flowing, mean_need, out=np.zeros_like(held), where=mean_need > 0)
    r_value = group_representativeness(rec.flowing, rec.held, plan.value_kinds)
    r_evidence = group_representativeness(rec.flowing, rec.held, plan.evidence_kinds)
    return {
        "benefit": plan.value * scale * (plan.direct * by_need
                                         + (1.0 - plan.direct) * flowing * r_value),
        "harm": plan.harm * scale * (held - flowing),
        "evidence": plan.evidence * scale * flowing * r_evidence,
    }


def outputs(plan: ValuePlan, amount: dict[str, np.ndarray]) -> dict[str, float]:
    """The output columns: each programme's amounts, then per unit the total benefit, the total
    harm and the net value (benefit minus harm), summed only within the unit."""
    out: dict[str, float] = {}
    totals: dict[Unit, list[float]] = {}
    for k, (name, units) in enumerate(zip(plan.names, plan.units, strict=True)):
        for j, (kind, unit) in enumerate(zip(("benefit", "harm", "evidence"), units,
                                             strict=True)):
            if unit is None:
                continue
            out[worth_name(kind, name, unit.value)] = float(amount[kind][k])
            if kind != "evidence":
                totals.setdefault(unit, [0.0, 0.0])[j] += float(amount[kind][k])
    for unit in Unit:
        if unit in totals:
            benefit, harm = totals[unit]
            out.update(zip(total_names(unit.value), (benefit, harm, benefit - harm),
                           strict=True))
    return out


def measure(plan: ValuePlan, sharing_plan: SharingPlan, citizens: Citizens,
            culture: np.ndarray | None = None) -> dict[str, float]:
    """This week's real-unit outputs ({} when no programme is valued)."""
    if plan.empty:
        return {}
    rec = records(plan, sharing_plan, citizens, culture)
    return outputs(plan, amounts(plan, rec, citizens.n))
