"""Breaches and misuse: when they happen, whom they hit, and how far the news travels.

A programme's weekly breach hazard rises with the volume it shares (coverage) and the number of
recipients, and falls with security. A breach has a severity; its direct victims are citizens
whose records flowed, so only citizens in the programme's catchment (sim.catchment); its
publicity reaches a share of everyone else, nationally or only in the catchment's regions
(media amplification, SARF). Each hit raises the citizen's *salience* of that programme, which
drives trust down over the next weeks as it fades (sim.trust) and prompts opt-outs
(sim.control). Sharing that was hidden and is then discovered hits harder than the same sharing
announced.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from sim import population, sharing
from sim.params import TrustParams
from sim.programmes import ProgrammeTable

if TYPE_CHECKING:
    from sim.model import TrustModel


@dataclass(frozen=True)
class Incident:
    """One breach or revelation about one programme, as recorded in ``model.incidents``."""

    step: int
    programme: str
    kind: str  # "breach" or "revelation"
    severity: float
    publicity: float
    victims: int
    reached: int
    hidden: bool


def hazard(table: ProgrammeTable, cover: np.ndarray, params: TrustParams) -> np.ndarray:
    """Weekly breach probability per programme.

    ``lambda = breach_rate / 52 * coverage * n_recipients ** e * 2 * (1 - security)``, so
    ``breach_rate`` is the yearly rate at full coverage, one recipient and security 0.5;
    the probability of at least one breach in the week is ``1 - exp(-lambda)``.
    """
    rate = (table.breach_rate / 52.0 * cover * table.n_recipients ** params.recipients_exponent
            * 2.0 * (1.0 - table.security) * table.active)
    return -np.expm1(-rate)


def discovery_hazard(table: ProgrammeTable) -> np.ndarray:
    """Weekly probability that a hidden, active programme is discovered."""
    hidden = table.active & ~table.visible  # active but not announced
    return -np.expm1(-table.discovery_rate / 52.0) * hidden


def draw_severity(mean: float, concentration: float, rng: np.random.Generator) -> float:
    """A breach's severity, beta-distributed around the programme's mean severity."""
    return float(rng.beta(concentration * mean, concentration * (1.0 - mean)))


def victims_of(flow: np.ndarray, sev: float, params: TrustParams, draw: np.ndarray
               ) -> np.ndarray:
    """Citizens whose exposed records make them victims: ``draw < victim_share * sev * flow``."""
    return draw < params.victim_share * sev * flow


def reached(publicity: float, draw: np.ndarray, local: np.ndarray | None = None) -> np.ndarray:
    """Citizens the news reaches: a ``publicity`` share of the population, or of those for whom
    ``local`` is true (local news: the residents of the catchment's regions)."""
    reach = draw < publicity
    if local is not None:
        reach &= local
    return reach


def surprise(transparency: float, hidden: bool, params: TrustParams) -> float:
    """How much news of an incident is felt beyond its severity, by what people had been told:
    ``hidden_multiplier`` for hidden sharing, ``1 + (H - 1)(1 - transparency)`` for announced
    sharing, so fully explained sharing surprises no one (expectancy violation; domain.md 2.2
    and SF6)."""
    told = 0.0 if hidden else transparency
    return 1.0 + (params.hidden_multiplier - 1.0) * (1.0 - told)


def hit(salience: np.ndarray, victim: np.ndarray | None, reach: np.ndarray, sev: float,
        params: TrustParams, surprise: float) -> None:
    """Raise one programme's salience column for victims and for those the news reached.

    Victims gain ``victim_weight * s * surprise`` and the reached ``media_amplification * s *
    surprise`` (the larger of the two for a victim who also read the news).
    """
    scale = sev * surprise
    add = np.where(reach, np.float32(params.media_amplification * scale), np.float32(0))
    if victim is not None:
        np.maximum(add, np.where(victim, np.float32(params.victim_weight * scale), 0), out=add)
    salience += add


# ------------------------------------------------------------------------------ the step
def step(model: TrustModel, t: int, cover: np.ndarray) -> None:
    """This week's stochastic breaches, then discoveries of hidden sharing."""
    draw = model.streams.random("breach", t, len(model.table))
    for p in np.flatnonzero(draw < hazard(model.table, cover, model.params)):
        breach(model, model.programmes[p].name)
    # a breach may just have revealed a hidden programme: read the table afresh
    draw = model.streams.random("discovery", t, len(model.table))
    for p in np.flatnonzero(draw < discovery_hazard(model.table)):
        prog = model.programmes[p]
        reveal(model, prog.name, severity=prog.sensitivity, publicity=prog.publicity)


def breach(model: TrustModel, programme: str, severity: float | None = None,
           publicity: float | None = None) -> None:
    """A breach of ``programme`` now: victims among those whose records flowed, and news.

    Unset severity is drawn around the programme's; unset publicity is the programme's own. A
    breach of hidden sharing reveals it.
    """
    p = model.programme_index(programme)
    prog = model.programmes[p]
    serial = model.serials.next("incident", p)
    if severity is None:
        rng = model.streams.generator("severity", model.steps, p, serial)
        severity = draw_severity(prog.severity, model.params.severity_concentration, rng)
    publicity = prog.publicity if publicity is None else publicity
    _incident(model, p, "breach", severity, publicity, victims=True,
              hidden=not prog.announced, serial=serial)
    if not prog.announced:
        model.update_programme(programme, announced=True)


def reveal(model: TrustModel, programme: str, severity: float, publicity: float) -> None:
    """A revelation about ``programme`` (no victims); if it was hidden, it is now discovered."""
    p = model.programme_index(programme)
    hidden = not model.programmes[p].announced
    _incident(model, p, "revelation", severity, publicity, victims=False, hidden=hidden,
              serial=model.serials.next("incident", p))
    if hidden:
        model.update_programme(programme, announced=True)


def _incident(model: TrustModel, p: int, kind: str, sev: float, publicity: float,
              victims: bool, hidden: bool, serial: int) -> None:
    """Draw an incident's victims and audience, raise their salience, and log it."""
    t, n, c = model.steps, model.n_citizens, model.citizens
    victim = None
    if victims:
        draw = model.streams.uniform("victims", t, n, p, serial)
        flow = sharing.flow_of(model.plans.sharing, c.choice, p, c.refused, model.culture,
                               population.codes(c))
        victim = victims_of(flow, sev, model.params, draw)
    regions = model.table.news_regions[p]
    local = None if regions.all() else regions[c.region]
    reach = reached(publicity, model.streams.uniform("publicity", t, n, p, serial), local)
    felt = surprise(model.programmes[p].transparency, hidden, model.params)
    hit(c.salience[:, p], victim, reach, sev, model.params, felt)
    if kind == "revelation":  # a story about the sharing itself tells of any choice about it
        c.aware[reach, p] = 1
    model.incidents.append(Incident(
        step=t, programme=model.programmes[p].name, kind=kind, severity=sev,
        publicity=publicity, victims=0 if victim is None else int(victim.sum()),
        reached=int(reach.sum()), hidden=hidden))


def breaches_at(incidents: list[Incident], t: int) -> int:
    """How many breaches the log holds for step ``t`` (incidents are logged in step order)."""
    count = 0
    for incident in reversed(incidents):
        if incident.step != t:
            break
        count += incident.kind == "breach"
    return count
