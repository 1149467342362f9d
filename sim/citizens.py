"""Citizens: their state as named arrays, one row per citizen.

The state is declared once in :data:`STATE`, with dtype, shape, default and meaning; everything
else (allocation, the Mesa ``Citizen`` view's attributes in sim.agents, the ODD table in
docs/model.md) follows from it.
Trust has one column per agency plus a last column for general trust in public-sector data use.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from sim.agencies import GENERAL_TRUST, AgencySpec
from sim.network import place_like_with_like
from sim.parallel import SERIAL, Pool
from sim.params import TrustParams
from sim.segments import Segment, shares, trust_factors
from sim.streams import Streams

Axis = Literal["citizen", "trust", "programme"]


@dataclass(frozen=True)
class StateVar:
    """One citizen state variable: a 1-D array, or 2-D with a column per trust or programme."""

    name: str
    dtype: type
    axis: Axis
    default: float
    meaning: str


STATE: tuple[StateVar, ...] = (
    StateVar("segment", np.int8, "citizen", 0, "attitude segment (index into the segments)"),
    StateVar("region", np.int8, "citizen", 0,
             "region of residence (index into sim.demography.REGIONS: nine English regions, "
             "Wales, Scotland, Northern Ireland)"),
    StateVar("deprivation", np.int8, "citizen", 0,
             "deprivation quintile of the neighbourhood, 0 the most deprived (IMD quintile 1)"),
    StateVar("age_band", np.int8, "citizen", 0,
             "adult age band (index into sim.demography.AGE_BANDS: 18-29 ... 70+)"),
    StateVar("sex", np.int8, "citizen", 0, "sex: 0 female, 1 male"),
    StateVar("concern", np.float32, "citizen", 0.5, "privacy concern: importance of control, 0-1"),
    StateVar("need", np.float32, "citizen", 0.4, "need for public services, 0-1"),
    StateVar("propensity", np.float32, "citizen", 0.0,
             "the citizen's own taste for sharing, in utility units (fixed)"),
    StateVar("trust", np.float32, "trust", 0.5, "trust in each agency, then general trust, 0-1"),
    StateVar("disposition", np.float32, "trust", 0.5,
             "lasting trust the citizen drifts back to, before the programmes' attitude "
             "effects; large betrayals lower it (memory)"),
    StateVar("choice", np.int8, "programme", 0, "consent choice: 0 default, 1 out, 2 in"),
    StateVar("refused", np.int8, "programme", 0,
             "purposes refused under dynamic consent: bit k set for purpose k (direct "
             "service, planning and research, commercial)"),
    StateVar("aware", np.int8, "programme", 0,
             "knows that it can opt out of (or into) the programme: 1 yes, 0 no"),
    StateVar("salience", np.float32, "programme", 0.0,
             "severity-weighted awareness of recent events about each programme (fades)"),
    StateVar("grievance", np.float32, "programme", 0.0,
             "unwanted sharing: the share of the records flowing that the citizen would refuse, "
             "times the sharing's illegitimacy"),
    StateVar("attention", np.float32, "programme", 0.0,
             "prompts to make a consent choice that are not bad news: campaigns, requests "
             "(fades)"),
    StateVar("benefit", np.float32, "citizen", 0.0, "service benefit received this step"),
    StateVar("expectation", np.float32, "citizen", 0.0, "benefit the citizen expects"),
    StateVar("gap", np.float32, "citizen", 0.0,
             "benefit received this step minus the benefit expected"),
    StateVar("partner", np.int32, "citizen", -1, "this step's conversation partner (-1: none)"),
)


def aligned_full(shape: tuple[int, ...], value: float, dtype: type, align: int = 64,
                 pool: Pool = SERIAL) -> np.ndarray:
    """``np.full`` on a cache-line boundary: a 32-byte trust row then never straddles two
    lines, which makes gathering a partner's row about a third cheaper (measured). Filled in
    chunks of rows on ``pool``: the first touch of fresh memory costs a page fault per page,
    which threads take at once."""
    itemsize = np.dtype(dtype).itemsize
    nbytes = int(np.prod(shape)) * itemsize
    raw = np.empty(nbytes + align, dtype=np.uint8)
    offset = -raw.ctypes.data % align
    out = raw[offset: offset + nbytes].view(dtype).reshape(shape)

    def fill(k: int, start: int, stop: int) -> None:
        out[start:stop].fill(value)

    pool.run(fill, pool.ranges(shape[0]))
    return out


#: Citizens per span of :func:`initialise`'s draws.
INIT_SPAN = 1 << 20


class Citizens:
    """Struct of arrays: ``citizens.trust[i, k]`` is citizen i's trust in column k."""

    def __init__(self, n: int, n_trust: int, n_programmes: int, pool: Pool = SERIAL):
        self.n = n
        widths = {"citizen": None, "trust": n_trust, "programme": n_programmes}
        for var in STATE:
            width = widths[var.axis]
            shape = (n,) if width is None else (n, width)
            setattr(self, var.name, aligned_full(shape, var.default, var.dtype, pool=pool))

    def nbytes(self) -> int:
        return sum(getattr(self, v.name).nbytes for v in STATE)

    def row(self, i: int) -> dict[str, object]:
        """Citizen i's state as plain Python values (for tables and notebooks)."""
        return {v.name: getattr(self, v.name)[i].tolist() for v in STATE}


def initialise(
    citizens: Citizens,
    segments: Sequence[Segment],
    agencies: Sequence[AgencySpec],
    params: TrustParams,
    streams: Streams,
    homophily: float = 0.0,
    pool: Pool = SERIAL,
    beside: Sequence[Callable[[], object]] = (),
) -> None:
    """Draw segments (like beside like, to the degree ``homophily``), concern, need,
    propensity and initial trust (= disposition) for every citizen.

    Initial trust in agency a for a citizen of segment s is ``mu_a * f_s + noise``: the kind's mean
    (domain.md section 5) scaled by the segment's trust relative to the mean (SF8).

    Each stream's draws are made in order by one task, and the tasks run on ``pool`` together
    with ``beside`` (other set-up work that reads none of this, such as the network's build):
    the segments and then need (whose beta draws depend on the segment), trust, concern and
    propensity (which wait for the segments where they read them). Each stream gives the same
    numbers whatever the threads.
    """
    n = citizens.n
    # Every draw is made in spans of citizens from its one generator, which gives the same
    # numbers as one draw of all n and keeps the temporaries (float64, N x K) small.
    spans = [(start, min(start + INIT_SPAN, n)) for start in range(0, n, INIT_SPAN)]
    control = np.array([s.control for s in segments])
    need = np.array([s.need for s in segments])
    k = params.need_concentration
    means = np.array([a.mean_initial_trust for a in agencies] + [GENERAL_TRUST])
    means32 = means[None, :].astype(np.float32)
    factors = trust_factors(segments)
    sd = np.float32(params.initial_trust_sd)
    placed = threading.Event()  # the segments are drawn
    failed: list[bool] = []

    def wait_for_segments() -> None:
        placed.wait()
        if failed:
            raise RuntimeError("initialise: drawing the segments failed")

    def segments_then_need() -> None:
        try:
            fresh, repeat = np.empty(n, np.int8), np.empty(n, np.bool_)
            draw_segment = streams.generator("segment", 0)
            draw_repeat = streams.generator("homophily", 0)
            for start, stop in spans:
                fresh[start:stop] = draw_segment.choice(len(segments), size=stop - start,
                                                        p=shares(segments))
                repeat[start:stop] = draw_repeat.random(stop - start) < homophily
            place_like_with_like(fresh, repeat, citizens.segment)
            del fresh, repeat
        except BaseException:
            failed.append(True)
            raise
        finally:
            placed.set()
        draw = streams.generator("need", 0)
        for start, stop in spans:
            need_mean = need[citizens.segment[start:stop]]
            citizens.need[start:stop] = draw.beta(k * need_mean, k * (1 - need_mean))

    def trust() -> None:
        wait_for_segments()
        draw = streams.generator("trust", 0)
        for start, stop in spans:
            seg = citizens.segment[start:stop]
            trust = citizens.trust[start:stop]
            np.multiply(factors[seg].astype(np.float32)[:, None], means32, out=trust)
            noise = draw.standard_normal(trust.shape, dtype=np.float32)
            noise *= sd
            trust += noise
            np.clip(trust, 0.0, 1.0, out=trust)
            citizens.disposition[start:stop] = trust

    def propensity_and_concern() -> None:
        draw = streams.generator("propensity", 0)
        for start, stop in spans:
            citizens.propensity[start:stop] = draw.normal(0.0, params.propensity_sd,
                                                          stop - start)
        wait_for_segments()
        draw = streams.generator("concern", 0)
        for start, stop in spans:
            noise = draw.normal(0.0, params.concern_sd, stop - start)
            citizens.concern[start:stop] = np.clip(control[citizens.segment[start:stop]] + noise,
                                                   0.0, 1.0)

    # a task waits only for one before it in the list, which the pool has already started
    tasks = [segments_then_need, *beside, trust, propensity_and_concern]
    pool.run(lambda k, start, stop: tasks[k](), [(0, 0)] * len(tasks))
