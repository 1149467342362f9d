"""TrustModel: citizens' trust in public-sector data sharing, one week per step.

Read this file to see the whole model: what it holds, and the fixed order in which the five
mechanisms run each week. Each mechanism is a function over arrays in the module named for it.

Step order (synchronous: every citizen's update reads the state as it was before that phase):

1. events due this step apply (policy changes, pauses, deadlines, breaches, scandals, campaigns)
2. sharing: records flow under each programme's consent regime, mandate and barriers; citizens
   receive service benefit and compare it with what they expected        (sim.sharing)
3. breaches: stochastic breaches and discoveries of hidden sharing; victims and the news raise
   the salience of the programme                                        (sim.breaches)
4. trust: experience, news, attitudes, drift and social influence move trust (sim.trust,
   sim.social_influence)
5. control: citizens opt out or back in; then salience fades            (sim.control)
6. outputs are recorded                                                 (sim.results)
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any

import mesa
import numpy as np
import pandas as pd

from sim import baseline, breaches, control, mandates, sharing, trust
from sim.agencies import Agency, AgencySpec
from sim.breaches import Incident
from sim.citizens import STATE, Citizen, Citizens, aligned_full, initialise
from sim.events import Event, campaign_uplift
from sim.network import build_network
from sim.params import TrustParams
from sim.programmes import Choice, Programme, ProgrammeTable, Regime
from sim.results import Results, output_names
from sim.segments import NHS_SEGMENTS, Segment
from sim.social_influence import gather, partners
from sim.streams import SeedLike, Streams, seed_sequence

#: Populations up to this size get a Mesa ``Citizen`` agent per citizen unless told otherwise.
CITIZEN_AGENTS_MAX = 100_000


class TrustModel(mesa.Model):
    """Citizens, agencies and sharing programmes; trust, opt-outs and benefit over time.

    Args:
        n_citizens: population size.
        agencies, programmes, segments: the world; default: the baseline (sim.baseline) and the
            six NHS attitude segments.
        events: the timeline (sim.events), applied at the start of their steps.
        params: behavioural parameters (a ``TrustParams`` or a dict); single parameters can also
            be given as keyword arguments, e.g. ``TrustModel(loss_aversion=3)``.
        n_steps: steps to preallocate results for (a longer run grows them).
        citizen_agents: register a Mesa ``Citizen`` view per citizen; default: only when
            ``n_citizens <= 100_000`` (1M views would cost about 5 s and 650 MB).
        rng: Mesa's seed argument: an int, a ``numpy.random.SeedSequence`` or None. Every random
            draw of the model comes from it (sim.streams).
    """

    def __init__(
        self,
        n_citizens: int = 10_000,
        *,
        agencies: Sequence[AgencySpec] | None = None,
        programmes: Sequence[Programme] | None = None,
        segments: Sequence[Segment] | None = None,
        events: Sequence[Event] = (),
        params: TrustParams | dict[str, Any] | None = None,
        n_steps: int = 156,
        citizen_agents: bool | None = None,
        rng: SeedLike = None,
        **param_overrides: Any,
    ):
        seed = seed_sequence(rng)
        super().__init__(rng=seed)
        if n_citizens < 2:
            raise ValueError(f"n_citizens must be at least 2, got {n_citizens}")
        self.seed_sequence = seed
        self.streams = Streams(seed)
        base = params.model_dump() if isinstance(params, TrustParams) else dict(params or {})
        self.params = TrustParams(**{**base, **param_overrides})
        self.segments = tuple(segments or NHS_SEGMENTS)
        self.agency_specs = tuple(agencies or baseline.AGENCIES)
        self.programmes = list(programmes if programmes is not None else baseline.PROGRAMMES)
        self._check_world()
        names = [a.name for a in self.agency_specs]
        self.column = {name: k for k, name in enumerate([*names, "general"])}
        self.n_citizens = n = int(n_citizens)
        n_cols, n_prog = len(self.column), len(self.programmes)

        self.network = build_network(n, self.streams.generator("network", 0),
                                     self.params.local_ties, self.params.long_range_ties)
        self.citizens = Citizens(n, n_cols, n_prog)
        initialise(self.citizens, self.segments, self.agency_specs, self.params, self.streams)
        self.segment_count = np.bincount(self.citizens.segment, minlength=len(self.segments))
        self._neighbour = aligned_full(self.citizens.trust.shape, 0.0, np.float32)
        self._gap = np.zeros(n, dtype=np.float32)
        self._refresh()
        # Survey trust already reflects today's programmes: it is the equilibrium, so the
        # disposition is what trust would be without their attitude effects.
        self.citizens.disposition -= (self._attitude_base
                                      + self.citizens.concern[:, None] * self._attitude_concern)
        for p in range(n_prog):
            control.initial_choices(self.citizens, self.table, p, self.programmes[p],
                                    self.params, self.streams.generator("initial_choice", 0, p))

        self.agencies = [Agency(self, spec, k) for k, spec in enumerate(self.agency_specs)]
        if citizen_agents is None:
            citizen_agents = n <= CITIZEN_AGENTS_MAX
        if citizen_agents:
            Citizen.create_agents(self, n, row=list(range(n)))

        self.events: list[Event] = sorted(events, key=lambda e: e.step)
        self.incidents: list[Incident] = []
        self._breaches_now = 0
        self._serials: dict[tuple[str, int], int] = {}
        self.results = Results(
            output_names(names, [s.key for s in self.segments],
                         [p.name for p in self.programmes]), n_steps)
        self._measure_initial_state()
        self.datacollector = mesa.DataCollector(
            model_reporters={name: partial(_latest, name=name) for name in self.results.names})
        self.datacollector.collect(self)

    @staticmethod
    def bytes_per_citizen(n_cols: int, n_programmes: int, citizen_agents: bool = False) -> float:
        """Peak memory per citizen, from the declared state plus buffers, network and set-up.

        Used to refuse a population too large for the machine before building it.
        """
        width = {"citizen": 1, "trust": n_cols, "programme": n_programmes}
        state = sum(np.dtype(v.dtype).itemsize * width[v.axis] for v in STATE)
        buffers = 4 * n_cols + 4 + n_programmes + 8  # partner rows, gap, choice copy, draws
        network = 12 * 5 + 4  # up to ~12 ties: int32 index + int8 data each, int32 indptr
        set_up = 4 * n_cols + 40  # float32 noise, household and pairing arrays
        agents = 700 if citizen_agents else 0  # a registered Mesa agent (Mesa 3.3: ~650 B)
        return state + buffers + network + set_up + agents

    # ------------------------------------------------------------------ the week
    def step(self) -> None:
        """One week, in the order given in the module docstring."""
        t = self.steps
        self._breaches_now = 0
        self._serials.clear()
        self._apply_events(t)
        cover, represent = self._share()
        self._stochastic_incidents(t, cover)
        trust_sum, trust_sumsq = self._update_trust(t)
        out_by_segment = self._choose(t)
        self._record(t, cover, represent, trust_sum, trust_sumsq, out_by_segment)
        self.datacollector.collect(self)

    def _share(self) -> tuple[np.ndarray, np.ndarray]:
        c, table = self.citizens, self.table
        segment_flow = np.zeros((len(self.segments), len(table)))
        sharing.flows(c.choice, c.segment, c.need, c.expectation, table.regime,
                      self._flow_consent, self._flow_refused, self._service_weight,
                      self.params.expectation_rate, c.benefit, self._gap, segment_flow)
        return (sharing.coverage(segment_flow, self.n_citizens),
                sharing.representativeness(segment_flow, self.segment_count))

    def _stochastic_incidents(self, t: int, cover: np.ndarray) -> None:
        table = self.table
        draw = self.streams.generator("breach", t).random(len(table))
        for p in np.flatnonzero(draw < breaches.hazard(table, cover, self.params)):
            self.breach(self.programmes[p].name)
        # a breach may just have revealed a hidden programme: read the table afresh
        draw = self.streams.generator("discovery", t).random(len(self.table))
        for p in np.flatnonzero(draw < breaches.discovery_hazard(self.table)):
            prog = self.programmes[p]
            self.reveal(prog.name, severity=prog.sensitivity, publicity=prog.publicity)

    def _update_trust(self, t: int) -> tuple[np.ndarray, np.ndarray]:
        c, prm = self.citizens, self.params
        partners(self.network.indptr, self.network.indices,
                 self.streams.uniform("partner", t, self.n_citizens), c.partner)
        gather(c.trust, c.partner, self._neighbour)
        col_sum, col_sumsq = np.zeros(len(self.column)), np.zeros(len(self.column))
        f32 = np.float32
        trust.update(c.trust, self._neighbour, c.disposition, c.concern,
                     c.salience, self._spill, self._experience_route, self._gap,
                     self._attitude_base, self._attitude_concern, f32(prm.gain_rate),
                     f32(prm.loss_aversion), f32(prm.drift), f32(prm.confidence_bound),
                     f32(prm.influence_rate), col_sum, col_sumsq)
        return col_sum, col_sumsq

    def _choose(self, t: int) -> np.ndarray:
        c, prm, table = self.citizens, self.params, self.table
        out_by_segment = np.zeros(len(self.segments), dtype=np.int64)
        prompt = control.deadline_prompt(self.programmes, t, prm.deadline_lead)
        f32 = np.float32
        control.decide(c.choice, c.choice.copy(), c.salience, c.trust, c.concern, c.segment,
                       c.partner, self.streams.bits("choice", t, self.n_citizens),
                       table.holder, table.recipient, table.regime, self._act, self._rejoin,
                       prompt.astype(f32), f32(prm.weight_holder), f32(prm.weight_recipient),
                       f32(prm.weight_general), f32(prm.opt_out_threshold),
                       f32(prm.threshold_concern), f32(prm.hysteresis), f32(prm.word_of_mouth),
                       f32(prm.salience_fade), out_by_segment)
        return out_by_segment

    # ------------------------------------------------------------------ outputs
    def _record(self, t, cover, represent, trust_sum, trust_sumsq, out_by_segment) -> None:
        n = self.n_citizens
        mean = trust_sum / n
        general_var = max(trust_sumsq[-1] / n - mean[-1] ** 2, 0.0)
        values = {
            "trust_mean": mean[-1],
            "trust_sd": np.sqrt(general_var),
            "opt_out_rate": out_by_segment.sum() / n,
            "data_coverage": float(cover.mean()) if len(cover) else 0.0,
            "service_benefit": float(self.citizens.benefit.mean(dtype=np.float64)),
            "public_benefit": sharing.public_benefit(self.table, cover, represent),
            "breaches": self._breaches_now,
        }
        values.update({f"trust_{a.name}": mean[a.column] for a in self.agencies})
        rate = out_by_segment / np.maximum(self.segment_count, 1)
        values.update({f"opt_out_{s.key}": r for s, r in zip(self.segments, rate, strict=True)})
        values.update({f"coverage_{p.name}": v for p, v in zip(self.programmes, cover,
                                                               strict=True)})
        self.results.record(t, values)

    def _measure_initial_state(self) -> None:
        """Record step 0; set expectations to the benefit the citizens already get."""
        c = self.citizens
        cover, represent = self._share()
        c.expectation[:] = c.benefit
        self._gap[:] = 0.0
        trust64 = c.trust.astype(np.float64)
        has_choice = self.table.regime != Regime.NONE
        out = ((c.choice == Choice.OUT) & has_choice).any(axis=1)
        out_by_segment = np.bincount(c.segment, weights=out, minlength=len(self.segments))
        self._record(0, cover, represent, trust64.sum(axis=0), (trust64**2).sum(axis=0),
                     out_by_segment)

    def timeseries(self) -> pd.DataFrame:
        """All outputs, one row per step from 0 (the initial state) to now."""
        return self.results.frame()

    # ------------------------------------------------------------------ programmes and events
    def _check_world(self) -> None:
        agencies = [a.name for a in self.agency_specs]
        for kind, names in (("agency", agencies), ("programme", [p.name for p in self.programmes]),
                            ("segment", [s.key for s in self.segments])):
            dupes = sorted({x for x in names if names.count(x) > 1})
            if dupes:
                raise ValueError(f"duplicate {kind} names: {', '.join(dupes)}")
        if "general" in agencies:
            raise ValueError("'general' is reserved for general trust; rename that agency")
        for p in self.programmes:
            for role in ("holder", "recipient"):
                if getattr(p, role) not in agencies:
                    raise ValueError(
                        f"programme {p.name!r}: {role} {getattr(p, role)!r} is not an agency "
                        f"(agencies: {', '.join(agencies)})")

    def _refresh(self) -> None:
        """Recompute everything derived from the programmes (after any policy change)."""
        prm, table = self.params, ProgrammeTable.build(self.programmes, self.agency_specs)
        self.table = table
        n_cols = len(self.column)
        f32 = np.float32  # the kernels compute in float32
        self._flow_consent, self._flow_refused = sharing.flow_weight(table)
        self._service_weight = sharing.service_weight(table)
        self._act = control.act_rate(table, prm).astype(f32)
        self._rejoin = control.rejoin_rate(table, prm).astype(f32)
        self._spill = trust.routing(table, n_cols, prm.holder_blame, prm).astype(f32)
        attitude_route = trust.routing(table, n_cols, 1.0, prm)
        base, per_concern = trust.attitude_offsets(
            [sharing.attitude_terms(table, prm), control.attitude_terms(table, prm),
             mandates.attitude_terms(table, prm)], attitude_route)
        self._attitude_base, self._attitude_concern = base.astype(f32), per_concern.astype(f32)
        self._campaign_route = attitude_route
        self._experience_route = trust.experience_routing(
            self._service_weight, table, n_cols, prm).astype(f32)

    def programme_index(self, name: str) -> int:
        for p, prog in enumerate(self.programmes):
            if prog.name == name:
                return p
        raise KeyError(f"no programme {name!r} (programmes: "
                       f"{', '.join(p.name for p in self.programmes)})")

    def update_programme(self, name: str, **changes: Any) -> None:
        """Change a programme's fields (validated) and everything derived from them."""
        p = self.programme_index(name)
        self.programmes[p] = self.programmes[p].changed(**changes)
        self._check_world()
        self._refresh()

    def schedule(self, event: Event) -> None:
        """Add an event to the timeline (it applies at the start of its step)."""
        if event.step <= self.steps:
            raise ValueError(f"cannot schedule an event at step {event.step}: "
                             f"the model is already at step {self.steps}")
        self.events.append(event)
        self.events.sort(key=lambda e: e.step)

    def _apply_events(self, t: int) -> None:
        while self.events and self.events[0].step <= t:
            self.events.pop(0).apply(self)

    def _flow(self, p: int) -> np.ndarray:
        """Each citizen's flowing share of programme p's records now."""
        consent = control.consent_mask(int(self.table.regime[p]), self.citizens.choice[:, p])
        return np.where(consent, self._flow_consent[p], self._flow_refused[p])

    def _serial(self, kind: str, p: int) -> int:
        """How many draws of this kind for programme p this step came before (a stream sub-key):
        the k-th incident of a programme in a step draws the same numbers in every run."""
        key = (kind, p)
        self._serials[key] = self._serials.get(key, -1) + 1
        return self._serials[key]

    def _hit(self, p: int, kind: str, sev: float, publicity: float, victims: bool,
             hidden: bool, serial: int) -> None:
        t, n = self.steps, self.n_citizens
        victim = None
        if victims:
            draw = self.streams.uniform("victims", t, n, p, serial)
            victim = breaches.victims(self._flow(p), sev, self.params, draw)
        reach = breaches.reached(publicity, self.streams.uniform("publicity", t, n, p, serial))
        breaches.hit(self.citizens.salience[:, p], victim, reach, sev, self.params, hidden)
        self.incidents.append(Incident(
            step=t, programme=self.programmes[p].name, kind=kind, severity=sev,
            publicity=publicity, victims=0 if victim is None else int(victim.sum()),
            reached=int(reach.sum()), hidden=hidden))

    def breach(self, programme: str, severity: float | None = None,
               publicity: float | None = None) -> None:
        """A breach of ``programme`` now; unset severity is drawn, unset publicity is the
        programme's own."""
        p = self.programme_index(programme)
        prog = self.programmes[p]
        serial = self._serial("incident", p)
        if severity is None:
            rng = self.streams.generator("severity", self.steps, p, serial)
            severity = breaches.severity(prog.severity, self.params.severity_concentration, rng)
        publicity = prog.publicity if publicity is None else publicity
        self._breaches_now += 1
        self._hit(p, "breach", severity, publicity, victims=True, hidden=not prog.announced,
                  serial=serial)
        if not prog.announced:  # a breach of hidden sharing reveals it
            self.update_programme(programme, announced=True)

    def reveal(self, programme: str, severity: float, publicity: float) -> None:
        """A revelation about ``programme``; if it was hidden, it is now discovered."""
        p = self.programme_index(programme)
        hidden = not self.programmes[p].announced
        self._hit(p, "revelation", severity, publicity, victims=False, hidden=hidden,
                  serial=self._serial("incident", p))
        if hidden:
            self.update_programme(programme, announced=True)

    def campaign(self, programme: str, strength: float, reach: float) -> None:
        """One week of a public information campaign about ``programme``."""
        p = self.programme_index(programme)
        draw = self.streams.uniform("campaign", self.steps, self.n_citizens, p,
                                    self._serial("campaign", p))
        campaign_uplift(self.citizens.trust, breaches.reached(reach, draw),
                        self._campaign_route[p], self.params.gain_rate, strength)


def _latest(model: TrustModel, name: str) -> float:
    """A DataCollector reporter (through ``functools.partial``): the latest value of an output."""
    return model.results.latest(name)
