"""Catchments: whose records a programme holds.

A programme's records may be those of some regions only (a hospital trust's patients), of some
groups (by sex, age band, deprivation quintile), of a share of them, or of businesses, among whom
the citizens are the sole traders and partners (sim.programmes, ``subjects``). Only the records
of citizens in the catchment flow; only they can be a breach's victims; everyone else hears of
the programme only through the news, which reaches the whole country or only the catchment's
regions (``publicity_scope``).

Membership is never stored per citizen and programme: a programme keeps a table of the
demographic cells it covers (sim.demography) and a share; a citizen of a covered cell is a member
when a uniform made from its index and the programme's key (``sim.streams.spread``) is below the
share. The key comes from the programme's name and one draw of stream ``catchment``, so a
programme's members depend only on the seed and its name.
"""

from __future__ import annotations

from typing import Annotated

import numba as nb
import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from sim.demography import (
    AGE_BANDS,
    N_QUINTILES,
    N_REGIONS,
    REGIONS,
    SEXES,
    AgeBand,
    Region,
    Sex,
    cell_of,
)
from sim.streams import spread, stream_key

Quintile = Annotated[int, Field(ge=1, le=5)]


class Catchment(BaseModel):
    """Whose records a programme holds: citizens in all of the listed groups (unset: any), and of
    them a ``share``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    regions: list[Region] | None = Field(
        default=None, description="regions whose residents' records the programme holds; "
        "unset: every region")
    sex: list[Sex] | None = Field(default=None, description="sexes covered; unset: both")
    age_bands: list[AgeBand] | None = Field(
        default=None, description="adult age bands covered; unset: every band")
    deprivation: list[Quintile] | None = Field(
        default=None, description="IMD quintiles covered (1 the most deprived); unset: all")
    share: float = Field(default=1.0, gt=0, le=1, description="share of the citizens in the "
                         "listed groups whose records the programme holds (drawn at random)")

    @model_validator(mode="after")
    def _not_empty(self) -> Catchment:
        for name in ("regions", "sex", "age_bands", "deprivation"):
            if getattr(self, name) == []:
                raise ValueError(f"{name}: list at least one, or leave it unset for all")
        return self

    @property
    def everyone(self) -> bool:
        return self.share == 1.0 and all(getattr(self, f) is None for f in
                                         ("regions", "sex", "age_bands", "deprivation"))

    def cells(self) -> np.ndarray:
        """Which demographic cells (sim.demography.cell_of) the listed groups cover."""
        def mask(chosen, options) -> np.ndarray:
            if chosen is None:
                return np.ones(len(options), bool)
            return np.isin(np.arange(len(options)), [options.index(x) for x in chosen])

        region = mask(self.regions, REGIONS)
        sex = mask(self.sex, SEXES)
        age = mask(self.age_bands, AGE_BANDS)
        quintile = mask(None if self.deprivation is None else [q - 1 for q in self.deprivation],
                        list(range(N_QUINTILES)))
        grid = (region[:, None, None, None] & sex[None, :, None, None]
                & age[None, None, :, None] & quintile[None, None, None, :])
        return grid.ravel()

    def region_mask(self) -> np.ndarray:
        """The regions the catchment lies in (every region if unset), for local news."""
        if self.regions is None:
            return np.ones(N_REGIONS, bool)
        return np.isin(np.arange(N_REGIONS), [REGIONS.index(r) for r in self.regions])


def key(name: str, salt: int) -> int:
    """A programme's 32-bit membership key: its name's crc32 mixed with the model's salt."""
    return (stream_key(name) ^ int(salt)) & 0xFFFFFFFF


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
