"""People and places: the regions, deprivation quintiles, age bands and sexes, and their shares.

The marginals are the ONS figures of domain.md section 7 (A1 regions, A2 ages, A3 sex, A4
deprivation); where a share had to be derived, the arithmetic is here and in docs/model.md
section 5. The citizens are adults who decide about their records, so ages start at 18. Age
depends on the attitude segment where the segmentation says so (82% of the "unfamiliar and
unsure" are over 65); sex does not.

Each citizen's four codes make one *cell* of ``N_CELLS``; the group outputs and catchments
(sim.catchment) read cells, so one pass over the citizens serves every grouping, and the cells'
sums are added up into the groups here (:func:`by_group`).

This module is data, read when a scenario file is validated; drawing the codes onto the citizens
and the compiled passes over them are in sim.population."""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from sim.segments import Segment


class Region(StrEnum):
    """The nine English regions, then Wales, Scotland and Northern Ireland (code = position)."""

    NORTH_EAST = "north_east"
    NORTH_WEST = "north_west"
    YORKSHIRE = "yorkshire"
    EAST_MIDLANDS = "east_midlands"
    WEST_MIDLANDS = "west_midlands"
    EAST = "east"
    LONDON = "london"
    SOUTH_EAST = "south_east"
    SOUTH_WEST = "south_west"
    WALES = "wales"
    SCOTLAND = "scotland"
    NORTHERN_IRELAND = "northern_ireland"


class Sex(StrEnum):
    FEMALE = "female"
    MALE = "male"


class AgeBand(StrEnum):
    """Adult age bands by decade, as the 2021 opt-out study compares them (domain.md 2.1)."""

    A18_29 = "18-29"
    A30_39 = "30-39"
    A40_49 = "40-49"
    A50_59 = "50-59"
    A60_69 = "60-69"
    A70_PLUS = "70+"


REGIONS: tuple[Region, ...] = tuple(Region)
SEXES: tuple[Sex, ...] = tuple(Sex)
AGE_BANDS: tuple[AgeBand, ...] = tuple(AgeBand)
#: IMD quintiles, 1 the most deprived (code = quintile - 1)
QUINTILES: tuple[int, ...] = (1, 2, 3, 4, 5)

REGION_LABELS: dict[Region, str] = {
    Region.NORTH_EAST: "North East", Region.NORTH_WEST: "North West",
    Region.YORKSHIRE: "Yorkshire and The Humber", Region.EAST_MIDLANDS: "East Midlands",
    Region.WEST_MIDLANDS: "West Midlands", Region.EAST: "East of England",
    Region.LONDON: "London", Region.SOUTH_EAST: "South East", Region.SOUTH_WEST: "South West",
    Region.WALES: "Wales", Region.SCOTLAND: "Scotland",
    Region.NORTHERN_IRELAND: "Northern Ireland",
}
#: Mid-2021 population estimates (ONS, via statistico.com; domain.md A1) [S], in REGIONS order.
REGION_POPULATION = np.array([
    2_646_772, 7_422_295, 5_481_431, 4_880_094, 5_954_240, 6_348_096, 8_796_628, 9_294_023,
    5_712_840, 3_105_410, 5_479_900, 1_904_563], dtype=np.float64)
ENGLAND = 9  # the first nine regions are England's

#: England and Wales, Census 2021: 30,420,202 women and 29,177,340 men (domain.md A3) [S].
SEX_COUNT = np.array([30_420_202, 29_177_340], dtype=np.float64)

#: England, Census 2021, share of the population (%) in each five-year group from 15-19 to 90+
#: (domain.md A2, footnote 4) [S]. The adults' bands are sums of these groups, with ages 18-19
#: taken as 2/5 of the 15-19 group (an even spread over its five years) [P].
AGE_FIVE_YEAR = {15: 5.7, 20: 6.0, 25: 6.6, 30: 7.0, 35: 6.7, 40: 6.3, 45: 6.4, 50: 6.9,
                 55: 6.7, 60: 5.8, 65: 4.9, 70: 5.0, 75: 3.6, 80: 2.5, 85: 1.5, 90: 0.9}
#: "Unfamiliar and unsure" segment of the NHS segmentation: 82% aged over 65 (domain.md SF8) [S].
UNFAMILIAR_OVER_65 = 0.82

#: Share of each region's LSOAs in the most deprived IMD decile, where domain.md A4 gives it [S]:
#: London 107 of 4,835 LSOAs (IMD2019), North East LEP 17% (IMD2019), North West 19.6% (IMD2015).
DECILE_1 = {Region.LONDON: 107 / 4_835, Region.NORTH_EAST: 0.17, Region.NORTH_WEST: 0.196}

N_REGIONS, N_SEXES, N_AGES, N_QUINTILES = len(REGIONS), len(SEXES), len(AGE_BANDS), 5
N_CELLS = N_REGIONS * N_SEXES * N_AGES * N_QUINTILES

#: The groupings of the group outputs: (name, the citizens' state variable, group labels).
GROUP_KINDS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("region", "region", tuple(r.value for r in REGIONS)),
    ("sex", "sex", tuple(s.value for s in SEXES)),
    ("age_band", "age_band", tuple(a.value for a in AGE_BANDS)),
    ("deprivation", "deprivation", tuple(f"q{q}" for q in QUINTILES)),
)


# ------------------------------------------------------------------ the marginals
def region_shares() -> np.ndarray:
    """Each region's share of the UK: its mid-2021 population / the sum of the 12 (67,026,292)."""
    return REGION_POPULATION / REGION_POPULATION.sum()


def sex_shares() -> np.ndarray:
    """Women 51.0%, men 49.0% (England and Wales, Census 2021)."""
    return SEX_COUNT / SEX_COUNT.sum()


def _adult_groups() -> tuple[np.ndarray, np.ndarray]:
    """Lower ages and shares (%) of the adults' five-year groups, ages 18-19 first."""
    lower = np.array(sorted(AGE_FIVE_YEAR), dtype=np.int64)
    share = np.array([AGE_FIVE_YEAR[a] for a in lower], dtype=np.float64)
    share[0] *= 2 / 5  # ages 18 and 19 of the 15-19 group
    return lower, share


def _band_of(lower: np.ndarray) -> np.ndarray:
    return np.clip(lower // 10 - 2, 0, N_AGES - 1)  # 15, 20, 25 -> 0 (18-29), 40 -> 2, 70+ -> 5


def age_shares() -> np.ndarray:
    """Adults' age bands: 18-29 14.88, 30-39 13.7, 40-49 12.7, 50-59 13.6, 60-69 10.7, 70+ 13.5
    (% of England's population) renormalised over their sum, 79.08."""
    lower, share = _adult_groups()
    bands = np.bincount(_band_of(lower), weights=share, minlength=N_AGES)
    return bands / bands.sum()


def adult_share() -> float:
    """Share of the whole population aged 18 or over, 79.08%: the adults' five-year groups of
    England's age structure (ages 18-19 as 2/5 of the 15-19 group), not renormalised."""
    return float(_adult_groups()[1].sum() / 100)


#: The people the model's citizens stand for: the UK's adults, 67,026,292 (mid-2021, the sum of
#: the regions) x 79.08% = 53,004,392 [S-d]; real-unit outputs scale the citizens up to them
#: (sim.public_value).
ADULT_POPULATION = round(float(REGION_POPULATION.sum()) * adult_share())


def age_groups_by_segment(segments: Sequence[Segment]) -> np.ndarray:
    """P(five-year age group | segment), S x 16 (18-19, 20-24, ..., 90+), keeping the adults'
    age marginal.

    The "unfamiliar" segment (if present) has ``UNFAMILIAR_OVER_65`` of its members aged 65 or
    over, spread over the five-year groups in proportion to their shares, the rest over the
    younger groups likewise; every other segment takes what is left of each group, so that the
    population's age shares are unchanged (in expectation). Without the joint every segment gets
    the marginal."""
    lower, share = _adult_groups()
    m = share / share.sum()
    old = lower >= 65
    pi = np.array([s.share for s in segments], dtype=np.float64)
    pi /= pi.sum()
    keys = [s.key for s in segments]
    out = np.tile(m, (len(segments), 1))
    if "unfamiliar" in keys:
        u = keys.index("unfamiliar")
        joint = np.where(old, UNFAMILIAR_OVER_65 * m / m[old].sum(),
                         (1 - UNFAMILIAR_OVER_65) * m / m[~old].sum())
        rest = np.clip((m - pi[u] * joint) / max(1 - pi[u], 1e-12), 0.0, None)
        out[:] = rest / rest.sum()
        out[u] = joint
    return out


def age_shares_by_segment(segments: Sequence[Segment]) -> np.ndarray:
    """P(age band | segment), S x 6: :func:`age_groups_by_segment` summed into the bands."""
    lower, _ = _adult_groups()
    out = np.zeros((len(segments), N_AGES))
    np.add.at(out.T, _band_of(lower), age_groups_by_segment(segments).T)
    return out


def deprivation_shares() -> np.ndarray:
    """P(IMD quintile | region), 12 x 5, quintile 1 the most deprived.

    England's quintiles hold 20% of its LSOAs each by construction, and LSOAs hold about equal
    populations [P], so each quintile holds 20% of England's people. Derived [P] from A4's
    decile-1 shares: a region with a sourced decile-1 share d has quintile 1 = d + 10% (its
    second decile taken at England's 10%) and the rest spread evenly over quintiles 2-5; the six
    English regions without a figure share what is left of each of England's quintiles, in
    proportion to population. Wales, Scotland and Northern Ireland are ranked on their own
    indices (WIMD, SIMD, NIMDM), each also 20% per quintile within its nation by construction;
    their quintiles are not comparable with England's.
    """
    out = np.full((N_REGIONS, N_QUINTILES), 0.2)
    pop = REGION_POPULATION[:ENGLAND]
    known = np.zeros(ENGLAND, bool)
    for region, d1 in DECILE_1.items():
        r = REGIONS.index(region)
        q1 = d1 + 0.1
        out[r] = [q1, *[(1 - q1) / 4] * 4]
        known[r] = True
    needed = 0.2 * pop.sum() - (out[:ENGLAND][known] * pop[known, None]).sum(axis=0)
    out[:ENGLAND][~known] = needed / pop[~known].sum()
    return out


# ------------------------------------------------------------------ groups
def by_group(cell_values: np.ndarray) -> np.ndarray:
    """Sum cell values (``N_CELLS`` x ...) into the groups of every kind, in ``GROUP_KINDS``
    order (12 regions, 2 sexes, 6 age bands, 5 quintiles: 25 rows)."""
    tail = cell_values.shape[1:]
    grid = cell_values.reshape(N_REGIONS, N_SEXES, N_AGES, N_QUINTILES, *tail)
    return np.concatenate([grid.sum(axis=tuple(a for a in range(4) if a != axis))
                           for axis in range(4)])


def group_labels() -> list[tuple[str, str]]:
    """(kind, group) of each row of :func:`by_group`."""
    return [(kind, label) for kind, _, labels in GROUP_KINDS for label in labels]
