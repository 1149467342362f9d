"""TrustModel: citizens' trust in public-sector data sharing, one week per step.

Read this file to see the whole model: what it holds, and the fixed order in which the
mechanisms run each week. Each mechanism lives in the module named for it, which owns a *plan*
(what it reads from the programmes and parameters, rebuilt after any policy change) and a
``step`` function over the citizens' arrays.

Step order (synchronous: every citizen's update reads the state as it was before that phase):

1. programmes' own decision rules pause, cancel or reform them, on the state the last week
   left                                                                 (sim.institutions);
   then events due this step apply (policy changes, pauses, deadlines, breaches, scandals,
   campaigns)                                                           (sim.events)
2. sharing: records flow under each programme's consent regime, mandate and barriers (the
   cultural one moving with trust in the recipient); citizens receive service benefit and
   compare it with what they expected                                    (sim.sharing);
   valued programmes' benefit, harm and evidence in real units           (sim.public_value)
3. breaches: stochastic breaches and discoveries of hidden sharing; victims and the news raise
   the salience of the programme                                        (sim.breaches)
4. trust: experience, news, attitudes, drift and social influence move trust (sim.trust,
   sim.social_influence); the week's partner search reads only trust and the network, so on
   several threads it runs beside 2 and 3 (sim.parallel.Pool.start), with the same numbers
5. control: citizens opt out or back in; then salience fades            (sim.control)
6. outputs are recorded                                                 (sim.results)
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

import mesa
import numpy as np
import pandas as pd
import scipy.sparse as sp

from sim import (
    agents,
    baseline,
    breaches,
    campaigns,
    control,
    demography,
    institutions,
    parallel,
    population,
    public_value,
    sharing,
    trust,
    world,
)
from sim.agencies import AgencySpec
from sim.agents import Agency, Citizen
from sim.breaches import Incident
from sim.citizens import STATE, Citizens, aligned_full, initialise
from sim.events import Event
from sim.network import Ties, build_ties
from sim.params import NetworkParams, TrustParams
from sim.programmes import PURPOSES, Consent, Programme, ProgrammeTable, Regime
from sim.results import (
    CORE_OUTPUTS,
    Collector,
    GroupResults,
    Results,
    group_output_names,
    output_names,
)
from sim.segments import NHS_SEGMENTS, Segment
from sim.streams import SeedLike, Serials, Streams, seed_sequence

T = TypeVar("T")

#: Populations up to this size get a Mesa ``Citizen`` agent per citizen unless told otherwise.
CITIZEN_AGENTS_MAX = 100_000
#: The largest population whose agents' data the DataCollector collects (``agent_reporters``):
#: above it, a Python tuple per citizen and step costs minutes and gigabytes over a run.
AGENT_REPORTERS_MAX = 10_000


@dataclass(frozen=True)
class Plans:
    """Each mechanism's plan for the programmes as they are now."""

    table: ProgrammeTable
    sharing: sharing.SharingPlan
    trust: trust.TrustPlan
    control: control.ControlPlan
    value: public_value.ValuePlan

    @classmethod
    def build(cls, programmes: Sequence[Programme], agencies: Sequence[AgencySpec],
              params: TrustParams, consent_constant: np.ndarray, salt: int = 0) -> Plans:
        table = ProgrammeTable.build(programmes, agencies, salt)
        return cls(table=table, sharing=sharing.SharingPlan.build(table, params),
                   trust=trust.TrustPlan.build(table, params, len(agencies) + 1),
                   control=control.ControlPlan.build(table, params, programmes,
                                                     consent_constant),
                   value=public_value.ValuePlan.build(programmes, table))


class TrustModel(mesa.Model):
    """Citizens, agencies and sharing programmes; trust, opt-outs and benefit over time.

    Args:
        n_citizens: population size.
        agencies, programmes, segments: the world; default: the baseline (sim.baseline) and the
            six NHS attitude segments.
        events: the timeline (sim.events), applied at the start of their steps.
        params: behavioural parameters (a ``TrustParams`` or a dict); single parameters can also
            be given as keyword arguments, e.g. ``TrustModel(loss_aversion=3)``.
        network: the network's shape (a ``NetworkParams`` or a dict).
        n_steps: steps to preallocate results for (a longer run grows them).
        steps: the run's length: ``running`` turns False once the model has taken this many
            steps, so Mesa's ``run_model()`` and ``batch_run`` stop there; None (the default):
            it runs until told to stop. ``Scenario.build`` passes the scenario's ``steps``.
        agent_reporters: also collect per-agent data each step (``sim.agents.agent_reporters``),
            for ``datacollector.get_agent_vars_dataframe()``; only for populations of up to
            ``AGENT_REPORTERS_MAX`` citizens, with citizen agents (one Python row per citizen and
            step is slow and large).
        citizen_agents: register a Mesa ``Citizen`` view per citizen; default: only when
            ``n_citizens <= 100_000`` (1M views would cost about 5 s and 650 MB).
        rng: Mesa's seed argument: an int, a ``numpy.random.SeedSequence`` or None. Every random
            draw of the model comes from it (sim.streams).
        threads: threads for the kernels of one step (sim.parallel); the numbers are the same
            whatever the number. Worth it for large populations (a million citizens or more).
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
        network: NetworkParams | dict[str, Any] | None = None,
        n_steps: int = 156,
        steps: int | None = None,
        agent_reporters: bool = False,
        citizen_agents: bool | None = None,
        rng: SeedLike = None,
        threads: int = 1,
        **param_overrides: Any,
    ):
        seed = seed_sequence(rng)
        super().__init__(rng=seed)
        if n_citizens < 2:
            raise ValueError(f"n_citizens must be at least 2, got {n_citizens}")
        if steps is not None and steps < 0:
            raise ValueError(f"steps must be at least 0 (or None), got {steps}")
        if agent_reporters:
            _check_agent_reporters(n_citizens, citizen_agents)
        self.last_step = steps
        self.pool = parallel.Pool(threads)
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

        shape = network if isinstance(network, NetworkParams) else NetworkParams(**network or {})
        self.citizens = Citizens(n, n_cols, n_prog, self.pool)
        places = population.place(self.citizens, self.streams)
        self.places = places  # where each run of one region and quintile ends (sim.population)
        built: list[Ties] = []  # the network's build reads none of the citizens' draws

        def network() -> None:
            built.append(build_ties(n, self.streams.generator("network", 0), shape, places))

        initialise(self.citizens, self.segments, self.agency_specs, self.params, self.streams,
                   shape.homophily, self.pool, beside=(network,))
        self.ties = built[0]
        population.people(self.citizens, self.segments, self.streams)
        self.segment_count = np.bincount(self.citizens.segment, minlength=len(self.segments))
        self._segment_divisor = np.maximum(self.segment_count, 1)  # of the opt-out rates
        self.cell_count = population.cell_counts(self.citizens)
        # citizens per group (at least 1), the denominator of every group output
        self._group_count = np.maximum(demography.by_group(self.cell_count), 1)[:, None]
        self.catchment_salt = int(self.streams.generator("catchment", 0).integers(2**32))
        self.member_count = np.zeros((len(self.segments), n_prog), np.int64)
        self._catchments: tuple | None = None
        self.consent_constant = np.full(n_prog, self.params.share_intercept)
        self._refresh()
        # Observed starting shares fix each programme's utility constant; the starting choices
        # are then the equilibrium of the choice process.
        control.initial_awareness(self.citizens, self.table,
                                  self.streams.generator("awareness", 0), self.pool)
        self.consent_constant = control.fit_constants(self.plans.control, self.citizens,
                                                      self.programmes, self.params, self.pool)
        self._refresh()
        for p in range(n_prog):
            control.initial_choices(
                self.plans.control, self.citizens, p, self.params,
                self.streams.generator("initial_choice", 0, p),
                lambda k, p=p: self.streams.generator("initial_refusal", 0, p, k), self.pool)
        # Survey trust already reflects today's programmes: it is the equilibrium, so the
        # disposition is what trust would be without their attitude effects. Grievances at the
        # start are part of that status quo too: the disposition absorbs them. (Nothing above
        # reads the disposition, and the trust plan does not depend on the fitted constants.)
        self.plans.control.attitudes(self.citizens, pool=self.pool)
        self.plans.trust.lower_dispositions(self.citizens, self.pool)

        self.agencies = [Agency(self, spec, k) for k, spec in enumerate(self.agency_specs)]
        if citizen_agents is None:
            citizen_agents = n <= CITIZEN_AGENTS_MAX
        if citizen_agents:
            Citizen.create_agents(self, n, row=list(range(n)))

        # the cultural barrier follows trust relative to where it starts (sim.sharing): the
        # means (float64 sums over all citizens, in order) run beside the rest of the set-up,
        # which reads trust but never writes it
        trust_start = _beside(self.pool, self.citizens.trust.mean, axis=0, dtype=np.float64)
        self._trust_ratio = np.ones(n_cols)
        self.culture = np.ones(n_prog)

        self.events: list[Event] = sorted(events, key=lambda e: e.step)
        self.incidents: list[Incident] = []
        self.watch = institutions.Watch()  # the programmes' decision rules (sim.institutions)
        self.cancelled: set[str] = set()  # programmes cancelled for good: they never resume
        self.serials = Serials()
        self.results = Results(
            output_names(names, [s.key for s in self.segments],
                         [p.name for p in self.programmes],
                         public_value.entries(self.programmes)), n_steps)
        self._columns = _Columns.of(self.results.index, names, self.segments, self.programmes)
        self.group_results = GroupResults(demography.group_labels(), group_output_names(names),
                                          n_steps)
        self._measure_initial_state()
        # the partners' trust rows, allocated once set-up's temporaries are gone
        self._neighbour = aligned_full(self.citizens.trust.shape, 0.0, np.float32,
                                       pool=self.pool)
        # the choices as they were at the start of a week's consent step (sim.control.step)
        self._previous_choice = aligned_full(self.citizens.choice.shape, 0, np.int8,
                                             pool=self.pool)
        self._trust_start = trust_start()
        self.datacollector = Collector(
            self.results, lambda name: partial(_latest, name=name),
            agent_reporters=agents.agent_reporters(self) if agent_reporters else None)
        self.datacollector.collect(self)

    ties: Ties  # the citizen network, compact (sim.network)

    @property
    def network(self) -> sp.csr_array:
        """The citizen network as a list of ties (a symmetric CSR adjacency), built from
        :attr:`ties` on each call: for analysis, about 40 bytes per citizen."""
        return self.ties.csr()

    @staticmethod
    def bytes_per_citizen(n_cols: int, n_programmes: int, citizen_agents: bool = False) -> float:
        """Peak memory per citizen, from the declared state plus buffers, network and set-up.

        Used to refuse a population too large for the machine before building it.
        """
        width = {"citizen": 1, "trust": n_cols, "programme": n_programmes}
        state = sum(np.dtype(v.dtype).itemsize * width[v.axis] for v in STATE)
        buffers = 4 * n_cols + n_programmes  # the partners' trust rows, last week's choices
        network = 5 + 4  # sim.network.Ties: five int8 counts, one int32 long-range partner
        # the largest of what comes and goes: a week's copy of the refusals (under dynamic
        # consent), set-up's scratch (the constant fit's float64 shares and utilities; building
        # the network: a permutation, int64 then int32, and the pairs)
        transient = max(n_programmes, 16) + 2
        agents = 700 if citizen_agents else 0  # a registered Mesa agent (Mesa 3.3: ~650 B)
        return state + buffers + network + transient + agents

    # ------------------------------------------------------------------ the week
    def step(self) -> None:
        """One week, in the order given in the module docstring."""
        t, c = self.steps, self.citizens
        self.serials.clear()
        institutions.step(self, t)
        self._apply_events(t)
        self.culture = self.plans.sharing.culture(self._trust_ratio)
        # the week's conversations start on the pool's other threads (step 4's partner search
        # reads only trust and the network, which steps 2 and 3 do not write; on one thread
        # it runs when the block ends)
        with trust.meet(c, self.ties, self.streams, t, self._neighbour, self.pool):
            cover, represent = sharing.step(self.plans.sharing, c, self.member_count,
                                            self.culture)
            worth = public_value.measure(self.plans.value, self.plans.sharing, c, self.culture)
            breaches.step(self, t, cover)
            service = float(c.benefit.mean(dtype=np.float64))
        plans = self.plans  # events and breaches may have changed the programmes
        trust_sum, trust_sumsq = trust.move(plans.trust, c, self._neighbour, self.pool)
        self._trust_ratio = np.divide(trust_sum / c.n, self._trust_start,
                                      out=np.ones_like(trust_sum), where=self._trust_start > 0)
        out_by_segment, willing = control.step(plans.control, c, self.streams, t,
                                               len(self.segments), self.culture, self.pool,
                                               self._previous_choice)
        self._record(t, cover, represent, trust_sum, trust_sumsq, out_by_segment, willing,
                     worth, service)
        self.datacollector.collect(self)

    # ------------------------------------------------------------------ outputs
    def _record(self, t, cover, represent, trust_sum, trust_sumsq, out_by_segment,
                willing, worth, service) -> None:
        n = self.n_citizens
        mean = trust_sum / n
        general_var = max(trust_sumsq[-1] / n - mean[-1] ** 2, 0.0)
        col = self._columns
        row = self.results.row(t)
        row[col.core] = (
            mean[-1],  # trust_mean
            np.sqrt(general_var),  # trust_sd
            out_by_segment.sum() / n,  # opt_out_rate
            float(cover.mean()) if len(cover) else 0.0,  # data_coverage
            service,  # service_benefit
            sharing.public_benefit(self.plans.sharing, cover, represent),
            breaches.breaches_at(self.incidents, t),
        )
        row[col.trust] = mean[col.trust_from]
        row[col.opt_out] = out_by_segment / self._segment_divisor
        row[col.coverage] = cover
        row[col.willing] = willing / n
        row[col.refusing] = self._refusing()
        index = self.results.index
        for name, value in worth.items():
            row[index[name]] = value
        if self.group_outputs:
            self._record_groups(t)

    #: Record the outputs by group each step (:meth:`groups_timeseries`). A caller that reads
    #: only the time series may set it False to save their pass over the citizens each step;
    #: the steps taken meanwhile have no group outputs (NaN).
    group_outputs: bool = True

    def _record_groups(self, t: int) -> None:
        """Opt-out and mean trust in every region and demographic group (one pass, by cell).

        Chunks of citizens run on the pool, each ending where a place ends: a place's cells
        are its own, so each cell's sum runs over its citizens in order in one chunk, into the
        chunk's own table (tables shared by threads would share cache lines); adding the
        tables then adds each cell's sum to zeros only."""
        c = self.citizens
        n_cols = c.trust.shape[1]
        ranges = self.pool.ranges(c.n, self.places)
        codes = population.codes(c)
        has_choice = self.table.regime != Regime.NONE
        if len(ranges) == 1:  # one pass into the one table
            trust_sum = np.zeros((demography.N_CELLS, n_cols))
            out_count = np.zeros(demography.N_CELLS, np.int64)
            population.tally(*codes, c.trust, c.choice, has_choice, trust_sum, out_count)
        else:
            trust_sums = np.zeros((len(ranges), demography.N_CELLS, n_cols))
            out_counts = np.zeros((len(ranges), demography.N_CELLS), np.int64)

            def chunk(k: int, start: int, stop: int) -> None:
                rows = slice(start, stop)
                population.tally(*(code[rows] for code in codes), c.trust[rows],
                                 c.choice[rows], has_choice, trust_sums[k], out_counts[k])

            self.pool.run(chunk, ranges)
            trust_sum, out_count = trust_sums.sum(axis=0), out_counts.sum(axis=0)
        count = self._group_count
        mean = demography.by_group(trust_sum) / count
        rate = demography.by_group(out_count)[:, None] / count
        self.group_results.record(t, np.hstack([rate, mean[:, -1:], mean[:, :-1]]))

    def _refusing(self) -> list[float]:
        """Share of citizens refusing each purpose in at least one dynamic programme."""
        if not self.plans.sharing.dynamic:
            return [0.0] * len(PURPOSES)
        dynamic = np.flatnonzero(self.table.regime == Regime.DYNAMIC)
        if not len(dynamic):
            return [0.0] * len(PURPOSES)
        bits = np.bitwise_or.reduce(self.citizens.refused[:, dynamic], axis=1)
        return [float(((bits >> k) & 1).mean()) for k in range(len(PURPOSES))]

    def _measure_initial_state(self) -> None:
        """Record step 0; set expectations to the benefit the citizens already get."""
        c = self.citizens
        cover, represent = sharing.step(self.plans.sharing, c, self.member_count,
                                        pool=self.pool)
        worth = public_value.measure(self.plans.value, self.plans.sharing, c)
        c.expectation[:] = c.benefit
        c.gap[:] = 0.0
        n_cols = c.trust.shape[1]
        trust_sum, trust_sumsq = np.zeros(n_cols), np.zeros(n_cols)
        trust.column_sums(c.trust, trust_sum, trust_sumsq)
        has_choice = self.table.regime != Regime.NONE
        out_by_segment = np.zeros(len(self.segments), np.int64)
        population.count_out(c.segment, c.choice, has_choice, out_by_segment)
        willing = self.plans.control.attitudes(c, pool=self.pool)
        self._record(0, cover, represent, trust_sum, trust_sumsq, out_by_segment, willing,
                     worth, float(c.benefit.mean(dtype=np.float64)))

    def timeseries(self) -> pd.DataFrame:
        """All outputs, one row per step from 0 (the initial state) to now."""
        return self.results.frame()

    def groups_timeseries(self) -> pd.DataFrame:
        """Outputs by region and demographic group, one row per step, group and output (tidy):
        columns ``step``, ``group_kind`` (region, sex, age_band, deprivation), ``group``,
        ``output`` (``opt_out_rate``, ``trust_mean``, ``trust_<agency>``) and ``value``."""
        return self.group_results.frame()

    # ------------------------------------------------------------------ Mesa conventions
    last_step: int | None = None  # the ``steps`` argument (set before Mesa sets ``running``)
    _running: bool = True

    @property
    def running(self) -> bool:
        """Mesa's flag: False once the model has taken its ``steps`` (or once set False), so
        ``run_model()`` and ``batch_run`` stop at the end of the run."""
        return self._running and (self.last_step is None or self.steps < self.last_step)

    @running.setter
    def running(self, value: bool) -> None:
        self._running = bool(value)

    def citizens_frame(self) -> pd.DataFrame:
        """Every citizen's state now, one row per citizen, for pandas rather than raw arrays.

        Columns: ``id`` (the citizen's row), ``agent_id`` (its Mesa ``unique_id``; missing
        without citizen agents), ``segment`` (the segment's key), ``region``, ``sex``,
        ``age_band`` and ``deprivation`` (by their labels, e.g. ``london``, ``40-49``, ``q1``
        for the most deprived quintile), then every other state variable of
        ``sim.citizens.STATE`` in order: one column per citizen variable, one per agency
        and ``general`` for trust and disposition (``trust_nhs``, ``trust_general``), one per
        programme for the consent state (``choice_gp_records``, ``aware_gp_records``, ...);
        then ``opted_out_<programme>``: opted out of a programme that offers a choice.
        """
        return agents.citizens_frame(self)

    # ------------------------------------------------------------------ programmes and events
    def _check_world(self) -> None:
        found = world.problems(self.agency_specs, self.programmes, self.segments)
        if found:
            raise ValueError("; ".join(f"{path}: {message}" for path, message in found))

    def _refresh(self) -> None:
        """Rebuild the mechanisms' plans from the programmes (after any policy change), and
        count each catchment's members again if a catchment changed."""
        self.plans = Plans.build(self.programmes, self.agency_specs, self.params,
                                 self.consent_constant, self.catchment_salt)
        t = self.plans.table
        now = (t.member.tobytes(), t.subject_share.tobytes(), t.subject_key.tobytes())
        if now != self._catchments:
            self.member_count = sharing.member_counts(
                population.codes(self.citizens), self.citizens.segment, self.segment_count,
                t.member, t.subject_share, t.subject_key, t.everyone)
            self._catchments = now

    @property
    def table(self) -> ProgrammeTable:
        """The programmes' fields as arrays, as the mechanisms read them now."""
        return self.plans.table

    def programme_index(self, name: str) -> int:
        for p, prog in enumerate(self.programmes):
            if prog.name == name:
                return p
        raise KeyError(f"no programme {name!r} (programmes: "
                       f"{', '.join(p.name for p in self.programmes)})")

    def update_programme(self, name: str, **changes: Any) -> None:
        """Change a programme's fields (validated) and everything derived from them. A
        programme cancelled by its decision rule (sim.institutions) stays inactive."""
        p = self.programme_index(name)
        if name in self.cancelled and changes.get("active"):
            changes = {k: v for k, v in changes.items() if k != "active"}
        before = self.programmes[p]
        self.programmes[p] = before.changed_in_run(**changes)
        self._check_world()
        self._refresh()
        after = self.programmes[p]
        if after.consent is Consent.DYNAMIC and (before.consent is not Consent.DYNAMIC
                                                 or after.uses != before.uses
                                                 or after.purpose is not before.purpose):
            if before.consent is not Consent.DYNAMIC:
                self.citizens.refused[:, p] = 0  # bits of an earlier dynamic spell are stale
            control.start_dynamic(self.plans.control, self.citizens, p)
        if after.consent not in (before.consent, Consent.NONE):
            control.request_consent(self.citizens, p)

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

    # the public face of the event mechanisms (sim.breaches, sim.campaigns)
    def breach(self, programme: str, severity: float | None = None,
               publicity: float | None = None) -> None:
        """A breach of ``programme`` now (:func:`sim.breaches.breach`)."""
        breaches.breach(self, programme, severity, publicity)

    def reveal(self, programme: str, severity: float, publicity: float) -> None:
        """A revelation about ``programme`` now (:func:`sim.breaches.reveal`)."""
        breaches.reveal(self, programme, severity, publicity)

    def announce_choice(self, programme: str, reach: float) -> None:
        """Tell a ``reach`` share of citizens of their choice about ``programme``
        (:func:`sim.control.announce`)."""
        control.announce(self, programme, reach)

    def campaign(self, programme: str, strength: float, reach: float) -> None:
        """One week of a public information campaign (:func:`sim.campaigns.run_week`)."""
        campaigns.run_week(self, programme, strength, reach)


def _beside(pool: parallel.Pool, function: Callable[..., T], *args: Any, **kwargs: Any
            ) -> Callable[[], T]:
    """Start ``function(*args, **kwargs)`` on a thread of its own when ``pool`` has several
    (numpy releases the GIL in its loops), else call it now; the returned function waits for
    the result."""
    if pool.threads == 1:
        result = function(*args, **kwargs)
        return lambda: result
    done: list[Any] = []

    def run() -> None:
        try:
            done.append((True, function(*args, **kwargs)))
        except BaseException as error:  # raised again by the waiting thread
            done.append((False, error))

    thread = threading.Thread(target=run, name="trustsim-beside")
    thread.start()

    def wait() -> T:
        thread.join()
        ok, value = done[0]
        if not ok:
            raise value
        return value

    return wait


def _check_agent_reporters(n: int, citizen_agents: bool | None) -> None:
    """Refuse agent reporters where they cannot work or would cost too much."""
    if n > AGENT_REPORTERS_MAX:
        raise ValueError(
            f"agent_reporters=True collects one Python row per citizen and step, which is only "
            f"practical for up to {AGENT_REPORTERS_MAX:,} citizens (this model has {n:,}); use "
            "model.citizens_frame() at the steps you need, or a smaller population.")
    if citizen_agents is False:
        raise ValueError("agent_reporters=True needs the citizens as Mesa agents; leave "
                         "citizen_agents unset or set it True.")


@dataclass(frozen=True)
class _Columns:
    """Where each block of outputs goes in a row of the results (column indices)."""

    core: np.ndarray  # the CORE_OUTPUTS, in order
    trust: np.ndarray  # trust_<agency>, in agency order
    trust_from: np.ndarray  # each agency's trust column
    opt_out: np.ndarray  # opt_out_<segment>
    coverage: np.ndarray  # coverage_<programme>
    willing: np.ndarray  # willing_<programme>
    refusing: np.ndarray  # refusing_<purpose>, in PURPOSES order

    @classmethod
    def of(cls, index: dict[str, int], agencies: Sequence[str], segments: Sequence[Segment],
           programmes: Sequence[Programme]) -> _Columns:
        """The columns of these agencies (whose trust columns come in this order, then
        general trust), segments and programmes in the results' ``index``."""
        def at(names: Sequence[str]) -> np.ndarray:
            return np.array([index[name] for name in names], np.intp)

        return cls(core=at(CORE_OUTPUTS), trust=at([f"trust_{a}" for a in agencies]),
                   trust_from=np.arange(len(agencies)),
                   opt_out=at([f"opt_out_{s.key}" for s in segments]),
                   coverage=at([f"coverage_{p.name}" for p in programmes]),
                   willing=at([f"willing_{p.name}" for p in programmes]),
                   refusing=at([f"refusing_{k.value}" for k in PURPOSES]))


def _latest(model: TrustModel, name: str) -> float:
    """A DataCollector reporter (through ``functools.partial``): the latest value of an output."""
    return model.results.latest(name)
