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
programme's members depend only on the seed and its name. This module is the data (it is what a
scenario file is validated against); the compiled membership test, :func:`sim.sharing.holds`, and
the counts of members live with the sharing kernels that call them.
"""

from __future__ import annotations

import zlib
from typing import Annotated

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
)

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
        """Which demographic cells (sim.population.cell_of) the listed groups cover."""
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
    """A programme's 32-bit membership key: its name's crc32 (as ``sim.streams.stream_key``, which
    is not imported: that module compiles kernels) mixed with the model's salt."""
    return (zlib.crc32(name.encode("utf-8")) ^ int(salt)) & 0xFFFFFFFF
