"""People and places (sim.demography): the ONS marginals, the age-segment joint, place along the
citizen order, and the outputs by region and demographic group."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim import TrustModel, demography, scenario
from sim.citizens import STATE
from sim.demography import AGE_BANDS, REGIONS, Region
from sim.results import wide_by
from sim.segments import NHS_SEGMENTS

ROOT = Path(__file__).resolve().parents[1]
N = 200_000


@pytest.fixture(scope="module")
def big() -> TrustModel:
    return TrustModel(N, rng=11, citizen_agents=False)


def within_sampling_error(codes: np.ndarray, expected: np.ndarray, n: int) -> None:
    """Observed shares within 4.5 standard errors of the expected ones (a multinomial draw)."""
    observed = np.bincount(codes, minlength=len(expected)) / n
    se = np.sqrt(expected * (1 - expected) / n)
    assert (np.abs(observed - expected) < 4.5 * se + 1e-12).all(), (observed, expected)


# ------------------------------------------------------------------ the sourced shares
def test_the_derived_shares_restate_the_ons_figures():
    assert demography.REGION_POPULATION.sum() == 67_026_292  # domain.md A1, the 12 rows
    assert demography.region_shares()[REGIONS.index(Region.LONDON)] == pytest.approx(0.1312,
                                                                                      abs=1e-4)
    assert demography.sex_shares()[0] == pytest.approx(0.510, abs=5e-4)  # women, A3
    _, share = demography._adult_groups()
    assert share.sum() == pytest.approx(79.08)  # % of England aged 18 or over
    bands = demography.age_shares() * 79.08
    np.testing.assert_allclose(bands, [14.88, 13.7, 12.7, 13.6, 10.7, 13.5], atol=1e-9)


def test_deprivation_keeps_englands_quintiles_and_the_sourced_regional_tilt():
    shares = demography.deprivation_shares()
    np.testing.assert_allclose(shares.sum(axis=1), 1.0)
    england = demography.REGION_POPULATION[:demography.ENGLAND]
    np.testing.assert_allclose(england @ shares[:demography.ENGLAND] / england.sum(), 0.2)
    q1 = dict(zip(REGIONS, shares[:, 0], strict=True))
    assert q1[Region.LONDON] == pytest.approx(107 / 4_835 + 0.1)  # decile 1 + England's 10%
    assert q1[Region.LONDON] < q1[Region.SOUTH_EAST] < q1[Region.NORTH_EAST] < \
        q1[Region.NORTH_WEST]
    np.testing.assert_allclose(shares[demography.ENGLAND:], 0.2)  # each nation's own index


def test_unfamiliar_are_mostly_over_65_and_the_age_marginal_is_kept():
    by_segment = demography.age_shares_by_segment(NHS_SEGMENTS)
    pi = np.array([s.share for s in NHS_SEGMENTS])
    pi /= pi.sum()
    np.testing.assert_allclose(pi @ by_segment, demography.age_shares(), atol=1e-12)
    lower, _ = demography._adult_groups()
    u = [s.key for s in NHS_SEGMENTS].index("unfamiliar")
    fine = demography.age_groups_by_segment(NHS_SEGMENTS)
    assert fine[u, lower >= 65].sum() == pytest.approx(0.82)
    assert (fine >= 0).all()
    without = demography.age_shares_by_segment([s for s in NHS_SEGMENTS
                                                 if s.key != "unfamiliar"])
    np.testing.assert_allclose(without, demography.age_shares()[None, :].repeat(5, 0))


# ------------------------------------------------------------------ the drawn population
def test_the_population_matches_the_marginals_within_sampling_error(big):
    c = big.citizens
    within_sampling_error(c.region, demography.region_shares(), N)
    within_sampling_error(c.sex, demography.sex_shares(), N)
    within_sampling_error(c.age_band, demography.age_shares(), N)
    england = c.region < demography.ENGLAND
    within_sampling_error(c.deprivation[england], np.full(5, 0.2), int(england.sum()))
    for r in (REGIONS.index(Region.LONDON), REGIONS.index(Region.NORTH_EAST)):
        here = c.region == r
        within_sampling_error(c.deprivation[here], demography.deprivation_shares()[r],
                              int(here.sum()))
    unfamiliar = c.segment == [s.key for s in NHS_SEGMENTS].index("unfamiliar")
    old = c.age_band[unfamiliar] >= AGE_BANDS.index(demography.AgeBand.A60_69)
    assert old.mean() > 0.82  # 82% are 65+; 60-64 adds a little more
    assert (c.age_band[~unfamiliar] >= 4).mean() < (c.age_band >= 4).mean()


def test_places_are_runs_along_the_citizen_order(big):
    region, quintile = big.citizens.region, big.citizens.deprivation
    assert (np.diff(region) >= 0).all()  # one run per region, in REGIONS order
    place = region.astype(np.int64) * 5 + quintile
    assert (np.diff(place) >= 0).all()  # and within it one run per quintile


def test_same_seed_same_people_and_the_new_state_is_counted_in_memory():
    a, b = (TrustModel(2_000, rng=3, citizen_agents=False) for _ in range(2))
    for name in ("region", "sex", "age_band", "deprivation"):
        np.testing.assert_array_equal(getattr(a.citizens, name), getattr(b.citizens, name))
    added = {v.name for v in STATE} & {"region", "sex", "age_band", "deprivation"}
    assert added == {"region", "sex", "age_band", "deprivation"}
    assert all(np.dtype(v.dtype).itemsize == 1 for v in STATE if v.name in added)
    n_cols, n_prog = len(a.column), len(a.programmes)
    assert TrustModel.bytes_per_citizen(n_cols, n_prog) >= a.citizens.nbytes() / a.n_citizens
    frame = a.citizens_frame()
    assert set(frame["region"]) <= {r.value for r in REGIONS}
    assert set(frame["age_band"]) <= {b.value for b in AGE_BANDS}


# ------------------------------------------------------------------ outputs by group
def test_group_outputs_add_up_to_the_population_outputs():
    m = TrustModel(3_000, rng=5, citizen_agents=False)
    for _ in range(4):
        m.step()
    ts, groups = m.timeseries(), m.groups_timeseries()
    assert list(groups.columns) == ["step", "group_kind", "group", "output", "value"]
    assert set(groups.group_kind) == {"region", "sex", "age_band", "deprivation"}
    assert set(groups.output) == {"opt_out_rate", "trust_mean",
                                  *(f"trust_{a}" for a in m.column if a != "general")}
    count = demography.by_group(m.cell_count)
    kinds = np.array([k for k, _ in demography.group_labels()])
    for kind in ("region", "sex", "age_band", "deprivation"):
        weight = count[kinds == kind]
        part = groups[(groups.group_kind == kind)]
        for output, total in (("opt_out_rate", ts.opt_out_rate), ("trust_mean", ts.trust_mean),
                              ("trust_nhs", ts.trust_nhs)):
            values = part[part.output == output].value.to_numpy().reshape(len(ts), -1)
            np.testing.assert_allclose(values @ weight / weight.sum(), total, rtol=1e-6)
    regions = wide_by(groups, "region")
    assert list(regions.columns[:4]) == ["step", "region", "opt_out_rate", "trust_mean"]
    assert len(regions) == len(ts) * len(REGIONS)


def test_gp_2021_verification_national_news_raises_opt_out_in_every_region():
    """Verification, not a held-out prediction: the story is national (``publicity_scope``) and
    nothing about attitudes depends on region, so every region rising follows from the inputs.
    As the check does: the file's own population and replicates, step 2 to step 12."""
    s = scenario.load(ROOT / "scenarios" / "gp_records.yaml")
    frames = []
    for r, seed in enumerate(s.replicate_seeds()):
        model = s.build(rng=seed, citizen_agents=False)
        for _ in range(12):
            model.step()
        frames.append(model.groups_timeseries().assign(replicate=r))
    regions = wide_by(pd.concat(frames), "region")
    m = regions.groupby(["region", "step"])["opt_out_rate"].mean().unstack()
    rise = m[12] - m[2]
    assert len(rise) == len(REGIONS) and (rise > 0).all(), rise


@settings(max_examples=60, deadline=None)
@given(n=st.integers(0, 2_500), n_prog=st.integers(1, 8), seed=st.integers(0, 2**31),
       out_share=st.floats(0.0, 1.0))
def test_the_tally_counts_and_sums_each_cell_as_a_plain_loop(n, n_prog, seed, out_share):
    """sim.population.tally (opt-outs from bit words of the choices, rows added as vectors)
    against a plain loop over citizens: the same counts, and the same float64 sums to the bit,
    for any population size, programme count and share opted out."""
    from sim import population

    rng = np.random.default_rng(seed)
    codes = (rng.integers(0, demography.N_REGIONS, n).astype(np.int8),
             rng.integers(0, 2, n).astype(np.int8),
             rng.integers(0, len(AGE_BANDS), n).astype(np.int8),
             rng.integers(0, 5, n).astype(np.int8))
    trust = rng.random((n, 8), dtype=np.float32)
    choice = np.where(rng.random((n, n_prog)) < out_share, 1,
                      rng.integers(0, 3, (n, n_prog))).astype(np.int8)
    has_choice = rng.random(n_prog) < 0.7
    trust_sum = np.zeros((demography.N_CELLS, 8))
    out_count = np.zeros(demography.N_CELLS, np.int64)
    population.tally(*codes, trust, choice, has_choice, trust_sum, out_count)
    want_sum = np.zeros_like(trust_sum)
    want_count = np.zeros_like(out_count)
    for i in range(n):
        cell = population.cell_of(*codes, i)
        for k in range(8):
            want_sum[cell, k] += np.float64(trust[i, k])
        want_count[cell] += bool(((choice[i] == 1) & has_choice).any())
    np.testing.assert_array_equal(out_count, want_count)
    np.testing.assert_array_equal(trust_sum, want_sum)
